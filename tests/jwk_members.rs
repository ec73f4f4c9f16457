#![cfg(not(target_arch = "wasm32"))]
//! JWKs as runtimes export them (`crypto.subtle.exportKey('jwk', k)` in Node 20, Node 22,
//! workerd and Chromium: `key_ops`, `ext`, `alg`) and as key stores keep them (`kid`, `use`,
//! certificates) load wherever keygate reads a JWK: a key entry's `signing.jwk` (the key set
//! vectors `valid_jwk_members.json` / `invalid_jwk_members.json`), publisher keys and seal keys.

use keygate::{KeySet, PublisherKeys, SealKeys};
use serde_json::{Value, json};

fn vector(name: &str) -> Value {
    let path = format!("{}/tests/vectors/jwk/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_runtime_export_loads_as_publisher_and_seal_key() {
    let doc = vector("exports.json");
    let exports = doc["exports"].as_array().unwrap();
    assert_eq!(exports.len(), 4);
    for e in exports {
        let runtime = e["runtime"].as_str().unwrap();
        let ed = &e["ed25519_public"];
        assert_eq!(ed["key_ops"], json!(["verify"]), "{runtime}");
        let keys =
            PublisherKeys::parse(&ed.to_string()).unwrap_or_else(|err| panic!("{runtime}: {err}"));
        assert_eq!(keys.keys()[0].public_key_b64(), ed["x"].as_str().unwrap());
        SealKeys::parse(&e["aes"].to_string()).unwrap_or_else(|err| panic!("{runtime}: {err}"));
        // An HMAC key or an Ed25519 key is no seal key; an AES key no publisher key.
        assert!(
            SealKeys::parse(&e["hmac"].to_string()).is_err(),
            "{runtime}"
        );
        assert!(
            PublisherKeys::parse(&e["aes"].to_string()).is_err(),
            "{runtime}"
        );
    }
}

#[test]
fn publisher_keys_refuse_members_that_do_not_fit() {
    let doc = vector("exports.json");
    let ed = &doc["exports"][0]["ed25519_public"];
    for (change, says) in [
        (json!({"use": "enc"}), "\"use\": \"enc\" does not fit"),
        (
            json!({"key_ops": ["sign", "verify"]}),
            "\"sign\" does not fit",
        ),
        (json!({"key_ops": []}), "lists no \"verify\""),
    ] {
        let mut jwk = ed.clone();
        for (k, v) in change.as_object().unwrap() {
            jwk[k] = v.clone();
        }
        let e = PublisherKeys::parse(&jwk.to_string()).unwrap_err();
        assert!(e.0.contains(says), "{jwk}: {e}");
    }
}

#[test]
fn a_certificate_must_hold_the_key_it_travels_with() {
    let doc = vector("certificate.json");
    let good = doc["jwk"].clone();
    let set = |jwk: &Value| {
        json!({"keygate": 1, "revision": 1, "keys": [{"id": "c", "signing": {"alg": "ed25519", "jwk": jwk}}]})
            .to_string()
    };
    assert!(KeySet::from_json(set(&good).as_bytes()).is_ok());
    assert!(PublisherKeys::parse(&good.to_string()).is_ok());
    let mut other = good.clone();
    other["x"] = doc["other_x"].clone();
    let e = KeySet::from_json(set(&other).as_bytes()).unwrap_err();
    assert_eq!(e.errors()[0].path, "$.keys[0].signing.jwk.x5c[0]");
    assert!(e.errors()[0].message.contains("does not hold this key"));
    let mut thumb = good.clone();
    thumb["x5t#S256"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let e = KeySet::from_json(set(&thumb).as_bytes()).unwrap_err();
    assert_eq!(e.errors()[0].path, "$.keys[0].signing.jwk[\"x5t#S256\"]");
}
