//! Signing keys for `keygate sign` and `keygate keygen ed25519|hmac`.
//!
//! A key file holds the JSON that `keygate keygen ed25519|hmac` prints, a JWK
//! (`{"kty":"OKP","crv":"Ed25519","d":...}` or `{"kty":"oct","k":...}`), or the bare
//! base64url key (then `--alg` says which algorithm). Errors never repeat the file's content.

use std::path::Path;

use keygate::sig::{Algorithm, SignerKey};
use serde_json::{Map, Value};

use crate::exit::Fail;
use crate::io::{name, read_text};

/// Reads a key file (`-`: stdin). `alg` is required for a bare key and must agree with any other.
pub fn load(path: &Path, alg: Option<Algorithm>) -> Result<SignerKey, Fail> {
    let text = read_text(path)?;
    SignerKey::from_text(&text, alg).map_err(|e| {
        let hint = if e.contains("needs its algorithm") {
            " (use --alg)"
        } else {
            ""
        };
        Fail::input(format!("{}: {e}{hint}", name(path)))
    })
}

/// `keygate keygen ed25519|hmac` output: `{"key", "signing"}` as the JS
/// `generateSigningKey` returns it, and the 0.1 name of the secret beside `key`
/// (`private_key` for Ed25519, `secret` for HMAC; deprecated).
pub fn keygen(alg: Algorithm) -> Result<Value, Fail> {
    let generated = SignerKey::generate(alg)
        .map_err(Fail::internal)?
        .to_keygen_json();
    let Value::Object(old) = generated else {
        return Err(Fail::internal("key generation returned no object"));
    };
    let mut out = Map::new();
    let legacy = if old.contains_key("private_key") {
        "private_key"
    } else {
        "secret"
    };
    out.insert("key".into(), old[legacy].clone());
    out.insert("signing".into(), old["signing"].clone());
    out.insert(legacy.into(), old[legacy].clone());
    Ok(Value::Object(out))
}
