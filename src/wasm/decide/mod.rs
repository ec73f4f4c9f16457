//! Deciding requests for the JS glue through the lean boundary of `io.rs`: `run` decides a
//! request written into the input area, and a decision that must wait (the runtime's
//! Ed25519, a body's digests, an outer nonce store) is kept under a handle until JS
//! answers with `resumeVerify`, `resumeBody`, `resumeWebhookBody` or `resumeClaim`, or drops
//! it with `abandon`. Resuming continues the decision where it stopped (`crate::decide::flow`).
//!
//! A decision that ends allowed under a key set that is no longer the one in use (an update
//! arrived while it waited) is decided again under the set in use, with what it already has
//! (the body's digests, the nonce it claimed, the webhook keys its body proved): a key revoked,
//! disabled, removed or re-keyed while a body was still arriving is refused at once. A refusal
//! stands.
//!
//! Here: the exported methods (`run`, the resumes, `abandon`, the table's limits, key and route
//! text, the areas' addresses). `input` reads a request from the input area, `output` writes
//! decisions, needs and errors to the output area, `waiting` carries a decision that waits
//! through its pauses, and `slab` keeps the waiting ones under their handles.

mod input;
mod output;
mod slab;
mod waiting;

use std::sync::Arc;

use wasm_bindgen::prelude::*;

use self::input::read_input;
use self::output::{error, key_json, write_outcome};
use self::slab::MAX_WAITING_BYTES;
pub(super) use self::slab::Slab;
#[cfg(test)]
pub(super) use self::slab::{MAX_WAIT_MS, MAX_WAITING};
use super::WasmVerifier;
use super::io;
use crate::decide::flow::{self, Answer, Exchange, Mode};
use crate::decide::outcome::Outcome;
use crate::decide::{Context, judge};
use crate::request::Request;
use crate::{Body, BodyDigests, ErrorCode, UnixTime};

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
