//! Replay protection: remembering the nonces of accepted signatures for as long as those
//! signatures could be accepted.
//!
//! [`NonceStore`] is the seam. [`MemoryNonceStore`] is bounded and lives in one verifier, so
//! on an edge platform it protects one isolate: a replay routed to another isolate is not
//! seen. A strongly consistent store (a Durable Object, a database with insert-if-absent)
//! can implement the trait, or an outer layer can take the [`NonceClaim`] an allowed
//! [`Decision`](crate::Decision) carries and record it authoritatively.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
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
    /// The signature's `nonce` parameter, or a webhook delivery's `<webhook-id>.<timestamp>`.
    pub nonce: String,
    /// The last instant at which the signature could still be accepted.
    pub expires_at: UnixTime,
    /// What the nonce comes from (an outer store should key on kind, key and nonce).
    pub kind: ClaimKind,
}

/// What a [`NonceClaim`] comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClaimKind {
    /// An RFC 9421 signature's `nonce` parameter.
    #[default]
    Signature,
    /// A Standard Webhooks delivery: its `webhook-id` and `webhook-timestamp`.
    Webhook,
}

impl ClaimKind {
    /// Every kind, in the order the wasm facade numbers them (`crate::codes`).
    pub const ALL: &'static [ClaimKind] = &[ClaimKind::Signature, ClaimKind::Webhook];

    /// Its index in [`ClaimKind::ALL`] (how the wasm facade sends it).
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn index(self) -> u32 {
        ClaimKind::ALL.iter().position(|k| *k == self).unwrap_or(0) as u32
    }

    /// `signature` or `webhook`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ClaimKind::Signature => "signature",
            ClaimKind::Webhook => "webhook",
        }
    }
}

impl NonceClaim {
    /// A claim of `nonce` for `key_id` until `expires_at`: what a [`NonceStore`] is handed,
    /// for example to exercise a store of one's own. Its kind is [`ClaimKind::Signature`]
    /// (see [`with_kind`](Self::with_kind)).
    pub fn new(key_id: impl Into<String>, nonce: impl Into<String>, expires_at: UnixTime) -> Self {
        NonceClaim {
            key_id: key_id.into(),
            nonce: nonce.into(),
            expires_at,
            kind: ClaimKind::Signature,
        }
    }

    /// The same claim, of another kind (a webhook delivery's: `<webhook-id>.<timestamp>`).
    pub fn with_kind(mut self, kind: ClaimKind) -> Self {
        self.kind = kind;
        self
    }
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

    /// Forgets a claim this store recorded for a request that was then not decided (it failed
    /// closed, e.g. a shard it needed could not be held), so that the request may be sent
    /// again. Only a claim whose `record` returned `true` for that very request is forgotten,
    /// and never one of an allowed request. The default keeps it (the nonce stays used).
    fn forget(&self, claim: &NonceClaim, now: UnixTime) {
        let _ = (claim, now);
    }
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

/// The nonces of one key.
struct Bucket {
    key_id: Box<str>,
    /// Live entries.
    len: usize,
    /// This key's entries by expiry (may hold entries already pruned: skipped on pop).
    by_expiry: BinaryHeap<Reverse<(i64, Fingerprint)>>,
    /// Every entry of this key forgotten to make room expired at or before this instant.
    forgotten_until: Option<i64>,
    /// Whether this bucket is in `Inner::watermarks`.
    queued: bool,
}

#[derive(Default)]
struct Inner {
    /// Live entries: expiry and bucket.
    entries: HashMap<Fingerprint, (i64, u64)>,
    /// Every entry by expiry, for pruning (entries already evicted are skipped).
    by_expiry: BinaryHeap<Reverse<(i64, Fingerprint)>>,
    buckets: HashMap<u64, Bucket>,
    ids: HashMap<Box<str>, u64>,
    next_id: u64,
    /// Buckets by size, to find the largest.
    by_len: BTreeSet<(usize, u64)>,
    /// Buckets that hold no entry but a watermark, by the watermark: each is dropped once its
    /// watermark has passed (nothing else would visit it again).
    watermarks: BinaryHeap<Reverse<(i64, u64)>>,
}

impl Inner {
    fn set_len(&mut self, id: u64, len: usize) {
        if let Some(b) = self.buckets.get_mut(&id) {
            self.by_len.remove(&(b.len, id));
            b.len = len;
            if len > 0 {
                self.by_len.insert((len, id));
            }
        }
    }

    /// Drops a bucket that holds nothing and remembers nothing still relevant at `now`.
    fn maybe_drop(&mut self, id: u64, now: i64) {
        let Some(b) = self.buckets.get_mut(&id) else {
            return;
        };
        if b.len > 0 {
            // Entries pruned globally stay in the bucket's heap until popped: keep it small.
            if b.by_expiry.len() > 2 * b.len + 16 {
                let entries = &self.entries;
                b.by_expiry
                    .retain(|Reverse((e, fp))| entries.get(fp) == Some(&(*e, id)));
            }
            return;
        }
        b.by_expiry.clear();
        match b.forgotten_until {
            Some(f) if f >= now => {
                if !b.queued {
                    b.queued = true;
                    self.watermarks.push(Reverse((f, id)));
                }
            }
            _ => {
                if let Some(b) = self.buckets.remove(&id) {
                    self.ids.remove(&b.key_id);
                }
            }
        }
    }

    /// Drops the entries evicted to make room from the heap of all entries, once they are
    /// half of it: the heap stays within twice the bound, whatever the traffic (and, as the
    /// bound is reached exactly, its buffer does not double past it).
    fn compact(&mut self) {
        if self.by_expiry.len() >= 2 * self.entries.len().max(16) {
            let entries = &self.entries;
            self.by_expiry
                .retain(|Reverse((e, fp))| entries.get(fp).is_some_and(|&(x, _)| x == *e));
        }
    }

    fn prune(&mut self, now: i64) {
        while let Some(Reverse((exp, fp))) = self.by_expiry.peek().copied() {
            if exp >= now {
                break;
            }
            self.by_expiry.pop();
            if let Some(&(e, id)) = self.entries.get(&fp)
                && e == exp
            {
                self.entries.remove(&fp);
                let len = self.buckets.get(&id).map_or(0, |b| b.len.saturating_sub(1));
                self.set_len(id, len);
                self.maybe_drop(id, now);
            }
        }
        while let Some(Reverse((f, id))) = self.watermarks.peek().copied() {
            if f >= now {
                break;
            }
            self.watermarks.pop();
            if let Some(b) = self.buckets.get_mut(&id) {
                b.queued = false;
            }
            // Dropped unless it holds entries again or its watermark was raised (re-queued).
            self.maybe_drop(id, now);
        }
    }

    fn bucket_id(&mut self, key_id: &str) -> u64 {
        if let Some(&id) = self.ids.get(key_id) {
            return id;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.ids.insert(key_id.into(), id);
        self.buckets.insert(
            id,
            Bucket {
                key_id: key_id.into(),
                len: 0,
                by_expiry: BinaryHeap::new(),
                forgotten_until: None,
                queued: false,
            },
        );
        id
    }

    /// Forgets the soonest-expiring live entry of the key with the most entries, and
    /// remembers its expiry for that key alone.
    fn evict_from_largest(&mut self, now: i64) {
        let Some(&(_, id)) = self.by_len.last() else {
            return;
        };
        let Some(b) = self.buckets.get_mut(&id) else {
            return;
        };
        while let Some(Reverse((exp, fp))) = b.by_expiry.pop() {
            if self.entries.get(&fp) == Some(&(exp, id)) {
                self.entries.remove(&fp);
                b.forgotten_until = Some(b.forgotten_until.map_or(exp, |f| f.max(exp)));
                let len = b.len.saturating_sub(1);
                self.set_len(id, len);
                self.maybe_drop(id, now);
                return;
            }
        }
        // Nothing live was left in its heap: its count was stale.
        self.set_len(id, 0);
        self.maybe_drop(id, now);
    }
}

/// A bounded in-memory [`NonceStore`], fair between keys.
///
/// Each entry is a 128-bit fingerprint of (key id, nonce) and an expiry. Entries leave when
/// their signature's acceptance window closes. When the store is full, the key holding the
/// **most** entries loses its soonest-expiring one, and that key alone remembers the instant:
/// a later nonce *of that key* whose window closes no later than that is refused as possibly
/// replayed. So a flood can cost availability, but only to the key that floods (as long as it
/// is the heaviest user), and never lets a replay through.
///
/// Memory, measured with a counting allocator (`cargo bench --bench nonce_store`, see
/// BENCHMARKS.md): about 115 bytes per entry (the map slot and two heap slots), plus about
/// 400 bytes for each key that has entries or a watermark (its id and bookkeeping). With the
/// default capacity: 7.5 MB once a few keys fill it, up to 11 MB after a flood (the expiry
/// heaps' buffers may reach twice their entries), 34-35 MB in the worst case of one nonce for
/// each of 65,536 keys. Nothing grows with traffic: an entry evicted to make room leaves every
/// structure at once, and a key left with only a watermark is dropped when it passes. Keys
/// holding only a watermark are bounded by the key set, as only verified signatures reach
/// the store (`docs/signatures.md`).
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
        self.lock().entries.len()
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
        if inner.entries.contains_key(&fingerprint(key_id, nonce)) {
            return true;
        }
        let forgotten = inner
            .ids
            .get(key_id)
            .and_then(|id| inner.buckets.get(id))
            .and_then(|b| b.forgotten_until);
        forgotten.is_some_and(|f| expires_at.as_secs() <= f)
    }

    fn record(&self, claim: &NonceClaim, now: UnixTime) -> bool {
        let fp = fingerprint(&claim.key_id, &claim.nonce);
        let now = now.as_secs();
        let mut inner = self.lock();
        inner.prune(now);
        if inner.entries.contains_key(&fp) {
            return false;
        }
        let id = inner.bucket_id(&claim.key_id);
        while inner.entries.len() >= self.capacity {
            let before = inner.entries.len();
            inner.evict_from_largest(now);
            if inner.entries.len() == before && inner.by_len.is_empty() {
                break;
            }
        }
        // Eviction may have dropped this key's (empty) bucket.
        let id = if inner.buckets.contains_key(&id) {
            id
        } else {
            inner.bucket_id(&claim.key_id)
        };
        let exp = claim.expires_at.as_secs();
        inner.entries.insert(fp, (exp, id));
        inner.by_expiry.push(Reverse((exp, fp)));
        inner.compact();
        let len = inner.buckets.get(&id).map_or(0, |b| b.len) + 1;
        if let Some(b) = inner.buckets.get_mut(&id) {
            b.by_expiry.push(Reverse((exp, fp)));
        }
        inner.set_len(id, len);
        true
    }

    fn forget(&self, claim: &NonceClaim, now: UnixTime) {
        let fp = fingerprint(&claim.key_id, &claim.nonce);
        let mut inner = self.lock();
        // Only the entry this claim made (the same expiry): the heaps skip it once it is gone.
        if inner.entries.get(&fp).map(|&(e, _)| e) != Some(claim.expires_at.as_secs()) {
            return;
        }
        let Some((_, id)) = inner.entries.remove(&fp) else {
            return;
        };
        let len = inner
            .buckets
            .get(&id)
            .map_or(0, |b| b.len.saturating_sub(1));
        inner.set_len(id, len);
        inner.maybe_drop(id, now.as_secs());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(key: &str, nonce: &str, exp: i64) -> NonceClaim {
        NonceClaim {
            kind: ClaimKind::Signature,
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
    fn a_forgotten_claim_may_be_recorded_again() {
        let s = MemoryNonceStore::default();
        assert!(s.record(&claim("k", "n1", 100), T(0)));
        // Another claim of the same nonce (another expiry) is not this one's to forget.
        s.forget(&claim("k", "n1", 90), T(1));
        assert!(!s.record(&claim("k", "n1", 100), T(2)));
        s.forget(&claim("k", "n1", 100), T(3));
        assert!(s.is_empty());
        assert!(!s.seen("k", "n1", T(100), T(4)));
        assert!(s.record(&claim("k", "n1", 100), T(5)));
        assert!(s.seen("k", "n1", T(100), T(6)));
        // Its expiry left in the heaps does not drop the new entry early.
        assert!(s.seen("k", "n1", T(100), T(100)));
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

    #[test]
    fn one_keys_flood_costs_only_that_key() {
        let s = MemoryNonceStore::with_capacity(100);
        for i in 0..10 {
            assert!(s.record(&claim("honest", &format!("h{i}"), 300), T(0)));
        }
        // The flood: far more fresh nonces than the store holds, all from one key.
        for i in 0..10_000 {
            assert!(s.record(&claim("flood", &format!("f{i}"), 300), T(0)));
        }
        assert_eq!(s.len(), 100);
        // The honest key's nonces are all still remembered, and its new nonces with the same
        // window are judged on their own: no watermark of the flooder's applies to it.
        for i in 0..10 {
            assert!(s.seen("honest", &format!("h{i}"), T(300), T(1)));
        }
        assert!(!s.seen("honest", "new", T(300), T(1)));
        assert!(s.record(&claim("honest", "new", 300), T(1)));
        // The flooder pays: its forgotten window is refused.
        assert!(s.seen("flood", "f0", T(300), T(1)));
        assert!(s.seen("flood", "never-seen", T(300), T(1)));
    }

    #[test]
    fn claims_made_by_hand_are_signature_claims_unless_given_a_kind() {
        let c = NonceClaim::new("k", "n", T(5));
        assert_eq!((c.key_id.as_str(), c.nonce.as_str()), ("k", "n"));
        assert_eq!(c.kind, ClaimKind::Signature);
        assert_eq!(c.with_kind(ClaimKind::Webhook).kind, ClaimKind::Webhook);
    }

    #[test]
    fn a_flood_leaves_no_more_behind_than_the_bound() {
        let s = MemoryNonceStore::with_capacity(100);
        for i in 0..10_000 {
            assert!(s.record(&claim("flood", &format!("f{i}"), 300 + i), T(0)));
        }
        let inner = s.lock();
        assert_eq!(inner.entries.len(), 100);
        // Entries evicted to make room leave the heap of all entries too, not at their expiry.
        assert!(
            inner.by_expiry.len() <= 2 * 100,
            "{}",
            inner.by_expiry.len()
        );
        let flood = &inner.buckets[&inner.ids["flood"]];
        assert!(
            flood.by_expiry.len() <= 2 * 100 + 16,
            "{}",
            flood.by_expiry.len()
        );
    }

    #[test]
    fn keys_that_kept_only_a_watermark_are_freed_when_it_passes() {
        let s = MemoryNonceStore::with_capacity(4);
        // Many keys, one nonce each: most lose theirs to make room and keep only a watermark.
        for k in 0..1_000 {
            assert!(s.record(&claim(&format!("k{k}"), "n", 10), T(0)));
        }
        assert_eq!(s.len(), 4);
        // The largest key yields first; between equals, the newest: k3..k998 lost theirs.
        assert!(!s.seen("k0", "other", T(10), T(1)), "k0 kept its entry");
        assert!(
            s.seen("k500", "other", T(10), T(1)),
            "k500 remembers what it lost"
        );
        assert!(s.lock().buckets.len() > 4);
        // Once every window has closed, neither entries nor watermark-only buckets are left.
        assert!(!s.seen("k500", "other", T(20), T(11)));
        let inner = s.lock();
        assert!(inner.entries.is_empty());
        assert!(
            inner.buckets.is_empty() && inner.ids.is_empty(),
            "{}",
            inner.buckets.len()
        );
        assert!(inner.watermarks.is_empty());
    }

    #[test]
    fn the_largest_user_yields_and_buckets_are_freed() {
        let s = MemoryNonceStore::with_capacity(4);
        assert!(s.record(&claim("a", "1", 10), T(0)));
        assert!(s.record(&claim("b", "1", 10), T(0)));
        assert!(s.record(&claim("b", "2", 20), T(0)));
        assert!(s.record(&claim("b", "3", 30), T(0)));
        // Full: "a" holds 1, "b" holds 3; a new nonce for "a" evicts from "b".
        assert!(s.record(&claim("a", "2", 40), T(0)));
        assert!(s.seen("a", "1", T(10), T(0)));
        assert!(!s.seen("a", "3", T(10), T(0)), "a has no watermark");
        assert!(s.seen("b", "x", T(10), T(0)), "b remembers what it lost");
        // After every window closes, nothing is left: no entries and no buckets.
        assert!(!s.seen("a", "1", T(100), T(100)));
        let inner = s.lock();
        assert!(inner.entries.is_empty() && inner.by_len.is_empty());
        assert!(
            inner.buckets.is_empty() && inner.ids.is_empty(),
            "buckets freed"
        );
    }
}
