//! Exit codes: one table for every command, printed by `--help` and documented in docs/cli.md.
//!
//! 0, 1 and 2 keep the meaning keygate 0.1 documented for `check`, `lint` and `verify`
//! (success, refused, input that cannot be used); the rest follow sysexits.h. An unreadable
//! file is invalid input (2), as 0.1 documented for `verify`: the message says which file and
//! why, and the remedy (fix the input) is the same.

use std::fmt;
use std::process::ExitCode;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: done (valid, allowed, accepted, written).
    Success,
    /// 1: a verdict of no: a request, an envelope or a push was refused.
    Refused,
    /// 2: an input (file, key, key set, request) cannot be read, parsed or used.
    Invalid,
    /// 64 (EX_USAGE): the command line is wrong.
    Usage,
    /// 69 (EX_UNAVAILABLE): `push` reached no working push endpoint.
    Unavailable,
    /// 70 (EX_SOFTWARE): a bug or an OS failure (no secure random source).
    Internal,
    /// 73 (EX_CANTCREAT): an output cannot be written.
    CantCreate,
    /// 75 (EX_TEMPFAIL): the gateway asked `push` to try again later.
    TryLater,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Refused => 1,
            Exit::Invalid => 2,
            Exit::Usage => 64,
            Exit::Unavailable => 69,
            Exit::Internal => 70,
            Exit::CantCreate => 73,
            Exit::TryLater => 75,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

/// A failure: its exit class and the message printed once, to stderr, with its cause.
/// Messages never hold secrets.
pub struct Fail {
    pub exit: Exit,
    pub message: String,
}

impl Fail {
    pub fn new(exit: Exit, message: impl Into<String>) -> Fail {
        Fail {
            exit,
            message: message.into(),
        }
    }
    /// Exit 2: an input cannot be read, parsed or used.
    pub fn input(message: impl Into<String>) -> Fail {
        Fail::new(Exit::Invalid, message)
    }
    /// Exit 64: the command line is wrong.
    pub fn usage(message: impl Into<String>) -> Fail {
        Fail::new(Exit::Usage, message)
    }
    /// Exit 73: an output cannot be written.
    pub fn output(message: impl Into<String>) -> Fail {
        Fail::new(Exit::CantCreate, message)
    }
    /// Exit 70: a bug or an OS failure.
    pub fn internal(message: impl Into<String>) -> Fail {
        Fail::new(Exit::Internal, message)
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What a command's run returns: the exit class of a completed run, or a failure.
pub type Outcome = Result<Exit, Fail>;

const USAGE: (u8, &str) = (
    64,
    "usage error: unknown flag, missing or malformed argument",
);
const STDOUT: (u8, &str) = (73, "stdout could not be written");

/// Every command and what each of its exit codes means there (docs/cli.md holds the same text).
const TABLE: &[(&str, &[(u8, &str)])] = &[
    (
        "keygen api-key",
        &[
            KEYGEN_OK,
            (
                64,
                "usage error (also a --prefix outside [a-z][a-z0-9]*(_[a-z0-9]+)*)",
            ),
            KEYGEN_OUT,
        ],
    ),
    ("keygen ed25519", &[KEYGEN_OK, USAGE, KEYGEN_OUT]),
    ("keygen hmac", &[KEYGEN_OK, USAGE, KEYGEN_OUT]),
    ("keygen webhook-v1", &[KEYGEN_OK, USAGE, KEYGEN_OUT]),
    ("keygen webhook-v1a", &[KEYGEN_OK, USAGE, KEYGEN_OUT]),
    (
        "keygen seal-key",
        &[
            KEYGEN_OK,
            (64, "usage error (also a --kid outside 1 to 128 characters)"),
            KEYGEN_OUT,
        ],
    ),
    (
        "verify",
        &[
            (
                0,
                "every request was allowed (one JSON decision per line on stdout)",
            ),
            (1, "at least one request was refused"),
            (
                2,
                "an input cannot be used: a file cannot be read, a request is not HTTP/1.1, the\n      key set is invalid (or holds a sealed secret --seal-key does not open), or an\n      envelope is refused (signature, audience, no --publisher-key)",
            ),
            USAGE,
            STDOUT,
        ],
    ),
    (
        "sign",
        &[
            (0, "the signed request was written to stdout"),
            (2, "the key or the request cannot be read or used"),
            (
                64,
                "usage error (also a malformed --components, --created or --expires)",
            ),
            STDOUT,
        ],
    ),
    (
        "push",
        &[
            (
                0,
                "the gateway accepted the set (200, also when it already had this revision)",
            ),
            (
                1,
                "the gateway refused the set (a 4xx answer with an error code, shown on stderr)",
            ),
            (
                2,
                "the file or the private key cannot be read or used (an invalid key set, or a\n      bare key set without --publisher-secret)",
            ),
            (
                64,
                "usage error (also a URL that is not https://, except http:// to loopback)",
            ),
            (
                69,
                "no working push endpoint: network, TLS or timeout failure, 404 (pushes\n      disabled), a redirect, or an answer that is not the gateway's JSON",
            ),
            STDOUT,
            (
                75,
                "the gateway asked to try again later (429, 502, 503, 504; Retry-After is shown)",
            ),
        ],
    ),
    ("keyset check", CHECK),
    ("keyset lint", CHECK),
    (
        "keyset show",
        &[
            (0, "the summary was printed"),
            (2, "the key set cannot be read or is invalid"),
            USAGE,
            STDOUT,
        ],
    ),
    (
        "keyset sign",
        &[
            (0, "the envelope was written to stdout"),
            (
                2,
                "the key set cannot be read or is invalid, or the private key cannot be used",
            ),
            USAGE,
            STDOUT,
        ],
    ),
    (
        "keyset verify",
        &[
            (
                0,
                "a signature verifies and the payload is a valid key set (summary on stdout)",
            ),
            (
                1,
                "refused: no signature verifies with the pinned keys, or the payload is not a\n      valid key set (or does not name --audience)",
            ),
            (
                2,
                "the envelope, the publisher keys or the seal keys cannot be read or parsed",
            ),
            USAGE,
            STDOUT,
        ],
    ),
    (
        "keyset diff",
        &[
            (
                0,
                "the delta was written to stdout (sign it with `keyset sign`)",
            ),
            (
                1,
                "no delta: NEW does not move the revision forward, changes more than keys and\n      times (policy, routes, deny_cidrs, audience), or is too large; push the full set",
            ),
            (
                2,
                "OLD or NEW cannot be read, is invalid, or is an envelope that is refused (or\n      given without --publisher-key)",
            ),
            USAGE,
            STDOUT,
        ],
    ),
    (
        "keyset shard",
        &[
            (
                0,
                "DIR/manifest.json and DIR/shards/<sha256>.json were written (sign the\n      manifest with `keyset sign`)",
            ),
            (
                2,
                "FILE cannot be read, is invalid, or is an envelope that is refused (or given\n      without --publisher-key)",
            ),
            USAGE,
            (
                73,
                "DIR or a file in it cannot be written, or stdout failed",
            ),
        ],
    ),
    (
        "keyset new",
        &[
            (0, "the file was created"),
            USAGE,
            (73, "the file exists (and no --force) or cannot be written"),
        ],
    ),
    ("keyset add", ADD),
    ("keyset disable", STATUS),
    ("keyset enable", STATUS),
    (
        "keyset revoke",
        &[
            (0, "done (or nothing to do: already revoked)"),
            (
                2,
                "the key set cannot be read or is invalid, or no key has that id",
            ),
            USAGE,
            (73, "the key set file cannot be replaced"),
        ],
    ),
    ("keyset rotate", ADD),
    (
        "keyset bump",
        &[
            (0, "the revision was bumped"),
            (2, "the key set cannot be read or is invalid"),
            USAGE,
            (73, "the key set file cannot be replaced"),
        ],
    ),
    (
        "keyset import-jwks",
        &[
            (0, "the keys were added (their ids on stdout)"),
            (
                2,
                "the key set, the JWKS or --seal-key cannot be read or used (a private key, an\n      unknown kty, a taken id); the file is unchanged",
            ),
            USAGE,
            (
                73,
                "the key set file cannot be replaced, or stdout could not be written",
            ),
        ],
    ),
    (
        "keyset seal",
        &[
            (0, "the secrets were sealed (or there was nothing to seal)"),
            (
                2,
                "the key set or --seal-key cannot be read or used, or a secret to reseal does\n      not open; the file is unchanged",
            ),
            (
                64,
                "usage error (also no --seal-key, or several keys in it and no --seal-kid)",
            ),
            (73, "the key set file cannot be replaced"),
        ],
    ),
];

const KEYGEN_OK: (u8, &str) = (0, "the key was written (stdout, or --out FILE)");
const KEYGEN_OUT: (u8, &str) = (
    73,
    "--out FILE exists or cannot be created, or stdout could not be written",
);

const CHECK: &[(u8, &str)] = &[
    (
        0,
        "the key set is valid (warnings do not count unless --strict)",
    ),
    (
        2,
        "the key set is invalid (every error with its JSON path; with --seal-key, also a\n      sealed secret that does not open), an envelope is refused, the set does not name\n      --audience, a file cannot be read, or --strict and there are warnings",
    ),
    USAGE,
    STDOUT,
];

const ADD: &[(u8, &str)] = &[
    (
        0,
        "the key set was saved; the new secrets are on stdout (or in --out FILE)",
    ),
    (
        2,
        "the key set or --seal-key cannot be read or is invalid, or the edit would make\n      the set invalid; the file is unchanged",
    ),
    (
        64,
        "usage error (also a set that seals its secrets and no --seal-key)",
    ),
    (
        73,
        "--out FILE exists or cannot be created, the key set file cannot be replaced, or\n      stdout could not be written",
    ),
];

const STATUS: &[(u8, &str)] = &[
    (0, "done (or nothing to do)"),
    (
        2,
        "the key set cannot be read or is invalid, no key has that id, or the key is\n      revoked (revocation is final)",
    ),
    USAGE,
    (73, "the key set file cannot be replaced"),
];

/// The exit code section of `keygate COMMAND --help`.
pub fn help(command: &str) -> String {
    let rows = TABLE
        .iter()
        .find(|(c, _)| *c == command)
        .map(|(_, rows)| *rows)
        .unwrap_or_else(|| panic!("no exit code table for {command:?}"));
    let mut out = String::from("Exit codes:\n");
    for (code, meaning) in rows {
        out.push_str(&format!("  {code:<3} {meaning}\n"));
    }
    out
}

/// The exit code section of `keygate --help`: the classes every command shares.
pub const OVERVIEW: &str = "Exit codes (`keygate COMMAND --help` says what each means there):
  0   success
  1   refused: a request (verify), an envelope (keyset verify), a push (push) or a delta
      (keyset diff)
  2   invalid input: a file, key, key set or request cannot be read, parsed or used
  64  usage error: unknown command or flag, missing or malformed argument
  69  push: no working push endpoint could be reached
  70  internal error: a bug or an OS failure (no secure random source)
  73  an output cannot be written: --out FILE exists or cannot be created, a key set
      file cannot be replaced, stdout failed
  75  push: the gateway asked to try again later
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_in_a_table_is_a_class() {
        let classes = [
            Exit::Success,
            Exit::Refused,
            Exit::Invalid,
            Exit::Usage,
            Exit::Unavailable,
            Exit::Internal,
            Exit::CantCreate,
            Exit::TryLater,
        ];
        for (cmd, rows) in TABLE {
            assert!(rows.iter().any(|r| r.0 == 0), "{cmd}: no success code");
            assert!(rows.iter().any(|r| r.0 == 64), "{cmd}: no usage code");
            assert!(rows.windows(2).all(|w| w[0].0 < w[1].0), "{cmd}: order");
            for (code, _) in *rows {
                assert!(classes.iter().any(|c| c.code() == *code), "{cmd}: {code}");
                assert!(
                    OVERVIEW.contains(&format!("\n  {code:<3} ")),
                    "{cmd}: {code} missing from the overview"
                );
            }
        }
    }
}
