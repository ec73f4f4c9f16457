//! The credentials a sharded verifier saw proven recently, so that the cold loads their
//! requests cause can be told from those of credentials never proven (an unknown API key, a
//! made-up `keyid`), which anyone can send. Nothing about a shard's content is known before it
//! is loaded (the shard *is* the lookup), so the only thing that separates a legitimate cold
//! read from a flood is what this verifier has already seen allowed.
//!
//! A credential is entered only by an allowed decision, from the allowed key itself (its API
//! key's digest and its id), never from what a request presents: an unauthenticated caller
//! cannot add to it, and a key holder cannot add made-up `keyid`s. It holds 128-bit
//! fingerprints (127 bits of the API key digest, or of SHA-256 of the key id, and a bit for
//! which), at most [`PROVEN_CAPACITY`] of them in two generations: when the newer one
//! is full the older one is dropped, so a credential used at least once per generation stays.

use sha2::{Digest, Sha256};

use crate::ApiKeyDigest;

/// The most credentials remembered (16 bytes each: 64 KiB at most).
pub(crate) const PROVEN_CAPACITY: usize = 4096;

/// A fingerprint: 127 bits of a SHA-256 digest, and in the lowest bit which kind it is.
type Fingerprint = u128;

fn half(d: &[u8; 32], kind: u128) -> Fingerprint {
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    (u128::from_le_bytes(b) & !1) | kind
}

/// An API key's fingerprint.
pub(crate) fn of_digest(d: &ApiKeyDigest) -> Fingerprint {
    half(&d.0, 0)
}

/// A key id's fingerprint.
pub(crate) fn of_id(id: &str) -> Fingerprint {
    half(&Sha256::digest(id.as_bytes()).into(), 1)
}

/// See the module documentation. Each generation is a sorted vector (found by binary search;
/// an insert moves at most 32 KiB).
#[derive(Default)]
pub(crate) struct Proven {
    newer: Vec<Fingerprint>,
    older: Vec<Fingerprint>,
}

impl Proven {
    pub(crate) fn contains(&self, f: &Fingerprint) -> bool {
        self.newer.binary_search(f).is_ok() || self.older.binary_search(f).is_ok()
    }

    pub(crate) fn insert(&mut self, f: Fingerprint) {
        let Err(at) = self.newer.binary_search(&f) else {
            return;
        };
        if let Ok(i) = self.older.binary_search(&f) {
            self.older.remove(i);
        }
        if self.newer.len() >= PROVEN_CAPACITY / 2 {
            self.older = std::mem::take(&mut self.newer);
            self.newer.push(f);
            return;
        }
        self.newer.insert(at, f);
    }

    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn len(&self) -> usize {
        self.newer.len() + self.older.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_keeps_what_is_used() {
        let mut p = Proven::default();
        p.insert(of_id("kept"));
        for i in 0..3 * PROVEN_CAPACITY {
            p.insert(of_id(&format!("k{i}")));
            if i % 1000 == 0 {
                p.insert(of_id("kept"));
            }
            assert!(p.len() <= PROVEN_CAPACITY);
        }
        assert!(p.contains(&of_id("kept")));
        assert!(!p.contains(&of_id("k0")));
        // An id and an API key of the same text are different credentials.
        assert!(!p.contains(&of_digest(&ApiKeyDigest::of("kept"))));
    }
}
