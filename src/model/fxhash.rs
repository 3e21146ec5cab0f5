//! A fast, non-cryptographic hasher for the model's and the mirror's indexes (object paths,
//! PoolIDs): the multiply-rotate scheme of rustc's `FxHasher`, eight bytes at a time.
//!
//! The keys come from the harness's own generation and from an implementation's reports; a
//! report crafted to collide only slows a run down, it cannot change a verdict.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// `HashMap` with [`FxHasher`].
pub type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;
/// `HashSet` with [`FxHasher`].
pub type FxHashSet<K> = HashSet<K, BuildHasherDefault<FxHasher>>;

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

#[derive(Clone, Copy, Default)]
pub struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_paths_hash_apart_and_maps_work() {
        let mut map: FxHashMap<String, usize> = FxHashMap::default();
        for i in 0..10_000 {
            map.insert(
                format!(r#"\\HOST\root\virtualization\v2:Msvm_ResourcePool.InstanceID="{i}""#),
                i,
            );
        }
        assert_eq!(map.len(), 10_000);
        for i in (0..10_000).step_by(37) {
            let key =
                format!(r#"\\HOST\root\virtualization\v2:Msvm_ResourcePool.InstanceID="{i}""#);
            assert_eq!(map.get(&key), Some(&i));
        }
        let hash = |s: &str| {
            let mut h = FxHasher::default();
            h.write(s.as_bytes());
            h.finish()
        };
        // Trailing bytes and length both count.
        assert_ne!(hash("abcdefgh1"), hash("abcdefgh2"));
        assert_ne!(hash("abc"), hash("abc\0"));
    }
}

/// An index key of a number and two strings (a type, a subtype, a PoolID; unused parts
/// empty) that a map can be searched with *without* allocating: look up with
/// [`IdKey::find`]'s borrowed form, `&(n, a, b) as &dyn IdKeyView`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdKey {
    pub number: u64,
    pub first: String,
    pub second: String,
}

/// The parts of an [`IdKey`], owned or borrowed.
pub trait IdKeyView {
    fn parts(&self) -> (u64, &str, &str);
}

impl IdKeyView for IdKey {
    fn parts(&self) -> (u64, &str, &str) {
        (self.number, &self.first, &self.second)
    }
}

impl IdKeyView for (u64, &str, &str) {
    fn parts(&self) -> (u64, &str, &str) {
        *self
    }
}

impl IdKey {
    pub fn new(number: u64, first: &str, second: &str) -> IdKey {
        IdKey {
            number,
            first: first.to_string(),
            second: second.to_string(),
        }
    }

    /// The borrowed form of a key, to search a map with.
    pub fn find<'a>(key: &'a (u64, &'a str, &'a str)) -> &'a (dyn IdKeyView + 'a) {
        key
    }
}

impl std::hash::Hash for IdKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

impl std::hash::Hash for dyn IdKeyView + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

impl PartialEq for dyn IdKeyView + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn IdKeyView + '_ {}

impl<'a> std::borrow::Borrow<dyn IdKeyView + 'a> for IdKey {
    fn borrow(&self) -> &(dyn IdKeyView + 'a) {
        self
    }
}

/// A count per key, searched without allocating; a key is allocated only when it first
/// appears (the indexes of a model and of a mirror; a mirror recycled across sequences keeps
/// at most a few hundred keys, [`IdCounts::reset`]).
#[derive(Clone, Debug, Default)]
pub struct IdCounts(FxHashMap<IdKey, u32>);

impl IdCounts {
    pub fn get(&self, key: (u64, &str, &str)) -> u32 {
        self.0.get(IdKey::find(&key)).copied().unwrap_or(0)
    }

    /// Make room for `additional` more keys.
    pub fn reserve(&mut self, additional: usize) {
        self.0.reserve(additional);
    }

    /// Count one more; returns the new count.
    pub fn increment(&mut self, key: (u64, &str, &str)) -> u32 {
        match self.0.get_mut(IdKey::find(&key)) {
            Some(count) => {
                *count += 1;
                *count
            }
            None => {
                self.0.insert(IdKey::new(key.0, key.1, key.2), 1);
                1
            }
        }
    }

    /// Every count back to zero, the keys kept for the next use unless there are more than
    /// `keep` of them (then none is).
    pub fn reset(&mut self, keep: usize) {
        if self.0.len() > keep {
            self.0.clear();
        } else {
            self.0.values_mut().for_each(|count| *count = 0);
        }
    }

    /// Count one less; returns the new count. A key whose count drops to zero is kept: a pool
    /// that changes is unindexed and indexed again under the same key, which then costs no
    /// allocation.
    pub fn decrement(&mut self, key: (u64, &str, &str)) -> u32 {
        match self.0.get_mut(IdKey::find(&key)) {
            Some(count) => {
                *count = count.saturating_sub(1);
                *count
            }
            None => 0,
        }
    }
}
