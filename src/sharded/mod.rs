//! Sharded mode: deciding against a key set too large to hold, with only the shards the
//! requests need (see `keyset/shard.rs` for the format).
//!
//! The verifier holds one [`KeySet`]: the manifest's header set plus the keys of the shards
//! loaded so far. Decisions are the ordinary ones (`crate::decide`) over that set, and are
//! made only once every shard a request can make the decision look into is loaded: the `d`
//! shard of its API key's digest and the `i` shard of each signature `keyid`
//! ([`needs`](ShardCache::needs)). Every lookup a decision makes then finds exactly what it
//! finds in the full set, so a sharded decision equals the full-mode one.
//!
//! The shards held are bounded in number and keys; the least recently used ones are dropped
//! before a new one is added. What a caller chooses (an API key, `keyid`s) can make the
//! verifier load up to `1 + MAX_SIGNATURES` shards for one request: availability, which the
//! caller's load budget bounds, never correctness.

mod delta;
mod proven;

use hashbrown::HashTable;

use delta::Overlay;
use proven::Proven;

use crate::decide::decision::Decision;
use crate::decide::{Context, lookups};
use crate::keyset::delta::Delta;
use crate::keyset::shard::{
    Manifest, ShardError, ShardId, ShardKind, digest_shard, id_shard, read_shard,
};
use crate::keyset::{KeyEntry, KeySet};
use crate::request::Request;
use crate::seal::Unseal;
use crate::sig::MAX_SIGNATURES;
use crate::verifier::Verifier;
use crate::verifier::{DeltaRefused, Update};

/// The fewest shards a cache holds: all a single request may need.
pub const MIN_CACHED_SHARDS: usize = 1 + MAX_SIGNATURES;

// A request's missing shards are marked in a `u32` ([`ShardCache::needs_marked`]).
const _: () = assert!(MIN_CACHED_SHARDS < 32);

/// How much a sharded verifier holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardLimits {
    /// The most shards held (at least [`MIN_CACHED_SHARDS`]).
    pub max_shards: usize,
    /// The most key entries held across shards (a key in two held shards counts twice).
    pub max_keys: usize,
}

impl Default for ShardLimits {
    fn default() -> Self {
        ShardLimits {
            max_shards: 512,
            max_keys: 100_000,
        }
    }
}

/// What a cache did so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShardStats {
    /// Shards held now.
    pub held: usize,
    /// Key entries held now (across shards).
    pub keys: usize,
    /// Shards loaded.
    pub loads: u64,
    /// Shards dropped to make room.
    pub evictions: u64,
    /// Shards refused (digest, content).
    pub refused: u64,
    /// Keys changed by deltas since the manifest (applied to every shard as it loads).
    pub changed: usize,
}

struct Held {
    shard: ShardId,
    ids: Vec<Box<str>>,
    used: u64,
}

fn shard_hash(s: &ShardId) -> u64 {
    let k = matches!(s.kind, ShardKind::Id) as u64;
    ((k << 32) | u64::from(s.index)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The shards held, by shard.
#[derive(Default)]
struct HeldTable(HashTable<Held>);

impl HeldTable {
    fn get_mut(&mut self, s: &ShardId) -> Option<&mut Held> {
        self.0.find_mut(shard_hash(s), |h| h.shard == *s)
    }
    fn contains(&self, s: &ShardId) -> bool {
        self.0.find(shard_hash(s), |h| h.shard == *s).is_some()
    }
    fn insert(&mut self, h: Held) {
        self.0
            .insert_unique(shard_hash(&h.shard), h, |h| shard_hash(&h.shard));
    }
    fn remove(&mut self, s: &ShardId) -> Option<Held> {
        self.0
            .find_entry(shard_hash(s), |h| h.shard == *s)
            .ok()
            .map(|e| e.remove().0)
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn oldest(&self) -> Option<ShardId> {
        self.0.iter().min_by_key(|h| h.used).map(|h| h.shard)
    }
}

/// The shard table of a manifest and the shards held, beside the key set they fill.
pub(crate) struct ShardCache {
    manifest: Manifest,
    limits: ShardLimits,
    pinned: Vec<Box<str>>,
    held: HeldTable,
    overlay: Overlay,
    tick: u64,
    stats: ShardStats,
    /// Credentials allowed recently (kept across manifests): see [`proven`].
    proven: Proven,
}

impl ShardCache {
    /// The cache of `manifest` (whose header set, with the keys it always holds, is returned
    /// to be decided against).
    pub(crate) fn new(mut manifest: Manifest, limits: ShardLimits) -> (ShardCache, KeySet) {
        let set = std::mem::replace(&mut manifest.set, empty_set());
        let pinned = set.keys.iter().map(|k| k.id.as_str().into()).collect();
        let limits = ShardLimits {
            max_shards: limits.max_shards.max(MIN_CACHED_SHARDS),
            max_keys: limits.max_keys.max(1),
        };
        let cache = ShardCache {
            manifest,
            limits,
            pinned,
            held: HeldTable::default(),
            overlay: Overlay::default(),
            tick: 0,
            stats: ShardStats::default(),
            proven: Proven::default(),
        };
        (cache, set)
    }

    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    /// This cache for a new manifest keeps the credentials the old one saw proven.
    pub(crate) fn keep_proven(&mut self, old: &mut ShardCache) {
        self.proven = std::mem::take(&mut old.proven);
    }

    /// Records the credentials of a key an allowed decision used (see [`proven`]).
    pub(crate) fn prove(&mut self, key: &KeyEntry) {
        if let Some(d) = &key.api_key_hash {
            self.proven.insert(proven::of_digest(d));
        }
        self.proven.insert(proven::of_id(key.id.as_str()));
    }

    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    /// How many credentials are remembered as proven.
    pub(crate) fn proven_len(&self) -> usize {
        self.proven.len()
    }

    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn limits(&self) -> ShardLimits {
        self.limits
    }

    pub(crate) fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub(crate) fn stats(&self) -> ShardStats {
        ShardStats {
            held: self.held.len(),
            changed: self.overlay.len(),
            ..self.stats
        }
    }

    /// The shards a decision of `req` may look into that are not held, each once (the held
    /// ones count as used now).
    pub(crate) fn needs(&mut self, req: &Request) -> Vec<ShardId> {
        self.needs_marked(req).0
    }

    /// As [`needs`](Self::needs), with a mask of those wanted only by credentials never seen
    /// proven (bit `n` for the `n`th): loads an unknown API key or a made-up `keyid` causes.
    /// A shard that a proven credential of the request also wants is not marked.
    pub(crate) fn needs_marked(&mut self, req: &Request) -> (Vec<ShardId>, u32) {
        let (digest, ids) = lookups(req);
        let bits = self.manifest.bits;
        // Each credential's shard, and (only once it is found missing) its fingerprint.
        let by_digest = digest
            .iter()
            .map(|d| (digest_shard(d, bits), Some(d), None));
        let by_id = ids.iter().map(|id| (id_shard(id, bits), None, Some(id)));
        self.tick += 1;
        let mut missing: Vec<ShardId> = Vec::new();
        let mut proven = 0u32;
        for (s, d, id) in by_digest.chain(by_id) {
            if let Some(h) = self.held.get_mut(&s) {
                h.used = self.tick;
                continue;
            }
            let n = match missing.iter().position(|m| *m == s) {
                Some(n) => n,
                None => {
                    missing.push(s);
                    missing.len() - 1
                }
            };
            let f = match (d, id) {
                (Some(d), _) => proven::of_digest(d),
                (_, Some(id)) => proven::of_id(id),
                _ => continue,
            };
            if self.proven.contains(&f) {
                proven |= 1 << n;
            }
        }
        let all = (1u32 << missing.len()) - 1;
        (missing, all & !proven)
    }

    /// The set a decision of `req` that may wait is made under: the header of `ks` with only
    /// the keys that decision can look up (those the manifest holds always, the key of its API
    /// key's digest, those of its `keyid`s). A waiting decision then holds a few keys, not
    /// every key held, and a shard loaded meanwhile changes the set in use in place instead of
    /// copying it for the waiting decision.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn decision_set(&self, ks: &KeySet, req: &Request) -> KeySet {
        let (digest, ids) = lookups(req);
        let pinned = self.pinned.iter().filter_map(|id| ks.key_by_id(id));
        let by_digest = digest.as_ref().and_then(|d| ks.key_by_digest(d));
        let by_id = ids.iter().filter_map(|id| ks.key_by_id(id));
        ks.subset(pinned.chain(by_digest).chain(by_id))
    }

    /// Loads shard `s` from `bytes` into `ks` (after its digest and content checked), first
    /// dropping the least recently used shards to stay within the limits. On an error nothing
    /// changed.
    pub(crate) fn load(
        &mut self,
        v: &mut Verifier,
        s: ShardId,
        bytes: &[u8],
        unseal: Unseal<'_>,
    ) -> Result<(), ShardError> {
        self.tick += 1;
        if let Some(h) = self.held.get_mut(&s) {
            h.used = self.tick;
            return Ok(());
        }
        let entries = read_shard(&self.manifest, s, bytes, unseal).inspect_err(|_| {
            self.stats.refused += 1;
        })?;
        let ks = v.keyset_mut();
        while !self.held.is_empty()
            && (self.held.len() >= self.limits.max_shards
                || self.stats.keys + entries.len() > self.limits.max_keys)
        {
            self.evict_oldest(ks);
        }
        let mut ids = Vec::with_capacity(entries.len());
        let mut added = Vec::new();
        for k in entries {
            let Some(k) = self.overlay.filter(k) else {
                continue;
            };
            let id: Box<str> = k.id.as_str().into();
            match ks.hold(k) {
                Ok(true) => added.push(id.clone()),
                Ok(false) => {}
                Err(m) => {
                    for a in &added {
                        ks.release(a);
                    }
                    self.stats.refused += 1;
                    return Err(ShardError::Invalid(format!("shard {}: {m}", s.name())));
                }
            }
            ids.push(id);
        }
        self.stats.keys += ids.len();
        self.stats.loads += 1;
        self.held.insert(Held {
            shard: s,
            ids,
            used: self.tick,
        });
        Ok(())
    }

    /// See [`ShardedVerifier::apply_delta`].
    pub(crate) fn apply_delta(
        &mut self,
        v: &mut Verifier,
        delta: &Delta,
    ) -> Result<Update, DeltaRefused> {
        let update = v.judge_delta_state(delta)?;
        if let Update::Replaced { .. } = update {
            self.overlay
                .apply(v.keyset_mut(), delta)
                .map_err(DeltaRefused::Invalid)?;
            v.set_payload_sha256(delta.target().payload_sha256);
        }
        Ok(update)
    }

    fn evict_oldest(&mut self, ks: &mut KeySet) {
        let Some(s) = self.held.oldest() else {
            return;
        };
        let Some(h) = self.held.remove(&s) else {
            return;
        };
        let bits = self.manifest.bits;
        for id in &h.ids {
            if self.pinned.contains(id) || self.overlay.holds(id) {
                continue;
            }
            // A key is in its `i` shard and, with an API key, in its `d` shard: it stays while
            // the other one is held.
            let other = match s.kind {
                ShardKind::Id => ks
                    .key_by_id(id)
                    .and_then(|k| k.api_key_hash.as_ref())
                    .map(|d| digest_shard(d, bits)),
                ShardKind::Digest => Some(id_shard(id, bits)),
            };
            if other.is_some_and(|o| self.held.contains(&o)) {
                continue;
            }
            ks.release(id);
        }
        self.stats.keys -= h.ids.len();
        self.stats.evictions += 1;
    }
}

fn empty_set() -> KeySet {
    KeySet::from_json(br#"{"keygate":1,"revision":1,"keys":[]}"#).expect("the empty set is valid")
}

/// A verifier for a sharded key set (see the module docs): decides like [`Verifier`] over
/// the whole set, holding only the shards the requests needed.
pub struct ShardedVerifier {
    verifier: Verifier,
    cache: ShardCache,
}

impl std::fmt::Debug for ShardedVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardedVerifier")
            .field("revision", &self.cache.manifest.revision())
            .field("stats", &self.cache.stats())
            .finish_non_exhaustive()
    }
}

impl ShardedVerifier {
    /// A verifier for a verified manifest, holding no shard yet.
    pub fn new(manifest: Manifest, limits: ShardLimits) -> Self {
        let sha = manifest.payload_sha256();
        let (cache, set) = ShardCache::new(manifest, limits);
        ShardedVerifier {
            verifier: Verifier::new(set).with_payload_sha256(sha),
            cache,
        }
    }

    /// The manifest in use.
    pub fn manifest(&self) -> &Manifest {
        self.cache.manifest()
    }

    /// The verifier deciding over the header and the shards held.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The shards a decision of `req` needs that are not held: load each (by the digest
    /// the manifest names), then decide.
    pub fn needs(&mut self, req: &Request) -> Vec<ShardId> {
        self.cache.needs(req)
    }

    /// As [`needs`](Self::needs), with a mask of the shards wanted only by credentials this
    /// verifier has not seen allowed (bit `n` for the `n`th shard; see `sharded/proven.rs`):
    /// a caller's load budget can keep those apart.
    pub fn needs_marked(&mut self, req: &Request) -> (Vec<ShardId>, u32) {
        self.cache.needs_marked(req)
    }

    /// Loads a shard (see [`ShardError`] for what is refused; then nothing changed).
    pub fn load_shard(
        &mut self,
        s: ShardId,
        bytes: &[u8],
        unseal: Unseal<'_>,
    ) -> Result<(), ShardError> {
        self.cache.load(&mut self.verifier, s, bytes, unseal)
    }

    /// Decides `req`, or names the shards to load first (nothing is recorded then).
    pub fn decide(&mut self, req: &Request, cx: &Context) -> Result<Decision, Vec<ShardId>> {
        let missing = self.cache.needs(req);
        if !missing.is_empty() {
            return Err(missing);
        }
        let d = self.verifier.decide(req, cx);
        if d.allowed
            && let Some(k) = d
                .key_id
                .as_deref()
                .and_then(|id| self.verifier.keyset().key_by_id(id))
        {
            self.cache.prove(k);
        }
        Ok(d)
    }

    /// What the cache holds and did.
    pub fn stats(&self) -> ShardStats {
        self.cache.stats()
    }

    /// Applies a delta to the sharded set, in time proportional to the change: the same
    /// state rules as [`Verifier::apply_delta`] (rollback, base), then its changes apply to
    /// the shards held and to every shard loaded later. On a refusal nothing changed.
    pub fn apply_delta(&mut self, delta: &Delta) -> Result<Update, DeltaRefused> {
        self.cache.apply_delta(&mut self.verifier, delta)
    }
}
