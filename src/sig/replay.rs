//! Replay protection: remembering the nonces of accepted signatures for as long as those
//! signatures could be accepted.
//!
//! [`NonceStore`] is the seam. [`MemoryNonceStore`] is bounded and lives in one verifier, so
//! on an edge platform it protects one isolate: a replay routed to another isolate is not
//! seen. A strongly consistent store (a Durable Object, a database with insert-if-absent)
//! can implement the trait, or an outer layer can take the [`NonceClaim`] an allowed
//! [`Decision`](crate::Decision) carries and record it authoritatively.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::sync::Mutex;

use sha2::{Digest as _, Sha256};

use crate::time::UnixTime;

/// A nonce accepted with an allowed request, to be remembered until `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NonceClaim {
    /// The key the signature was made with.
    pub key_id: String,
    /// The signature's `nonce` parameter.
    pub nonce: String,
    /// The last instant at which the signature could still be accepted.
    pub expires_at: UnixTime,
}

/// Where nonces of accepted signatures are remembered.
pub trait NonceStore: Send + Sync + fmt::Debug {
    /// Whether `nonce` may already have been used with `key_id`. `expires_at` is when the
    /// presented signature stops being acceptable; a bounded store that had to forget some
    /// entries answers `true` for any nonce it can no longer vouch for (fail closed).
    fn seen(&self, key_id: &str, nonce: &str, expires_at: UnixTime, now: UnixTime) -> bool;

    /// Remembers a claim. Returns `false` if the nonce was recorded meanwhile (another
    /// request with it won), in which case the request must be refused.
    fn record(&self, claim: &NonceClaim, now: UnixTime) -> bool;
}

type Fingerprint = [u8; 16];

fn fingerprint(key_id: &str, nonce: &str) -> Fingerprint {
    let mut h = Sha256::new();
    h.update((key_id.len() as u64).to_be_bytes());
    h.update(key_id.as_bytes());
    h.update(nonce.as_bytes());
    let d = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&d[..16]);
    out
}

#[derive(Default)]
struct Inner {
    expiry: HashMap<Fingerprint, i64>,
    by_expiry: BinaryHeap<Reverse<(i64, Fingerprint)>>,
    /// Every entry forgotten to make room expired at or before this instant.
    forgotten_until: Option<i64>,
}

impl Inner {
    fn prune(&mut self, now: i64) {
        while let Some(Reverse((exp, fp))) = self.by_expiry.peek().copied() {
            if exp >= now {
                break;
            }
            self.by_expiry.pop();
            self.expiry.remove(&fp);
        }
    }
}

/// A bounded in-memory [`NonceStore`].
///
/// Each entry is a 128-bit fingerprint of (key id, nonce) and an expiry, about 60 bytes with
/// the map and heap overhead; the default bound of [`MemoryNonceStore::DEFAULT_CAPACITY`]
/// entries is a few MiB. Entries leave when their signature's acceptance window closes. When
/// the store is full, the entry expiring soonest is forgotten and the store remembers that
/// instant: any later nonce whose window closes no later than that is refused as possibly
/// replayed, so a flood can cost availability but never lets a replay through.
pub struct MemoryNonceStore {
    capacity: usize,
    inner: Mutex<Inner>,
}

impl fmt::Debug for MemoryNonceStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryNonceStore")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl Default for MemoryNonceStore {
    fn default() -> Self {
        MemoryNonceStore::with_capacity(Self::DEFAULT_CAPACITY)
    }
}

impl MemoryNonceStore {
    /// The default bound on remembered nonces.
    pub const DEFAULT_CAPACITY: usize = 65_536;

    /// A store remembering at most `capacity` nonces (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryNonceStore {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many nonces are remembered now.
    pub fn len(&self) -> usize {
        self.lock().expiry.len()
    }

    /// Whether no nonce is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl NonceStore for MemoryNonceStore {
    fn seen(&self, key_id: &str, nonce: &str, expires_at: UnixTime, now: UnixTime) -> bool {
        let mut inner = self.lock();
        inner.prune(now.as_secs());
        inner.expiry.contains_key(&fingerprint(key_id, nonce))
            || inner
                .forgotten_until
                .is_some_and(|f| expires_at.as_secs() <= f)
    }

    fn record(&self, claim: &NonceClaim, now: UnixTime) -> bool {
        let fp = fingerprint(&claim.key_id, &claim.nonce);
        let mut inner = self.lock();
        inner.prune(now.as_secs());
        if inner.expiry.contains_key(&fp) {
            return false;
        }
        while inner.expiry.len() >= self.capacity {
            let Some(Reverse((exp, old))) = inner.by_expiry.pop() else {
                break;
            };
            inner.expiry.remove(&old);
            inner.forgotten_until = Some(inner.forgotten_until.map_or(exp, |f| f.max(exp)));
        }
        let exp = claim.expires_at.as_secs();
        inner.expiry.insert(fp, exp);
        inner.by_expiry.push(Reverse((exp, fp)));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(key: &str, nonce: &str, exp: i64) -> NonceClaim {
        NonceClaim {
            key_id: key.into(),
            nonce: nonce.into(),
            expires_at: UnixTime::from_secs(exp),
        }
    }

    const T: fn(i64) -> UnixTime = UnixTime::from_secs;

    #[test]
    fn remembers_per_key_until_expiry() {
        let s = MemoryNonceStore::default();
        assert!(!s.seen("k", "n1", T(100), T(0)));
        assert!(s.record(&claim("k", "n1", 100), T(0)));
        assert!(s.seen("k", "n1", T(100), T(50)));
        assert!(!s.seen("other", "n1", T(100), T(50)));
        assert!(
            !s.record(&claim("k", "n1", 100), T(60)),
            "second record loses"
        );
        assert!(s.seen("k", "n1", T(100), T(100)), "still inside the window");
        assert!(
            !s.seen("k", "n1", T(100), T(101)),
            "forgotten after the window"
        );
        assert!(s.is_empty());
    }

    #[test]
    fn key_and_nonce_boundaries_do_not_collide() {
        assert_ne!(fingerprint("ab", "c"), fingerprint("a", "bc"));
    }

    #[test]
    fn a_full_store_fails_closed() {
        let s = MemoryNonceStore::with_capacity(2);
        assert!(s.record(&claim("k", "a", 10), T(0)));
        assert!(s.record(&claim("k", "b", 20), T(0)));
        assert!(s.record(&claim("k", "c", 30), T(0)));
        assert_eq!(s.len(), 2);
        // "a" was forgotten, but its window (closing at 10) is covered by the watermark.
        assert!(s.seen("k", "a", T(10), T(1)));
        // A nonce whose window closes later than anything forgotten is judged normally.
        assert!(!s.seen("k", "fresh", T(31), T(1)));
        assert!(s.seen("k", "fresh-but-old", T(5), T(1)));
    }
}
