//! `keyset import-jwks`: adds signing keys from a JWKS (each JWK's kid becomes the key id).
//! Only public keys are imported: a JWK with a private part refuses the whole import.

use std::path::PathBuf;

use clap::Args;
use serde_json::{Map, Value, json};

use super::doc::Doc;
use super::edit::{Common, finish, unused_id};
use crate::exit::{Exit, Fail, Outcome};
use crate::io::{editable, name, println, read};
use crate::util::{parse_duration, time_or_now};

#[derive(Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub common: Common,
    /// The JWKS file (`-`: stdin): {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": ..., "kid": ...}, {"kty": "oct", "k": ..., "kid": ...}]}.
    #[arg(long)]
    pub jwks: PathBuf,
    /// Comma-separated scopes for every imported key.
    #[arg(long, value_delimiter = ',')]
    pub scopes: Vec<String>,
    /// Lifetime from now; default 90d.
    #[arg(long, default_value = "90d", value_parser = parse_duration)]
    pub expires_in: i64,
    #[command(flatten)]
    pub seal: crate::seal::SealArg,
}

/// The registered JWK members carried into the key set (checked there against the key's use);
/// `kid` becomes the key id instead.
const CARRIED: &[&str] = &[
    "alg", "use", "key_ops", "ext", "x5u", "x5c", "x5t", "x5t#S256",
];

/// The key set `signing` object for one JWK: `{"alg", "jwk"}` with the key and the registered
/// members it came with (an exported key's `key_ops`, a key store's certificates, ...).
fn signing_of(jwk: &Value, at: &str) -> Result<Value, Fail> {
    if ["d", "p", "q", "dp", "dq", "qi", "oth"]
        .iter()
        .any(|m| jwk.get(m).is_some())
    {
        return Err(Fail::input(format!(
            "{at}: holds a private key (\"d\"); import only public keys"
        )));
    }
    let (alg, own): (&str, &[&str]) = match jwk.get("kty").and_then(Value::as_str) {
        Some("OKP") => ("ed25519", &["kty", "crv", "x"]),
        Some("oct") => ("hmac-sha256", &["kty", "k"]),
        other => {
            return Err(Fail::input(format!(
                "{at}: unsupported kty {other:?} (expected OKP or oct)"
            )));
        }
    };
    let mut out = Map::new();
    for m in own.iter().chain(CARRIED) {
        if let Some(v) = jwk.get(*m) {
            out.insert((*m).into(), v.clone());
        }
    }
    Ok(json!({"alg": alg, "jwk": out}))
}

pub fn import_jwks(a: &ImportArgs) -> Outcome {
    let now = time_or_now(a.common.now);
    let file = editable(&a.common.file)?;
    let src = name(&a.jwks);
    let jwks: Value = serde_json::from_slice(&read(&a.jwks)?)
        .map_err(|e| Fail::input(format!("{src}: not JSON: {e}")))?;
    let list = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| Fail::input(format!("{src}: expected a JWKS ({{\"keys\": [...]}})")))?;
    let sealer = crate::seal::sealer(&a.seal)?;
    let mut doc = Doc::open(file)?;
    let mut added = Vec::new();
    for (i, jwk) in list.iter().enumerate() {
        let at = format!("{src}: $.keys[{i}]");
        let kid = jwk.get("kid").and_then(Value::as_str).ok_or_else(|| {
            Fail::input(format!(
                "{at}: a JWK needs a \"kid\" (it becomes the key id)"
            ))
        })?;
        let signing = signing_of(jwk, &at)?;
        let id = unused_id(&mut doc, Some(kid), "")?;
        let Value::Object(mut entry) = json!({
            "id": id,
            "signing": signing,
            "status": "active",
            "not_before": now.to_rfc3339(),
            "expires_at": now.saturating_add(a.expires_in).to_rfc3339(),
            "scopes": a.scopes,
        }) else {
            unreachable!("an object literal")
        };
        super::edit::seal_new(&mut doc, &mut entry, sealer.as_ref().map(|s| &s.1))?;
        doc.keys_mut().push(Value::Object(entry));
        added.push(id);
    }
    finish(&mut doc, &a.common, now)?;
    println(json!({"imported": added}))?;
    Ok(Exit::Success)
}
