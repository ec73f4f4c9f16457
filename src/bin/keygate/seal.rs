//! Seal keys on the command line: `--seal-key FILE` (a JWK or a JWKS, never on the command
//! line itself) and `--seal-kid` to choose the key new secrets are sealed with.

use std::path::{Path, PathBuf};

use clap::Args;
use keygate::{SealKey, SealKeys};
use serde_json::{Map, Value};

use crate::exit::Fail;
use crate::io::{name, read_text};

/// `--seal-key FILE` where a set is read: its sealed secrets must open with these keys.
#[derive(Args, Default)]
pub struct OpenArg {
    /// Seal keys that open the set's sealed secrets: a file holding a JWK or a JWKS (`-`: stdin).
    /// Without it, sealed secrets are checked by form only.
    #[arg(long, value_name = "FILE")]
    pub seal_key: Option<PathBuf>,
}

/// `--seal-key FILE` and `--seal-kid` where new secrets are written: they are written sealed.
#[derive(Args, Default)]
pub struct SealArg {
    /// Seal new secrets with this seal key (a file holding a JWK or a JWKS, `-`: stdin; see
    /// `keygate keygen seal-key`). Required when the set already seals its secrets.
    #[arg(long, value_name = "FILE")]
    pub seal_key: Option<PathBuf>,
    /// Which key of --seal-key seals (needed when the file holds several).
    #[arg(long, value_name = "KID", requires = "seal_key")]
    pub seal_kid: Option<String>,
}

/// Reads seal keys from a file (`-`: stdin). Unusable keys are invalid input (2).
pub fn read_keys(path: &Path) -> Result<SealKeys, Fail> {
    let text = read_text(path)?;
    SealKeys::parse(&text).map_err(|e| Fail::input(format!("--seal-key {}: {e}", name(path))))
}

/// The seal keys of an optional `--seal-key`.
pub fn open_keys(arg: &OpenArg) -> Result<Option<SealKeys>, Fail> {
    arg.seal_key.as_deref().map(read_keys).transpose()
}

/// The keys of `--seal-key` and the one that seals (`--seal-kid`, or the only one).
pub fn sealer(arg: &SealArg) -> Result<Option<(SealKeys, SealKey)>, Fail> {
    let Some(path) = arg.seal_key.as_deref() else {
        return Ok(None);
    };
    let keys = read_keys(path)?;
    let key = match &arg.seal_kid {
        Some(kid) => keys.get(kid).cloned().ok_or_else(|| {
            Fail::usage(format!(
                "--seal-kid {kid:?}: {} holds no seal key with that id",
                name(path)
            ))
        })?,
        None if keys.keys().len() == 1 => keys.keys()[0].clone(),
        None => {
            return Err(Fail::usage(format!(
                "{} holds {} seal keys; choose the one that seals with --seal-kid",
                name(path),
                keys.keys().len()
            )));
        }
    };
    Ok(Some((keys, key)))
}

/// Whether any key entry of the document holds a sealed secret.
pub fn doc_seals(keys: &[Value]) -> bool {
    keys.iter().any(|k| {
        ["signing", "webhook"]
            .iter()
            .any(|c| k.get(c).and_then(|o| o.get("sealed")).is_some())
    })
}

/// Seals a credential object's clear secret in place: `signing` `{"alg": "hmac-sha256",
/// "secret"|"jwk"}` becomes `{"alg": "hmac-sha256", "sealed"}`, `webhook` `{"secret"}` becomes
/// `{"sealed"}`. Returns whether it changed anything.
pub fn seal_credential(
    credential: &str,
    obj: &mut Map<String, Value>,
    key: &SealKey,
) -> Result<bool, Fail> {
    let text = match credential {
        "signing" if obj.get("alg").and_then(Value::as_str) == Some("hmac-sha256") => {
            match (obj.get("secret"), obj.get("jwk").and_then(|j| j.get("k"))) {
                (Some(Value::String(s)), _) => s.clone(),
                (None, Some(Value::String(k))) => k.clone(),
                _ => return Ok(false),
            }
        }
        "webhook" => match obj.get("secret") {
            Some(Value::String(s)) => s.clone(),
            _ => return Ok(false),
        },
        _ => return Ok(false),
    };
    let text = zeroize::Zeroizing::new(text);
    let sealed = key.seal(text.as_bytes()).map_err(|e| {
        if e.starts_with("no secure random source") {
            Fail::internal(e)
        } else {
            Fail::input(e)
        }
    })?;
    obj.remove("secret");
    obj.remove("jwk");
    obj.insert("sealed".into(), Value::String(sealed));
    Ok(true)
}
