//! The `delta` target: delta documents (`Delta::from_json`, `load_delta`), applied in full
//! mode (`Verifier::apply_delta`) and in sharded mode (`ShardedVerifier::apply_delta`), held
//! to a model that edits the base key set's JSON and reads the result as a full set.
//!
//! Input: one selector byte (bits 0-1: the base set; bit 2: raw or generated; bits 3-4: the
//! shard table's bits; bits 5-6: the small cache's key limit), then either a delta document
//! (raw) or bytes that generate a chain of up to three deltas of up to eight changes each.
//! Properties, beyond "never panics":
//! - a refused document reports errors, each with a JSON path from `$`, and shows no secret;
//!   signed into an envelope it loads (`load_delta`) exactly as bare; an accepted one is
//!   routed as a delta (`is_delta`, never `is_manifest`);
//! - a refused delta changes nothing: the same keys, revision and state;
//! - an applied delta is the model's result: every key, its status and secrets, the same as
//!   the base document edited change by change and read by `KeySet::from_json`; a delta the
//!   model accepts (every change fits, the result is a valid set) is applied; every key is
//!   found by its id and API key digest afterwards (the index follows every `swap_remove`);
//! - sharded mode with every shard loaded applies what full mode applies, to the same keys;
//!   sharded mode with a cache too small to hold two shards, reloading every shard after the
//!   deltas, never holds a key other than the model's (a removed key never comes back, a
//!   status change is never lost).

use std::sync::LazyLock;

use keygate::encoding_util::b64url_encode;
use keygate::{
    ApiKeyDigest, Delta, DeltaRefused, KeyEntry, KeySet, LoadOptions, Manifest, SetState, ShardId,
    ShardLimits, ShardedVerifier, Update, Verifier, load_delta, shard_keyset, sig::VerifierKey,
    sign_envelope, webhook::WebhookKey,
};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::keysets::{PINNED, PUBLISHER, no_secret_shown};

/// A base set: its text, the set, the SHA-256 of the text.
pub struct Base {
    pub text: &'static str,
    pub set: KeySet,
    pub sha: [u8; 32],
}

fn base(text: &'static str) -> Base {
    Base {
        text,
        set: KeySet::from_json(text.as_bytes()).expect("fixture base loads"),
        sha: Sha256::digest(text.as_bytes()).into(),
    }
}

/// The delta vectors' base (four keys, one disabled), the webhook set (routes naming webhook
/// keys: a delta may not drop them), the full set (signing keys, CIDRs, names).
pub static BASES: LazyLock<Vec<Base>> = LazyLock::new(|| {
    let vectors: Value =
        serde_json::from_str(include_str!("../../tests/vectors/deltas/deltas.json"))
            .expect("delta vectors");
    let first: &'static str = Box::leak(
        vectors["base"]
            .as_str()
            .expect("base text")
            .to_string()
            .into_boxed_str(),
    );
    vec![
        base(first),
        base(include_str!(
            "../../tests/vectors/keysets/valid_webhooks.json"
        )),
        base(include_str!("../../tests/vectors/keysets/valid_full.json")),
        base(include_str!("../../tests/vectors/webhooks/keyset.json")),
    ]
});

/// API key digests generated changes draw from: the first four are the delta vectors' keys.
static DIGESTS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut v: Vec<String> = ["a", "b", "c", "d", "e", "f"]
        .iter()
        .map(|k| ApiKeyDigest::of(&format!("delta-vector-key-{k}-0001")).to_string())
        .collect();
    v.push(ApiKeyDigest::of("another").to_string());
    v
});

fn sha_text(b: &[u8]) -> String {
    b64url_encode(&Sha256::digest(b))
}

/// Everything a key holds, as text (secrets included).
pub fn key_line(k: &KeyEntry) -> String {
    let signing = k.signing.as_deref().map(|s| match s {
        VerifierKey::HmacSha256(h) => format!("hmac {:?}", h.expose_secret()),
        VerifierKey::Ed25519(e) => format!("ed25519 {:?}", e.as_bytes()),
        other => format!("{other:?}"),
    });
    let webhook = k.webhook.as_deref().map(|w| match w {
        WebhookKey::V1(s) => format!("v1 {:?}", s.expose_secret()),
        other => format!("{:?} {:?}", other.scheme(), other.public_key_text()),
    });
    format!(
        "{} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {signing:?} {webhook:?} {}",
        k.id,
        k.api_key_hash.map(|d| d.to_string()),
        k.status,
        k.not_before,
        k.expires_at,
        k.scopes,
        k.allow_cidrs,
        k.deny_cidrs,
        k.name,
        k.meta,
        k.signing.is_some(),
        k.require_signature
    )
}

/// A set's keys as sorted lines, and its header.
pub fn keys_of(ks: &KeySet) -> Vec<String> {
    let mut v: Vec<String> = ks.keys().iter().map(key_line).collect();
    v.sort();
    v
}

fn header(ks: &KeySet) -> String {
    format!(
        "{} {:?} {:?}",
        ks.revision(),
        ks.issued_at(),
        ks.expires_at()
    )
}

/// Every key is found by its id and by its API key digest, and no id or digest twice.
pub fn index_holds(ks: &KeySet) {
    let mut ids = std::collections::HashSet::new();
    let mut digests = std::collections::HashSet::new();
    for k in ks.keys().iter() {
        assert!(ids.insert(k.id.clone()), "key {:?} held twice", k.id);
        let found = ks
            .key_by_id(&k.id)
            .unwrap_or_else(|| panic!("key {:?} is not found by its id", k.id));
        assert_eq!(found.id, k.id);
        if let Some(d) = &k.api_key_hash {
            assert!(digests.insert(*d.as_bytes()), "a digest held twice");
            let found = ks
                .key_by_digest(d)
                .unwrap_or_else(|| panic!("key {:?} is not found by its digest", k.id));
            assert_eq!(found.id, k.id, "a digest finds another key");
        }
    }
}

/// The model: the key set document, edited change by change.
#[derive(Clone)]
struct Model {
    top: Map<String, Value>,
    state: SetState,
}

impl Model {
    fn keys(&self) -> &Vec<Value> {
        self.top["keys"].as_array().expect("keys")
    }

    fn find(&self, id: &str) -> Option<usize> {
        self.keys()
            .iter()
            .position(|k| k.get("id").and_then(Value::as_str) == Some(id))
    }

    /// The document after `delta` (a document `Delta::from_json` accepted), or `None` when
    /// a change does not fit (an `add` of a held id, another change of a missing one, a
    /// digest hint that is not the key's) or the result is not a valid key set.
    fn apply(&self, delta: &Value) -> Option<(Model, KeySet)> {
        let mut keys = self.keys().clone();
        for c in delta["changes"].as_array()? {
            let op = c["op"].as_str()?;
            let id = match op {
                "add" | "replace" => c["key"]["id"].as_str()?,
                _ => c["id"].as_str()?,
            };
            let at = keys
                .iter()
                .position(|k| k.get("id").and_then(Value::as_str) == Some(id));
            if let (Some(hint), Some(i)) = (c.get("api_key_hash"), at) {
                let hint = ApiKeyDigest::parse(hint.as_str()?).ok()?;
                let held = keys[i]
                    .get("api_key_hash")
                    .and_then(Value::as_str)
                    .and_then(|h| ApiKeyDigest::parse(h).ok());
                if held.map(|d| *d.as_bytes()) != Some(*hint.as_bytes()) {
                    return None;
                }
            }
            match (op, at) {
                ("add", None) => keys.push(c["key"].clone()),
                ("replace", Some(i)) => keys[i] = c["key"].clone(),
                ("disable" | "revoke", Some(i)) => {
                    let s = if op == "disable" {
                        "disabled"
                    } else {
                        "revoked"
                    };
                    keys[i]
                        .as_object_mut()?
                        .insert("status".into(), Value::String(s.into()));
                }
                ("remove", Some(i)) => {
                    keys.remove(i);
                }
                _ => return None,
            }
        }
        let mut top = self.top.clone();
        top.insert("keys".into(), Value::Array(keys));
        top.insert("revision".into(), delta["revision"].clone());
        for t in ["issued_at", "expires_at"] {
            match delta.get(t) {
                Some(v) => top.insert(t.into(), v.clone()),
                None => top.remove(t),
            };
        }
        let text = serde_json::to_vec(&Value::Object(top.clone())).ok()?;
        let set = KeySet::from_json(&text).ok()?;
        Some((
            Model {
                top,
                state: self.state,
            },
            set,
        ))
    }
}

/// Bytes to a chain of delta documents over the model's base.
fn generate(base: &Model, mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut next = || -> Option<u8> {
        let (&b, rest) = bytes.split_first()?;
        bytes = rest;
        Some(b)
    };
    let mut ids: Vec<String> = base
        .keys()
        .iter()
        .filter_map(|k| k.get("id").and_then(Value::as_str).map(str::to_string))
        .collect();
    ids.truncate(6);
    ids.extend(["n1", "n2"].map(String::from));
    let mut out = Vec::new();
    let mut model = base.clone();
    let (mut revision, mut sha) = (
        base.state.revision,
        b64url_encode(&base.state.payload_sha256),
    );
    let Some(n) = next() else { return out };
    for _ in 0..1 + n % 3 {
        let count = next().map_or(0, |b| b % 9);
        let mut changes = Vec::new();
        for _ in 0..count {
            let (Some(a), Some(b)) = (next(), next()) else {
                break;
            };
            let id = ids[usize::from(a >> 3) % ids.len()].clone();
            let op = ["add", "replace", "disable", "revoke", "remove"][usize::from(a % 5)];
            let held = model.find(&id).map(|i| model.keys()[i].clone());
            let c = match op {
                "add" | "replace" => {
                    let mut key = match (b & 3, &held) {
                        // The held entry, kept (a webhook or signing key stays).
                        (0, Some(h)) => h.clone(),
                        _ => json!({"id": id, "scopes": ["read"]}),
                    };
                    let m = key.as_object_mut().expect("object");
                    m.insert("id".into(), Value::String(id.clone()));
                    match (b >> 2) & 7 {
                        0 => {
                            m.remove("api_key_hash");
                        }
                        1 | 2 => {}
                        n => {
                            let d = &DIGESTS[usize::from(b >> 5) % DIGESTS.len()];
                            let _ = n;
                            m.insert("api_key_hash".into(), Value::String(d.clone()));
                        }
                    }
                    if b & 0x80 != 0 {
                        m.insert("status".into(), Value::String("disabled".into()));
                    }
                    json!({"op": op, "key": key})
                }
                _ => {
                    let mut c = json!({"op": op, "id": id});
                    match (b & 3, &held) {
                        (1, Some(h)) if h.get("api_key_hash").is_some() => {
                            c["api_key_hash"] = h["api_key_hash"].clone();
                        }
                        (2, _) => {
                            c["api_key_hash"] =
                                Value::String(DIGESTS[usize::from(b >> 2) % DIGESTS.len()].clone())
                        }
                        _ => {}
                    }
                    c
                }
            };
            changes.push(c);
        }
        let target_rev = revision + 1;
        let mut doc = json!({
            "keygate": 1,
            "kind": "delta",
            "base": {"revision": revision, "payload_sha256": sha},
            "revision": target_rev,
            "payload_sha256": "",
            "issued_at": "2026-12-01T00:05:00Z",
            "changes": changes,
        });
        let target_sha = sha_text(doc.to_string().as_bytes());
        doc["payload_sha256"] = Value::String(target_sha.clone());
        out.push(doc.to_string().into_bytes());
        // The next delta applies to this one's target, whether or not it fits.
        if let Some((m, _)) = model.apply(&doc) {
            model = m;
        }
        revision = target_rev;
        sha = target_sha;
    }
    out
}

/// A raw document whose `base` is set to the state in use (so the fuzzer reaches the
/// changes without guessing a digest).
fn rebase(doc: &[u8], state: SetState) -> Vec<u8> {
    let Ok(Value::Object(mut m)) = serde_json::from_slice::<Value>(doc) else {
        return doc.to_vec();
    };
    if !m.contains_key("base") {
        return doc.to_vec();
    }
    m.insert(
        "base".into(),
        json!({"revision": state.revision, "payload_sha256": b64url_encode(&state.payload_sha256)}),
    );
    serde_json::to_vec(&Value::Object(m)).expect("serialises")
}

/// A sharded verifier over `base` cut into `bits` bits, holding every shard (`limits`
/// default) or none.
fn sharded(
    base: &Base,
    bits: u8,
    limits: ShardLimits,
    load_all: bool,
) -> (ShardedVerifier, Vec<(ShardId, Vec<u8>)>) {
    let cut = shard_keyset(base.text.as_bytes(), Some(bits)).expect("fixture cuts");
    let manifest =
        Manifest::from_json(&cut.manifest, keygate::Unseal::Refuse).expect("cut manifest loads");
    let shards: Vec<(ShardId, Vec<u8>)> = cut
        .shards
        .into_iter()
        .map(|(name, _, bytes)| (ShardId::parse(&name).expect("shard name"), bytes))
        .collect();
    let mut v = ShardedVerifier::new(manifest, limits);
    if load_all {
        for (s, bytes) in &shards {
            v.load_shard(*s, bytes, keygate::Unseal::Refuse)
                .expect("cut shard loads");
        }
    }
    (v, shards)
}

pub fn run(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let b = &BASES[usize::from(sel & 3) % BASES.len()];
    let start = SetState {
        revision: b.set.revision(),
        payload_sha256: b.sha,
    };
    let top = match serde_json::from_str::<Value>(b.text) {
        Ok(Value::Object(m)) => m,
        _ => unreachable!("fixture"),
    };
    let mut model = Model { top, state: start };
    let docs = if sel & 4 == 0 {
        vec![rebase(rest, start), rest.to_vec()]
    } else {
        generate(&model, rest)
    };
    let bits = (sel >> 3) % 3;
    let mut full = Verifier::new(b.set.clone()).with_payload_sha256(b.sha);
    let (mut all, _) = sharded(b, bits, ShardLimits::default(), true);
    let small_limits = ShardLimits {
        max_shards: 0,
        max_keys: 1 + usize::from(sel >> 5) % 4,
    };
    let (mut small, shards) = sharded(b, bits, small_limits, false);
    // Sharded mode judges less than full mode (it cannot see every key): once it applied a
    // delta full mode refused, the two differ and are no longer compared.
    let mut diverged = false;
    for doc in docs {
        let delta = match Delta::from_json(&doc) {
            Ok(d) => d,
            Err(e) => {
                assert!(!e.errors().is_empty());
                for err in e.errors() {
                    assert!(err.path.starts_with('$'), "{err}");
                    assert!(!err.message.is_empty(), "{err}");
                }
                no_secret_shown(&doc, &format!("{e} {e:?}"));
                enveloped_agrees(&doc, &Err(e));
                continue;
            }
        };
        enveloped_agrees(&doc, &Ok(delta.clone()));
        assert!(
            keygate::is_delta(&doc) && !keygate::is_manifest(&doc),
            "an accepted delta is not routed as one"
        );
        let value: Value = serde_json::from_slice(&doc).expect("an accepted delta is JSON");
        let before = (keys_of(full.keyset()), header(full.keyset()), full.state());
        let applied = full.apply_delta(&delta);
        let expected = model.apply(&value);
        match &applied {
            Err(e) => {
                assert!(
                    ["keyset_rollback", "delta_base_mismatch", "keyset_invalid"]
                        .contains(&e.code())
                );
                assert_eq!(
                    (keys_of(full.keyset()), header(full.keyset()), full.state()),
                    before,
                    "a refused delta changed the set"
                );
                no_secret_shown(&doc, &format!("{e} {e:?}"));
                if matches!(e, DeltaRefused::Invalid(_)) {
                    assert!(
                        expected.is_none(),
                        "full mode refuses a delta whose result is a valid set: {e}"
                    );
                }
            }
            Ok(Update::Unchanged) => {
                assert_eq!(full.state(), Some(delta.target()));
                assert_eq!(keys_of(full.keyset()), before.0);
            }
            Ok(Update::Replaced { .. }) => {
                let (m, set) = expected.unwrap_or_else(|| {
                    panic!(
                        "full mode applied a delta the model refuses: {}",
                        String::from_utf8_lossy(&doc)
                    )
                });
                assert_eq!(
                    keys_of(full.keyset()),
                    keys_of(&set),
                    "applied keys differ from the model's"
                );
                assert_eq!(full.keyset().revision(), set.revision());
                assert_eq!(full.state(), Some(delta.target()));
                index_holds(full.keyset());
                model = Model {
                    state: delta.target(),
                    ..m
                };
            }
            Ok(other) => panic!("unexpected update {other:?}"),
        }
        // Sharded, every shard held.
        let before_all = (keys_of(all.verifier().keyset()), all.verifier().state());
        let r = all.apply_delta(&delta);
        match (&applied, &r) {
            (Ok(a), Ok(b)) if !diverged => {
                assert_eq!(a, b);
                assert_eq!(
                    keys_of(all.verifier().keyset()),
                    keys_of(full.keyset()),
                    "sharded mode holding every shard differs from full mode"
                );
            }
            (Ok(_), Err(e)) if !diverged => {
                panic!("full mode applies a delta sharded mode refuses: {e}")
            }
            (Err(a), Err(b)) if !diverged && !matches!(a, DeltaRefused::Invalid(_)) => {
                assert_eq!(a.code(), b.code())
            }
            (Err(_), Ok(_)) => diverged = true,
            _ => {}
        }
        if r.is_err() {
            assert_eq!(
                (keys_of(all.verifier().keyset()), all.verifier().state()),
                before_all,
                "a refused delta changed the sharded set"
            );
        }
        index_holds(all.verifier().keyset());
        // Sharded, a cache that holds one shard at a time.
        let before_small = (keys_of(small.verifier().keyset()), small.verifier().state());
        let r = small.apply_delta(&delta);
        if r.is_err() {
            assert_eq!(
                (keys_of(small.verifier().keyset()), small.verifier().state()),
                before_small,
                "a refused delta changed the small sharded set"
            );
        } else if applied.is_err() {
            diverged = true;
        }
    }
    if diverged {
        return;
    }
    // Reload every shard into the small cache: what it holds is always the model's.
    let want: std::collections::HashMap<String, String> = full
        .keyset()
        .keys()
        .iter()
        .map(|k| (k.id.clone(), key_line(k)))
        .collect();
    for (s, bytes) in &shards {
        small
            .load_shard(*s, bytes, keygate::Unseal::Refuse)
            .unwrap_or_else(|e| panic!("shard {} of the manifest refused: {e}", s.name()));
        index_holds(small.verifier().keyset());
        for k in small.verifier().keyset().keys().iter() {
            match want.get(&k.id) {
                Some(line) => assert_eq!(
                    &key_line(k),
                    line,
                    "shard {} brought back a stale copy of key {:?}",
                    s.name(),
                    k.id
                ),
                None => panic!("shard {} brought back removed key {:?}", s.name(), k.id),
            }
        }
    }
}

/// `load_delta` of the document signed into an envelope answers as `Delta::from_json`.
fn enveloped_agrees(doc: &[u8], bare: &Result<Delta, keygate::KeysetErrors>) {
    let envelope = sign_envelope(doc, &PUBLISHER).to_string();
    let opts = LoadOptions::new().publisher_keys(Some(&PINNED));
    let loaded = load_delta(envelope.as_bytes(), &opts);
    match (bare, &loaded) {
        (Ok(a), Ok(b)) => {
            assert_eq!(
                (a.base(), a.target(), a.len()),
                (b.base(), b.target(), b.len())
            )
        }
        (Err(a), Err(keygate::LoadError::Keyset(b))) => assert_eq!(a, b),
        _ => panic!("bare and enveloped delta loads disagree"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delta_vectors_run() {
        let vectors: Value =
            serde_json::from_str(include_str!("../../tests/vectors/deltas/deltas.json")).unwrap();
        let mut applied = 0;
        for c in vectors["cases"].as_array().unwrap() {
            let mut input = vec![0u8];
            input.extend(c["delta"].to_string().bytes());
            run(&input);
            let delta = Delta::from_json(c["delta"].to_string().as_bytes());
            if let Ok(d) = delta {
                let mut v = Verifier::new(BASES[0].set.clone()).with_payload_sha256(BASES[0].sha);
                applied += usize::from(v.apply_delta(&d).is_ok());
            }
        }
        assert!(applied >= 3, "{applied}");
    }

    #[test]
    fn generated_chains_apply() {
        for base in 0..4u8 {
            for seed in 0..64u8 {
                let mut input = vec![4 | base | (seed & 0x18) | (seed & 0x60)];
                input.extend((0..40).map(|i: u8| i.wrapping_mul(seed).wrapping_add(seed)));
                run(&input);
            }
        }
    }
}
