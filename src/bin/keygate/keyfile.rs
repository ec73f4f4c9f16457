//! Signing keys for `keygate sign` and `keygate keygen ed25519|hmac`.
//!
//! A key file holds the JSON that `keygate keygen ed25519|hmac` prints, a JWK
//! (`{"kty":"OKP","crv":"Ed25519","d":...}` or `{"kty":"oct","k":...}`), or the bare
//! base64url key (then `--alg` says which algorithm). Errors never repeat the file's content.

use std::path::Path;

use keygate::encoding_util::{b64url_decode, b64url_encode};
use keygate::sig::{Algorithm, HmacSecret, SignerKey, VerifierKey};
use serde_json::{Value, json};

use crate::LoadError;

fn bad(path: &Path, what: impl std::fmt::Display) -> LoadError {
    LoadError(format!("{}: {what}", path.display()))
}

fn decode(path: &Path, field: &str, v: Option<&Value>) -> Result<Vec<u8>, LoadError> {
    let s = v
        .and_then(Value::as_str)
        .ok_or_else(|| bad(path, format!("expected {field:?} to be a base64url string")))?;
    b64url_decode(s).map_err(|e| bad(path, format!("{field}: {e}")))
}

fn from_bytes(path: &Path, alg: Algorithm, bytes: Vec<u8>) -> Result<SignerKey, LoadError> {
    match alg {
        Algorithm::HmacSha256 => HmacSecret::new(bytes).map(SignerKey::HmacSha256),
        Algorithm::Ed25519 => SignerKey::ed25519_seed(&bytes),
        _ => Err(format!("unsupported algorithm {alg}")),
    }
    .map_err(|e| bad(path, e))
}

/// The public half a key file states, checked against the private half.
fn check_public(
    path: &Path,
    key: &SignerKey,
    x: Option<&Value>,
    field: &str,
) -> Result<(), LoadError> {
    let (Some(x), VerifierKey::Ed25519(pk)) = (x, key.verifier_key()) else {
        return Ok(());
    };
    if decode(path, field, Some(x))? != pk.as_bytes() {
        return Err(bad(
            path,
            format!("{field} is not the public key of this private key"),
        ));
    }
    Ok(())
}

/// Reads a key file. `alg` is required for a bare key and must agree with a JSON one.
pub fn load(path: &Path, alg: Option<Algorithm>) -> Result<SignerKey, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| bad(path, format!("cannot read: {e}")))?;
    let text = text.trim();
    if !text.starts_with('{') {
        let alg =
            alg.ok_or_else(|| bad(path, "a bare key needs --alg hmac-sha256 or --alg ed25519"))?;
        let bytes = b64url_decode(text).map_err(|e| bad(path, e))?;
        return from_bytes(path, alg, bytes);
    }
    let v: Value =
        serde_json::from_str(text).map_err(|e| bad(path, format!("invalid JSON: {e}")))?;
    let (stated, key) = if let Some(seed) = v.get("private_key") {
        let key = from_bytes(
            path,
            Algorithm::Ed25519,
            decode(path, "private_key", Some(seed))?,
        )?;
        check_public(
            path,
            &key,
            v.pointer("/signing/public_key"),
            "signing.public_key",
        )?;
        (Algorithm::Ed25519, key)
    } else if let Some(secret) = v.get("secret") {
        (
            Algorithm::HmacSha256,
            from_bytes(
                path,
                Algorithm::HmacSha256,
                decode(path, "secret", Some(secret))?,
            )?,
        )
    } else {
        match v.get("kty").and_then(Value::as_str) {
            Some("OKP") => {
                if v.get("crv").and_then(Value::as_str) != Some("Ed25519") {
                    return Err(bad(path, "an OKP JWK must have \"crv\": \"Ed25519\""));
                }
                let key = from_bytes(path, Algorithm::Ed25519, decode(path, "d", v.get("d"))?)?;
                check_public(path, &key, v.get("x"), "x")?;
                (Algorithm::Ed25519, key)
            }
            Some("oct") => (
                Algorithm::HmacSha256,
                from_bytes(path, Algorithm::HmacSha256, decode(path, "k", v.get("k"))?)?,
            ),
            _ => {
                return Err(bad(
                    path,
                    "expected keygen output ({\"private_key\"...} or {\"secret\"...}) or a JWK with \"kty\" \"OKP\" or \"oct\"",
                ));
            }
        }
    };
    match alg {
        Some(a) if a != stated => Err(bad(
            path,
            format!("--alg {a} but the file holds an {stated} key"),
        )),
        _ => Ok(key),
    }
}

/// `keygate keygen ed25519|hmac` output.
pub fn keygen(alg: Algorithm) -> Result<Value, LoadError> {
    let key = SignerKey::generate(alg).map_err(LoadError)?;
    let secret = b64url_encode(&key.expose_secret());
    Ok(match key.verifier_key() {
        VerifierKey::Ed25519(pk) => json!({
            "private_key": secret,
            "signing": {"alg": "ed25519", "public_key": b64url_encode(pk.as_bytes())},
        }),
        _ => json!({
            "secret": secret,
            "signing": {"alg": "hmac-sha256", "secret": secret},
        }),
    })
}
