//! Publisher keys: the Ed25519 public keys pinned in configuration that may sign key sets.
//!
//! Configuration (`KEYGATE_PUBLISHER_KEYS`, `--publisher-key`, `publisherKeys`) is either
//! comma-separated base64url raw 32-byte keys, a single JWK, or a JWKS (`{"keys": [...]}`).
//! A key's id is its JWK `kid` when given, else its RFC 7638 JWK thumbprint.

use std::fmt;

use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::sig::VerifierKey;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::encoding::{b64url_decode, b64url_encode};
use crate::json::parse_strict;

/// A publisher key configuration that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublisherKeyError(pub String);

impl fmt::Display for PublisherKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PublisherKeyError {}

fn err(msg: impl Into<String>) -> PublisherKeyError {
    PublisherKeyError(msg.into())
}

/// One pinned Ed25519 public key and its id.
#[derive(Clone)]
pub struct PublisherKey {
    pub(crate) kid: String,
    pub(crate) key: VerifyingKey,
}

impl fmt::Debug for PublisherKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublisherKey({})", self.kid)
    }
}

impl PublisherKey {
    /// A key from its 32 raw bytes, checked as every Ed25519 key keygate reads is
    /// ([`VerifierKey::ed25519`]: a canonical curve point, not of small order).
    pub fn from_bytes(bytes: &[u8], kid: Option<&str>) -> Result<Self, PublisherKeyError> {
        let VerifierKey::Ed25519(key) = VerifierKey::ed25519(bytes).map_err(err)? else {
            return Err(err("not an Ed25519 key"));
        };
        let kid = kid.map_or_else(|| jwk_thumbprint(key.as_bytes()), str::to_string);
        Ok(PublisherKey { kid, key })
    }

    /// The key id: the JWK `kid`, or the RFC 7638 thumbprint.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The raw public key, base64url.
    pub fn public_key_b64(&self) -> String {
        b64url_encode(self.key.as_bytes())
    }

    #[cfg(test)]
    pub(crate) fn with_kid_for_test(mut self, kid: &str) -> Self {
        self.kid = kid.to_string();
        self
    }

    /// The key as a public JWK.
    pub fn to_jwk(&self) -> Value {
        serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": self.public_key_b64(), "kid": self.kid})
    }
}

/// The RFC 7638 thumbprint of an Ed25519 public key: base64url SHA-256 of
/// `{"crv":"Ed25519","kty":"OKP","x":"<x>"}`.
pub fn jwk_thumbprint(public_key: &[u8; 32]) -> String {
    let canonical = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        b64url_encode(public_key)
    );
    b64url_encode(&Sha256::digest(canonical.as_bytes()))
}

/// The set of pinned publisher keys (never empty).
#[derive(Clone, Debug)]
pub struct PublisherKeys(pub(crate) Vec<PublisherKey>);

impl PublisherKeys {
    /// Parses configuration text: comma-separated base64url raw keys, a JWK, or a JWKS.
    pub fn parse(config: &str) -> Result<Self, PublisherKeyError> {
        let t = config.trim();
        if t.is_empty() {
            return Err(err("no publisher key given"));
        }
        let keys = if t.starts_with('{') {
            let v = parse_strict(t.as_bytes())
                .map_err(|e| err(format!("publisher keys: invalid JSON: {e}")))?;
            Self::from_json(&v)?.0
        } else {
            let mut keys = Vec::new();
            for (i, part) in t.split(',').enumerate() {
                let bytes = b64url_decode(part.trim())
                    .map_err(|e| err(format!("publisher key #{}: {e}", i + 1)))?;
                keys.push(
                    PublisherKey::from_bytes(&bytes, None)
                        .map_err(|e| err(format!("publisher key #{}: {e}", i + 1)))?,
                );
            }
            keys
        };
        Self::new(keys)
    }

    /// Keys from a parsed JWK or JWKS.
    pub fn from_json(v: &Value) -> Result<Self, PublisherKeyError> {
        // A message may quote a member (`JWK alg "..."`): never a private key pasted there.
        Self::from_json_inner(v).map_err(|mut e| {
            let doc = serde_json::to_vec(v).unwrap_or_default();
            super::redact::redact_message(&doc, &["d", "k"], &mut e.0);
            e
        })
    }

    fn from_json_inner(v: &Value) -> Result<Self, PublisherKeyError> {
        let obj = v
            .as_object()
            .ok_or_else(|| err("publisher keys: expected a JWK or a JWKS object"))?;
        let keys = match obj.get("keys") {
            Some(Value::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    k.as_object()
                        .ok_or_else(|| err(format!("$.keys[{i}]: expected a JWK object")))
                        .and_then(|o| public_jwk(o).map_err(|e| err(format!("$.keys[{i}]: {e}"))))
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(err("$.keys: expected an array of JWKs")),
            None => vec![public_jwk(obj)?],
        };
        Self::new(keys)
    }

    /// A set of keys; ids must be unique.
    pub fn new(keys: Vec<PublisherKey>) -> Result<Self, PublisherKeyError> {
        if keys.is_empty() {
            return Err(err("no publisher key given"));
        }
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|o| o.kid == k.kid) {
                return Err(err(format!("publisher key id {:?} appears twice", k.kid)));
            }
        }
        Ok(PublisherKeys(keys))
    }

    /// The key with this id.
    pub fn get(&self, kid: &str) -> Option<&PublisherKey> {
        self.0.iter().find(|k| k.kid == kid)
    }

    /// All keys.
    pub fn keys(&self) -> &[PublisherKey] {
        &self.0
    }
}

fn str_member<'a>(
    o: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, PublisherKeyError> {
    match o.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(err(format!("JWK member {name:?} must be a string"))),
    }
}

fn check_okp(o: &Map<String, Value>) -> Result<(), PublisherKeyError> {
    if str_member(o, "kty")? != Some("OKP") || str_member(o, "crv")? != Some("Ed25519") {
        return Err(err(
            "expected an Ed25519 JWK (\"kty\": \"OKP\", \"crv\": \"Ed25519\")",
        ));
    }
    if let Some(alg) = str_member(o, "alg")?
        && alg != "EdDSA"
        && alg != "Ed25519"
    {
        return Err(err(format!(
            "JWK alg {alg:?} cannot sign key sets (expected EdDSA)"
        )));
    }
    Ok(())
}

fn public_jwk(o: &Map<String, Value>) -> Result<PublisherKey, PublisherKeyError> {
    check_okp(o)?;
    if o.contains_key("d") {
        return Err(err(
            "this JWK holds a private key (\"d\"); configure only the public key",
        ));
    }
    let x = str_member(o, "x")?.ok_or_else(|| err("JWK is missing \"x\""))?;
    let bytes = b64url_decode(x).map_err(|e| err(format!("JWK \"x\": {e}")))?;
    if let Some(e) = crate::jwk::check(o, crate::jwk::Role::VerifyPublic, Some(&bytes))
        .into_iter()
        .next()
    {
        return Err(err(e.to_string()));
    }
    PublisherKey::from_bytes(&bytes, str_member(o, "kid")?)
}

/// The members of a publisher secret's JSON forms that hold the private key.
const PRIVATE_MEMBERS: &[&str] = &["d", "private_key", "key", "signing_key"];

/// A publisher's private key, for signing key sets. Wiped on drop; `Debug` shows the kid only.
pub struct PublisherSecret {
    pub(crate) key: SigningKey,
    pub(crate) kid: String,
}

impl fmt::Debug for PublisherSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublisherSecret")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl PublisherSecret {
    /// Reads a private key: `keygate keygen ed25519` output (JSON with `private_key`), a JWK
    /// with `d`, or the bare base64url 32-byte seed.
    pub fn parse(text: &str) -> Result<Self, PublisherKeyError> {
        // A message may quote a member (`JWK alg "..."`): never the private key, wherever it
        // was pasted. (Messages about a bare seed quote nothing of it.)
        Self::parse_text(text).map_err(|mut e| {
            super::redact::redact_message(text.as_bytes(), PRIVATE_MEMBERS, &mut e.0);
            e
        })
    }

    fn parse_text(text: &str) -> Result<Self, PublisherKeyError> {
        let t = text.trim();
        let (seed_b64, kid, expect_x): (Zeroizing<String>, Option<String>, Option<String>) = if t
            .starts_with('{')
        {
            let v = parse_strict(t.as_bytes()).map_err(|_| err("private key: invalid JSON"))?;
            let o = v
                .as_object()
                .ok_or_else(|| err("private key: expected a JSON object"))?;
            if let Some(Value::String(pk)) = o.get("private_key") {
                (Zeroizing::new(pk.clone()), None, None)
            } else if let Some(Value::String(pk)) = o.get("key").or_else(|| o.get("signing_key")) {
                // `keygate keygen ed25519` / JS `generateSigningKey` output: `{"key", "signing"}`.
                let signing = o.get("signing");
                if signing.and_then(|s| s.get("alg")).and_then(Value::as_str) != Some("ed25519") {
                    return Err(err(
                        "private key: \"key\" must come with \"signing\": {\"alg\": \"ed25519\", ...}",
                    ));
                }
                let x = signing
                    .and_then(|s| s.get("public_key"))
                    .and_then(Value::as_str);
                (Zeroizing::new(pk.clone()), None, x.map(str::to_string))
            } else if o.contains_key("d") {
                check_okp(o)?;
                let d = str_member(o, "d")?.unwrap_or_default();
                (
                    Zeroizing::new(d.to_string()),
                    str_member(o, "kid")?.map(str::to_string),
                    str_member(o, "x")?.map(str::to_string),
                )
            } else {
                return Err(err(
                    "private key: expected \"key\" (keygate keygen ed25519 output) or a JWK with \"d\"",
                ));
            }
        } else {
            (Zeroizing::new(t.to_string()), None, None)
        };
        let seed = Zeroizing::new(
            b64url_decode(&seed_b64).map_err(|_| err("private key: not base64url"))?,
        );
        let arr: Zeroizing<[u8; 32]> =
            Zeroizing::new(seed.as_slice().try_into().map_err(|_| {
                err(format!(
                    "private key: an Ed25519 seed is 32 bytes, got {}",
                    seed.len()
                ))
            })?);
        let key = SigningKey::from_bytes(&arr);
        let public = key.verifying_key().to_bytes();
        if let Some(x) = expect_x
            && x != b64url_encode(&public)
        {
            return Err(err(
                "private key: the stated public key (\"x\" or \"signing.public_key\") does not match it",
            ));
        }
        let kid = kid.unwrap_or_else(|| jwk_thumbprint(&public));
        Ok(PublisherSecret { key, kid })
    }

    /// Builds a secret from a seed (tests and the demo).
    pub fn from_seed(seed: &[u8; 32], kid: Option<&str>) -> Self {
        let key = SigningKey::from_bytes(seed);
        let kid = kid.map_or_else(
            || jwk_thumbprint(&key.verifying_key().to_bytes()),
            str::to_string,
        );
        PublisherSecret { key, kid }
    }

    /// Overrides the key id.
    pub fn with_kid(mut self, kid: &str) -> Self {
        self.kid = kid.to_string();
        self
    }

    /// The key id written into signed envelopes.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublisherKey {
        PublisherKey {
            kid: self.kid.clone(),
            key: self.key.verifying_key(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 8037 Appendix A.1/A.3: the Ed25519 example key and its thumbprint.
    const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    const RFC8037_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
    const RFC8037_THUMBPRINT: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

    #[test]
    fn rfc8037_thumbprint() {
        let x: [u8; 32] = b64url_decode(RFC8037_X).unwrap().try_into().unwrap();
        assert_eq!(jwk_thumbprint(&x), RFC8037_THUMBPRINT);
        let keys = PublisherKeys::parse(RFC8037_X).unwrap();
        assert_eq!(keys.keys()[0].kid(), RFC8037_THUMBPRINT);
    }

    #[test]
    fn config_forms() {
        let jwk = format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{RFC8037_X}","kid":"pub-1"}}"#);
        assert_eq!(PublisherKeys::parse(&jwk).unwrap().keys()[0].kid(), "pub-1");
        let jwks = format!(r#"{{"keys":[{jwk}]}}"#);
        assert!(PublisherKeys::parse(&jwks).unwrap().get("pub-1").is_some());
        let other = b64url_encode(
            PublisherSecret::from_seed(&[7; 32], None)
                .public_key()
                .key
                .as_bytes(),
        );
        let two = PublisherKeys::parse(&format!("{RFC8037_X}, {other}")).unwrap();
        assert_eq!(two.keys().len(), 2);
        assert!(
            PublisherKeys::parse(&format!("{RFC8037_X},{RFC8037_X}"))
                .unwrap_err()
                .0
                .contains("twice")
        );
        assert!(PublisherKeys::parse("").is_err());
        assert!(
            PublisherKeys::parse("AQID")
                .unwrap_err()
                .0
                .contains("32 bytes")
        );
        let private =
            format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{RFC8037_X}","d":"{RFC8037_D}"}}"#);
        assert!(
            PublisherKeys::parse(&private)
                .unwrap_err()
                .0
                .contains("private")
        );
    }

    #[test]
    fn weak_keys_are_refused() {
        // The identity point (small order) encoded as a public key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(
            PublisherKey::from_bytes(&identity, None)
                .unwrap_err()
                .0
                .contains("weak")
        );
    }

    #[test]
    fn secret_forms_agree_and_stay_hidden() {
        let from_jwk = PublisherSecret::parse(&format!(
            r#"{{"kty":"OKP","crv":"Ed25519","x":"{RFC8037_X}","d":"{RFC8037_D}"}}"#
        ))
        .unwrap();
        let from_seed = PublisherSecret::parse(RFC8037_D).unwrap();
        let from_keygen =
            PublisherSecret::parse(&format!(r#"{{"private_key":"{RFC8037_D}"}}"#)).unwrap();
        assert_eq!(from_jwk.public_key().public_key_b64(), RFC8037_X);
        assert_eq!(from_seed.kid(), from_keygen.kid());
        assert!(!format!("{from_seed:?}").contains(RFC8037_D));
        let mismatched = format!(
            r#"{{"kty":"OKP","crv":"Ed25519","x":"{}","d":"{RFC8037_D}"}}"#,
            "A".repeat(43)
        );
        assert!(PublisherSecret::parse(&mismatched).is_err());
    }
}
