//! Edits: `new`, `add`, `disable`/`enable`/`revoke`, `bump` (`rotate` and `import-jwks`
//! have their own files).
//!
//! Every edit validates the whole resulting key set and replaces the file atomically; an
//! error leaves the file untouched. Edits bump the revision (and issued_at) so the result can
//! be pushed straight away, unless `--no-bump` is given. Secrets are written once: to
//! stdout, or to a new 0600 file with `--out` (created before the edit, so an existing file
//! stops the command before anything changes).

use std::path::PathBuf;

use clap::Args;
use keygate::UnixTime;
use keygate::sig::{Algorithm, SignerKey};
use serde_json::{Map, Value, json};

use super::doc::{Doc, write_atomic};
use crate::exit::{Exit, Fail, Outcome};
use crate::io::{SecretOut, editable};
use crate::keygen::OutArg;
use crate::seal::SealArg;
use crate::util::{parse_duration, parse_prefix, parse_time, time_or_now};
use keygate::SealKey;

#[derive(Args)]
pub struct Common {
    /// The key set file.
    pub file: PathBuf,
    /// Keep the revision and issued_at unchanged.
    #[arg(long)]
    pub no_bump: bool,
    /// The time to edit at: Unix seconds or RFC 3339 (default: now).
    #[arg(long, value_parser = parse_time)]
    pub now: Option<UnixTime>,
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
    #[arg(long, value_parser = parse_time)]
    pub now: Option<UnixTime>,
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
    #[arg(long, default_value = "kg", value_parser = parse_prefix)]
    pub prefix: String,
    /// Give the key a signing key: hmac-sha256 (a new shared secret) or ed25519 (a new key pair,
    /// or --public-key to register a key whose private half the client holds).
    #[arg(long, value_parser = ["hmac-sha256", "ed25519"])]
    pub signing: Option<String>,
    /// With --signing ed25519: the client's base64url public key (no private key is generated).
    #[arg(long)]
    pub public_key: Option<String>,
    /// Give the key a Standard Webhooks key: v1 (a new whsec_ secret) or v1a (a new Ed25519
    /// key pair); printed once as "webhook_key".
    #[arg(long, value_parser = ["v1", "v1a"], group = "webhook_key")]
    pub webhook: Option<String>,
    /// Register a sender's v1 secret (whsec_…) read from this file (`-`: stdin), never from
    /// the command line.
    #[arg(long, value_name = "FILE", group = "webhook_key")]
    pub webhook_secret_file: Option<PathBuf>,
    /// Register a sender's v1a public key (whpk_…).
    #[arg(long, value_name = "WHPK", group = "webhook_key")]
    pub webhook_public_key: Option<String>,
    /// Accept this key's webhooks on the route with this path (added to its webhook_keys; a
    /// new POST route first in the list when there is none).
    #[arg(long, value_name = "PATH", requires = "webhook_key")]
    pub webhook_route: Option<String>,
    /// Comma-separated scopes.
    #[arg(long, value_delimiter = ',')]
    pub scopes: Vec<String>,
    /// Lifetime from now (e.g. 90d); default 90d.
    #[arg(long, value_parser = parse_duration, conflicts_with_all = ["expires_at", "no_expiry"])]
    pub expires_in: Option<i64>,
    /// Absolute expiry: RFC 3339 or Unix seconds.
    #[arg(long, value_parser = parse_time, conflicts_with = "no_expiry")]
    pub expires_at: Option<UnixTime>,
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
    #[command(flatten)]
    pub seal: SealArg,
    #[command(flatten)]
    pub out: OutArg,
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
    #[arg(long, value_parser = parse_time)]
    pub now: Option<UnixTime>,
}

/// Bumps (unless --no-bump), validates and saves; prints the lints of the result.
pub(super) fn finish(doc: &mut Doc, common: &Common, now: UnixTime) -> Result<(), Fail> {
    if !common.no_bump {
        doc.bump(now);
    }
    let ks = doc.save()?;
    // Edits carry sealed secrets without opening them: that they were not opened is no news.
    for l in ks
        .lint(now)
        .iter()
        .filter(|l| l.code != "sealed_not_opened")
    {
        eprintln!("{}: warning: {l}", doc.path.display());
    }
    Ok(())
}

pub fn new(a: &NewArgs) -> Outcome {
    let file = editable(&a.file)?;
    let now = time_or_now(a.now);
    if file.exists() && !a.force {
        return Err(Fail::output(format!(
            "{}: already exists (use --force to overwrite)",
            file.display()
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
    write_atomic(file, text.as_bytes())?;
    eprintln!("{}: created (revision 1)", file.display());
    Ok(Exit::Success)
}

/// New credentials: the entry fields, and the secrets to write once.
pub(super) struct Fresh {
    pub entry: Map<String, Value>,
    pub secrets: Map<String, Value>,
}

impl Fresh {
    pub fn new(id: &str) -> Fresh {
        let mut entry = Map::new();
        entry.insert("id".into(), Value::String(id.to_string()));
        let mut secrets = Map::new();
        secrets.insert("id".into(), Value::String(id.to_string()));
        Fresh { entry, secrets }
    }

    /// A new API key: its digest in the entry, the key as `api_key`.
    pub fn api_key(&mut self, prefix: &str) -> Result<(), Fail> {
        let k = keygate::api_key::generate(prefix).map_err(Fail::internal)?;
        self.entry
            .insert("api_key_hash".into(), Value::String(k.digest().to_string()));
        self.secrets.insert(
            "api_key".into(),
            Value::String(k.expose_secret().to_string()),
        );
        Ok(())
    }

    /// A signing key: generated here (the secret as `signing_key`, beside its 0.1 name
    /// `private_key`/`secret`, deprecated), or a client-held Ed25519 public key.
    pub fn signing(&mut self, alg: &str, public_key: Option<&str>) -> Result<(), Fail> {
        let algorithm = Algorithm::from_name(alg)
            .ok_or_else(|| Fail::input(format!("unknown signing algorithm {alg:?}")))?;
        match (algorithm, public_key) {
            (_, None) => {
                let generated = SignerKey::generate(algorithm)
                    .map_err(Fail::internal)?
                    .to_keygen_json();
                let Value::Object(g) = generated else {
                    return Err(Fail::internal("key generation returned no object"));
                };
                let legacy = if g.contains_key("private_key") {
                    "private_key"
                } else {
                    "secret"
                };
                self.entry.insert("signing".into(), g["signing"].clone());
                self.secrets.insert("signing_key".into(), g[legacy].clone());
                self.secrets.insert("signing".into(), g["signing"].clone());
                self.secrets.insert(legacy.into(), g[legacy].clone());
            }
            (Algorithm::Ed25519, Some(pk)) => {
                self.entry.insert(
                    "signing".into(),
                    json!({"alg": "ed25519", "public_key": pk}),
                );
            }
            (_, Some(_)) => {
                return Err(Fail::usage("--public-key goes with --signing ed25519"));
            }
        }
        Ok(())
    }

    /// A Standard Webhooks key: generated (its secret as `webhook_key`), or a sender's v1
    /// secret or v1a public key registered as given.
    pub fn webhook(&mut self, a: &AddArgs) -> Result<(), Fail> {
        use keygate::webhook::{Scheme, WebhookKey, WebhookSecret, WebhookSigner};
        let entry = if let Some(scheme) = &a.webhook {
            let scheme = if scheme == "v1" {
                Scheme::V1
            } else {
                Scheme::V1a
            };
            let k = WebhookSigner::generate(scheme).map_err(Fail::internal)?;
            self.secrets
                .insert("webhook_key".into(), Value::String(k.to_text().to_string()));
            self.secrets.insert("webhook".into(), k.entry());
            k.entry()
        } else if let Some(path) = &a.webhook_secret_file {
            let text = zeroize::Zeroizing::new(crate::io::read_text(path)?);
            let text = text.trim();
            WebhookSecret::from_text(text)
                .map_err(|e| Fail::input(format!("{}: {e}", crate::io::name(path))))?;
            json!({"secret": text})
        } else if let Some(pk) = &a.webhook_public_key {
            WebhookKey::public_key(pk.trim())
                .map_err(|e| Fail::input(format!("--webhook-public-key: {e}")))?;
            json!({"public_key": pk.trim()})
        } else {
            return Ok(());
        };
        self.entry.insert("webhook".into(), entry);
        Ok(())
    }

    /// Writes the secrets (with `extra` members); the key set is already saved, so a failure
    /// says what to do about a key whose secret was lost.
    pub fn deliver(mut self, sink: SecretOut, extra: Option<(&str, Value)>) -> Result<(), Fail> {
        if let Some((k, v)) = extra {
            self.secrets.insert(k.into(), v);
        }
        let id = self.secrets["id"].as_str().unwrap_or_default().to_string();
        sink.write(&Value::Object(self.secrets)).map_err(|e| {
            Fail::new(
                e.exit,
                format!("the key set was saved with key {id:?}, but its secrets could not be written ({e}); revoke that key and add another"),
            )
        })
    }
}

fn expiry(now: UnixTime, a: &AddArgs) -> Option<UnixTime> {
    if a.no_expiry {
        return None;
    }
    if let Some(t) = a.expires_at {
        return Some(t);
    }
    Some(now.saturating_add(a.expires_in.unwrap_or(90 * 86_400)))
}

/// Seals the clear secrets of a new entry with `--seal-key` (when given). A set that already
/// seals its secrets refuses a new clear one: the flag is then required.
pub(super) fn seal_new(
    doc: &mut Doc,
    entry: &mut Map<String, Value>,
    sealer: Option<&SealKey>,
) -> Result<(), Fail> {
    for credential in ["signing", "webhook"] {
        let Some(Value::Object(obj)) = entry.get_mut(credential) else {
            continue;
        };
        let clear = obj.contains_key("secret")
            || obj.contains_key("jwk")
                && obj.get("alg").and_then(Value::as_str) == Some("hmac-sha256");
        if !clear {
            continue;
        }
        match sealer {
            Some(key) => {
                crate::seal::seal_credential(credential, obj, key)?;
            }
            None if crate::seal::doc_seals(doc.keys_mut()) => {
                return Err(Fail::usage(format!(
                    "{}: this key set seals its secrets; pass --seal-key FILE so the new secret is sealed too",
                    doc.path.display()
                )));
            }
            None => {}
        }
    }
    Ok(())
}

/// `want` if no key has it yet, else the first free `base`, `base-2`, `base-3`, ...
pub(super) fn unused_id(doc: &mut Doc, want: Option<&str>, base: &str) -> Result<String, Fail> {
    let taken: Vec<String> = doc
        .keys_mut()
        .iter()
        .filter_map(|k| k.get("id").and_then(Value::as_str).map(str::to_string))
        .collect();
    if let Some(id) = want {
        if taken.iter().any(|t| t == id) {
            return Err(Fail::input(format!("a key with id {id:?} already exists")));
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
        .ok_or_else(|| Fail::input("no free key id; pass --id"))
}

pub fn add(a: &AddArgs) -> Outcome {
    let now = time_or_now(a.common.now);
    if a.public_key.is_some() && a.signing.as_deref() != Some("ed25519") {
        return Err(Fail::usage("--public-key goes with --signing ed25519"));
    }
    let file = editable(&a.common.file)?;
    let sealer = crate::seal::sealer(&a.seal)?;
    let sink = SecretOut::open(a.out.out.as_deref())?;
    let mut doc = Doc::open(file)?;
    let id = unused_id(&mut doc, a.id.as_deref(), &a.prefix.replace('_', "-"))?;
    let mut fresh = Fresh::new(&id);
    let webhook =
        a.webhook.is_some() || a.webhook_secret_file.is_some() || a.webhook_public_key.is_some();
    if a.api_key || (a.signing.is_none() && !webhook) {
        fresh.api_key(&a.prefix)?;
    }
    if let Some(alg) = &a.signing {
        fresh.signing(alg, a.public_key.as_deref())?;
    }
    fresh.webhook(a)?;
    let e = &mut fresh.entry;
    e.insert("status".into(), Value::String("active".into()));
    e.insert("not_before".into(), Value::String(now.to_rfc3339()));
    if let Some(exp) = expiry(now, a) {
        e.insert("expires_at".into(), Value::String(exp.to_rfc3339()));
    }
    let scopes: Vec<&str> = a
        .scopes
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    e.insert("scopes".into(), json!(scopes));
    if !a.allow_cidrs.is_empty() {
        e.insert("allow_cidrs".into(), json!(a.allow_cidrs));
    }
    if !a.deny_cidrs.is_empty() {
        e.insert("deny_cidrs".into(), json!(a.deny_cidrs));
    }
    if let Some(n) = &a.name {
        e.insert("name".into(), Value::String(n.clone()));
    }
    seal_new(&mut doc, &mut fresh.entry, sealer.as_ref().map(|s| &s.1))?;
    doc.keys_mut().push(Value::Object(fresh.entry.clone()));
    if let Some(route) = &a.webhook_route {
        doc.accept_webhooks(route, &id);
    }
    finish(&mut doc, &a.common, now)?;
    fresh.deliver(sink, None)?;
    Ok(Exit::Success)
}

pub fn set_status(a: &IdArgs, status: &str) -> Outcome {
    let now = time_or_now(a.common.now);
    let mut doc = Doc::open(editable(&a.common.file)?)?;
    let i = doc.find(&a.id)?;
    let key = doc.keys_mut()[i]
        .as_object_mut()
        .ok_or_else(|| Fail::input("key entry is not an object"))?;
    let current = key
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("active")
        .to_string();
    if current == "revoked" && status != "revoked" {
        return Err(Fail::input(format!(
            "key {:?} is revoked; revocation is final (add a new key instead)",
            a.id
        )));
    }
    if current == status {
        eprintln!("key {:?} is already {status}; nothing to do", a.id);
        return Ok(Exit::Success);
    }
    key.insert("status".into(), Value::String(status.to_string()));
    finish(&mut doc, &a.common, now)?;
    eprintln!("key {:?}: {current} -> {status}", a.id);
    Ok(Exit::Success)
}

pub fn bump(a: &IdlessArgs) -> Outcome {
    let now = time_or_now(a.now);
    let mut doc = Doc::open(editable(&a.file)?)?;
    doc.bump(now);
    let ks = doc.save()?;
    eprintln!("{}: revision {}", a.file.display(), ks.revision());
    Ok(Exit::Success)
}
