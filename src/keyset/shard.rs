//! Sharded key sets: a set too large for one isolate, published as a signed manifest plus
//! shards bound to it by SHA-256 (signed metadata, hashed targets).
//!
//! - A **manifest** (`"kind": "manifest"`) carries the set's header as a key set of its own
//!   (`set`: revision, times, audience, policy, routes, deny lists, and the keys that routes
//!   name as webhook keys, which are always held), the SHA-256 of the full key set JSON it was
//!   cut from (`payload_sha256`: the name of the state, as in full mode), the key count, and
//!   the shard table: `bits` and the SHA-256 of every shard.
//! - **`d` shards** hold the keys with an API key, by the first `bits` bits of its digest;
//!   **`i` shards** hold every key, by the first `bits` bits of SHA-256(id). A decision looks
//!   keys up only by API key digest and by signature `keyid`, so with the `d` shard of the
//!   presented key and the `i` shard of each `keyid` loaded, every lookup it makes finds what
//!   it would find in the full set.
//! - A shard is key set JSON (`{"keygate":1,"revision":1,"keys":[...]}`), read by the same
//!   validator as a full set; its revision means nothing (its state is its digest).

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{KeyEntry, KeySet, KeysetError, KeysetErrors};
use crate::apikey::ApiKeyDigest;
use crate::encoding::b64url_encode;
use crate::seal::Unseal;

/// The most bits a shard table is cut by (65,536 shards of each kind).
pub const MAX_SHARD_BITS: u8 = 16;

/// Which index a shard is cut from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ShardKind {
    /// Keys with an API key, by digest (`d`).
    Digest,
    /// Every key, by SHA-256 of its id (`i`).
    Id,
}

/// One shard of a table: its kind and number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShardId {
    /// The index it is cut from.
    pub kind: ShardKind,
    /// Its number, below `2^bits`.
    pub index: u32,
}

impl ShardId {
    /// Its name: `d/<index>` or `i/<index>`.
    pub fn name(&self) -> String {
        let k = match self.kind {
            ShardKind::Digest => 'd',
            ShardKind::Id => 'i',
        };
        format!("{k}/{}", self.index)
    }

    /// Reads a name written by [`name`](Self::name).
    pub fn parse(name: &str) -> Option<ShardId> {
        let (k, n) = name.split_once('/')?;
        let kind = match k {
            "d" => ShardKind::Digest,
            "i" => ShardKind::Id,
            _ => return None,
        };
        if n.is_empty() || n.len() > 5 || !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(ShardId {
            kind,
            index: n.parse().ok()?,
        })
    }
}

fn bucket(hash: &[u8; 32], bits: u8) -> u32 {
    if bits == 0 {
        return 0;
    }
    u32::from_be_bytes([hash[0], hash[1], hash[2], hash[3]]) >> (32 - u32::from(bits))
}

/// The `d` shard holding the key with this API key digest.
pub fn digest_shard(d: &ApiKeyDigest, bits: u8) -> ShardId {
    ShardId {
        kind: ShardKind::Digest,
        index: bucket(&d.0, bits),
    }
}

/// The `i` shard holding the key with this id.
pub fn id_shard(id: &str, bits: u8) -> ShardId {
    ShardId {
        kind: ShardKind::Id,
        index: bucket(&Sha256::digest(id.as_bytes()).into(), bits),
    }
}

/// A verified manifest: the header set (with the keys it always holds) and the shard table.
#[derive(Clone, Debug)]
pub struct Manifest {
    pub(crate) set: KeySet,
    pub(crate) payload_sha256: [u8; 32],
    pub(crate) keys: u64,
    pub(crate) bits: u8,
    pub(crate) d: Vec<[u8; 32]>,
    pub(crate) i: Vec<[u8; 32]>,
}

const MANIFEST_FIELDS: &[&str] = &["keygate", "kind", "payload_sha256", "keys", "shards", "set"];

impl Manifest {
    /// Reads manifest JSON (an envelope's verified payload). Every problem is reported with
    /// its path; the header set is validated like a full key set (its paths under `$.set`).
    pub fn from_json(bytes: &[u8], unseal: Unseal<'_>) -> Result<Manifest, KeysetErrors> {
        let mut errors = Vec::new();
        let mut err = |path: &str, m: String| {
            errors.push(KeysetError {
                path: path.into(),
                message: m,
            })
        };
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Err(one("$", "invalid JSON: not UTF-8".into()));
        };
        let top: Map<String, Value> = match serde_json::from_str(text) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err(one("$", "expected an object".into())),
            Err(e) => return Err(one("$", format!("invalid JSON: {e}"))),
        };
        for k in top.keys() {
            if !MANIFEST_FIELDS.contains(&k.as_str()) {
                err(&format!("$.{k}"), "unknown field".into());
            }
        }
        if top.get("keygate").and_then(Value::as_u64) != Some(1) {
            err("$.keygate", "expected 1 (the format version)".into());
        }
        if top.get("kind").and_then(Value::as_str) != Some("manifest") {
            err("$.kind", "expected \"manifest\"".into());
        }
        let sha = match top.get("payload_sha256").and_then(Value::as_str) {
            Some(s) => super::state::parse_sha(s)
                .map_err(|m| err("$.payload_sha256", m))
                .ok(),
            None => {
                err("$.payload_sha256", "required field missing".into());
                None
            }
        };
        let keys = top.get("keys").and_then(Value::as_u64);
        if keys.is_none() {
            err("$.keys", "expected the number of keys of the set".into());
        }
        let table = table(top.get("shards"), &mut err);
        let set = match top.get("set") {
            Some(v @ Value::Object(_)) => {
                let text = v.to_string().into_bytes();
                match KeySet::from_json_with(&text, unseal) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        for x in e.0 {
                            err(&format!("$.set{}", &x.path[1..]), x.message);
                        }
                        None
                    }
                }
            }
            _ => {
                err(
                    "$.set",
                    "expected the set's header (a key set object)".into(),
                );
                None
            }
        };
        match (set, sha, keys, table) {
            (Some(set), Some(payload_sha256), Some(keys), Some((bits, d, i)))
                if errors.is_empty() =>
            {
                Ok(Manifest {
                    set,
                    payload_sha256,
                    keys,
                    bits,
                    d,
                    i,
                })
            }
            _ => Err(KeysetErrors(errors)),
        }
    }

    /// The revision.
    pub fn revision(&self) -> u64 {
        self.set.revision
    }

    /// SHA-256 of the full key set JSON it was cut from.
    pub fn payload_sha256(&self) -> [u8; 32] {
        self.payload_sha256
    }

    /// How many keys the whole set has.
    pub fn key_count(&self) -> u64 {
        self.keys
    }

    /// The table's bits.
    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// The SHA-256 the manifest names for a shard (`None`: not in the table).
    pub fn shard_sha256(&self, s: ShardId) -> Option<&[u8; 32]> {
        match s.kind {
            ShardKind::Digest => self.d.get(s.index as usize),
            ShardKind::Id => self.i.get(s.index as usize),
        }
    }

    /// Every shard with its digest, `d` then `i`.
    pub fn shards(&self) -> impl Iterator<Item = (ShardId, &[u8; 32])> {
        let d = self.d.iter().enumerate().map(|(n, h)| {
            let id = ShardId {
                kind: ShardKind::Digest,
                index: n as u32,
            };
            (id, h)
        });
        let i = self.i.iter().enumerate().map(|(n, h)| {
            let id = ShardId {
                kind: ShardKind::Id,
                index: n as u32,
            };
            (id, h)
        });
        d.chain(i)
    }
}

fn one(path: &str, message: String) -> KeysetErrors {
    KeysetErrors(vec![KeysetError {
        path: path.into(),
        message,
    }])
}

type Table = (u8, Vec<[u8; 32]>, Vec<[u8; 32]>);

fn table(v: Option<&Value>, err: &mut impl FnMut(&str, String)) -> Option<Table> {
    let Some(Value::Object(m)) = v else {
        err("$.shards", "expected {\"bits\", \"d\", \"i\"}".into());
        return None;
    };
    for k in m.keys() {
        if !["bits", "d", "i"].contains(&k.as_str()) {
            err(&format!("$.shards.{k}"), "unknown field".into());
        }
    }
    let bits = match m.get("bits").and_then(Value::as_u64) {
        Some(b) if b <= u64::from(MAX_SHARD_BITS) => b as u8,
        _ => {
            err(
                "$.shards.bits",
                format!("expected an integer from 0 to {MAX_SHARD_BITS}"),
            );
            return None;
        }
    };
    let mut list = |name: &str| -> Option<Vec<[u8; 32]>> {
        let path = format!("$.shards.{name}");
        let Some(Value::Array(items)) = m.get(name) else {
            err(&path, "expected an array of SHA-256 digests".into());
            return None;
        };
        if items.len() != 1 << bits {
            err(&path, format!("expected {} digests (2^bits)", 1u32 << bits));
            return None;
        }
        let mut out = Vec::with_capacity(items.len());
        for (n, it) in items.iter().enumerate() {
            match it.as_str().map(super::state::parse_sha) {
                Some(Ok(h)) => out.push(h),
                Some(Err(e)) => err(&format!("{path}[{n}]"), e),
                None => err(&format!("{path}[{n}]"), "expected a string".into()),
            }
        }
        (out.len() == items.len()).then_some(out)
    };
    let d = list("d");
    let i = list("i");
    Some((bits, d?, i?))
}

/// Why a shard was not used. Its content is never part of the message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShardError {
    /// The name is not a shard of the manifest's table.
    UnknownShard(String),
    /// Its bytes do not hash to the digest the signed manifest names.
    Digest(String),
    /// Its content is not valid, or holds a key that belongs to another shard, or differs
    /// from the copy of the same key already held.
    Invalid(String),
}

impl ShardError {
    /// The stable code (`ERR_SHARD_INVALID` in JS).
    pub fn code(&self) -> &'static str {
        "shard_invalid"
    }
}

impl std::fmt::Display for ShardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShardError::UnknownShard(m) | ShardError::Digest(m) | ShardError::Invalid(m) => {
                f.write_str(m)
            }
        }
    }
}

impl std::error::Error for ShardError {}

/// Reads shard `s` of `m` from `bytes`: its digest against the manifest first (nothing of a
/// shard that fails it is parsed), then its content, then that each key belongs in it.
pub(crate) fn read_shard(
    m: &Manifest,
    s: ShardId,
    bytes: &[u8],
    unseal: Unseal<'_>,
) -> Result<Vec<KeyEntry>, ShardError> {
    let name = s.name();
    let want = m.shard_sha256(s).ok_or_else(|| {
        ShardError::UnknownShard(format!("{name} is not a shard of this manifest"))
    })?;
    let got: [u8; 32] = Sha256::digest(bytes).into();
    if &got != want {
        return Err(ShardError::Digest(format!(
            "shard {name}: its SHA-256 is {}, the signed manifest names {}",
            b64url_encode(&got),
            b64url_encode(want)
        )));
    }
    let set = KeySet::from_json_with(bytes, unseal)
        .map_err(|e| ShardError::Invalid(format!("shard {name}: {}", e.errors()[0])))?;
    for k in set.keys.iter() {
        let home = match (s.kind, &k.api_key_hash) {
            (ShardKind::Digest, Some(d)) => digest_shard(d, m.bits),
            (ShardKind::Digest, None) => {
                return Err(ShardError::Invalid(format!(
                    "shard {name}: key {:?} has no API key",
                    k.id
                )));
            }
            (ShardKind::Id, _) => id_shard(&k.id, m.bits),
        };
        if home != s {
            return Err(ShardError::Invalid(format!(
                "shard {name}: key {:?} belongs in shard {}",
                k.id,
                home.name()
            )));
        }
    }
    Ok(set.keys.into_vec())
}

impl KeySet {
    /// Adds `k` unless a key with its id is held; then the held copy must be the same key.
    /// Returns whether it was added.
    pub(crate) fn hold(&mut self, k: KeyEntry) -> Result<bool, String> {
        if let Some(at) = self.index.find_id(&self.keys, &k.id) {
            return if self.keys[at as usize].same_content(&k) {
                Ok(false)
            } else {
                Err(format!("key {:?} differs between two shards", k.id))
            };
        }
        if let Some(d) = &k.api_key_hash
            && self.index.find_digest(&self.keys, d).is_some()
        {
            return Err(format!(
                "key {:?}: its API key digest is held by another key",
                k.id
            ));
        }
        let at = self.keys.len() as u32;
        self.sealed += k.sealed_secrets();
        self.keys.push(k);
        self.index.insert(&self.keys, at);
        Ok(true)
    }

    /// Forgets the key with this id (a `swap_remove`; the keys found recently are forgotten,
    /// as their positions moved).
    pub(crate) fn release(&mut self, id: &str) -> Option<KeyEntry> {
        let k = self.take(id)?;
        self.recent.clear();
        Some(k)
    }
}

impl KeySet {
    /// This set's header (revision, times, audience, policy, routes, deny lists) with the keys
    /// of `keep` that it holds, and no other.
    pub(crate) fn subset<'a>(&self, keep: impl IntoIterator<Item = &'a KeyEntry>) -> KeySet {
        let mut out = KeySet {
            revision: self.revision,
            audience: self.audience.clone(),
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            policy: self.policy.clone(),
            deny_cidrs: self.deny_cidrs.clone(),
            routes: self.routes.clone(),
            keys: Default::default(),
            index: Default::default(),
            fingerprint: self.fingerprint,
            sealed: 0,
            recent: super::recent::RecentKeys::new(),
        };
        for k in keep {
            // Keys of one set: the same key twice is held once, and digests never clash.
            let _ = out.hold(k.clone());
        }
        out
    }

    /// Sets the status of the key with this id, when held.
    pub(crate) fn set_status(&mut self, id: &str, status: super::KeyStatus) {
        if let Some(at) = self.index.find_id(&self.keys, id)
            && let Some(k) = self.keys.get_mut(at as usize)
        {
            k.status = status;
        }
    }

    /// Takes a delta's header (revision and times) after its changes were applied elsewhere.
    pub(crate) fn take_delta_header(&mut self, d: &super::delta::Delta) {
        self.revision = d.target.revision;
        self.issued_at = d.issued_at;
        self.expires_at = d.expires_at;
        self.fingerprint = super::apply::DERIVED;
    }
}

/// Whether a document (bare, not an envelope) is meant as a manifest: its top-level `kind` is
/// `"manifest"`. For routing only; it is judged in full when loaded.
pub(crate) fn is_manifest_doc(bytes: &[u8]) -> bool {
    // A key set has no `kind`: only documents that have one are read as a tree.
    let mut kind = false;
    let named = crate::json::each_top_level_name(bytes, |n| {
        kind |= n == "kind";
        !kind
    });
    if !(named && kind) {
        return false;
    }
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .is_some_and(|v| v.get("kind").and_then(Value::as_str) == Some("manifest"))
}
