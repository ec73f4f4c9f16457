#![cfg(not(target_arch = "wasm32"))]
//! Sealed secrets in key sets: JWEs made by independent JOSE libraries (npm `jose`, Python
//! `jwcrypto`) open to the secret they sealed and sign requests keygate allows; every refusal
//! is a load error at the sealed value's path; form-only reading and the two lints; and no
//! output of any kind ever holds a plaintext.

mod common;

use base64::Engine as _;
use common::*;
use keygate::sig::{HmacSecret, Signer, SignerKey, VerifierKey};
use keygate::{KeySet, SealKey, SealKeys, UnixTime, Unseal, Verifier};
use serde_json::{Value, json};

fn vectors(file: &str) -> Value {
    let path = format!("{}/tests/vectors/sealed/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn seal_keys(doc: &Value) -> SealKeys {
    SealKeys::parse(&doc["seal_keys"].to_string()).unwrap()
}

/// A key set with one HMAC key whose secret is `sealed`.
fn sealed_set(sealed: &str) -> String {
    json!({"keygate": 1, "revision": 1, "keys": [
        {"id": "api", "api_key_hash": keygate::ApiKeyDigest::of(API_KEY).to_string()},
        {"id": "hm", "signing": {"alg": "hmac-sha256", "sealed": sealed}},
    ]})
    .to_string()
}

fn b64url_decode(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

/// Every form a plaintext could leak in.
fn forms(plaintext: &str) -> Vec<String> {
    let raw = b64url_decode(plaintext);
    let std = base64::engine::general_purpose::STANDARD;
    let mut out = vec![
        plaintext.to_string(),
        std.encode(&raw),
        std.encode(plaintext.as_bytes()),
        b64url(plaintext.as_bytes()),
    ];
    // A long enough piece of the raw bytes as lossy text, and as hex.
    out.push(raw.iter().map(|b| format!("{b:02x}")).collect());
    out.retain(|f| f.len() >= 16);
    out
}

fn assert_clean(text: &str, plaintexts: &[String], at: &str) {
    for p in plaintexts {
        for f in forms(p) {
            assert!(
                !text.contains(&f[..16]),
                "{at}: a plaintext form leaked: {text}"
            );
        }
    }
}

#[test]
fn independent_jwes_open_and_sign_requests() {
    for file in ["jose.json", "jwcrypto.json"] {
        let doc = vectors(file);
        let keys = seal_keys(&doc);
        let cases = doc["valid"].as_array().unwrap();
        assert!(cases.len() >= 3, "{file}");
        for c in cases {
            let ks = KeySet::from_json_with(
                sealed_set(c["sealed"].as_str().unwrap()).as_bytes(),
                Unseal::Keys(&keys),
            )
            .unwrap_or_else(|e| panic!("{file} {}: {e}", c["name"]));
            let secret = b64url_decode(c["plaintext"].as_str().unwrap());
            let signer = SignerKey::HmacSha256(HmacSecret::new(secret).unwrap());
            let mut req = post("https://api.example.com/v1/orders", b"{}");
            Signer::new(signer, "hm", now())
                .sign(&req)
                .unwrap()
                .apply(&mut req);
            let v = Verifier::new(ks);
            let d = v.decide(&req, &cx());
            assert!(d.allowed, "{file} {}: {d:?}", c["name"]);
            assert_eq!(d.key_id.as_deref(), Some("hm"));
            assert!(
                !v.keyset()
                    .lint(now())
                    .iter()
                    .any(|l| l.code.contains("seal")),
                "{file}: opened, and no clear secret beside it"
            );
        }
    }
}

#[test]
fn refusals_are_load_errors_at_the_sealed_path() {
    let mut plaintexts = Vec::new();
    for file in ["jose.json", "jwcrypto.json"] {
        let doc = vectors(file);
        let keys = seal_keys(&doc);
        plaintexts.extend(
            doc["valid"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["plaintext"].as_str().unwrap().to_string()),
        );
        for c in doc["invalid"].as_array().unwrap() {
            let text = sealed_set(c["sealed"].as_str().unwrap());
            let e = KeySet::from_json_with(text.as_bytes(), Unseal::Keys(&keys))
                .expect_err(c["name"].as_str().unwrap());
            assert_eq!(e.errors().len(), 1, "{file} {}: {e}", c["name"]);
            assert_eq!(e.errors()[0].path, "$.keys[1].signing.sealed");
            let want = c["contains"].as_str().unwrap();
            assert!(
                e.errors()[0].message.contains(want),
                "{file} {}: {e}",
                c["name"]
            );
            assert_clean(&e.to_string(), &plaintexts, c["name"].as_str().unwrap());
        }
    }
}

#[test]
fn without_keys_refused_by_form_only_loaded_and_linted() {
    let doc = vectors("jose.json");
    let sealed = doc["valid"][0]["sealed"].as_str().unwrap();
    let text = sealed_set(sealed);
    let e = KeySet::from_json(text.as_bytes()).unwrap_err();
    assert_eq!(e.errors()[0].path, "$.keys[1].signing.sealed");
    assert!(
        e.errors()[0]
            .message
            .contains("--seal-key, sealKeys or KEYGATE_SEAL_KEYS")
    );

    let ks = KeySet::from_json_with(text.as_bytes(), Unseal::FormOnly).unwrap();
    let hm = ks.key_by_id("hm").unwrap();
    assert!(
        hm.signing.is_none(),
        "a secret read by form only verifies nothing"
    );
    assert!(hm.require_signature);
    let lints: Vec<(String, String)> = ks
        .lint(now())
        .into_iter()
        .filter(|l| !["key_never_expires", "audience_missing"].contains(&l.code))
        .map(|l| (l.code.to_string(), l.path))
        .collect();
    assert_eq!(
        lints,
        [(
            "sealed_not_opened".to_string(),
            "$.keys[1].signing.sealed".to_string()
        )]
    );
    // A request for that key fails closed.
    let mut req = post("https://api.example.com/v1/orders", b"{}");
    let plain = b64url_decode(doc["valid"][0]["plaintext"].as_str().unwrap());
    Signer::new(
        SignerKey::HmacSha256(HmacSecret::new(plain).unwrap()),
        "hm",
        now(),
    )
    .sign(&req)
    .unwrap()
    .apply(&mut req);
    assert!(!Verifier::new(ks).decide(&req, &cx()).allowed);

    // Form-only still judges the form.
    let broken = sealed_set("a.b.c");
    let e = KeySet::from_json_with(broken.as_bytes(), Unseal::FormOnly).unwrap_err();
    assert!(e.to_string().contains("5 base64url parts"), "{e}");
}

#[test]
fn clear_secrets_beside_sealed_ones_are_linted() {
    let key = SealKey::generate(Some("k1")).unwrap();
    let keys = SealKeys::new(vec![key.clone()]).unwrap();
    let sealed = key.seal(b64url(&[3; 32]).as_bytes()).unwrap();
    let doc = json!({"keygate": 1, "revision": 1, "keys": [
        {"id": "s", "signing": {"alg": "hmac-sha256", "sealed": sealed}, "expires_at": "2026-01-01T00:00:00Z"},
        {"id": "c", "signing": {"alg": "hmac-sha256", "secret": b64url(&[4; 32])}, "expires_at": "2026-01-01T00:00:00Z"},
        {"id": "j", "status": "revoked", "signing": {"alg": "hmac-sha256", "jwk": {"kty": "oct", "k": b64url(&[5; 32])}}},
        {"id": "e", "signing": signing_json(&ed_key()), "expires_at": "2026-01-01T00:00:00Z"},
    ]});
    let ks = KeySet::from_json_with(doc.to_string().as_bytes(), Unseal::Keys(&keys)).unwrap();
    let lints: Vec<(&str, String)> = ks
        .lint(UnixTime::from_secs(NOW))
        .into_iter()
        .filter(|l| l.code != "audience_missing")
        .map(|l| (l.code, l.path))
        .collect();
    assert_eq!(
        lints,
        [
            ("secret_not_sealed", "$.keys[1].signing.secret".to_string()),
            ("secret_not_sealed", "$.keys[2].signing.jwk.k".to_string()),
        ]
    );
    // Without any sealed secret, clear ones are not flagged.
    let plain = json!({"keygate": 1, "revision": 1, "audience": "api", "keys": [doc["keys"][1]]});
    assert!(
        KeySet::from_json(plain.to_string().as_bytes())
            .unwrap()
            .lint(UnixTime::from_secs(NOW))
            .is_empty()
    );
}

#[test]
fn sealed_values_only_where_secrets_are() {
    let key = SealKey::generate(Some("k1")).unwrap();
    let keys = SealKeys::new(vec![key.clone()]).unwrap();
    let sealed = key.seal(b64url(&[3; 32]).as_bytes()).unwrap();
    let cases = [
        (
            json!({"alg": "ed25519", "sealed": sealed}),
            "$.keys[0].signing.sealed",
            "an ed25519 public key is not secret",
        ),
        (
            json!({"alg": "hmac-sha256", "sealed": sealed, "secret": b64url(&[1; 32])}),
            "$.keys[0].signing",
            "give either \"secret\" or \"sealed\", not both",
        ),
        (
            json!({"alg": "hmac-sha256"}),
            "$.keys[0].signing",
            "needs \"secret\", \"jwk\" or \"sealed\"",
        ),
        (
            json!({"alg": "hmac-sha256", "sealed": 7}),
            "$.keys[0].signing.sealed",
            "expected a string",
        ),
        (
            json!({"alg": "hmac-sha256", "sealed": key.seal(b"c2hvcnQ").unwrap()}),
            "$.keys[0].signing.sealed",
            "decrypts to an invalid secret: an hmac-sha256 secret needs at least 32 bytes, this one has 5",
        ),
        (
            json!({"alg": "hmac-sha256", "sealed": key.seal(&[0xff, 0xfe]).unwrap()}),
            "$.keys[0].signing.sealed",
            "not UTF-8 text (byte 0)",
        ),
    ];
    for (signing, path, says) in cases {
        let doc = json!({"keygate": 1, "revision": 1, "keys": [{"id": "k", "signing": signing}]});
        let e =
            KeySet::from_json_with(doc.to_string().as_bytes(), Unseal::Keys(&keys)).unwrap_err();
        assert_eq!(e.errors()[0].path, path, "{e}");
        assert!(e.errors()[0].message.contains(says), "{e}");
    }
}

#[test]
fn nothing_shows_a_plaintext() {
    let key = SealKey::generate(Some("k1")).unwrap();
    let keys = SealKeys::new(vec![key.clone()]).unwrap();
    let secret = b64url(&[0x5c; 48]);
    let doc = json!({"keygate": 1, "revision": 1, "keys": [
        {"id": "hm", "signing": {"alg": "hmac-sha256", "sealed": key.seal(secret.as_bytes()).unwrap()}},
        {"id": "x", "signing": {"alg": "hmac-sha256", "secret": b64url(&[1; 32])}},
    ]});
    let ks = KeySet::from_json_with(doc.to_string().as_bytes(), Unseal::Keys(&keys)).unwrap();
    let hm = ks.key_by_id("hm").unwrap();
    let Some(VerifierKey::HmacSha256(s)) = hm.signing.as_deref() else {
        panic!("opened")
    };
    assert_eq!(s.expose_secret(), &[0x5c; 48]);
    let v = Verifier::new(ks.clone());
    let mut req = post("https://api.example.com/v1/x", b"{}");
    Signer::new(hmac_key(), "hm", now())
        .sign(&req)
        .unwrap()
        .apply(&mut req);
    let refused = v.decide(&req, &cx());
    assert!(!refused.allowed);
    let outputs = [
        format!("{ks:?}"),
        format!("{hm:?}"),
        format!("{keys:?}"),
        format!("{key:?}"),
        format!("{:?}", ks.lint(now())),
        refused.to_json().to_string(),
        format!("{refused:?}"),
        format!("{v:?}"),
    ];
    for o in &outputs {
        assert_clean(o, std::slice::from_ref(&secret), o);
    }
}

#[test]
fn seal_keys_from_runtimes_and_keygen_round_trip() {
    // What keygen prints, and a WebCrypto AES-GCM export (Node, workerd, Chromium all give
    // this shape), both load; a sealed value made with one opens with the other parse.
    let k = SealKey::generate(None).unwrap();
    assert!(k.kid().starts_with("seal-"));
    let printed = k.to_jwk();
    assert_eq!(printed["use"], "enc");
    let parsed = SealKeys::parse(&printed.to_string()).unwrap();
    let sealed = k.seal(b64url(&[8; 32]).as_bytes()).unwrap();
    assert!(KeySet::from_json_with(sealed_set(&sealed).as_bytes(), Unseal::Keys(&parsed)).is_ok());
    let webcrypto = json!({"alg": "A256GCM", "ext": true, "k": printed["k"], "key_ops": ["encrypt", "decrypt"], "kty": "oct", "kid": k.kid()});
    let w = SealKeys::parse(&webcrypto.to_string()).unwrap();
    assert!(KeySet::from_json_with(sealed_set(&sealed).as_bytes(), Unseal::Keys(&w)).is_ok());
}
