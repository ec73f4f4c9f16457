//! Signed key sets: a JWS JSON serialization (RFC 7515 §7.2, general or flattened) with
//! `alg: EdDSA` (RFC 8037) whose payload is the key set JSON bytes.
//!
//! The signing input is the standard `BASE64URL(protected) || '.' || BASE64URL(payload)`, so
//! any JOSE library can produce or check an envelope.

pub(crate) mod load;
mod read;
mod verify;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::fmt;

use ed25519_dalek::Signer as _;
use serde_json::{Value, json};

use crate::encoding::b64url_encode;
use crate::keyset::KeysetErrors;
use crate::keyset::publisher::PublisherSecret;

pub use load::{
    DEFAULT_MAX_PUSH_AGE_SECONDS, LoadOptions, check_audience, check_delta_fresh,
    check_manifest_audience, check_push_fresh, is_delta, is_manifest, load_delta, load_keyset,
    load_keyset_with, load_manifest,
};
pub use read::MAX_JWS_HEADER_BYTES;
pub(crate) use verify::strict_stream;

/// Why an envelope or a key set could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadError {
    /// The input is not a well-formed envelope (400 `envelope_invalid`).
    EnvelopeInvalid(String),
    /// No signature verifies with a pinned publisher key (401 `envelope_signature_invalid`).
    SignatureInvalid(String),
    /// The (verified) payload is not a valid key set (400 `keyset_invalid`).
    Keyset(KeysetErrors),
    /// An envelope was given but no publisher key is configured to check it.
    PublisherKeysMissing,
    /// Publisher keys are configured, so an unsigned key set is refused.
    SignatureRequired,
    /// The set does not name the audience this verifier is configured with
    /// (400 `audience_mismatch`).
    AudienceMismatch(String),
    /// A pushed set without `issued_at`, or issued too long ago or in the future
    /// (409 `envelope_stale`; see [`check_push_fresh`]).
    Stale(String),
}

impl LoadError {
    /// The stable wire code.
    pub fn code(&self) -> &'static str {
        match self {
            LoadError::EnvelopeInvalid(_) | LoadError::SignatureRequired => "envelope_invalid",
            LoadError::SignatureInvalid(_) => "envelope_signature_invalid",
            LoadError::Keyset(_) => "keyset_invalid",
            LoadError::PublisherKeysMissing => "publisher_keys_missing",
            LoadError::AudienceMismatch(_) => "audience_mismatch",
            LoadError::Stale(_) => "envelope_stale",
        }
    }

    /// The HTTP status a push endpoint answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            LoadError::SignatureInvalid(_) => 401,
            LoadError::Stale(_) => 409,
            _ => 400,
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::EnvelopeInvalid(m) => write!(f, "not a valid key set envelope: {m}"),
            LoadError::SignatureInvalid(m) => write!(f, "envelope signature refused: {m}"),
            LoadError::Keyset(e) => write!(f, "invalid key set:\n{e}"),
            LoadError::PublisherKeysMissing => {
                f.write_str("this is a signed envelope, but no publisher key is configured to check it")
            }
            LoadError::SignatureRequired => f.write_str(
                "publisher keys are configured, so only a signed envelope is accepted (got a bare key set)",
            ),
            LoadError::AudienceMismatch(m) => write!(f, "key set refused: {m}"),
            LoadError::Stale(m) => write!(f, "pushed key set refused: {m}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// One signature of an envelope, read but not yet checked.
struct Entry<'a> {
    protected_b64: Cow<'a, str>,
    kid: Option<String>,
    alg: Option<String>,
    crit: bool,
    b64_false: bool,
    signature: Option<[u8; 64]>,
}

/// An envelope read from its text (not yet verified). It borrows the text: the payload is
/// neither copied nor decoded until its signature has verified.
pub struct Envelope<'a> {
    payload_b64: Cow<'a, str>,
    signatures: Vec<Entry<'a>>,
}

impl fmt::Debug for Envelope<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("payload_b64_len", &self.payload_b64.len())
            .field("signatures", &self.signatures.len())
            .finish()
    }
}

/// Whether a parsed JSON value is a JWS JSON envelope rather than a bare key set: an object
/// with `payload` and `signature` or `signatures`, and no `keygate` member.
pub fn is_envelope(v: &Value) -> bool {
    v.as_object().is_some_and(|o| {
        o.contains_key("payload")
            && (o.contains_key("signatures") || o.contains_key("signature"))
            && !o.contains_key("keygate")
    })
}

/// Whether the bytes look like a JWS JSON envelope rather than a bare key set, judged from the
/// top-level member names only, without checking the rest (cheap even for a 20 MB key set).
pub fn looks_like_envelope(bytes: &[u8]) -> bool {
    let (mut payload, mut signature, mut keygate) = (false, false, false);
    // A key set normally starts with "keygate": stop there rather than scanning megabytes.
    let well_formed = crate::json::each_top_level_name(bytes, |n| {
        payload |= n == "payload";
        signature |= n == "signature" || n == "signatures";
        keygate |= n == "keygate";
        !keygate
    });
    well_formed && payload && signature && !keygate
}

/// The most signatures a general-serialization envelope may carry.
pub const MAX_SIGNATURES: usize = 8;

fn invalid(m: impl Into<String>) -> LoadError {
    LoadError::EnvelopeInvalid(m.into())
}

fn not_json(e: &crate::keyset::scan::ScanError) -> LoadError {
    invalid(format!("invalid JSON: {e}"))
}

impl<'a> Envelope<'a> {
    /// Reads envelope text: the JSON serialization, general (`signatures`) or flattened. The
    /// whole text is checked as JSON, but only the envelope's own members are kept (no JSON
    /// tree is built, whatever the text holds), and the payload is not decoded.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Envelope<'a>, LoadError> {
        let top = read::scan(bytes).map_err(|e| not_json(&e))?;
        if !top.is_envelope() {
            return Err(invalid(
                "not a JWS envelope (expected \"payload\" and \"signature\" or \"signatures\")",
            ));
        }
        let (payload_b64, signatures) = top.into_parts(bytes)?;
        Ok(Envelope {
            payload_b64,
            signatures,
        })
    }
}

/// Signs key set bytes into a flattened JWS JSON envelope with `{"alg":"EdDSA","kid":...}`.
pub fn sign_envelope(payload: &[u8], secret: &PublisherSecret) -> Value {
    let protected = b64url_encode(
        json!({"alg": "EdDSA", "kid": secret.kid})
            .to_string()
            .as_bytes(),
    );
    let payload_b64 = b64url_encode(payload);
    let input = format!("{protected}.{payload_b64}");
    let sig = secret.key.sign(input.as_bytes());
    json!({"payload": payload_b64, "protected": protected, "signature": b64url_encode(&sig.to_bytes())})
}
