//! Signed key sets: a JWS JSON serialization (RFC 7515 §7.2, general or flattened) with
//! `alg: EdDSA` (RFC 8037) whose payload is the key set JSON bytes.
//!
//! The signing input is the standard `BASE64URL(protected) || '.' || BASE64URL(payload)`, so
//! any JOSE library can produce or check an envelope.

use std::fmt;

use ed25519_dalek::{Signature, Signer as _};
use serde_json::{Map, Value, json};

use crate::encoding::{b64url_decode, b64url_encode};
use crate::json::parse_strict;
use crate::keyset::{KeySet, KeysetErrors};
use crate::publisher::{PublisherKeys, PublisherSecret};

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
}

impl LoadError {
    /// The stable wire code.
    pub fn code(&self) -> &'static str {
        match self {
            LoadError::EnvelopeInvalid(_) | LoadError::SignatureRequired => "envelope_invalid",
            LoadError::SignatureInvalid(_) => "envelope_signature_invalid",
            LoadError::Keyset(_) => "keyset_invalid",
            LoadError::PublisherKeysMissing => "publisher_keys_missing",
        }
    }

    /// The HTTP status a push endpoint answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            LoadError::SignatureInvalid(_) => 401,
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
        }
    }
}

impl std::error::Error for LoadError {}

struct SignatureEntry {
    protected_b64: String,
    kid: Option<String>,
    alg: Option<String>,
    crit: bool,
    b64_false: bool,
    signature: Option<[u8; 64]>,
}

/// A parsed (not yet verified) envelope.
pub struct Envelope {
    payload_b64: String,
    payload: Vec<u8>,
    signatures: Vec<SignatureEntry>,
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("payload_len", &self.payload.len())
            .field("signatures", &self.signatures.len())
            .finish()
    }
}

/// Whether `bytes` look like a JWS JSON envelope rather than a bare key set: a JSON object
/// with `payload` and `signature` or `signatures`, and no `keygate` member.
pub fn is_envelope(v: &Value) -> bool {
    v.as_object().is_some_and(|o| {
        o.contains_key("payload")
            && (o.contains_key("signatures") || o.contains_key("signature"))
            && !o.contains_key("keygate")
    })
}

/// Whether the bytes are a JWS JSON envelope rather than a bare key set, judged from the
/// top-level member names only (cheap even for a 20 MB key set).
pub fn looks_like_envelope(bytes: &[u8]) -> bool {
    // A key set normally starts with "keygate": stop there rather than scanning megabytes.
    crate::json::top_level_names_until(bytes, |n| n == "keygate").is_some_and(|n| {
        n.contains(&"payload")
            && (n.contains(&"signatures") || n.contains(&"signature"))
            && !n.contains(&"keygate")
    })
}

/// The most signatures a general-serialization envelope may carry.
pub const MAX_SIGNATURES: usize = 8;

fn invalid(m: impl Into<String>) -> LoadError {
    LoadError::EnvelopeInvalid(m.into())
}

fn parse_entry(o: &Map<String, Value>, at: &str) -> Result<SignatureEntry, LoadError> {
    for k in o.keys() {
        if !matches!(k.as_str(), "protected" | "header" | "signature") {
            return Err(invalid(format!("{at}.{k}: unknown member")));
        }
    }
    let protected_b64 = match o.get("protected") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(invalid(format!(
                "{at}.protected: expected a base64url string"
            )));
        }
        None => {
            return Err(invalid(format!(
                "{at}.protected: missing (the algorithm must be integrity protected)"
            )));
        }
    };
    let header_bytes =
        b64url_decode(&protected_b64).map_err(|e| invalid(format!("{at}.protected: {e}")))?;
    let protected = match parse_strict(&header_bytes) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err(invalid(format!("{at}.protected: expected a JSON object"))),
        Err(e) => return Err(invalid(format!("{at}.protected: invalid JSON: {e}"))),
    };
    let unprotected = match o.get("header") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(invalid(format!("{at}.header: expected an object"))),
    };
    if let Some(k) = unprotected.keys().find(|k| protected.contains_key(*k)) {
        return Err(invalid(format!(
            "{at}: header parameter {k:?} appears in both protected and unprotected headers"
        )));
    }
    let get = |name: &str| protected.get(name).or_else(|| unprotected.get(name));
    let text = |name: &str| -> Result<Option<String>, LoadError> {
        match get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(format!(
                "{at}: header parameter {name:?} must be a string"
            ))),
        }
    };
    let signature = match o.get("signature") {
        Some(Value::String(s)) => b64url_decode(s)
            .map_err(|e| invalid(format!("{at}.signature: {e}")))
            .map(|b| <[u8; 64]>::try_from(b.as_slice()).ok())?,
        _ => {
            return Err(invalid(format!(
                "{at}.signature: expected a base64url string"
            )));
        }
    };
    Ok(SignatureEntry {
        alg: match protected.get("alg") {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        },
        kid: text("kid")?,
        crit: get("crit").is_some(),
        b64_false: get("b64") == Some(&Value::Bool(false)),
        protected_b64,
        signature,
    })
}

impl Envelope {
    /// Parses the JSON serialization, general (`signatures`) or flattened.
    pub fn parse(v: &Value) -> Result<Envelope, LoadError> {
        let o = v
            .as_object()
            .ok_or_else(|| invalid("expected a JSON object"))?;
        let payload_b64 = match o.get("payload") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(invalid("$.payload: expected a base64url string")),
            None => return Err(invalid("$.payload: missing")),
        };
        let payload =
            b64url_decode(&payload_b64).map_err(|e| invalid(format!("$.payload: {e}")))?;
        let signatures = match o.get("signatures") {
            Some(Value::Array(list)) => {
                if o.keys()
                    .any(|k| !matches!(k.as_str(), "payload" | "signatures"))
                {
                    return Err(invalid(
                        "general serialization: only \"payload\" and \"signatures\" are allowed at the top level",
                    ));
                }
                if list.is_empty() {
                    return Err(invalid("$.signatures: empty"));
                }
                if list.len() > MAX_SIGNATURES {
                    return Err(invalid(format!(
                        "$.signatures: {} signatures; at most {MAX_SIGNATURES} are read",
                        list.len()
                    )));
                }
                list.iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let at = format!("$.signatures[{i}]");
                        s.as_object()
                            .ok_or_else(|| invalid(format!("{at}: expected an object")))
                            .and_then(|m| parse_entry(m, &at))
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
            Some(_) => return Err(invalid("$.signatures: expected an array")),
            None => {
                let mut m = o.clone();
                m.remove("payload");
                vec![parse_entry(&m, "$")?]
            }
        };
        Ok(Envelope {
            payload_b64,
            payload,
            signatures,
        })
    }

    /// Parses envelope text strictly (duplicate members refused, as everywhere keygate reads
    /// JSON).
    pub fn from_bytes(bytes: &[u8]) -> Result<Envelope, LoadError> {
        let v = parse_strict(bytes).map_err(|e| invalid(format!("invalid JSON: {e}")))?;
        if !is_envelope(&v) {
            return Err(invalid(
                "not a JWS envelope (expected \"payload\" and \"signature\" or \"signatures\")",
            ));
        }
        Envelope::parse(&v)
    }

    /// The payload bytes (unverified).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// Verifies the envelope against pinned keys and returns the payload. A `kid` selects
    /// its key (a `kid` naming no pinned key is refused); without one, every key is tried.
    /// The envelope passes when any one signature verifies.
    pub fn verify(&self, keys: &PublisherKeys) -> Result<&[u8], LoadError> {
        // Each verification hashes the whole payload: bound how many an envelope may cause
        // (enough for one kid-less signature to meet every pinned key once).
        let mut budget = MAX_SIGNATURES.max(keys.keys().len());
        let mut reasons = Vec::new();
        for (i, s) in self.signatures.iter().enumerate() {
            match self.check(s, keys, &mut budget) {
                Ok(()) => return Ok(&self.payload),
                Err(r) => reasons.push(if self.signatures.len() > 1 {
                    format!("signature {i}: {r}")
                } else {
                    r
                }),
            }
        }
        Err(LoadError::SignatureInvalid(reasons.join("; ")))
    }

    fn check(
        &self,
        s: &SignatureEntry,
        keys: &PublisherKeys,
        budget: &mut usize,
    ) -> Result<(), String> {
        match s.alg.as_deref() {
            Some("EdDSA" | "Ed25519") => {}
            Some(other) => return Err(format!("algorithm {other:?} is not accepted (only EdDSA)")),
            None => return Err("the protected header has no \"alg\"".into()),
        }
        if s.crit {
            return Err("\"crit\" header parameters are not supported".into());
        }
        if s.b64_false {
            return Err("unencoded payloads (\"b64\": false) are not supported".into());
        }
        let Some(sig) = s.signature else {
            return Err("an Ed25519 signature is 64 bytes".into());
        };
        let sig = Signature::from_bytes(&sig);
        let mut input = Vec::with_capacity(s.protected_b64.len() + 1 + self.payload_b64.len());
        input.extend_from_slice(s.protected_b64.as_bytes());
        input.push(b'.');
        input.extend_from_slice(self.payload_b64.as_bytes());
        let candidates: Vec<_> = match &s.kid {
            Some(kid) => match keys.get(kid) {
                Some(k) => vec![k],
                None => return Err(format!("kid {kid:?} names no pinned publisher key")),
            },
            None => keys.keys().iter().collect(),
        };
        for k in candidates {
            if *budget == 0 {
                return Err("too many signature checks for one envelope".into());
            }
            *budget -= 1;
            if k.key.verify_strict(&input, &sig).is_ok() {
                return Ok(());
            }
        }
        Err("the signature does not verify with the pinned publisher key(s)".into())
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

/// Loads key set bytes that may be a bare key set or an envelope. With publisher keys, only
/// a verified envelope is accepted; without them, only a bare key set.
/// Checks run in the push endpoint's order: envelope shape, signature, key set content.
pub fn load_keyset(
    bytes: &[u8],
    publisher_keys: Option<&PublisherKeys>,
) -> Result<KeySet, LoadError> {
    match (publisher_keys, looks_like_envelope(bytes)) {
        (Some(keys), true) => {
            let env = Envelope::from_bytes(bytes)?;
            let payload = env.verify(keys)?;
            KeySet::from_json(payload).map_err(LoadError::Keyset)
        }
        (Some(_), false) => match parse_strict(bytes) {
            Err(e) => Err(invalid(format!("invalid JSON: {e}"))),
            Ok(_) => Err(LoadError::SignatureRequired),
        },
        (None, true) => Err(LoadError::PublisherKeysMissing),
        (None, false) => KeySet::from_json(bytes).map_err(LoadError::Keyset),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KS: &str = r#"{"keygate":1,"revision":3,"keys":[]}"#;

    fn secret(n: u8) -> PublisherSecret {
        PublisherSecret::from_seed(&[n; 32], None)
    }

    fn keys(s: &[&PublisherSecret]) -> PublisherKeys {
        PublisherKeys::new(s.iter().map(|s| s.public_key()).collect()).unwrap()
    }

    #[test]
    fn sign_then_load() {
        let s = secret(1);
        let env = sign_envelope(KS.as_bytes(), &s).to_string();
        let ks = load_keyset(env.as_bytes(), Some(&keys(&[&s]))).unwrap();
        assert_eq!(ks.revision(), 3);
    }

    #[test]
    fn wrong_key_unknown_kid_and_tampering_are_signature_refusals() {
        let (a, b) = (secret(1), secret(2));
        let env = sign_envelope(KS.as_bytes(), &a);
        let e = load_keyset(env.to_string().as_bytes(), Some(&keys(&[&b]))).unwrap_err();
        assert_eq!(e.code(), "envelope_signature_invalid");
        assert!(e.to_string().contains("names no pinned"), "{e}");
        let b_as_a = PublisherKeys::new(vec![b.public_key().with_kid_for_test(a.kid())]).unwrap();
        let e = load_keyset(env.to_string().as_bytes(), Some(&b_as_a)).unwrap_err();
        assert!(e.to_string().contains("does not verify"), "{e}");
        let mut t = env.clone();
        t["payload"] = Value::String(b64url_encode(br#"{"keygate":1,"revision":4,"keys":[]}"#));
        let e = load_keyset(t.to_string().as_bytes(), Some(&keys(&[&a]))).unwrap_err();
        assert_eq!(e.http_status(), 401);
    }

    #[test]
    fn general_serialization_any_signature_may_pass() {
        let (a, b) = (secret(1), secret(2));
        let fa = sign_envelope(KS.as_bytes(), &a);
        let fb = sign_envelope(KS.as_bytes(), &b);
        let general = json!({"payload": fa["payload"], "signatures": [
            {"protected": fa["protected"], "signature": fa["signature"]},
            {"protected": fb["protected"], "signature": fb["signature"]},
        ]});
        assert!(load_keyset(general.to_string().as_bytes(), Some(&keys(&[&b]))).is_ok());
    }

    #[test]
    fn signature_work_is_bounded() {
        let (a, b) = (secret(1), secret(2));
        let fb = sign_envelope(KS.as_bytes(), &b);
        let sig = json!({"protected": fb["protected"], "signature": fb["signature"]});
        // Nine signatures: refused as malformed before any is checked.
        let nine =
            json!({"payload": fb["payload"], "signatures": vec![sig.clone(); MAX_SIGNATURES + 1]});
        let e = load_keyset(nine.to_string().as_bytes(), Some(&keys(&[&a]))).unwrap_err();
        assert_eq!(e.code(), "envelope_invalid");
        // Eight kid-less signatures against several pinned keys: at most eight checks, then a
        // signature refusal (the ninth would need more).
        let unprotected_kid = b64url_encode(br#"{"alg":"EdDSA"}"#);
        let kidless = json!({"protected": unprotected_kid, "signature": fb["signature"]});
        let many_keys: Vec<_> = (10..13).map(|n| secret(n).public_key()).collect();
        let pinned = PublisherKeys::new(many_keys).unwrap();
        let eight = json!({"payload": fb["payload"], "signatures": vec![kidless; MAX_SIGNATURES]});
        let e = load_keyset(eight.to_string().as_bytes(), Some(&pinned)).unwrap_err();
        assert!(e.to_string().contains("too many signature checks"), "{e}");
    }

    #[test]
    fn algorithm_confusion_and_shapes() {
        let a = secret(1);
        let env = sign_envelope(KS.as_bytes(), &a);
        let mut none = env.clone();
        none["protected"] = Value::String(b64url_encode(br#"{"alg":"none"}"#));
        let e = load_keyset(none.to_string().as_bytes(), Some(&keys(&[&a]))).unwrap_err();
        assert!(e.to_string().contains("not accepted"), "{e}");
        let mut unprotected_alg = env.clone();
        unprotected_alg["protected"] = Value::String(b64url_encode(br#"{}"#));
        unprotected_alg["header"] = json!({"alg": "EdDSA"});
        assert_eq!(
            load_keyset(unprotected_alg.to_string().as_bytes(), Some(&keys(&[&a])))
                .unwrap_err()
                .code(),
            "envelope_signature_invalid"
        );
        let bad = json!({"payload": "!!", "signature": "x", "protected": "e30"});
        assert_eq!(
            load_keyset(bad.to_string().as_bytes(), Some(&keys(&[&a])))
                .unwrap_err()
                .code(),
            "envelope_invalid"
        );
        assert_eq!(
            load_keyset(b"{nope", Some(&keys(&[&a])))
                .unwrap_err()
                .code(),
            "envelope_invalid"
        );
        assert!(matches!(
            load_keyset(KS.as_bytes(), Some(&keys(&[&a]))),
            Err(LoadError::SignatureRequired)
        ));
        assert!(matches!(
            load_keyset(env.to_string().as_bytes(), None),
            Err(LoadError::PublisherKeysMissing)
        ));
    }

    #[test]
    fn content_errors_come_after_the_signature() {
        let a = secret(1);
        let env = sign_envelope(br#"{"keygate":1,"revision":0,"keys":[]}"#, &a);
        let e = load_keyset(env.to_string().as_bytes(), Some(&keys(&[&a]))).unwrap_err();
        assert_eq!(e.code(), "keyset_invalid");
    }
}
