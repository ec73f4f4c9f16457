//! The per-request boundary with JS: numbers and one shared memory area, no JSON.
//!
//! - **In**: JS writes a request as UTF-8 into the input area (its address from
//!   `ioReserve(n)`, which also grows it) with one `TextEncoder.encodeInto`:
//!   `METHOD \0 URL \0 CLIENT_IP \0 (NAME \0 VALUE \0)*`, then calls `WasmVerifier.run(len,
//!   ...)`. A body's digests come back the same way (`resumeBody`).
//! - **Out**: every call that decides writes a fixed header at a static address (`ioOut()`),
//!   twenty little-endian `u32` words, 8-byte aligned:
//!
//! | word | meaning |
//! |---:|---|
//! | 0 | kind: 0 allowed, 1 refused, 2 needs Ed25519, 3 needs the body, 4 needs a nonce claim, 5 error, 6 needs a webhook delivery's next body chunk, 7 needs shards (sharded mode: the text block holds each shard's name and SHA-256, nothing was decided) |
//! | 1 | reason (index in `codes.js` `REASONS`), error (index in `ERROR_CODES`), a claim's kind (index in `CLAIM_KINDS`), or an allowed webhook delivery's scheme (index in `WEBHOOK_SCHEMES`) |
//! | 2 | key index + 1 (0: none; for an Ed25519 job, 0 is the stand-in key) |
//! | 3 | route index + 1 (0: none) |
//! | 4 | flags (`FLAG_*`) |
//! | 5 | (unused) |
//! | 6, 7 | address and length of the text block |
//! | 8, 9 | the judged path as a byte range of the URL, when it is the path as sent |
//! | 10–11, 12–13, 14–15 | three `f64`: the signature's `created` (an allowed webhook delivery: its `webhook-timestamp`), its `expires`, a claim's `expiresAt` (Unix seconds) |
//! | 16–17 | an `f64`: the handle of a paused decision (a whole number below 2^53, never reused) |
//! | 18 | the serial of the key set the key and route indices refer to (`keySetSerial()`) |
//!
//! The text block holds `\0`-terminated fields, in this order, each present only when its flag
//! says so: the message (refusals, errors), `Accept-Signature`, the canonical path, the key
//! (JSON, when the set changed while the decision was paused), the route pattern (likewise),
//! then an allowed webhook delivery's `webhook-id` (`FLAG_WEBHOOK`), or the
//! signature's label, `alg`, `nonce`, `tag` and its components. For a paused
//! decision it holds the job: a claim's key id and nonce, or the Ed25519 public key,
//! signature and signature base (32 + 64 + rest bytes). A webhook body chunk is written by JS into the input area (`resumeWebhookBody`).
//!
//! JS reads all of it synchronously after the call, before any `await`: concurrent decisions
//! share the areas. Views over memory are rebuilt when memory has grown (their buffer then
//! reads as empty).

use std::cell::{Cell, RefCell};

/// Kinds (word 0).
pub(super) const ALLOWED: u32 = 0;
pub(super) const REFUSED: u32 = 1;
pub(super) const NEED_ED25519: u32 = 2;
pub(super) const NEED_BODY: u32 = 3;
pub(super) const NEED_CLAIM: u32 = 4;
pub(super) const ERROR: u32 = 5;
pub(super) const NEED_WEBHOOK_BODY: u32 = 6;
pub(super) const NEED_SHARDS: u32 = 7;

/// Flags (word 4).
pub(super) const FLAG_MESSAGE: u32 = 1;
pub(super) const FLAG_ACCEPT_SIGNATURE: u32 = 1 << 1;
pub(super) const FLAG_PATH_TEXT: u32 = 1 << 2;
pub(super) const FLAG_PATH_AS_SENT: u32 = 1 << 3;
pub(super) const FLAG_KEY_TEXT: u32 = 1 << 4;
pub(super) const FLAG_ROUTE_TEXT: u32 = 1 << 5;
pub(super) const FLAG_SIGNATURE: u32 = 1 << 6;
pub(super) const FLAG_ALG: u32 = 1 << 7;
pub(super) const FLAG_NONCE: u32 = 1 << 8;
pub(super) const FLAG_TAG: u32 = 1 << 9;
pub(super) const FLAG_EXPIRES: u32 = 1 << 10;
/// A refusal that may depend on treating an unread body as non-empty: JS checks whether the
/// body is empty and, if it is, decides again without one.
pub(super) const FLAG_BODY_ASSUMED: u32 = 1 << 11;
/// [`NEED_BODY`]: the digests wanted.
pub(super) const FLAG_SHA256: u32 = 1 << 12;
pub(super) const FLAG_SHA512: u32 = 1 << 13;
/// An allowed webhook delivery (its id in the text block, its scheme in word 1).
pub(super) const FLAG_WEBHOOK: u32 = 1 << 14;

/// `run` flags (from JS).
pub(super) const RUN_BODY: u32 = 1;
pub(super) const RUN_EXTERNAL_ED25519: u32 = 1 << 1;
pub(super) const RUN_CLAIM: u32 = 1 << 2;
/// JS saw a signature field among the request's fields: keep every field (without it, only
/// the fields an unsigned decision reads are kept, and a signature field met starts over).
pub(super) const RUN_SIGNED: u32 = 1 << 3;

#[derive(Clone, Copy, Default)]
#[repr(C, align(8))]
struct Head([u32; HEAD_WORDS]);

/// Words in the output header.
pub(super) const HEAD_WORDS: usize = 20;

thread_local! {
    static INPUT: RefCell<Vec<u8>> = RefCell::new(vec![0; 16 * 1024]);
    static HEAD: Cell<Head> = Cell::new(Head::default());
    static TEXT: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(1024));
}

/// The input area's address, grown to at least `n` bytes first (and shrunk back when a
/// large request left it over 256 KiB).
pub(super) fn reserve(n: usize) -> u32 {
    INPUT.with(|v| {
        let mut v = v.borrow_mut();
        if v.len() < n {
            v.resize(n.next_power_of_two(), 0);
        } else if v.len() > 256 * 1024 && n <= 16 * 1024 {
            *v = vec![0; 16 * 1024];
        }
        v.as_ptr() as u32
    })
}

/// Runs `f` on the first `len` bytes JS wrote into the input area.
pub(super) fn with_input<T>(len: usize, f: impl FnOnce(&[u8]) -> T) -> T {
    INPUT.with(|v| {
        let v = v.borrow();
        f(&v[..len.min(v.len())])
    })
}

/// The output header's address (fixed for the life of the instance).
pub(super) fn out_address() -> u32 {
    HEAD.with(|h| h.as_ptr() as u32)
}

/// The output being written for one call.
pub(super) struct Out {
    head: [u32; HEAD_WORDS],
    text: Vec<u8>,
}

impl Out {
    pub(super) fn new(kind: u32) -> Out {
        let text = TEXT.with(|t| std::mem::take(&mut *t.borrow_mut()));
        let mut o = Out {
            head: [0; HEAD_WORDS],
            text,
        };
        o.text.clear();
        o.head[0] = kind;
        o
    }

    pub(super) fn set(&mut self, word: usize, v: u32) {
        self.head[word] = v;
    }

    pub(super) fn flag(&mut self, f: u32) {
        self.head[4] |= f;
    }

    /// An `f64` in slot 0, 1, 2 or 3 (words 10–11, 12–13, 14–15, 16–17).
    pub(super) fn float(&mut self, slot: usize, v: f64) {
        let b = v.to_bits();
        self.head[10 + 2 * slot] = b as u32;
        self.head[11 + 2 * slot] = (b >> 32) as u32;
    }

    /// A `\0`-terminated text field (a NUL inside becomes U+FFFD: fields never hold one).
    pub(super) fn field(&mut self, flag: u32, s: &str) {
        self.flag(flag);
        if s.contains('\0') {
            self.text
                .extend_from_slice(s.replace('\0', "\u{FFFD}").as_bytes());
        } else {
            self.text.extend_from_slice(s.as_bytes());
        }
        self.text.push(0);
    }

    pub(super) fn bytes(&mut self, b: &[u8]) {
        self.text.extend_from_slice(b);
    }

    /// Publishes the output; returns the kind.
    pub(super) fn finish(mut self) -> u32 {
        self.head[6] = self.text.as_ptr() as u32;
        self.head[7] = self.text.len() as u32;
        let kind = self.head[0];
        HEAD.with(|h| h.set(Head(self.head)));
        TEXT.with(|t| *t.borrow_mut() = self.text);
        kind
    }
}

/// Tests: writes `b` into the input area, as JS does.
#[cfg(test)]
pub(super) fn set_input(b: &[u8]) {
    reserve(b.len());
    INPUT.with(|v| v.borrow_mut()[..b.len()].copy_from_slice(b));
}

/// Tests: the last output header and text block, as JS reads them.
#[cfg(test)]
pub(super) fn output() -> ([u32; HEAD_WORDS], Vec<u8>) {
    let head = HEAD.with(|h| h.get().0);
    let text = TEXT.with(|t| t.borrow().clone());
    (head, text)
}
