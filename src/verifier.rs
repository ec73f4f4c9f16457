//! The decision procedure: one request in, one [`Decision`] out.
//!
//! The order of checks is fixed (see `docs/reasons.md`), so a request with several faults
//! always gets the same reason.

use std::net::IpAddr;
use std::sync::Arc;

use crate::checks::{
    check_key_network, check_key_state, check_route, lookup_api_key, presented_key,
};
use crate::cidr::any_contains;
use crate::decision::{Decision, Reason};
use crate::keyset::{KeyEntry, KeySet, Route, StalePolicy};
use crate::request::Request;
use crate::route::normalize_path;
use crate::sig::check::{self as sigcheck, Inputs};
use crate::sig::derive::FieldCache;
use crate::sig::{MemoryNonceStore, NonceStore, Presented};
use crate::time::UnixTime;

pub use crate::checks::MAX_API_KEY_LEN;

/// What the verifier needs from the caller besides the request: the clock and the client.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Context {
    /// The current time (never read inside the core).
    pub now: UnixTime,
    /// The client's address, when known. A key with an allow list refuses an unknown address.
    pub client_ip: Option<IpAddr>,
}

impl Context {
    /// A context at `now` with no known client address.
    pub fn new(now: UnixTime) -> Self {
        Context {
            now,
            client_ip: None,
        }
    }

    /// Sets the client address.
    pub fn with_client_ip(mut self, ip: Option<IpAddr>) -> Self {
        self.client_ip = ip;
        self
    }
}

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

    /// Decides one request.
    pub fn decide(&self, req: &Request, cx: &Context) -> Decision {
        decide(&self.keyset, &*self.nonces, req, cx)
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

/// A refusal before it becomes a [`Decision`] (small, so `Result`s stay cheap).
pub(crate) struct Refusal {
    pub(crate) reason: Reason,
    pub(crate) message: String,
    /// Not a refusal yet: the decision now depends on a pending body's digests.
    pub(crate) pending_body: bool,
}

impl Refusal {
    pub(crate) fn new(reason: Reason, message: impl Into<String>) -> Self {
        Refusal {
            reason,
            message: message.into(),
            pending_body: false,
        }
    }

    /// The decision needs the digests of a [`Body::Pending`](crate::Body::Pending). Decided
    /// without them (`Verifier::decide`), it stands as a `digest_mismatch` refusal.
    pub(crate) fn pending_body() -> Self {
        Refusal {
            pending_body: true,
            ..Refusal::new(
                Reason::DigestMismatch,
                "the body's digests were not supplied, so Content-Digest cannot be checked",
            )
        }
    }

    pub(crate) fn into_decision(self) -> Decision {
        let mut d = Decision::refuse(self.reason, self.message);
        d.pending_body = self.pending_body;
        d
    }
}

fn decide(ks: &KeySet, store: &dyn NonceStore, req: &Request, cx: &Context) -> Decision {
    if let Some(defect) = req.defects().first() {
        return Decision::refuse(
            Reason::MalformedRequest,
            format!("malformed request: {defect}"),
        );
    }
    // (0) A stale key set fails closed unless its policy says otherwise.
    if let Some(exp) = ks.expires_at()
        && cx.now >= exp
        && ks.policy().stale_policy == StalePolicy::FailClosed
    {
        return Decision::refuse(
            Reason::KeysetStale,
            format!(
                "the key set (revision {}) expired at {exp}; publish a fresh one",
                ks.revision()
            ),
        );
    }
    let path = normalize_path(req.path());
    let route = ks
        .routes()
        .iter()
        .find(|r| r.applies_to_method(req.method()) && r.path.matches(&path));
    let route_name = route.map(|r| r.path.as_str());

    // (1) Global deny list.
    if let Some(ip) = cx.client_ip
        && any_contains(ks.deny_cidrs(), ip)
    {
        return Decision::refuse(
            Reason::IpDenied,
            "the client address is in the key set's deny list",
        )
        .with_route(route_name);
    }
    // (2) Public routes examine no credentials.
    if let Some(r) = route.filter(|r| r.public) {
        return Decision::allow(None, Vec::new(), Some(r.path.as_str().to_string()));
    }
    // (3), (4) Credentials: the API key (format, lookup), then the signatures (parse, the
    // keys they name). Each signature naming a known key is a candidate.
    let mut presented = None;
    let candidates = match credentials(ks, route, req, &mut presented) {
        Ok(c) => c,
        Err(d) => return (*d).with_route(route_name),
    };
    let fields = FieldCache::default();
    let mut first_refusal = None;
    for cand in &candidates {
        let d = evaluate(ks, store, route, cand, req, cx, &fields);
        // An allowed candidate decides; so does one waiting for the body's digests, since
        // whether it is allowed (and so which candidate wins) now depends on them.
        if d.allowed || d.pending_body {
            return d;
        }
        first_refusal.get_or_insert(d);
    }
    // `credentials` returns at least one candidate.
    first_refusal.unwrap_or_else(|| {
        Decision::refuse(Reason::MissingCredentials, "no credentials were presented")
            .with_route(route_name)
    })
}

/// A key to try, with the API key (if one was presented) and the signature naming it.
struct Candidate<'k, 'r> {
    key: &'k KeyEntry,
    api: Option<&'k KeyEntry>,
    sig: Option<&'r Presented>,
}

fn credentials<'k, 'r>(
    ks: &'k KeySet,
    route: Option<&Route>,
    req: &Request,
    presented: &'r mut Option<Vec<Presented>>,
) -> Result<Vec<Candidate<'k, 'r>>, Box<Decision>> {
    let refused = |r: Refusal| Box::new(r.into_decision());
    let api_key = presented_key(req).map_err(refused)?;
    let signed = req.header_values("signature-input").next().is_some()
        || req.header_values("signature").next().is_some();
    if api_key.is_none() && !signed {
        return Err(Box::new(Decision::refuse(
            Reason::MissingCredentials,
            "no credentials: send Authorization: Bearer <key>, X-API-Key: <key>, or a signed request",
        )));
    }
    let api = match api_key {
        Some(k) => Some(lookup_api_key(ks, k).map_err(refused)?),
        None => None,
    };
    let with_api = |d: Decision| match api {
        Some(a) => d.with_key(&a.id),
        None => d,
    };
    *presented = crate::sig::presented(req).map_err(|m| {
        let d = Decision::refuse(Reason::MalformedCredentials, m);
        Box::new(with_api(signature_hint(d, ks, api, route, req)))
    })?;
    let known: Vec<Candidate<'k, 'r>> = presented
        .iter()
        .flatten()
        .filter_map(|p| {
            let key = ks.key_by_id(p.keyid.as_deref()?)?;
            Some(Candidate {
                key,
                api,
                sig: Some(p),
            })
        })
        .collect();
    if !known.is_empty() {
        return Ok(known);
    }
    match api {
        // Signatures for keys outside this key set are someone else's.
        Some(key) => Ok(vec![Candidate {
            key,
            api,
            sig: None,
        }]),
        None => Err(Box::new(Decision::refuse(
            Reason::UnknownKey,
            "no signature names a key in the key set (keyid)",
        ))),
    }
}

fn signature_hint(
    d: Decision,
    ks: &KeySet,
    key: Option<&KeyEntry>,
    route: Option<&Route>,
    req: &Request,
) -> Decision {
    d.with_header(
        "Accept-Signature",
        sigcheck::accept_signature(ks, key, route, req),
    )
}

/// Runs checks (4) to (7) for one candidate.
fn evaluate(
    ks: &KeySet,
    store: &dyn NonceStore,
    route: Option<&Route>,
    cand: &Candidate<'_, '_>,
    req: &Request,
    cx: &Context,
    fields: &FieldCache,
) -> Decision {
    match evaluate_inner(ks, store, route, cand, req, cx, fields) {
        Ok(d) | Err(d) => d,
    }
}

#[allow(clippy::result_large_err)] // Both sides are decisions; `evaluate` unwraps it at once.
fn evaluate_inner(
    ks: &KeySet,
    store: &dyn NonceStore,
    route: Option<&Route>,
    cand: &Candidate<'_, '_>,
    req: &Request,
    cx: &Context,
    fields: &FieldCache,
) -> Result<Decision, Decision> {
    let key = cand.key;
    let route_name = route.map(|r| r.path.as_str());
    let refuse = |r: Refusal, hint: bool| {
        let d = r.into_decision().with_key(&key.id).with_route(route_name);
        if hint || d.reason.is_some_and(Reason::is_signature) {
            signature_hint(d, ks, Some(key), route, req)
        } else {
            d
        }
    };
    // (4) The signature naming this key: well-formed, the same key as the API key, the tag.
    let parsed = match cand.sig.map(|p| &p.parsed) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(m)) => {
            return Err(refuse(
                Refusal::new(Reason::MalformedCredentials, m.clone()),
                true,
            ));
        }
    };
    if let (Some(api), Some(_)) = (cand.api, parsed)
        && api.id != key.id
    {
        let r = Refusal::new(
            Reason::KeyMismatch,
            format!(
                "the API key is key {:?} but the signature names key {:?}",
                api.id, key.id
            ),
        );
        return Err(refuse(r, true).with_key(&api.id));
    }
    if let (Some(tag), Some(p)) = (&ks.policy().signature.signature_tag, parsed)
        && p.params.tag.as_ref() != Some(tag)
    {
        let r = Refusal::new(
            Reason::MalformedCredentials,
            format!("the signature's tag parameter must be {tag:?}"),
        );
        return Err(refuse(r, true));
    }
    // (5) Status and validity window.
    if let Some(r) = check_key_state(key, cx.now) {
        return Err(refuse(r, false));
    }
    // (6) The key's network restrictions.
    if let Some(r) = check_key_network(key, cx.client_ip) {
        return Err(refuse(r, false));
    }
    // (6b) The signature: required, algorithm, time, nonce, coverage, crypto, digest, replay.
    let inputs = Inputs {
        ks,
        key,
        route,
        req,
        now: cx.now,
        store,
        fields,
    };
    let claim = sigcheck::check(&inputs, parsed).map_err(|r| refuse(r, false))?;
    // (7) Route and scopes.
    if let Some(r) = check_route(ks, route, key) {
        return Err(refuse(r, false));
    }
    let mut d = Decision::allow(
        Some(key.id.clone()),
        key.scopes.to_vec(),
        route_name.map(str::to_string),
    );
    // A nonce is recorded only now that the whole decision allows the request.
    if let Some(claim) = claim {
        if !store.record(&claim, cx.now) {
            let r = Refusal::new(
                Reason::NonceReplayed,
                "this signature's nonce was already used with this key",
            );
            return Err(refuse(r, false));
        }
        d.nonce = Some(claim);
    }
    Ok(d)
}
