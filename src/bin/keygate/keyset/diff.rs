//! `keyset diff OLD NEW`: the delta document turning OLD into NEW, to sign and push.

use std::path::{Path, PathBuf};

use clap::Args;
use keygate::{DiffError, Envelope, looks_like_envelope};

use super::inspect::publisher_keys;
use crate::exit::{Exit, Fail, Outcome};
use crate::io::{name, println, read};

#[derive(Args)]
pub struct DiffArgs {
    /// The key set the gateways hold now: a bare key set, or an envelope with --publisher-key
    /// (`-`: stdin).
    pub old: PathBuf,
    /// The key set to move them to (same forms).
    pub new: PathBuf,
    /// Pinned publisher PUBLIC key(s) to check envelopes with (inline, a file, or `-`).
    #[arg(long, value_name = "KEYS")]
    pub publisher_key: Option<String>,
}

/// The key set bytes of a file: a bare key set as is, an envelope's payload once verified.
pub(super) fn keyset_bytes(
    path: &Path,
    keys: Option<&keygate::PublisherKeys>,
) -> Result<Vec<u8>, Fail> {
    let bytes = read(path)?;
    if !looks_like_envelope(&bytes) {
        return Ok(bytes);
    }
    let n = name(path);
    let Some(keys) = keys else {
        return Err(Fail::input(format!(
            "{n}: a signed envelope: give --publisher-key to check it"
        )));
    };
    Envelope::from_bytes(&bytes)
        .and_then(|e| e.verify(keys))
        .map_err(|e| Fail::input(format!("{n}: {e}")))
}

pub fn diff(a: &DiffArgs) -> Outcome {
    let keys = publisher_keys(a.publisher_key.as_deref())?;
    let old = keyset_bytes(&a.old, keys.as_ref())?;
    let new = keyset_bytes(&a.new, keys.as_ref())?;
    match keygate::diff_keysets(&old, &new) {
        Ok(delta) => {
            println(delta)?;
            Ok(Exit::Success)
        }
        Err(DiffError::Invalid { which, errors }) => {
            let file = name(if which == "OLD" { &a.old } else { &a.new });
            let lines: Vec<String> = errors
                .errors()
                .iter()
                .map(|e| format!("{file}: {e}"))
                .collect();
            Err(Fail::input(format!(
                "{file} is not a valid key set:\n{}",
                lines.join("\n")
            )))
        }
        Err(e @ DiffError::Mismatch(_)) => Err(Fail::internal(e.to_string())),
        Err(e) => {
            eprintln!("keygate: no delta: {e}");
            Ok(Exit::Refused)
        }
    }
}
