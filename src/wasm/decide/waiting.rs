//! A decision that may wait for JS (signed requests): started, polled until it ends or needs
//! something (then kept in the `Slab` under a handle), resumed with JS's answer, and decided
//! again under the set in use when it ended allowed under one since replaced.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use super::output::{error, write_need, write_outcome};
use super::slab::WAIT_OVERHEAD;
use crate::decide::flow::{self, Answer, Exchange, Mode, Need};
use crate::decide::outcome::Outcome;
use crate::decide::{Context, judge};
use crate::keyset::KeySet;
use crate::request::Request;
use crate::sig::{NonceClaim, NonceStore};
use crate::wasm::WasmVerifier;
use crate::webhook::WebhookKey;
use crate::{Body, BodyDigests, ErrorCode, UnixTime};

type Decision = Pin<Box<dyn Future<Output = (Outcome, Request)>>>;

/// The decision of `req` under `ks`, to be polled (`flow::poll_once`).
fn start(
    ks: Arc<KeySet>,
    store: Arc<dyn NonceStore>,
    req: Request,
    cx: Context,
    ex: Rc<Exchange>,
    mode: Mode,
) -> Decision {
    Box::pin(async move {
        let o = judge(&ks, &*store, &req, &cx, &ex, mode).await;
        (o, req)
    })
}

/// A decision that may wait for JS.
pub(super) struct Paused {
    decision: Decision,
    ex: Rc<Exchange>,
    /// The set it is being decided under.
    keyset: Arc<KeySet>,
    /// That set's serial (`WasmVerifier::serial`).
    serial: u32,
    /// The verifier's count of content changes then (`WasmVerifier::changes`).
    changes: u32,
    pub(super) cx: Context,
    mode: Mode,
    /// The body's digests, once JS gave them (a decision made again does not ask twice).
    digests: Option<BodyDigests>,
    /// The nonce this request holds: recorded, and claimed in the outer store, by an earlier
    /// decision of it under a set since replaced.
    pub(super) claimed: Option<NonceClaim>,
    /// The nonce it recorded in the verifier's store and now asks the outer store to claim.
    pub(super) recording: Option<NonceClaim>,
    /// The wall clock (ms, from JS) when the request was first run.
    pub(super) since_ms: f64,
    /// A webhook delivery decided again: the keys its body proved under an older set (the body
    /// streamed through once and is not read again).
    webhook_proven: Option<Vec<(String, WebhookKey)>>,
    /// What it holds of the module's memory, as counted against `MAX_WAITING_BYTES`.
    pub(super) bytes: usize,
}

/// A nonce store for deciding a request again: the nonce the request already holds is new to
/// it (it recorded and claimed it itself); any other is asked of the verifier's store.
#[derive(Debug)]
struct Reclaimed {
    inner: Arc<dyn NonceStore>,
    held: NonceClaim,
}

impl Reclaimed {
    fn holds(&self, key_id: &str, nonce: &str) -> bool {
        self.held.key_id == key_id && self.held.nonce == nonce
    }
}

impl NonceStore for Reclaimed {
    fn seen(&self, key_id: &str, nonce: &str, expires_at: UnixTime, now: UnixTime) -> bool {
        !self.holds(key_id, nonce) && self.inner.seen(key_id, nonce, expires_at, now)
    }

    fn record(&self, claim: &NonceClaim, now: UnixTime) -> bool {
        self.holds(&claim.key_id, &claim.nonce) || self.inner.record(claim, now)
    }

    fn forget(&self, claim: &NonceClaim, now: UnixTime) {
        self.inner.forget(claim, now);
    }
}

impl WasmVerifier {
    /// [`run`](Self::run) for a request that may wait (signed): kept out of line, so that
    /// an unsigned decision does not compile (on its first call, in V8) what only a waiting
    /// one runs.
    #[inline(never)]
    pub(super) fn run_waiting(
        &mut self,
        keyset: Arc<KeySet>,
        mut req: Request,
        cx: Context,
        mode: Mode,
        clock_ms: f64,
    ) -> u32 {
        // It may wait: it keeps only its own bytes (the next request starts a new buffer), and
        // in sharded mode only the keys it can look up (a shard loaded while it waits must not
        // copy every key held for it).
        let keyset = match &self.shards {
            Some(cache) => Arc::new(cache.decision_set(&keyset, &req)),
            None => keyset,
        };
        let bytes = req.shrink() + WAIT_OVERHEAD;
        let store = Arc::clone(self.inner.nonce_store_arc());
        let ex = Rc::new(Exchange::default());
        let decision = start(Arc::clone(&keyset), store, req, cx, Rc::clone(&ex), mode);
        self.step(
            Paused {
                decision,
                ex,
                keyset,
                serial: self.serial,
                changes: self.changes,
                cx,
                mode,
                digests: None,
                claimed: None,
                recording: None,
                since_ms: clock_ms,
                webhook_proven: None,
                bytes,
            },
            Some(clock_ms),
        )
    }

    /// Polls a decision: its outcome, or what it waits for under a new handle.
    /// `clock_ms`: the wall clock, for a decision that starts waiting now (`run`).
    fn step(&mut self, mut p: Paused, clock_ms: Option<f64>) -> u32 {
        loop {
            match flow::poll_once(p.decision.as_mut()) {
                // Allowed under a set whose content changed since: decided again under the
                // set in use. (A set that only loaded shards since decides the same: the
                // outcome stands, naming its key itself, even if the shard it was found in
                // was dropped meanwhile.)
                Some((o, mut req))
                    if o.reason.is_none()
                        && !self.in_use(&p.keyset)
                        && p.changes != self.changes =>
                {
                    if let Some(cache) = &mut self.shards
                        && !cache.needs(&req).is_empty()
                    {
                        // Deciding again would look into shards not held: fail closed rather
                        // than refuse a key as unknown. Not decided, so the nonce it holds is
                        // not used: a retry may carry it (JS releases the outer claim).
                        if let Some(c) = o.claim.as_ref().or(p.claimed.as_ref()) {
                            self.inner.nonce_store().forget(c, p.cx.now);
                        }
                        req.reset();
                        self.scratch = req;
                        return error(
                            ErrorCode::ShardUnavailable,
                            "the key set changed while this request waited and the shards it needs are no longer held; it was not decided",
                        );
                    }
                    p = self.again(p, o, req);
                }
                Some((o, mut req)) => {
                    let changed = !self.in_use(&p.keyset);
                    self.prove(&p.keyset, &o);
                    let kind = write_outcome(&p.keyset, p.serial, &req, o, changed);
                    req.reset();
                    self.scratch = req;
                    return kind;
                }
                None => match p.ex.take_need() {
                    // Made again, the decision asks for the nonce this request already holds.
                    Some(Need::Claim(c))
                        if p.claimed.as_ref().is_some_and(|h| {
                            h.key_id == c.key_id && h.nonce == c.nonce && h.kind == c.kind
                        }) =>
                    {
                        p.ex.answer(Answer::Claimed(true));
                    }
                    // Made again, a webhook delivery asks for the body it already streamed.
                    Some(Need::WebhookBody) if p.webhook_proven.is_some() => {
                        let proven = p.webhook_proven.clone().unwrap_or_default();
                        p.ex.answer(Answer::WebhookProven(proven));
                    }
                    Some(need) => {
                        if let Need::Claim(c) = &need {
                            p.recording = Some(c.clone());
                        }
                        // Refused a place below, it was not decided: the nonce it holds is
                        // forgotten then.
                        let held = p.recording.clone().or_else(|| p.claimed.clone());
                        let now = p.cx.now;
                        let (waiting, bytes) = (self.paused.len(), self.paused.bytes());
                        return match self.paused.insert(p, clock_ms) {
                            Some(handle) => write_need(need, handle),
                            None => {
                                if let Some(c) = &held {
                                    self.inner.nonce_store().forget(c, now);
                                }
                                error(
                                    ErrorCode::VerifierBusy,
                                    &format!(
                                        "{waiting} decisions already wait for a body, an Ed25519 verification or a nonce claim in this verifier, holding {} KiB; this request was not decided",
                                        bytes.div_ceil(1024)
                                    ),
                                )
                            }
                        };
                    }
                    None => {
                        return error(ErrorCode::Internal, "a decision stopped without a reason");
                    }
                },
            }
        }
    }

    /// Sharded mode: an allowed decision's key is a credential seen proven (its requests' cold
    /// loads then draw on the budget of proven credentials).
    pub(super) fn prove(&mut self, ks: &KeySet, o: &Outcome) {
        if let Some(cache) = &mut self.shards
            && o.reason.is_none()
            && let Some(k) = o.key.and_then(|i| ks.keys().get(i as usize))
        {
            cache.prove(k);
        }
    }

    fn in_use(&self, ks: &Arc<KeySet>) -> bool {
        Arc::ptr_eq(ks, self.inner.keyset_arc())
    }

    /// The decision of a request that was allowed under a set since replaced, made again
    /// under the set in use with the body's digests and the nonce it already holds.
    fn again(&self, p: Paused, o: Outcome, mut req: Request) -> Paused {
        let keyset = match &self.shards {
            Some(cache) => Arc::new(cache.decision_set(self.inner.keyset(), &req)),
            None => Arc::clone(self.inner.keyset_arc()),
        };
        // A webhook delivery's body proved these keys; under the set in use they count only
        // unchanged (same id, same key).
        let webhook_proven = o.webhook.is_some().then(|| {
            o.webhook_proven
                .iter()
                .filter_map(|&i| p.keyset.keys().get(i as usize))
                .filter_map(|k| Some((k.id.clone(), (**k.webhook.as_ref()?).clone())))
                .collect()
        });
        let claim = o.claim;
        if let Some(d) = &p.digests {
            req.set_body(Body::Digests(d.clone()));
        }
        let claimed = claim.or(p.claimed);
        let store: Arc<dyn NonceStore> = match &claimed {
            Some(held) => Arc::new(Reclaimed {
                inner: Arc::clone(self.inner.nonce_store_arc()),
                held: held.clone(),
            }),
            None => Arc::clone(self.inner.nonce_store_arc()),
        };
        let ex = Rc::new(Exchange::default());
        let decision = start(
            Arc::clone(&keyset),
            store,
            req,
            p.cx,
            Rc::clone(&ex),
            p.mode,
        );
        Paused {
            decision,
            ex,
            keyset,
            serial: self.serial,
            changes: self.changes,
            cx: p.cx,
            mode: p.mode,
            digests: p.digests,
            claimed,
            recording: None,
            since_ms: p.since_ms,
            webhook_proven,
            bytes: p.bytes,
        }
    }

    pub(super) fn resume(&mut self, handle: f64, answer: Answer) -> u32 {
        match self.paused.take(handle) {
            Some(mut p) => {
                if let Answer::Digests(d) = &answer {
                    p.digests = Some(d.clone());
                }
                p.ex.answer(answer);
                self.step(p, None)
            }
            None if self.paused.was_dropped(handle) => error(
                ErrorCode::VerifierBusy,
                "this decision waited over 60 s while the verifier was full, and was dropped to make room; it was not decided",
            ),
            None => error(ErrorCode::Internal, "no decision waits under this handle"),
        }
    }
}
