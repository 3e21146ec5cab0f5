//! The implementation's host as last observed: the pools of its snapshots, kept up to date
//! from full snapshots or from [`SnapshotDelta`]s, and indexed (children of a parent, PoolIDs
//! per type, primordial pools per type) so that the invariants of the pools a step touched can
//! be checked without looking at the others.
//!
//! Pools live in slots, found by path through one map. The indexes keep slot numbers rather
//! than paths: a parent's path is a key (a parent need not be a pool), but the pools holding
//! from it and the primordial pools of a type are slots, so that updating the indexes clones
//! no path but that of a parent seen for the first time. A slot freed by a removal is taken by
//! the next new pool, so slot numbers say nothing of age or order: what is returned in path
//! order is ordered by the pools' paths (a type's primordial pools are kept so; children are
//! sorted when asked for).
//!
//! It holds only what an implementation reported, on the wire's own types; it knows nothing of
//! the model's state, of how the views were obtained, or of any implementation.

use std::collections::BTreeSet;

use super::fxhash::{FxHashMap, FxHashSet, IdCounts};

use crate::sut::{ObjectPath, PoolView, Snapshot, SnapshotDelta};

/// How many PoolID keys [`ObservedHost::clear`] keeps for the next host (each sequence meets
/// mostly the keys of the one before).
const KEPT_ID_KEYS: usize = 256;

/// The observed host.
#[derive(Clone, Debug, Default)]
pub struct ObservedHost {
    /// Pools by slot; `None` for a slot freed by a removal and not taken again yet.
    slots: Vec<Option<PoolView>>,
    /// Path → slot of every pool.
    slot_of: FxHashMap<ObjectPath, usize>,
    /// The free slots, taken last freed first.
    free: Vec<usize>,
    index: Indexes,
}

/// What the observed host's pools are indexed by, kept apart from the pools so that a pool can
/// be re-indexed while it is held in place.
#[derive(Clone, Debug, Default)]
struct Indexes {
    /// Parent path → the pools holding an allocation from it (which need not exist itself).
    held: FxHashMap<ObjectPath, Holders>,
    /// (ResourceType, ResourceSubType, PoolID) → how many pools carry it.
    ids: IdCounts,
    /// How many of those are carried by more than one pool.
    shared_ids: usize,
    /// ResourceType → its subtypes with primordial pools (a type has few), each with the slots
    /// of those pools in path order.
    primordial: FxHashMap<u16, Vec<(String, Vec<usize>)>>,
}

/// The pools holding an allocation from one parent.
#[derive(Clone, Debug, Default)]
struct Holders {
    /// Their slots.
    children: BTreeSet<usize>,
    /// The sum of the quantities they report holding from it.
    quantity: u128,
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

    /// Forget every pool, keeping the maps' memory (and up to [`KEPT_ID_KEYS`] PoolID keys)
    /// for the next host: what a runner does between sequences. Afterwards the host answers
    /// every question as `ObservedHost::default()` does.
    pub fn clear(&mut self) {
        self.slots.clear();
        self.slot_of.clear();
        self.free.clear();
        let index = &mut self.index;
        index.held.clear();
        index.ids.reset(KEPT_ID_KEYS);
        index.shared_ids = 0;
        index.primordial.clear();
    }

    pub fn len(&self) -> usize {
        self.slot_of.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slot_of.is_empty()
    }

    pub fn pool(&self, path: &ObjectPath) -> Option<&PoolView> {
        self.slot_of.get(path).and_then(|&slot| self.at(slot))
    }

    /// The pool in a slot.
    fn at(&self, slot: usize) -> Option<&PoolView> {
        self.slots.get(slot).and_then(Option::as_ref)
    }

    /// Every pool, in path order.
    pub fn pools_sorted(&self) -> Vec<&PoolView> {
        let mut pools: Vec<&PoolView> = self.slots.iter().flatten().collect();
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
        let mut children: Vec<&PoolView> = self.holders_of(parent).collect();
        children.sort_by(|a, b| a.path.cmp(&b.path));
        children.into_iter()
    }

    /// The pools holding an allocation from `parent`, in no particular order (that of their
    /// slots): [`ObservedHost::children_of`] without sorting, for what does not depend on the
    /// order.
    pub(crate) fn holders_of<'a>(
        &'a self,
        parent: &ObjectPath,
    ) -> impl Iterator<Item = &'a PoolView> + 'a {
        self.index
            .held
            .get(parent)
            .into_iter()
            .flat_map(|holders| &holders.children)
            .filter_map(|&slot| self.at(slot))
    }

    /// The sum of the quantities held from `parent`, saturated to u64 (O(1)).
    pub fn held_quantity(&self, parent: &ObjectPath) -> u64 {
        let sum = self.index.held.get(parent).map_or(0, |h| h.quantity);
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
            .primordial_slots(resource_type, subtype)
            .iter()
            .filter_map(|&slot| self.at(slot))
    }

    /// Whether `snapshot` shows exactly this host: as many pools, each path once, each view
    /// (normalised here, in place) equal to the one held. When it does, [`ObservedHost::replace`]
    /// with it would change nothing and report nothing. O(pools), no allocation but a mark
    /// per slot.
    pub fn agrees_with(&self, snapshot: &mut Snapshot) -> bool {
        if snapshot.pools.len() != self.len() {
            return false;
        }
        let mut seen = vec![false; self.slots.len()];
        snapshot.pools.iter_mut().all(|view| {
            normalize_view(view);
            match self.slot_of.get(&view.path) {
                Some(&slot) if !seen[slot] && self.at(slot) == Some(view) => {
                    seen[slot] = true;
                    true
                }
                _ => false,
            }
        })
    }

    /// Take a full snapshot as the new state. O(pools).
    pub fn replace(&mut self, snapshot: Snapshot) -> Update {
        let mut update = Update {
            duplicates: duplicate_paths(&snapshot.pools),
            ..Update::default()
        };
        // Nothing can be gone from an empty host (the first snapshot of every sequence), which
        // is sized for the snapshot at once.
        let gone: Vec<ObjectPath> = if self.is_empty() {
            self.slots.reserve(snapshot.pools.len());
            self.slot_of.reserve(snapshot.pools.len());
            self.index.reserve(snapshot.pools.len());
            Vec::new()
        } else {
            let reported: FxHashSet<&ObjectPath> =
                snapshot.pools.iter().map(|view| &view.path).collect();
            // In path order, so that the slots freed (and taken again) do not follow the map's
            // hash order, which a recycled mirror carries over from its last sequence.
            let mut gone: Vec<ObjectPath> = self
                .slot_of
                .keys()
                .filter(|path| !reported.contains(path))
                .cloned()
                .collect();
            gone.sort_unstable();
            gone
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
        let Some(&slot) = self.slot_of.get(&view.path) else {
            self.insert(view, update);
            return;
        };
        let Some(old) = self.slots[slot].as_ref() else {
            return;
        };
        if *old == view {
            return;
        }
        // The view is replaced in its slot; what the update says is what a removal and
        // re-insertion would say.
        update.primordial_touched |= old.primordial || view.primordial;
        update.affect(old.allocations.iter().map(|a| &a.parent));
        if !same_index_entries(old, &view) {
            self.index.remove(slot, old);
            self.index.add(slot, &view, &self.slots);
            update.affect(view.allocations.iter().map(|a| &a.parent));
        }
        let structural = old.resource_type != view.resource_type
            || old.resource_subtype != view.resource_subtype
            || old.host_resources != view.host_resources;
        if structural {
            update.affect(self.holder_paths(&old.path));
        }
        update.touch(&old.path);
        self.slots[slot] = Some(view);
    }

    /// Add a new pool, in a free slot if there is one.
    fn insert(&mut self, view: PoolView, update: &mut Update) {
        // Its parents and any pools already holding from its path are affected.
        update.primordial_touched |= view.primordial;
        update.affect(view.allocations.iter().map(|a| &a.parent));
        update.affect(self.holder_paths(&view.path));
        update.touch(&view.path);
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        self.index.add(slot, &view, &self.slots);
        self.slot_of.insert(view.path.clone(), slot);
        self.slots[slot] = Some(view);
    }

    fn delete(&mut self, path: &ObjectPath, update: &mut Update) {
        let Some(slot) = self.slot_of.remove(path) else {
            return;
        };
        let Some(old) = self.slots[slot].take() else {
            return;
        };
        self.free.push(slot);
        self.index.remove(slot, &old);
        update.primordial_touched |= old.primordial;
        update.affect(old.allocations.iter().map(|a| &a.parent));
        update.affect(self.holder_paths(path));
        update.touch(path);
    }

    /// The paths of the pools holding an allocation from `parent`, in no particular order.
    fn holder_paths<'a>(&'a self, parent: &ObjectPath) -> impl Iterator<Item = &'a ObjectPath> {
        self.holders_of(parent).map(|child| &child.path)
    }
}

impl Indexes {
    /// Make room for the entries of `pools` more pools (a sizing hint: the parents of a
    /// snapshot's pools are among them, and their PoolIDs mostly distinct).
    fn reserve(&mut self, pools: usize) {
        self.held.reserve(pools);
        self.ids.reserve(pools);
    }

    /// The slots of the primordial pools of one type, in path order.
    fn primordial_slots(&self, resource_type: u16, subtype: &str) -> &[usize] {
        self.primordial
            .get(&resource_type)
            .and_then(|subtypes| subtypes.iter().find(|(s, _)| s == subtype))
            .map_or(&[], |(_, slots)| slots.as_slice())
    }

    /// Index the view of the pool in `slot`; `slots` holds the other pools (whose paths order
    /// the primordial pools of a type).
    fn add(&mut self, slot: usize, view: &PoolView, slots: &[Option<PoolView>]) {
        for allocation in &view.allocations {
            // The parent's path is cloned only when it first appears.
            let holders = match self.held.get_mut(&allocation.parent) {
                Some(holders) => holders,
                None => self.held.entry(allocation.parent.clone()).or_default(),
            };
            holders.children.insert(slot);
            holders.quantity += u128::from(allocation.quantity);
        }
        if self.ids.increment(id_key(view)) == 2 {
            self.shared_ids += 1;
        }
        if view.primordial {
            let subtypes = self.primordial.entry(view.resource_type).or_default();
            let of_type = match subtypes
                .iter()
                .position(|(s, _)| *s == view.resource_subtype)
            {
                Some(i) => &mut subtypes[i].1,
                None => {
                    subtypes.push((view.resource_subtype.clone(), Vec::new()));
                    &mut subtypes.last_mut().expect("just pushed").1
                }
            };
            let path_of = |s: usize| slots.get(s).and_then(Option::as_ref).map(|p| &p.path);
            if let Err(at) = of_type.binary_search_by(|&s| path_of(s).cmp(&Some(&view.path))) {
                of_type.insert(at, slot);
            }
        }
    }

    /// Remove the view of the pool in `slot` from the indexes.
    fn remove(&mut self, slot: usize, old: &PoolView) {
        for allocation in &old.allocations {
            if let Some(holders) = self.held.get_mut(&allocation.parent) {
                holders.children.remove(&slot);
                holders.quantity = holders
                    .quantity
                    .checked_sub(u128::from(allocation.quantity))
                    .expect("an allocation is unindexed as it was indexed");
                if holders.children.is_empty() {
                    self.held.remove(&allocation.parent);
                }
            }
        }
        if self.ids.decrement(id_key(old)) == 1 {
            self.shared_ids -= 1;
        }
        if old.primordial {
            if let Some(subtypes) = self.primordial.get_mut(&old.resource_type) {
                if let Some(i) = subtypes
                    .iter()
                    .position(|(s, _)| *s == old.resource_subtype)
                {
                    subtypes[i].1.retain(|&s| s != slot);
                    if subtypes[i].1.is_empty() {
                        subtypes.swap_remove(i);
                    }
                }
                if subtypes.is_empty() {
                    self.primordial.remove(&old.resource_type);
                }
            }
        }
    }
}

/// Whether two views of one pool put the same entries in every index (`held`, `ids`,
/// `primordial`), so that replacing one by the other leaves them as
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sut::ParentAllocation;

    fn path(name: &str) -> ObjectPath {
        ObjectPath(format!(
            r#"\\HOST\root\virtualization\v2:Msvm_ResourcePool.InstanceID="{name}""#
        ))
    }

    /// A pool of type 4 ("memory") holding `quantity` from each parent.
    fn pool(name: &str, parents: &[&str], quantity: u64) -> PoolView {
        PoolView {
            path: path(name),
            pool_id: name.to_string(),
            element_name: name.to_string(),
            resource_type: 4,
            resource_subtype: "memory".to_string(),
            primordial: false,
            capacity: quantity * parents.len() as u64,
            reserved: 0,
            host_resources: Vec::new(),
            allocations: parents
                .iter()
                .map(|p| ParentAllocation {
                    parent: path(p),
                    quantity,
                    host_resources: Vec::new(),
                })
                .collect(),
        }
    }

    fn primordial(name: &str) -> PoolView {
        PoolView {
            pool_id: String::new(),
            primordial: true,
            ..pool(name, &[], 0)
        }
    }

    fn paths<'a>(pools: impl Iterator<Item = &'a PoolView>) -> Vec<&'a str> {
        pools.map(|p| p.path.0.as_str()).collect()
    }

    /// Every query gives the same answer on `host` as on a host built afresh from its
    /// snapshot, for the pools in `names` (present or not).
    fn assert_indexed_afresh(host: &ObservedHost, names: &[&str]) {
        let fresh = ObservedHost::from_snapshot(host.snapshot());
        assert_eq!(host.len(), fresh.len());
        assert_eq!(host.shares_a_pool_id(), fresh.shares_a_pool_id());
        assert_eq!(
            paths(host.primordial_iter(4, "memory")),
            paths(fresh.primordial_iter(4, "memory"))
        );
        for name in names {
            let p = path(name);
            assert_eq!(host.pool(&p), fresh.pool(&p), "{name}");
            assert_eq!(
                paths(host.children_of(&p)),
                paths(fresh.children_of(&p)),
                "{name}"
            );
            assert_eq!(host.held_quantity(&p), fresh.held_quantity(&p), "{name}");
            if let Some(view) = host.pool(&p) {
                assert_eq!(host.id_count(view), fresh.id_count(view), "{name}");
            }
        }
    }

    #[test]
    fn a_freed_slot_is_taken_by_the_next_new_pool_and_indexed_as_it() {
        let mut host = ObservedHost::from_snapshot(Snapshot {
            pools: vec![
                primordial("root"),
                pool("b", &["root"], 2),
                pool("c", &["root"], 3),
            ],
        });
        let update = host.apply(SnapshotDelta {
            changed: Vec::new(),
            removed: vec![path("b")],
        });
        assert_eq!(update.touched, BTreeSet::from([path("b")]));
        assert_eq!(update.also_affected, BTreeSet::from([path("root")]));
        assert_eq!(host.free, vec![1]);
        assert_eq!(host.held_quantity(&path("root")), 3);

        // "a" takes b's slot; it holds from "c" as well as from the root, and shares c's PoolID.
        let update = host.apply(SnapshotDelta {
            changed: vec![PoolView {
                pool_id: "c".to_string(),
                ..pool("a", &["root", "c"], 5)
            }],
            removed: Vec::new(),
        });
        assert_eq!(update.touched, BTreeSet::from([path("a")]));
        assert_eq!(
            update.also_affected,
            BTreeSet::from([path("c"), path("root")])
        );
        assert!(host.free.is_empty());
        assert_eq!(host.slot_of[&path("a")], 1);
        assert_eq!(host.pool(&path("b")), None);
        assert_eq!(
            paths(host.children_of(&path("root"))),
            [&path("a").0, &path("c").0]
        );
        assert_eq!(host.held_quantity(&path("root")), 8);
        assert!(host.shares_a_pool_id());
        assert_indexed_afresh(&host, &["root", "a", "b", "c"]);

        // Removing a parent leaves its children holding from a path that is no pool.
        let update = host.replace(Snapshot {
            pools: vec![
                primordial("root"),
                PoolView {
                    pool_id: "c".to_string(),
                    ..pool("a", &["root", "c"], 5)
                },
            ],
        });
        assert_eq!(update.touched, BTreeSet::from([path("c")]));
        assert_eq!(
            update.also_affected,
            BTreeSet::from([path("a"), path("root")])
        );
        assert_eq!(paths(host.children_of(&path("c"))), [&path("a").0]);
        assert_eq!(host.held_quantity(&path("c")), 5);
        assert!(!host.shares_a_pool_id());
        assert_indexed_afresh(&host, &["root", "a", "b", "c"]);
    }

    #[test]
    fn children_and_primordial_pools_come_in_path_order_whatever_their_slots() {
        // Created in reverse path order, then a slot freed and taken again out of order.
        let mut host = ObservedHost::from_snapshot(Snapshot {
            pools: vec![
                primordial("p2"),
                primordial("p1"),
                pool("z", &["p1"], 1),
                pool("y", &["p1"], 1),
                pool("x", &["p1"], 1),
            ],
        });
        host.apply(SnapshotDelta {
            changed: vec![pool("w", &["p1"], 1), primordial("p0")],
            removed: vec![path("y"), path("p2")],
        });
        assert_eq!(
            paths(host.children_of(&path("p1"))),
            [&path("w").0, &path("x").0, &path("z").0]
        );
        assert_eq!(
            paths(host.primordial_iter(4, "memory")),
            [&path("p0").0, &path("p1").0]
        );
        // A primordial pool changed in place keeps its place.
        host.apply(SnapshotDelta {
            changed: vec![PoolView {
                reserved: 3,
                ..primordial("p1")
            }],
            removed: Vec::new(),
        });
        assert_eq!(
            paths(host.primordial_of(4, "memory").into_iter()),
            [&path("p0").0, &path("p1").0]
        );
        assert!(host.primordial_of(4, "other").is_empty());
        assert_indexed_afresh(&host, &["p0", "p1", "p2", "w", "x", "y", "z"]);
    }

    #[test]
    fn a_cleared_host_takes_the_next_snapshot_as_a_new_one_does() {
        let first = Snapshot {
            pools: vec![
                primordial("root"),
                pool("a", &["root"], 2),
                pool("b", &["a"], 1),
                PoolView {
                    pool_id: "a".into(),
                    ..pool("twin", &["root"], 1)
                },
            ],
        };
        let next = Snapshot {
            pools: vec![primordial("root"), pool("c", &["root"], 5)],
        };
        let mut host = ObservedHost::from_snapshot(first);
        assert!(host.shares_a_pool_id());
        host.clear();
        assert!(host.is_empty());
        let mut fresh = ObservedHost::default();
        assert_eq!(host.replace(next.clone()), fresh.replace(next));
        assert_eq!(host.snapshot(), fresh.snapshot());
        assert!(!host.shares_a_pool_id());
        for name in ["root", "a", "b", "c", "twin"] {
            let p = path(name);
            assert_eq!(host.pool(&p), fresh.pool(&p), "{name}");
            assert_eq!(host.held_quantity(&p), fresh.held_quantity(&p), "{name}");
            assert_eq!(
                paths(host.children_of(&p)),
                paths(fresh.children_of(&p)),
                "{name}"
            );
        }
        // A PoolID the cleared host counted before counts from zero again.
        let a_again = pool("a", &["root"], 1);
        assert_eq!(host.id_count(&a_again), 0);
        assert_indexed_afresh(&host, &["root", "a", "b", "c", "twin"]);
    }

    #[test]
    fn a_snapshot_agrees_exactly_when_replacing_with_it_would_report_nothing() {
        let pools = vec![
            primordial("root"),
            pool("a", &["root"], 2),
            pool("b", &["root", "a"], 1),
        ];
        let host = ObservedHost::from_snapshot(Snapshot {
            pools: pools.clone(),
        });
        let mut reordered = pools.clone();
        reordered.reverse();
        reordered[0].allocations.reverse();
        let mut changed = pools.clone();
        changed[1].reserved = 1;
        let mut twice = pools.clone();
        twice[2] = pools[1].clone();
        let candidates = [
            (pools.clone(), true),
            (reordered, true),
            (changed, false),
            (twice, false),
            (pools[..2].to_vec(), false),
            (Vec::new(), false),
        ];
        for (i, (views, agrees)) in candidates.into_iter().enumerate() {
            let mut snapshot = Snapshot { pools: views };
            assert_eq!(host.agrees_with(&mut snapshot), agrees, "candidate {i}");
            let update = host.clone().replace(snapshot);
            let reports_nothing = update.touched.is_empty() && update.duplicates.is_empty();
            assert_eq!(reports_nothing, agrees, "candidate {i}");
        }
    }
}
