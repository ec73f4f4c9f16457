//! The verifier: a key set and a nonce store, deciding requests (the order of checks lives
//! in `crate::decide`) and moving only forward through key set revisions, by full sets or
//! by deltas.

use std::sync::Arc;

use crate::decide::decision::Decision;
use crate::decide::{self, Context};
use crate::keyset::delta::{Delta, SetState};
use crate::keyset::{KeySet, KeysetErrors};
use crate::request::Request;
use crate::sig::{MemoryNonceStore, NonceStore};

/// Decides requests against one key set.
///
/// A verifier keeps per-verifier state across decisions: the nonces of accepted signatures
/// (a bounded [`MemoryNonceStore`] unless replaced). Clones share it, and a key set
/// [`update`](Verifier::update) keeps it.
#[derive(Clone, Debug)]
pub struct Verifier {
    keyset: Arc<KeySet>,
    nonces: Arc<dyn NonceStore>,
    /// SHA-256 of the key set JSON the set in use is (or, after deltas, would be) read from.
    sha: Option<[u8; 32]>,
}

impl Verifier {
    /// A verifier for `keyset`. Its digest is unknown (deltas need it: see
    /// [`with_payload_sha256`](Self::with_payload_sha256)).
    pub fn new(keyset: KeySet) -> Self {
        Verifier {
            keyset: Arc::new(keyset),
            nonces: Arc::new(MemoryNonceStore::default()),
            sha: None,
        }
    }

    /// Records the SHA-256 of the exact key set JSON the set in use was read from (an
    /// envelope's decoded payload), which names its state: a delta applies only to the state
    /// it names as its base.
    pub fn with_payload_sha256(mut self, sha: [u8; 32]) -> Self {
        self.set_payload_sha256(sha);
        self
    }

    /// As [`with_payload_sha256`](Self::with_payload_sha256), for the set in use now (after
    /// an [`update`](Self::update) without a digest).
    pub fn set_payload_sha256(&mut self, sha: [u8; 32]) {
        self.sha = Some(sha);
    }

    /// The name of the state in use (revision and digest), when its digest is known.
    pub fn state(&self) -> Option<SetState> {
        self.sha.map(|payload_sha256| SetState {
            revision: self.keyset.revision(),
            payload_sha256,
        })
    }

    /// Replaces the nonce store, for example with a strongly consistent shared one.
    pub fn with_nonce_store(mut self, store: Arc<dyn NonceStore>) -> Self {
        self.nonces = store;
        self
    }

    /// The nonce store in use.
    pub fn nonce_store(&self) -> &dyn NonceStore {
        &*self.nonces
    }

    /// The key set in use.
    pub fn keyset(&self) -> &KeySet {
        &self.keyset
    }

    /// The key set in use, to change in place (a sharded verifier fills it with shards; a
    /// set shared with a clone or a waiting decision is copied first: a pointer per chunk of
    /// entries and index shard, the chunks and shards written to then copied on write).
    pub(crate) fn keyset_mut(&mut self) -> &mut KeySet {
        Arc::make_mut(&mut self.keyset)
    }

    /// The key set in use, shared (a decision that waits keeps the set it started with).
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn keyset_arc(&self) -> &Arc<KeySet> {
        &self.keyset
    }

    /// The nonce store, shared.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn nonce_store_arc(&self) -> &Arc<dyn NonceStore> {
        &self.nonces
    }

    /// Decides one request.
    pub fn decide(&self, req: &Request, cx: &Context) -> Decision {
        decide::decide(&self.keyset, &*self.nonces, req, cx)
    }

    /// Decides a request whose body is [`Body::Pending`](crate::Body::Pending) as far as
    /// possible without the body: `None` when every other check passed and the answer now
    /// depends on the body's digests (hash the body, then call [`decide`](Self::decide) with
    /// [`Body::Digests`](crate::Body::Digests)). Nothing is recorded when it returns `None`.
    /// This way a body is only ever hashed for a validly signed request.
    pub fn decide_deferred(&self, req: &Request, cx: &Context) -> Option<Decision> {
        let d = self.decide(req, cx);
        (!d.pending_body).then_some(d)
    }

    /// Swaps in a newer key set. Only a higher revision is accepted; the same revision with
    /// the same payload bytes is an idempotent no-op; anything else is a rollback and the
    /// current set stays in use. The digest of the new state is unknown afterwards (see
    /// [`update_with_sha`](Self::update_with_sha)).
    pub fn update(&mut self, next: KeySet) -> Result<Update, Rollback> {
        self.update_inner(next, None)
    }

    /// [`update`](Self::update) with the SHA-256 of the key set JSON `next` was read from.
    /// At the same revision, two states whose digests are both known are the same exactly
    /// when the digests are.
    pub fn update_with_sha(&mut self, next: KeySet, sha: [u8; 32]) -> Result<Update, Rollback> {
        self.update_inner(next, Some(sha))
    }

    fn update_inner(&mut self, next: KeySet, sha: Option<[u8; 32]>) -> Result<Update, Rollback> {
        let current = self.keyset.revision();
        if next.revision() > current {
            self.keyset = Arc::new(next);
            self.sha = sha;
            return Ok(Update::Replaced { from: current });
        }
        let same = match (self.sha, sha) {
            (Some(a), Some(b)) => a == b,
            _ => next.same_bytes_as(&self.keyset),
        };
        if next.revision() == current && same {
            self.sha = self.sha.or(sha);
            Ok(Update::Unchanged)
        } else {
            Err(Rollback {
                current,
                offered: next.revision(),
            })
        }
    }

    /// Judges a delta against the state in use without applying it: `Unchanged` when the
    /// state in use already is its target, `Replaced` when it would apply. Refused, in this
    /// order: an older or equal revision (`keyset_rollback`), a base other than the state in
    /// use (`delta_base_mismatch`, also when the digest in use is unknown), changes that do
    /// not fit the set (`keyset_invalid`, every problem with its path in the delta).
    pub fn check_delta(&self, delta: &Delta) -> Result<Update, DeltaRefused> {
        let update = self.judge_delta_state(delta)?;
        if let Update::Replaced { .. } = update {
            self.keyset
                .check_delta(delta)
                .map_err(DeltaRefused::Invalid)?;
        }
        Ok(update)
    }

    /// The part of [`check_delta`](Self::check_delta) about states alone (target, revision,
    /// base), not about the changes.
    pub(crate) fn judge_delta_state(&self, delta: &Delta) -> Result<Update, DeltaRefused> {
        let current = self.keyset.revision();
        if self.state() == Some(delta.target()) {
            return Ok(Update::Unchanged);
        }
        if delta.revision() <= current {
            return Err(DeltaRefused::Rollback(Rollback {
                current,
                offered: delta.revision(),
            }));
        }
        if self.state() != Some(delta.base()) {
            return Err(DeltaRefused::BaseMismatch {
                base: delta.base(),
                current: self.state(),
                current_revision: current,
            });
        }
        Ok(Update::Replaced { from: current })
    }

    /// Applies a delta atomically (see [`check_delta`](Self::check_delta) for what is
    /// refused): on any refusal the set in use is unchanged; otherwise it becomes the delta's
    /// target, in time proportional to the change, also while a decision that waits or a
    /// clone of this verifier holds the set in use: that version stays as it was, and the new
    /// one shares with it every entry and index shard the delta does not write to.
    pub fn apply_delta(&mut self, delta: &Delta) -> Result<Update, DeltaRefused> {
        let update = self.check_delta(delta)?;
        if let Update::Replaced { .. } = update {
            Arc::make_mut(&mut self.keyset).apply_checked(delta);
            self.sha = Some(delta.target().payload_sha256);
        }
        Ok(update)
    }
}

/// What [`Verifier::update`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Update {
    /// The new set replaced the one at revision `from`.
    Replaced {
        /// The revision that was replaced.
        from: u64,
    },
    /// The same revision with identical bytes: nothing to do.
    Unchanged,
}

/// A key set update refused because it would not move the revision forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rollback {
    /// The revision in use (kept).
    pub current: u64,
    /// The revision that was offered.
    pub offered: u64,
}

impl Rollback {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        "keyset_rollback"
    }
}

impl std::fmt::Display for Rollback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.offered == self.current {
            write!(
                f,
                "revision {} is already in use with different content; publish revision {} or later",
                self.current,
                self.current + 1
            )
        } else {
            write!(
                f,
                "revision {} is older than the revision in use ({})",
                self.offered, self.current
            )
        }
    }
}

impl std::error::Error for Rollback {}

/// A delta refused by [`Verifier::apply_delta`]; the set in use is unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeltaRefused {
    /// Its revision is not above the one in use (409 `keyset_rollback`).
    Rollback(Rollback),
    /// It applies to another state than the one in use (409 `delta_base_mismatch`): a
    /// delta was missed, or the two sides forked. Load the full set.
    BaseMismatch {
        /// The state the delta applies to.
        base: SetState,
        /// The state in use (`None`: its digest is unknown).
        current: Option<SetState>,
        /// The revision in use.
        current_revision: u64,
    },
    /// Its changes do not fit the set (400 `keyset_invalid`).
    Invalid(KeysetErrors),
}

impl DeltaRefused {
    /// The stable wire code.
    pub fn code(&self) -> &'static str {
        match self {
            DeltaRefused::Rollback(r) => r.code(),
            DeltaRefused::BaseMismatch { .. } => "delta_base_mismatch",
            DeltaRefused::Invalid(_) => "keyset_invalid",
        }
    }

    /// The HTTP status a push endpoint answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            DeltaRefused::Invalid(_) => 400,
            _ => 409,
        }
    }
}

impl std::fmt::Display for DeltaRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeltaRefused::Rollback(r) => r.fmt(f),
            DeltaRefused::BaseMismatch {
                base,
                current: Some(c),
                ..
            } => write!(
                f,
                "the delta applies to {base}, but the set in use is {c}: load the full set"
            ),
            DeltaRefused::BaseMismatch {
                base,
                current: None,
                current_revision,
            } => write!(
                f,
                "the delta applies to {base}, but the digest of the set in use (revision {current_revision}) is unknown: load the full set"
            ),
            DeltaRefused::Invalid(e) => write!(f, "the delta does not fit the set in use:\n{e}"),
        }
    }
}

impl std::error::Error for DeltaRefused {}
