//! A decision that can wait: the order of checks (`mod.rs`) is written once, as an `async`
//! function, and pauses only where the answer must come from outside.
//!
//! Natively nothing comes from outside: [`run_native`] polls the decision once and it is done
//! (Ed25519 through `verify_strict`, the body from the request, nonces from the store). The
//! wasm facade runs the same decision with a [`Mode`] that lets it pause at three points:
//!
//! - [`Need::Ed25519`]: the curve equation of a signature that passed the strict checks of
//!   `crate::sig::ed25519`, for the runtime's WebCrypto (the answer may also be "verify here");
//! - [`Need::Body`]: the digests of a body that was not read, asked only once every other
//!   check has passed, so a refused request is never hashed;
//! - [`Need::Claim`]: an outer nonce store's verdict on an accepted nonce;
//! - [`Need::WebhookBody`]: the next chunk of a webhook delivery's body, whose bytes are
//!   signed, asked once the delivery's fields, time and work bound passed and MACed as it
//!   streams (nothing is kept beyond the chunk in hand).
//!
//! The facade keeps the paused decision (it owns its key set, request and store) and resumes
//! it with the [`Answer`]: the decision is made once, never re-run.

// Only the wasm facade (and the tests) pause a decision.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

use std::cell::RefCell;
use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context as TaskCx, Poll, Waker};

use crate::request::body::BodyDigests;
use crate::sig::NonceClaim;
use crate::sig::digest::DigestAlgorithm;
use crate::webhook::WebhookKey;

/// Where a decision may pause (all off natively).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Mode {
    /// The runtime verifies Ed25519 after the strict checks ([`Need::Ed25519`]).
    pub(crate) external_ed25519: bool,
    /// A [`Body::Pending`](crate::Body::Pending) is hashed on demand ([`Need::Body`]); off, it
    /// decides as "digests not supplied" (`Verifier::decide_deferred` stops there).
    pub(crate) ask_body: bool,
    /// An outer nonce store claims every accepted nonce ([`Need::Claim`]).
    pub(crate) ask_claim: bool,
}

/// What a paused decision waits for.
#[derive(Debug)]
pub(crate) enum Need {
    /// Verify `sig` over `msg` with the Ed25519 public key `pk`: the key at `key` in the set,
    /// or the stand-in (`None`).
    Ed25519 {
        key: Option<u32>,
        pk: [u8; 32],
        sig: [u8; 64],
        msg: Vec<u8>,
    },
    /// The body's digests with these algorithms (each at most once).
    Body(Vec<DigestAlgorithm>),
    /// Claim this nonce in the outer store.
    Claim(NonceClaim),
    /// The next chunk of a webhook delivery's body ([`Answer::Chunk`], then
    /// [`Answer::BodyEnd`]).
    WebhookBody,
}

/// How a pause is answered.
#[derive(Debug)]
pub(crate) enum Answer {
    /// The Ed25519 signature verifies (or not).
    Verified(bool),
    /// The runtime could not verify: verify in this module (`verify_strict`).
    VerifyHere,
    /// The body's digests (of a non-empty body).
    Digests(BodyDigests),
    /// The outer store's verdict: `true` when the nonce was new.
    Claimed(bool),
    /// The next bytes of a webhook delivery's body.
    Chunk(Vec<u8>),
    /// A webhook delivery's body has no more bytes.
    BodyEnd,
    /// Instead of the body: the delivery is being decided again under a newer key set, and
    /// its body, already streamed, proved these keys (id and key) under the older one. A key
    /// of the set in use counts as proven only with the same id and the same key.
    WebhookProven(Vec<(String, WebhookKey)>),
}

/// The slot between a paused decision and whoever answers it.
#[derive(Debug, Default)]
pub(crate) struct Exchange {
    need: RefCell<Option<Need>>,
    answer: RefCell<Option<Answer>>,
}

impl Exchange {
    /// Pauses until `need` is answered.
    pub(crate) fn ask(&self, need: Need) -> Ask<'_> {
        Ask {
            ex: self,
            need: Some(need),
        }
    }

    /// What the decision paused for (once).
    pub(crate) fn take_need(&self) -> Option<Need> {
        self.need.borrow_mut().take()
    }

    /// Answers the pause; the next poll continues the decision.
    pub(crate) fn answer(&self, a: Answer) {
        *self.answer.borrow_mut() = Some(a);
    }
}

/// The future of one question.
pub(crate) struct Ask<'a> {
    ex: &'a Exchange,
    need: Option<Need>,
}

impl Future for Ask<'_> {
    type Output = Answer;

    fn poll(self: Pin<&mut Self>, _: &mut TaskCx<'_>) -> Poll<Answer> {
        let this = self.get_mut();
        if let Some(n) = this.need.take() {
            *this.ex.need.borrow_mut() = Some(n);
            return Poll::Pending;
        }
        match this.ex.answer.borrow_mut().take() {
            Some(a) => Poll::Ready(a),
            None => Poll::Pending,
        }
    }
}

/// Polls a decision once: `Some` when it is done (it only ever waits on its [`Exchange`]).
pub(crate) fn poll_once<T, F: Future<Output = T> + ?Sized>(fut: Pin<&mut F>) -> Option<T> {
    match fut.poll(&mut TaskCx::from_waker(Waker::noop())) {
        Poll::Ready(t) => Some(t),
        Poll::Pending => None,
    }
}

/// Awaits `fut`, whose body stays a function of its own instead of being merged into the
/// caller's. An `async fn` awaited once is inlined into its caller's state machine, and in
/// wasm V8 compiles a function whole on its first call: a rare branch (a webhook route, a
/// second key's signature) outlined this way is compiled only when a request takes it. The
/// future is stored in the caller's, as an inlined one would be; no allocation.
pub(crate) async fn outlined<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    std::future::poll_fn(|cx| poll_outlined(fut.as_mut(), cx)).await
}

#[inline(never)]
fn poll_outlined<F: Future>(fut: Pin<&mut F>, cx: &mut TaskCx<'_>) -> Poll<F::Output> {
    fut.poll(cx)
}

/// Runs a decision made with [`Mode::default`], which never pauses.
pub(crate) fn run_native<T>(fut: impl Future<Output = T>, paused: impl FnOnce() -> T) -> T {
    let fut = pin!(fut);
    poll_once(fut).unwrap_or_else(paused)
}
