//! A delta applied while an older version of the set is still held (a decision waiting for
//! its body, a WebCrypto verification or the nonce store keeps the set it started with) costs
//! memory in proportion to the change, not to the set: measured with a counting global
//! allocator (this test binary's own), on a 20,000-key set. Copying the set, as a copy-on-write
//! of the whole set would, costs megabytes here.
#![cfg(not(target_arch = "wasm32"))]

use std::sync::atomic::Ordering;

use keygate::{ApiKeyDigest, Delta, KeySet, KeyStatus, Verifier};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[path = "../benches/support/counting.rs"]
mod counting;

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

fn live() -> usize {
    counting::CURRENT.load(Ordering::Relaxed)
}

fn b64(bytes: &[u8]) -> String {
    keygate::encoding_util::b64url_encode(bytes)
}

/// The one test of this binary (the counters are global: nothing else may allocate meanwhile).
#[test]
fn deltas_under_held_versions_copy_only_what_they_change() {
    const N: usize = 20_000;
    let keys: Vec<Value> = (0..N)
        .map(|i| {
            json!({"id": format!("k{i}"), "api_key_hash": ApiKeyDigest::of(&format!("key-{i}")).to_string(),
                   "scopes": ["read"], "name": format!("customer {i}")})
        })
        .collect();
    let text = json!({"keygate": 1, "revision": 1, "keys": keys}).to_string();
    let before = live();
    let set = KeySet::from_json(text.as_bytes()).unwrap();
    let set_bytes = live() - before;
    let mut sha: [u8; 32] = Sha256::digest(text.as_bytes()).into();
    drop(text);
    let mut v = Verifier::new(set).with_payload_sha256(sha);

    // Eight one-key revocations in a chain, each applied while every older version is held.
    let mut held = Vec::new();
    let mut worst = 0;
    let start = live();
    for r in 1..=8u64 {
        let id = r * 997;
        let target: [u8; 32] = Sha256::digest(r.to_be_bytes()).into();
        let d = json!({"keygate": 1, "kind": "delta",
                       "base": {"revision": r, "payload_sha256": b64(&sha)},
                       "revision": r + 1, "payload_sha256": b64(&target),
                       "changes": [{"op": "revoke", "id": format!("k{id}"),
                                    "api_key_hash": ApiKeyDigest::of(&format!("key-{id}")).to_string()}]});
        let delta = Delta::from_json(d.to_string().as_bytes()).unwrap();
        held.push(v.clone());
        let base = live();
        counting::PEAK.store(base, Ordering::Relaxed);
        v.apply_delta(&delta).unwrap();
        worst = worst.max(counting::PEAK.load(Ordering::Relaxed) - base);
        sha = target;
    }
    let kept = live() - start;

    // What one delta may cost: a chunk of entries and the pointers to every chunk and shard.
    assert!(
        worst * 50 < set_bytes,
        "a one-key delta under a held version peaked at {worst} bytes; the set is {set_bytes}"
    );
    assert!(
        kept * 20 < set_bytes,
        "eight versions held beside the newest cost {kept} bytes; the set is {set_bytes}"
    );
    // Each held version still reads its own state; the newest reads every change.
    for (r, old) in held.iter().enumerate() {
        assert_eq!(old.keyset().revision(), r as u64 + 1);
        for later in r + 1..=8 {
            let k = old
                .keyset()
                .key_by_id(&format!("k{}", later * 997))
                .unwrap();
            assert_eq!(
                k.status,
                KeyStatus::Active,
                "version {} sees key k{}",
                r + 1,
                later * 997
            );
        }
    }
    for r in 1..=8 {
        let k = v.keyset().key_by_id(&format!("k{}", r * 997)).unwrap();
        assert_eq!(k.status, KeyStatus::Revoked);
        let by_digest = v
            .keyset()
            .key_by_digest(&ApiKeyDigest::of(&format!("key-{}", r * 997)));
        assert_eq!(by_digest.map(|k| k.status), Some(KeyStatus::Revoked));
    }
    assert_eq!(v.keyset().keys().len(), N);
}
