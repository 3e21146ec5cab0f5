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
