//! Verifying a delivery's signatures while its body streams past, once: every key to try gets
//! its MAC (v1) or a strict Ed25519 stream per `v1a` token (v1a), each fed `<id>.<timestamp>.`
//! first and then the body's chunks, so nothing is buffered and the body is read one time.
//!
//! HMAC tags are compared in constant time (the MAC's own `verify_slice`); Ed25519 is as strict
//! as `verify_strict` (no small-order public key or `R`, canonical `s`): the same streaming
//! check that verifies key set envelopes.

use ed25519_dalek::{Signature, StreamVerifier};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::headers::Token;
use super::keys::{Scheme, WebhookKey};

type HmacSha256 = Hmac<Sha256>;

/// How many streams a delivery costs with these keys: one MAC per v1 key (when a v1 token is
/// present), one Ed25519 stream per v1a token and v1a key. Every stream hashes the whole body,
/// before any proof: a caller bounds this number (work an unauthenticated sender can cause).
pub fn streams(keys: &[Option<&WebhookKey>], tokens: &[Token]) -> usize {
    let count = |s: Scheme| tokens.iter().filter(|t| t.scheme == s).count();
    let (v1, v1a) = (count(Scheme::V1), count(Scheme::V1a));
    keys.iter()
        .flatten()
        .map(|k| match k.scheme() {
            Scheme::V1 => usize::from(v1 > 0),
            Scheme::V1a => v1a,
        })
        .sum()
}

/// The running check of one delivery (owned: it can wait for the body's chunks).
pub struct WebhookCheck {
    /// (key slot, the MAC so far).
    macs: Vec<(usize, HmacSha256)>,
    /// (key slot, the Ed25519 stream of one token).
    eds: Vec<(usize, StreamVerifier)>,
    /// The v1 tokens, to compare each MAC with.
    v1: Vec<Vec<u8>>,
    slots: usize,
    len: u64,
}

impl std::fmt::Debug for WebhookCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookCheck")
            .field("macs", &self.macs.len())
            .field("eds", &self.eds.len())
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl WebhookCheck {
    /// Starts checking: `keys` in the order to report (a `None` slot, a key whose secret was
    /// not opened, verifies nothing), `prefix` the start of the content (`Delivery::prefix`).
    pub fn start(prefix: &[u8], keys: &[Option<&WebhookKey>], tokens: &[Token]) -> WebhookCheck {
        let v1: Vec<Vec<u8>> = tokens
            .iter()
            .filter(|t| t.scheme == Scheme::V1)
            .map(|t| t.bytes.clone())
            .collect();
        let mut macs = Vec::new();
        let mut eds = Vec::new();
        for (slot, key) in keys.iter().enumerate() {
            match key {
                Some(WebhookKey::V1(secret)) if !v1.is_empty() => {
                    if let Ok(mut m) =
                        <HmacSha256 as KeyInit>::new_from_slice(secret.expose_secret())
                    {
                        m.update(prefix);
                        macs.push((slot, m));
                    }
                }
                Some(WebhookKey::V1a(pk)) => {
                    for t in tokens.iter().filter(|t| t.scheme == Scheme::V1a) {
                        let Ok(sig) = Signature::from_slice(&t.bytes) else {
                            continue;
                        };
                        // A signature the strict checks refuse verifies nothing (no stream).
                        if let Some(mut s) = crate::keyset::envelope::strict_stream(pk, &sig) {
                            s.update(prefix);
                            eds.push((slot, s));
                        }
                    }
                }
                _ => {}
            }
        }
        WebhookCheck {
            macs,
            eds,
            v1,
            slots: keys.len(),
            len: 0,
        }
    }

    /// Feeds the next chunk of the body.
    pub fn update(&mut self, chunk: &[u8]) {
        self.len += chunk.len() as u64;
        for (_, m) in &mut self.macs {
            m.update(chunk);
        }
        for (_, s) in &mut self.eds {
            s.update(chunk);
        }
    }

    /// Bytes of body fed so far.
    pub fn body_len(&self) -> u64 {
        self.len
    }

    /// Which key slots verified at least one token.
    pub fn finish(self) -> Vec<bool> {
        let mut proven = vec![false; self.slots];
        for (slot, m) in self.macs {
            // Every token is compared (in constant time each), whichever matches.
            let mut any = false;
            for t in &self.v1 {
                any |= m.clone().verify_slice(t).is_ok();
            }
            proven[slot] |= any;
        }
        for (slot, s) in self.eds {
            proven[slot] |= s.finalize_and_verify().is_ok();
        }
        proven
    }
}
