//! Resolution: an [`Operation`]'s relative selectors become a concrete [`Step`] — the method,
//! the object paths, amounts and host resources of one call — against the model's state.
//!
//! The model judges a `Step`, and the harness renders the same `Step` onto the wire, so what
//! is judged is exactly what is sent.

use serde::{Deserialize, Serialize};

use super::operation::*;
use super::state::{HostModel, ModelPool, Role};
use crate::sut::{Dialect, Method, ObjectPath, ResourceKind};

/// The type written into an embedded instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeRef {
    pub resource_type: u16,
    pub resource_subtype: String,
}

/// One embedded allocation (RASD), concretely.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    /// `None` when the step leaves ResourceType out (ARG-005).
    pub resource_type: Option<u16>,
    pub resource_subtype: String,
    /// The PoolID written into the RASD: the paired parent's (as Microsoft's sample does).
    pub pool_id: String,
    pub reservation: Option<u64>,
    pub limit: Option<u64>,
    pub host_resources: Vec<String>,
}

/// PoolSettings (Msvm) concretely.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolSettings {
    pub resource_type: Option<u16>,
    pub resource_subtype: String,
    pub pool_id: String,
    pub element_name: Option<String>,
}

/// A defect applied to one embedded instance of the step (index into [`Step::instances`]
/// order: PoolSettings first when there is one, then the allocations).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceFault {
    Malformed(Malformation),
    WrongClass,
    BadValue,
}

/// A wire-level defect of the call itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamFault {
    Missing(usize),
    Duplicate(usize),
    Extra,
    WrongKind(usize),
}

/// What a step does, concretely.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Create {
        /// The new pool's type (Msvm: from PoolSettings; CIM: from the first allocation).
        new_type: TypeRef,
        settings: Option<PoolSettings>,
        element_name: Option<String>,
        /// `None` sends NULL.
        parents: Option<Vec<ObjectPath>>,
        allocations: Vec<Allocation>,
    },
    ChangeParents {
        child: ObjectPath,
        parents: Option<Vec<ObjectPath>>,
        allocations: Vec<Allocation>,
    },
    ChangeSettings {
        child: ObjectPath,
        settings: PoolSettings,
    },
    Delete {
        pool: ObjectPath,
    },
    CreateRoot {
        /// The `ResourceType` string parameter.
        resource_type: String,
        element_name: Option<String>,
        devices: Vec<String>,
    },
    AddResources {
        pool: ObjectPath,
        devices: Vec<String>,
    },
    RemoveResources {
        pool: ObjectPath,
        devices: Vec<String>,
    },
}

/// One concrete call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub method: Method,
    pub kind: StepKind,
    pub encoding: EncodingSel,
    pub param_fault: Option<ParamFault>,
    pub instance_fault: Option<(usize, InstanceFault)>,
}

impl Step {
    /// How many embedded instances the call carries.
    pub fn instance_count(&self) -> usize {
        match &self.kind {
            StepKind::Create {
                settings,
                allocations,
                ..
            } => usize::from(settings.is_some()) + allocations.len(),
            StepKind::ChangeParents { allocations, .. } => allocations.len(),
            StepKind::ChangeSettings { .. } => 1,
            _ => 0,
        }
    }
}

/// `prefix` and then `n` in decimal: `format!("{prefix}{n}")`, without the formatting
/// machinery (PoolIDs and ElementNames are written on most steps).
fn numbered(prefix: &str, n: u8) -> String {
    let mut out = String::with_capacity(prefix.len() + 3);
    out.push_str(prefix);
    out.push_str(crate::codec::decimal(u64::from(n), &mut [0u8; 20]));
    out
}

/// The method an operation becomes in a dialect, or `None` when the dialect has no such method.
pub fn method_of(op: &Operation, dialect: Dialect) -> Option<Method> {
    use Dialect::*;
    Some(match (op, dialect) {
        (Operation::Create(_), Msvm) => Method::CreatePool,
        (Operation::Create(_), Cim) => Method::CreateChildResourcePool,
        (Operation::ChangeParents(_), Msvm) => Method::ModifyPoolResources,
        (Operation::ChangeParents(_), Cim) => Method::ChangeParentResourcePool,
        (Operation::ChangeSettings(_), Msvm) => Method::ModifyPoolSettings,
        (Operation::Delete(_), Msvm) => Method::DeletePool,
        (Operation::Delete(_), Cim) => Method::DeleteResourcePool,
        (Operation::CreateRoot(_), Cim) => Method::CreateResourcePool,
        (Operation::AddResources(_), Cim) => Method::AddResourcesToResourcePool,
        (Operation::RemoveResources(_), Cim) => Method::RemoveResourcesFromResourcePool,
        _ => return None,
    })
}

impl HostModel {
    /// Resolve an operation against the current state. `None` when the dialect has no
    /// method for it (the harness skips such steps).
    pub fn resolve(&self, op: &Operation) -> Option<Step> {
        let method = method_of(op, self.dialect)?;
        let (kind, fault) = match op {
            Operation::Create(c) => (self.resolve_create(c), c.fault),
            Operation::ChangeParents(c) => (self.resolve_change_parents(c), c.fault),
            Operation::ChangeSettings(c) => (self.resolve_change_settings(c), c.fault),
            Operation::Delete(d) => (
                StepKind::Delete {
                    pool: self.pick_any(d.pool),
                },
                d.fault,
            ),
            Operation::CreateRoot(c) => (self.resolve_create_root(c), c.fault),
            Operation::AddResources(h) => {
                let (pool, devices) = self.resolve_host_resources(h);
                (StepKind::AddResources { pool, devices }, h.fault)
            }
            Operation::RemoveResources(h) => {
                let (pool, devices) = self.resolve_host_resources(h);
                (StepKind::RemoveResources { pool, devices }, h.fault)
            }
        };
        let mut step = Step {
            method,
            kind,
            encoding: op.encoding(),
            param_fault: None,
            instance_fault: None,
        };
        self.apply_fault(&mut step, fault);
        Some(step)
    }

    fn apply_fault(&self, step: &mut Step, fault: Fault) {
        let n_params = step.method.input_parameters().len();
        let n_instances = step.instance_count();
        match fault {
            Fault::None => {}
            Fault::MissingParam(n) => {
                step.param_fault = Some(ParamFault::Missing(n as usize % n_params))
            }
            Fault::DuplicateParam(n) => {
                step.param_fault = Some(ParamFault::Duplicate(n as usize % n_params))
            }
            Fault::ExtraParam => step.param_fault = Some(ParamFault::Extra),
            Fault::WrongKind(n) => {
                step.param_fault = Some(ParamFault::WrongKind(n as usize % n_params))
            }
            Fault::NullParents => match &mut step.kind {
                StepKind::Create { parents, .. } | StepKind::ChangeParents { parents, .. } => {
                    *parents = None
                }
                _ => {}
            },
            Fault::DuplicateParent => match &mut step.kind {
                StepKind::Create {
                    parents: Some(parents),
                    ..
                }
                | StepKind::ChangeParents {
                    parents: Some(parents),
                    ..
                } => {
                    if let Some(first) = parents.first().cloned() {
                        parents.push(first);
                    }
                }
                _ => {}
            },
            Fault::MissingProperty(n) if n_instances > 0 => {
                let idx = n as usize % n_instances;
                match &mut step.kind {
                    StepKind::Create {
                        settings: Some(settings),
                        ..
                    } if idx == 0 => settings.resource_type = None,
                    StepKind::Create {
                        settings,
                        allocations,
                        ..
                    } => {
                        let offset = usize::from(settings.is_some());
                        if let Some(a) = allocations.get_mut(idx - offset) {
                            a.resource_type = None;
                        }
                    }
                    StepKind::ChangeParents { allocations, .. } => {
                        if let Some(a) = allocations.get_mut(idx) {
                            a.resource_type = None;
                        }
                    }
                    StepKind::ChangeSettings { settings, .. } => settings.resource_type = None,
                    _ => {}
                }
            }
            Fault::Malformed(n, how) if n_instances > 0 => {
                step.instance_fault =
                    Some((n as usize % n_instances, InstanceFault::Malformed(how)))
            }
            Fault::WrongClass(n) if n_instances > 0 => {
                step.instance_fault = Some((n as usize % n_instances, InstanceFault::WrongClass))
            }
            Fault::BadValue(n) if n_instances > 0 => {
                step.instance_fault = Some((n as usize % n_instances, InstanceFault::BadValue))
            }
            Fault::BadValue(_) => {
                if let StepKind::CreateRoot { resource_type, .. } = &mut step.kind {
                    resource_type.push('x');
                }
            }
            Fault::MissingProperty(_) | Fault::Malformed(..) | Fault::WrongClass(_) => {}
        }
    }

    fn type_idx(&self, sel: TypeSel) -> usize {
        sel.0 as usize % self.types.len().max(1)
    }

    fn type_ref(&self, type_idx: usize) -> TypeRef {
        let t = &self.types[type_idx];
        TypeRef {
            resource_type: t.resource_type,
            resource_subtype: t.resource_subtype.clone(),
        }
    }

    /// A type other than `type_idx` (for TYPE-001 faults); itself when the host has one type.
    fn other_type(&self, type_idx: usize) -> usize {
        (type_idx + 1) % self.types.len().max(1)
    }

    pub(crate) fn dangling_path(&self, n: u16) -> ObjectPath {
        let mut path = ObjectPath(format!(
            r#"\\POOLHOST\root\virtualization\v2:Msvm_ResourcePool.InstanceID="Microsoft:poolcheck-missing-{n}""#
        ));
        while self.pool(&path).is_some() {
            path.0.push('0');
        }
        path
    }

    /// Any live pool (for targets): `Live` and `AnyType` both count over every pool, newest
    /// first; `Concrete` over the pools that are not primordial.
    fn pick_any(&self, sel: PoolSel) -> ObjectPath {
        let newest = |n: u16, concrete: bool| {
            let count = if concrete {
                self.count_concrete()
            } else {
                self.pool_count()
            };
            self.newest(n as usize % count.max(1), concrete)
                .map(|p| p.path.clone())
                .unwrap_or_else(|| self.dangling_path(n))
        };
        match sel {
            PoolSel::Live(n) | PoolSel::AnyType(n) => newest(n, false),
            PoolSel::Concrete(n) => newest(n, self.count_concrete() > 0),
            PoolSel::Dangling(n) => self.dangling_path(n),
        }
    }

    /// Parents of a type: each `Live` pick skips pools already picked; when every pool of the
    /// type is picked, further `Live` picks are dropped (a duplicate parent is a fault of its
    /// own, [`Fault::DuplicateParent`]).
    fn pick_parents(&self, type_idx: usize, sels: &[PoolSel]) -> Vec<ObjectPath> {
        let of_type = self.count_of_type(type_idx);
        let mut picked: Vec<ObjectPath> = Vec::new();
        // The distinct live pools of the type among `picked`, by creation slot.
        let mut picked_of_type: Vec<usize> = Vec::new();
        for sel in sels {
            match *sel {
                PoolSel::Live(n) => {
                    let remaining = of_type.saturating_sub(picked_of_type.len());
                    if remaining > 0 {
                        let k = n as usize % remaining;
                        if let Some(slot) = self.newest_slot_of_type(type_idx, k, &picked_of_type) {
                            if let Some(pool) = self.slot_pool(slot) {
                                picked.push(pool.path.clone());
                                picked_of_type.push(slot);
                            }
                        }
                    }
                }
                other => {
                    let path = self.pick_any(other);
                    let slot = self.slot(&path).filter(|&slot| {
                        self.slot_pool(slot)
                            .is_some_and(|pool| pool.type_idx == type_idx)
                    });
                    if let Some(slot) = slot.filter(|slot| !picked_of_type.contains(slot)) {
                        picked_of_type.push(slot);
                    }
                    picked.push(path);
                }
            }
        }
        picked
    }

    /// Allocation selectors that matched the parents one to one still do after dropped picks.
    fn fit_allocations<'s>(
        parent_sels: &[PoolSel],
        parents: &[ObjectPath],
        allocs: &'s [AllocSel],
    ) -> &'s [AllocSel] {
        if allocs.len() == parent_sels.len()
            && parents.len() < parent_sels.len()
            && !parents.is_empty()
        {
            &allocs[..parents.len()]
        } else {
            allocs
        }
    }

    fn pool_id_for(&self, type_idx: usize, sel: IdSel) -> String {
        match sel {
            IdSel::Named(n) => numbered("P", n % 8),
            IdSel::Existing(n) => {
                let count = self.count_of_type(type_idx).max(1);
                self.newest_of_type(type_idx, n as usize % count, &[])
                    .map(|p| p.pool_id.clone())
                    .unwrap_or_default()
            }
        }
    }

    /// Resolve allocations against parents. `held` gives, for a change of parents, what the
    /// child already holds from each parent (counted as free, CAP-005).
    fn resolve_allocations(
        &self,
        type_idx: usize,
        parents: &[ObjectPath],
        sels: &[AllocSel],
        held_by_child: Option<&ModelPool>,
    ) -> Vec<Allocation> {
        let shared = sels.len() == 1 && parents.len() > 1;
        let kind = self.kind(type_idx);
        // Each parent is looked up once.
        let parent_pools: Vec<Option<&ModelPool>> = parents.iter().map(|p| self.pool(p)).collect();
        sels.iter()
            .enumerate()
            .map(|(idx, sel)| {
                let alloc_type = if sel.foreign_type {
                    self.other_type(type_idx)
                } else {
                    type_idx
                };
                let t = self.type_ref(alloc_type);
                let sources: Vec<&ModelPool> = if shared {
                    parent_pools.iter().flatten().copied().collect()
                } else {
                    parent_pools
                        .get(idx)
                        .or(parent_pools.first())
                        .copied()
                        .flatten()
                        .into_iter()
                        .collect()
                };
                // What the sources have free (a quantity's; host resources are picked instead).
                let free = || -> u64 {
                    sources.iter().fold(0u64, |sum, p| {
                        let already = held_by_child
                            .and_then(|c| c.holdings.iter().find(|h| h.parent == p.path))
                            .map(|h| h.quantity)
                            .unwrap_or(0);
                        sum.saturating_add(self.free(p).saturating_add(already))
                    })
                };
                let reservation = match kind {
                    ResourceKind::Quantity => Some(match sel.amount {
                        Amount::Quarters(q) => free().saturating_mul(u64::from(q.min(4))) / 4,
                        Amount::AllFree => free(),
                        Amount::FreePlusOne => free().saturating_add(1),
                        Amount::Absolute(n) => n,
                    }),
                    _ => None,
                };
                let limit = reservation.and_then(|r| match sel.limit {
                    LimitSel::Null => None,
                    LimitSel::Equal => Some(r),
                    LimitSel::Above(n) => Some(r.saturating_add(u64::from(n))),
                    LimitSel::Below => r.checked_sub(1),
                });
                let host_resources = match kind {
                    ResourceKind::Quantity => Vec::new(),
                    _ => self.pick_resources(type_idx, &sources, sel.resources),
                };
                let pool_id = parent_pools
                    .get(idx)
                    .copied()
                    .flatten()
                    .map(|p| p.pool_id.clone())
                    .unwrap_or_default();
                Allocation {
                    resource_type: Some(t.resource_type),
                    resource_subtype: t.resource_subtype,
                    pool_id,
                    reservation,
                    limit,
                    host_resources,
                }
            })
            .collect()
    }

    fn pick_resources(&self, type_idx: usize, sources: &[&ModelPool], sel: ResSel) -> Vec<String> {
        let available =
            super::state::union_refs(sources.iter().flat_map(|p| self.resource_refs(p)));
        let subset = |mask: u8| -> Vec<String> {
            available
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1u8 << (i % 8)) != 0)
                .map(|(_, r)| String::clone(r))
                .collect()
        };
        match sel {
            ResSel::Subset(mask) => subset(mask),
            ResSel::Foreign(mask) => {
                let mut picked = subset(mask);
                picked.push(self.foreign_resource(type_idx, &available));
                picked
            }
            ResSel::Under(n)
                if self.kind(type_idx) == ResourceKind::Path && !available.is_empty() =>
            {
                let base = available[n as usize % available.len()];
                let team = n % 4;
                // Under `base` (a drive root such as `C:\` ends in the separator already), or,
                // one time in four (`n % 8` is 6 or 7, for the strategy's 0..8 and for any
                // fuzzed byte alike), a sibling that only shares its prefix (`D:\Pools-3` is
                // not under `D:\Pools`).
                if base.ends_with('\\') {
                    vec![format!("{base}team{team}")]
                } else if n % 8 >= 6 {
                    vec![format!("{base}-{team}")]
                } else {
                    vec![format!(r"{base}\team{team}")]
                }
            }
            ResSel::Under(mask) => subset(mask),
        }
    }

    /// A host resource of the type that none of `available` covers.
    fn foreign_resource(&self, type_idx: usize, available: &[&String]) -> String {
        let kind = self.kind(type_idx);
        let host_has = self.types[type_idx]
            .host_resources
            .iter()
            .find(|r| !available.iter().any(|a| super::state::covers(kind, a, r)));
        match (host_has, kind) {
            (Some(r), _) => r.clone(),
            (None, ResourceKind::Path) => r"Z:\Elsewhere".to_string(),
            (None, _) => r#"\\POOLHOST\root\virtualization\v2:Msvm_VirtualEthernetSwitch.CreationClassName="Msvm_VirtualEthernetSwitch",Name="NOWHERE""#.to_string(),
        }
    }

    fn resolve_create(&self, c: &CreateOp) -> StepKind {
        let type_idx = self.type_idx(c.resource);
        let parents = self.pick_parents(type_idx, &c.parents);
        let sels = Self::fit_allocations(&c.parents, &parents, &c.allocations);
        let allocations = self.resolve_allocations(type_idx, &parents, sels, None);
        let element_name = c.element_name.map(|n| numbered("Pool ", n));
        let new_type = match self.dialect {
            Dialect::Msvm => self.type_ref(type_idx),
            Dialect::Cim => allocations
                .first()
                .map(|a| TypeRef {
                    resource_type: a.resource_type.unwrap_or(0),
                    resource_subtype: a.resource_subtype.clone(),
                })
                .unwrap_or_else(|| self.type_ref(type_idx)),
        };
        let settings = (self.dialect == Dialect::Msvm).then(|| PoolSettings {
            resource_type: Some(new_type.resource_type),
            resource_subtype: new_type.resource_subtype.clone(),
            pool_id: self.pool_id_for(type_idx, c.pool_id),
            element_name: element_name.clone(),
        });
        StepKind::Create {
            new_type,
            settings,
            element_name,
            parents: Some(parents),
            allocations,
        }
    }

    fn resolve_change_parents(&self, c: &ChangeParentsOp) -> StepKind {
        let child = self.pick_any(c.child);
        let child_pool = self.pool(&child);
        let type_idx = child_pool.map(|p| p.type_idx).unwrap_or(0);
        let parents = self.pick_parents(type_idx, &c.parents);
        let sels = Self::fit_allocations(&c.parents, &parents, &c.allocations);
        let allocations = self.resolve_allocations(type_idx, &parents, sels, child_pool);
        StepKind::ChangeParents {
            child,
            parents: Some(parents),
            allocations,
        }
    }

    fn resolve_change_settings(&self, c: &ChangeSettingsOp) -> StepKind {
        let child = self.pick_any(c.child);
        let type_idx = self.pool(&child).map(|p| p.type_idx).unwrap_or(0);
        let settings_type = if c.foreign_type {
            self.other_type(type_idx)
        } else {
            type_idx
        };
        let t = self.type_ref(settings_type);
        StepKind::ChangeSettings {
            child,
            settings: PoolSettings {
                resource_type: Some(t.resource_type),
                resource_subtype: t.resource_subtype,
                pool_id: self.pool_id_for(type_idx, c.pool_id),
                element_name: c.element_name.map(|n| numbered("Pool ", n)),
            },
        }
    }

    fn resolve_devices(
        &self,
        type_idx: usize,
        target: Option<&ObjectPath>,
        sels: &[DeviceSel],
    ) -> Vec<String> {
        let own = &self.types[type_idx].host_resources;
        // What the target's children hold from it, oldest child first.
        let held: Vec<&String> = target
            .and_then(|t| self.pool(t))
            .map(|t| self.held_from(t).flat_map(|h| h.resources.iter()).collect())
            .unwrap_or_default();
        let others: Vec<&String> = self
            .types
            .iter()
            .enumerate()
            .filter(|(i, t)| {
                *i != type_idx && t.resource_type != self.types[type_idx].resource_type
            })
            .flat_map(|(_, t)| t.host_resources.iter())
            .collect();
        sels.iter()
            .map(|sel| match *sel {
                DeviceSel::Held(n) if !held.is_empty() => held[n as usize % held.len()].clone(),
                DeviceSel::Own(n) | DeviceSel::Held(n) if !own.is_empty() => {
                    own[n as usize % own.len()].clone()
                }
                DeviceSel::OtherType(n) if !others.is_empty() => {
                    others[n as usize % others.len()].clone()
                }
                DeviceSel::Own(n)
                | DeviceSel::Held(n)
                | DeviceSel::OtherType(n)
                | DeviceSel::Unknown(n) => format!(
                    r#"\\POOLHOST\root\cimv2:CIM_LogicalDevice.DeviceID="poolcheck-unknown-{n}""#
                ),
            })
            .collect()
    }

    fn resolve_create_root(&self, c: &CreateRootOp) -> StepKind {
        let type_idx = self.type_idx(c.resource);
        StepKind::CreateRoot {
            resource_type: self.types[type_idx].resource_type.to_string(),
            element_name: c.element_name.map(|n| numbered("Root ", n)),
            devices: self.resolve_devices(type_idx, None, &c.devices),
        }
    }

    fn resolve_host_resources(&self, h: &HostResourcesOp) -> (ObjectPath, Vec<String>) {
        let pool = self.pick_any(h.pool);
        let type_idx = self.pool(&pool).map(|p| p.type_idx).unwrap_or(0);
        let devices = self.resolve_devices(type_idx, Some(&pool), &h.devices);
        (pool, devices)
    }

    /// Whether a pool may be the target of a change (not primordial).
    pub fn is_primordial(&self, path: &ObjectPath) -> bool {
        self.pool(path).is_some_and(|p| p.role == Role::Primordial)
    }
}

#[cfg(test)]
mod tests {
    use super::numbered;

    #[test]
    fn numbered_writes_as_format_does() {
        for n in 0..=u8::MAX {
            assert_eq!(numbered("Pool ", n), format!("Pool {n}"));
        }
    }
}
