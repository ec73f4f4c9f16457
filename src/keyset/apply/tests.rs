//! The index after deltas holds exactly one entry per id and per digest, each pointing at its
//! key (no entry left behind by a removal, a swap or a changed digest).

use serde_json::json;

use crate::apikey::ApiKeyDigest;
use crate::keyset::KeySet;
use crate::keyset::delta::Delta;
use crate::seal::Unseal;

fn digest(s: &str) -> String {
    ApiKeyDigest::of(s).to_string()
}

fn assert_consistent(ks: &KeySet) {
    let with_digest = ks.keys.iter().filter(|k| k.api_key_hash.is_some()).count();
    assert_eq!(ks.index.len(), (ks.keys.len(), with_digest));
    let sealed: usize = ks.keys.iter().map(|k| k.sealed_secrets()).sum();
    assert_eq!(ks.sealed_count(), sealed, "the sealed count kept by deltas");
    for (i, k) in ks.keys.iter().enumerate() {
        assert_eq!(
            ks.index.find_id(&ks.keys, &k.id),
            Some(i as u32),
            "{}",
            k.id
        );
        if let Some(d) = &k.api_key_hash {
            assert_eq!(
                ks.index.find_digest(&ks.keys, d),
                Some(i as u32),
                "{}",
                k.id
            );
        }
    }
}

#[test]
fn the_index_follows_every_kind_of_change() {
    let keys: Vec<_> = (0..6)
        .map(|i| json!({"id": format!("k{i}"), "api_key_hash": digest(&format!("s{i}"))}))
        .collect();
    let text = json!({"keygate": 1, "revision": 1, "keys": keys}).to_string();
    let mut ks = KeySet::from_json(text.as_bytes()).unwrap();
    let sha = "A".repeat(43);
    let changes = json!([
        {"op": "remove", "id": "k0"},
        {"op": "remove", "id": "k5"},
        {"op": "replace", "key": {"id": "k1", "api_key_hash": digest("s2")}},
        {"op": "replace", "key": {"id": "k2", "api_key_hash": digest("s0")}},
        {"op": "replace", "key": {"id": "k3", "signing": {"alg": "hmac-sha256", "secret": "A".repeat(43)}}},
        {"op": "revoke", "id": "k4"},
        {"op": "add", "key": {"id": "n1", "api_key_hash": digest("s1")}},
        {"op": "add", "key": {"id": "n2", "api_key_hash": digest("s3")}},
    ]);
    let d = json!({"keygate": 1, "kind": "delta", "base": {"revision": 1, "payload_sha256": sha},
                   "revision": 2, "payload_sha256": sha, "changes": changes});
    let delta = Delta::from_json(d.to_string().as_bytes()).unwrap();
    ks.check_delta(&delta).unwrap();
    ks.apply_checked(&delta);
    assert_consistent(&ks);
    let id_of = |s: &str| ks.key_by_digest(&ApiKeyDigest::of(s)).map(|k| k.id.clone());
    assert_eq!(id_of("s0").as_deref(), Some("k2"));
    assert_eq!(id_of("s1").as_deref(), Some("n1"));
    assert_eq!(id_of("s2").as_deref(), Some("k1"));
    assert_eq!(id_of("s3").as_deref(), Some("n2"));
    assert_eq!(id_of("s5"), None);
    assert!(ks.key_by_id("k0").is_none() && ks.key_by_id("k5").is_none());
    assert_eq!(ks.revision(), 2);
}

#[test]
fn keys_a_route_lists_in_webhook_keys_stay_webhook_keys() {
    let hook = json!({"id": "w", "webhook": {"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}});
    let text = json!({"keygate": 1, "revision": 1, "keys": [hook, {"id": "x", "api_key_hash": digest("s")}],
                      "routes": [{"methods": ["POST"], "path": "/hooks", "webhook_keys": ["w"]},
                                 {"methods": ["PUT"], "path": "/hooks", "webhook_keys": ["w"]}]})
    .to_string();
    let ks = KeySet::from_json(text.as_bytes()).unwrap();
    let sha = "A".repeat(43);
    let delta = |changes: serde_json::Value| {
        let d = json!({"keygate": 1, "kind": "delta", "base": {"revision": 1, "payload_sha256": sha},
                       "revision": 2, "payload_sha256": sha, "changes": changes});
        Delta::from_json(d.to_string().as_bytes()).unwrap()
    };
    let errs = ks
        .check_delta(&delta(json!([{"op": "remove", "id": "w"}])))
        .unwrap_err();
    assert_eq!(
        errs.0.len(),
        1,
        "one error, though two routes list it: {errs}"
    );
    assert_eq!(errs.0[0].path, "$.changes[0]");
    assert!(errs.0[0].message.contains("webhook_keys"), "{errs}");
    let errs = ks
        .check_delta(&delta(
            json!([{"op": "replace", "key": {"id": "w", "api_key_hash": digest("t")}}]),
        ))
        .unwrap_err();
    assert_eq!(errs.0[0].path, "$.changes[0].key.webhook");
    // Rotating the webhook secret, revoking the key and removing another key are deltas.
    let rotated = json!({"id": "w", "webhook": {"secret": format!("whsec_{}", "B".repeat(32))}});
    ks.check_delta(&delta(
        json!([{"op": "replace", "key": rotated}, {"op": "remove", "id": "x"}]),
    ))
    .unwrap();
    ks.check_delta(&delta(json!([{"op": "revoke", "id": "w"}])))
        .unwrap();
}

#[test]
fn keys_found_before_a_delta_are_looked_up_again_after_it() {
    // k0 is found (and remembered by position); its removal moves k2 into that position, and
    // k1's replacement gives it another key. Neither old key may still find a key.
    let keys: Vec<_> = (0..3)
        .map(|i| json!({"id": format!("k{i}"), "api_key_hash": digest(&format!("s{i}"))}))
        .collect();
    let text = json!({"keygate": 1, "revision": 1, "keys": keys}).to_string();
    let mut ks = KeySet::from_json(text.as_bytes()).unwrap();
    let find = |ks: &KeySet, s: &str| {
        ks.key_by_api_key(s, |_| Ok(()))
            .unwrap()
            .map(|k| k.id.clone())
    };
    for i in 0..3 {
        assert_eq!(find(&ks, &format!("s{i}")), Some(format!("k{i}")));
    }
    let sha = "A".repeat(43);
    let changes = json!([
        {"op": "remove", "id": "k0"},
        {"op": "replace", "key": {"id": "k1", "api_key_hash": digest("t1")}},
    ]);
    let d = json!({"keygate": 1, "kind": "delta", "base": {"revision": 1, "payload_sha256": sha},
                   "revision": 2, "payload_sha256": sha, "changes": changes});
    let delta = Delta::from_json(d.to_string().as_bytes()).unwrap();
    ks.check_delta(&delta).unwrap();
    ks.apply_checked(&delta);
    assert_eq!(find(&ks, "s0"), None);
    assert_eq!(find(&ks, "s1"), None);
    assert_eq!(find(&ks, "s2").as_deref(), Some("k2"));
    assert_eq!(find(&ks, "t1").as_deref(), Some("k1"));
}

#[test]
fn the_sealed_count_follows_every_kind_of_change() {
    // Read by form only: the JWEs need no seal keys to be counted.
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../../../tests/vectors/sealed/jose.json")).unwrap();
    let sealed = doc["valid"][0]["sealed"].as_str().unwrap();
    let sealed_key =
        |id: &str| json!({"id": id, "signing": {"alg": "hmac-sha256", "sealed": sealed}});
    let clear =
        |id: &str| json!({"id": id, "signing": {"alg": "hmac-sha256", "secret": "A".repeat(43)}});
    let text = json!({"keygate": 1, "revision": 1,
                      "keys": [sealed_key("a"), sealed_key("b"), sealed_key("c"), clear("d"), clear("e")]})
    .to_string();
    let mut ks = KeySet::from_json_with(text.as_bytes(), Unseal::FormOnly).unwrap();
    assert_eq!(ks.sealed_count(), 3);
    let sha = "A".repeat(43);
    let steps = [
        (json!([{"op": "remove", "id": "a"}]), 2),
        (json!([{"op": "replace", "key": clear("b")}]), 1),
        (json!([{"op": "replace", "key": sealed_key("d")}]), 2),
        (
            json!([{"op": "add", "key": sealed_key("f")}, {"op": "revoke", "id": "c"}]),
            3,
        ),
        (
            json!([{"op": "remove", "id": "c"}, {"op": "remove", "id": "e"}, {"op": "replace", "key": sealed_key("f")}]),
            2,
        ),
    ];
    for (n, (changes, want)) in steps.into_iter().enumerate() {
        let d = json!({"keygate": 1, "kind": "delta",
                       "base": {"revision": n + 1, "payload_sha256": sha},
                       "revision": n + 2, "payload_sha256": sha, "changes": changes});
        let delta = Delta::from_json_with(d.to_string().as_bytes(), Unseal::FormOnly).unwrap();
        ks.check_delta(&delta).unwrap();
        ks.apply_checked(&delta);
        assert_consistent(&ks);
        assert_eq!(ks.sealed_count(), want, "after step {n}");
    }
}

/// A delta applied to a copy of a set (as the verifier does while a waiting decision holds
/// the old version) copies only the chunk of entries and the index shards it writes to; the
/// old version is unchanged and both stay consistent.
#[test]
fn a_delta_on_a_shared_set_copies_only_what_it_changes() {
    use crate::keyset::KeyStatus;
    use crate::keyset::store::CHUNK;

    let n: usize = 20_000;
    let keys: Vec<_> = (0..n)
        .map(|i| json!({"id": format!("k{i}"), "api_key_hash": digest(&format!("s{i}"))}))
        .collect();
    let text = json!({"keygate": 1, "revision": 1, "keys": keys}).to_string();
    let old = KeySet::from_json(text.as_bytes()).unwrap();
    let sha = "A".repeat(43);
    let delta = |changes: serde_json::Value| {
        let d = json!({"keygate": 1, "kind": "delta", "base": {"revision": 1, "payload_sha256": sha},
                       "revision": 2, "payload_sha256": sha, "changes": changes});
        Delta::from_json(d.to_string().as_bytes()).unwrap()
    };
    let chunks = n.div_ceil(CHUNK);
    let shared_chunks = |a: &KeySet, b: &KeySet| {
        (0..chunks)
            .filter(|c| a.keys.shares_chunk(&b.keys, c * CHUNK))
            .count()
    };

    // A status change: one chunk copied, no index shard.
    let mut new = old.clone();
    let d = delta(json!([{"op": "revoke", "id": "k1234"}]));
    new.check_delta(&d).unwrap();
    new.apply_checked(&d);
    assert_eq!(shared_chunks(&old, &new), chunks - 1);
    let (same, shards) = new.index.shared_shards(&old.index);
    assert!(
        shards > 2,
        "a set of {n} keys has more than one shard a table"
    );
    assert_eq!(same, shards);
    assert_eq!(new.key_by_id("k1234").unwrap().status, KeyStatus::Revoked);
    assert_eq!(old.key_by_id("k1234").unwrap().status, KeyStatus::Active);

    // A removal (the last entry moves into its place), a new digest and an addition: the
    // chunks written (the removed key's, the last one) and at most two shards a change.
    let mut next = new.clone();
    let d = delta(json!([
        {"op": "remove", "id": "k17"},
        {"op": "replace", "key": {"id": "k2000", "api_key_hash": digest("t2000")}},
        {"op": "add", "key": {"id": "n1", "api_key_hash": digest("u1")}},
    ]));
    next.check_delta(&d).unwrap();
    next.apply_checked(&d);
    assert!(shared_chunks(&new, &next) >= chunks - 3);
    let (same, shards) = next.index.shared_shards(&new.index);
    // Each of the four index writes (removal, move, new digest, addition) touches an id and a
    // digest shard at most.
    assert!(
        shards >= 32 && shards - same <= 8,
        "{same} of {shards} shards shared"
    );
    assert_consistent(&old);
    assert_consistent(&new);
    assert_consistent(&next);
    assert!(new.key_by_id("k17").is_some() && next.key_by_id("k17").is_none());
    assert!(next.key_by_digest(&ApiKeyDigest::of("s2000")).is_none());
    assert_eq!(
        new.key_by_digest(&ApiKeyDigest::of("s2000")).unwrap().id,
        "k2000"
    );
    assert_eq!(
        next.key_by_digest(&ApiKeyDigest::of("u1")).unwrap().id,
        "n1"
    );
    assert_eq!(
        (old.keys().len(), new.keys().len(), next.keys().len()),
        (n, n, n)
    );
}
