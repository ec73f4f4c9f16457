//! Layer 2: the core compiled to wasm32-unknown-unknown, run under Node by
//! wasm-bindgen-test-runner (`make test-wasm`, or `cargo test --target wasm32-unknown-unknown
//! --test wasm` with .tools/bin on PATH).
//!
//! wasm32 has no file system, so the shared vectors are embedded with `include_str!`; the
//! native runner (tests/vectors.rs) and the JS tests read the same files from disk. What this
//! layer adds over the native run: randomness through WebCrypto (getrandom `wasm_js`), no
//! clock read inside the core (SystemTime::now() panics here), and no panic on hostile input
//! (a wasm panic kills the isolate).
#![cfg(target_arch = "wasm32")]

mod common;

use keygate::{ApiKeyDigest, ApiKeyShape, Context, KeySet, Request, UnixTime, Verifier};
use serde_json::Value;
use wasm_bindgen_test::wasm_bindgen_test;

/// The request vector files with the key sets they name, embedded at compile time.
const REQUEST_VECTORS: &[(&str, &str, &str)] = &[
    (
        "requests/apikey.json",
        include_str!("vectors/requests/apikey.json"),
        include_str!("vectors/keysets/valid_full.json"),
    ),
    (
        "requests/deny_default.json",
        include_str!("vectors/requests/deny_default.json"),
        include_str!("vectors/keysets/valid_deny_default.json"),
    ),
    (
        "requests/stale.json",
        include_str!("vectors/requests/stale.json"),
        include_str!("vectors/keysets/valid_stale.json"),
    ),
    (
        "requests/serve_stale.json",
        include_str!("vectors/requests/serve_stale.json"),
        include_str!("vectors/keysets/valid_serve_stale.json"),
    ),
    (
        "attacks/demo.json",
        include_str!("vectors/attacks/demo.json"),
        include_str!("../demo/keyset.json"),
    ),
    (
        "attacks/routes.json",
        include_str!("vectors/attacks/routes.json"),
        include_str!("vectors/attacks/keyset.json"),
    ),
    (
        "attacks/exact_paths.json",
        include_str!("vectors/attacks/exact_paths.json"),
        include_str!("vectors/attacks/keyset_exact_paths.json"),
    ),
    (
        "attacks/body_method.json",
        include_str!("vectors/attacks/body_method.json"),
        include_str!("vectors/attacks/keyset_body_method.json"),
    ),
    (
        "attacks/header_spellings.json",
        include_str!("vectors/attacks/header_spellings.json"),
        include_str!("../demo/keyset.json"),
    ),
    (
        "attacks/header_fields.json",
        include_str!("vectors/attacks/header_fields.json"),
        include_str!("../demo/keyset.json"),
    ),
    (
        "attacks/probing.json",
        include_str!("vectors/attacks/probing.json"),
        include_str!("vectors/attacks/keyset.json"),
    ),
    (
        "webhooks/requests.json",
        include_str!("vectors/webhooks/requests.json"),
        include_str!("vectors/webhooks/keyset.json"),
    ),
];

const INVALID_KEYSETS: &[(&str, &str)] = &[
    (
        "invalid_bad_times",
        include_str!("vectors/keysets/invalid_bad_times.json"),
    ),
    (
        "invalid_host_bits",
        include_str!("vectors/keysets/invalid_host_bits.json"),
    ),
    (
        "invalid_unknown_field",
        include_str!("vectors/keysets/invalid_unknown_field.json"),
    ),
    (
        "invalid_not_json",
        include_str!("vectors/keysets/invalid_not_json.json"),
    ),
];

const FORMAT: &str = include_str!("vectors/apikey/format.json");

#[wasm_bindgen_test]
fn request_vectors_decide_as_expected_on_wasm() {
    let mut count = 0;
    for (file, doc, keyset) in REQUEST_VECTORS {
        let doc: Value = serde_json::from_str(doc).unwrap();
        let verifier = Verifier::new(KeySet::from_json(keyset.as_bytes()).unwrap());
        let now = UnixTime::parse_rfc3339(doc["now"].as_str().unwrap()).unwrap();
        for case in doc["cases"].as_array().unwrap() {
            let name = format!("{file}: {}", case["name"].as_str().unwrap());
            let ip = case["client_ip"].as_str().map(|s| s.parse().unwrap());
            let now = match case["now"].as_str() {
                Some(t) => UnixTime::parse_rfc3339(t).unwrap(),
                None => now,
            };
            let cx = Context::new(now).with_client_ip(ip);
            let d = verifier.decide(&common::build_request(&case["request"]), &cx);
            common::assert_decision(&name, &d, &case["expect"]);
            count += 1;
        }
    }
    assert!(count >= 140, "only {count} cases ran");
}

#[wasm_bindgen_test]
fn invalid_keysets_name_their_paths_on_wasm() {
    for (name, doc) in INVALID_KEYSETS {
        let v: Value = serde_json::from_str(doc).unwrap();
        let text = match (v.get("keyset"), v.get("keyset_text")) {
            (Some(doc), None) => doc.to_string(),
            (None, Some(Value::String(t))) => t.clone(),
            _ => panic!("{name}: needs keyset or keyset_text"),
        };
        let errs = match KeySet::from_json(text.as_bytes()) {
            Ok(_) => panic!("{name}: loaded but should fail"),
            Err(e) => e,
        };
        let got: Vec<&str> = errs.errors().iter().map(|e| e.path.as_str()).collect();
        for exp in v["errors"].as_array().unwrap() {
            let path = exp["path"].as_str().unwrap();
            assert!(
                got.contains(&path),
                "{name}: no error at {path}; got {got:?}"
            );
        }
        assert_eq!(got.len(), v["errors"].as_array().unwrap().len(), "{name}");
    }
}

#[wasm_bindgen_test]
fn generated_keys_use_webcrypto_randomness_and_the_documented_format() {
    let a = keygate::api_key::generate("kg_live").unwrap();
    let b = keygate::api_key::generate("kg_live").unwrap();
    assert_ne!(a.expose_secret(), b.expose_secret(), "two keys must differ");
    for k in [&a, &b] {
        let key = k.expose_secret();
        assert!(key.starts_with("kg_live_"), "{key:?}");
        assert_eq!(key.len(), "kg_live_".len() + keygate::api_key::TAIL_LEN);
        assert_eq!(keygate::api_key::classify(key), ApiKeyShape::Valid);
        assert_eq!(k.digest(), ApiKeyDigest::of(key));
        assert!(
            !format!("{k:?}").contains(key),
            "Debug must not print the key"
        );
    }
    assert!(keygate::api_key::generate("Bad Prefix").is_err());
}

#[wasm_bindgen_test]
fn api_key_format_vectors_on_wasm() {
    let doc: Value = serde_json::from_str(FORMAT).unwrap();
    for k in doc["keys"].as_array().unwrap() {
        let hex = k["body_hex"].as_str().unwrap();
        let body: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        let prefix = k["prefix"].as_str().unwrap();
        let key = keygate::api_key::format_key(prefix, &body.try_into().unwrap()).unwrap();
        assert_eq!(key.as_str(), k["api_key"].as_str().unwrap());
        assert_eq!(
            ApiKeyDigest::of(&key).to_string(),
            k["api_key_hash"].as_str().unwrap()
        );
    }
}

fn demo_verifier() -> Verifier {
    let ks = include_str!("../demo/keyset.json");
    Verifier::new(KeySet::from_json(ks.as_bytes()).unwrap())
}

#[wasm_bindgen_test]
fn time_is_injected_never_read() {
    // demo-expired is valid from 2026-01-01 to 2026-06-01: the verdict follows `now` alone.
    let v = demo_verifier();
    let key = "Bearer kg_demo_9ZmWBeSOLDjwVqd13WfvGGI0Aj4UrShQOkp2fhLiuDk3tXIui";
    let req = Request::new("GET", "https://gw.example/api/orders/1")
        .unwrap()
        .with_header("authorization", key);
    let at = |s: &str| Context::new(UnixTime::parse_rfc3339(s).unwrap());
    assert!(v.decide(&req, &at("2026-03-01T00:00:00Z")).allowed);
    let late = v.decide(&req, &at("2026-07-01T00:00:00Z"));
    assert_eq!(late.code(), Some("key_expired"));
    let early = v.decide(&req, &at("2025-12-31T23:59:59Z"));
    assert_eq!(early.code(), Some("key_not_yet_valid"));
}

#[wasm_bindgen_test]
fn hostile_input_is_refused_without_panicking() {
    let v = demo_verifier();
    let cx = Context::new(UnixTime::from_secs(1_800_000_000));
    let huge = "A".repeat(1 << 20);
    let cases: Vec<(&str, String)> = vec![
        ("authorization", format!("Bearer {huge}")),
        ("authorization", "Bearer".into()),
        ("authorization", "Basic Zm9vOmJhcg==".into()),
        ("x-api-key", "kg_demo_\u{0}\u{ffff}".into()),
        ("x-api-key", "kg_demo_".to_string() + &"z".repeat(49)),
        ("bad header\r\nname", "v".into()),
    ];
    for (name, value) in cases {
        let req = Request::new("GET", "https://gw.example/api/hello")
            .unwrap()
            .with_header(name, &value);
        let d = v.decide(&req, &cx);
        assert!(!d.allowed, "{name}: {}", d.to_json());
        assert!(
            d.status == 400 || d.status == 401,
            "{name}: {}",
            d.to_json()
        );
        assert!(
            !d.message.contains(&huge),
            "the message must not echo input"
        );
    }
}
