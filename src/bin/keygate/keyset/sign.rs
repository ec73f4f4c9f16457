//! `keyset sign` and `keyset verify`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use keygate::{Envelope, KeySet, LoadError as KgLoad, PublisherSecret, sign_envelope};
use serde_json::json;
use sha2::Digest as _;

use super::inspect::publisher_keys;
use crate::LoadError;
use crate::util::{file_or_inline, read};

#[derive(Args)]
pub struct SignArgs {
    /// The publisher's private key: `keygate keygen ed25519` output, a JWK with "d", or a file
    /// holding the base64url 32-byte seed.
    #[arg(long)]
    publisher_key: String,
    /// The key id to put in the protected header (default: the JWK kid or the RFC 7638 thumbprint).
    #[arg(long)]
    kid: Option<String>,
    /// The key set file to sign.
    file: PathBuf,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// Pinned publisher key(s): base64url raw public key(s), or a file holding one, a JWK or a JWKS.
    #[arg(long)]
    publisher_key: String,
    /// Refuse a set whose `audience` does not name this gateway.
    #[arg(long)]
    audience: Option<String>,
    /// The envelope file.
    file: PathBuf,
}

pub fn sign(a: &SignArgs) -> Result<ExitCode, LoadError> {
    let secret_text = file_or_inline(&a.publisher_key)?;
    let mut secret = PublisherSecret::parse(&secret_text)
        .map_err(|e| LoadError(format!("--publisher-key: {e}")))?;
    if let Some(kid) = &a.kid {
        secret = secret.with_kid(kid);
    }
    let bytes = read(&a.file)?;
    crate::util::valid_keyset(&a.file, &bytes, "sign")?;
    println!(
        "{}",
        serde_json::to_string_pretty(&sign_envelope(&bytes, &secret)).unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn verify(a: &VerifyArgs) -> Result<ExitCode, LoadError> {
    let keys = publisher_keys(Some(&a.publisher_key))?.expect("given");
    let audience = super::audience(a.audience.as_deref())?;
    let bytes = read(&a.file)?;
    let name = a.file.display();
    let env = Envelope::from_bytes(&bytes).map_err(|e| LoadError(format!("{name}: {e}")))?;
    let payload = match env.verify(&keys) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{name}: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let checked = KeySet::from_json(&payload)
        .map_err(KgLoad::Keyset)
        .and_then(|ks| match audience {
            Some(aud) => keygate::check_audience(&ks, aud).map(|()| ks),
            None => Ok(ks),
        });
    match checked {
        Ok(ks) => {
            println!(
                "{}",
                json!({
                    "valid": true,
                    "revision": ks.revision(),
                    "issued_at": ks.issued_at().map(|t| t.to_rfc3339()),
                    "keys": ks.keys().len(),
                    "payload_sha256": keygate::encoding_util::b64url_encode(&sha2::Sha256::digest(&payload)),
                })
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{name}: {e}");
            Ok(ExitCode::from(1))
        }
    }
}
