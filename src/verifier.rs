//! The verifier: a key set and a nonce store, deciding requests (the order of checks lives
//! in `crate::decide`) and moving only forward through key set revisions.

use std::sync::Arc;

use crate::decide::decision::Decision;
use crate::decide::{self, Context};
use crate::keyset::KeySet;
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
}

impl Verifier {
    /// A verifier for `keyset`.
    pub fn new(keyset: KeySet) -> Self {
        Verifier {
            keyset: Arc::new(keyset),
            nonces: Arc::new(MemoryNonceStore::default()),
        }
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
    /// current set stays in use.
    pub fn update(&mut self, next: KeySet) -> Result<Update, Rollback> {
        let current = self.keyset.revision();
        if next.revision() > current {
            self.keyset = Arc::new(next);
            Ok(Update::Replaced { from: current })
        } else if next.revision() == current && next.same_bytes_as(&self.keyset) {
            Ok(Update::Unchanged)
        } else {
            Err(Rollback {
                current,
                offered: next.revision(),
            })
        }
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
