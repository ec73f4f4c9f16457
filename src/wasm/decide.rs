//! Deciding requests for the JS glue through the lean boundary of `io.rs`: `run` decides a
//! request written into the input area, and a decision that must wait (the runtime's
//! Ed25519, a body's digests, an outer nonce store) is kept here under a handle until JS
//! answers with `resumeVerify`, `resumeBody`, `resumeWebhookBody` or `resumeClaim`, or drops
//! it with `abandon`. Resuming continues the decision where it stopped (`crate::decide::flow`).
//!
//! A decision that ends allowed under a key set that is no longer the one in use (an update
//! arrived while it waited) is decided again under the set in use, with what it already has
//! (the body's digests, the nonce it claimed, the webhook keys its body proved): a key revoked,
//! disabled, removed or re-keyed while a body was still arriving is refused at once. A refusal
//! stands.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use wasm_bindgen::prelude::*;

use super::WasmVerifier;
use super::io::{self, Out};
use crate::decide::flow::{self, Answer, Exchange, Mode, Need};
use crate::decide::outcome::{JudgedPath, Outcome};
use crate::decide::{Context, judge};
use crate::keyset::KeySet;
use crate::request::{Request, is_signature_field};
use crate::sig::{NonceClaim, NonceStore};
use crate::webhook::WebhookKey;
use crate::{Body, BodyDigests, DigestAlgorithm, ErrorCode, UnixTime};

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
    cx: Context,
    mode: Mode,
    /// The body's digests, once JS gave them (a decision made again does not ask twice).
    digests: Option<BodyDigests>,
    /// The nonce this request holds: recorded, and claimed in the outer store, by an earlier
    /// decision of it under a set since replaced.
    claimed: Option<NonceClaim>,
    /// The nonce it recorded in the verifier's store and now asks the outer store to claim.
    recording: Option<NonceClaim>,
    /// The wall clock (ms, from JS) when the request was first run.
    since_ms: f64,
    /// A webhook delivery decided again: the keys its body proved under an older set (the body
    /// streamed through once and is not read again).
    webhook_proven: Option<Vec<(String, WebhookKey)>>,
    /// What it holds of the module's memory, as counted against `MAX_WAITING_BYTES`.
    bytes: usize,
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

/// How many decisions of one verifier may wait at once; past it a new signed request fails
/// closed with `ERR_VERIFIER_BUSY`.
pub(super) const MAX_WAITING: usize = 4096;

/// How many bytes of the module's memory the waiting decisions of one verifier may hold
/// together (each counts its request's buffers and `WAIT_OVERHEAD`); past it, as past
/// `MAX_WAITING`, a new signed request fails closed. A request holds up to its 64 KiB header
/// section, so the count alone let 4096 of them hold 256 MiB, twice a Worker isolate's
/// memory (and wasm memory never shrinks). 16 MiB is over 4096 small requests (the count
/// binds first for those) or about 250 with full header sections, and leaves a 128 MB isolate room for
/// the key set, the nonce store and the JS heap.
pub(super) const MAX_WAITING_BYTES: usize = 16 << 20;

/// What a waiting decision holds beside its request: the suspended decision, its exchange
/// and MAC states (module memory grew by 3.2 to 3.6 KiB per waiting webhook delivery with a
/// request of a few hundred bytes).
const WAIT_OVERHEAD: usize = 3 << 10;

/// When the table is full, a decision that started longer ago than this (by the wall clock JS
/// passes to `run`) is dropped to make room: a runtime that dropped a cancelled request's
/// promises, or a nonce store that never answers, cannot fill the table for good.
pub(super) const MAX_WAIT_MS: f64 = 60_000.0;

/// Handles stay below 2^53, so JS carries them exactly as numbers.
const MAX_HANDLE: u64 = 1 << 53;

/// Paused decisions by handle. A handle is a counter that never repeats (an `f64` in JS, a
/// whole number below 2^53), so a handle names one pause of one decision: a stale handle
/// finds nothing, and no handle can name another request's decision.
pub(super) struct Slab {
    /// By handle, in increasing order (handles are given in order; a plain vector keeps the
    /// module small, and it holds at most `limit` entries).
    waiting: Vec<(u64, Paused)>,
    next: u64,
    limit: usize,
    /// The sum of the waiting decisions' `bytes`, and its bound.
    bytes: usize,
    byte_limit: usize,
    /// The handles of the latest decisions dropped for waiting too long (at most `limit`), so
    /// their requests are told why.
    dropped: Vec<u64>,
}

impl Default for Slab {
    fn default() -> Self {
        Slab {
            waiting: Vec::new(),
            next: 0,
            limit: MAX_WAITING,
            bytes: 0,
            byte_limit: MAX_WAITING_BYTES,
            dropped: Vec::new(),
        }
    }
}

/// A handle from JS as the counter it names (`None` for anything that is not one).
fn handle_id(handle: f64) -> Option<u64> {
    (handle.is_finite() && handle >= 0.0 && handle.fract() == 0.0 && handle < MAX_HANDLE as f64)
        .then_some(handle as u64)
}

impl Slab {
    /// Whether `p` would take the table past its count or its bytes.
    fn full_for(&self, p: &Paused) -> bool {
        self.waiting.len() >= self.limit || self.bytes.saturating_add(p.bytes) > self.byte_limit
    }

    /// Keeps `p` waiting; `None` (and `p` dropped) when `limit` decisions, or `byte_limit`
    /// bytes with `p`'s, already wait and, with the wall clock `clock_ms` known, dropping
    /// those that started more than `MAX_WAIT_MS` before it (dropped first) does not make room.
    fn insert(&mut self, p: Paused, clock_ms: Option<f64>) -> Option<f64> {
        if self.full_for(&p)
            && let Some(now) = clock_ms.filter(|c| c.is_finite())
        {
            self.drop_older_than(now - MAX_WAIT_MS);
        }
        if self.full_for(&p) || self.next >= MAX_HANDLE {
            return None;
        }
        let id = self.next;
        self.next += 1;
        self.bytes += p.bytes;
        self.waiting.push((id, p));
        Some(id as f64)
    }

    /// Drops every decision that started at or before `cutoff_ms`.
    fn drop_older_than(&mut self, cutoff_ms: f64) {
        let (limit, dropped, bytes) = (self.limit.max(1), &mut self.dropped, &mut self.bytes);
        self.waiting.retain(|(id, p)| {
            if p.since_ms > cutoff_ms {
                return true;
            }
            *bytes -= p.bytes;
            if dropped.len() >= limit {
                dropped.remove(0);
            }
            dropped.push(*id);
            false
        });
    }

    fn take(&mut self, handle: f64) -> Option<Paused> {
        let id = handle_id(handle)?;
        let at = self.waiting.binary_search_by_key(&id, |(i, _)| *i).ok()?;
        let p = self.waiting.remove(at).1;
        self.bytes -= p.bytes;
        Some(p)
    }

    /// Whether `handle` named a decision dropped for waiting too long.
    fn was_dropped(&self, handle: f64) -> bool {
        handle_id(handle).is_some_and(|id| self.dropped.contains(&id))
    }

    pub(super) fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Sets how many decisions, and how many bytes, may wait (`MAX_WAITING` and
    /// `MAX_WAITING_BYTES` unless changed: a test lowers them).
    pub(super) fn set_limit(&mut self, limit: usize, bytes: usize) {
        self.limit = limit;
        self.byte_limit = bytes;
    }

    /// How many bytes the waiting decisions hold (as counted).
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Tests: the next handle (to start near a boundary).
    #[cfg(test)]
    pub(super) fn skip_to(&mut self, next: u64) {
        self.next = next;
    }
}

fn error(code: ErrorCode, message: &str) -> u32 {
    let mut out = Out::new(io::ERROR);
    out.set(1, code.index());
    out.field(io::FLAG_MESSAGE, message);
    out.finish()
}

/// Reads the input area into `req`: the client address, or the error to report.
///
/// With `unread`, a request without signature fields keeps only the fields its decision reads
/// (every field is still checked and counted against the section limits, in order, exactly as
/// when kept); on meeting a signature field it is read again keeping every field, since a
/// signature may cover any of them. `unread` is JS's word that it saw no signature field: a
/// speed hint, never trusted.
fn read_input(
    input: &[u8],
    req: &mut Request,
    unread: bool,
) -> Result<Option<IpAddr>, (ErrorCode, String)> {
    let text = std::str::from_utf8(input).map_err(|_| {
        (
            ErrorCode::RequestInvalid,
            "the request is not UTF-8".to_string(),
        )
    })?;
    // Fields end at each NUL (one pass over the bytes; a NUL is always one byte in UTF-8).
    let mut at = 0;
    let mut parts = std::iter::from_fn(|| {
        let rest = text.get(at..)?;
        let end = rest.bytes().position(|b| b == 0).unwrap_or(rest.len());
        at += end + 1;
        Some(&rest[..end])
    });
    let (Some(method), Some(url), Some(ip)) = (parts.next(), parts.next(), parts.next()) else {
        return Err((ErrorCode::RequestInvalid, "incomplete request".to_string()));
    };
    req.start(method, url)
        .map_err(|e| (ErrorCode::RequestInvalid, e.to_string()))?;
    loop {
        match (parts.next(), parts.next()) {
            (Some(""), None) => break,
            (Some(name), Some(value)) if !unread => req.push_header(name, value),
            (Some(name), Some(_)) if is_signature_field(name) => {
                return read_input(input, req, false);
            }
            (Some(name), Some(value)) => req.push_header_unread(name, value),
            _ => {
                return Err((
                    ErrorCode::RequestInvalid,
                    "the request method, URL or client address contains NUL".to_string(),
                ));
            }
        }
    }
    match ip {
        "" => Ok(None),
        s => s.parse::<IpAddr>().map(Some).map_err(|_| {
            (
                ErrorCode::InvalidOptions,
                format!("clientIp {s:?} is not an IP address"),
            )
        }),
    }
}

/// A key as JSON, for the JS key table (`keyRecord` in decision.js): `{"id", "name",
/// "expires", "meta", "scopes"}`, `expires` in seconds since the epoch as `to_rfc3339` writes
/// them (the JS glue writes the text), `meta` the compact object text the set holds. Written
/// by hand, without serde's `Value` or a formatted time: a first decision compiles only this.
fn key_json(ks: &KeySet, i: u32) -> Option<String> {
    let k = ks.keys().get(i as usize)?;
    let meta = k.meta.as_deref().unwrap_or("null");
    let mut s = String::with_capacity(64 + k.id.len() + meta.len());
    s.push_str("{\"id\":");
    json_str(&mut s, &k.id);
    s.push_str(",\"name\":");
    match &k.name {
        Some(n) => json_str(&mut s, n),
        None => s.push_str("null"),
    }
    s.push_str(",\"expires\":");
    match k.expires_at {
        Some(t) => json_int(&mut s, t.rfc3339_secs()),
        None => s.push_str("null"),
    }
    s.push_str(",\"meta\":");
    s.push_str(meta);
    s.push_str(",\"scopes\":[");
    for (j, scope) in k.scopes.iter().enumerate() {
        if j > 0 {
            s.push(',');
        }
        json_str(&mut s, scope);
    }
    s.push_str("]}");
    Some(s)
}

/// Appends `v` as a JSON string (RFC 8259 section 7: quote, reverse solidus and controls escaped).
fn json_str(s: &mut String, v: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    s.push('"');
    let mut from = 0;
    for (at, b) in v.bytes().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        s.push_str(&v[from..at]);
        from = at + 1;
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            _ => {
                s.push_str("\\u00");
                s.push(char::from(HEX[usize::from(b >> 4)]));
                s.push(char::from(HEX[usize::from(b & 15)]));
            }
        }
    }
    s.push_str(&v[from..]);
    s.push('"');
}

/// Appends `n` in decimal.
fn json_int(s: &mut String, n: i64) {
    if n < 0 {
        s.push('-');
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut m = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        s.push(char::from(d));
    }
}

/// Writes a finished decision, decided under `ks` (whose serial is `serial`).
fn write_outcome(ks: &KeySet, serial: u32, req: &Request, o: Outcome, set_changed: bool) -> u32 {
    let mut out = Out::new(if o.reason.is_none() {
        io::ALLOWED
    } else {
        io::REFUSED
    });
    out.set(18, serial);
    if let Some(r) = o.reason {
        out.set(1, r.index());
    }
    out.set(2, o.key.map_or(0, |k| k + 1));
    out.set(3, o.route.map_or(0, |r| r + 1));
    if o.reason.is_some() {
        out.field(io::FLAG_MESSAGE, &o.message);
    }
    if let Some(a) = &o.accept_signature {
        out.field(io::FLAG_ACCEPT_SIGNATURE, a);
        if matches!(req.body, Body::Pending) && ks.policy().signature.require_content_digest {
            out.flag(io::FLAG_BODY_ASSUMED);
        }
    }
    match &o.path {
        JudgedPath::None => {}
        JudgedPath::AsSent => match req.url_path {
            Some((a, b)) => {
                out.flag(io::FLAG_PATH_AS_SENT);
                out.set(8, a);
                out.set(9, b);
            }
            None => out.field(io::FLAG_PATH_TEXT, req.path()),
        },
        JudgedPath::Canonical(p) => out.field(io::FLAG_PATH_TEXT, p),
    }
    if set_changed {
        if let Some(k) = o.key.and_then(|k| key_json(ks, k)) {
            out.field(io::FLAG_KEY_TEXT, &k);
        }
        if let Some(r) = o.route.and_then(|r| ks.routes().get(r as usize)) {
            out.field(io::FLAG_ROUTE_TEXT, r.path.as_str());
        }
    }
    if let Some(w) = &o.webhook {
        out.set(1, w.scheme.index());
        out.field(io::FLAG_WEBHOOK, &w.id);
        out.float(0, w.timestamp as f64);
    }
    if let Some(s) = &o.signature {
        out.field(io::FLAG_SIGNATURE, &s.label);
        let p = &s.params;
        for (flag, v) in [
            (io::FLAG_ALG, &p.alg),
            (io::FLAG_NONCE, &p.nonce),
            (io::FLAG_TAG, &p.tag),
        ] {
            if let Some(v) = v {
                out.field(flag, v);
            }
        }
        out.float(0, p.created.unwrap_or_default() as f64);
        if let Some(e) = p.expires {
            out.flag(io::FLAG_EXPIRES);
            out.float(1, e as f64);
        }
        for c in &s.components {
            out.field(0, c);
        }
    }
    out.finish()
}

/// Writes what a paused decision waits for.
fn write_need(need: Need, handle: f64) -> u32 {
    let kind = match &need {
        Need::Ed25519 { .. } => io::NEED_ED25519,
        Need::Body(_) => io::NEED_BODY,
        Need::Claim(_) => io::NEED_CLAIM,
        Need::WebhookBody => io::NEED_WEBHOOK_BODY,
    };
    let mut out = Out::new(kind);
    out.float(3, handle);
    match need {
        Need::Ed25519 { key, pk, sig, msg } => {
            out.set(2, key.map_or(0, |k| k + 1));
            out.bytes(&pk);
            out.bytes(&sig);
            out.bytes(&msg);
        }
        Need::Body(algs) => {
            for a in algs {
                out.flag(match a {
                    DigestAlgorithm::Sha256 => io::FLAG_SHA256,
                    DigestAlgorithm::Sha512 => io::FLAG_SHA512,
                });
            }
        }
        Need::WebhookBody => {}
        Need::Claim(c) => {
            out.set(1, c.kind.index());
            out.field(0, &c.key_id);
            out.field(io::FLAG_NONCE, &c.nonce);
            out.float(2, c.expires_at.as_secs() as f64);
        }
    }
    out.finish()
}

impl WasmVerifier {
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
    fn prove(&mut self, ks: &KeySet, o: &Outcome) {
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

    fn resume(&mut self, handle: f64, answer: Answer) -> u32 {
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

#[wasm_bindgen]
impl WasmVerifier {
    /// Decides the request JS wrote into the input area (`len` bytes) at `now_ms`; `flags`:
    /// `RUN_BODY` (a body that was not read), `RUN_EXTERNAL_ED25519`, `RUN_CLAIM` (an outer
    /// nonce store), `RUN_SIGNED` (JS saw a signature field: every header field is kept;
    /// without it only those an unsigned decision reads, see `read_input`). `clock_ms` is the wall clock (the decision's `now` may be pinned by the
    /// caller), for how long a decision has waited. Returns the kind; the output is at
    /// `ioOut()`.
    pub fn run(&mut self, len: u32, now_ms: f64, flags: u32, clock_ms: f64) -> u32 {
        let mut req = std::mem::replace(&mut self.scratch, Request::blank());
        let ip = match io::with_input(len as usize, |input| {
            read_input(input, &mut req, flags & io::RUN_SIGNED == 0)
        }) {
            Ok(ip) => ip,
            Err((code, m)) => {
                self.scratch = req;
                return error(code, &m);
            }
        };
        if !now_ms.is_finite() {
            self.scratch = req;
            return error(ErrorCode::InvalidOptions, "now is not a finite time");
        }
        if let Some(cache) = &mut self.shards {
            let (need, unproven) = cache.needs_marked(&req);
            if !need.is_empty() {
                self.scratch = req;
                return super::shard::write_need(cache.manifest(), &need, unproven);
            }
        }
        let cx = Context::new(UnixTime::from_millis(now_ms as i64)).with_client_ip(ip);
        let mode = Mode {
            external_ed25519: flags & io::RUN_EXTERNAL_ED25519 != 0,
            ask_body: flags & io::RUN_BODY != 0,
            ask_claim: flags & io::RUN_CLAIM != 0,
        };
        if mode.ask_body {
            req.set_body(Body::Pending);
        }
        let signed = req.header_values("signature-input").next().is_some()
            || req.header_values("signature").next().is_some()
            || req.header_values("webhook-signature").next().is_some();
        let keyset = Arc::clone(self.inner.keyset_arc());
        if !signed {
            // Nothing to wait for: decided in place.
            let ex = Exchange::default();
            let o = flow::run_native(
                judge(&keyset, self.inner.nonce_store(), &req, &cx, &ex, mode),
                || Outcome::refuse(crate::Reason::MalformedRequest, "undecided"),
            );
            self.prove(&keyset, &o);
            let kind = write_outcome(&keyset, self.serial, &req, o, false);
            self.scratch = req;
            return kind;
        }
        self.run_waiting(keyset, req, cx, mode, clock_ms)
    }

    /// [`run`](Self::run) for a request that may wait (signed): kept out of line, so that
    /// an unsigned decision does not compile (on its first call, in V8) what only a waiting
    /// one runs.
    #[inline(never)]
    fn run_waiting(
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

    /// Answers a paused decision's Ed25519 job: `1` valid, `0` invalid, `2` the runtime could
    /// not verify (then `verify_strict` decides here).
    #[wasm_bindgen(js_name = resumeVerify)]
    pub fn resume_verify(&mut self, handle: f64, ok: u32) -> u32 {
        let a = match ok {
            0 => Answer::Verified(false),
            1 => Answer::Verified(true),
            _ => Answer::VerifyHere,
        };
        self.resume(handle, a)
    }

    /// Answers a paused decision's body: the digests JS wrote into the input area (SHA-256 at
    /// bytes 0–31 when `have & 1`, SHA-512 at 32–95 when `have & 2`) of a body of `len` bytes.
    #[wasm_bindgen(js_name = resumeBody)]
    pub fn resume_body(&mut self, handle: f64, have: u32, len: f64) -> u32 {
        let d = io::with_input(96, |b| {
            let sha256 = (have & 1 != 0)
                .then(|| b.get(..32).and_then(|s| s.try_into().ok()))
                .flatten();
            let sha512 = (have & 2 != 0)
                .then(|| b.get(32..96).and_then(|s| s.try_into().ok()))
                .flatten();
            BodyDigests::new(len.max(0.0) as u64, sha256, sha512)
        });
        self.resume(handle, Answer::Digests(d))
    }

    /// Answers a paused webhook delivery's body: the next `len` bytes JS wrote into the input
    /// area, or (`end`) that the body has no more.
    #[wasm_bindgen(js_name = resumeWebhookBody)]
    pub fn resume_webhook_body(&mut self, handle: f64, len: u32, end: bool) -> u32 {
        let a = if end {
            Answer::BodyEnd
        } else {
            Answer::Chunk(io::with_input(len as usize, <[u8]>::to_vec))
        };
        self.resume(handle, a)
    }

    /// Answers a paused decision's nonce claim: `fresh` when the outer store had not seen it.
    #[wasm_bindgen(js_name = resumeClaim)]
    pub fn resume_claim(&mut self, handle: f64, fresh: bool) -> u32 {
        self.resume(handle, Answer::Claimed(fresh))
    }

    /// Drops a paused decision (JS calls it whenever it stops before the end: the request was
    /// not decided). A nonce it recorded in the verifier's store is forgotten, so that the
    /// request may be sent again; JS releases the outer store's claim likewise.
    pub fn abandon(&mut self, handle: f64) {
        if let Some(p) = self.paused.take(handle)
            && let Some(c) = p.recording.as_ref().or(p.claimed.as_ref())
        {
            self.inner.nonce_store().forget(c, p.cx.now);
        }
    }

    /// Sets how many decisions of this verifier may wait at once (`MAX_WAITING`, 4096, unless
    /// set), and how many bytes they may hold (`MAX_WAITING_BYTES`, 16 MiB, when `0`);
    /// for tests, which lower them.
    #[wasm_bindgen(js_name = setWaitingLimit)]
    pub fn set_waiting_limit(&mut self, limit: u32, bytes: u32) {
        let bytes = if bytes == 0 {
            MAX_WAITING_BYTES
        } else {
            bytes as usize
        };
        self.paused.set_limit(limit as usize, bytes);
    }

    /// How many decisions wait (for tests: none may be left behind).
    #[wasm_bindgen(js_name = pausedCount)]
    pub fn paused_count(&self) -> u32 {
        self.paused.len() as u32
    }

    /// Key `i` of the set in use as JSON (`{"id", "name", "expires_at", "meta", "scopes"}`):
    /// asked once per key and set by the JS key table.
    #[wasm_bindgen(js_name = keyInfo)]
    pub fn key_info(&self, i: u32) -> Option<String> {
        key_json(self.inner.keyset(), i)
    }

    /// The pattern of route `i` of the set in use.
    #[wasm_bindgen(js_name = routePattern)]
    pub fn route_pattern(&self, i: u32) -> Option<String> {
        self.inner
            .keyset()
            .routes()
            .get(i as usize)
            .map(|r| r.path.as_str().to_string())
    }
}

/// The input area's address, with room for at least `n` bytes.
#[wasm_bindgen(js_name = ioReserve)]
pub fn io_reserve(n: u32) -> u32 {
    io::reserve(n as usize)
}

/// The output header's address.
#[wasm_bindgen(js_name = ioOut)]
pub fn io_out() -> u32 {
    io::out_address()
}

/// The module's memory (for the views JS reads and writes the areas through).
#[wasm_bindgen(js_name = ioMemory)]
pub fn io_memory() -> JsValue {
    wasm_bindgen::memory()
}
