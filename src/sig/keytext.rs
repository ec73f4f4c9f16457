//! Signing keys as text: what `keygate keygen ed25519|hmac` prints, JWKs, and bare base64url
//! keys. Shared by the CLI's key files and the wasm facade. Errors never repeat key bytes.

use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::alg::{Algorithm, HmacSecret, SignerKey, VerifierKey};
use crate::encoding::{b64url_decode, b64url_encode};

fn decode(v: &Value, field: &str) -> Result<Vec<u8>, String> {
    let s = v
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("expected {field:?} to be a base64url string"))?;
    b64url_decode(s).map_err(|e| format!("{field}: {e}"))
}

fn from_bytes(alg: Algorithm, bytes: Vec<u8>) -> Result<SignerKey, String> {
    match alg {
        Algorithm::HmacSha256 => HmacSecret::new(bytes).map(SignerKey::HmacSha256),
        Algorithm::Ed25519 => SignerKey::ed25519_seed(&Zeroizing::new(bytes)),
    }
}

/// Checks a stated Ed25519 public key against the private key.
fn check_public(key: &SignerKey, v: &Value, field: &str) -> Result<(), String> {
    let (Some(x), VerifierKey::Ed25519(pk)) = (v.pointer(field), key.verifier_key()) else {
        return Ok(());
    };
    let stated = x
        .as_str()
        .ok_or_else(|| format!("expected {field} to be a string"))
        .and_then(|s| b64url_decode(s).map_err(|e| format!("{field}: {e}")))?;
    if stated != pk.as_bytes() {
        return Err(format!("{field} is not the public key of this private key"));
    }
    Ok(())
}

impl SignerKey {
    /// Reads a signing key from text: the JSON `keygate keygen ed25519|hmac` prints
    /// (`{"key": ..., "signing": {"alg": ...}}`, or its 0.1 form `{"private_key": ...}` /
    /// `{"secret": ...}`), `keygate keyset add` output (`"signing_key"`), a JWK (`{"kty":"OKP","crv":"Ed25519",
    /// "d":...}` or `{"kty":"oct","k":...}`), or a bare base64url key, which needs `alg`.
    /// When `alg` is given it must agree with the key.
    ///
    /// # Errors
    /// A message saying what is wrong, without the key material.
    pub fn from_text(text: &str, alg: Option<Algorithm>) -> Result<SignerKey, String> {
        let text = text.trim();
        if !text.starts_with('{') {
            let alg = alg.ok_or("a bare key needs its algorithm (hmac-sha256 or ed25519)")?;
            return from_bytes(alg, b64url_decode(text)?);
        }
        let v: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
        let (stated, key) = if v.get("private_key").is_some() {
            let key = from_bytes(Algorithm::Ed25519, decode(&v, "private_key")?)?;
            check_public(&key, &v, "/signing/public_key")?;
            (Algorithm::Ed25519, key)
        } else if v.get("secret").is_some() {
            let key = from_bytes(Algorithm::HmacSha256, decode(&v, "secret")?)?;
            (Algorithm::HmacSha256, key)
        } else if let Some(field) = ["signing_key", "key"]
            .into_iter()
            .find(|f| v.get(f).is_some())
        {
            // `{"key", "signing"}` (keygen, JS generateSigningKey) or `{"signing_key", "signing"}`
            // (keyset add): the algorithm is the entry's.
            let alg = v
                .pointer("/signing/alg")
                .and_then(Value::as_str)
                .and_then(Algorithm::from_name)
                .ok_or_else(|| {
                    format!("expected \"signing\": {{\"alg\": ...}} beside {field:?} (an API key is not a signing key)")
                })?;
            let key = from_bytes(alg, decode(&v, field)?)?;
            check_public(&key, &v, "/signing/public_key")?;
            (alg, key)
        } else {
            match v.get("kty").and_then(Value::as_str) {
                Some("OKP") => {
                    if v.get("crv").and_then(Value::as_str) != Some("Ed25519") {
                        return Err("an OKP JWK must have \"crv\": \"Ed25519\"".into());
                    }
                    let key = from_bytes(Algorithm::Ed25519, decode(&v, "d")?)?;
                    check_public(&key, &v, "/x")?;
                    (Algorithm::Ed25519, key)
                }
                Some("oct") => (
                    Algorithm::HmacSha256,
                    from_bytes(Algorithm::HmacSha256, decode(&v, "k")?)?,
                ),
                _ => {
                    return Err("expected keygen output ({\"key\": ..., \"signing\": ...}) or a JWK with \"kty\" \"OKP\" or \"oct\"".into());
                }
            }
        };
        match alg {
            Some(a) if a != stated => Err(format!("expected an {a} key, found an {stated} key")),
            _ => Ok(key),
        }
    }

    /// The key as `keygate keygen` prints it: `{"private_key": ..., "signing": {"alg":
    /// "ed25519", "public_key": ...}}` or `{"secret": ..., "signing": {"alg": "hmac-sha256",
    /// "secret": ...}}`. It contains the secret: show it once, store it safely.
    pub fn to_keygen_json(&self) -> Value {
        let secret = b64url_encode(&self.expose_secret());
        match self.verifier_key() {
            VerifierKey::Ed25519(pk) => json!({
                "private_key": secret,
                "signing": {"alg": "ed25519", "public_key": b64url_encode(pk.as_bytes())},
            }),
            VerifierKey::HmacSha256(_) => json!({
                "secret": secret,
                "signing": {"alg": "hmac-sha256", "secret": secret},
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_round_trips() {
        for alg in [Algorithm::Ed25519, Algorithm::HmacSha256] {
            let k = SignerKey::generate(alg).unwrap();
            let j = k.to_keygen_json();
            let back = SignerKey::from_text(&j.to_string(), None).unwrap();
            assert_eq!(back.expose_secret(), k.expose_secret());
            let bare = b64url_encode(&k.expose_secret());
            let back = SignerKey::from_text(&format!(" {bare}\n"), Some(alg)).unwrap();
            assert_eq!(back.algorithm(), alg);
            assert!(
                SignerKey::from_text(&bare, None)
                    .unwrap_err()
                    .contains("algorithm")
            );
        }
        let seed = b64url_encode(&[1; 32]);
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "d": seed}).to_string();
        assert_eq!(
            SignerKey::from_text(&jwk, None).unwrap().algorithm(),
            Algorithm::Ed25519
        );
        let oct = json!({"kty": "oct", "k": b64url_encode(&[2; 40])}).to_string();
        let k = SignerKey::from_text(&oct, None).unwrap();
        assert_eq!(k.algorithm(), Algorithm::HmacSha256);
        assert!(SignerKey::from_text(&oct, Some(Algorithm::Ed25519)).is_err());
    }

    #[test]
    fn errors_do_not_leak_and_catch_mismatches() {
        let seed = b64url_encode(&[1; 32]);
        let wrong_x =
            json!({"kty": "OKP", "crv": "Ed25519", "d": seed, "x": b64url_encode(&[9; 32])});
        let e = SignerKey::from_text(&wrong_x.to_string(), None).unwrap_err();
        assert!(
            e.contains("not the public key") && !e.contains(&seed),
            "{e}"
        );
        let short = json!({"secret": b64url_encode(&[3; 8])}).to_string();
        assert!(
            SignerKey::from_text(&short, None)
                .unwrap_err()
                .contains("at least 32 bytes")
        );
        assert!(SignerKey::from_text("{\"kty\": \"RSA\"}", None).is_err());
        assert!(
            SignerKey::from_text("{", None)
                .unwrap_err()
                .starts_with("invalid JSON")
        );
    }
}
