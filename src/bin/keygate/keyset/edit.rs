//! Edits: `new`, `add`, `disable`/`enable`/`revoke`, `rotate`, `bump`, `import-jwks`.
//!
//! Every edit validates the whole resulting key set and replaces the file atomically; an
//! error leaves the file untouched. Edits bump the revision (and issued_at) so the result can
//! be pushed straight away, unless `--no-bump` is given. Secrets go to stdout, once.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use keygate::UnixTime;
use keygate::sig::{Algorithm, SignerKey};
use serde_json::{Map, Value, json};

use super::doc::{Doc, write_atomic};
use crate::LoadError;
use crate::util::{parse_duration, read, time_or_now};

#[derive(Args)]
pub struct Common {
    /// The key set file.
    pub file: PathBuf,
    /// Keep the revision and issued_at unchanged.
    #[arg(long)]
    pub no_bump: bool,
    /// The time to edit at: Unix seconds or RFC 3339 (default: now).
    #[arg(long)]
    pub now: Option<String>,
}

#[derive(Args)]
pub struct NewArgs {
    /// The file to create.
    pub file: PathBuf,
    /// What an unmatched path gets: authenticate or deny.
    #[arg(long, default_value = "authenticate", value_parser = ["authenticate", "deny"])]
    pub default_route: String,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
    /// The time to stamp as issued_at (default: now).
    #[arg(long)]
    pub now: Option<String>,
}

#[derive(Args)]
pub struct AddArgs {
    #[command(flatten)]
    pub common: Common,
    /// The new key's id (default: derived from the prefix).
    #[arg(long)]
    pub id: Option<String>,
    /// Give the key an API key (the default when no --signing is given).
    #[arg(long)]
    pub api_key: bool,
    /// API key prefix, for secret scanners.
    #[arg(long, default_value = "kg")]
    pub prefix: String,
    /// Give the key a signing key: hmac-sha256 (a new shared secret) or ed25519 (a new key pair,
    /// or --public-key to register a key whose private half the client holds).
    #[arg(long, value_parser = ["hmac-sha256", "ed25519"])]
    pub signing: Option<String>,
    /// With --signing ed25519: the client's base64url public key (no private key is generated).
    #[arg(long)]
    pub public_key: Option<String>,
    /// Comma-separated scopes.
    #[arg(long, value_delimiter = ',')]
    pub scopes: Vec<String>,
    /// Lifetime from now (e.g. 90d); default 90d.
    #[arg(long, conflicts_with_all = ["expires_at", "no_expiry"])]
    pub expires_in: Option<String>,
    /// Absolute expiry (RFC 3339).
    #[arg(long, conflicts_with = "no_expiry")]
    pub expires_at: Option<String>,
    /// Create a key that never expires (flagged by lint).
    #[arg(long)]
    pub no_expiry: bool,
    /// Allowed client networks (repeatable).
    #[arg(long = "allow-cidr")]
    pub allow_cidrs: Vec<String>,
    /// Denied client networks (repeatable).
    #[arg(long = "deny-cidr")]
    pub deny_cidrs: Vec<String>,
    /// A human-readable name.
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Args)]
pub struct IdArgs {
    #[command(flatten)]
    pub common: Common,
    /// The key id.
    pub id: String,
}

#[derive(Args)]
pub struct IdlessArgs {
    /// The key set file.
    pub file: PathBuf,
    /// The time to stamp as issued_at (default: now).
    #[arg(long)]
    pub now: Option<String>,
}

#[derive(Args)]
pub struct RotateArgs {
    #[command(flatten)]
    pub common: Common,
    /// The key to replace.
    pub id: String,
    /// How long the old key keeps working (its expires_at becomes now + grace, never later than before).
    #[arg(long)]
    pub grace: String,
    /// The new key's id (default: ID-r2, ID-r3, ...).
    #[arg(long)]
    pub new_id: Option<String>,
    /// API key prefix for the new key.
    #[arg(long, default_value = "kg")]
    pub prefix: String,
    /// Lifetime of the new key from now; default: 90d.
    #[arg(long, default_value = "90d")]
    pub expires_in: String,
}

#[derive(Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub common: Common,
    /// The JWKS file: {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": ..., "kid": ...}, {"kty": "oct", "k": ..., "kid": ...}]}.
    #[arg(long)]
    pub jwks: PathBuf,
    /// Comma-separated scopes for every imported key.
    #[arg(long, value_delimiter = ',')]
    pub scopes: Vec<String>,
    /// Lifetime from now; default 90d.
    #[arg(long, default_value = "90d")]
    pub expires_in: String,
}

fn finish(doc: &mut Doc, common: &Common, now: UnixTime) -> Result<(), LoadError> {
    if !common.no_bump {
        doc.bump(now);
    }
    let ks = doc.save()?;
    for l in ks.lint(now) {
        eprintln!("{}: warning: {l}", doc.path.display());
    }
    Ok(())
}

pub fn new(a: &NewArgs) -> Result<ExitCode, LoadError> {
    let now = time_or_now(a.now.as_deref())?;
    if a.file.exists() && !a.force {
        return Err(LoadError(format!(
            "{}: already exists (use --force to overwrite)",
            a.file.display()
        )));
    }
    let doc = json!({
        "keygate": 1,
        "revision": 1,
        "issued_at": now.to_rfc3339(),
        "policy": { "clock_skew_seconds": 30, "default_route": a.default_route },
        "deny_cidrs": [],
        "routes": [],
        "keys": [],
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    write_atomic(&a.file, text.as_bytes())?;
    eprintln!("{}: created (revision 1)", a.file.display());
    Ok(ExitCode::SUCCESS)
}

/// New credentials: the entry fields and the secrets to print.
struct Fresh {
    entry: Map<String, Value>,
    secrets: Map<String, Value>,
}

fn api_key(prefix: &str, f: &mut Fresh) -> Result<(), LoadError> {
    let k = keygate::api_key::generate(prefix).map_err(LoadError)?;
    f.entry
        .insert("api_key_hash".into(), Value::String(k.digest().to_string()));
    f.secrets.insert(
        "api_key".into(),
        Value::String(k.expose_secret().to_string()),
    );
    Ok(())
}

fn signing(alg: &str, public_key: Option<&str>, f: &mut Fresh) -> Result<(), LoadError> {
    let algorithm = Algorithm::from_name(alg)
        .ok_or_else(|| LoadError(format!("unknown signing algorithm {alg:?}")))?;
    match (algorithm, public_key) {
        // A key pair or shared secret generated here: the same output as `keygate keygen`.
        (_, None) => {
            let generated = SignerKey::generate(algorithm)
                .map_err(LoadError)?
                .to_keygen_json();
            let Value::Object(secrets) = generated else {
                return Err(LoadError("key generation failed".into()));
            };
            f.entry.insert("signing".into(), secrets["signing"].clone());
            f.secrets.extend(secrets);
        }
        // A client-held Ed25519 key: only its public half is registered.
        (Algorithm::Ed25519, Some(pk)) => {
            f.entry.insert(
                "signing".into(),
                json!({"alg": "ed25519", "public_key": pk}),
            );
        }
        (_, Some(_)) => return Err(LoadError("--public-key goes with --signing ed25519".into())),
    }
    Ok(())
}

fn print_secrets(id: &str, secrets: Map<String, Value>, extra: Option<(&str, Value)>) {
    let mut out = Map::new();
    out.insert("id".into(), Value::String(id.to_string()));
    out.extend(secrets);
    if let Some((k, v)) = extra {
        out.insert(k.into(), v);
    }
    println!("{}", Value::Object(out));
}

fn expiry(now: UnixTime, a: &AddArgs) -> Result<Option<UnixTime>, LoadError> {
    if a.no_expiry {
        return Ok(None);
    }
    if let Some(t) = &a.expires_at {
        return UnixTime::parse_flexible(t)
            .map(Some)
            .map_err(|e| LoadError(format!("--expires-at {t:?}: {e}")));
    }
    let secs = parse_duration(a.expires_in.as_deref().unwrap_or("90d")).map_err(LoadError)?;
    Ok(Some(now.saturating_add(secs)))
}

fn unused_id(doc: &mut Doc, want: Option<&str>, base: &str) -> Result<String, LoadError> {
    let taken: Vec<String> = doc
        .keys_mut()
        .iter()
        .filter_map(|k| k.get("id").and_then(Value::as_str).map(str::to_string))
        .collect();
    if let Some(id) = want {
        if taken.iter().any(|t| t == id) {
            return Err(LoadError(format!("a key with id {id:?} already exists")));
        }
        return Ok(id.to_string());
    }
    (1..10_000)
        .map(|n| {
            if n == 1 {
                base.to_string()
            } else {
                format!("{base}-{n}")
            }
        })
        .find(|c| !taken.contains(c))
        .ok_or_else(|| LoadError("no free key id; pass --id".into()))
}

pub fn add(a: &AddArgs) -> Result<ExitCode, LoadError> {
    let now = time_or_now(a.common.now.as_deref())?;
    let mut doc = Doc::open(&a.common.file)?;
    let id = unused_id(&mut doc, a.id.as_deref(), &a.prefix.replace('_', "-"))?;
    let mut fresh = Fresh {
        entry: Map::new(),
        secrets: Map::new(),
    };
    fresh.entry.insert("id".into(), Value::String(id.clone()));
    if a.api_key || a.signing.is_none() {
        api_key(&a.prefix, &mut fresh)?;
    }
    if let Some(alg) = &a.signing {
        signing(alg, a.public_key.as_deref(), &mut fresh)?;
    } else if a.public_key.is_some() {
        return Err(LoadError("--public-key goes with --signing ed25519".into()));
    }
    fresh
        .entry
        .insert("status".into(), Value::String("active".into()));
    fresh
        .entry
        .insert("not_before".into(), Value::String(now.to_rfc3339()));
    if let Some(exp) = expiry(now, a)? {
        fresh
            .entry
            .insert("expires_at".into(), Value::String(exp.to_rfc3339()));
    }
    let scopes: Vec<&str> = a
        .scopes
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    fresh.entry.insert("scopes".into(), json!(scopes));
    if !a.allow_cidrs.is_empty() {
        fresh
            .entry
            .insert("allow_cidrs".into(), json!(a.allow_cidrs));
    }
    if !a.deny_cidrs.is_empty() {
        fresh.entry.insert("deny_cidrs".into(), json!(a.deny_cidrs));
    }
    if let Some(n) = &a.name {
        fresh.entry.insert("name".into(), Value::String(n.clone()));
    }
    doc.keys_mut().push(Value::Object(fresh.entry));
    finish(&mut doc, &a.common, now)?;
    print_secrets(&id, fresh.secrets, None);
    Ok(ExitCode::SUCCESS)
}

pub fn set_status(a: &IdArgs, status: &str) -> Result<ExitCode, LoadError> {
    let now = time_or_now(a.common.now.as_deref())?;
    let mut doc = Doc::open(&a.common.file)?;
    let i = doc.find(&a.id)?;
    let key = doc.keys_mut()[i]
        .as_object_mut()
        .ok_or_else(|| LoadError("key entry is not an object".into()))?;
    let current = key
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("active")
        .to_string();
    if current == "revoked" && status != "revoked" {
        return Err(LoadError(format!(
            "key {:?} is revoked; revocation is final (add a new key instead)",
            a.id
        )));
    }
    if current == status {
        eprintln!("key {:?} is already {status}; nothing to do", a.id);
        return Ok(ExitCode::SUCCESS);
    }
    key.insert("status".into(), Value::String(status.to_string()));
    finish(&mut doc, &a.common, now)?;
    eprintln!("key {:?}: {current} -> {status}", a.id);
    Ok(ExitCode::SUCCESS)
}

fn next_rotation_id(old: &str) -> String {
    if let Some((base, n)) = old.rsplit_once("-r")
        && let Ok(n) = n.parse::<u32>()
    {
        return format!("{base}-r{}", n + 1);
    }
    format!("{old}-r2")
}

pub fn rotate(a: &RotateArgs) -> Result<ExitCode, LoadError> {
    let now = time_or_now(a.common.now.as_deref())?;
    let grace = parse_duration(&a.grace).map_err(|e| LoadError(format!("--grace: {e}")))?;
    let lifetime =
        parse_duration(&a.expires_in).map_err(|e| LoadError(format!("--expires-in: {e}")))?;
    let mut doc = Doc::open(&a.common.file)?;
    let i = doc.find(&a.id)?;
    let old = doc.keys_mut()[i].clone();
    if old.get("status").and_then(Value::as_str) == Some("revoked") {
        return Err(LoadError(format!(
            "key {:?} is revoked; add a new key instead of rotating it",
            a.id
        )));
    }
    let mut want = a.new_id.clone();
    if want.is_none() {
        let mut candidate = next_rotation_id(&a.id);
        while doc.find(&candidate).is_ok() {
            candidate = next_rotation_id(&candidate);
        }
        want = Some(candidate);
    }
    let new_id = unused_id(&mut doc, want.as_deref(), "")?;
    let mut fresh = Fresh {
        entry: Map::new(),
        secrets: Map::new(),
    };
    fresh
        .entry
        .insert("id".into(), Value::String(new_id.clone()));
    if old.get("api_key_hash").is_some() {
        api_key(&a.prefix, &mut fresh)?;
    }
    if let Some(alg) = old
        .get("signing")
        .and_then(|s| s.get("alg"))
        .and_then(Value::as_str)
    {
        signing(alg, None, &mut fresh)?;
    }
    fresh
        .entry
        .insert("status".into(), Value::String("active".into()));
    fresh
        .entry
        .insert("not_before".into(), Value::String(now.to_rfc3339()));
    fresh.entry.insert(
        "expires_at".into(),
        Value::String(now.saturating_add(lifetime).to_rfc3339()),
    );
    for field in [
        "scopes",
        "allow_cidrs",
        "deny_cidrs",
        "require_signature",
        "name",
    ] {
        if let Some(v) = old.get(field) {
            fresh.entry.insert(field.into(), v.clone());
        }
    }
    fresh
        .entry
        .insert("meta".into(), json!({"rotated_from": a.id}));
    // The old key keeps working for the grace period, never longer than it already would.
    let grace_end = now.saturating_add(grace);
    let old_exp = old
        .get("expires_at")
        .and_then(Value::as_str)
        .and_then(|s| UnixTime::parse_rfc3339(s).ok());
    let new_old_exp = old_exp.map_or(grace_end, |e| e.min(grace_end));
    let old_nb = old
        .get("not_before")
        .and_then(Value::as_str)
        .and_then(|s| UnixTime::parse_rfc3339(s).ok());
    if old_nb.is_some_and(|nb| nb >= new_old_exp) {
        return Err(LoadError(format!(
            "key {:?} only becomes valid after the grace period ends; remove or revoke it instead",
            a.id
        )));
    }
    if let Some(o) = doc.keys_mut()[i].as_object_mut() {
        o.insert("expires_at".into(), Value::String(new_old_exp.to_rfc3339()));
    }
    doc.keys_mut().insert(i + 1, Value::Object(fresh.entry));
    finish(&mut doc, &a.common, now)?;
    print_secrets(
        &new_id,
        fresh.secrets,
        Some((
            "old",
            json!({"id": a.id, "expires_at": new_old_exp.to_rfc3339()}),
        )),
    );
    Ok(ExitCode::SUCCESS)
}

pub fn bump(a: &IdlessArgs) -> Result<ExitCode, LoadError> {
    let now = time_or_now(a.now.as_deref())?;
    let mut doc = Doc::open(&a.file)?;
    doc.bump(now);
    let ks = doc.save()?;
    eprintln!("{}: revision {}", a.file.display(), ks.revision());
    Ok(ExitCode::SUCCESS)
}

pub fn import_jwks(a: &ImportArgs) -> Result<ExitCode, LoadError> {
    let now = time_or_now(a.common.now.as_deref())?;
    let lifetime =
        parse_duration(&a.expires_in).map_err(|e| LoadError(format!("--expires-in: {e}")))?;
    let jwks: Value = serde_json::from_slice(&read(&a.jwks)?)
        .map_err(|e| LoadError(format!("{}: not JSON: {e}", a.jwks.display())))?;
    let list = jwks.get("keys").and_then(Value::as_array).ok_or_else(|| {
        LoadError(format!(
            "{}: expected a JWKS ({{\"keys\": [...]}})",
            a.jwks.display()
        ))
    })?;
    let mut doc = Doc::open(&a.common.file)?;
    let mut added = Vec::new();
    for (i, jwk) in list.iter().enumerate() {
        let at = format!("{}: $.keys[{i}]", a.jwks.display());
        let kid = jwk.get("kid").and_then(Value::as_str).ok_or_else(|| {
            LoadError(format!(
                "{at}: a JWK needs a \"kid\" (it becomes the key id)"
            ))
        })?;
        if jwk.get("d").is_some() {
            return Err(LoadError(format!(
                "{at}: holds a private key (\"d\"); import only public keys"
            )));
        }
        let signing = match jwk.get("kty").and_then(Value::as_str) {
            Some("OKP") => {
                let mut pub_jwk = Map::new();
                for m in ["kty", "crv", "x"] {
                    if let Some(v) = jwk.get(m) {
                        pub_jwk.insert(m.into(), v.clone());
                    }
                }
                json!({"alg": "ed25519", "jwk": pub_jwk})
            }
            Some("oct") => {
                let k = jwk
                    .get("k")
                    .and_then(Value::as_str)
                    .ok_or_else(|| LoadError(format!("{at}: missing \"k\"")))?;
                json!({"alg": "hmac-sha256", "secret": k})
            }
            other => {
                return Err(LoadError(format!(
                    "{at}: unsupported kty {other:?} (expected OKP or oct)"
                )));
            }
        };
        let id = unused_id(&mut doc, Some(kid), "")?;
        doc.keys_mut().push(json!({
            "id": id,
            "signing": signing,
            "status": "active",
            "not_before": now.to_rfc3339(),
            "expires_at": now.saturating_add(lifetime).to_rfc3339(),
            "scopes": a.scopes,
        }));
        added.push(id);
    }
    finish(&mut doc, &a.common, now)?;
    println!("{}", json!({"imported": added}));
    Ok(ExitCode::SUCCESS)
}
