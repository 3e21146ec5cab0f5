//! The reference implementation's own state: pool instances and what each child holds from
//! each parent (`ElementAllocatedFromPool`), and the host resources root pools own.
//!
//! Only the *holdings* are stored. Everything the snapshot reports besides them — a child's
//! Capacity and host resources, every pool's Reserved — is derived from the holdings on
//! demand (spec/capacity.md, CAP-002, CAP-004). The per-parent sums Reserved is read from are
//! an index of the holdings, not a second copy: the same store methods that change holdings
//! update them, and nothing else writes either. Every derivation is non-recursive (a pool
//! looks at its direct children, at most its grandchildren), so a hierarchy that a defect let
//! become cyclic never loops.
//!
//! Cost: finding a pool, its children, its primordial pool, a PoolID or a root owner, and
//! deriving a Reserved, cost the same on a host of ten pools or a hundred thousand (maps and
//! indexes, no scans), so one operation does too. A snapshot costs O(pools); the change record
//! ([`Store::take_changes`]) costs what changed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::sut::{
    Dialect, HostFixture, ObjectPath, ParentAllocation, PoolView, ResourceKind,
    ResourceTypeFixture, SnapshotDelta,
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

/// What the pools that name one parent hold from it: the children index and the two sums
/// `Reserved` is derived from. Kept up to date by every change of holdings.
#[derive(Clone, Debug, Default)]
struct ParentEntry {
    /// Child (by creation number) → how many of its holdings name this parent.
    children: BTreeMap<u64, u32>,
    /// The quantities held from this parent, summed exactly.
    quantity: u128,
    /// Host resource → how many holdings hold it from this parent.
    host_resources: BTreeMap<String, u32>,
}

impl ParentEntry {
    fn is_empty(&self) -> bool {
        self.children.is_empty()
    }
}

/// The pools whose view may differ from what the previous `reset`, `snapshot` or `changes`
/// call reported.
#[derive(Clone, Debug, Default)]
struct Changes {
    /// Live pools to report, by creation number.
    changed: BTreeSet<u64>,
    /// Pools created since: removing one of these again leaves nothing to report.
    created: BTreeSet<u64>,
    /// Pools removed since that were reported before, by creation number.
    removed: BTreeMap<u64, ObjectPath>,
}

/// All pools of one host.
///
/// Pools are kept in creation order (the order of the snapshot) and found by path through a
/// map; children, PoolIDs, primordial pools and root-pool ownership have indexes of their own,
/// so no lookup scans the host. Every change of a pool goes through one of the methods below
/// (`insert`, `remove`, `set_holdings`, `set_settings`, `set_owned`, `add_leak`), which keep
/// the indexes and record whose view the change may alter.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    pub dialect: Dialect,
    pub host_name: String,
    pub types: Vec<ResourceTypeFixture>,
    /// `Reserved` also counts what grandchildren hold (the `ReservedCountsGrandchildren`
    /// defect): both the derivation and the change tracking follow it.
    count_grandchildren: bool,
    /// Creation number → pool; iteration order is creation order.
    pools: BTreeMap<u64, PoolRecord>,
    by_path: HashMap<ObjectPath, u64>,
    /// Parent path → what its children hold from it. A parent deleted while children still
    /// name it (a defect) keeps its entry until they let go.
    parents: HashMap<ObjectPath, ParentEntry>,
    primordials: BTreeSet<u64>,
    /// PoolID → the pools (of any type) that carry it.
    by_pool_id: HashMap<String, BTreeSet<u64>>,
    /// Host resource → the root pools that own it.
    root_owners: HashMap<String, BTreeSet<u64>>,
    changes: Changes,
    next_seq: u64,
    next_pool: u64,
    next_pool_id: u64,
    next_job: u64,
}

impl Store {
    /// A host with exactly the fixture's primordial pools, and nothing to report as changed.
    pub fn new(dialect: Dialect, fixture: &HostFixture, count_grandchildren: bool) -> Store {
        let mut store = Store {
            dialect,
            host_name: fixture.host_name.clone(),
            types: fixture.resource_types.clone(),
            count_grandchildren,
            pools: BTreeMap::new(),
            by_path: HashMap::new(),
            parents: HashMap::new(),
            primordials: BTreeSet::new(),
            by_pool_id: HashMap::new(),
            root_owners: HashMap::new(),
            changes: Changes::default(),
            next_seq: 0,
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
            store.insert(PoolRecord {
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
        store.clear_changes();
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
            if !self.by_pool_id.contains_key(&candidate) || self.next_pool_id == u64::MAX {
                return candidate;
            }
        }
    }

    pub fn get(&self, path: &ObjectPath) -> Option<&PoolRecord> {
        self.by_path.get(path).and_then(|seq| self.pools.get(seq))
    }

    /// The first pool, in creation order, of a (type, subtype) with this PoolID (ID-001).
    pub fn pool_with_id(
        &self,
        resource_type: u16,
        subtype: &str,
        pool_id: &str,
    ) -> Option<&PoolRecord> {
        self.by_pool_id
            .get(pool_id)?
            .iter()
            .filter_map(|seq| self.pools.get(seq))
            .find(|p| p.resource_type == resource_type && p.resource_subtype == subtype)
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
        self.primordials
            .iter()
            .filter_map(|seq| self.pools.get(seq))
            .find(|p| p.resource_type == resource_type && p.resource_subtype == subtype)
    }

    /// The direct children of a pool, in creation order.
    pub fn children_of<'a>(
        &'a self,
        parent: &ObjectPath,
    ) -> impl Iterator<Item = &'a PoolRecord> + 'a {
        self.parents
            .get(parent)
            .into_iter()
            .flat_map(|entry| entry.children.keys())
            .filter_map(|seq| self.pools.get(seq))
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
    /// (named and path kinds; a held path under an own path counts for that own path), read
    /// from the pool's [`ParentEntry`] without visiting the children. With
    /// `count_grandchildren` (a defect) what the grandchildren hold is added, visiting the
    /// children.
    pub fn reserved(&self, pool: &PoolRecord) -> u64 {
        let entry = self.parents.get(&pool.path);
        if pool.kind == ResourceKind::Quantity {
            let mut sum =
                u128::from(pool.leaked_quantity).saturating_add(entry.map_or(0, |e| e.quantity));
            if self.count_grandchildren {
                for child in self.children_of(&pool.path) {
                    let below = self.parents.get(&child.path).map_or(0, |e| e.quantity);
                    sum = sum.saturating_add(below);
                }
            }
            return u64::try_from(sum).unwrap_or(u64::MAX);
        }
        let held_by_children = entry.into_iter().flat_map(|e| e.host_resources.keys());
        let held: Vec<&String> = pool
            .leaked_resources
            .iter()
            .chain(held_by_children)
            .collect();
        let own = self.host_resources(pool);
        let mut count = own
            .iter()
            .filter(|r| held.iter().any(|h| qualifies(h, r, pool.kind)))
            .count() as u64;
        if self.count_grandchildren {
            for child in self.children_of(&pool.path) {
                for grandchild in self.children_of(&child.path) {
                    let (_, hrs) = self.held_from(grandchild, &child.path);
                    count = count.saturating_add(len_u64(&hrs));
                }
            }
        }
        count
    }

    /// Whether `candidate` is `ancestor` itself or lies below it (MOD-003): walks up from
    /// `candidate` through the parents of live pools, with a visited set, so it terminates on
    /// any graph and costs what the candidate's ancestry costs, not what the ancestor's
    /// descendants do.
    pub fn is_self_or_descendant(&self, candidate: &ObjectPath, ancestor: &ObjectPath) -> bool {
        let mut seen: BTreeSet<&ObjectPath> = BTreeSet::new();
        let mut stack: Vec<&ObjectPath> = vec![candidate];
        while let Some(current) = stack.pop() {
            if current == ancestor {
                return true;
            }
            if !seen.insert(current) {
                continue;
            }
            if let Some(pool) = self.get(current) {
                stack.extend(pool.holdings.iter().map(|h| &h.parent));
            }
        }
        false
    }

    /// The root pool that owns a host resource, if any (the first created, should several).
    pub fn root_owner(&self, host_resource: &str) -> Option<&PoolRecord> {
        self.root_owners
            .get(host_resource)
            .and_then(|owners| owners.first())
            .and_then(|seq| self.pools.get(seq))
    }

    /// One pool as the snapshot reports it.
    fn view(&self, p: &PoolRecord) -> PoolView {
        PoolView {
            path: p.path.clone(),
            pool_id: p.pool_id.clone(),
            element_name: p.element_name.clone(),
            resource_type: p.resource_type,
            resource_subtype: p.resource_subtype.clone(),
            primordial: p.is_primordial(),
            capacity: self.capacity(p),
            reserved: self.reserved(p),
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
        }
    }

    /// Every pool as the snapshot reports it, in creation order; the change record starts
    /// afresh.
    pub fn snapshot(&mut self) -> Vec<PoolView> {
        self.clear_changes();
        self.pools.values().map(|p| self.view(p)).collect()
    }

    /// The pools whose view may have changed since the change record last started afresh
    /// (whole views, in creation order) and the pools removed since; the record starts afresh.
    pub fn take_changes(&mut self) -> SnapshotDelta {
        let changes = std::mem::take(&mut self.changes);
        SnapshotDelta {
            changed: changes
                .changed
                .iter()
                .filter_map(|seq| self.pools.get(seq))
                .map(|p| self.view(p))
                .collect(),
            removed: changes.removed.into_values().collect(),
        }
    }

    fn clear_changes(&mut self) {
        self.changes = Changes::default();
    }

    // -----------------------------------------------------------------------------------------
    // Changes of state: the only writers of `pools`.

    /// Adds a pool (its path must be fresh).
    pub fn insert(&mut self, pool: PoolRecord) {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        self.by_path.insert(pool.path.clone(), seq);
        if pool.is_primordial() {
            self.primordials.insert(seq);
        }
        self.by_pool_id
            .entry(pool.pool_id.clone())
            .or_default()
            .insert(seq);
        if pool.is_root() {
            self.own(seq, &pool.base_host_resources);
        }
        self.hold(seq, &pool.holdings);
        let parents = parents_of(&pool.holdings);
        self.pools.insert(seq, pool);
        self.changes.created.insert(seq);
        self.changes.changed.insert(seq);
        self.mark_reserved_of(&parents);
    }

    /// Removes a pool and everything it holds; pools that still name it as a parent (a
    /// defect) keep their holdings.
    pub fn remove(&mut self, path: &ObjectPath) {
        let Some(seq) = self.by_path.remove(path) else {
            return;
        };
        let Some(pool) = self.pools.remove(&seq) else {
            return;
        };
        self.primordials.remove(&seq);
        forget(&mut self.by_pool_id, &pool.pool_id, seq);
        if pool.is_root() {
            self.disown(seq, &pool.base_host_resources);
        }
        self.release(seq, &pool.holdings);
        self.changes.changed.remove(&seq);
        if !self.changes.created.remove(&seq) {
            self.changes.removed.insert(seq, pool.path);
        }
        self.mark_reserved_of(&parents_of(&pool.holdings));
    }

    /// Replaces what a pool holds from which parents.
    pub fn set_holdings(&mut self, path: &ObjectPath, holdings: Vec<Holding>) {
        let Some(seq) = self.by_path.get(path).copied() else {
            return;
        };
        let Some(old) = self.pools.get(&seq).map(|p| p.holdings.clone()) else {
            return;
        };
        // The grandparents are read after the change: only this pool's holdings change, so a
        // parent's own parents are what they were, unless the parent is this pool — whose old
        // and new parents are both marked as parents anyway.
        let mut parents = parents_of(&old);
        self.release(seq, &old);
        self.hold(seq, &holdings);
        union_paths(&mut parents, &parents_of(&holdings));
        if let Some(pool) = self.pools.get_mut(&seq) {
            pool.holdings = holdings;
        }
        self.changes.changed.insert(seq);
        self.mark_reserved_of(&parents);
    }

    /// Changes a pool's PoolID and ElementName (`None`: unchanged).
    pub fn set_settings(
        &mut self,
        path: &ObjectPath,
        pool_id: Option<String>,
        element_name: Option<String>,
    ) {
        let Some(seq) = self.by_path.get(path).copied() else {
            return;
        };
        let Some(pool) = self.pools.get_mut(&seq) else {
            return;
        };
        let old_id = pool_id.map(|id| std::mem::replace(&mut pool.pool_id, id));
        if let Some(element_name) = element_name {
            pool.element_name = element_name;
        }
        let new_id = pool.pool_id.clone();
        if let Some(old_id) = old_id {
            forget(&mut self.by_pool_id, &old_id, seq);
            self.by_pool_id.entry(new_id).or_default().insert(seq);
        }
        self.changes.changed.insert(seq);
    }

    /// Replaces the host resources a primordial or root pool owns.
    pub fn set_owned(&mut self, path: &ObjectPath, host_resources: Vec<String>) {
        let Some(seq) = self.by_path.get(path).copied() else {
            return;
        };
        let Some(pool) = self.pools.get_mut(&seq) else {
            return;
        };
        let is_root = pool.is_root();
        let old = std::mem::replace(&mut pool.base_host_resources, host_resources.clone());
        if is_root {
            self.disown(seq, &old);
            self.own(seq, &host_resources);
        }
        self.changes.changed.insert(seq);
    }

    /// Records a reservation that is never returned (the leak defects).
    pub fn add_leak(&mut self, path: &ObjectPath, quantity: u64, host_resources: &[String]) {
        let Some(seq) = self.by_path.get(path).copied() else {
            return;
        };
        if let Some(pool) = self.pools.get_mut(&seq) {
            pool.leaked_quantity = pool.leaked_quantity.saturating_add(quantity);
            union_into(&mut pool.leaked_resources, host_resources);
            self.changes.changed.insert(seq);
        }
    }

    /// Records that the `Reserved` of these parents may have changed (with
    /// `count_grandchildren`, that of their parents too).
    fn mark_reserved_of(&mut self, parents: &[ObjectPath]) {
        for parent in parents {
            let Some(seq) = self.by_path.get(parent).copied() else {
                continue;
            };
            self.changes.changed.insert(seq);
            if !self.count_grandchildren {
                continue;
            }
            let grandparents = self
                .pools
                .get(&seq)
                .map(|p| parents_of(&p.holdings))
                .unwrap_or_default();
            for grandparent in grandparents {
                if let Some(seq) = self.by_path.get(&grandparent).copied() {
                    self.changes.changed.insert(seq);
                }
            }
        }
    }

    /// Adds the holdings of pool `seq` to its parents' entries.
    fn hold(&mut self, seq: u64, holdings: &[Holding]) {
        for h in holdings {
            let entry = self.parents.entry(h.parent.clone()).or_default();
            *entry.children.entry(seq).or_insert(0) += 1;
            entry.quantity = entry.quantity.saturating_add(u128::from(h.quantity));
            for hr in &h.host_resources {
                *entry.host_resources.entry(hr.clone()).or_insert(0) += 1;
            }
        }
    }

    /// Takes the holdings of pool `seq` out of its parents' entries (the inverse of `hold`).
    fn release(&mut self, seq: u64, holdings: &[Holding]) {
        for h in holdings {
            let Some(entry) = self.parents.get_mut(&h.parent) else {
                continue;
            };
            decrement(&mut entry.children, &seq);
            entry.quantity = entry.quantity.saturating_sub(u128::from(h.quantity));
            for hr in &h.host_resources {
                decrement(&mut entry.host_resources, hr);
            }
            if entry.is_empty() {
                self.parents.remove(&h.parent);
            }
        }
    }

    fn own(&mut self, seq: u64, host_resources: &[String]) {
        for hr in host_resources {
            self.root_owners.entry(hr.clone()).or_default().insert(seq);
        }
    }

    fn disown(&mut self, seq: u64, host_resources: &[String]) {
        for hr in host_resources {
            forget(&mut self.root_owners, hr, seq);
        }
    }
}

/// The distinct parents of some holdings, in holding order.
fn parents_of(holdings: &[Holding]) -> Vec<ObjectPath> {
    let mut parents: Vec<ObjectPath> = Vec::with_capacity(holdings.len());
    for h in holdings {
        if !parents.contains(&h.parent) {
            parents.push(h.parent.clone());
        }
    }
    parents
}

fn union_paths(into: &mut Vec<ObjectPath>, items: &[ObjectPath]) {
    for item in items {
        if !into.contains(item) {
            into.push(item.clone());
        }
    }
}

/// Counts one occurrence of `key` less, dropping it at zero.
fn decrement<K: Ord + Clone>(counts: &mut BTreeMap<K, u32>, key: &K) {
    if let Some(count) = counts.get_mut(key) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            counts.remove(key);
        }
    }
}

/// Takes `seq` out of the set under `key`, dropping the set when it empties.
fn forget(index: &mut HashMap<String, BTreeSet<u64>>, key: &str, seq: u64) {
    if let Some(set) = index.get_mut(key) {
        set.remove(&seq);
        if set.is_empty() {
            index.remove(key);
        }
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

    /// xorshift64*: enough randomness to drive the store, and reproducible.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }

        fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
            if items.is_empty() {
                None
            } else {
                items.get(self.below(items.len()))
            }
        }
    }

    const RESOURCES: &[&str] = &["SW-A", "SW-B", r"C:\VMs", r"C:\VMs\x", r"D:\Pools"];

    fn live(store: &Store) -> Vec<ObjectPath> {
        store.pools.values().map(|p| p.path.clone()).collect()
    }

    fn some_resources(rng: &mut Rng) -> Vec<String> {
        let mut hrs = Vec::new();
        for _ in 0..rng.below(3) {
            if let Some(hr) = rng.pick(RESOURCES) {
                union_into(&mut hrs, &[hr.to_string()]);
            }
        }
        hrs
    }

    /// One to three holdings from live pools, now and then from a pool that does not exist
    /// (as after a defect deleted a parent) or twice from the same one.
    fn some_holdings(rng: &mut Rng, store: &Store) -> Vec<Holding> {
        let pools = live(store);
        (0..1 + rng.below(3))
            .filter_map(|_| {
                let parent = if rng.below(10) == 0 {
                    ObjectPath::new("gone")
                } else {
                    rng.pick(&pools)?.clone()
                };
                Some(Holding {
                    parent,
                    quantity: rng.next() % 4,
                    host_resources: some_resources(rng),
                })
            })
            .collect()
    }

    fn new_pool(rng: &mut Rng, store: &mut Store, origin: Origin) -> PoolRecord {
        let fixture = store.types.get(rng.below(store.types.len())).cloned();
        let fixture = fixture.expect("a fixture type");
        let holdings = match origin {
            Origin::Child => some_holdings(rng, store),
            _ => Vec::new(),
        };
        PoolRecord {
            path: store.new_pool_path(),
            pool_id: ["", "a", "b", "c"][rng.below(4)].to_string(),
            element_name: "p".into(),
            resource_type: fixture.resource_type,
            resource_subtype: fixture.resource_subtype,
            kind: fixture.kind,
            origin,
            base_capacity: 0,
            base_host_resources: some_resources(rng),
            holdings,
            leaked_quantity: 0,
            leaked_resources: Vec::new(),
        }
    }

    fn random_change(rng: &mut Rng, store: &mut Store) {
        let target = rng.pick(&live(store)).cloned();
        match (rng.below(7), target) {
            (0, _) | (_, None) => {
                let pool = new_pool(rng, store, Origin::Child);
                store.insert(pool);
            }
            (1, _) => {
                let pool = new_pool(rng, store, Origin::Root);
                store.insert(pool);
            }
            (2, Some(target)) => store.remove(&target),
            (3, Some(target)) => {
                let mut holdings = some_holdings(rng, store);
                if rng.below(8) == 0 {
                    holdings.push(Holding {
                        parent: target.clone(),
                        quantity: 1,
                        host_resources: vec![],
                    });
                }
                store.set_holdings(&target, holdings);
            }
            (4, Some(target)) => {
                let pool_id = ["a", "b", "c", "d"][rng.below(4)].to_string();
                store.set_settings(&target, Some(pool_id), None);
            }
            (5, Some(target)) => store.set_owned(&target, some_resources(rng)),
            (_, Some(target)) => store.add_leak(&target, rng.next() % 3, &some_resources(rng)),
        }
    }

    /// The children of a pool by a scan of every pool: what the index must agree with.
    fn children_by_scan<'a>(store: &'a Store, parent: &ObjectPath) -> Vec<&'a PoolRecord> {
        store
            .pools
            .values()
            .filter(|p| p.holdings.iter().any(|h| &h.parent == parent))
            .collect()
    }

    /// Reserved derived from the children found by a scan, as before the indexes existed.
    fn reserved_by_scan(store: &Store, pool: &PoolRecord) -> u64 {
        let children = children_by_scan(store, &pool.path);
        if pool.kind == ResourceKind::Quantity {
            let mut sum = pool.leaked_quantity;
            for child in &children {
                sum = sum.saturating_add(store.held_from(child, &pool.path).0);
                if store.count_grandchildren {
                    for grandchild in children_by_scan(store, &child.path) {
                        sum = sum.saturating_add(store.held_from(grandchild, &child.path).0);
                    }
                }
            }
            return sum;
        }
        let mut held: Vec<String> = pool.leaked_resources.clone();
        for child in &children {
            union_into(&mut held, &store.held_from(child, &pool.path).1);
        }
        let mut count = store
            .host_resources(pool)
            .iter()
            .filter(|r| held.iter().any(|h| qualifies(h, r, pool.kind)))
            .count() as u64;
        if store.count_grandchildren {
            for child in &children {
                for grandchild in children_by_scan(store, &child.path) {
                    count =
                        count.saturating_add(len_u64(&store.held_from(grandchild, &child.path).1));
                }
            }
        }
        count
    }

    fn paths(
        pools: impl IntoIterator<Item = impl std::ops::Deref<Target = PoolRecord>>,
    ) -> Vec<ObjectPath> {
        pools.into_iter().map(|p| p.path.clone()).collect()
    }

    /// Every index answers what a scan of every pool answers.
    fn assert_indexes_agree_with_scans(store: &Store) {
        for pool in store.pools.values() {
            assert_eq!(store.get(&pool.path).map(|p| &p.path), Some(&pool.path));
            assert_eq!(
                paths(store.children_of(&pool.path)),
                paths(children_by_scan(store, &pool.path)),
                "children of {}",
                pool.path
            );
            assert_eq!(
                store.reserved(pool),
                reserved_by_scan(store, pool),
                "Reserved of {}",
                pool.path
            );
            let by_scan = store.pools.values().find(|p| {
                p.resource_type == pool.resource_type
                    && p.resource_subtype == pool.resource_subtype
                    && p.pool_id == pool.pool_id
            });
            assert_eq!(
                store
                    .pool_with_id(pool.resource_type, &pool.resource_subtype, &pool.pool_id)
                    .map(|p| &p.path),
                by_scan.map(|p| &p.path)
            );
            let primordial = store.pools.values().find(|p| {
                p.is_primordial()
                    && p.resource_type == pool.resource_type
                    && p.resource_subtype == pool.resource_subtype
            });
            assert_eq!(
                store
                    .primordial_of(pool.resource_type, &pool.resource_subtype)
                    .map(|p| &p.path),
                primordial.map(|p| &p.path)
            );
        }
        for hr in RESOURCES {
            let by_scan = store
                .pools
                .values()
                .find(|p| p.is_root() && p.base_host_resources.iter().any(|r| r == hr));
            assert_eq!(
                store.root_owner(hr).map(|p| &p.path),
                by_scan.map(|p| &p.path)
            );
        }
    }

    /// Applies a change record to the views it follows.
    fn apply(views: &mut Vec<PoolView>, delta: SnapshotDelta) {
        views.retain(|v| !delta.removed.contains(&v.path));
        for changed in delta.changed {
            match views.iter_mut().find(|v| v.path == changed.path) {
                Some(view) => *view = changed,
                None => views.push(changed),
            }
        }
    }

    /// Over random changes of every kind (cycles, dangling parents, duplicate PoolIDs and
    /// leaks included), with and without the grandchildren defect: every index agrees with a
    /// scan, and the change record, taken after one change or after several, turns the
    /// previous views into the current ones.
    #[test]
    fn indexes_and_change_record_follow_random_changes() {
        for count_grandchildren in [false, true] {
            for seed in 1..=40u64 {
                let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                let mut store = Store::new(
                    Dialect::Cim,
                    &HostFixture::cim_default(),
                    count_grandchildren,
                );
                assert_eq!(store.take_changes(), SnapshotDelta::default());
                let mut views = store.snapshot();
                for _ in 0..60 {
                    random_change(&mut rng, &mut store);
                    assert_indexes_agree_with_scans(&store);
                    let current: Vec<PoolView> =
                        store.pools.values().map(|p| store.view(p)).collect();
                    match rng.below(4) {
                        0 => views = store.snapshot(),
                        1 => {} // let changes accumulate
                        _ => {
                            apply(&mut views, store.take_changes());
                            assert_eq!(views, current, "seed {seed}");
                            assert_eq!(store.take_changes(), SnapshotDelta::default());
                        }
                    }
                }
                apply(&mut views, store.take_changes());
                assert_eq!(views, store.snapshot(), "seed {seed}");
            }
        }
    }

    #[test]
    fn guid_like_is_deterministic_and_distinct() {
        assert_eq!(guid_like(1, 7), guid_like(1, 7));
        assert_ne!(guid_like(1, 7), guid_like(1, 8));
    }
}
