//! The codes the JS package shares with this crate, stated once.
//!
//! These closed sets cross into JS: the refusal [`Reason`]s (code, status and the
//! `WWW-Authenticate` challenge of each), the [`ErrorCode`]s a `KeygateError` carries, the
//! wire codes of a refused key set ([`KEYSET_WIRE_CODES`]), the kinds of a nonce claim
//! ([`ClaimKind`](crate::sig::ClaimKind)) and the Standard Webhooks schemes
//! ([`Scheme`](crate::webhook::Scheme)). `pkg/src/codes.js` is generated from
//! them (`KEYGATE_BLESS=1 cargo test --test contracts` rewrites it, and that test fails while it
//! is stale), and `pkg/src/index.d.ts`'s unions are held to them by the same test. The wasm
//! facade sends a reason, a claim kind or a scheme as its index in its `ALL`; [`fingerprint`]
//! lets the JS glue check once that the module and `codes.js` come from the same build.

use crate::decide::decision::Reason;

/// Why the JS package could not process an input at all (as opposed to a refusal, which is a
/// decision): the `code` of a `KeygateError`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// A key set is invalid (with every error and its JSON path).
    KeysetInvalid,
    /// A key set envelope is not a well-formed JWS envelope.
    EnvelopeInvalid,
    /// No envelope signature verifies with a pinned publisher key.
    EnvelopeSignature,
    /// A key set update would not move the revision forward.
    KeysetRollback,
    /// A key set does not name the audience this verifier is configured with.
    AudienceMismatch,
    /// A pushed key set is too old (or has no `issued_at`).
    EnvelopeStale,
    /// A delta applies to another key set state than the one in use (carries the revision and
    /// payload digest in use).
    DeltaBase,
    /// Too many deltas applied since the last full key set (raised by the JS glue): push a
    /// full set.
    DeltaChainFull,
    /// An option is missing, of the wrong type or unusable.
    InvalidOptions,
    /// A request cannot be read at all (not an absolute URL, not a method token, ...).
    RequestInvalid,
    /// A signing key is unusable (wrong form, length or algorithm).
    KeyInvalid,
    /// A request cannot be signed as asked.
    SignFailed,
    /// The shared nonce store failed (raised by the JS glue).
    NonceStore,
    /// A signed body is larger than `verify`'s `maxBodyBytes` (raised by the JS glue).
    BodyTooLarge,
    /// The wasm module trapped and was re-instantiated (raised by the JS glue).
    Internal,
    /// Too many decisions of one verifier wait (for a body, the runtime's Ed25519 or a nonce
    /// store) to keep another one waiting: the request is not decided (fail closed).
    VerifierBusy,
    /// `keygate/init`: a call before `initWasm` resolved (raised by the JS glue).
    WasmNotInitialized,
    /// `keygate/init`: the module could not be fetched, compiled or instantiated.
    WasmInitFailed,
    /// Sharded mode: a shard a request needs could not be loaded (its source failed, it does
    /// not hash to the digest the signed manifest names, or the cold-load budget is spent):
    /// the request is not decided (fail closed).
    ShardUnavailable,
    /// A body `verify` reads before it decides (a webhook delivery's, a signed request's) did
    /// not arrive whole within `bodyTimeoutSeconds` of the start of its read (raised by the JS
    /// glue): the read is stopped and the request is not decided.
    BodyTimeout,
}

impl ErrorCode {
    /// Every code, in the documented order.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::KeysetInvalid,
        ErrorCode::EnvelopeInvalid,
        ErrorCode::EnvelopeSignature,
        ErrorCode::KeysetRollback,
        ErrorCode::AudienceMismatch,
        ErrorCode::EnvelopeStale,
        ErrorCode::DeltaBase,
        ErrorCode::DeltaChainFull,
        ErrorCode::InvalidOptions,
        ErrorCode::RequestInvalid,
        ErrorCode::KeyInvalid,
        ErrorCode::SignFailed,
        ErrorCode::NonceStore,
        ErrorCode::BodyTooLarge,
        ErrorCode::Internal,
        ErrorCode::VerifierBusy,
        ErrorCode::WasmNotInitialized,
        ErrorCode::WasmInitFailed,
        ErrorCode::ShardUnavailable,
        ErrorCode::BodyTimeout,
    ];

    /// The code as JS sees it, e.g. `ERR_REQUEST_INVALID`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::KeysetInvalid => "ERR_KEYSET_INVALID",
            ErrorCode::EnvelopeInvalid => "ERR_ENVELOPE_INVALID",
            ErrorCode::EnvelopeSignature => "ERR_ENVELOPE_SIGNATURE",
            ErrorCode::KeysetRollback => "ERR_KEYSET_ROLLBACK",
            ErrorCode::AudienceMismatch => "ERR_AUDIENCE_MISMATCH",
            ErrorCode::EnvelopeStale => "ERR_ENVELOPE_STALE",
            ErrorCode::DeltaBase => "ERR_DELTA_BASE",
            ErrorCode::DeltaChainFull => "ERR_DELTA_CHAIN_FULL",
            ErrorCode::InvalidOptions => "ERR_INVALID_OPTIONS",
            ErrorCode::RequestInvalid => "ERR_REQUEST_INVALID",
            ErrorCode::KeyInvalid => "ERR_KEY_INVALID",
            ErrorCode::SignFailed => "ERR_SIGN_FAILED",
            ErrorCode::NonceStore => "ERR_NONCE_STORE",
            ErrorCode::BodyTooLarge => "ERR_BODY_TOO_LARGE",
            ErrorCode::Internal => "ERR_INTERNAL",
            ErrorCode::VerifierBusy => "ERR_VERIFIER_BUSY",
            ErrorCode::WasmNotInitialized => "ERR_WASM_NOT_INITIALIZED",
            ErrorCode::WasmInitFailed => "ERR_WASM_INIT_FAILED",
            ErrorCode::ShardUnavailable => "ERR_SHARD_UNAVAILABLE",
            ErrorCode::BodyTimeout => "ERR_BODY_TIMEOUT",
        }
    }

    /// Its index in [`ErrorCode::ALL`] (how the wasm facade sends it).
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn index(self) -> u32 {
        ErrorCode::ALL.iter().position(|c| *c == self).unwrap_or(0) as u32
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The wire codes a refused key set is answered with (`error` on a `KeygateError`, the body of
/// a push endpoint's answer), with their HTTP status. `LoadError::code`, `Rollback::code` and
/// `DeltaRefused::code` give one of these for every refusal a client can cause; the JS glue
/// adds `delta_chain_full`.
pub const KEYSET_WIRE_CODES: &[(&str, u16)] = &[
    ("envelope_invalid", 400),
    ("envelope_signature_invalid", 401),
    ("keyset_invalid", 400),
    ("audience_mismatch", 400),
    ("keyset_rollback", 409),
    ("envelope_stale", 409),
    ("delta_base_mismatch", 409),
    ("delta_chain_full", 409),
];

/// A 32-bit FNV-1a digest of every code above in order, with statuses and challenges: equal
/// in a wasm module and the `codes.js` generated from the same sources. Computed when the
/// crate is compiled ([`FINGERPRINT`]): the module's check at import runs no code for it.
pub const fn fingerprint() -> u32 {
    let mut h = Fnv(0x811c_9dc5);
    let mut i = 0;
    while i < Reason::ALL.len() {
        let r = Reason::ALL[i];
        h = h.eat(r.code().as_bytes());
        h = h.eat_decimal(r.http_status());
        h = h.eat(match r.www_authenticate() {
            Some(s) => s.as_bytes(),
            None => b"",
        });
        i += 1;
    }
    let mut i = 0;
    while i < ErrorCode::ALL.len() {
        h = h.eat(ErrorCode::ALL[i].as_str().as_bytes());
        i += 1;
    }
    let mut i = 0;
    while i < KEYSET_WIRE_CODES.len() {
        let (code, status) = KEYSET_WIRE_CODES[i];
        h = h.eat(code.as_bytes());
        h = h.eat_decimal(status);
        i += 1;
    }
    let mut i = 0;
    while i < crate::sig::ClaimKind::ALL.len() {
        h = h.eat(crate::sig::ClaimKind::ALL[i].as_str().as_bytes());
        i += 1;
    }
    let mut i = 0;
    while i < crate::webhook::Scheme::ALL.len() {
        h = h.eat(crate::webhook::Scheme::ALL[i].as_str().as_bytes());
        i += 1;
    }
    h.0
}

/// [`fingerprint`], computed at compile time.
pub const FINGERPRINT: u32 = fingerprint();

/// FNV-1a over texts, each followed by a NUL.
#[derive(Clone, Copy)]
struct Fnv(u32);

impl Fnv {
    const fn eat(self, s: &[u8]) -> Fnv {
        let mut h = self.0;
        let mut i = 0;
        while i <= s.len() {
            let b = if i < s.len() { s[i] } else { 0 };
            h = (h ^ b as u32).wrapping_mul(0x0100_0193);
            i += 1;
        }
        Fnv(h)
    }

    /// `n` written in decimal, as `to_string` writes it.
    const fn eat_decimal(self, n: u16) -> Fnv {
        let mut digits = [0u8; 5];
        let mut at = digits.len();
        let mut n = n;
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.eat(digits.split_at(at).1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KeysetErrors, LoadError};

    #[test]
    fn the_compile_time_fingerprint_is_fnv1a_of_the_codes_as_text() {
        // The digest written with runtime text (statuses through `to_string`): the const
        // version the module returns must agree with it.
        let mut h: u32 = 0x811c_9dc5;
        let mut eat = |s: &str| {
            for &b in s.as_bytes().iter().chain(&[0]) {
                h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
            }
        };
        for r in Reason::ALL {
            eat(r.code());
            eat(&r.http_status().to_string());
            eat(r.www_authenticate().unwrap_or(""));
        }
        for c in ErrorCode::ALL {
            eat(c.as_str());
        }
        for (code, status) in KEYSET_WIRE_CODES {
            eat(code);
            eat(&status.to_string());
        }
        for k in crate::sig::ClaimKind::ALL {
            eat(k.as_str());
        }
        for s in crate::webhook::Scheme::ALL {
            eat(s.as_str());
        }
        assert_eq!(FINGERPRINT, h);
        assert_eq!(fingerprint(), h);
        for n in [0, 7, 10, 99, 100, 401, 9999, 10000, u16::MAX] {
            let mut want = Fnv(1);
            want = want.eat(n.to_string().as_bytes());
            assert_eq!(Fnv(1).eat_decimal(n).0, want.0, "{n}");
        }
    }

    #[test]
    fn error_codes_are_unique_and_indexed() {
        for (i, c) in ErrorCode::ALL.iter().enumerate() {
            assert_eq!(c.index() as usize, i);
            assert!(c.as_str().starts_with("ERR_"));
        }
        let mut s: Vec<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        s.sort_unstable();
        s.dedup();
        assert_eq!(s.len(), ErrorCode::ALL.len());
    }

    #[test]
    fn every_load_refusal_has_a_wire_row() {
        let errs = KeysetErrors(vec![crate::KeysetError {
            path: "$".into(),
            message: "x".into(),
        }]);
        for e in [
            LoadError::EnvelopeInvalid("x".into()),
            LoadError::SignatureInvalid("x".into()),
            LoadError::Keyset(errs),
            LoadError::SignatureRequired,
            LoadError::AudienceMismatch("x".into()),
            LoadError::Stale("x".into()),
        ] {
            assert!(
                KEYSET_WIRE_CODES.contains(&(e.code(), e.http_status())),
                "{}",
                e.code()
            );
        }
        let r = crate::Rollback {
            current: 2,
            offered: 1,
        };
        assert!(
            KEYSET_WIRE_CODES
                .iter()
                .any(|(c, s)| *c == r.code() && *s == 409)
        );
        let d = crate::DeltaRefused::BaseMismatch {
            base: crate::SetState {
                revision: 1,
                payload_sha256: [0; 32],
            },
            current: None,
            current_revision: 2,
        };
        assert!(KEYSET_WIRE_CODES.contains(&(d.code(), d.http_status())));
    }
}
