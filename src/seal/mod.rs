//! Sealed secrets: key set secrets stored encrypted, opened in the verifier at load.
//!
//! A key set holding HMAC secrets in clear text is itself a secret sitting in KV, in every push
//! body and in every backup. Where a key entry holds a secret it may instead hold `"sealed":
//! "<JWE>"` (RFC 7516 compact, `alg: "dir"`, `enc: "A256GCM"`, `kid` naming the seal key;
//! see [`jwe`]). Seal keys are 256-bit AES keys given to the verifier apart from the set
//! (`KEYGATE_SEAL_KEYS`, `sealKeys`, `--seal-key`) as a JWK or a JWKS.
//!
//! `dir` is symmetric: whoever can seal can open. Sealing protects the set from those who read
//! KV, push bodies, backups and logs, not from whoever holds the seal keys.

pub(crate) mod jwe;

use std::fmt;

use aes_gcm::Aes256Gcm;
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::encoding::{b64url_decode, b64url_encode};
use crate::json::parse_strict;
use crate::jwk::{self, Role};

/// The most seal keys one configuration may hold.
pub const MAX_SEAL_KEYS: usize = 16;

/// A seal key configuration that could not be used. Never holds key material.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealKeyError(pub String);

impl fmt::Display for SealKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SealKeyError {}

fn err(m: impl Into<String>) -> SealKeyError {
    SealKeyError(m.into())
}

/// One 256-bit seal key and its id. Wiped on drop; `Debug` shows the kid only.
pub struct SealKey {
    kid: String,
    key: Zeroizing<[u8; 32]>,
    /// `key_ops` allows `encrypt` (absent `key_ops` allows everything).
    may_seal: bool,
    cipher: Aes256Gcm,
}

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Clone for SealKey {
    fn clone(&self) -> Self {
        SealKey::new(&self.key, self.kid.clone(), self.may_seal)
    }
}

/// The RFC 7638 thumbprint of an `oct` key: base64url SHA-256 of `{"k":"<k>","kty":"oct"}`.
fn oct_thumbprint(key: &[u8; 32]) -> String {
    let k = Zeroizing::new(b64url_encode(key));
    let canonical = Zeroizing::new(format!(r#"{{"k":"{}","kty":"oct"}}"#, k.as_str()));
    b64url_encode(&Sha256::digest(canonical.as_bytes()))
}

impl SealKey {
    fn new(key: &[u8; 32], kid: String, may_seal: bool) -> SealKey {
        SealKey {
            kid,
            key: Zeroizing::new(*key),
            may_seal,
            cipher: jwe::cipher(key),
        }
    }

    /// A new random key. Its id is `kid`, or `seal-` and 8 random base62 characters.
    ///
    /// # Errors
    /// When the system has no secure random source, or `kid` is not 1 to 128 characters.
    pub fn generate(kid: Option<&str>) -> Result<SealKey, String> {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(key.as_mut_slice()).map_err(|e| format!("no secure random source: {e}"))?;
        let kid = match kid {
            Some(k) => {
                check_kid(k).map_err(|e| e.0)?;
                k.to_string()
            }
            None => {
                let mut tail = [0u8; 6];
                getrandom::fill(&mut tail).map_err(|e| format!("no secure random source: {e}"))?;
                format!("seal-{}", &crate::encoding::base62_encode(&tail, 9)[1..])
            }
        };
        Ok(SealKey::new(&key, kid, true))
    }

    /// The key id sealed secrets name in their `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key as a JWK, `{"kty":"oct","k":...,"kid":...,"alg":"dir","use":"enc"}`: what
    /// `keygate keygen seal-key` prints. It contains the secret: store it safely.
    pub fn to_jwk(&self) -> Value {
        json!({"kty": "oct", "k": b64url_encode(self.key.as_slice()), "kid": self.kid, "alg": "dir", "use": "enc"})
    }

    /// Seals `plaintext` under this key with a fresh random IV.
    ///
    /// # Errors
    /// When the key's `key_ops` do not allow `encrypt`, the plaintext is empty or longer than
    /// a sealed value may be (2048 bytes: what opening accepts), or there is no secure random
    /// source.
    pub fn seal(&self, plaintext: &[u8]) -> Result<String, String> {
        if !self.may_seal {
            return Err(format!(
                "seal key {:?} lists key_ops without \"encrypt\", so it may not seal",
                self.kid
            ));
        }
        let mut iv = [0u8; 12];
        getrandom::fill(&mut iv).map_err(|e| format!("no secure random source: {e}"))?;
        jwe::seal(&self.cipher, &self.kid, &iv, plaintext)
    }

    /// A key from a JWK object (`kty: "oct"`, `k` of 32 bytes, and the registered members a
    /// seal key may carry).
    fn from_jwk(o: &Map<String, Value>) -> Result<SealKey, SealKeyError> {
        if o.get("kty").and_then(Value::as_str) != Some("oct") {
            return Err(err(
                "expected a symmetric JWK (\"kty\": \"oct\") holding a 256-bit AES key",
            ));
        }
        const OWN: &[&str] = &["kty", "k"];
        for m in o.keys() {
            if !OWN.contains(&m.as_str()) && !jwk::REGISTERED.contains(&m.as_str()) {
                return Err(err(format!(
                    "JWK member {m:?} is not allowed in a seal key"
                )));
            }
        }
        if let Some(e) = jwk::check(o, Role::Unseal, None).into_iter().next() {
            return Err(err(e.to_string()));
        }
        let k = o
            .get("k")
            .and_then(Value::as_str)
            .ok_or_else(|| err("JWK member \"k\" missing (the key, base64url)"))?;
        let raw =
            Zeroizing::new(b64url_decode(k).map_err(|e| err(format!("JWK member \"k\": {e}")))?);
        let key: &[u8; 32] = raw.as_slice().try_into().map_err(|_| {
            err(format!(
                "JWK member \"k\": a seal key is 32 bytes (AES-256), this one has {}",
                raw.len()
            ))
        })?;
        let kid = match o.get("kid").and_then(Value::as_str) {
            Some(k) => {
                check_kid(k)?;
                k.to_string()
            }
            None => oct_thumbprint(key),
        };
        let may_seal = match o.get("key_ops").and_then(Value::as_array) {
            None => true,
            Some(ops) => ops.iter().any(|op| op == "encrypt"),
        };
        Ok(SealKey::new(key, kid, may_seal))
    }
}

fn check_kid(kid: &str) -> Result<(), SealKeyError> {
    if kid.is_empty() || kid.chars().count() > jwe::MAX_KID_LEN {
        return Err(err(format!(
            "a seal key id is 1 to {} characters",
            jwe::MAX_KID_LEN
        )));
    }
    Ok(())
}

/// The seal keys a verifier opens sealed secrets with (never empty; ids are unique).
#[derive(Clone, Debug)]
pub struct SealKeys(Vec<SealKey>);

impl SealKeys {
    /// Reads configuration text: a JWK, a JWKS (`{"keys": [...]}`), or `keygate keygen
    /// seal-key` output (a JWK).
    ///
    /// # Errors
    /// What is wrong and where (`$.keys[1]: ...`), never a key byte.
    pub fn parse(text: &str) -> Result<SealKeys, SealKeyError> {
        // A message may quote a member (`alg "..."`): never a key pasted there.
        Self::parse_text(text).map_err(|mut e| {
            crate::keyset::redact::redact_message(text.as_bytes(), &["k", "d"], &mut e.0);
            e
        })
    }

    fn parse_text(text: &str) -> Result<SealKeys, SealKeyError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(err("no seal key given"));
        }
        // The parser's error names a line and column, never the text around it.
        let v = parse_strict(t.as_bytes()).map_err(|e| {
            err(format!(
                "seal keys: expected a JWK or a JWKS (invalid JSON: {e})"
            ))
        })?;
        let o = v
            .as_object()
            .ok_or_else(|| err("seal keys: expected a JWK or a JWKS object"))?;
        let keys = match o.get("keys") {
            Some(Value::Array(list)) => {
                if list.len() > MAX_SEAL_KEYS {
                    return Err(err(format!(
                        "seal keys: at most {MAX_SEAL_KEYS} keys, found {}",
                        list.len()
                    )));
                }
                list.iter()
                    .enumerate()
                    .map(|(i, k)| {
                        k.as_object()
                            .ok_or_else(|| err("expected a JWK object"))
                            .and_then(SealKey::from_jwk)
                            .map_err(|e| err(format!("$.keys[{i}]: {e}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
            Some(_) => return Err(err("$.keys: expected an array of JWKs")),
            None => vec![SealKey::from_jwk(o)?],
        };
        SealKeys::new(keys)
    }

    /// A set of keys; ids must be unique.
    ///
    /// # Errors
    /// When there is no key, more than [`MAX_SEAL_KEYS`], or an id appears twice.
    pub fn new(keys: Vec<SealKey>) -> Result<SealKeys, SealKeyError> {
        if keys.is_empty() {
            return Err(err("no seal key given"));
        }
        if keys.len() > MAX_SEAL_KEYS {
            return Err(err(format!("at most {MAX_SEAL_KEYS} seal keys")));
        }
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|o| o.kid == k.kid) {
                return Err(err(format!("seal key id {:?} appears twice", k.kid)));
            }
        }
        Ok(SealKeys(keys))
    }

    /// The key with this id.
    pub fn get(&self, kid: &str) -> Option<&SealKey> {
        self.0.iter().find(|k| k.kid == kid)
    }

    /// All keys, in configuration order.
    pub fn keys(&self) -> &[SealKey] {
        &self.0
    }

    /// Opens a sealed value (a JWE compact serialization): the plaintext, or why not.
    ///
    /// # Errors
    /// The JWE's form, a kid no key has, or a value that does not decrypt (wrong key or
    /// altered), in words that never hold a plaintext byte.
    pub fn open(&self, sealed: &str) -> Result<Zeroizing<Vec<u8>>, String> {
        self.open_jwe(&jwe::Jwe::parse(sealed)?)
    }

    /// Opens a JWE already read.
    pub(crate) fn open_jwe(&self, jwe: &jwe::Jwe<'_>) -> Result<Zeroizing<Vec<u8>>, String> {
        let key = self.get(&jwe.kid).ok_or_else(|| {
            let given: Vec<String> = self.0.iter().map(|k| format!("{:?}", k.kid)).collect();
            format!(
                "no seal key with kid {:?} (given: {})",
                shorten(&jwe.kid),
                given.join(", ")
            )
        })?;
        jwe.open(&key.cipher).ok_or_else(|| {
            format!(
                "does not decrypt with seal key {:?} (a wrong key, or the value was altered)",
                key.kid
            )
        })
    }
}

/// A kid from untrusted input, short enough for a message.
fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(64).collect();
    if out.len() < s.len() {
        out.push('\u{2026}');
    }
    out
}

/// What a key set load does with sealed values.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub enum Unseal<'a> {
    /// No seal keys: a sealed value is a load error at its path (the default).
    #[default]
    Refuse,
    /// Every sealed value must open with one of these keys.
    Keys(&'a SealKeys),
    /// Sealed values are checked by form only and verify nothing: for tools that publish a
    /// set (check, lint, sign, edit) without holding its seal keys. Never for deciding.
    FormOnly,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_forms() {
        let k = SealKey::generate(Some("k1")).unwrap();
        let jwk = k.to_jwk().to_string();
        let one = SealKeys::parse(&jwk).unwrap();
        assert_eq!(one.keys()[0].kid(), "k1");
        let two = SealKeys::parse(&format!(
            r#"{{"keys":[{jwk},{}]}}"#,
            SealKey::generate(Some("k2")).unwrap().to_jwk()
        ))
        .unwrap();
        assert!(two.get("k2").is_some());
        assert!(
            SealKeys::parse(&format!(r#"{{"keys":[{jwk},{jwk}]}}"#))
                .unwrap_err()
                .0
                .contains("twice")
        );
        let webcrypto = r#"{"alg":"A256GCM","ext":true,"k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","key_ops":["encrypt","decrypt"],"kty":"oct"}"#;
        let w = SealKeys::parse(webcrypto).unwrap();
        assert_eq!(w.keys()[0].kid().len(), 43, "thumbprint kid");
        for (bad, says) in [
            ("", "no seal key"),
            ("{", "invalid JSON"),
            (r#"{"kty":"oct","k":"AAAA"}"#, "32 bytes"),
            (r#"{"kty":"OKP","crv":"Ed25519","x":"AAAA"}"#, "oct"),
            (
                r#"{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","use":"sig"}"#,
                "\"use\"",
            ),
            (
                r#"{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","key_ops":["encrypt"]}"#,
                "no \"decrypt\"",
            ),
            (
                r#"{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","d":"x"}"#,
                "\"d\" is not allowed",
            ),
            (r#"{"keys":"x"}"#, "$.keys"),
            (r#"{"keys":[{"kty":"oct"}]}"#, "$.keys[0]"),
        ] {
            let e = SealKeys::parse(bad).unwrap_err().0;
            assert!(e.contains(says), "{bad}: {e}");
            assert!(!e.contains("AAAAAAAA"), "{e}");
        }
    }

    #[test]
    fn open_and_refuse() {
        let k = SealKey::generate(Some("k1")).unwrap();
        let keys = SealKeys::new(vec![k.clone()]).unwrap();
        let sealed = k.seal(b"plain").unwrap();
        assert_eq!(keys.open(&sealed).unwrap().as_slice(), b"plain");
        let other = SealKeys::new(vec![SealKey::generate(Some("k2")).unwrap()]).unwrap();
        assert!(
            other
                .open(&sealed)
                .unwrap_err()
                .contains("no seal key with kid \"k1\" (given: \"k2\")")
        );
        let impostor = SealKeys::new(vec![SealKey::generate(Some("k1")).unwrap()]).unwrap();
        assert!(
            impostor
                .open(&sealed)
                .unwrap_err()
                .contains("does not decrypt")
        );
        assert!(!format!("{keys:?}").contains(&b64url_encode(k.key.as_slice())));
        let read_only = SealKeys::parse(r#"{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","key_ops":["decrypt"],"kid":"r"}"#).unwrap();
        assert!(
            read_only.keys()[0]
                .seal(b"x")
                .unwrap_err()
                .contains("encrypt")
        );
    }
}
