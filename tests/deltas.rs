#![cfg(not(target_arch = "wasm32"))]
//! Deltas: the shared vectors (tests/vectors/deltas/, also run by the wasm and JS suites), the
//! limits, atomicity, and a property test: for random sets A and B, `diff(A, B)` applied to A
//! gives B, with every key found by id and by API key digest.

use std::collections::BTreeMap;

use keygate::{
    ApiKeyDigest, Context, Delta, DeltaRefused, KeyEntry, KeySet, LoadError, LoadOptions, Request,
    UnixTime, Verifier, diff_keysets, is_delta, load_delta,
};
use proptest::prelude::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn sha(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/deltas/deltas.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn base_verifier(doc: &Value) -> Verifier {
    let base = doc["base"].as_str().unwrap().as_bytes();
    let b64 = keygate::encoding_util::b64url_encode(&sha(base));
    assert_eq!(
        b64, doc["base_payload_sha256"],
        "the vector's digest of its base"
    );
    Verifier::new(KeySet::from_json(base).unwrap()).with_payload_sha256(sha(base))
}

/// The key id a bearer request with `api_key` is allowed as, or its refusal reason.
fn outcome(v: &Verifier, api_key: &str, now: UnixTime) -> String {
    let mut req = Request::new("GET", "https://api.example.com/x").unwrap();
    req.push_header("authorization", &format!("Bearer {api_key}"));
    let d = v.decide(&req, &Context::new(now));
    if d.allowed {
        d.key_id.clone().unwrap()
    } else {
        d.code().unwrap_or("?").to_string()
    }
}

#[test]
fn delta_vectors() {
    let doc = vectors();
    let now = UnixTime::parse_rfc3339(doc["now"].as_str().unwrap()).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 15);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        assert!(
            case["models"].as_str().is_some_and(|m| m.len() > 10),
            "{name}"
        );
        let mut v = base_verifier(&doc);
        let text = serde_json::to_vec(&case["delta"]).unwrap();
        assert!(is_delta(&text), "{name}: looks like a delta");
        let result = Delta::from_json(&text)
            .map_err(|e| ("keyset_invalid", e.errors().to_vec()))
            .and_then(|d| {
                v.apply_delta(&d).map_err(|e| {
                    let errs = match &e {
                        DeltaRefused::Invalid(x) => x.errors().to_vec(),
                        _ => vec![],
                    };
                    (e.code(), errs)
                })
            });
        let exp = &case["expect"];
        match (result, exp["error"].as_str()) {
            (Ok(_), None) => {
                assert_eq!(v.keyset().revision(), exp["revision"], "{name}");
                assert_eq!(v.keyset().keys().len() as u64, exp["keys"], "{name}");
                let state = v.state().unwrap();
                assert_eq!(state.sha_text(), case["delta"]["payload_sha256"], "{name}");
                check_index(v.keyset(), name);
                if case["twice"] == true {
                    let d = Delta::from_json(&text).unwrap();
                    assert_eq!(
                        v.apply_delta(&d),
                        Ok(keygate::Update::Unchanged),
                        "{name}: again"
                    );
                }
            }
            (Err((code, errors)), Some(expected)) => {
                assert_eq!(code, expected, "{name}");
                assert_eq!(v.keyset().revision(), 5, "{name}: the base stays in use");
                let mut actual: Vec<_> = errors
                    .iter()
                    .map(|e| (e.path.clone(), e.message.clone()))
                    .collect();
                for e in exp["errors"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                {
                    let (p, c) = (e["path"].as_str().unwrap(), e["contains"].as_str().unwrap());
                    let at = actual
                        .iter()
                        .position(|(ap, am)| ap == p && am.contains(c))
                        .unwrap_or_else(|| {
                            panic!("{name}: no error at {p} containing {c:?}: {actual:?}")
                        });
                    actual.remove(at);
                }
                assert!(
                    actual.is_empty() || exp.get("errors").is_none(),
                    "{name}: extra errors {actual:?}"
                );
            }
            (r, e) => panic!(
                "{name}: got {:?}, expected {e:?}",
                r.map(|_| ()).map_err(|x| x.0)
            ),
        }
        for r in case["requests"].as_array().unwrap() {
            let got = outcome(&v, r["api_key"].as_str().unwrap(), now);
            assert_eq!(
                got,
                r["expect"].as_str().unwrap(),
                "{name}: {}",
                r["api_key"]
            );
        }
    }
}

/// Every key is found at its own position by id and by digest (the index follows swaps).
fn check_index(ks: &KeySet, name: &str) {
    for k in ks.keys() {
        assert!(
            std::ptr::eq(ks.key_by_id(&k.id).unwrap(), k),
            "{name}: {}",
            k.id
        );
        if let Some(d) = &k.api_key_hash {
            assert!(
                std::ptr::eq(ks.key_by_digest(d).unwrap(), k),
                "{name}: digest of {}",
                k.id
            );
        }
    }
}

fn base_text(n: usize) -> String {
    let keys: Vec<Value> = (0..n)
        .map(|i| json!({"id": format!("k{i}"), "api_key_hash": ApiKeyDigest::of(&format!("key-{i}")).to_string()}))
        .collect();
    json!({"keygate": 1, "revision": 1, "keys": keys}).to_string()
}

fn header(base: &[u8]) -> Value {
    json!({"keygate": 1, "kind": "delta",
           "base": {"revision": 1, "payload_sha256": keygate::encoding_util::b64url_encode(&sha(base))},
           "revision": 2, "payload_sha256": keygate::encoding_util::b64url_encode(&sha(b"x"))})
}

#[test]
fn limits_are_enforced_with_their_paths() {
    let base = base_text(1);
    let mut d = header(base.as_bytes());
    d["changes"] = Value::Array(
        (0..10_001)
            .map(|i| json!({"op": "remove", "id": format!("k{i}")}))
            .collect(),
    );
    let e = Delta::from_json(d.to_string().as_bytes()).unwrap_err();
    assert_eq!(e.errors()[0].path, "$.changes");
    assert!(
        e.errors()[0].message.contains("at most 10000 changes"),
        "{e}"
    );

    let mut big = header(base.as_bytes());
    big["changes"] = json!([{"op": "add", "key": {"id": "x", "api_key_hash": ApiKeyDigest::of("x").to_string(), "name": "n".repeat(100), "meta": {"pad": "p".repeat(keygate::MAX_DELTA_BYTES)}}}]);
    let text = big.to_string();
    let e = Delta::from_json(text.as_bytes()).unwrap_err();
    assert!(e.errors()[0].message.contains("push the full set"), "{e}");
    assert!(
        is_delta(text.as_bytes()),
        "up to about 1.4 MB, a document with a kind is routed as a delta"
    );
    // Far too large to be a delta: read as a key set, whose error names the limit.
    big["changes"][0]["key"]["meta"]["pad"] = json!("p".repeat(2 * keygate::MAX_DELTA_BYTES));
    let text = big.to_string();
    assert!(!is_delta(text.as_bytes()));
    let e = KeySet::from_json(text.as_bytes()).unwrap_err();
    assert!(
        e.errors()
            .iter()
            .any(|x| x.path == "$.kind" && x.message.contains("at most")),
        "{e}"
    );
}

#[test]
fn a_refused_delta_changes_nothing_and_a_verifier_without_a_digest_refuses_deltas() {
    let base = base_text(3);
    let mut v = Verifier::new(KeySet::from_json(base.as_bytes()).unwrap());
    let mut d = header(base.as_bytes());
    d["changes"] = json!([{"op": "revoke", "id": "k0"}]);
    let delta = Delta::from_json(d.to_string().as_bytes()).unwrap();
    let e = v.apply_delta(&delta).unwrap_err();
    assert_eq!(e.code(), "delta_base_mismatch");
    assert!(e.to_string().contains("unknown"), "{e}");
    let mut v = v.with_payload_sha256(sha(base.as_bytes()));
    // The second change fails: the first must not have been applied.
    d["changes"] = json!([{"op": "revoke", "id": "k0"}, {"op": "remove", "id": "nobody"}]);
    let bad = Delta::from_json(d.to_string().as_bytes()).unwrap();
    assert_eq!(v.apply_delta(&bad).unwrap_err().code(), "keyset_invalid");
    assert_eq!(
        v.keyset().key_by_id("k0").unwrap().status,
        keygate::KeyStatus::Active
    );
    assert_eq!(v.keyset().revision(), 1);
    assert!(matches!(
        v.apply_delta(&delta),
        Ok(keygate::Update::Replaced { from: 1 })
    ));
    assert_eq!(
        v.keyset().key_by_id("k0").unwrap().status,
        keygate::KeyStatus::Revoked
    );
}

#[test]
fn signed_deltas_load_like_key_sets() {
    let secret = keygate::PublisherSecret::from_seed(&[9; 32], None);
    let keys = keygate::PublisherKeys::parse(&secret.public_key().public_key_b64()).unwrap();
    let base = base_text(2);
    let mut d = header(base.as_bytes());
    d["changes"] = json!([]);
    let env = keygate::sign_envelope(d.to_string().as_bytes(), &secret).to_string();
    assert!(is_delta(env.as_bytes()));
    let opts = LoadOptions::new().publisher_keys(Some(&keys));
    assert_eq!(load_delta(env.as_bytes(), &opts).unwrap().revision(), 2);
    // Unsigned, or signed but tampered: refused like a key set would be.
    assert!(matches!(
        load_delta(d.to_string().as_bytes(), &opts),
        Err(LoadError::SignatureRequired)
    ));
    let mut t: Value = serde_json::from_str(&env).unwrap();
    t["payload"] = json!(keygate::encoding_util::b64url_encode(b"{\"keygate\":1}"));
    assert!(matches!(
        load_delta(t.to_string().as_bytes(), &opts),
        Err(LoadError::SignatureInvalid(_))
    ));
    assert!(!is_delta(
        keygate::sign_envelope(base.as_bytes(), &secret)
            .to_string()
            .as_bytes()
    ));
}

// --- diff(A, B) applied to A is B ----------------------------------------------------------

#[derive(Clone, Debug)]
struct Spec {
    digest: Option<u8>,
    status: u8,
    scopes: Vec<&'static str>,
    name: Option<u8>,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop::option::weighted(0.9, 0u8..40),
        0u8..3,
        prop::sample::subsequence(vec!["read", "write", "admin"], 0..3),
        prop::option::of(0u8..3),
    )
        .prop_map(|(digest, status, scopes, name)| Spec {
            digest,
            status,
            scopes,
            name,
        })
}

/// A key set text from specs by id; digests made unique by dropping repeats.
fn text(revision: u64, keys: &BTreeMap<u8, Spec>, order: bool) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<Value> = Vec::new();
    for (id, s) in keys {
        let mut e = json!({"id": format!("key-{id}")});
        match s.digest.filter(|d| seen.insert(*d)) {
            Some(d) => {
                e["api_key_hash"] = json!(ApiKeyDigest::of(&format!("secret-{d}")).to_string())
            }
            None => {
                e["signing"] = json!({"alg": "hmac-sha256", "secret": keygate::encoding_util::b64url_encode(&[*id; 32])})
            }
        }
        e["status"] = json!(["active", "disabled", "revoked"][s.status as usize]);
        e["scopes"] = json!(s.scopes);
        if let Some(n) = s.name {
            e["name"] = json!(format!("name {n}"));
        }
        out.push(e);
    }
    if order {
        out.reverse();
    }
    json!({"keygate": 1, "revision": revision, "issued_at": "2026-12-01T00:00:00Z", "keys": out})
        .to_string()
}

fn same(a: &KeyEntry, b: &KeyEntry) -> bool {
    a.id == b.id
        && a.api_key_hash == b.api_key_hash
        && a.status == b.status
        && a.scopes == b.scopes
        && a.name == b.name
        && a.signing.as_ref().map(|s| s.algorithm()) == b.signing.as_ref().map(|s| s.algorithm())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    #[test]
    fn diff_then_apply_gives_the_new_set(
        a in prop::collection::btree_map(0u8..30, spec(), 0..25),
        b in prop::collection::btree_map(0u8..30, spec(), 0..25),
        order in any::<bool>(),
    ) {
        let (old, new) = (text(3, &a, false), text(4, &b, order));
        let delta_text = diff_keysets(old.as_bytes(), new.as_bytes()).unwrap();
        let delta = Delta::from_json(delta_text.as_bytes()).unwrap();
        let mut v = Verifier::new(KeySet::from_json(old.as_bytes()).unwrap()).with_payload_sha256(sha(old.as_bytes()));
        v.apply_delta(&delta).unwrap();
        let want = KeySet::from_json(new.as_bytes()).unwrap();
        let got = v.keyset();
        prop_assert_eq!(v.state().unwrap().payload_sha256, sha(new.as_bytes()));
        prop_assert_eq!(got.keys().len(), want.keys().len());
        for k in want.keys() {
            prop_assert!(same(got.key_by_id(&k.id).unwrap(), k), "{}", k.id);
            if let Some(d) = &k.api_key_hash {
                prop_assert_eq!(&got.key_by_digest(d).unwrap().id, &k.id);
            }
        }
        for k in got.keys() {
            prop_assert!(want.key_by_id(&k.id).is_some());
        }
        check_index(got, "property");
    }
}

#[test]
fn diff_refuses_what_a_delta_cannot_say() {
    let old = base_text(2);
    let same_rev = old.clone();
    assert!(
        diff_keysets(old.as_bytes(), same_rev.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("revision")
    );
    let mut n: Value = serde_json::from_str(&old).unwrap();
    n["revision"] = json!(2);
    n["policy"] = json!({"clock_skew_seconds": 10});
    let e = diff_keysets(old.as_bytes(), n.to_string().as_bytes()).unwrap_err();
    assert!(
        e.to_string().contains("$.policy") && e.to_string().contains("full set"),
        "{e}"
    );
    let e = diff_keysets(b"{}", old.as_bytes()).unwrap_err();
    assert!(
        e.to_string().starts_with("OLD is not a valid key set"),
        "{e}"
    );
}

#[test]
fn a_one_key_revocation_of_a_large_set_is_a_small_delta() {
    let old = base_text(2_000);
    let mut n: Value = serde_json::from_str(&old).unwrap();
    n["revision"] = json!(2);
    n["issued_at"] = json!("2026-12-01T00:00:00Z");
    n["keys"][1234]["status"] = json!("revoked");
    let d = diff_keysets(old.as_bytes(), n.to_string().as_bytes()).unwrap();
    let v: Value = serde_json::from_str(&d).unwrap();
    assert_eq!(
        v["changes"],
        json!([{"op": "revoke", "id": "k1234", "api_key_hash": ApiKeyDigest::of("key-1234").to_string()}])
    );
    // Signed, as pushed: the bound is 2 KB.
    let secret = keygate::PublisherSecret::from_seed(&[7; 32], None);
    let env = keygate::sign_envelope(d.as_bytes(), &secret).to_string();
    assert!(env.len() <= 2048, "{} bytes", env.len());
}
