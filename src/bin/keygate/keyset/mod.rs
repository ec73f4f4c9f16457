//! `keygate keyset ...`: create, edit, check, lint, sign and verify key set files.

mod diff;
mod doc;
mod edit;
mod import;
mod inspect;
mod rotate;
mod seal;
mod shard;
pub mod sign;

use std::path::PathBuf;

use clap::{Args, Subcommand};
use keygate::UnixTime;

pub use inspect::publisher_keys;

use crate::exit::{Outcome, help};
use crate::util::parse_time;

#[derive(Subcommand)]
pub enum KeysetCmd {
    /// Validate a key set: exit 0 valid, 2 invalid (errors on stderr, one per line; --json: on stdout).
    #[command(after_help = help("keyset check"))]
    Check(CheckArgs),
    /// Show warnings about a valid key set (--strict: exit 2 when there are any).
    #[command(after_help = help("keyset lint"))]
    Lint(CheckArgs),
    /// Summarise a key set (never prints secrets or digests).
    #[command(after_help = help("keyset show"))]
    Show {
        /// The key set file (`-`: stdin).
        file: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Sign a key set into a JWS envelope (stdout).
    #[command(after_help = help("keyset sign"))]
    Sign(sign::SignArgs),
    /// Verify an envelope: exit 0 valid, 1 signature or content refused, 2 unreadable input.
    #[command(after_help = help("keyset verify"))]
    Verify(sign::VerifyArgs),
    /// The delta from OLD to NEW (stdout): a small signed change to push instead of NEW.
    #[command(after_help = help("keyset diff"))]
    Diff(diff::DiffArgs),
    /// Cut a key set into a signed-manifest-plus-shards directory, for the sharded mode.
    #[command(after_help = help("keyset shard"))]
    Shard(shard::ShardArgs),
    /// Create a new, empty key set file (mode 0600).
    #[command(after_help = help("keyset new"))]
    New(edit::NewArgs),
    /// Add a key; writes its secrets once (stdout, or a new 0600 file with --out).
    #[command(after_help = help("keyset add"))]
    Add(Box<edit::AddArgs>),
    /// Disable a key (reversible with `enable`).
    #[command(after_help = help("keyset disable"))]
    Disable(edit::IdArgs),
    /// Re-enable a disabled key (never a revoked one).
    #[command(after_help = help("keyset enable"))]
    Enable(edit::IdArgs),
    /// Revoke a key (final).
    #[command(after_help = help("keyset revoke"))]
    Revoke(edit::IdArgs),
    /// Replace a key: a new key with the same scopes and networks; the old one expires after the grace period.
    #[command(after_help = help("keyset rotate"))]
    Rotate(rotate::RotateArgs),
    /// Revision + 1 and issued_at = now.
    #[command(after_help = help("keyset bump"))]
    Bump(edit::IdlessArgs),
    /// Add signing keys from a JWKS file (each JWK's kid becomes the key id).
    #[command(after_help = help("keyset import-jwks"))]
    ImportJwks(import::ImportArgs),
    /// Seal every clear secret of a key set with a seal key (--reseal: also move sealed ones to it).
    #[command(after_help = help("keyset seal"))]
    Seal(seal::SealArgs),
}

#[derive(Args)]
pub struct CheckArgs {
    /// The key set file (a bare key set, or an envelope with --publisher-key; `-`: stdin).
    pub file: PathBuf,
    /// Treat warnings as errors (exit 2; with --json, "valid" still says whether the set loads).
    #[arg(long)]
    pub strict: bool,
    /// Publisher PUBLIC key(s) to check an envelope with (inline, a file, or `-`).
    #[arg(long, value_name = "KEYS")]
    pub publisher_key: Option<String>,
    /// Refuse a set whose `audience` does not name this gateway.
    #[arg(long, value_parser = crate::util::parse_audience)]
    pub audience: Option<String>,
    /// The time lints are judged at: Unix seconds or RFC 3339 (default: now).
    #[arg(long, value_parser = parse_time)]
    pub now: Option<UnixTime>,
    #[command(flatten)]
    pub seal: crate::seal::OpenArg,
    /// Print {"valid", "errors": [{"path", "message"}], "warnings": [{"code", "path", "message"}]}
    /// on stdout (the shape of the JS checkKeySet result).
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: KeysetCmd) -> Outcome {
    match cmd {
        KeysetCmd::Check(a) => inspect::check(&a, false),
        KeysetCmd::Lint(a) => inspect::check(&a, true),
        KeysetCmd::Show { file, json } => inspect::show(&file, json),
        KeysetCmd::Sign(a) => sign::sign(&a),
        KeysetCmd::Verify(a) => sign::verify(&a),
        KeysetCmd::Diff(a) => diff::diff(&a),
        KeysetCmd::Shard(a) => shard::shard(&a),
        KeysetCmd::New(a) => edit::new(&a),
        KeysetCmd::Add(a) => edit::add(&a),
        KeysetCmd::Disable(a) => edit::set_status(&a, "disabled"),
        KeysetCmd::Enable(a) => edit::set_status(&a, "active"),
        KeysetCmd::Revoke(a) => edit::set_status(&a, "revoked"),
        KeysetCmd::Rotate(a) => rotate::rotate(&a),
        KeysetCmd::Bump(a) => edit::bump(&a),
        KeysetCmd::ImportJwks(a) => import::import_jwks(&a),
        KeysetCmd::Seal(a) => seal::seal(&a),
    }
}
