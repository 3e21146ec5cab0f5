//! The implementation's host as last observed: the pools of its snapshots, kept up to date
//! from full snapshots or from [`SnapshotDelta`]s, and indexed (children of a parent, PoolIDs
//! per type, primordial pools per type) so that the invariants of the pools a step touched can
//! be checked without looking at the others.
//!
//! It holds only what an implementation reported, on the wire's own types; it knows nothing of
//! the model's state, of how the views were obtained, or of any implementation.

use std::collections::BTreeSet;

use super::fxhash::{FxHashMap, FxHashSet, IdCounts, IdKey};

use crate::sut::{ObjectPath, PoolView, Snapshot, SnapshotDelta};

/// The observed host.
#[derive(Clone, Debug, Default)]
pub struct ObservedHost {
    pools: FxHashMap<ObjectPath, PoolView>,
    index: Indexes,
}

/// What the observed host's pools are indexed by, kept apart from the pools so that a pool can
/// be re-indexed while it is held in place.
#[derive(Clone, Debug, Default)]
struct Indexes {
    /// Parent path → the pools holding an allocation from it.
    children: FxHashMap<ObjectPath, BTreeSet<ObjectPath>>,
    /// Parent path → the sum of the quantities the pools holding from it report.
    held_quantity: FxHashMap<ObjectPath, u128>,
    /// (ResourceType, ResourceSubType, PoolID) → how many pools carry it.
    ids: IdCounts,
    /// How many of those are carried by more than one pool.
    shared_ids: usize,
    /// (ResourceType, ResourceSubType, "") → its primordial pools.
    primordial: FxHashMap<IdKey, BTreeSet<ObjectPath>>,
}

/// What one update changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// Pools created, changed or removed, in path order.
    pub touched: BTreeSet<ObjectPath>,
    /// The other pools whose invariants may have changed: the parents of the touched ones
    /// before and after, and the children of a pool whose type or host resources changed or
    /// that was removed. Some may be touched as well; [`Update::affected`] has each once.
    pub also_affected: BTreeSet<ObjectPath>,
    /// Paths the implementation reported more than once in one answer (each a failure: two
    /// pools cannot share an object path).
    pub duplicates: Vec<ObjectPath>,
    /// Whether a primordial pool was among the touched ones (before or after): PRIM-001 is
    /// checked again only then.
    pub primordial_touched: bool,
}

impl Update {
    /// The pools whose invariants may have changed, in path order, each once: the touched ones
    /// and [`Update::also_affected`].
    pub fn affected(&self) -> impl Iterator<Item = &ObjectPath> {
        self.touched.union(&self.also_affected)
    }

    /// Fold a later update into this one.
    pub fn absorb(&mut self, mut later: Update) {
        self.touched.append(&mut later.touched);
        self.also_affected.append(&mut later.also_affected);
        self.duplicates.append(&mut later.duplicates);
        self.primordial_touched |= later.primordial_touched;
    }
}

impl ObservedHost {
    pub fn from_snapshot(snapshot: Snapshot) -> ObservedHost {
        let mut host = ObservedHost::default();
        host.replace(snapshot);
        host
    }

    pub fn len(&self) -> usize {
        self.pools.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pools.is_empty()
    }

    pub fn pool(&self, path: &ObjectPath) -> Option<&PoolView> {
        self.pools.get(path)
    }

    /// Every pool, in path order.
    pub fn pools_sorted(&self) -> Vec<&PoolView> {
        let mut pools: Vec<&PoolView> = self.pools.values().collect();
        pools.sort_by(|a, b| a.path.cmp(&b.path));
        pools
    }

    /// The observed host as a (normalised) snapshot.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            pools: self.pools_sorted().into_iter().cloned().collect(),
        }
    }

    /// The pools holding an allocation from `parent`, in path order.
    pub fn children_of<'a>(&'a self, parent: &ObjectPath) -> impl Iterator<Item = &'a PoolView> {
        self.index
            .children
            .get(parent)
            .into_iter()
            .flatten()
            .filter_map(|c| self.pools.get(c))
    }

    /// The sum of the quantities held from `parent`, saturated to u64 (O(1)).
    pub fn held_quantity(&self, parent: &ObjectPath) -> u64 {
        let sum = self.index.held_quantity.get(parent).copied().unwrap_or(0);
        u64::try_from(sum).unwrap_or(u64::MAX)
    }

    /// How many pools carry this (type, subtype, PoolID).
    pub fn id_count(&self, pool: &PoolView) -> u32 {
        self.index.ids.get(id_key(pool))
    }

    /// Whether any (type, subtype, PoolID) is carried by more than one pool (O(1)).
    pub fn shares_a_pool_id(&self) -> bool {
        self.index.shared_ids > 0
    }

    /// The primordial pools of one type, in path order.
    pub fn primordial_of(&self, resource_type: u16, subtype: &str) -> Vec<&PoolView> {
        self.primordial_iter(resource_type, subtype).collect()
    }

    /// [`ObservedHost::primordial_of`], without collecting.
    pub fn primordial_iter<'a>(
        &'a self,
        resource_type: u16,
        subtype: &str,
    ) -> impl Iterator<Item = &'a PoolView> + 'a {
        self.index
            .primordial
            .get(IdKey::find(&(u64::from(resource_type), subtype, "")))
            .into_iter()
            .flatten()
            .filter_map(|p| self.pools.get(p))
    }

    /// Take a full snapshot as the new state. O(pools).
    pub fn replace(&mut self, snapshot: Snapshot) -> Update {
        let mut update = Update {
            duplicates: duplicate_paths(&snapshot.pools),
            ..Update::default()
        };
        // Nothing can be gone from an empty host (the first snapshot of every sequence), which
        // is sized for the snapshot at once.
        let gone: Vec<ObjectPath> = if self.pools.is_empty() {
            self.pools.reserve(snapshot.pools.len());
            self.index.reserve(snapshot.pools.len());
            Vec::new()
        } else {
            let reported: FxHashSet<&ObjectPath> =
                snapshot.pools.iter().map(|view| &view.path).collect();
            self.pools
                .keys()
                .filter(|path| !reported.contains(path))
                .cloned()
                .collect()
        };
        for mut view in snapshot.pools {
            normalize_view(&mut view);
            self.upsert(view, &mut update);
        }
        for path in gone {
            self.delete(&path, &mut update);
        }
        update
    }

    /// Apply what an implementation reported changed. O(size of the delta).
    pub fn apply(&mut self, delta: SnapshotDelta) -> Update {
        let mut update = Update {
            duplicates: duplicate_paths(&delta.changed),
            ..Update::default()
        };
        for path in &delta.removed {
            if !delta.changed.iter().any(|v| &v.path == path) {
                self.delete(path, &mut update);
            }
        }
        for mut view in delta.changed {
            normalize_view(&mut view);
            self.upsert(view, &mut update);
        }
        update
    }

    fn upsert(&mut self, view: PoolView, update: &mut Update) {
        let Some(old) = self.pools.get_mut(&view.path) else {
            // A new pool: its parents and any pools already holding from its path are affected.
            update.primordial_touched |= view.primordial;
            update.affect(view.allocations.iter().map(|a| &a.parent));
            if let Some(children) = self.index.children.get(&view.path) {
                update.affect(children.iter());
            }
            self.index.add(&view);
            update.touch(&view.path);
            self.pools.insert(view.path.clone(), view);
            return;
        };
        if *old == view {
            return;
        }
        // The view is replaced where it is (the map's key kept, found once); what the update
        // says is what a removal and re-insertion would say.
        update.primordial_touched |= old.primordial || view.primordial;
        update.affect(old.allocations.iter().map(|a| &a.parent));
        if !same_index_entries(old, &view) {
            self.index.remove(old);
            self.index.add(&view);
            update.affect(view.allocations.iter().map(|a| &a.parent));
        }
        let structural = old.resource_type != view.resource_type
            || old.resource_subtype != view.resource_subtype
            || old.host_resources != view.host_resources;
        if structural {
            if let Some(children) = self.index.children.get(&old.path) {
                update.affect(children.iter());
            }
        }
        update.touch(&old.path);
        *old = view;
    }

    fn delete(&mut self, path: &ObjectPath, update: &mut Update) {
        let Some(old) = self.pools.remove(path) else {
            return;
        };
        self.index.remove(&old);
        update.primordial_touched |= old.primordial;
        update.affect(old.allocations.iter().map(|a| &a.parent));
        if let Some(children) = self.index.children.get(path) {
            update.affect(children.iter());
        }
        update.touch(path);
    }
}

impl Indexes {
    /// Make room for the entries of `pools` more pools (a sizing hint: the parents of a
    /// snapshot's pools are among them, and their PoolIDs mostly distinct).
    fn reserve(&mut self, pools: usize) {
        self.children.reserve(pools);
        self.held_quantity.reserve(pools);
        self.ids.reserve(pools);
    }

    /// Index a pool's view.
    fn add(&mut self, view: &PoolView) {
        for allocation in &view.allocations {
            // Keys are cloned only when they first appear.
            match self.children.get_mut(&allocation.parent) {
                Some(set) => {
                    if !set.contains(&view.path) {
                        set.insert(view.path.clone());
                    }
                }
                None => {
                    self.children.insert(
                        allocation.parent.clone(),
                        BTreeSet::from([view.path.clone()]),
                    );
                }
            }
            match self.held_quantity.get_mut(&allocation.parent) {
                Some(sum) => *sum += u128::from(allocation.quantity),
                None => {
                    self.held_quantity
                        .insert(allocation.parent.clone(), u128::from(allocation.quantity));
                }
            }
        }
        if self.ids.increment(id_key(view)) == 2 {
            self.shared_ids += 1;
        }
        if view.primordial {
            let key = (
                u64::from(view.resource_type),
                view.resource_subtype.as_str(),
                "",
            );
            match self.primordial.get_mut(IdKey::find(&key)) {
                Some(set) => {
                    set.insert(view.path.clone());
                }
                None => {
                    self.primordial.insert(
                        IdKey::new(key.0, key.1, key.2),
                        BTreeSet::from([view.path.clone()]),
                    );
                }
            }
        }
    }

    /// Remove a pool's view from the indexes.
    fn remove(&mut self, old: &PoolView) {
        let path = &old.path;
        for allocation in &old.allocations {
            if let Some(set) = self.children.get_mut(&allocation.parent) {
                set.remove(path);
                if set.is_empty() {
                    self.children.remove(&allocation.parent);
                }
            }
            if let Some(sum) = self.held_quantity.get_mut(&allocation.parent) {
                *sum -= u128::from(allocation.quantity);
                if *sum == 0 && !self.children.contains_key(&allocation.parent) {
                    self.held_quantity.remove(&allocation.parent);
                }
            }
        }
        if self.ids.decrement(id_key(old)) == 1 {
            self.shared_ids -= 1;
        }
        if old.primordial {
            let key = (
                u64::from(old.resource_type),
                old.resource_subtype.as_str(),
                "",
            );
            if let Some(set) = self.primordial.get_mut(IdKey::find(&key)) {
                set.remove(path);
                if set.is_empty() {
                    self.primordial.remove(IdKey::find(&key));
                }
            }
        }
    }
}

/// Whether two views of one pool put the same entries in every index (`children`,
/// `held_quantity`, `ids`, `primordial`), so that replacing one by the other leaves them as
/// they are.
fn same_index_entries(old: &PoolView, new: &PoolView) -> bool {
    old.resource_type == new.resource_type
        && old.primordial == new.primordial
        && old.resource_subtype == new.resource_subtype
        && old.pool_id == new.pool_id
        && old.allocations == new.allocations
}

impl Update {
    /// Record a pool as touched.
    fn touch(&mut self, path: &ObjectPath) {
        add(&mut self.touched, path);
    }

    /// Record pools as affected (those touched already need not be).
    fn affect<'a>(&mut self, paths: impl Iterator<Item = &'a ObjectPath>) {
        for path in paths {
            if !self.touched.contains(path) {
                add(&mut self.also_affected, path);
            }
        }
    }
}

/// Insert a path into a set, cloning it only when it is not there yet.
fn add(set: &mut BTreeSet<ObjectPath>, path: &ObjectPath) {
    if !set.contains(path) {
        set.insert(path.clone());
    }
}

/// The key of a pool's PoolID in [`ObservedHost::ids`].
fn id_key(pool: &PoolView) -> (u64, &str, &str) {
    (
        u64::from(pool.resource_type),
        &pool.resource_subtype,
        &pool.pool_id,
    )
}

/// The paths reported more than once, once for every repetition, in the order reported.
fn duplicate_paths(views: &[PoolView]) -> Vec<ObjectPath> {
    if views.len() <= 8 {
        // A change report is mostly a few views: no set for those.
        return views
            .iter()
            .enumerate()
            .filter(|(i, view)| views[..*i].iter().any(|v| v.path == view.path))
            .map(|(_, view)| view.path.clone())
            .collect();
    }
    let mut seen: FxHashSet<&ObjectPath> = FxHashSet::default();
    views
        .iter()
        .filter(|view| !seen.insert(&view.path))
        .map(|view| view.path.clone())
        .collect()
}

/// Sort a view's host resources and allocations, so that equal hosts compare equal.
pub fn normalize_view(pool: &mut PoolView) {
    pool.host_resources.sort();
    pool.allocations.sort_by(|a, b| a.parent.cmp(&b.parent));
    for allocation in &mut pool.allocations {
        allocation.host_resources.sort();
    }
}
