//! `keygate`: generate keys, check, sign and push key sets, and decide requests from the
//! command line. Exit codes: see exit.rs (one table for every command, shown by `--help`).

#![deny(clippy::print_stdout)]

mod exit;
mod io;
mod keyfile;
mod keygen;
mod keyset;
mod push;
mod push_shards;
mod seal;
mod sign;
mod util;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use exit::{Exit, help};

#[derive(Parser)]
#[command(
    name = "keygate",
    version,
    about = "API keys and HTTP message signatures, verified at the edge",
    after_help = exit::OVERVIEW
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate key material; secrets are written once (stdout, or a new 0600 file with --out).
    #[command(subcommand)]
    Keygen(keygen::Keygen),
    /// Decide one or more raw HTTP requests against a key set.
    #[command(after_help = help("verify"))]
    Verify(verify::VerifyArgs),
    /// Sign a raw HTTP request (RFC 9421) and write it to stdout.
    #[command(after_help = help("sign"))]
    Sign(sign::SignArgs),
    /// Push a key set to a gateway: sign it (or take a signed envelope) and PUT it.
    #[command(after_help = help("push"))]
    Push(push::PushArgs),
    /// Create, edit, check, lint, sign and verify key set files.
    #[command(subcommand)]
    Keyset(keyset::KeysetCmd),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print to stdout and succeed; every other parse error is a
            // usage error (clap would exit 2, which keygate keeps for invalid input).
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage.into()
            } else {
                Exit::Success.into()
            };
        }
    };
    let result = match cli.command {
        Command::Keygen(k) => keygen::run(k),
        Command::Verify(v) => verify::run(&v),
        Command::Sign(s) => sign::run(&s),
        Command::Push(p) => push::run(&p),
        Command::Keyset(k) => keyset::run(k),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(fail) => {
            eprintln!("keygate: {fail}");
            fail.exit.into()
        }
    }
}
