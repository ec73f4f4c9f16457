use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use crate::LoadError;

#[derive(Subcommand)]
pub enum Keygen {
    /// A new API key: prints {"api_key": ..., "entry": {"id": ..., "api_key_hash": ...}}.
    ApiKey {
        /// Recognisable prefix for secret scanners, e.g. kg_live.
        #[arg(long, default_value = "kg")]
        prefix: String,
        /// The key entry's id (default: derived from the prefix and random characters).
        #[arg(long)]
        id: Option<String>,
    },
    /// A new Ed25519 signing key: prints {"private_key": ..., "signing": {"alg": "ed25519", "public_key": ...}}.
    Ed25519,
    /// A new HMAC-SHA256 secret: prints {"secret": ..., "signing": {"alg": "hmac-sha256", "secret": ...}}.
    Hmac,
}

pub fn run(k: Keygen) -> Result<ExitCode, LoadError> {
    match k {
        Keygen::ApiKey { prefix, id } => {
            let key = keygate::api_key::generate(&prefix).map_err(LoadError)?;
            let id = match id {
                Some(id) => id,
                None => default_id(&prefix)?,
            };
            let out = json!({
                "api_key": key.expose_secret(),
                "entry": { "id": id, "api_key_hash": key.digest().to_string() },
            });
            println!("{out}");
            Ok(ExitCode::SUCCESS)
        }
        Keygen::Ed25519 => signing_key(keygate::sig::Algorithm::Ed25519),
        Keygen::Hmac => signing_key(keygate::sig::Algorithm::HmacSha256),
    }
}

fn signing_key(alg: keygate::sig::Algorithm) -> Result<ExitCode, LoadError> {
    println!("{}", crate::keyfile::keygen(alg)?);
    Ok(ExitCode::SUCCESS)
}

/// `<prefix>-<8 random base62 characters>`, with `_` turned into `-`.
pub fn default_id(prefix: &str) -> Result<String, LoadError> {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).map_err(|e| LoadError(format!("no secure random source: {e}")))?;
    let tail = keygate::encoding_util::base62_encode(&bytes, 9);
    Ok(format!("{}-{}", prefix.replace('_', "-"), &tail[1..]))
}
