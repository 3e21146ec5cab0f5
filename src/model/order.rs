//! Order statistics over creation slots: which live pool is the k-th newest, and how many
//! live pools were created after a given one, in O(log pools).
//!
//! Selectors in operations count pools newest first ([`super::operation::PoolSel`]); with a
//! plain list that is a scan per step, which makes a step's cost grow with the host. A
//! Fenwick tree over the slots (1 = live, 0 = deleted or never of this kind) answers both
//! questions by prefix sums. It knows nothing of pools, only of slot numbers.

/// A set of slot numbers (creation indexes) with rank and select in O(log n).
#[derive(Clone, Debug, Default)]
pub struct SlotSet {
    /// Fenwick tree, 1-based: `tree[i]` sums the slots `i - lowbit(i) .. i` (0-based `i - 1`).
    tree: Vec<u32>,
    len: usize,
}

impl SlotSet {
    /// Number of slots in the set.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn grow_to(&mut self, slots: usize) {
        if self.tree.len() > slots {
            return;
        }
        // Grow to the next power of two (amortised O(1) per insertion) without re-entering
        // the members: every member is below the old capacity C, so an entry above C sums
        // either none of them or, at a power of two (its range starts at 0), all of them.
        let capacity = (slots + 1).next_power_of_two().max(16);
        let old = self.tree.len().saturating_sub(1);
        self.tree.resize(capacity + 1, 0);
        let mut power = old.max(1) << 1;
        while old > 0 && power <= capacity {
            self.tree[power] = self.len as u32;
            power <<= 1;
        }
    }

    fn add(&mut self, slot: usize, delta: i32) {
        let mut i = slot + 1;
        while i < self.tree.len() {
            self.tree[i] = self.tree[i].wrapping_add_signed(delta);
            i += i & i.wrapping_neg();
        }
    }

    /// How many members are below `slot` (exclusive).
    pub fn count_below(&self, slot: usize) -> usize {
        let mut i = slot.min(self.tree.len().saturating_sub(1));
        let mut sum = 0usize;
        while i > 0 {
            sum += self.tree[i] as usize;
            i -= i & i.wrapping_neg();
        }
        sum
    }

    pub fn contains(&self, slot: usize) -> bool {
        slot + 1 < self.tree.len() && self.count_below(slot + 1) - self.count_below(slot) == 1
    }

    pub fn insert(&mut self, slot: usize) {
        self.grow_to(slot + 1);
        if !self.contains(slot) {
            self.add(slot, 1);
            self.len += 1;
        }
    }

    pub fn remove(&mut self, slot: usize) {
        if self.contains(slot) {
            self.add(slot, -1);
            self.len -= 1;
        }
    }

    /// The member with `k` members below it (0-based, oldest first), if any.
    pub fn select(&self, k: usize) -> Option<usize> {
        if k >= self.len {
            return None;
        }
        let mut remaining = k;
        let mut pos = 0usize;
        let mut step = (self.tree.len() - 1).next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next < self.tree.len() && (self.tree[next] as usize) <= remaining {
                remaining -= self.tree[next] as usize;
                pos = next;
            }
            step >>= 1;
        }
        Some(pos)
    }

    /// The `k`-th newest member (0 = the newest).
    pub fn newest(&self, k: usize) -> Option<usize> {
        self.len.checked_sub(k + 1).and_then(|i| self.select(i))
    }

    /// How many members are newer than `slot` (its 0-based position, newest first, when
    /// `slot` is a member).
    pub fn rank_newest(&self, slot: usize) -> usize {
        self.len - self.count_below(slot + 1)
    }

    /// Members, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len).filter_map(move |k| self.select(k))
    }
}

#[cfg(test)]
mod tests {
    use super::SlotSet;
    use proptest::prelude::*;

    /// Mostly small slots, sometimes one far out, so the tree grows one step or several at once
    /// with members in it.
    fn slot() -> impl Strategy<Value = usize> {
        prop_oneof![8 => 0usize..300, 1 => 0usize..5000]
    }

    proptest! {
        /// The set agrees with a plain sorted list under any inserts and removes.
        #[test]
        fn agrees_with_a_list(ops in proptest::collection::vec((any::<bool>(), slot()), 0..400)) {
            let mut set = SlotSet::default();
            let mut list: Vec<usize> = Vec::new();
            for (insert, slot) in ops {
                if insert {
                    set.insert(slot);
                    if !list.contains(&slot) { list.push(slot); list.sort(); }
                } else {
                    set.remove(slot);
                    list.retain(|&s| s != slot);
                }
                prop_assert_eq!(set.len(), list.len());
                for (k, &slot) in list.iter().enumerate() {
                    prop_assert_eq!(set.select(k), Some(slot));
                    prop_assert_eq!(set.newest(list.len() - 1 - k), Some(slot));
                    prop_assert_eq!(set.rank_newest(slot), list.len() - 1 - k);
                    prop_assert!(set.contains(slot));
                }
                prop_assert_eq!(set.select(list.len()), None);
                prop_assert_eq!(set.iter().collect::<Vec<_>>(), list.clone());
            }
        }
    }
}
