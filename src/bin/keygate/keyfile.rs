//! Signing keys for `keygate sign` and `keygate keygen ed25519|hmac`.
//!
//! A key file holds the JSON that `keygate keygen ed25519|hmac` prints, a JWK
//! (`{"kty":"OKP","crv":"Ed25519","d":...}` or `{"kty":"oct","k":...}`), or the bare
//! base64url key (then `--alg` says which algorithm). Errors never repeat the file's content.

use std::path::Path;

use keygate::sig::{Algorithm, SignerKey};
use serde_json::Value;

use crate::LoadError;

/// Reads a key file. `alg` is required for a bare key and must agree with any other.
pub fn load(path: &Path, alg: Option<Algorithm>) -> Result<SignerKey, LoadError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| LoadError(format!("{}: cannot read: {e}", path.display())))?;
    SignerKey::from_text(&text, alg).map_err(|e| {
        let hint = if e.contains("needs its algorithm") {
            " (use --alg)"
        } else {
            ""
        };
        LoadError(format!("{}: {e}{hint}", path.display()))
    })
}

/// `keygate keygen ed25519|hmac` output.
pub fn keygen(alg: Algorithm) -> Result<Value, LoadError> {
    Ok(SignerKey::generate(alg)
        .map_err(LoadError)?
        .to_keygen_json())
}
