//! `keygate keygen`: new API keys and signing keys. Secrets are written once: to stdout, or
//! to a new 0600 file with `--out`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use crate::exit::{Exit, Fail, Outcome, help};
use crate::io::SecretOut;
use crate::util::parse_prefix;

#[derive(Subcommand)]
pub enum Keygen {
    /// A new API key: prints {"key": ..., "entry": {"id": ..., "api_key_hash": ...}}
    /// ("api_key": the same key, deprecated).
    #[command(after_help = help("keygen api-key"))]
    ApiKey {
        /// Recognisable prefix for secret scanners, e.g. kg_live.
        #[arg(long, default_value = "kg", value_parser = parse_prefix)]
        prefix: String,
        /// The key entry's id (default: derived from the prefix and random characters).
        #[arg(long)]
        id: Option<String>,
        #[command(flatten)]
        out: OutArg,
    },
    /// A new Ed25519 signing key: prints {"key": ..., "signing": {"alg": "ed25519", "public_key": ...}}
    /// ("private_key": the same key, deprecated).
    #[command(after_help = help("keygen ed25519"))]
    Ed25519 {
        #[command(flatten)]
        out: OutArg,
    },
    /// A new HMAC-SHA256 secret: prints {"key": ..., "signing": {"alg": "hmac-sha256", "secret": ...}}
    /// ("secret": the same key, deprecated).
    #[command(after_help = help("keygen hmac"))]
    Hmac {
        #[command(flatten)]
        out: OutArg,
    },
    /// A new Standard Webhooks v1 secret (HMAC-SHA256): prints {"key": "whsec_…",
    /// "webhook": {"secret": "whsec_…"}} (give the key to the sender; seal the entry).
    #[command(name = "webhook-v1", after_help = help("keygen webhook-v1"))]
    WebhookV1 {
        #[command(flatten)]
        out: OutArg,
    },
    /// A new Standard Webhooks v1a key pair (Ed25519): prints {"key": "whsk_…", "webhook":
    /// {"public_key": "whpk_…"}} (the sender keeps the key; the key set holds the public key).
    #[command(name = "webhook-v1a", after_help = help("keygen webhook-v1a"))]
    WebhookV1a {
        #[command(flatten)]
        out: OutArg,
    },
    /// A new seal key (AES-256) for sealed key set secrets: prints a JWK
    /// {"kty": "oct", "k": ..., "kid": ..., "alg": "dir", "use": "enc"}.
    #[command(after_help = help("keygen seal-key"))]
    SealKey {
        /// The key id sealed secrets will name (default: seal- and 8 random characters).
        #[arg(long, value_parser = parse_seal_kid)]
        kid: Option<String>,
        #[command(flatten)]
        out: OutArg,
    },
}

/// A seal key id: 1 to 128 characters (a flag value).
fn parse_seal_kid(s: &str) -> Result<String, String> {
    if s.is_empty() || s.chars().count() > 128 {
        return Err("a seal key id is 1 to 128 characters".into());
    }
    Ok(s.to_string())
}

#[derive(Args)]
pub struct OutArg {
    /// Write the secrets to this new file, created with mode 0600 (never overwrites; `-`: stdout).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(k: Keygen) -> Outcome {
    match k {
        Keygen::ApiKey { prefix, id, out } => {
            let sink = SecretOut::open(out.out.as_deref())?;
            let key = keygate::api_key::generate(&prefix).map_err(Fail::internal)?;
            let id = match id {
                Some(id) => id,
                None => default_id(&prefix)?,
            };
            sink.write(&json!({
                "key": key.expose_secret(),
                "entry": { "id": id, "api_key_hash": key.digest().to_string() },
                "api_key": key.expose_secret(),
            }))?;
            Ok(Exit::Success)
        }
        Keygen::Ed25519 { out } => signing_key(keygate::sig::Algorithm::Ed25519, out),
        Keygen::Hmac { out } => signing_key(keygate::sig::Algorithm::HmacSha256, out),
        Keygen::WebhookV1 { out } => webhook_key(keygate::webhook::Scheme::V1, out),
        Keygen::WebhookV1a { out } => webhook_key(keygate::webhook::Scheme::V1a, out),
        Keygen::SealKey { kid, out } => {
            let sink = SecretOut::open(out.out.as_deref())?;
            let key = keygate::SealKey::generate(kid.as_deref()).map_err(Fail::internal)?;
            sink.write(&key.to_jwk())?;
            Ok(Exit::Success)
        }
    }
}

fn signing_key(alg: keygate::sig::Algorithm, out: OutArg) -> Outcome {
    let sink = SecretOut::open(out.out.as_deref())?;
    sink.write(&crate::keyfile::keygen(alg)?)?;
    Ok(Exit::Success)
}

fn webhook_key(scheme: keygate::webhook::Scheme, out: OutArg) -> Outcome {
    let sink = SecretOut::open(out.out.as_deref())?;
    let k = keygate::webhook::WebhookSigner::generate(scheme).map_err(Fail::internal)?;
    sink.write(&json!({"key": k.to_text().as_str(), "webhook": k.entry()}))?;
    Ok(Exit::Success)
}

/// `<prefix>-<8 random base62 characters>`, with `_` turned into `-`.
pub fn default_id(prefix: &str) -> Result<String, Fail> {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes)
        .map_err(|e| Fail::internal(format!("no secure random source: {e}")))?;
    let tail = keygate::encoding_util::base62_encode(&bytes, 9);
    Ok(format!("{}-{}", prefix.replace('_', "-"), &tail[1..]))
}
