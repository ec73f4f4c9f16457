//! Lookup tables from key id and API-key digest to the key's position. They store only
//! positions (4 bytes a key each) and hash the key's own fields, so no id is stored twice.

use std::sync::Arc;

use hashbrown::HashTable;

use super::KeyEntry;
use super::store::KeyStore;
use crate::apikey::ApiKeyDigest;

pub(crate) fn id_hash(id: &str) -> u64 {
    // FNV-1a: ids are short and chosen by the key set's publisher; clients only look them up.
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in id.as_bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

pub(crate) fn digest_hash(d: &ApiKeyDigest) -> u64 {
    // Digests are uniformly distributed and cannot be chosen by whoever looks them up.
    let mut b = [0u8; 8];
    b.copy_from_slice(&d.0[..8]);
    u64::from_le_bytes(b)
}

/// Positions of keys by id and by digest.
///
/// Each table is split into shards by hash, each behind an `Arc`, so that versions of a set
/// share the shards they have in common: a new version copies one pointer per shard, and a
/// change copies only the shards it writes to (see `store.rs`). The number of shards is fixed
/// when the set is read, from its size (about a thousand keys a shard; one for small sets).
#[derive(Clone)]
pub(crate) struct KeyIndex {
    by_id: Vec<Arc<HashTable<u32>>>,
    by_digest: Vec<Arc<HashTable<u32>>>,
}

impl Default for KeyIndex {
    fn default() -> Self {
        KeyIndex::with_capacity(0)
    }
}

/// Keys per shard the index is sized for.
const PER_SHARD: usize = 1024;
/// At most this many shards a table (a power of two).
const MAX_SHARDS: usize = 256;

/// The shard of a hash among `n` (a power of two): bits 40 and up, which hashbrown uses
/// neither for the bucket (the low bits) nor for its tag (the top seven).
#[inline]
fn shard(h: u64, n: usize) -> usize {
    (h >> 40) as usize & (n - 1)
}

impl KeyIndex {
    /// An index for about `n` keys.
    pub(crate) fn with_capacity(n: usize) -> Self {
        let shards = (n / PER_SHARD).next_power_of_two().clamp(1, MAX_SHARDS);
        let per = n.div_ceil(shards);
        let table = || Arc::new(HashTable::with_capacity(per));
        KeyIndex {
            by_id: (0..shards).map(|_| table()).collect(),
            by_digest: (0..shards).map(|_| table()).collect(),
        }
    }

    #[inline]
    fn id_table(&self, h: u64) -> &HashTable<u32> {
        &self.by_id[shard(h, self.by_id.len())]
    }

    #[inline]
    fn digest_table(&self, h: u64) -> &HashTable<u32> {
        &self.by_digest[shard(h, self.by_digest.len())]
    }

    fn id_table_mut(&mut self, h: u64) -> &mut HashTable<u32> {
        let n = self.by_id.len();
        Arc::make_mut(&mut self.by_id[shard(h, n)])
    }

    fn digest_table_mut(&mut self, h: u64) -> &mut HashTable<u32> {
        let n = self.by_digest.len();
        Arc::make_mut(&mut self.by_digest[shard(h, n)])
    }

    pub(crate) fn find_id(&self, keys: &KeyStore, id: &str) -> Option<u32> {
        let h = id_hash(id);
        self.id_table(h)
            .find(h, |&i| keys.get(i as usize).is_some_and(|k| k.id == id))
            .copied()
    }

    pub(crate) fn find_digest(&self, keys: &KeyStore, d: &ApiKeyDigest) -> Option<u32> {
        let h = digest_hash(d);
        self.digest_table(h)
            .find(h, |&i| {
                keys.get(i as usize)
                    .is_some_and(|k| k.api_key_hash.as_ref() == Some(d))
            })
            .copied()
    }

    /// Indexes `keys[i]`, which must already be in `keys` and not be a duplicate.
    pub(crate) fn insert(&mut self, keys: &KeyStore, i: u32) {
        let Some(k) = keys.get(i as usize) else {
            return;
        };
        let h = id_hash(&k.id);
        self.id_table_mut(h).insert_unique(h, i, |&j| {
            keys.get(j as usize).map_or(0, |k| id_hash(&k.id))
        });
        self.insert_digest(keys, i);
    }

    /// Indexes the digest of `keys[i]` (when it has one).
    pub(crate) fn insert_digest(&mut self, keys: &KeyStore, i: u32) {
        if let Some(d) = keys.get(i as usize).and_then(|k| k.api_key_hash.as_ref()) {
            let h = digest_hash(d);
            self.digest_table_mut(h).insert_unique(h, i, |&j| {
                keys.get(j as usize)
                    .and_then(|k| k.api_key_hash.as_ref())
                    .map_or(0, digest_hash)
            });
        }
    }

    /// Forgets the entries of `k`, found at position `at` (matched by position, so that a
    /// digest briefly held twice during an update is told apart).
    pub(crate) fn remove(&mut self, k: &KeyEntry, at: u32) {
        let h = id_hash(&k.id);
        if let Ok(e) = self.id_table_mut(h).find_entry(h, |&i| i == at) {
            e.remove();
        }
        if let Some(d) = &k.api_key_hash {
            self.remove_digest(d, at);
        }
    }

    /// Forgets the digest entry `d` at position `at`.
    pub(crate) fn remove_digest(&mut self, d: &ApiKeyDigest, at: u32) {
        let h = digest_hash(d);
        if let Ok(e) = self.digest_table_mut(h).find_entry(h, |&i| i == at) {
            e.remove();
        }
    }

    /// The key `k` moved from position `from` to `to` (a `swap_remove`).
    pub(crate) fn relocate(&mut self, k: &KeyEntry, from: u32, to: u32) {
        let h = id_hash(&k.id);
        if let Some(i) = self.id_table_mut(h).find_mut(h, |&i| i == from) {
            *i = to;
        }
        if let Some(d) = &k.api_key_hash {
            let h = digest_hash(d);
            if let Some(i) = self.digest_table_mut(h).find_mut(h, |&i| i == from) {
                *i = to;
            }
        }
    }

    /// How many ids and digests are indexed (for the consistency checks of the tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> (usize, usize) {
        let n = |t: &[Arc<HashTable<u32>>]| t.iter().map(|t| t.len()).sum();
        (n(&self.by_id), n(&self.by_digest))
    }

    /// How many shards of this index and `other` are the same memory (for the tests of what a
    /// version shares), and how many there are.
    #[cfg(test)]
    pub(crate) fn shared_shards(&self, other: &KeyIndex) -> (usize, usize) {
        let same = |a: &[Arc<HashTable<u32>>], b: &[Arc<HashTable<u32>>]| {
            a.iter().zip(b).filter(|(a, b)| Arc::ptr_eq(a, b)).count()
        };
        (
            same(&self.by_id, &other.by_id) + same(&self.by_digest, &other.by_digest),
            self.by_id.len() + self.by_digest.len(),
        )
    }
}

/// Positions of keys in a list, found by key: a hash table of positions, like the index
/// (sorting would add tens of kilobytes of wasm).
pub(crate) struct Positions<'k, K> {
    keys: &'k [Option<K>],
    hash: fn(&K) -> u64,
    table: HashTable<u32>,
}

impl<'k, K: PartialEq> Positions<'k, K> {
    /// The table of `keys` (`None`: skipped; of equal keys, the first), and for each key the
    /// position of the first earlier equal one.
    pub(crate) fn new(keys: &'k [Option<K>], hash: fn(&K) -> u64) -> (Self, Vec<Option<usize>>) {
        let mut t = Positions {
            keys,
            hash,
            table: HashTable::with_capacity(keys.len()),
        };
        let mut earlier = vec![None; keys.len()];
        for (i, k) in keys.iter().enumerate() {
            let Some(k) = k else {
                continue;
            };
            match t.find(k) {
                Some(j) => earlier[i] = Some(j),
                None => {
                    t.table.insert_unique(hash(k), i as u32, |&j| {
                        keys[j as usize].as_ref().map_or(0, hash)
                    });
                }
            }
        }
        (t, earlier)
    }

    /// The position of the first key equal to `k`.
    pub(crate) fn find(&self, k: &K) -> Option<usize> {
        self.table
            .find((self.hash)(k), |&j| {
                self.keys[j as usize].as_ref() == Some(k)
            })
            .map(|&j| j as usize)
    }
}

/// A fast 128-bit fingerprint of the exact key set bytes, used to tell an idempotent re-push
/// (same revision, same bytes) from a conflicting one. It is not a cryptographic hash and needs
/// not be: the bytes come from the trusted publisher, and either outcome keeps the set in use.
pub(crate) fn fingerprint(bytes: &[u8]) -> [u8; 16] {
    const K1: u64 = 0x9E37_79B9_7F4A_7C15;
    const K2: u64 = 0xC2B2_AE3D_27D4_EB4F;
    let mut a = K2 ^ bytes.len() as u64;
    let mut b = K1.rotate_left(17) ^ (bytes.len() as u64).wrapping_mul(K2);
    let mut mix = |block: &[u8]| {
        let mut w0 = [0u8; 8];
        let mut w1 = [0u8; 8];
        w0.copy_from_slice(&block[..8]);
        w1.copy_from_slice(&block[8..16]);
        a = (a ^ u64::from_le_bytes(w0))
            .wrapping_mul(K1)
            .rotate_left(31)
            ^ b;
        b = (b ^ u64::from_le_bytes(w1))
            .wrapping_mul(K2)
            .rotate_left(29)
            ^ a.rotate_left(7);
    };
    let mut chunks = bytes.chunks_exact(16);
    for c in &mut chunks {
        mix(c);
    }
    let mut tail = [0u8; 16];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    mix(&tail);
    for _ in 0..2 {
        a ^= b >> 29;
        a = a.wrapping_mul(K1);
        b ^= a >> 32;
        b = b.wrapping_mul(K2);
    }
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&a.to_le_bytes());
    out[8..].copy_from_slice(&b.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::fingerprint;

    #[test]
    fn fingerprints_differ_for_any_single_byte_change() {
        let base = br#"{"keygate":1,"revision":5,"keys":[{"id":"a","api_key_hash":"x"}]}"#.to_vec();
        let f = fingerprint(&base);
        for i in 0..base.len() {
            let mut m = base.clone();
            m[i] ^= 1;
            assert_ne!(fingerprint(&m), f, "byte {i}");
        }
        assert_ne!(fingerprint(&base[..base.len() - 1]), f);
        assert_eq!(fingerprint(&base), f);
    }
}
