//! Envelopes signed by an independent JOSE implementation (npm `jose`), checked by keygate;
//! and keygate's own envelopes checked against the RFC 8037 example key.
#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;

use keygate::{
    KeySet, LoadError, PublisherKeys, PublisherSecret, Verifier, load_keyset, sign_envelope,
};
use serde_json::Value;

fn vectors() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/envelopes/envelopes.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn jose_envelopes() {
    let doc = vectors();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let keys = PublisherKeys::parse(c["publisher_keys"].as_str().unwrap()).unwrap();
        let bytes = serde_json::to_vec(&c["envelope"]).unwrap();
        let got = load_keyset(&bytes, Some(&keys));
        match (&got, c["expect"].get("revision"), c["expect"].get("error")) {
            (Ok(ks), Some(rev), None) => assert_eq!(ks.revision(), rev.as_u64().unwrap(), "{name}"),
            (Err(e), None, Some(code)) => {
                assert_eq!(e.code(), code.as_str().unwrap(), "{name}: {e}")
            }
            _ => panic!(
                "{name}: got {:?}, expected {}",
                got.as_ref().map(KeySet::revision),
                c["expect"]
            ),
        }
    }
}

#[test]
fn envelope_payload_is_the_exact_key_set_bytes() {
    let doc = vectors();
    let keys = PublisherKeys::parse(doc["cases"][0]["publisher_keys"].as_str().unwrap()).unwrap();
    let bytes = serde_json::to_vec(&doc["cases"][0]["envelope"]).unwrap();
    let ks = load_keyset(&bytes, Some(&keys)).unwrap();
    let raw = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/keysets/valid_full.json"),
    )
    .unwrap();
    assert!(ks.same_bytes_as(&KeySet::from_json(&raw).unwrap()));
    let mut edited = raw.clone();
    edited.push(b'\n');
    assert!(!ks.same_bytes_as(&KeySet::from_json(&edited).unwrap()));
}

#[test]
fn anti_rollback_over_envelopes() {
    let doc = vectors();
    let secret = PublisherSecret::parse(&doc["rfc8037_private_jwk"].to_string()).unwrap();
    let keys = PublisherKeys::new(vec![secret.public_key()]).unwrap();
    let env = |json: &str| sign_envelope(json.as_bytes(), &secret).to_string();
    let load = |json: &str| load_keyset(env(json).as_bytes(), Some(&keys)).unwrap();
    let r5 = r#"{"keygate":1,"revision":5,"keys":[]}"#;
    let mut v = Verifier::new(load(r5));
    // The same revision with the same bytes: an idempotent no-op.
    assert_eq!(v.update(load(r5)).unwrap(), keygate::Update::Unchanged);
    // The same revision with different content: a rollback.
    let r5b = r#"{"keygate":1,"revision":5,"keys":[],"routes":[]}"#;
    let e = v.update(load(r5b)).unwrap_err();
    assert_eq!((e.current, e.offered), (5, 5));
    // An older revision: a rollback; the set in use is kept.
    assert!(
        v.update(load(r#"{"keygate":1,"revision":4,"keys":[]}"#))
            .is_err()
    );
    assert_eq!(v.keyset().revision(), 5);
    // A newer one replaces it.
    assert_eq!(
        v.update(load(r#"{"keygate":1,"revision":9,"keys":[]}"#))
            .unwrap(),
        keygate::Update::Replaced { from: 5 }
    );
    assert_eq!(v.keyset().revision(), 9);
    assert!(matches!(
        load_keyset(r5.as_bytes(), Some(&keys)),
        Err(LoadError::SignatureRequired)
    ));
}

/// The junk shapes of tests/vectors/envelopes/junk.json, built small here (their memory bound at
/// 8 MiB is tests/envelope_memory.rs): each refused with its code and message, as a pushed
/// envelope and as a file given to `Envelope::from_bytes` (the CLI's `keyset verify`).
#[test]
fn junk_envelopes_are_refused_with_their_codes() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/envelopes/junk.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    let keys = PublisherKeys::parse(doc["publisher_keys"].as_str().unwrap()).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        assert!(
            !c["models"].as_str().unwrap().is_empty(),
            "{name}: say what it models"
        );
        let unit = c["unit"].as_str().unwrap();
        let text = format!(
            "{}{}{}",
            c["head"].as_str().unwrap(),
            unit.repeat(64 * 1024 / unit.len()),
            c["tail"].as_str().unwrap()
        );
        let e = load_keyset(text.as_bytes(), Some(&keys)).unwrap_err();
        assert_eq!(e.code(), c["expect"]["error"], "{name}: {e}");
        let fragment = c["expect"]["message"].as_str().unwrap();
        assert!(e.to_string().contains(fragment), "{name}: {e}");
        let direct =
            keygate::Envelope::from_bytes(text.as_bytes()).and_then(|env| env.verify(&keys));
        assert_eq!(direct.unwrap_err().code(), e.code(), "{name}");
    }
}
