//! `keyset shard FILE --out DIR`: cuts a key set too large for one isolate into a manifest (to
//! sign and push) and shards (to upload), for the gateway's sharded mode.

use std::path::{Path, PathBuf};

use clap::Args;
use keygate::MAX_SHARD_BITS;
use serde_json::json;

use super::diff::keyset_bytes;
use super::inspect::publisher_keys;
use crate::exit::{Exit, Fail, Outcome};
use crate::io::{name, println, read};

#[derive(Args)]
pub struct ShardArgs {
    /// The key set: a bare key set, or an envelope with --publisher-key (`-`: stdin).
    pub file: PathBuf,
    /// The directory to write `manifest.json` and `shards/<sha256>.json` into (created; its
    /// existing shard files are kept, as they are named by their content).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Cut by the first BITS bits of each index (0 to 16; default: the fewest that keep a
    /// shard at 256 keys or fewer on average).
    #[arg(long, value_name = "BITS", value_parser = clap::value_parser!(u8).range(0..=MAX_SHARD_BITS as i64))]
    pub bits: Option<u8>,
    /// Pinned publisher PUBLIC key(s) to check an envelope with (inline, a file, or `-`).
    #[arg(long, value_name = "KEYS")]
    pub publisher_key: Option<String>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The largest shard a gateway's coordinator stores (pkg/src/coordinator/shards.js).
const MAX_COORDINATED_SHARD_BYTES: usize = 1024 * 1024;

fn write(path: &Path, bytes: &[u8]) -> Result<(), Fail> {
    std::fs::write(path, bytes).map_err(|e| Fail::output(format!("{}: {e}", path.display())))
}

pub fn shard(a: &ShardArgs) -> Outcome {
    let keys = publisher_keys(a.publisher_key.as_deref())?;
    let bytes = if keys.is_some() {
        keyset_bytes(&a.file, keys.as_ref())?
    } else {
        read(&a.file)?
    };
    let file = name(&a.file);
    let cut = keygate::shard_keyset(&bytes, a.bits).map_err(|errors| {
        let lines: Vec<String> = errors
            .errors()
            .iter()
            .map(|e| format!("{file}: {e}"))
            .collect();
        Fail::input(format!(
            "{file} is not a valid key set:\n{}",
            lines.join("\n")
        ))
    })?;
    let dir = a.out.join("shards");
    std::fs::create_dir_all(&dir).map_err(|e| Fail::output(format!("{}: {e}", dir.display())))?;
    let mut written = 0usize;
    let mut largest = 0usize;
    for (_, sha, b) in &cut.shards {
        largest = largest.max(b.len());
        let path = dir.join(format!("{sha}.json"));
        if path.exists() {
            continue;
        }
        write(&path, b)?;
        written += 1;
    }
    write(&a.out.join("manifest.json"), &cut.manifest)?;
    if largest > MAX_COORDINATED_SHARD_BYTES {
        eprintln!(
            "keygate: warning: the largest shard is {largest} bytes; a gateway's coordinator stores shards of at most {MAX_COORDINATED_SHARD_BYTES} bytes: cut with more --bits"
        );
    }
    let summary = json!({
        "manifest": a.out.join("manifest.json").display().to_string(),
        "bits": cut.bits,
        "shards": cut.shards.len(),
        "written": written,
        "largest_shard_bytes": largest,
        "manifest_bytes": cut.manifest.len(),
    });
    if a.json {
        println(summary)?;
    } else {
        println(format!(
            "{}: {} shards ({} new files, largest {} bytes), bits {}; sign {} and push it with the shards",
            a.out.display(),
            cut.shards.len(),
            written,
            largest,
            cut.bits,
            a.out.join("manifest.json").display()
        ))?;
    }
    Ok(Exit::Success)
}
