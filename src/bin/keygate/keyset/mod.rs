//! `keygate keyset ...`: create, edit, check, lint, sign and verify key set files.

mod doc;
mod edit;
mod inspect;
mod sign;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

pub use inspect::{audience, publisher_keys};

use crate::LoadError;

#[derive(Subcommand)]
pub enum KeysetCmd {
    /// Validate a key set: exit 0 valid, 2 invalid (errors on stderr, one per line).
    Check(CheckArgs),
    /// Show warnings about a valid key set (--strict: exit 2 when there are any).
    Lint(CheckArgs),
    /// Summarise a key set (never prints secrets or digests).
    Show {
        file: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Sign a key set into a JWS envelope (stdout).
    Sign(sign::SignArgs),
    /// Verify an envelope: exit 0 valid, 1 signature or content refused, 2 unreadable input.
    Verify(sign::VerifyArgs),
    /// Create a new, empty key set file.
    New(edit::NewArgs),
    /// Add a key; prints its secrets once, to stdout.
    Add(edit::AddArgs),
    /// Disable a key (reversible with `enable`).
    Disable(edit::IdArgs),
    /// Re-enable a disabled key (never a revoked one).
    Enable(edit::IdArgs),
    /// Revoke a key (final).
    Revoke(edit::IdArgs),
    /// Replace a key: a new key with the same scopes and networks; the old one expires after the grace period.
    Rotate(edit::RotateArgs),
    /// Revision + 1 and issued_at = now.
    Bump(edit::IdlessArgs),
    /// Add signing keys from a JWKS file (each JWK's kid becomes the key id).
    ImportJwks(edit::ImportArgs),
}

#[derive(Args)]
pub struct CheckArgs {
    /// The key set file (a bare key set, or an envelope with --publisher-key).
    pub file: PathBuf,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
    /// Publisher key(s) to check an envelope with.
    #[arg(long)]
    pub publisher_key: Option<String>,
    /// Refuse a set whose `audience` does not name this gateway.
    #[arg(long)]
    pub audience: Option<String>,
    /// The time lints are judged at: Unix seconds or RFC 3339 (default: now).
    #[arg(long)]
    pub now: Option<String>,
}

pub fn run(cmd: KeysetCmd) -> Result<ExitCode, LoadError> {
    match cmd {
        KeysetCmd::Check(a) => inspect::check(&a, false),
        KeysetCmd::Lint(a) => inspect::check(&a, true),
        KeysetCmd::Show { file, json } => inspect::show(&file, json),
        KeysetCmd::Sign(a) => sign::sign(&a),
        KeysetCmd::Verify(a) => sign::verify(&a),
        KeysetCmd::New(a) => edit::new(&a),
        KeysetCmd::Add(a) => edit::add(&a),
        KeysetCmd::Disable(a) => edit::set_status(&a, "disabled"),
        KeysetCmd::Enable(a) => edit::set_status(&a, "active"),
        KeysetCmd::Revoke(a) => edit::set_status(&a, "revoked"),
        KeysetCmd::Rotate(a) => edit::rotate(&a),
        KeysetCmd::Bump(a) => edit::bump(&a),
        KeysetCmd::ImportJwks(a) => edit::import_jwks(&a),
    }
}
