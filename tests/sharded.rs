#![cfg(not(target_arch = "wasm32"))]
//! Sharded mode: every decision of a sharded verifier equals the full-mode decision over the
//! same requests (known, unknown, revoked, disabled and expired keys; signatures naming keys
//! in other shards; attacker-chosen `keyid`s), with a cache small enough that shards are
//! dropped and loaded again; and what a shard that does not match its manifest gets.

mod common;

use std::collections::HashMap;

use common::{cx, signed, signing_json};
use keygate::sig::{HmacSecret, Signer, SignerKey};
use keygate::{
    ApiKeyDigest, KeySet, Manifest, Request, ShardError, ShardId, ShardLimits, ShardedVerifier,
    Unseal, Verifier, shard_keyset,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const N: usize = 3000;

fn hmac(k: usize) -> SignerKey {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&(k as u64).to_le_bytes());
    SignerKey::HmacSha256(HmacSecret::new(s.to_vec()).unwrap())
}

fn ed(k: usize) -> SignerKey {
    let mut s = [3u8; 32];
    s[..8].copy_from_slice(&(k as u64).to_le_bytes());
    SignerKey::ed25519_seed(&s).unwrap()
}

fn api_key(k: usize) -> String {
    format!("test-api-key-{k:05}")
}

/// A set of N keys of every kind and state.
fn set_json() -> Vec<u8> {
    let mut keys = Vec::new();
    for k in 0..N {
        let mut e = json!({"id": format!("k{k}"), "scopes": if k % 2 == 0 { json!(["orders:read"]) } else { json!(["other"]) }});
        if k % 5 != 4 {
            e["api_key_hash"] = json!(ApiKeyDigest::of(&api_key(k)).to_string());
        }
        if k % 3 == 0 || k % 5 == 4 {
            e["signing"] = signing_json(&hmac(k));
            e["require_signature"] = json!(k % 6 == 0);
        } else if k % 7 == 0 {
            e["signing"] = signing_json(&ed(k));
            e["require_signature"] = json!(false);
        }
        if k % 11 == 0 {
            e["status"] = json!("revoked");
        } else if k % 13 == 0 {
            e["status"] = json!("disabled");
        }
        if k % 17 == 0 {
            e["expires_at"] = json!("2025-01-01T00:00:00Z");
        }
        if k % 19 == 0 {
            e["meta"] = json!({"tier": "gold", "n": k});
        }
        keys.push(e);
    }
    let doc = json!({
        "keygate": 1, "revision": 7,
        "routes": [{"path": "/orders/*", "scopes": ["orders:read"]}],
        "keys": keys,
    });
    serde_json::to_vec(&doc).unwrap()
}

fn get(path: &str) -> Request {
    Request::new("GET", &format!("https://api.example.com{path}")).unwrap()
}

fn bearer(req: Request, key: &str) -> Request {
    req.with_header("Authorization", &format!("Bearer {key}"))
}

/// Requests of every kind: each names its kind (for failure messages).
fn corpus() -> Vec<(String, Request)> {
    let mut out = Vec::new();
    for k in (0..N).step_by(9) {
        let path = if (k / 7) % 3 != 1 { "/orders/1" } else { "/x" };
        out.push((format!("bearer k{k}"), bearer(get(path), &api_key(k))));
        if k % 3 == 0 || k % 5 == 4 {
            out.push((
                format!("hmac k{k}"),
                signed(get(path), hmac(k), &format!("k{k}")),
            ));
            // The API key of one key and a signature by another (foreign), in other shards.
            let other = (k + 1234) % N;
            let req = signed(
                bearer(get(path), &api_key(other)),
                hmac(k),
                &format!("k{k}"),
            );
            out.push((format!("k{other} + sig k{k}"), req));
        }
        if k % 7 == 0 && k % 3 != 0 && k % 5 != 4 {
            out.push((
                format!("ed k{k}"),
                signed(get(path), ed(k), &format!("k{k}")),
            ));
        }
        // A signature naming a key without a signing key, or an id no key has.
        out.push((
            format!("keyid k{} unsigned key", k + 1),
            signed(get(path), hmac(k), &format!("k{}", k + 1)),
        ));
        out.push((
            format!("unknown keyid {k}"),
            signed(get(path), hmac(k), &format!("ghost-{k}")),
        ));
        out.push((
            format!("unknown bearer {k}"),
            bearer(get(path), &format!("nope-{k:08}")),
        ));
    }
    // Attacker-chosen keyids: the most signatures a request may carry, each naming an id
    // whose shard differs, with the signature of none of them.
    for j in 0..20 {
        let mut req = get("/orders/1");
        for s in 0..keygate::sig::MAX_SIGNATURES {
            let signer = Signer::new(hmac(j), &format!("attacker-{j}-{s}"), common::now())
                .label(&format!("s{s}"));
            req = common::sign_with(req, signer);
        }
        out.push((format!("attacker keyids {j}"), req));
    }
    out
}

fn shards_of(bytes: &[u8], bits: u8) -> (Manifest, HashMap<ShardId, Vec<u8>>) {
    let cut = shard_keyset(bytes, Some(bits)).unwrap();
    let m = Manifest::from_json(&cut.manifest, Unseal::Refuse).unwrap();
    let files = cut
        .shards
        .into_iter()
        .map(|(name, _, b)| (ShardId::parse(&name).unwrap(), b))
        .collect();
    (m, files)
}

fn decide_sharded(
    sv: &mut ShardedVerifier,
    files: &HashMap<ShardId, Vec<u8>>,
    req: &Request,
) -> keygate::Decision {
    for _ in 0..2 {
        match sv.decide(req, &cx()) {
            Ok(d) => return d,
            Err(need) => {
                assert!(need.len() <= 1 + keygate::sig::MAX_SIGNATURES);
                for s in need {
                    sv.load_shard(s, &files[&s], Unseal::Refuse).unwrap();
                }
            }
        }
    }
    panic!("a request still needed shards after they were loaded");
}

#[test]
fn sharded_decisions_equal_full_mode() {
    let bytes = set_json();
    let full = Verifier::new(KeySet::from_json(&bytes).unwrap());
    let (m, files) = shards_of(&bytes, 5);
    assert_eq!(m.key_count(), N as u64);
    assert_eq!(m.payload_sha256(), <[u8; 32]>::from(Sha256::digest(&bytes)));
    let limits = ShardLimits {
        max_shards: keygate::MIN_CACHED_SHARDS,
        max_keys: 2000,
    };
    let mut sv = ShardedVerifier::new(m, limits);
    let corpus = corpus();
    assert!(corpus.len() > 900, "{}", corpus.len());
    let mut allowed = 0;
    let mut codes = std::collections::BTreeSet::new();
    for (name, req) in &corpus {
        let want = full.decide(req, &cx());
        let got = decide_sharded(&mut sv, &files, req);
        assert_eq!(got.to_json(), want.to_json(), "{name}");
        allowed += usize::from(want.allowed);
        codes.insert(want.code().unwrap_or("allowed"));
    }
    // The corpus reaches allowed decisions and the refusals that depend on the key found.
    assert!(allowed > 100, "{allowed}");
    for c in [
        "unknown_key",
        "key_revoked",
        "key_disabled",
        "key_expired",
        "scope_missing",
        "key_mismatch",
    ] {
        assert!(codes.contains(c), "{c} in {codes:?}");
    }
    let st = sv.stats();
    assert!(st.evictions > 100, "{st:?}");
    assert!(
        st.held <= keygate::MIN_CACHED_SHARDS && st.keys <= 2000,
        "{st:?}"
    );
    // The same corpus again, now in another order of loads: still equal.
    for (name, req) in corpus.iter().rev() {
        let got = decide_sharded(&mut sv, &files, req);
        assert_eq!(got.code(), full.decide(req, &cx()).code(), "{name} (again)");
    }
}

#[test]
fn a_shard_is_used_only_when_it_hashes_to_the_digest_the_manifest_names() {
    let bytes = set_json();
    let (m, files) = shards_of(&bytes, 4);
    let mut sv = ShardedVerifier::new(m, ShardLimits::default());
    let s = ShardId::parse("d/3").unwrap();
    let mut tampered = files[&s].clone();
    let at = tampered
        .windows(9)
        .position(|w| w == b"\"active\"" as &[u8])
        .unwrap_or(40);
    tampered[at + 1] ^= 0x20;
    let e = sv.load_shard(s, &tampered, Unseal::Refuse).unwrap_err();
    assert!(matches!(e, ShardError::Digest(_)), "{e}");
    assert_eq!(e.code(), "shard_invalid");
    // A shard of another slot, with its own valid digest, is not this one.
    let other = ShardId::parse("d/4").unwrap();
    assert!(matches!(
        sv.load_shard(s, &files[&other], Unseal::Refuse),
        Err(ShardError::Digest(_))
    ));
    assert!(matches!(
        sv.load_shard(ShardId::parse("d/99").unwrap(), &files[&s], Unseal::Refuse),
        Err(ShardError::UnknownShard(_))
    ));
    assert_eq!(sv.stats().loads, 0);
    assert_eq!(sv.stats().refused, 3);
    sv.load_shard(s, &files[&s], Unseal::Refuse).unwrap();
    assert_eq!(sv.stats().loads, 1);
}

/// A publisher-signed manifest whose shard holds a key of another shard (a broken cutter):
/// refused, nothing held.
#[test]
fn a_shard_holding_a_key_of_another_shard_is_refused() {
    let bytes = set_json();
    let cut = shard_keyset(&bytes, Some(3)).unwrap();
    let mut man: Value = serde_json::from_slice(&cut.manifest).unwrap();
    // Put the content of i/1 in the slot of i/0, with its digest.
    let i1 = cut.shards.iter().find(|(n, _, _)| n == "i/1").unwrap();
    man["shards"]["i"][0] = json!(i1.1);
    let m = Manifest::from_json(&serde_json::to_vec(&man).unwrap(), Unseal::Refuse).unwrap();
    let mut sv = ShardedVerifier::new(m, ShardLimits::default());
    let e = sv
        .load_shard(ShardId::parse("i/0").unwrap(), &i1.2, Unseal::Refuse)
        .unwrap_err();
    assert!(matches!(e, ShardError::Invalid(_)), "{e}");
    assert!(e.to_string().contains("belongs in shard i/1"), "{e}");
    assert_eq!(sv.verifier().keyset().keys().len(), 0);
}

#[test]
fn manifests_are_read_strictly() {
    let bytes = set_json();
    let cut = shard_keyset(&bytes, Some(2)).unwrap();
    let good: Value = serde_json::from_slice(&cut.manifest).unwrap();
    let bad = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        Manifest::from_json(&serde_json::to_vec(&v).unwrap(), Unseal::Refuse)
            .unwrap_err()
            .errors()
            .iter()
            .map(|e| e.path.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        bad(&|v| v["shards"]["d"].as_array_mut().unwrap().truncate(3)),
        ["$.shards.d"]
    );
    assert_eq!(bad(&|v| v["shards"]["bits"] = json!(17)), ["$.shards.bits"]);
    assert_eq!(
        bad(&|v| v["shards"]["i"][1] = json!("x")),
        ["$.shards.i[1]"]
    );
    assert_eq!(bad(&|v| v["kind"] = json!("delta")), ["$.kind"]);
    assert_eq!(bad(&|v| v["extra"] = json!(1)), ["$.extra"]);
    assert_eq!(
        bad(&|v| v["set"]["revision"] = json!(0)),
        ["$.set.revision"]
    );
    // A full-mode verifier refuses a manifest rather than deciding with no keys.
    assert!(KeySet::from_json(&cut.manifest).is_err());
    // Every key is in one i shard, and the keys with an API key in one d shard.
    let count = |kind: &str| -> usize {
        cut.shards
            .iter()
            .filter(|(n, _, _)| n.starts_with(kind))
            .map(|(_, _, b)| KeySet::from_json(b).unwrap().keys().len())
            .sum()
    };
    assert_eq!(count("i/"), N);
    assert_eq!(count("d/"), N - N / 5);
}

/// A delta applies to a sharded verifier in proportion to the change: keys revoked, disabled,
/// removed, added and replaced are decided as the full set after the delta decides them,
/// whether their shards were held when it applied, dropped since, or never loaded.
#[test]
fn deltas_apply_to_shards_held_dropped_and_never_loaded() {
    let a = set_json();
    let mut doc: Value = serde_json::from_slice(&a).unwrap();
    doc["revision"] = json!(8);
    let keys = doc["keys"].as_array_mut().unwrap();
    for k in [1usize, 2, 8, 10, 12, 16] {
        keys[k]["status"] = json!("revoked");
    }
    keys[3]["status"] = json!("disabled");
    // A new API key for k20, a new key, and k21 removed.
    keys[20]["api_key_hash"] = json!(ApiKeyDigest::of("rotated-api-key-20").to_string());
    keys.push(json!({"id": "fresh", "api_key_hash": ApiKeyDigest::of("fresh-api-key").to_string(), "scopes": ["orders:read"]}));
    keys.remove(21);
    let b = serde_json::to_vec(&doc).unwrap();
    let delta_text = keygate::diff_keysets(&a, &b).unwrap();
    assert!(delta_text.len() < 2048, "{}", delta_text.len());
    let delta = keygate::Delta::from_json(delta_text.as_bytes()).unwrap();
    let full_b = Verifier::new(KeySet::from_json(&b).unwrap());

    let (m, files) = shards_of(&a, 5);
    let limits = ShardLimits {
        max_shards: keygate::MIN_CACHED_SHARDS,
        max_keys: 3000,
    };
    let mut sv = ShardedVerifier::new(m, limits);
    let mut reqs: Vec<(String, Request)> = (0..40)
        .map(|k| {
            (
                format!("bearer k{k}"),
                bearer(get("/orders/1"), &api_key(k)),
            )
        })
        .collect();
    reqs.push((
        "rotated".into(),
        bearer(get("/orders/1"), "rotated-api-key-20"),
    ));
    reqs.push(("fresh".into(), bearer(get("/orders/1"), "fresh-api-key")));
    reqs.push(("signed k3".into(), signed(get("/orders/1"), hmac(3), "k3")));
    reqs.push((
        "signed k12".into(),
        signed(get("/orders/1"), hmac(12), "k12"),
    ));
    // Some shards held when the delta applies (k1's, k2's), the rest not.
    for (_, r) in &reqs[1..3] {
        decide_sharded(&mut sv, &files, r);
    }
    let held = sv.stats().loads;
    assert_eq!(
        sv.apply_delta(&delta).unwrap(),
        keygate::Update::Replaced { from: 7 }
    );
    assert_eq!(sv.verifier().keyset().revision(), 8);
    assert_eq!(sv.stats().loads, held, "a delta loads nothing");
    // Twice over: the second pass meets shards that were dropped and loaded again.
    for pass in 0..2 {
        for (name, r) in &reqs {
            let got = decide_sharded(&mut sv, &files, r);
            assert_eq!(
                got.to_json(),
                full_b.decide(r, &cx()).to_json(),
                "{name} (pass {pass})"
            );
        }
    }
    assert!(sv.stats().evictions > 0);
    assert_eq!(sv.stats().changed, 10);
    // The same delta again changes nothing; one against another base is refused.
    assert_eq!(sv.apply_delta(&delta).unwrap(), keygate::Update::Unchanged);
    let mut fork = a.clone();
    fork.push(b' ');
    let e = ShardedVerifier::new(shards_of(&fork, 5).0, limits)
        .apply_delta(&delta)
        .unwrap_err();
    assert_eq!(e.code(), "delta_base_mismatch");
}

/// tests/vectors/sharded/attacker_keyids.json: what requests with attacker-chosen API keys and
/// keyids make a sharded verifier load (bounded), and that it decides them as full mode does.
#[test]
fn attacker_chosen_keyids_cost_bounded_loads_never_a_different_decision() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/sharded/attacker_keyids.json"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let set = serde_json::to_vec(&doc["keyset"]).unwrap();
    let now = keygate::UnixTime::parse_rfc3339(doc["now"].as_str().unwrap()).unwrap();
    let full = Verifier::new(KeySet::from_json(&set).unwrap());
    let (m, files) = shards_of(&set, doc["bits"].as_u64().unwrap() as u8);
    let mut sv = ShardedVerifier::new(m, ShardLimits::default());
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        assert!(
            case["models"].as_str().is_some_and(|m| m.len() > 20),
            "{name}"
        );
        let req = common::build_request(&case["request"]);
        // Cold: nothing held, so every shard it may look into is named.
        let mut fresh = ShardedVerifier::new(sv.manifest().clone(), ShardLimits::default());
        let need = fresh.needs(&req);
        assert!(
            need.len() <= case["expect"]["max_shards"].as_u64().unwrap() as usize,
            "{name}: {need:?}"
        );
        assert!(need.len() <= keygate::MIN_CACHED_SHARDS, "{name}");
        let cx = keygate::Context::new(now);
        let want = full.decide(&req, &cx);
        let got = loop {
            match sv.decide(&req, &cx) {
                Ok(d) => break d,
                Err(n) => n
                    .iter()
                    .for_each(|s| sv.load_shard(*s, &files[s], Unseal::Refuse).unwrap()),
            }
        };
        assert_eq!(got.to_json(), want.to_json(), "{name}");
        assert_eq!(json!(want.code()), case["expect"]["reason"], "{name}");
        assert_eq!(
            want.status,
            case["expect"]["status"].as_u64().unwrap() as u16,
            "{name}"
        );
    }
}

/// The shards only credentials never seen allowed want are marked (a caller's budget keeps
/// them apart, pkg/src/shards.js): an unknown API key, a made-up `keyid`; a key's API key and
/// id once one of its requests was allowed, and not the made-up `keyid`s beside its own.
#[test]
fn shards_wanted_only_by_unproven_credentials_are_marked() {
    let bytes = set_json();
    let (m, files) = shards_of(&bytes, 6);
    let limits = ShardLimits {
        max_shards: 9,
        max_keys: N,
    };
    let mut sv = ShardedVerifier::new(m, limits);
    // k2: an API key alone; k12: an HMAC signing key (signature required).
    let alice = bearer(get("/orders/1"), &api_key(2));
    let (need, mask) = sv.needs_marked(&alice);
    assert_eq!((need.len(), mask), (1, 0b1), "a key never seen allowed");
    let d = decide_sharded(&mut sv, &files, &alice);
    assert!(d.allowed, "{d:?}");
    let signed_by = |k: usize, extra: &[&str]| {
        let mut req = get("/orders/1");
        let signer = Signer::new(hmac(k), &format!("k{k}"), common::now()).label("s0");
        req = common::sign_with(req, signer);
        for (n, id) in extra.iter().enumerate() {
            let signer = Signer::new(hmac(k), id, common::now()).label(&format!("x{n}"));
            req = common::sign_with(req, signer);
        }
        req
    };
    let bob = signed_by(12, &["made-up-1"]);
    assert!(decide_sharded(&mut sv, &files, &bob).allowed);
    // Every shard dropped (unknown API keys of other shards load 9 and more), then asked again.
    let theirs = [
        keygate::digest_shard(&ApiKeyDigest::of(&api_key(2)), 6),
        keygate::id_shard("k12", 6),
    ];
    let mut j = 0;
    while sv.stats().evictions < 20 {
        let key = format!("flood-{j}");
        j += 1;
        if !theirs.contains(&keygate::digest_shard(&ApiKeyDigest::of(&key), 6)) {
            let _ = decide_sharded(&mut sv, &files, &bearer(get("/orders/1"), &key));
        }
    }
    let (need, mask) = sv.needs_marked(&alice);
    assert_eq!((need.len(), mask), (1, 0), "alice was allowed: proven");
    let (need, mask) = sv.needs_marked(&bearer(get("/orders/1"), "flood-x"));
    assert_eq!(mask.count_ones() as usize, need.len(), "an unknown API key");
    let (need, mask) = sv.needs_marked(&bob);
    // k12's own shard is proven; the made-up keyid's (when in another shard) is not.
    let own = keygate::id_shard("k12", 6);
    assert!(need.contains(&own), "{need:?}");
    for (n, s) in need.iter().enumerate() {
        assert_eq!(mask & (1 << n) != 0, *s != own, "{s:?}");
    }
}
