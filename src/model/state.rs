//! The model's state of one host: its pools, their parents and holdings, and which root pool
//! owns which host resource. Capacities and reserved amounts are *derived* from holdings,
//! never stored, so they cannot drift from what the pools hold.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::spec::profile::{Profile, ResourceTypeProfile};
use crate::sut::{Dialect, ObjectPath, ParentAllocation, PoolView, ResourceKind, Snapshot};

/// What kind of pool a pool is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Created by the host; never created, modified or deleted by a call.
    Primordial,
    /// A concrete pool with no parent, holding host resources (CIM `CreateResourcePool`).
    Root,
    /// A pool allocated from one or more parents.
    Child,
}

/// What a child holds from one parent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    pub parent: ObjectPath,
    pub quantity: u64,
    pub resources: Vec<String>,
}

/// One pool of the model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelPool {
    pub path: ObjectPath,
    pub pool_id: String,
    pub element_name: String,
    pub type_idx: usize,
    pub role: Role,
    pub holdings: Vec<Holding>,
    /// Host resources of a primordial or root pool.
    pub own_resources: Vec<String>,
}

/// The executable specification's view of one host.
#[derive(Clone, Debug)]
pub struct HostModel {
    pub dialect: Dialect,
    pub types: Vec<ResourceTypeProfile>,
    pools: Vec<ModelPool>,
    /// Host resource → the root pool that holds it.
    root_owner: BTreeMap<String, ObjectPath>,
    /// Host resources a root pool gave back (HOST-005 is exercised when one is reused).
    released: BTreeSet<String>,
}

/// Why the model could not start from an implementation's first snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartError(pub String);

impl HostModel {
    /// The model of a freshly reset host, taking the primordial pools' object paths from the
    /// implementation's first snapshot (paths are the implementation's choice).
    pub fn start(profile: &Profile, first: &Snapshot) -> Result<HostModel, StartError> {
        let mut pools = Vec::new();
        for (type_idx, t) in profile.resource_types.iter().enumerate() {
            let found: Vec<&PoolView> = first
                .pools
                .iter()
                .filter(|p| {
                    p.primordial
                        && p.resource_type == t.resource_type
                        && p.resource_subtype == t.resource_subtype
                })
                .collect();
            let [view] = found.as_slice() else {
                return Err(StartError(format!(
                    "after reset the implementation reports {} primordial pools of type {} {:?}; the fixture has exactly one",
                    found.len(),
                    t.resource_type,
                    t.resource_subtype
                )));
            };
            pools.push(ModelPool {
                path: view.path.clone(),
                pool_id: String::new(),
                element_name: view.element_name.clone(),
                type_idx,
                role: Role::Primordial,
                holdings: Vec::new(),
                own_resources: t.host_resources.clone(),
            });
        }
        Ok(HostModel {
            dialect: profile.dialect,
            types: profile.resource_types.clone(),
            pools,
            root_owner: BTreeMap::new(),
            released: BTreeSet::new(),
        })
    }

    pub fn pools(&self) -> &[ModelPool] {
        &self.pools
    }

    pub fn pool(&self, path: &ObjectPath) -> Option<&ModelPool> {
        self.pools.iter().find(|p| &p.path == path)
    }

    pub(crate) fn pool_mut(&mut self, path: &ObjectPath) -> Option<&mut ModelPool> {
        self.pools.iter_mut().find(|p| &p.path == path)
    }

    pub(crate) fn insert(&mut self, pool: ModelPool) {
        self.pools.push(pool);
    }

    pub(crate) fn remove(&mut self, path: &ObjectPath) -> Option<ModelPool> {
        let idx = self.pools.iter().position(|p| &p.path == path)?;
        Some(self.pools.remove(idx))
    }

    pub fn kind(&self, type_idx: usize) -> ResourceKind {
        self.types
            .get(type_idx)
            .map(|t| t.kind)
            .unwrap_or(ResourceKind::Quantity)
    }

    /// The index of the profile's resource type with this value and subtype.
    pub fn type_index(&self, resource_type: u16, subtype: &str) -> Option<usize> {
        self.types
            .iter()
            .position(|t| t.resource_type == resource_type && t.resource_subtype == subtype)
    }

    /// Live pools of one type, in creation order.
    pub fn pools_of_type(&self, type_idx: usize) -> Vec<&ModelPool> {
        self.pools
            .iter()
            .filter(|p| p.type_idx == type_idx)
            .collect()
    }

    /// The direct children of a pool: the pools holding something from it.
    pub fn children<'a>(
        &'a self,
        path: &'a ObjectPath,
    ) -> impl Iterator<Item = &'a ModelPool> + 'a {
        self.pools
            .iter()
            .filter(move |p| p.holdings.iter().any(|h| &h.parent == path))
    }

    /// Whether `candidate` is `ancestor` or lies below it.
    pub fn is_descendant_or_self(&self, candidate: &ObjectPath, ancestor: &ObjectPath) -> bool {
        let mut frontier = vec![ancestor.clone()];
        let mut seen = BTreeSet::new();
        while let Some(path) = frontier.pop() {
            if &path == candidate {
                return true;
            }
            if !seen.insert(path.clone()) {
                continue;
            }
            frontier.extend(self.children(&path).map(|c| c.path.clone()));
        }
        false
    }

    /// Host resources a pool holds: its own (primordial, root) or the union of its holdings.
    pub fn resources(&self, pool: &ModelPool) -> Vec<String> {
        match pool.role {
            Role::Primordial | Role::Root => pool.own_resources.clone(),
            Role::Child => union(pool.holdings.iter().flat_map(|h| h.resources.iter())),
        }
    }

    /// `Capacity` of a pool (CAP-004).
    pub fn capacity(&self, pool: &ModelPool) -> u64 {
        match (self.kind(pool.type_idx), pool.role) {
            (ResourceKind::Quantity, Role::Primordial) => self
                .types
                .get(pool.type_idx)
                .map(|t| t.capacity)
                .unwrap_or(0),
            (ResourceKind::Quantity, _) => pool
                .holdings
                .iter()
                .fold(0u64, |sum, h| sum.saturating_add(h.quantity)),
            _ => self.resources(pool).len() as u64,
        }
    }

    /// `Reserved` of a pool (CAP-002).
    pub fn reserved(&self, pool: &ModelPool) -> u64 {
        let children: Vec<&ModelPool> = self.children(&pool.path).collect();
        self.reserved_among(pool, &children)
    }

    /// `Reserved` of a pool whose direct children are `children`.
    fn reserved_among(&self, pool: &ModelPool, children: &[&ModelPool]) -> u64 {
        let kind = self.kind(pool.type_idx);
        match kind {
            ResourceKind::Quantity => children
                .iter()
                .flat_map(|c| c.holdings.iter().filter(|h| h.parent == pool.path))
                .fold(0u64, |sum, h| sum.saturating_add(h.quantity)),
            ResourceKind::Named | ResourceKind::Path => {
                let held: Vec<&String> = children
                    .iter()
                    .flat_map(|c| c.holdings.iter().filter(|h| h.parent == pool.path))
                    .flat_map(|h| h.resources.iter())
                    .collect();
                self.resources(pool)
                    .iter()
                    .filter(|own| held.iter().any(|h| covers(kind, own, h)))
                    .count() as u64
            }
        }
    }

    /// `Capacity − Reserved`.
    pub fn free(&self, pool: &ModelPool) -> u64 {
        self.capacity(pool).saturating_sub(self.reserved(pool))
    }

    /// Which root pool holds a host resource.
    pub fn root_owner(&self, resource: &str) -> Option<&ObjectPath> {
        self.root_owner.get(resource)
    }

    pub(crate) fn set_root_owner(&mut self, resource: &str, owner: Option<ObjectPath>) {
        match owner {
            Some(path) => {
                self.root_owner.insert(resource.to_string(), path);
            }
            None => {
                if self.root_owner.remove(resource).is_some() {
                    self.released.insert(resource.to_string());
                }
            }
        }
    }

    pub fn was_released(&self, resource: &str) -> bool {
        self.released.contains(resource)
    }

    /// The model's state in the shape of a snapshot, for comparison with the implementation's.
    /// The children of every pool are indexed once: O(pools · log pools), not O(pools²).
    pub fn expected_snapshot(&self) -> Snapshot {
        let mut index: BTreeMap<&ObjectPath, Vec<&ModelPool>> = BTreeMap::new();
        for child in &self.pools {
            let mut parents: Vec<&ObjectPath> = child.holdings.iter().map(|h| &h.parent).collect();
            parents.sort();
            parents.dedup();
            for parent in parents {
                index.entry(parent).or_default().push(child);
            }
        }
        let mut pools: Vec<PoolView> = self
            .pools
            .iter()
            .map(|p| {
                let t = &self.types[p.type_idx.min(self.types.len().saturating_sub(1))];
                PoolView {
                    path: p.path.clone(),
                    pool_id: p.pool_id.clone(),
                    element_name: p.element_name.clone(),
                    resource_type: t.resource_type,
                    resource_subtype: t.resource_subtype.clone(),
                    primordial: p.role == Role::Primordial,
                    capacity: self.capacity(p),
                    reserved: self.reserved_among(
                        p,
                        index.get(&p.path).map(Vec::as_slice).unwrap_or_default(),
                    ),
                    host_resources: self.resources(p),
                    allocations: p
                        .holdings
                        .iter()
                        .map(|h| ParentAllocation {
                            parent: h.parent.clone(),
                            quantity: h.quantity,
                            host_resources: h.resources.clone(),
                        })
                        .collect(),
                }
            })
            .collect();
        normalize(&mut pools);
        Snapshot { pools }
    }
}

/// Whether host resource `held` is covered by `own`: identity for named resources; for
/// storage paths, equal or under (`\`-separated).
pub fn covers(kind: ResourceKind, own: &str, held: &str) -> bool {
    match kind {
        ResourceKind::Path => {
            held == own
                || (held.len() > own.len()
                    && held.starts_with(own)
                    && held[own.len()..].starts_with('\\'))
        }
        _ => own == held,
    }
}

/// Distinct values, in order of first appearance.
pub fn union<'a>(items: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items.filter(|r| seen.insert(r.as_str())).cloned().collect()
}

/// Sort pools by path, allocations by parent and host resources by value, so that two
/// snapshots that describe the same host compare equal.
pub fn normalize(pools: &mut [PoolView]) {
    pools.sort_by(|a, b| a.path.cmp(&b.path));
    for pool in pools.iter_mut() {
        pool.host_resources.sort();
        pool.allocations.sort_by(|a, b| a.parent.cmp(&b.parent));
        for allocation in &mut pool.allocations {
            allocation.host_resources.sort();
        }
    }
}
