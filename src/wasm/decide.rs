//! Deciding requests for the JS glue through the lean boundary of `io.rs`: `run` decides a
//! request written into the input area, and a decision that must wait (the runtime's
//! Ed25519, a body's digests, an outer nonce store) is kept here under a handle until JS
//! answers with `resumeVerify`, `resumeBody`, `resumeWebhookBody` or `resumeClaim`, or drops
//! it with `abandon`.
//! The decision is made once: resuming continues it where it stopped (`crate::decide::flow`).

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use serde_json::json;
use wasm_bindgen::prelude::*;

use super::WasmVerifier;
use super::io::{self, Out};
use crate::decide::flow::{self, Answer, Exchange, Mode, Need};
use crate::decide::outcome::{JudgedPath, Outcome};
use crate::decide::{Context, judge};
use crate::keyset::KeySet;
use crate::request::Request;
use crate::{Body, BodyDigests, DigestAlgorithm, ErrorCode, UnixTime};

type Decision = Pin<Box<dyn Future<Output = (Outcome, Request)>>>;

/// A decision that may wait for JS.
pub(super) struct Paused {
    decision: Decision,
    ex: Rc<Exchange>,
    /// The set it is decided under (an update meanwhile does not change the answer).
    keyset: Arc<KeySet>,
}

/// Paused decisions by handle: a slot index in the low 16 bits, the slot's generation above
/// (a stale handle finds nothing).
#[derive(Default)]
pub(super) struct Slab {
    slots: Vec<(u16, Option<Paused>)>,
    free: Vec<usize>,
}

impl Slab {
    fn insert(&mut self, p: Paused) -> u32 {
        let i = self.free.pop().unwrap_or_else(|| {
            self.slots.push((0, None));
            self.slots.len() - 1
        });
        let slot = &mut self.slots[i];
        slot.1 = Some(p);
        (u32::from(slot.0) << 16) | i as u32
    }

    fn take(&mut self, handle: u32) -> Option<Paused> {
        let i = (handle & 0xffff) as usize;
        let slot = self.slots.get_mut(i)?;
        if slot.0 != (handle >> 16) as u16 || slot.1.is_none() {
            return None;
        }
        slot.0 = slot.0.wrapping_add(1);
        self.free.push(i);
        slot.1.take()
    }

    pub(super) fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.1.is_some()).count()
    }
}

fn error(code: ErrorCode, message: &str) -> u32 {
    let mut out = Out::new(io::ERROR);
    out.set(1, code.index());
    out.field(io::FLAG_MESSAGE, message);
    out.finish()
}

/// Reads the input area into `req`: the client address, or the error to report.
fn read_input(input: &[u8], req: &mut Request) -> Result<Option<IpAddr>, (ErrorCode, String)> {
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
            (Some(name), Some(value)) => req.push_header(name, value),
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

/// A key as JSON, for the JS key table: `{"id", "name", "expires_at", "meta", "scopes"}`.
fn key_json(ks: &KeySet, i: u32) -> Option<String> {
    let k = ks.keys().get(i as usize)?;
    let mut v = json!({
        "id": k.id,
        "name": k.name,
        "expires_at": k.expires_at.map(|t| t.to_rfc3339()),
        "meta": null,
        "scopes": &*k.scopes,
    });
    if let Some(m) = &k.meta {
        v["meta"] = serde_json::from_str(m).ok()?;
    }
    Some(v.to_string())
}

/// Writes a finished decision.
fn write_outcome(ks: &KeySet, req: &Request, o: Outcome, set_changed: bool) -> u32 {
    let mut out = Out::new(if o.reason.is_none() {
        io::ALLOWED
    } else {
        io::REFUSED
    });
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
fn write_need(need: Need, handle: u32) -> u32 {
    let kind = match &need {
        Need::Ed25519 { .. } => io::NEED_ED25519,
        Need::Body(_) => io::NEED_BODY,
        Need::Claim(_) => io::NEED_CLAIM,
        Need::WebhookBody => io::NEED_WEBHOOK_BODY,
    };
    let mut out = Out::new(kind);
    out.set(5, handle);
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
    fn step(&mut self, mut p: Paused) -> u32 {
        match flow::poll_once(p.decision.as_mut()) {
            Some((o, mut req)) => {
                let changed = !Arc::ptr_eq(&p.keyset, self.inner.keyset_arc());
                let kind = write_outcome(&p.keyset, &req, o, changed);
                req.reset();
                self.scratch = req;
                kind
            }
            None => match p.ex.take_need() {
                Some(need) => {
                    let handle = self.paused.insert(p);
                    write_need(need, handle)
                }
                None => error(ErrorCode::Internal, "a decision stopped without a reason"),
            },
        }
    }

    fn resume(&mut self, handle: u32, answer: Answer) -> u32 {
        match self.paused.take(handle) {
            Some(p) => {
                p.ex.answer(answer);
                self.step(p)
            }
            None => error(ErrorCode::Internal, "no decision waits under this handle"),
        }
    }
}

#[wasm_bindgen]
impl WasmVerifier {
    /// Decides the request JS wrote into the input area (`len` bytes) at `now_ms`; `flags`:
    /// `RUN_BODY` (a body that was not read), `RUN_EXTERNAL_ED25519`, `RUN_CLAIM` (an outer
    /// nonce store). Returns the kind; the output is at `ioOut()`.
    pub fn run(&mut self, len: u32, now_ms: f64, flags: u32) -> u32 {
        let mut req = std::mem::take(&mut self.scratch);
        let ip = match io::with_input(len as usize, |input| read_input(input, &mut req)) {
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
            let kind = write_outcome(&keyset, &req, o, false);
            self.scratch = req;
            return kind;
        }
        let store = Arc::clone(self.inner.nonce_store_arc());
        let ex = Rc::new(Exchange::default());
        let asked = Rc::clone(&ex);
        let ks = Arc::clone(&keyset);
        let decision: Decision = Box::pin(async move {
            let o = judge(&ks, &*store, &req, &cx, &asked, mode).await;
            (o, req)
        });
        self.step(Paused {
            decision,
            ex,
            keyset,
        })
    }

    /// Answers a paused decision's Ed25519 job: `1` valid, `0` invalid, `2` the runtime could
    /// not verify (then `verify_strict` decides here).
    #[wasm_bindgen(js_name = resumeVerify)]
    pub fn resume_verify(&mut self, handle: u32, ok: u32) -> u32 {
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
    pub fn resume_body(&mut self, handle: u32, have: u32, len: f64) -> u32 {
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
    pub fn resume_webhook_body(&mut self, handle: u32, len: u32, end: bool) -> u32 {
        let a = if end {
            Answer::BodyEnd
        } else {
            Answer::Chunk(io::with_input(len as usize, <[u8]>::to_vec))
        };
        self.resume(handle, a)
    }

    /// Answers a paused decision's nonce claim: `fresh` when the outer store had not seen it.
    #[wasm_bindgen(js_name = resumeClaim)]
    pub fn resume_claim(&mut self, handle: u32, fresh: bool) -> u32 {
        self.resume(handle, Answer::Claimed(fresh))
    }

    /// Drops a paused decision (JS calls it whenever it stops before the end).
    pub fn abandon(&mut self, handle: u32) {
        drop(self.paused.take(handle));
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
