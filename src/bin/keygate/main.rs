//! `keygate`: generate keys, check key sets and decide requests from the command line.
//!
//! Exit codes: 0 success (every request allowed), 1 refused, 2 input could not be loaded.

mod keyfile;
mod keygen;
mod keyset;
mod sign;
mod util;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "keygate",
    version,
    about = "API keys and HTTP message signatures, verified at the edge"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate key material; secrets are printed once, to stdout.
    #[command(subcommand)]
    Keygen(keygen::Keygen),
    /// Decide one or more raw HTTP requests against a key set.
    Verify(verify::VerifyArgs),
    /// Sign a raw HTTP request (RFC 9421) and write it to stdout.
    Sign(sign::SignArgs),
    /// Create, edit, check, lint, sign and verify key set files.
    #[command(subcommand)]
    Keyset(keyset::KeysetCmd),
}

/// A failure to load input: printed to stderr, exit code 2.
pub struct LoadError(pub String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen(k) => keygen::run(k),
        Command::Verify(v) => verify::run(&v),
        Command::Sign(s) => sign::run(&s),
        Command::Keyset(k) => keyset::run(k),
    };
    match result {
        Ok(code) => code,
        Err(LoadError(msg)) => {
            eprintln!("keygate: {msg}");
            ExitCode::from(2)
        }
    }
}
