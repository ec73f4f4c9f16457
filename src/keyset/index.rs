//! Lookup tables from key id and API-key digest to the key's position. They store only
//! positions (4 bytes a key each) and hash the key's own fields, so no id is stored twice.

use hashbrown::HashTable;

use super::KeyEntry;
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
#[derive(Clone, Default)]
pub(crate) struct KeyIndex {
    by_id: HashTable<u32>,
    by_digest: HashTable<u32>,
}

impl KeyIndex {
    pub(crate) fn with_capacity(n: usize) -> Self {
        KeyIndex {
            by_id: HashTable::with_capacity(n),
            by_digest: HashTable::with_capacity(n),
        }
    }

    pub(crate) fn find_id(&self, keys: &[KeyEntry], id: &str) -> Option<u32> {
        self.by_id
            .find(id_hash(id), |&i| keys[i as usize].id == id)
            .copied()
    }

    pub(crate) fn find_digest(&self, keys: &[KeyEntry], d: &ApiKeyDigest) -> Option<u32> {
        self.by_digest
            .find(digest_hash(d), |&i| {
                keys[i as usize].api_key_hash.as_ref() == Some(d)
            })
            .copied()
    }

    /// Indexes `keys[i]`, which must already be in `keys` and not be a duplicate.
    pub(crate) fn insert(&mut self, keys: &[KeyEntry], i: u32) {
        let k = &keys[i as usize];
        self.by_id
            .insert_unique(id_hash(&k.id), i, |&j| id_hash(&keys[j as usize].id));
        self.insert_digest(keys, i);
    }

    /// Indexes the digest of `keys[i]` (when it has one).
    pub(crate) fn insert_digest(&mut self, keys: &[KeyEntry], i: u32) {
        if let Some(d) = &keys[i as usize].api_key_hash {
            self.by_digest.insert_unique(digest_hash(d), i, |&j| {
                keys[j as usize]
                    .api_key_hash
                    .as_ref()
                    .map_or(0, digest_hash)
            });
        }
    }

    /// Forgets the entries of `k`, found at position `at` (matched by position, so that a
    /// digest briefly held twice during an update is told apart).
    pub(crate) fn remove(&mut self, k: &KeyEntry, at: u32) {
        if let Ok(e) = self.by_id.find_entry(id_hash(&k.id), |&i| i == at) {
            e.remove();
        }
        if let Some(d) = &k.api_key_hash {
            self.remove_digest(d, at);
        }
    }

    /// Forgets the digest entry `d` at position `at`.
    pub(crate) fn remove_digest(&mut self, d: &ApiKeyDigest, at: u32) {
        if let Ok(e) = self.by_digest.find_entry(digest_hash(d), |&i| i == at) {
            e.remove();
        }
    }

    /// The key `k` moved from position `from` to `to` (a `swap_remove`).
    pub(crate) fn relocate(&mut self, k: &KeyEntry, from: u32, to: u32) {
        if let Some(i) = self.by_id.find_mut(id_hash(&k.id), |&i| i == from) {
            *i = to;
        }
        if let Some(d) = &k.api_key_hash
            && let Some(i) = self.by_digest.find_mut(digest_hash(d), |&i| i == from)
        {
            *i = to;
        }
    }

    /// How many ids and digests are indexed (for the consistency checks of the tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> (usize, usize) {
        (self.by_id.len(), self.by_digest.len())
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
