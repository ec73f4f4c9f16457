//! The credentials a sharded verifier saw proven recently, so that the cold loads their
//! requests cause can be told from those of credentials never proven (an unknown API key, a
//! made-up `keyid`), which anyone can send. Nothing about a shard's content is known before it
//! is loaded (the shard *is* the lookup), so the only thing that separates a legitimate cold
//! read from a flood is what this verifier has already seen allowed.
//!
//! A credential is entered only by an allowed decision, from the allowed key itself (its API
//! key's digest and its id), never from what a request presents: an unauthenticated caller
//! cannot add to it, and a key holder cannot add made-up `keyid`s. It holds 128-bit
//! fingerprints (the first half of the API key digest, or of SHA-256 of the key id, each in
//! its own domain), at most [`PROVEN_CAPACITY`] of them in two generations: when the newer one
//! is full the older one is dropped, so a credential used at least once per generation stays.

use sha2::{Digest, Sha256};
use std::collections::HashSet;

use crate::ApiKeyDigest;

/// The most credentials remembered (about 40 bytes each: 160 KiB at most).
pub(crate) const PROVEN_CAPACITY: usize = 4096;

/// A fingerprint: which of the two kinds, and 128 bits of a SHA-256 digest.
type Fingerprint = (bool, u128);

fn half(d: &[u8; 32]) -> u128 {
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    u128::from_le_bytes(b)
}

/// An API key's fingerprint.
pub(crate) fn of_digest(d: &ApiKeyDigest) -> Fingerprint {
    (false, half(&d.0))
}

/// A key id's fingerprint.
pub(crate) fn of_id(id: &str) -> Fingerprint {
    (true, half(&Sha256::digest(id.as_bytes()).into()))
}

/// See the module documentation.
#[derive(Default)]
pub(crate) struct Proven {
    newer: HashSet<Fingerprint>,
    older: HashSet<Fingerprint>,
}

impl Proven {
    pub(crate) fn contains(&self, f: &Fingerprint) -> bool {
        self.newer.contains(f) || self.older.contains(f)
    }

    pub(crate) fn insert(&mut self, f: Fingerprint) {
        if self.newer.contains(&f) {
            return;
        }
        self.older.remove(&f);
        if self.newer.len() >= PROVEN_CAPACITY / 2 {
            self.older = std::mem::take(&mut self.newer);
        }
        self.newer.insert(f);
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
