//! The decision: one request in, one [`Decision`] out, in a fixed order of checks (see
//! `docs/reasons.md`), so a request with several faults always gets the same reason.
//!
//! 0. the request (`malformed_request`), its path (`ambiguous_path`), the key set
//!    (`keyset_stale`);
//! 1. the rules the path falls under, read every way an origin may read it (`routes.rs`);
//! 2. the key set's deny list (`ip_denied`), then public rules (allowed, no credentials);
//! 3. the credentials (`credentials.rs`): `missing_credentials`, `malformed_credentials`,
//!    an API key's lookup (`unknown_key`);
//! 4. proof of possession: an API key in the set is its own proof; a signature is proven by
//!    its policy checks and its cryptographic check (`signature.rs`), which depend on nothing
//!    about the key it names;
//! 5. only then what the key itself says (`credentials.rs`): status, validity, networks; then
//!    the signature checks an API-key request still owes;
//! 6. the rules (`route_denied`, `scope_missing`), the body's digest, the nonce.
//!
//! Protocol (`crate::sig`) and data (`crate::keyset`) come in; nothing here reaches back.
//!
//! The order is one `async` function: natively it never waits, in the wasm facade it may pause
//! for the runtime's Ed25519, a body's digests or an outer nonce store (`flow.rs`), and resume
//! where it stopped. It yields an [`Outcome`](outcome::Outcome) of indices, which the native API
//! turns into a [`Decision`] and the facade writes to JS as numbers.

mod credentials;
pub(crate) use credentials::lookups;
pub(crate) mod decision;
pub(crate) mod flow;
pub(crate) mod outcome;
mod routes;
mod signature;
mod webhook;

use std::borrow::Cow;
use std::net::IpAddr;

use crate::cidr::any_contains;
use crate::keyset::{KeyEntry, KeySet, StalePolicy};
use crate::request::Request;
use crate::route::NormalizedPath;
use crate::sig::NonceStore;
use crate::sig::derive::FieldCache;
use crate::time::UnixTime;

use credentials::Candidate;
pub use credentials::MAX_API_KEY_LEN;
use decision::{Decision, Reason, SignatureInfo};
use flow::{Answer, Exchange, Mode, Need};
use outcome::{JudgedPath, Outcome};
use routes::RouteMatch;

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

/// A refusal before it becomes an outcome (small, so `Result`s stay cheap).
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) reason: Reason,
    pub(crate) message: Cow<'static, str>,
    /// Not a refusal yet: the decision now depends on a pending body's digests.
    pub(crate) pending_body: bool,
}

impl Refusal {
    pub(crate) fn new(reason: Reason, message: impl Into<Cow<'static, str>>) -> Self {
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
}

/// Decides one request against `ks`, remembering accepted nonces in `store` (natively: it
/// never pauses).
pub(crate) fn decide(ks: &KeySet, store: &dyn NonceStore, req: &Request, cx: &Context) -> Decision {
    let ex = Exchange::default();
    let outcome = flow::run_native(judge(ks, store, req, cx, &ex, Mode::default()), || {
        Outcome::refuse(Reason::MalformedRequest, "the decision could not complete")
    });
    outcome.into_decision(ks, req)
}

/// The whole order of checks for one request. With a [`Mode`] that allows it, it pauses on
/// `ex` (see `flow.rs`).
pub(crate) async fn judge(
    ks: &KeySet,
    store: &dyn NonceStore,
    req: &Request,
    cx: &Context,
    ex: &Exchange,
    mode: Mode,
) -> Outcome {
    if let Some(defect) = req.defects().first() {
        return Outcome::refuse(
            Reason::MalformedRequest,
            format!("malformed request: {defect}"),
        );
    }
    let path = match NormalizedPath::parse(req.path()) {
        Ok(p) => p,
        Err(e) => {
            return Outcome::refuse(Reason::AmbiguousPath, format!("ambiguous path: {e}"));
        }
    };
    let judged = if path.is_as_sent() {
        JudgedPath::AsSent
    } else {
        JudgedPath::Canonical(path.as_string())
    };
    if let Some(exp) = ks.expires_at()
        && cx.now >= exp
        && ks.policy().stale_policy == StalePolicy::FailClosed
    {
        let mut o = Outcome::refuse(
            Reason::KeysetStale,
            format!(
                "the key set (revision {}) expired at {exp}; publish a fresh one",
                ks.revision()
            ),
        );
        o.path = judged;
        return o;
    }
    let j = Judge {
        ks,
        store,
        req,
        cx,
        ex,
        mode,
        routes: routes::judge(ks, req, &path),
        fields: FieldCache::default(),
    };
    let mut o = j.decide().await;
    o.route = j.routes.name;
    o.path = judged;
    o
}

/// Everything one decision reads.
struct Judge<'a> {
    ks: &'a KeySet,
    store: &'a dyn NonceStore,
    req: &'a Request,
    cx: &'a Context,
    ex: &'a Exchange,
    mode: Mode,
    routes: RouteMatch<'a>,
    /// Header fields read so far (shared by every signature tried).
    fields: FieldCache,
}

impl Judge<'_> {
    async fn decide(&self) -> Outcome {
        if let Some(ip) = self.cx.client_ip
            && any_contains(self.ks.deny_cidrs(), ip)
        {
            return Outcome::refuse(
                Reason::IpDenied,
                "the client address is in the key set's deny list",
            );
        }
        if self.routes.public {
            return Outcome::allow(None);
        }
        // A route that accepts webhooks accepts nothing else (docs/webhooks.md).
        if let Some(keys) = self.routes.webhook_keys() {
            return flow::outlined(webhook::decide(self, &keys)).await;
        }
        let creds = match credentials::read(self.ks, self.req) {
            Ok(c) => c,
            Err(u) => {
                return self
                    .refusal(u.refusal, u.api, u.signature)
                    .with_key(self.ks, u.api);
            }
        };
        let (candidates, foreign) = credentials::candidates(self.ks, &creds);
        if let Some(api) = creds.api
            && !foreign.is_empty()
            && let Some(o) = flow::outlined(self.foreign_signature(api, &foreign)).await
        {
            return o;
        }
        // The first allowed candidate decides; so does one waiting for the body's digests,
        // since whether it is allowed now depends on them. Else the first refusal of a
        // candidate that proved its key, else the first refusal.
        let mut proven = None;
        let mut unproven = None;
        for cand in &candidates {
            let (r, is_proven) = match self.evaluate(cand).await {
                Ok(o) => return o,
                Err(x) => x,
            };
            let key = cand.key.filter(|_| is_proven);
            let o = self.refusal(r, key, false).with_key(self.ks, key);
            if o.pending_body {
                return o;
            }
            if is_proven {
                proven.get_or_insert(o);
            } else {
                unproven.get_or_insert(o);
            }
        }
        proven.or(unproven).unwrap_or_else(|| {
            Outcome::refuse(Reason::MissingCredentials, "no credentials were presented")
        })
    }

    /// A refusal as an outcome: `Accept-Signature` on signature reasons (and on faults in
    /// the signature fields), naming the key only when it is proven.
    fn refusal(&self, r: Refusal, proven: Option<&KeyEntry>, from_signature: bool) -> Outcome {
        let mut o = Outcome::refuse(r.reason, r.message);
        o.pending_body = r.pending_body;
        if from_signature || r.reason.is_signature() {
            o.accept_signature = Some(signature::accept_signature(
                self.ks,
                proven,
                &self.routes,
                self.req,
            ));
        }
        o
    }

    /// The cryptographic check of one signature (see `signature::prove`), pausing for the
    /// runtime's Ed25519 when the mode says so.
    async fn prove(
        &self,
        key: Option<&KeyEntry>,
        parsed: &crate::sig::Parsed,
    ) -> Result<bool, Refusal> {
        let mut proof = signature::prove(key, parsed, self.req, &self.fields, self.mode)?;
        if let Some(job) = proof.external.take() {
            let answer = self
                .ex
                .ask(Need::Ed25519 {
                    key: key.filter(|_| job.real).and_then(|k| self.ks.index_of(k)),
                    pk: job.pk,
                    sig: job.sig,
                    msg: job.msg,
                })
                .await;
            let valid = match answer {
                Answer::Verified(v) => v,
                _ => job.key.verify(proof.base.as_bytes(), &parsed.signature),
            };
            proof.by_ed25519 = valid && job.real;
        }
        Ok(proof.valid())
    }

    /// A signature naming another key than the API key's: `key_mismatch` once it verifies
    /// (the caller then holds both keys), else ignored like a stranger's (a proxy may have
    /// signed for someone else), at the same cost either way.
    async fn foreign_signature(
        &self,
        api: &KeyEntry,
        foreign: &[&crate::sig::Presented],
    ) -> Option<Outcome> {
        for p in foreign {
            let Ok(parsed) = &p.parsed else { continue };
            let other = p.keyid.as_deref().and_then(|id| self.ks.key_by_id(id));
            if matches!(self.prove(other, parsed).await, Ok(true))
                && let Some(other) = other
            {
                let r = Refusal::new(
                    Reason::KeyMismatch,
                    format!(
                        "the API key is key {:?} but signature {:?} is made with key {:?}",
                        api.id, p.label, other.id
                    ),
                );
                return Some(
                    self.refusal(r, Some(api), true)
                        .with_key(self.ks, Some(api)),
                );
            }
        }
        None
    }

    /// Steps 4 to 6 for one candidate: the decision, or the refusal and whether the caller had
    /// proven the key by then.
    ///
    /// A candidate without a signature never waits and takes its own synchronous path; a
    /// signed one is awaited through `flow::outlined`, so that its steps stay a function of
    /// their own (V8 compiles a wasm function whole on its first call: an API-key decision
    /// compiles none of the signature steps).
    async fn evaluate(&self, cand: &Candidate<'_, '_>) -> Result<Outcome, (Refusal, bool)> {
        match cand.sig {
            None => self.evaluate_unsigned(cand),
            Some(p) => flow::outlined(self.evaluate_signed(cand, p)).await,
        }
    }

    /// The key, once proven (a candidate without a key never gets that far).
    fn proven_key<'k>(cand: &Candidate<'k, '_>) -> Result<&'k KeyEntry, (Refusal, bool)> {
        cand.key.ok_or_else(|| {
            let r = Refusal::new(Reason::SignatureInvalid, "the signature does not verify");
            (r, false)
        })
    }

    /// Step 5 for a candidate that proved its key with its API key: what the key says.
    fn check_api_key(&self, cand: &Candidate<'_, '_>) -> Result<(), (Refusal, bool)> {
        if cand.by_api_key {
            let key = Self::proven_key(cand)?;
            credentials::check_state(key, self.cx.now).map_err(at(true))?;
            credentials::check_network(key, self.cx.client_ip).map_err(at(true))?;
        }
        Ok(())
    }

    /// Once the key is proven: what a key proven by a signature says, then the rules; the
    /// allowing outcome so far.
    fn admit<'k>(
        &self,
        cand: &Candidate<'k, '_>,
    ) -> Result<(&'k KeyEntry, Outcome), (Refusal, bool)> {
        let key = Self::proven_key(cand)?;
        if !cand.by_api_key {
            credentials::check_state(key, self.cx.now).map_err(at(true))?;
            credentials::check_network(key, self.cx.client_ip).map_err(at(true))?;
        }
        routes::check(self.ks, &self.routes, key).map_err(at(true))?;
        Ok((key, Outcome::allow(self.ks.index_of(key))))
    }

    /// [`Self::evaluate`] for a candidate without a signature.
    #[inline(never)]
    fn evaluate_unsigned(&self, cand: &Candidate<'_, '_>) -> Result<Outcome, (Refusal, bool)> {
        self.check_api_key(cand)?;
        signature::required(Self::proven_key(cand)?, &self.routes).map_err(at(cand.by_api_key))?;
        // Proven from here on.
        self.admit(cand).map(|(_, o)| o)
    }

    /// [`Self::evaluate`] for a candidate with the signature `p`.
    async fn evaluate_signed(
        &self,
        cand: &Candidate<'_, '_>,
        p: &crate::sig::Presented,
    ) -> Result<Outcome, (Refusal, bool)> {
        let Judge { ks, req, cx, .. } = *self;
        let by_api_key = cand.by_api_key;
        self.check_api_key(cand)?;
        let parsed = signature::label(ks, p).map_err(at(by_api_key))?;
        if by_api_key {
            signature::algorithm(Self::proven_key(cand)?, parsed).map_err(at(true))?;
        }
        let covered =
            signature::policy(ks, &self.routes, req, parsed, cx.now).map_err(at(by_api_key))?;
        let valid = self.prove(cand.key, parsed).await.map_err(at(by_api_key))?;
        if !valid {
            let m = match cand.key.filter(|_| by_api_key) {
                Some(k) => format!("the signature does not verify with key {:?}", k.id),
                None => "the signature does not verify".to_string(),
            };
            return Err((Refusal::new(Reason::SignatureInvalid, m), by_api_key));
        }
        // Proven from here on.
        let (key, mut o) = self.admit(cand)?;
        signature::content(req, covered, self.ex, self.mode)
            .await
            .map_err(at(true))?;
        let claim = signature::replay(ks, self.store, key, parsed, cx.now).map_err(at(true))?;
        o.signature = Some(SignatureInfo {
            label: p.label.clone(),
            components: parsed.components.iter().map(|c| c.unquoted()).collect(),
            params: parsed.params.clone(),
        });
        // A nonce is recorded only now that the whole decision allows the request: here, then
        // in the outer store when there is one.
        if let Some(claim) = claim {
            let replayed = || {
                let r = Refusal::new(
                    Reason::NonceReplayed,
                    "this signature's nonce was already used with this key",
                );
                (r, true)
            };
            if !self.store.record(&claim, cx.now) {
                return Err(replayed());
            }
            if self.mode.ask_claim
                && !matches!(
                    self.ex.ask(Need::Claim(claim.clone())).await,
                    Answer::Claimed(true)
                )
            {
                return Err(replayed());
            }
            o.claim = Some(claim);
        }
        Ok(o)
    }
}

/// A refusal with whether the caller had proven the key by then.
fn at(proven: bool) -> impl Fn(Refusal) -> (Refusal, bool) {
    move |r| (r, proven)
}
