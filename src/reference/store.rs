//! The reference implementation's own state: pool instances and what each child holds from
//! each parent (`ElementAllocatedFromPool`), and the host resources root pools own.
//!
//! Only the *holdings* are stored. Everything the snapshot reports besides them — a child's
//! Capacity and host resources, every pool's Reserved — is derived from the holdings on
//! demand, so there is no second copy that could drift (spec/capacity.md, CAP-002, CAP-004).
//! Every derivation is non-recursive (a pool looks at its direct children, at most its
//! grandchildren), so a hierarchy that a defect let become cyclic never loops.

use std::collections::{BTreeMap, BTreeSet};

use crate::sut::{
    Dialect, HostFixture, ObjectPath, ParentAllocation, PoolView, ResourceKind, ResourceTypeFixture,
};

/// What a child pool holds from one parent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Holding {
    pub parent: ObjectPath,
    /// Quantity kinds: the amount. Zero for named and path kinds.
    pub quantity: u64,
    /// Named and path kinds: the host resources, without duplicates, in request order.
    pub host_resources: Vec<String>,
}

/// How a pool came to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// One per fixture resource type, made by `reset`.
    Primordial,
    /// A CIM root pool (`CreateResourcePool`): owns host resources exclusively, no parents.
    Root,
    /// A pool created from parents.
    Child,
}

/// One pool instance.
#[derive(Clone, Debug)]
pub(crate) struct PoolRecord {
    pub path: ObjectPath,
    pub pool_id: String,
    pub element_name: String,
    pub resource_type: u16,
    pub resource_subtype: String,
    pub kind: ResourceKind,
    pub origin: Origin,
    /// Primordial quantity pools: the fixture capacity.
    pub base_capacity: u64,
    /// Primordial and root pools: the host resources they own.
    pub base_host_resources: Vec<String>,
    /// Child pools: one holding per parent, in parent order.
    pub holdings: Vec<Holding>,
    /// Reservations that were never returned (only the leak defects write these).
    pub leaked_quantity: u64,
    pub leaked_resources: Vec<String>,
}

impl PoolRecord {
    pub fn is_primordial(&self) -> bool {
        self.origin == Origin::Primordial
    }

    pub fn is_root(&self) -> bool {
        self.origin == Origin::Root
    }

    /// Whether this pool holds anything from `parent` (is one of its children).
    pub fn is_child_of(&self, parent: &ObjectPath) -> bool {
        self.holdings.iter().any(|h| &h.parent == parent)
    }
}

/// Whether host resource `held` is covered by host resource `own` of a pool of `kind`:
/// identical, or — for path kinds — a `\`-separated descendant of it.
pub(crate) fn qualifies(held: &str, own: &str, kind: ResourceKind) -> bool {
    if held == own {
        return true;
    }
    if kind != ResourceKind::Path || own.is_empty() {
        return false;
    }
    match held.strip_prefix(own) {
        Some(rest) if own.ends_with('\\') => !rest.is_empty(),
        Some(rest) => rest.starts_with('\\') && rest.len() > 1,
        None => false,
    }
}

/// Appends the elements of `items` not yet in `into`, keeping first-appearance order.
pub(crate) fn union_into(into: &mut Vec<String>, items: &[String]) {
    for item in items {
        if !into.contains(item) {
            into.push(item.clone());
        }
    }
}

/// All pools of one host.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    pub dialect: Dialect,
    pub host_name: String,
    pub types: Vec<ResourceTypeFixture>,
    pub pools: Vec<PoolRecord>,
    next_pool: u64,
    next_pool_id: u64,
    next_job: u64,
}

impl Store {
    /// A host with exactly the fixture's primordial pools.
    pub fn new(dialect: Dialect, fixture: &HostFixture) -> Store {
        let mut store = Store {
            dialect,
            host_name: fixture.host_name.clone(),
            types: fixture.resource_types.clone(),
            pools: Vec::new(),
            next_pool: 0,
            next_pool_id: 0,
            next_job: 0,
        };
        for t in &fixture.resource_types {
            let path = store.new_pool_path();
            let (base_capacity, base_host_resources) = match t.kind {
                ResourceKind::Quantity => (t.capacity, Vec::new()),
                ResourceKind::Named | ResourceKind::Path => {
                    let mut hrs = Vec::new();
                    union_into(&mut hrs, &t.host_resources);
                    (0, hrs)
                }
            };
            store.pools.push(PoolRecord {
                path,
                pool_id: String::new(),
                element_name: "Primordial".into(),
                resource_type: t.resource_type,
                resource_subtype: t.resource_subtype.clone(),
                kind: t.kind,
                origin: Origin::Primordial,
                base_capacity,
                base_host_resources,
                holdings: Vec::new(),
                leaked_quantity: 0,
                leaked_resources: Vec::new(),
            });
        }
        store
    }

    fn namespace(&self) -> (&'static str, &'static str, &'static str) {
        match self.dialect {
            Dialect::Msvm => (r"root\virtualization\v2", "Msvm", "Microsoft:"),
            Dialect::Cim => (r"root\cimv2", "CIM", "poolcheck:"),
        }
    }

    /// A fresh pool path; deterministic (a counter rendered like a GUID).
    pub fn new_pool_path(&mut self) -> ObjectPath {
        self.next_pool = self.next_pool.saturating_add(1);
        let (ns, prefix, id_prefix) = self.namespace();
        ObjectPath(format!(
            r#"\\{}\{}:{}_ResourcePool.InstanceID="{}{}""#,
            self.host_name,
            ns,
            prefix,
            id_prefix,
            guid_like(0x5000_1000, self.next_pool)
        ))
    }

    /// A fresh job path; deterministic.
    pub fn new_job_path(&mut self) -> ObjectPath {
        self.next_job = self.next_job.saturating_add(1);
        let (ns, prefix, id_prefix) = self.namespace();
        ObjectPath(format!(
            r#"\\{}\{}:{}_ConcreteJob.InstanceID="{}{}""#,
            self.host_name,
            ns,
            prefix,
            id_prefix,
            guid_like(0x7000_2000, self.next_job)
        ))
    }

    /// A fresh PoolID for a pool whose PoolID the service chooses (CIM). Unique across all
    /// types, hence per type.
    pub fn new_pool_id(&mut self) -> String {
        loop {
            self.next_pool_id = self.next_pool_id.saturating_add(1);
            let candidate = format!("Pool-{}", self.next_pool_id);
            if !self.pools.iter().any(|p| p.pool_id == candidate) || self.next_pool_id == u64::MAX {
                return candidate;
            }
        }
    }

    pub fn get(&self, path: &ObjectPath) -> Option<&PoolRecord> {
        self.pools.iter().find(|p| &p.path == path)
    }

    pub fn get_mut(&mut self, path: &ObjectPath) -> Option<&mut PoolRecord> {
        self.pools.iter_mut().find(|p| &p.path == path)
    }

    /// The fixture entry of a (type, subtype).
    pub fn fixture_type(&self, resource_type: u16, subtype: &str) -> Option<&ResourceTypeFixture> {
        self.types
            .iter()
            .find(|t| t.resource_type == resource_type && t.resource_subtype == subtype)
    }

    /// The first fixture entry with this ResourceType (CIM root pools name no subtype).
    pub fn fixture_type_by_number(&self, resource_type: u16) -> Option<&ResourceTypeFixture> {
        self.types.iter().find(|t| t.resource_type == resource_type)
    }

    /// How allocations of a (type, subtype) are expressed. A type the host does not have is
    /// treated as a quantity (only reachable when validation was skipped).
    pub fn kind_of(&self, resource_type: u16, subtype: &str) -> ResourceKind {
        self.fixture_type(resource_type, subtype)
            .or_else(|| self.fixture_type_by_number(resource_type))
            .map(|t| t.kind)
            .unwrap_or(ResourceKind::Quantity)
    }

    /// The primordial pool of a (type, subtype).
    pub fn primordial_of(&self, resource_type: u16, subtype: &str) -> Option<&PoolRecord> {
        self.pools.iter().find(|p| {
            p.is_primordial() && p.resource_type == resource_type && p.resource_subtype == subtype
        })
    }

    /// The direct children of a pool.
    pub fn children_of<'a>(
        &'a self,
        parent: &'a ObjectPath,
    ) -> impl Iterator<Item = &'a PoolRecord> + 'a {
        self.pools.iter().filter(move |p| p.is_child_of(parent))
    }

    /// The host resources a pool holds: its own (primordial, root) or the union of its
    /// holdings (child).
    pub fn host_resources(&self, pool: &PoolRecord) -> Vec<String> {
        if pool.kind == ResourceKind::Quantity {
            return Vec::new();
        }
        let mut all = Vec::new();
        match pool.origin {
            Origin::Primordial | Origin::Root => union_into(&mut all, &pool.base_host_resources),
            Origin::Child => {}
        }
        for h in &pool.holdings {
            union_into(&mut all, &h.host_resources);
        }
        all
    }

    /// `Capacity`: the fixture's (primordial), the number of owned host resources (root), or
    /// what the pool holds (child, CAP-004).
    pub fn capacity(&self, pool: &PoolRecord) -> u64 {
        match (pool.origin, pool.kind) {
            (Origin::Primordial, ResourceKind::Quantity) => pool.base_capacity,
            (Origin::Root | Origin::Primordial, _) => len_u64(&pool.base_host_resources),
            (Origin::Child, ResourceKind::Quantity) => pool
                .holdings
                .iter()
                .fold(0u64, |sum, h| sum.saturating_add(h.quantity)),
            (Origin::Child, _) => len_u64(&self.host_resources(pool)),
        }
    }

    /// What `child` holds from `parent`: the quantity and the host resources.
    pub fn held_from(&self, child: &PoolRecord, parent: &ObjectPath) -> (u64, Vec<String>) {
        let mut quantity = 0u64;
        let mut hrs = Vec::new();
        for h in child.holdings.iter().filter(|h| &h.parent == parent) {
            quantity = quantity.saturating_add(h.quantity);
            union_into(&mut hrs, &h.host_resources);
        }
        (quantity, hrs)
    }

    /// `Reserved` (CAP-002): the sum of what the direct children hold from the pool
    /// (quantity), or the number of the pool's own host resources some direct child holds
    /// (named and path kinds; a held path under an own path counts for that own path).
    /// `count_grandchildren` adds what the grandchildren hold as well (a defect).
    pub fn reserved(&self, pool: &PoolRecord, count_grandchildren: bool) -> u64 {
        self.reserved_by(pool, count_grandchildren, &|path| {
            self.pools.iter().filter(|p| p.is_child_of(path)).collect()
        })
    }

    /// [`Store::reserved`] with the direct children of a pool given by `children_of`.
    fn reserved_by<'a>(
        &'a self,
        pool: &'a PoolRecord,
        count_grandchildren: bool,
        children_of: &dyn Fn(&ObjectPath) -> Vec<&'a PoolRecord>,
    ) -> u64 {
        let children: Vec<&PoolRecord> = children_of(&pool.path);
        if pool.kind == ResourceKind::Quantity {
            let mut sum = pool.leaked_quantity;
            for child in &children {
                sum = sum.saturating_add(self.held_from(child, &pool.path).0);
                if count_grandchildren {
                    for grandchild in children_of(&child.path) {
                        sum = sum.saturating_add(self.held_from(grandchild, &child.path).0);
                    }
                }
            }
            return sum;
        }
        let mut held: Vec<String> = pool.leaked_resources.clone();
        for child in &children {
            union_into(&mut held, &self.held_from(child, &pool.path).1);
        }
        let own = self.host_resources(pool);
        let mut count = own
            .iter()
            .filter(|r| held.iter().any(|h| qualifies(h, r, pool.kind)))
            .count() as u64;
        if count_grandchildren {
            for child in &children {
                for grandchild in children_of(&child.path) {
                    let (_, hrs) = self.held_from(grandchild, &child.path);
                    count = count.saturating_add(len_u64(&hrs));
                }
            }
        }
        count
    }

    /// Whether `candidate` is `ancestor` itself or lies below it (MOD-003). Iterative with a
    /// visited set, so it terminates on any graph.
    pub fn is_self_or_descendant(&self, candidate: &ObjectPath, ancestor: &ObjectPath) -> bool {
        let mut seen: BTreeSet<&ObjectPath> = BTreeSet::new();
        let mut stack: Vec<&ObjectPath> = vec![ancestor];
        while let Some(current) = stack.pop() {
            if current == candidate {
                return true;
            }
            if !seen.insert(current) {
                continue;
            }
            for child in self.children_of(current) {
                stack.push(&child.path);
            }
        }
        false
    }

    /// The root pool that owns a host resource, if any.
    pub fn root_owner(&self, host_resource: &str) -> Option<&PoolRecord> {
        self.pools
            .iter()
            .find(|p| p.is_root() && p.base_host_resources.iter().any(|r| r == host_resource))
    }

    /// Every pool as the snapshot reports it, in creation order. The children of every pool
    /// are indexed once, so a snapshot costs O(pools · log pools), not O(pools²).
    pub fn views(&self, count_grandchildren: bool) -> Vec<PoolView> {
        let mut index: BTreeMap<&ObjectPath, Vec<&PoolRecord>> = BTreeMap::new();
        for child in &self.pools {
            let mut parents: Vec<&ObjectPath> = child.holdings.iter().map(|h| &h.parent).collect();
            parents.sort();
            parents.dedup();
            for parent in parents {
                index.entry(parent).or_default().push(child);
            }
        }
        let children_of = |path: &ObjectPath| -> Vec<&PoolRecord> {
            index.get(path).cloned().unwrap_or_default()
        };
        self.pools
            .iter()
            .map(|p| PoolView {
                path: p.path.clone(),
                pool_id: p.pool_id.clone(),
                element_name: p.element_name.clone(),
                resource_type: p.resource_type,
                resource_subtype: p.resource_subtype.clone(),
                primordial: p.is_primordial(),
                capacity: self.capacity(p),
                reserved: self.reserved_by(p, count_grandchildren, &children_of),
                host_resources: self.host_resources(p),
                allocations: p
                    .holdings
                    .iter()
                    .map(|h| ParentAllocation {
                        parent: h.parent.clone(),
                        quantity: h.quantity,
                        host_resources: h.host_resources.clone(),
                    })
                    .collect(),
            })
            .collect()
    }
}

fn len_u64<T>(items: &[T]) -> u64 {
    u64::try_from(items.len()).unwrap_or(u64::MAX)
}

/// A deterministic GUID-shaped rendering of a counter.
fn guid_like(tag: u32, n: u64) -> String {
    format!(
        "{:08X}-{:04X}-4{:03X}-8{:03X}-{:012X}",
        tag,
        (n >> 48) & 0xFFFF,
        (n >> 36) & 0xFFF,
        (n >> 24) & 0xFFF,
        n & 0xFFFF_FFFF_FFFF
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_qualification() {
        let p = ResourceKind::Path;
        assert!(qualifies(r"C:\VMs", r"C:\VMs", p));
        assert!(qualifies(r"C:\VMs\a", r"C:\VMs", p));
        assert!(!qualifies(r"C:\VMsX", r"C:\VMs", p));
        assert!(!qualifies(r"C:\VMs\", r"C:\VMs", p));
        assert!(qualifies(r"C:\x", r"C:\", p));
        assert!(!qualifies(r"C:\VMs\a", r"C:\VMs", ResourceKind::Named));
    }

    #[test]
    fn guid_like_is_deterministic_and_distinct() {
        assert_eq!(guid_like(1, 7), guid_like(1, 7));
        assert_ne!(guid_like(1, 7), guid_like(1, 8));
    }
}
