//! Layer 2 for the facade itself: its JSON contract with the JS glue (pkg/src/) for key sets,
//! keys and signing, run on wasm32 under Node by `make test-wasm` (`cargo test --target
//! wasm32-unknown-unknown --lib`). Decisions cross the lean boundary instead (`decide_tests.rs`).
//! The facade is a private module, so these tests live beside it; tests/wasm.rs covers the
//! public Rust API on wasm32.

use serde_json::{Value, json};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

use super::{
    WasmVerifier, check_keyset, envelope_payload, generate_api_key, hash_api_key,
    publisher_key_ids, sign_envelope_js,
};

const DEMO: &str = include_str!("../../demo/keyset.json");
const ENVELOPES: &str = include_str!("../../tests/vectors/envelopes/envelopes.json");
const READER: &str = "kg_demo_sShpJC3TNbwKN9OeKaxNThwrEUHyPMufAZRt6Q8yapa2m9M5j";
const NOW_MS: f64 = 1_796_000_000_000.0; // 2026-11-29

/// The JSON object a facade function threw.
fn thrown(e: JsValue) -> Value {
    let text = e.as_string().expect("the facade throws JSON text");
    serde_json::from_str(&text).expect("thrown text is JSON")
}

fn keyset(revision: u64, hash: &str) -> String {
    json!({"keygate": 1, "revision": revision, "keys": [{"id": "k", "api_key_hash": hash}]})
        .to_string()
}

#[wasm_bindgen_test]
fn load_errors_carry_every_path_and_the_wire_code() {
    let err = WasmVerifier::new(
        br#"{"keygate": 1, "revision": 0, "keys": [{"id": "a b"}]}"#,
        None,
    )
    .err()
    .map(thrown)
    .expect("invalid set must throw");
    assert_eq!(err["code"], "ERR_KEYSET_INVALID");
    assert_eq!(err["error"], "keyset_invalid");
    assert_eq!(err["status"], 400);
    let mut paths: Vec<&str> = err["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    paths.sort_unstable();
    assert_eq!(paths, ["$.keys[0]", "$.keys[0].id", "$.revision"]);
}

#[wasm_bindgen_test]
fn update_is_atomic_and_refuses_rollbacks() {
    let a = hash_api_key("key-a");
    let b = hash_api_key("key-b");
    let mut v = WasmVerifier::new(keyset(2, &a).as_bytes(), None).unwrap();
    assert_eq!(v.update(keyset(2, &a).as_bytes()).unwrap(), "unchanged");
    let e = thrown(v.update(keyset(1, &b).as_bytes()).unwrap_err());
    assert_eq!(e["code"], "ERR_KEYSET_ROLLBACK");
    assert_eq!(e["current_revision"], 2);
    let e = thrown(v.update(br#"{"keygate": 1}"#).unwrap_err());
    assert_eq!(e["code"], "ERR_KEYSET_INVALID");
    let info: Value = serde_json::from_str(&v.info()).unwrap();
    assert_eq!(info["revision"], 2, "refused pushes change nothing");
    assert_eq!(v.update(keyset(3, &b).as_bytes()).unwrap(), "replaced");
    let info: Value = serde_json::from_str(&v.info()).unwrap();
    assert_eq!(info["revision"], 3);
    assert_eq!(info["keys"], 1);
}

#[wasm_bindgen_test]
fn check_generate_and_hash() {
    let ok: Value = serde_json::from_str(&check_keyset(DEMO, Some(NOW_MS), None).unwrap()).unwrap();
    assert_eq!(ok["valid"], true);
    assert_eq!(ok["errors"], json!([]));
    assert!(!ok["warnings"].as_array().unwrap().is_empty());
    let bad: Value = serde_json::from_str(&check_keyset("{", None, None).unwrap()).unwrap();
    assert_eq!(bad["valid"], false);
    assert_eq!(bad["errors"][0]["path"], "$");

    let k: Value = serde_json::from_str(&generate_api_key("kg_live").unwrap()).unwrap();
    let key = k["api_key"].as_str().unwrap();
    assert!(key.starts_with("kg_live_") && key.len() == 8 + 49, "{key}");
    assert_eq!(k["api_key_hash"], hash_api_key(key));
    let e = thrown(generate_api_key("Bad Prefix").unwrap_err());
    assert_eq!(e["code"], "ERR_INVALID_OPTIONS");
    assert_eq!(
        hash_api_key(READER),
        "sha256:OEPk1MTMcGqWV97t3w1k2ND0cgGTnc-8EsEwaw0luJM"
    );
}

#[wasm_bindgen_test]
fn envelopes_need_pinned_keys_and_a_valid_signature() {
    let doc: Value = serde_json::from_str(ENVELOPES).unwrap();
    let jwk = doc["rfc8037_private_jwk"].to_string();
    let public = doc["rfc8037_private_jwk"]["x"]
        .as_str()
        .unwrap()
        .to_string();

    let envelope = sign_envelope_js(DEMO, &jwk, None).unwrap();
    let mut v = WasmVerifier::new(envelope.as_bytes(), Some(public.clone())).unwrap();
    let info: Value = serde_json::from_str(&v.info()).unwrap();
    assert_eq!(info["keys"], 4);
    // The verified payload is handed over once, for the caller to hash (not decoded again).
    assert_eq!(v.take_payload().as_deref(), Some(DEMO.as_bytes()));
    assert_eq!(v.take_payload(), None);
    let mut pending = v.prepare(envelope.as_bytes()).unwrap();
    assert_eq!(pending.payload().as_deref(), Some(DEMO.as_bytes()));
    assert_eq!(pending.payload(), None);
    let mut bare = WasmVerifier::new(DEMO.as_bytes(), None).unwrap();
    assert_eq!(bare.take_payload(), None);
    // The payload the caller hashes for payload_sha256: the signed bytes, or a bare set itself.
    assert_eq!(envelope_payload(envelope.as_bytes()), DEMO.as_bytes());
    assert_eq!(envelope_payload(DEMO.as_bytes()), DEMO.as_bytes());

    let unsigned = thrown(
        WasmVerifier::new(DEMO.as_bytes(), Some(public.clone()))
            .err()
            .unwrap(),
    );
    assert_eq!(unsigned["code"], "ERR_ENVELOPE_INVALID");
    let unpinned = thrown(WasmVerifier::new(envelope.as_bytes(), None).err().unwrap());
    assert_eq!(unpinned["code"], "ERR_INVALID_OPTIONS");
    let mut tampered: Value = serde_json::from_str(&envelope).unwrap();
    let other = sign_envelope_js(&keyset(9, &hash_api_key("x")), &jwk, None).unwrap();
    tampered["payload"] = serde_json::from_str::<Value>(&other).unwrap()["payload"].clone();
    let forged = thrown(
        WasmVerifier::new(tampered.to_string().as_bytes(), Some(public.clone()))
            .err()
            .unwrap(),
    );
    assert_eq!(forged["code"], "ERR_ENVELOPE_SIGNATURE");

    let ids: Value = serde_json::from_str(&publisher_key_ids(&public).unwrap()).unwrap();
    assert_eq!(ids[0]["x"], public);
    assert!(ids[0]["kid"].as_str().is_some_and(|k| k.len() == 43));
    assert_eq!(
        thrown(publisher_key_ids("not a key").unwrap_err())["code"],
        "ERR_INVALID_OPTIONS"
    );
}

/// A set with `audience` and `issued_at` added to `keyset(revision, hash)`.
fn keyset_for(revision: u64, audience: Value, issued_at: &str) -> String {
    let mut v: Value = serde_json::from_str(&keyset(revision, &hash_api_key("k"))).unwrap();
    v["audience"] = audience;
    v["issued_at"] = Value::String(issued_at.into());
    v.to_string()
}

#[wasm_bindgen_test]
fn an_audience_binds_the_verifier_and_every_update() {
    let t = "2026-11-29T00:00:00Z";
    let aud = || Some("api-prod".to_string());
    let mut v = WasmVerifier::load(
        keyset_for(1, json!("api-prod"), t).as_bytes(),
        None,
        aud(),
        None,
    )
    .unwrap();
    let e = thrown(
        v.update(keyset_for(2, json!(["api-staging"]), t).as_bytes())
            .unwrap_err(),
    );
    assert_eq!(
        (&e["code"], &e["error"], &e["status"]),
        (
            &json!("ERR_AUDIENCE_MISMATCH"),
            &json!("audience_mismatch"),
            &json!(400)
        )
    );
    assert_eq!(
        thrown(v.update(keyset(2, "x").as_bytes()).unwrap_err())["code"],
        "ERR_KEYSET_INVALID"
    );
    assert_eq!(
        thrown(
            v.update(keyset(2, &hash_api_key("k")).as_bytes())
                .unwrap_err()
        )["code"],
        "ERR_AUDIENCE_MISMATCH"
    );
    assert_eq!(
        v.update(keyset_for(2, json!(["x", "api-prod"]), t).as_bytes())
            .unwrap(),
        "replaced"
    );
    let e = WasmVerifier::load(
        keyset(1, &hash_api_key("k")).as_bytes(),
        None,
        Some("a b".into()),
        None,
    );
    assert_eq!(thrown(e.err().unwrap())["code"], "ERR_INVALID_OPTIONS");
    // Without an audience, any set loads.
    assert!(
        WasmVerifier::load(
            keyset_for(1, json!("other"), t).as_bytes(),
            None,
            None,
            None
        )
        .is_ok()
    );
}

#[wasm_bindgen_test]
fn a_push_commits_only_a_fresh_newer_set() {
    let now = 1_796_000_000_000.0; // 2026-11-30T00:53:20Z
    let fresh = "2026-11-30T00:50:00Z";
    let old = "2026-11-30T00:30:00Z";
    let mut v = WasmVerifier::new(keyset_for(2, json!("a"), old).as_bytes(), None).unwrap();
    // Unchanged: answered as such, however old (nothing is stored or swapped).
    let same = v
        .prepare(keyset_for(2, json!("a"), old).as_bytes())
        .unwrap();
    assert_eq!(v.commit(same, now, Some(900.0)).unwrap(), "unchanged");
    // A newer revision issued too long ago: stale, and the set in use stays.
    let stale = v
        .prepare(keyset_for(3, json!("a"), old).as_bytes())
        .unwrap();
    let e = thrown(v.commit(stale, now, Some(900.0)).unwrap_err());
    assert_eq!(
        (&e["code"], &e["error"], &e["status"]),
        (
            &json!("ERR_ENVELOPE_STALE"),
            &json!("envelope_stale"),
            &json!(409)
        )
    );
    // An older revision is a rollback before it is judged stale.
    let older = v
        .prepare(keyset_for(1, json!("a"), old).as_bytes())
        .unwrap();
    assert_eq!(
        thrown(v.commit(older, now, Some(900.0)).unwrap_err())["code"],
        "ERR_KEYSET_ROLLBACK"
    );
    let info: Value = serde_json::from_str(&v.info()).unwrap();
    assert_eq!(info["revision"], 2);
    let mut next = v
        .prepare(keyset_for(3, json!("a"), fresh).as_bytes())
        .unwrap();
    // A bare set is its own payload: the caller hashes its own bytes, nothing is copied.
    assert_eq!(next.payload(), None);
    assert_eq!(v.commit(next, now, Some(900.0)).unwrap(), "replaced");
    // Without a maximum age (a refresh from storage), an old set is taken.
    let later = v
        .prepare(keyset_for(4, json!("a"), old).as_bytes())
        .unwrap();
    assert_eq!(v.commit(later, now, None).unwrap(), "replaced");
    assert_eq!(
        thrown(v.check_fresh(now, 900.0).unwrap_err())["code"],
        "ERR_ENVELOPE_STALE"
    );
    assert!(v.check_fresh(now, 3600.0).is_ok());
    assert_eq!(
        thrown(v.check_fresh(now, -1.0).unwrap_err())["code"],
        "ERR_INVALID_OPTIONS"
    );
}

#[wasm_bindgen_test]
fn junk_envelopes_are_refused_in_wasm_too() {
    let doc: Value =
        serde_json::from_str(include_str!("../../tests/vectors/envelopes/junk.json")).unwrap();
    let keys = doc["publisher_keys"].as_str().unwrap().to_string();
    for c in doc["cases"].as_array().unwrap() {
        let unit = c["unit"].as_str().unwrap();
        let text = format!(
            "{}{}{}",
            c["head"].as_str().unwrap(),
            unit.repeat(16 * 1024 / unit.len()),
            c["tail"].as_str().unwrap()
        );
        let e = thrown(
            WasmVerifier::new(text.as_bytes(), Some(keys.clone()))
                .err()
                .unwrap(),
        );
        assert_eq!(e["error"], c["expect"]["error"], "{}", c["name"]);
        // envelopePayload never builds a tree either; a non-envelope is returned as is.
        let _ = envelope_payload(text.as_bytes());
    }
}

/// Sealed secrets open inside the facade with the configured seal keys, on load and on every
/// update; without them a sealed set does not load; the info counts them and names the keys.
#[wasm_bindgen_test]
fn sealed_secrets_open_in_the_facade() {
    let doc: Value =
        serde_json::from_str(include_str!("../../tests/vectors/sealed/jose.json")).unwrap();
    let keys = doc["seal_keys"].to_string();
    let sealed = doc["valid"][0]["sealed"].as_str().unwrap();
    let set = |rev: u64| {
        json!({"keygate": 1, "revision": rev, "keys": [{"id": "hm", "signing": {"alg": "hmac-sha256", "sealed": sealed}}]})
            .to_string()
    };
    let e = WasmVerifier::load(set(1).as_bytes(), None, None, None)
        .err()
        .unwrap();
    let e = thrown(e);
    assert_eq!(e["code"], "ERR_KEYSET_INVALID");
    assert_eq!(e["errors"][0]["path"], "$.keys[0].signing.sealed");
    let mut v = WasmVerifier::load(set(1).as_bytes(), None, None, Some(keys.clone())).unwrap();
    let info: Value = serde_json::from_str(&v.info()).unwrap();
    assert_eq!(info["sealed"], 1);
    assert_eq!(info["seal_key_ids"], json!(["seal-2026-a", "seal-2026-b"]));
    assert!(
        !v.info()
            .contains(doc["valid"][0]["plaintext"].as_str().unwrap())
    );
    assert_eq!(v.update(set(2).as_bytes()).unwrap(), "replaced");
    let bad = thrown(
        WasmVerifier::load(set(1).as_bytes(), None, None, Some("{".into()))
            .err()
            .unwrap(),
    );
    assert_eq!(bad["code"], "ERR_INVALID_OPTIONS");
    let checked: Value = serde_json::from_str(&check_keyset(&set(1), None, None).unwrap()).unwrap();
    assert_eq!(checked["valid"], true);
    let codes = |v: &Value| -> Vec<String> {
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["code"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(codes(&checked).contains(&"sealed_not_opened".to_string()));
    let opened: Value =
        serde_json::from_str(&check_keyset(&set(1), None, Some(keys)).unwrap()).unwrap();
    assert_eq!(opened["valid"], true);
    assert!(!codes(&opened).contains(&"sealed_not_opened".to_string()));
}
