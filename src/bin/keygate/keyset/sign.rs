//! `keyset sign` and `keyset verify`.

use std::path::PathBuf;

use clap::Args;
use keygate::{Envelope, KeySet, LoadError as KgLoad, PublisherSecret, sign_envelope};
use serde_json::json;
use sha2::Digest as _;

use super::inspect::publisher_keys;
use crate::exit::{Exit, Fail, Outcome};
use crate::io::{file_or_inline, name, println, read};
use crate::util::parse_audience;

/// The publisher's private key, `--publisher-secret` (`--publisher-key` is its 0.1 name here).
#[derive(Args)]
pub struct SecretArg {
    /// The publisher's PRIVATE key: `keygate keygen ed25519` output, a JWK with "d", or a
    /// base64url 32-byte seed; a file, `-` (stdin) or the value itself.
    /// (Formerly --publisher-key, still accepted but deprecated: elsewhere that flag names
    /// PUBLIC keys.)
    #[arg(long, value_name = "KEY", conflicts_with = "publisher_key")]
    pub publisher_secret: Option<String>,
    /// Deprecated spelling of --publisher-secret.
    #[arg(long, value_name = "KEY", hide = true)]
    pub publisher_key: Option<String>,
    /// The key id to put in the protected header (default: the JWK kid or the RFC 7638 thumbprint).
    #[arg(long)]
    pub kid: Option<String>,
}

impl SecretArg {
    /// The flag's value (with a deprecation note for the old spelling), if given.
    pub fn given(&self, command: &str) -> Option<&str> {
        if let Some(v) = &self.publisher_key {
            eprintln!(
                "keygate: note: `{command} --publisher-key` is deprecated for the private key; use --publisher-secret"
            );
            return Some(v);
        }
        self.publisher_secret.as_deref()
    }
}

/// Reads the publisher's private key (inline, a file, or `-`), with `kid` if given.
pub fn load_secret(value: &str, kid: Option<&str>) -> Result<PublisherSecret, Fail> {
    let text = zeroize::Zeroizing::new(file_or_inline(value, "--publisher-secret", true)?);
    let secret = PublisherSecret::parse(&text)
        .map_err(|e| Fail::input(format!("--publisher-secret: {e}")))?;
    Ok(match kid {
        Some(kid) => secret.with_kid(kid),
        None => secret,
    })
}

#[derive(Args)]
pub struct SignArgs {
    #[command(flatten)]
    secret: SecretArg,
    /// The key set file to sign (`-`: stdin).
    file: PathBuf,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// Pinned publisher PUBLIC key(s): base64url raw public key(s), or a file holding one, a
    /// JWK or a JWKS (`-`: stdin).
    #[arg(long, value_name = "KEYS")]
    publisher_key: String,
    /// Refuse a set whose `audience` does not name this gateway (exit 1, as any content refusal).
    #[arg(long, value_parser = parse_audience)]
    audience: Option<String>,
    /// The envelope file (`-`: stdin).
    file: PathBuf,
    #[command(flatten)]
    seal: crate::seal::OpenArg,
}

pub fn sign(a: &SignArgs) -> Outcome {
    let Some(value) = a.secret.given("keyset sign") else {
        return Err(Fail::usage(
            "the publisher's private key is required: --publisher-secret KEY",
        ));
    };
    let secret = load_secret(value, a.secret.kid.as_deref())?;
    let bytes = read(&a.file)?;
    crate::util::valid_document(&a.file, &bytes, "sign")?;
    let envelope = serde_json::to_string_pretty(&sign_envelope(&bytes, &secret))
        .map_err(|e| Fail::internal(e.to_string()))?;
    println(envelope)?;
    Ok(Exit::Success)
}

pub fn verify(a: &VerifyArgs) -> Outcome {
    let keys = publisher_keys(Some(&a.publisher_key))?.expect("given");
    let seal = crate::seal::open_keys(&a.seal)?;
    let unseal = seal
        .as_ref()
        .map_or(keygate::Unseal::FormOnly, keygate::Unseal::Keys);
    let bytes = read(&a.file)?;
    let name = name(&a.file);
    let env = Envelope::from_bytes(&bytes).map_err(|e| Fail::input(format!("{name}: {e}")))?;
    let payload = match env.verify(&keys) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("keygate: {name}: {e}");
            return Ok(Exit::Refused);
        }
    };
    if keygate::is_manifest(&payload) {
        let loaded = keygate::Manifest::from_json(&payload, unseal)
            .map_err(KgLoad::Keyset)
            .and_then(|m| match a.audience.as_deref() {
                Some(aud) => keygate::check_manifest_audience(&m, aud).map(|()| m),
                None => Ok(m),
            });
        return match loaded {
            Ok(m) => {
                println(json!({
                    "valid": true,
                    "kind": "manifest",
                    "revision": m.revision(),
                    "keys": m.key_count(),
                    "bits": m.bits(),
                    "payload_sha256": keygate::encoding_util::b64url_encode(&m.payload_sha256()),
                }))?;
                Ok(Exit::Success)
            }
            Err(e) => {
                eprintln!("keygate: {name}: {e}");
                Ok(Exit::Refused)
            }
        };
    }
    if keygate::is_delta(&payload) {
        return match keygate::Delta::from_json_with(&payload, unseal) {
            Ok(d) => {
                println(json!({
                    "valid": true,
                    "kind": "delta",
                    "base": {"revision": d.base().revision, "payload_sha256": d.base().sha_text()},
                    "revision": d.revision(),
                    "issued_at": d.issued_at().map(|t| t.to_rfc3339()),
                    "changes": d.len(),
                    "payload_sha256": d.target().sha_text(),
                }))?;
                Ok(Exit::Success)
            }
            Err(e) => {
                eprintln!("keygate: {name}: invalid delta:\n{e}");
                Ok(Exit::Refused)
            }
        };
    }
    let checked = KeySet::from_json_with(&payload, unseal)
        .map_err(KgLoad::Keyset)
        .and_then(|ks| match a.audience.as_deref() {
            Some(aud) => keygate::check_audience(&ks, aud).map(|()| ks),
            None => Ok(ks),
        });
    match checked {
        Ok(ks) => {
            println(json!({
                "valid": true,
                "revision": ks.revision(),
                "issued_at": ks.issued_at().map(|t| t.to_rfc3339()),
                "keys": ks.keys().len(),
                "payload_sha256": keygate::encoding_util::b64url_encode(&sha2::Sha256::digest(&payload)),
            }))?;
            Ok(Exit::Success)
        }
        Err(e) => {
            eprintln!("keygate: {name}: {e}");
            Ok(Exit::Refused)
        }
    }
}
