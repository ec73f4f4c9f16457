//! Cutting a full key set into a manifest and shards (`keygate keyset shard`): the
//! publisher's side of `shard.rs`.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::shard::{MAX_SHARD_BITS, digest_shard, id_shard};
use super::{KeySet, KeysetError, KeysetErrors};
use crate::apikey::ApiKeyDigest;
use crate::encoding::b64url_encode;
use crate::seal::Unseal;

/// The mean number of keys per shard the default `bits` stays under.
pub const TARGET_KEYS_PER_SHARD: usize = 256;

/// A key set cut into shards: the manifest to sign, and every shard's bytes.
#[derive(Clone, Debug)]
pub struct Sharding {
    /// Manifest JSON (sign it like a key set: `keygate keyset sign`).
    pub manifest: Vec<u8>,
    /// The table's bits.
    pub bits: u8,
    /// Each shard: its name (`d/<n>`, `i/<n>`), its SHA-256 (base64url) and its bytes.
    pub shards: Vec<(String, String, Vec<u8>)>,
}

/// The default `bits` for `n` keys: the fewest that keep the mean shard at or under
/// [`TARGET_KEYS_PER_SHARD`] keys.
pub fn default_bits(n: usize) -> u8 {
    let mut b = 0u8;
    while b < MAX_SHARD_BITS && (n >> b) > TARGET_KEYS_PER_SHARD {
        b += 1;
    }
    b
}

fn fail(path: &str, m: impl Into<String>) -> KeysetErrors {
    KeysetErrors(vec![KeysetError {
        path: path.into(),
        message: m.into(),
    }])
}

/// Cuts the key set JSON `bytes` (validated first; sealed secrets by form) into `bits` bits
/// of shards (`None`: [`default_bits`]). Key entries are copied as the set writes them.
pub fn shard_keyset(bytes: &[u8], bits: Option<u8>) -> Result<Sharding, KeysetErrors> {
    let set = KeySet::from_json_with(bytes, Unseal::FormOnly)?;
    let bits = bits.unwrap_or_else(|| default_bits(set.keys.len()));
    if bits > MAX_SHARD_BITS {
        return Err(fail("$", format!("bits: at most {MAX_SHARD_BITS}")));
    }
    let Ok(Value::Object(mut top)) = serde_json::from_slice::<Value>(bytes) else {
        return Err(fail("$", "expected an object"));
    };
    let Some(Value::Array(entries)) = top.remove("keys") else {
        return Err(fail("$.keys", "expected an array"));
    };
    let n = 1usize << bits;
    let mut d: Vec<Vec<&Value>> = vec![Vec::new(); n];
    let mut i: Vec<Vec<&Value>> = vec![Vec::new(); n];
    let webhook: Vec<&str> = set
        .routes
        .iter()
        .flat_map(|r| r.webhook_keys.iter().map(String::as_str))
        .collect();
    let mut pinned = Vec::new();
    for (at, v) in entries.iter().enumerate() {
        let Some(id) = v.get("id").and_then(Value::as_str) else {
            return Err(fail(&format!("$.keys[{at}].id"), "expected a string"));
        };
        i[id_shard(id, bits).index as usize].push(v);
        if let Some(h) = v.get("api_key_hash").and_then(Value::as_str) {
            let dg = ApiKeyDigest::parse(h)
                .map_err(|m| fail(&format!("$.keys[{at}].api_key_hash"), m))?;
            d[digest_shard(&dg, bits).index as usize].push(v);
        }
        if webhook.contains(&id) {
            pinned.push(v.clone());
        }
    }
    let mut shards = Vec::with_capacity(2 * n);
    let mut table = |kind: char, buckets: &[Vec<&Value>]| -> Vec<String> {
        let mut shas = Vec::with_capacity(buckets.len());
        for (k, b) in buckets.iter().enumerate() {
            let mut out = br#"{"keygate":1,"revision":1,"keys":["#.to_vec();
            for (j, v) in b.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                out.extend(serde_json::to_vec(v).unwrap_or_default());
            }
            out.extend_from_slice(b"]}");
            let sha = b64url_encode(&Sha256::digest(&out));
            shas.push(sha.clone());
            shards.push((format!("{kind}/{k}"), sha, out));
        }
        shas
    };
    let d_table = table('d', &d);
    let i_table = table('i', &i);
    top.insert("keys".into(), Value::Array(pinned));
    let manifest = json!({
        "keygate": 1,
        "kind": "manifest",
        "payload_sha256": b64url_encode(&Sha256::digest(bytes)),
        "keys": entries.len(),
        "shards": { "bits": bits, "d": d_table, "i": i_table },
        "set": Value::Object(Map::from_iter(top)),
    });
    Ok(Sharding {
        manifest: serde_json::to_vec(&manifest).unwrap_or_default(),
        bits,
        shards,
    })
}
