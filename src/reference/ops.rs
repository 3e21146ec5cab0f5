//! Operations: what a call asks for, in three steps.
//!
//! 1. **parse** ([`ReferenceService::parse`]): read the parameters and embedded instances
//!    into an [`Op`].
//! 2. **check** ([`ReferenceService::check`]): the parameter-level rules (ARG-*, EMB-*,
//!    ID-002, ID-003, TYPE-001, PRIM-001, MOD-003, CAP-006, SHARE-001). A job method runs
//!    these before it answers 4096.
//! 3. **plan** ([`ReferenceService::plan`]): the state-dependent rules (ID-001, CAP-005,
//!    SHARE-002, HOST-001, HOST-003/004, MOD-002, DEL-001), producing an [`Effect`] without
//!    changing anything; **apply** then makes the effect real.
//!
//! A job re-runs check and plan when it completes, so it acts on the state of that moment.

use crate::sut::{Dialect, Method, ObjectPath, ResourceKind};

use super::codes::{invalid, Reason, Refusal};
use super::params::{Allocation, Args, PoolSettings};
use super::store::{Holding, Origin, PoolRecord};
use super::{Defect, ReferenceService};

/// CreatePool (Msvm) or CreateChildResourcePool (CIM).
#[derive(Clone, Debug)]
pub(crate) struct CreateRequest {
    /// Msvm: the requested PoolID. CIM: `None`, the service chooses.
    pub pool_id: Option<String>,
    pub element_name: Option<String>,
    pub resource_type: Option<u16>,
    pub resource_subtype: Option<String>,
    pub parents: Vec<ObjectPath>,
    pub allocations: Vec<Allocation>,
}

/// ModifyPoolResources (Msvm) or ChangeParentResourcePool (CIM).
#[derive(Clone, Debug)]
pub(crate) struct ChangeRequest {
    pub target: ObjectPath,
    pub parents: Vec<ObjectPath>,
    pub allocations: Vec<Allocation>,
}

/// What one call asks for.
#[derive(Clone, Debug)]
pub(crate) enum Op {
    Create(CreateRequest),
    ChangeParents(ChangeRequest),
    ModifySettings {
        target: ObjectPath,
        settings: PoolSettings,
    },
    Delete {
        target: ObjectPath,
    },
    CreateRoot {
        element_name: Option<String>,
        resource_type: u16,
        host_resources: Vec<String>,
    },
    AddResources {
        target: ObjectPath,
        host_resources: Vec<String>,
    },
    RemoveResources {
        target: ObjectPath,
        host_resources: Vec<String>,
    },
}

impl Op {
    /// Whether the method creates a pool (and so has a `Pool` output).
    pub fn creates_pool(&self) -> bool {
        matches!(self, Op::Create(_) | Op::CreateRoot { .. })
    }
}

/// A pool about to be created.
#[derive(Clone, Debug)]
pub(crate) struct NewPool {
    /// `None`: the service chooses (CIM).
    pub pool_id: Option<String>,
    /// `None`: the default name.
    pub element_name: Option<String>,
    pub resource_type: u16,
    pub resource_subtype: String,
    pub kind: ResourceKind,
    pub origin: Origin,
    pub holdings: Vec<Holding>,
    pub base_host_resources: Vec<String>,
}

/// A validated change of state.
#[derive(Clone, Debug)]
pub(crate) enum Effect {
    Create(NewPool),
    SetHoldings {
        target: ObjectPath,
        holdings: Vec<Holding>,
    },
    SetSettings {
        target: ObjectPath,
        pool_id: Option<String>,
        element_name: Option<String>,
    },
    Delete {
        target: ObjectPath,
    },
    SetOwnedResources {
        target: ObjectPath,
        host_resources: Vec<String>,
    },
    /// What a job with the `JobSucceedsWithoutPool` defect "does".
    Nothing,
}

impl ReferenceService {
    /// Step 1: parameters to an [`Op`].
    pub(crate) fn parse(&self, method: Method, args: &Args) -> Result<Op, Refusal> {
        match self.config.dialect {
            Dialect::Msvm => self.parse_msvm(method, args),
            Dialect::Cim => self.parse_cim(method, args),
        }
    }

    /// Step 2: the parameter-level rules.
    pub(crate) fn check(&self, op: &Op) -> Result<(), Refusal> {
        match op {
            Op::Create(req) => self.check_create(req),
            Op::ChangeParents(req) => self.check_change(req),
            Op::ModifySettings { target, settings } => self.check_modify_settings(target, settings),
            Op::Delete { target } => self.check_delete(target),
            Op::CreateRoot {
                resource_type,
                host_resources,
                ..
            } => self.check_create_root(*resource_type, host_resources),
            Op::AddResources {
                target,
                host_resources,
            }
            | Op::RemoveResources {
                target,
                host_resources,
            } => self.check_root_resources(target, host_resources),
        }
    }

    /// Step 3: the state-dependent rules, and the effect if they pass.
    pub(crate) fn plan(&self, op: &Op) -> Result<Effect, Refusal> {
        match op {
            Op::Create(req) => self.plan_create(req),
            Op::ChangeParents(req) => self.plan_change(req),
            Op::ModifySettings { target, settings } => self.plan_modify_settings(target, settings),
            Op::Delete { target } => self.plan_delete(target),
            Op::CreateRoot {
                element_name,
                resource_type,
                host_resources,
            } => self.plan_create_root(element_name, *resource_type, host_resources),
            Op::AddResources {
                target,
                host_resources,
            } => self.plan_add_resources(target, host_resources),
            Op::RemoveResources {
                target,
                host_resources,
            } => self.plan_remove_resources(target, host_resources),
        }
    }

    /// Makes an effect real; returns the new pool of a create.
    pub(crate) fn apply(&mut self, effect: Effect) -> Option<ObjectPath> {
        match effect {
            Effect::Create(new) => Some(self.insert_pool(new)),
            Effect::SetHoldings { target, holdings } => {
                self.store.set_holdings(&target, holdings);
                None
            }
            Effect::SetSettings {
                target,
                pool_id,
                element_name,
            } => {
                self.store.set_settings(&target, pool_id, element_name);
                None
            }
            Effect::Delete { target } => {
                if self.has(Defect::NoReleaseOnDelete) {
                    // The parents' reservation counters are never decremented.
                    let holdings = self
                        .store
                        .get(&target)
                        .map(|p| p.holdings.clone())
                        .unwrap_or_default();
                    self.leak(&holdings);
                }
                self.store.remove(&target);
                None
            }
            Effect::SetOwnedResources {
                target,
                host_resources,
            } => {
                self.store.set_owned(&target, host_resources);
                None
            }
            Effect::Nothing => None,
        }
    }

    /// Inserts a new pool, choosing its path (and, for CIM, its PoolID).
    pub(crate) fn insert_pool(&mut self, new: NewPool) -> ObjectPath {
        let mut path = self.store.new_pool_path();
        if self.has(Defect::PoolsOutsideNamespace) {
            let (ours, theirs) = match self.config.dialect {
                Dialect::Msvm => (r"\root\virtualization\v2:", r"\root\cimv2:"),
                Dialect::Cim => (r"\root\cimv2:", r"\root\virtualization\v2:"),
            };
            path = ObjectPath(path.as_str().replacen(ours, theirs, 1));
        }
        let pool_id = match new.pool_id {
            Some(id) => id,
            None if self.has(Defect::DuplicatePoolIds) => new
                .element_name
                .clone()
                .unwrap_or_else(|| "ResourcePool".to_string()),
            None => self.store.new_pool_id(),
        };
        let element_name = new.element_name.unwrap_or_else(|| pool_id.clone());
        self.store.insert(PoolRecord {
            path: path.clone(),
            pool_id,
            element_name,
            resource_type: new.resource_type,
            resource_subtype: new.resource_subtype,
            kind: new.kind,
            origin: new.origin,
            base_capacity: 0,
            base_host_resources: new.base_host_resources,
            holdings: new.holdings,
            leaked_quantity: 0,
            leaked_resources: Vec::new(),
        });
        path
    }

    /// Applies the partial reservations a failed call did not roll back (`LeakOnFailure`).
    pub(crate) fn commit_leaks(&mut self, refusal: &Refusal) {
        if !refusal.leaked.is_empty() {
            let leaked = refusal.leaked.clone();
            self.leak(&leaked);
        }
    }

    fn leak(&mut self, holdings: &[Holding]) {
        for h in holdings {
            self.store
                .add_leak(&h.parent, h.quantity, &h.host_resources);
        }
    }

    /// Looks up a pool a call names (ID-002).
    pub(crate) fn existing(&self, path: &ObjectPath, role: &str) -> Result<&PoolRecord, Refusal> {
        self.store.get(path).ok_or_else(|| {
            Refusal::new(
                Reason::ObjectNotFound,
                format!("{role} {} names no pool of this host", short(path)),
            )
        })
    }

    /// PRIM-001: primordial pools are never deleted or modified by a call.
    pub(crate) fn refuse_primordial(&self, pool: &PoolRecord, action: &str) -> Result<(), Refusal> {
        if pool.is_primordial() && !self.lax(Defect::PrimordialMutable) {
            return Err(invalid(format!(
                "{} is a primordial pool and cannot be {action}",
                short(&pool.path)
            )));
        }
        Ok(())
    }

    /// DeletePool / DeleteResourcePool, parameter level: ID-002, PRIM-001.
    fn check_delete(&self, target: &ObjectPath) -> Result<(), Refusal> {
        let pool = self.existing(target, "Pool")?;
        self.refuse_primordial(pool, "deleted")
    }

    /// DEL-001: a pool with children is in use. DEL-002 and HOST-005 follow from the store:
    /// holdings and root ownership disappear with the pool.
    fn plan_delete(&self, target: &ObjectPath) -> Result<Effect, Refusal> {
        let pool = self.existing(target, "Pool")?;
        if !self.lax(Defect::DeleteWithChildren) {
            let children = self.store.children_of(&pool.path).count();
            if children > 0 {
                return Err(Refusal::new(
                    Reason::InUse,
                    format!(
                        "{} has {children} child pool(s) allocated from it",
                        short(&pool.path)
                    ),
                ));
            }
        }
        Ok(Effect::Delete {
            target: target.clone(),
        })
    }
}

/// An object path cut for messages.
pub(crate) fn short(path: &ObjectPath) -> String {
    super::params::shorten(path.as_str())
}
