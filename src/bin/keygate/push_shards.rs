//! `keygate push URL MANIFEST --shards DIR`: publishes a sharded key set. The signed manifest
//! is pushed; while the gateway answers 409 `shards_missing`, the shards it lists are read from
//! DIR (as `keygate keyset shard --out DIR` wrote them: `DIR/shards/<sha256>.json`) and
//! uploaded, one shard per line, in requests of at most UPLOAD_BYTES, to
//! `/.well-known/keygate/keyset/shards`; then the manifest is pushed again. Each round must
//! leave fewer shards missing, or it stops with the gateway's answer.

use std::path::Path;

use serde_json::Value;

use crate::exit::{Exit, Fail};

/// The most bytes one upload carries (under the gateway's default push bound, 16 MiB).
const UPLOAD_BYTES: usize = 8 * 1024 * 1024;

/// The shard files the gateway asked for, read from `dir`.
fn shard_files(dir: &Path, missing: &[Value]) -> Result<Vec<Vec<u8>>, Fail> {
    let base = if dir.join("shards").is_dir() {
        dir.join("shards")
    } else {
        dir.to_path_buf()
    };
    let mut out = Vec::with_capacity(missing.len());
    for m in missing {
        let Some(sha) = m.as_str().filter(|s| {
            s.len() == 43
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }) else {
            return Err(Fail::new(
                Exit::Unavailable,
                "the gateway named a shard that is not a SHA-256",
            ));
        };
        let path = base.join(format!("{sha}.json"));
        let bytes = std::fs::read(&path).map_err(|e| {
            Fail::input(format!("{}: {e} (the gateway's manifest names this shard: cut the same set into this directory)", path.display()))
        })?;
        out.push(bytes);
    }
    Ok(out)
}

/// Uploads `files` in requests of at most UPLOAD_BYTES; the first failed answer, if any.
fn upload(url: &str, files: &[Vec<u8>], timeout: u64) -> Result<Option<super::push::Answer>, Fail> {
    let mut body = Vec::new();
    let flush = |body: &mut Vec<u8>| -> Result<Option<super::push::Answer>, Fail> {
        if body.is_empty() {
            return Ok(None);
        }
        let a = super::push::send(url, body, timeout)?;
        body.clear();
        let stored = a
            .json
            .as_ref()
            .and_then(|v| v.get("stored"))
            .is_some_and(Value::is_u64);
        Ok(((a.status != 200) || !stored).then_some(a))
    };
    for f in files {
        if !body.is_empty()
            && body.len() + f.len() + 1 > UPLOAD_BYTES
            && let Some(a) = flush(&mut body)?
        {
            return Ok(Some(a));
        }
        body.extend_from_slice(f);
        body.push(b'\n');
    }
    flush(&mut body)
}

/// Pushes `manifest` to `url` (the key set endpoint), uploading what it lacks from `dir`;
/// returns the last answer to a push of the manifest, or the failed answer to an upload.
pub fn publish(
    url: &str,
    manifest: &[u8],
    dir: &Path,
    timeout: u64,
) -> Result<super::push::Answer, Fail> {
    let shards_url = format!("{url}/shards");
    let mut left = u64::MAX;
    loop {
        let answer = super::push::send(url, manifest, timeout)?;
        let json = answer.json.clone().unwrap_or(Value::Null);
        if answer.status != 409 || json["error"] != "shards_missing" {
            return Ok(answer);
        }
        let count = json["missing_count"].as_u64().unwrap_or(0);
        let missing = json["missing"].as_array().cloned().unwrap_or_default();
        if count >= left || missing.is_empty() {
            return Ok(answer); // no progress: the gateway's answer says why
        }
        left = count;
        eprintln!(
            "keygate: uploading {} of {count} missing shards",
            missing.len()
        );
        if let Some(failed) = upload(&shards_url, &shard_files(dir, &missing)?, timeout)? {
            return Ok(failed);
        }
    }
}
