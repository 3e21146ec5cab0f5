//! The model's state of one host: its pools, their parents and holdings, and which root pool
//! owns which host resource. Capacities and reserved amounts are *derived* from holdings,
//! never stored, so they cannot drift from what the pools hold.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::fxhash::{FxHashMap, IdCounts};

use serde::{Deserialize, Serialize};

use super::order::SlotSet;
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
    /// Its creation slot in the model: [`HostModel::insert`] sets it (whatever a new pool
    /// says), so that what is indexed per pool is found without looking its path up.
    #[serde(skip)]
    pub(crate) slot: usize,
}

/// The executable specification's view of one host.
///
/// Pools live in creation slots and are found through indexes (path, children of a parent,
/// PoolIDs per type, order statistics per type), so that resolving, judging and committing a
/// step costs the same on a host of ten pools as on one of a hundred thousand. Every change
/// marks the pools whose expected view it changes ([`HostModel::take_dirty`]).
#[derive(Clone, Debug)]
pub struct HostModel {
    pub dialect: Dialect,
    /// The profile's resource types (shared between the models of one profile:
    /// [`shared_types`]).
    pub types: Arc<[ResourceTypeProfile]>,
    /// Pools by creation slot; `None` once deleted.
    slots: Vec<Option<ModelPool>>,
    slot_of: FxHashMap<ObjectPath, usize>,
    /// Live slots: all, per type, and the concrete (not primordial) ones.
    live: SlotSet,
    live_of_type: Vec<SlotSet>,
    concrete: SlotSet,
    /// Per creation slot: what the pools holding something from that pool hold from it.
    /// Every holding names a live parent (a step that names a missing parent is refused,
    /// ID-002, and a pool with children is not deleted, DEL-001), so its slot is known.
    held: Vec<Held>,
    /// (type index, PoolID, "") → how many live pools of a profile's type carry it, in one
    /// map for all types (a key whose count drops to zero is kept, so that a pool that
    /// changes is indexed again without an allocation).
    ids: IdCounts,
    child_pools: usize,
    /// Pools whose expected view changed since the last [`HostModel::take_dirty`].
    dirty: BTreeSet<ObjectPath>,
    /// Host resource → the root pool that holds it.
    root_owner: BTreeMap<String, ObjectPath>,
    /// Host resources a root pool gave back (HOST-005 is exercised when one is reused).
    released: BTreeSet<String>,
}

/// What the children of one parent hold from it.
#[derive(Clone, Debug, Default)]
struct Held {
    /// The slots of the pools holding something from it, oldest first (an ordered set: a
    /// primordial pool may have any number of children, and inserting or removing one must not
    /// cost in proportion to them).
    children: BTreeSet<usize>,
    /// The sum of the quantities they hold (u128: exact, read saturated to u64 as the
    /// specification's sums are).
    quantity: u128,
}

/// Whether [`HostModel::index_contents`] enters a pool's contents or takes them out.
#[derive(Clone, Copy)]
enum Entry {
    Add,
    Remove,
}

/// Why the model could not start from an implementation's first snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartError(pub String);

impl HostModel {
    /// The model of a freshly reset host, taking the primordial pools' object paths from the
    /// implementation's first snapshot (paths are the implementation's choice).
    pub fn start(profile: &Profile, first: &Snapshot) -> Result<HostModel, StartError> {
        let mut model = HostModel {
            dialect: profile.dialect,
            types: shared_types(&profile.resource_types),
            slots: Vec::with_capacity(32),
            // Sized for a sequence's host (its primordial pools and a few dozen more) so that
            // the first steps do not grow them.
            slot_of: FxHashMap::with_capacity_and_hasher(32, Default::default()),
            live: SlotSet::default(),
            live_of_type: vec![SlotSet::default(); profile.resource_types.len()],
            concrete: SlotSet::default(),
            held: Vec::with_capacity(32),
            ids: IdCounts::default(),
            child_pools: 0,
            dirty: BTreeSet::new(),
            root_owner: BTreeMap::new(),
            released: BTreeSet::new(),
        };
        model.ids.reserve(32);
        for (type_idx, t) in profile.resource_types.iter().enumerate() {
            let of_type = |p: &&PoolView| {
                p.primordial
                    && p.resource_type == t.resource_type
                    && p.resource_subtype == t.resource_subtype
            };
            // Exactly one, found without collecting (the count is taken only to say why not).
            let mut found = first.pools.iter().filter(of_type);
            let (Some(view), None) = (found.next(), found.next()) else {
                return Err(StartError(format!(
                    "after reset the implementation reports {} primordial pools of type {} {:?}; the fixture has exactly one",
                    first.pools.iter().filter(of_type).count(),
                    t.resource_type,
                    t.resource_subtype
                )));
            };
            model.insert(ModelPool {
                path: view.path.clone(),
                pool_id: String::new(),
                element_name: view.element_name.clone(),
                type_idx,
                role: Role::Primordial,
                holdings: Vec::new(),
                own_resources: t.host_resources.clone(),
                slot: 0,
            });
        }
        Ok(model)
    }

    /// Live pools, in creation order.
    pub fn pools(&self) -> impl Iterator<Item = &ModelPool> + '_ {
        self.slots.iter().flatten()
    }

    /// How many pools are live.
    pub fn pool_count(&self) -> usize {
        self.live.len()
    }

    /// Whether any child pool exists.
    pub fn has_children(&self) -> bool {
        self.child_pools > 0
    }

    pub fn pool(&self, path: &ObjectPath) -> Option<&ModelPool> {
        self.slot_of
            .get(path)
            .and_then(|&slot| self.slots[slot].as_ref())
    }

    /// The creation slot of the live pool at `path`.
    pub(crate) fn slot(&self, path: &ObjectPath) -> Option<usize> {
        self.slot_of.get(path).copied()
    }

    /// The live pool in a creation slot.
    pub(crate) fn slot_pool(&self, slot: usize) -> Option<&ModelPool> {
        self.slots.get(slot).and_then(Option::as_ref)
    }

    /// The `k`-th newest live pool (0 = newest), counting every pool (`None` when there is
    /// none), or only the concrete ones.
    pub fn newest(&self, k: usize, concrete_only: bool) -> Option<&ModelPool> {
        let set = if concrete_only {
            &self.concrete
        } else {
            &self.live
        };
        set.newest(k).and_then(|slot| self.slot_pool(slot))
    }

    /// Live pools of one type, and whether there are any.
    pub fn count_of_type(&self, type_idx: usize) -> usize {
        self.live_of_type.get(type_idx).map_or(0, SlotSet::len)
    }

    pub fn count_concrete(&self) -> usize {
        self.concrete.len()
    }

    /// The `k`-th newest live pool of one type, skipping the pools in `skip` (few).
    pub fn newest_of_type(
        &self,
        type_idx: usize,
        k: usize,
        skip: &[ObjectPath],
    ) -> Option<&ModelPool> {
        let skip: Vec<usize> = skip.iter().filter_map(|p| self.slot(p)).collect();
        self.newest_slot_of_type(type_idx, k, &skip)
            .and_then(|slot| self.slot_pool(slot))
    }

    /// [`HostModel::newest_of_type`] by creation slots: the slot of the `k`-th newest live
    /// pool of one type, skipping the slots in `skip` (few; those not of the type count for
    /// nothing).
    pub(crate) fn newest_slot_of_type(
        &self,
        type_idx: usize,
        k: usize,
        skip: &[usize],
    ) -> Option<usize> {
        let set = self.live_of_type.get(type_idx)?;
        let mut skipped: Vec<usize> = skip
            .iter()
            .copied()
            .filter(|&slot| set.contains(slot))
            .map(|slot| set.rank_newest(slot))
            .collect();
        skipped.sort_unstable();
        skipped.dedup();
        let mut position = k;
        for rank in skipped {
            if rank <= position {
                position += 1;
            }
        }
        set.newest(position)
    }

    /// Whether a live pool of this type other than `except` carries this PoolID.
    pub fn pool_id_taken(
        &self,
        type_idx: usize,
        pool_id: &str,
        except: Option<&ObjectPath>,
    ) -> bool {
        let count = self.ids.get((type_idx as u64, pool_id, ""));
        let own = except
            .and_then(|p| self.pool(p))
            .is_some_and(|p| p.type_idx == type_idx && p.pool_id == pool_id);
        count > u32::from(own)
    }

    /// Index a pool that has just come to be: its path, its place in the order statistics,
    /// and then what it holds ([`HostModel::index_contents`]).
    fn index(&mut self, slot: usize) {
        // The pool is read in place (no copy of its keys); a key is cloned only when an index
        // does not hold it yet.
        let Some(pool) = self.slots.get(slot).and_then(Option::as_ref) else {
            return;
        };
        self.slot_of.insert(pool.path.clone(), slot);
        self.live.insert(slot);
        if let Some(set) = self.live_of_type.get_mut(pool.type_idx) {
            set.insert(slot);
        }
        if pool.role != Role::Primordial {
            self.concrete.insert(slot);
        }
        if pool.role == Role::Child {
            self.child_pools += 1;
        }
        self.index_contents(slot, Entry::Add);
    }

    /// Enter into the indexes (`Entry::Add`) or take out of them (`Entry::Remove`) what a pool
    /// carries and holds (its PoolID, its holdings); marks the pool and its parents dirty either
    /// way.
    fn index_contents(&mut self, slot: usize, entry: Entry) {
        let Some(pool) = self.slots.get(slot).and_then(Option::as_ref) else {
            return;
        };
        // Only pools of a profile's type are counted.
        if pool.type_idx < self.types.len() {
            let key = (pool.type_idx as u64, pool.pool_id.as_str(), "");
            match entry {
                Entry::Add => self.ids.increment(key),
                Entry::Remove => self.ids.decrement(key),
            };
        }
        for h in &pool.holdings {
            let parent = self.slot_of.get(&h.parent).copied();
            debug_assert!(parent.is_some(), "a holding names a live parent");
            if let Some(held) = parent.and_then(|parent| self.held.get_mut(parent)) {
                let quantity = u128::from(h.quantity);
                match entry {
                    Entry::Add => {
                        held.children.insert(slot);
                        held.quantity += quantity;
                    }
                    Entry::Remove => {
                        held.children.remove(&slot);
                        held.quantity = held
                            .quantity
                            .checked_sub(quantity)
                            .expect("a holding is unindexed as it was indexed");
                    }
                }
            }
            mark(&mut self.dirty, &h.parent);
        }
        mark(&mut self.dirty, &pool.path);
    }

    fn unindex(&mut self, slot: usize) {
        let Some(pool) = self.slots.get(slot).and_then(Option::as_ref) else {
            return;
        };
        self.slot_of.remove(&pool.path);
        self.live.remove(slot);
        if let Some(set) = self.live_of_type.get_mut(pool.type_idx) {
            set.remove(slot);
        }
        self.concrete.remove(slot);
        if pool.role == Role::Child {
            self.child_pools -= 1;
        }
        self.index_contents(slot, Entry::Remove);
    }

    /// Change what one pool carries or holds (not its path, type or role); the indexes and
    /// the dirty set follow.
    pub(crate) fn update<R>(
        &mut self,
        path: &ObjectPath,
        change: impl FnOnce(&mut ModelPool) -> R,
    ) -> Option<R> {
        let slot = *self.slot_of.get(path)?;
        self.index_contents(slot, Entry::Remove);
        let pool = self.slots[slot].as_mut()?;
        let (type_idx, role) = (pool.type_idx, pool.role);
        let result = change(pool);
        debug_assert!(
            pool.type_idx == type_idx
                && pool.role == role
                && self.slot_of.get(&pool.path) == Some(&slot),
            "an update changes what a pool carries or holds, never what it is"
        );
        self.index_contents(slot, Entry::Add);
        Some(result)
    }

    pub(crate) fn insert(&mut self, mut pool: ModelPool) {
        let slot = self.slots.len();
        pool.slot = slot;
        self.slots.push(Some(pool));
        self.held.push(Held::default());
        self.index(slot);
    }

    pub(crate) fn remove(&mut self, path: &ObjectPath) -> Option<ModelPool> {
        let slot = *self.slot_of.get(path)?;
        debug_assert!(
            self.held[slot].children.is_empty(),
            "a pool with children is not deleted (DEL-001)"
        );
        self.unindex(slot);
        self.slots[slot].take()
    }

    /// The pools whose expected view changed since the last call (created, changed, deleted,
    /// and the parents whose Reserved follows their children), in path order.
    pub fn take_dirty(&mut self) -> BTreeSet<ObjectPath> {
        std::mem::take(&mut self.dirty)
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

    /// The direct children of a pool: the pools holding something from it, oldest first.
    pub fn children<'a>(&'a self, path: &ObjectPath) -> impl Iterator<Item = &'a ModelPool> + 'a {
        self.slot(path)
            .into_iter()
            .flat_map(|slot| self.children_at(slot))
    }

    /// [`HostModel::children`] of a live pool, without looking its path up.
    pub fn children_of<'a>(&'a self, pool: &ModelPool) -> impl Iterator<Item = &'a ModelPool> + 'a {
        self.children_at(pool.slot)
    }

    /// [`HostModel::children`] of the pool in a creation slot.
    fn children_at(&self, slot: usize) -> impl Iterator<Item = &ModelPool> + '_ {
        self.held
            .get(slot)
            .into_iter()
            .flat_map(|held| held.children.iter())
            .filter_map(|&child| self.slot_pool(child))
    }

    /// What the children of `pool` hold from it: their holdings that name it, oldest child
    /// first.
    pub(crate) fn held_from<'a>(
        &'a self,
        pool: &'a ModelPool,
    ) -> impl Iterator<Item = &'a Holding> + 'a {
        self.children_at(pool.slot)
            .flat_map(|c| c.holdings.iter().filter(|h| h.parent == pool.path))
    }

    /// Whether `candidate` is `ancestor` or lies below it.
    pub fn is_descendant_or_self(&self, candidate: &ObjectPath, ancestor: &ObjectPath) -> bool {
        if candidate == ancestor {
            return true;
        }
        // Only live pools have children, and only they are children.
        let (Some(candidate), Some(ancestor)) = (self.slot(candidate), self.slot(ancestor)) else {
            return false;
        };
        let mut frontier = vec![ancestor];
        let mut seen = BTreeSet::new();
        while let Some(slot) = frontier.pop() {
            if slot == candidate {
                return true;
            }
            if !seen.insert(slot) {
                continue;
            }
            frontier.extend(self.children_at(slot).map(|c| c.slot));
        }
        false
    }

    /// Host resources a pool holds: its own (primordial, root) or the union of its holdings.
    pub fn resources(&self, pool: &ModelPool) -> Vec<String> {
        self.resource_refs(pool).into_iter().cloned().collect()
    }

    /// [`HostModel::resources`], borrowed: the same values in the same order.
    pub fn resource_refs<'a>(&self, pool: &'a ModelPool) -> Vec<&'a String> {
        match pool.role {
            Role::Primordial | Role::Root => pool.own_resources.iter().collect(),
            Role::Child => union_refs(pool.holdings.iter().flat_map(|h| h.resources.iter())),
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
            (_, Role::Primordial | Role::Root) => pool.own_resources.len() as u64,
            _ => self.resource_refs(pool).len() as u64,
        }
    }

    /// `Reserved` of a pool (CAP-002): for quantities the indexed sum of what its children
    /// hold from it (O(1)); for host resources, from its children's holdings.
    pub fn reserved(&self, pool: &ModelPool) -> u64 {
        let kind = self.kind(pool.type_idx);
        if kind == ResourceKind::Quantity {
            let sum = self.held.get(pool.slot).map_or(0, |held| held.quantity);
            return u64::try_from(sum).unwrap_or(u64::MAX);
        }
        let held: Vec<&String> = self
            .held_from(pool)
            .flat_map(|h| h.resources.iter())
            .collect();
        if held.is_empty() {
            return 0;
        }
        let covered = |own: &&String| held.iter().any(|h| covers(kind, own, h));
        match pool.role {
            // What `resource_refs` gives, without collecting it.
            Role::Primordial | Role::Root => {
                pool.own_resources.iter().filter(covered).count() as u64
            }
            Role::Child => self
                .resource_refs(pool)
                .iter()
                .copied()
                .filter(covered)
                .count() as u64,
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

    /// The expected view of one pool (normalised), `None` when the model has no such pool.
    /// Costs O(its holdings and children), whatever the size of the host.
    pub fn expected_view(&self, path: &ObjectPath) -> Option<PoolView> {
        let p = self.pool(path)?;
        let t = &self.types[p.type_idx.min(self.types.len().saturating_sub(1))];
        let mut view = PoolView {
            path: p.path.clone(),
            pool_id: p.pool_id.clone(),
            element_name: p.element_name.clone(),
            resource_type: t.resource_type,
            resource_subtype: t.resource_subtype.clone(),
            primordial: p.role == Role::Primordial,
            capacity: self.capacity(p),
            reserved: self.reserved(p),
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
        };
        normalize(std::slice::from_mut(&mut view));
        Some(view)
    }

    /// Whether the expected view of the pool at `path` is `seen`: the same answer as
    /// `self.expected_view(path).as_ref() == seen`, without building the view (the per-step
    /// comparison; the view is built only for a diff).
    pub fn view_matches(&self, path: &ObjectPath, seen: Option<&PoolView>) -> bool {
        let (p, seen) = match (self.pool(path), seen) {
            (None, None) => return true,
            (Some(p), Some(seen)) => (p, seen),
            _ => return false,
        };
        let t = &self.types[p.type_idx.min(self.types.len().saturating_sub(1))];
        if seen.path != p.path
            || seen.pool_id != p.pool_id
            || seen.element_name != p.element_name
            || seen.resource_type != t.resource_type
            || seen.resource_subtype != t.resource_subtype
            || seen.primordial != (p.role == Role::Primordial)
            || seen.allocations.len() != p.holdings.len()
            || seen.capacity != self.capacity(p)
            || seen.reserved != self.reserved(p)
        {
            return false;
        }
        let own_matches = match p.role {
            // `resource_refs` is the pool's own list: compared without collecting it.
            Role::Primordial | Role::Root => same_sorted(&p.own_resources, &seen.host_resources),
            Role::Child => {
                let mut own = self.resource_refs(p);
                own.sort();
                own.iter().copied().eq(seen.host_resources.iter())
            }
        };
        if !own_matches {
            return false;
        }
        // The expected allocations are the holdings sorted (stably) by parent.
        let matches = |h: &Holding, a: &ParentAllocation| {
            h.parent == a.parent
                && h.quantity == a.quantity
                && same_sorted(&h.resources, &a.host_resources)
        };
        if p.holdings.windows(2).all(|w| w[0].parent <= w[1].parent) {
            p.holdings
                .iter()
                .zip(&seen.allocations)
                .all(|(h, a)| matches(h, a))
        } else {
            let mut holdings: Vec<&Holding> = p.holdings.iter().collect();
            holdings.sort_by(|a, b| a.parent.cmp(&b.parent));
            holdings
                .iter()
                .zip(&seen.allocations)
                .all(|(h, a)| matches(h, a))
        }
    }

    /// The model's state in the shape of a snapshot, for comparison with the implementation's
    /// (O(pools · log pools)).
    pub fn expected_snapshot(&self) -> Snapshot {
        let mut pools: Vec<PoolView> = self
            .pools()
            .filter_map(|p| self.expected_view(&p.path))
            .collect();
        normalize(&mut pools);
        Snapshot { pools }
    }
}

/// Insert a path into the dirty set, cloning it only when it is not there yet.
fn mark(dirty: &mut BTreeSet<ObjectPath>, path: &ObjectPath) {
    if !dirty.contains(path) {
        dirty.insert(path.clone());
    }
}

/// The resource types of a profile, shared: a thread keeps the last ones it was given, and a
/// model started with equal types (every sequence of a run) shares them instead of copying
/// them (comparing costs no allocation; copying costs one per type and host resource).
fn shared_types(types: &[ResourceTypeProfile]) -> Arc<[ResourceTypeProfile]> {
    thread_local! {
        static LAST: RefCell<Option<Arc<[ResourceTypeProfile]>>> = const { RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match last.as_ref() {
            Some(shared) if shared[..] == *types => Arc::clone(shared),
            _ => Arc::clone(last.insert(Arc::from(types))),
        }
    })
}

/// Whether host resource `held` is covered by `own`: identity for named resources; for
/// storage paths, equal or under (`\`-separated: `own`, a `\` unless `own` already ends in
/// one, as a drive root `C:\` does, then at least one more character).
pub fn covers(kind: ResourceKind, own: &str, held: &str) -> bool {
    match kind {
        ResourceKind::Path => {
            held == own
                || held.strip_prefix(own).is_some_and(|rest| {
                    if own.ends_with('\\') {
                        !rest.is_empty()
                    } else {
                        rest.len() > 1 && rest.starts_with('\\')
                    }
                })
        }
        _ => own == held,
    }
}

/// Distinct values, in order of first appearance.
pub fn union<'a>(items: impl Iterator<Item = &'a String>) -> Vec<String> {
    union_refs(items).into_iter().cloned().collect()
}

/// [`union`], borrowed.
pub fn union_refs<'a>(items: impl Iterator<Item = &'a String>) -> Vec<&'a String> {
    let mut out: Vec<&String> = Vec::new();
    // A pool holds a few host resources: a linear search until there are many.
    let mut seen: Option<BTreeSet<&str>> = None;
    for item in items {
        let new = match &mut seen {
            Some(seen) => seen.insert(item.as_str()),
            None => !out.contains(&item),
        };
        if new {
            out.push(item);
            if seen.is_none() && out.len() > 32 {
                seen = Some(out.iter().map(|s| s.as_str()).collect());
            }
        }
    }
    out
}

/// Whether `sorted` equals `unsorted` once that is sorted (copied only when it is not).
fn same_sorted(unsorted: &[String], sorted: &[String]) -> bool {
    if unsorted.len() != sorted.len() {
        return false;
    }
    if unsorted.windows(2).all(|w| w[0] <= w[1]) {
        return unsorted == sorted;
    }
    let mut copy: Vec<&String> = unsorted.iter().collect();
    copy.sort();
    copy.iter().copied().eq(sorted.iter())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A model of the reference Msvm host, with its primordial pools only.
    fn started() -> HostModel {
        let profile = Profile::built_in("reference-msvm");
        let pools = profile
            .resource_types
            .iter()
            .enumerate()
            .map(|(i, t)| PoolView {
                path: ObjectPath::new(format!("primordial-{i}")),
                pool_id: String::new(),
                element_name: format!("Primordial {i}"),
                resource_type: t.resource_type,
                resource_subtype: t.resource_subtype.clone(),
                primordial: true,
                capacity: 0,
                reserved: 0,
                host_resources: Vec::new(),
                allocations: Vec::new(),
            })
            .collect();
        HostModel::start(&profile, &Snapshot { pools }).expect("starts")
    }

    fn child(model: &HostModel, name: &str, holdings: &[(&ObjectPath, u64)]) -> ModelPool {
        let parent = model.pool(holdings[0].0).expect("a live parent");
        ModelPool {
            path: ObjectPath::new(name),
            pool_id: name.to_string(),
            element_name: name.to_string(),
            type_idx: parent.type_idx,
            role: Role::Child,
            holdings: holdings
                .iter()
                .map(|&(parent, quantity)| Holding {
                    parent: parent.clone(),
                    quantity,
                    resources: Vec::new(),
                })
                .collect(),
            own_resources: Vec::new(),
            slot: usize::MAX,
        }
    }

    fn children(model: &HostModel, path: &ObjectPath) -> Vec<String> {
        let by_path: Vec<String> = model.children(path).map(|c| c.pool_id.clone()).collect();
        let pool = model.pool(path).expect("live");
        let by_pool: Vec<String> = model.children_of(pool).map(|c| c.pool_id.clone()).collect();
        assert_eq!(by_path, by_pool);
        by_path
    }

    /// Models of equal profiles share one copy of the resource types; other types are
    /// copied, and each model's types equal its profile's.
    #[test]
    fn models_share_equal_resource_types() {
        let msvm = Profile::built_in("reference-msvm");
        let first = shared_types(&msvm.resource_types);
        let again = shared_types(&msvm.resource_types.clone());
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(first[..], msvm.resource_types[..]);
        let mut other = msvm.resource_types.clone();
        other[0].capacity += 1;
        let changed = shared_types(&other);
        assert!(!Arc::ptr_eq(&first, &changed));
        assert_eq!(changed[..], other[..]);
        assert_eq!(started().types[..], msvm.resource_types[..]);
    }

    /// PoolIDs are counted per type: taken by another pool of the type, not by the pool
    /// itself nor by a pool of another type, and free again once the pool is deleted.
    #[test]
    fn pool_ids_are_counted_per_type() {
        let mut model = started();
        let parent = model
            .pools()
            .next()
            .map(|p| p.path.clone())
            .expect("a pool");
        let type_idx = model.pool(&parent).expect("live").type_idx;
        let other_type = (type_idx + 1) % model.types.len();
        model.insert(child(&model, "a", &[(&parent, 1)]));
        let a = ObjectPath::new("a");
        assert!(model.pool_id_taken(type_idx, "a", None));
        assert!(!model.pool_id_taken(type_idx, "a", Some(&a)));
        assert!(!model.pool_id_taken(other_type, "a", None));
        model.update(&a, |pool| pool.pool_id = "b".to_string());
        assert!(!model.pool_id_taken(type_idx, "a", None));
        assert!(model.pool_id_taken(type_idx, "b", None));
        assert!(model.remove(&a).is_some());
        assert!(!model.pool_id_taken(type_idx, "b", None));
    }

    /// Children and Reserved are indexed by the parent's slot: they follow creations, changes
    /// of parents and deletions, oldest child first, and a pool keeps its slot.
    #[test]
    fn children_and_reserved_follow_holdings_by_parent_slot() {
        let mut model = started();
        let quantity = (0..model.types.len())
            .find(|&i| model.kind(i) == ResourceKind::Quantity)
            .expect("a quantity type");
        let root = model
            .pools()
            .find(|p| p.type_idx == quantity)
            .map(|p| p.path.clone())
            .expect("its primordial pool");
        let reserved =
            |model: &HostModel, path: &ObjectPath| model.reserved(model.pool(path).expect("live"));

        model.insert(child(&model, "a", &[(&root, 5)]));
        let a = ObjectPath::new("a");
        model.insert(child(&model, "b", &[(&root, 3)]));
        let b = ObjectPath::new("b");
        model.insert(child(&model, "c", &[(&a, 2)]));
        let c = ObjectPath::new("c");
        for pool in model.pools() {
            assert_eq!(model.slot(&pool.path), Some(pool.slot));
        }
        assert_eq!(children(&model, &root), ["a", "b"]);
        assert_eq!(children(&model, &a), ["c"]);
        assert_eq!(reserved(&model, &root), 8);
        assert_eq!(reserved(&model, &a), 2);
        assert!(model.is_descendant_or_self(&c, &root));
        assert!(!model.is_descendant_or_self(&root, &c));

        // `a` moves to `b` and the primordial pool, then `c` is deleted and `a` moved back.
        let moved = child(&model, "a", &[(&b, 1), (&root, 4)]).holdings;
        model.update(&a, |pool| pool.holdings = moved);
        assert_eq!(children(&model, &root), ["a", "b"]);
        assert_eq!(children(&model, &b), ["a"]);
        assert_eq!(reserved(&model, &root), 7);
        assert_eq!(reserved(&model, &b), 1);
        assert!(model.is_descendant_or_self(&c, &b));
        assert!(model.remove(&c).is_some());
        assert!(children(&model, &a).is_empty());
        assert_eq!(reserved(&model, &a), 0);
        let back = child(&model, "a", &[(&root, 5)]).holdings;
        model.update(&a, |pool| pool.holdings = back);
        assert!(children(&model, &b).is_empty());
        assert_eq!(reserved(&model, &b), 0);
        assert_eq!(reserved(&model, &root), 8);
        assert!(!model.is_descendant_or_self(&a, &b));
        model.insert(child(&model, "d", &[(&b, 1)]));
        assert_eq!(children(&model, &b), ["d"]);
        assert!(model.take_dirty().contains(&c));
    }
}
