#![cfg(not(target_arch = "wasm32"))]
//! Key set validation of the signature fields: every bad value is reported with its JSON
//! path, nothing is loaded, and secrets never show in errors or Debug output.

mod common;

use common::*;
use keygate::KeySet;
use keygate::sig::Algorithm;
use serde_json::{Value, json};

fn doc(keys: Value, policy: Value, routes: Value) -> String {
    json!({"keygate": 1, "revision": 1, "policy": policy, "routes": routes, "keys": keys})
        .to_string()
}

fn errors(keys: Value, policy: Value, routes: Value) -> Vec<String> {
    match KeySet::from_json(doc(keys, policy, routes).as_bytes()) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.errors().iter().map(ToString::to_string).collect(),
    }
}

fn key_errors(signing: Value) -> Vec<String> {
    errors(
        json!([{"id": "k", "signing": signing}]),
        json!({}),
        json!([]),
    )
}

fn has(errs: &[String], path: &str, words: &str) {
    assert!(
        errs.iter()
            .any(|e| e.starts_with(&format!("{path}: ")) && e.contains(words)),
        "no error at {path} containing {words:?} in {errs:#?}"
    );
}

#[test]
fn signing_keys_load_in_every_form() {
    let ed = ed_key();
    let keygate::sig::VerifierKey::Ed25519(pk) = ed.verifier_key() else {
        unreachable!()
    };
    let x = b64url(pk.as_bytes());
    let secret = b64url(&[5u8; 48]);
    let ks = KeySet::from_json(
        doc(
            json!([
                {"id": "a", "signing": {"alg": "ed25519", "public_key": x}},
                {"id": "b", "signing": {"alg": "ed25519", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "b", "alg": "EdDSA", "use": "sig"}}},
                {"id": "c", "signing": {"alg": "hmac-sha256", "secret": secret}},
                {"id": "d", "signing": {"alg": "hmac-sha256", "jwk": {"kty": "oct", "k": secret, "alg": "HS256"}}},
                {"id": "e", "api_key_hash": keygate::ApiKeyDigest::of("x").to_string(), "signing": {"alg": "hmac-sha256", "secret": secret}, "require_signature": false},
                {"id": "f", "api_key_hash": keygate::ApiKeyDigest::of("y").to_string()}
            ]),
            json!({"max_signature_age_seconds": 60, "required_components": ["@method", "@authority", "@query-param;name=\"id\""],
                   "require_content_digest": false, "require_nonce": true, "signature_tag": "app"}),
            json!([{"path": "/x/**", "require_signature": true, "required_components": ["content-type"]}]),
        )
        .as_bytes(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let algs: Vec<Option<Algorithm>> = ks
        .keys()
        .iter()
        .map(|k| k.signing.as_ref().map(|s| s.algorithm()))
        .collect();
    use Algorithm::*;
    assert_eq!(
        algs,
        [
            Some(Ed25519),
            Some(Ed25519),
            Some(HmacSha256),
            Some(HmacSha256),
            Some(HmacSha256),
            None
        ]
    );
    let req: Vec<bool> = ks.keys().iter().map(|k| k.require_signature).collect();
    assert_eq!(req, [true, true, true, true, false, false]);
    let p = &ks.policy().signature;
    assert_eq!(p.max_signature_age_seconds, 60);
    assert_eq!(p.required_components.len(), 3);
    assert!(!p.require_content_digest && p.require_nonce);
    assert_eq!(p.signature_tag.as_deref(), Some("app"));
    assert!(ks.routes()[0].signature.require_signature);
    // Secrets stay out of Debug output.
    let shown = format!("{ks:?} {:?} {:?}", ks.keys(), ks.policy());
    assert!(
        !shown.contains(&secret) && !shown.contains("[5, 5"),
        "{shown}"
    );
}

#[test]
fn defaults() {
    let p = keyset().policy().signature.clone();
    assert_eq!(p.max_signature_age_seconds, 300);
    let names: Vec<String> = p
        .required_components
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(names, ["\"@method\"", "\"@target-uri\""]);
    assert!(p.require_content_digest && !p.require_nonce && p.signature_tag.is_none());
}

#[test]
fn bad_signing_keys_are_refused_with_paths() {
    let short = b64url(&[1u8; 16]);
    has(
        &key_errors(json!({"alg": "hmac-sha256", "secret": short})),
        "$.keys[0].signing.secret",
        "at least 32 bytes, this one has 16",
    );
    has(
        &key_errors(json!({"alg": "hmac-sha256", "secret": "a+b/"})),
        "$.keys[0].signing.secret",
        "base64url",
    );
    let mut identity = [0u8; 32];
    identity[0] = 1;
    has(
        &key_errors(json!({"alg": "ed25519", "public_key": b64url(&identity)})),
        "$.keys[0].signing.public_key",
        "weak",
    );
    let mut noncanon = [0xffu8; 32];
    noncanon[0] = 0xee;
    noncanon[31] = 0x7f;
    let e = key_errors(json!({"alg": "ed25519", "public_key": b64url(&noncanon)}));
    assert!(
        e.iter()
            .any(|e| e.starts_with("$.keys[0].signing.public_key: ")
                && (e.contains("non-canonical") || e.contains("weak"))),
        "{e:?}"
    );
    has(
        &key_errors(json!({"alg": "ed25519", "public_key": b64url(&[1u8; 31])})),
        "$.keys[0].signing.public_key",
        "32 bytes",
    );
    has(
        &key_errors(json!({"alg": "ed25519"})),
        "$.keys[0].signing",
        "needs \"public_key\" or \"jwk\"",
    );
    has(
        &key_errors(json!({"public_key": "x"})),
        "$.keys[0].signing.alg",
        "required field missing",
    );
    has(
        &key_errors(json!({"alg": "rsa-pss-sha512", "public_key": "x"})),
        "$.keys[0].signing.alg",
        "expected \"hmac-sha256\" or \"ed25519\"",
    );
    has(
        &key_errors(json!({"alg": "ed25519", "secret": short})),
        "$.keys[0].signing.secret",
        "not used with alg",
    );
    has(
        &key_errors(json!({"alg": "ed25519", "public_key": "x", "jwk": {}})),
        "$.keys[0].signing",
        "not both",
    );
    has(
        &key_errors(json!({"alg": "ed25519", "pubkey": "x"})),
        "$.keys[0].signing.pubkey",
        "unknown field",
    );
    let d = b64url(&[3u8; 32]);
    has(
        &key_errors(
            json!({"alg": "ed25519", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": d, "d": d}}),
        ),
        "$.keys[0].signing.jwk.d",
        "private key",
    );
    has(
        &key_errors(json!({"alg": "ed25519", "jwk": {"kty": "EC", "crv": "Ed25519", "x": d}})),
        "$.keys[0].signing.jwk.kty",
        "expected \"OKP\"",
    );
    has(
        &key_errors(json!({"alg": "ed25519", "jwk": {"kty": "OKP", "crv": "X25519", "x": d}})),
        "$.keys[0].signing.jwk.crv",
        "expected \"Ed25519\"",
    );
    has(
        &key_errors(json!({"alg": "hmac-sha256", "jwk": {"kty": "oct", "k": short}})),
        "$.keys[0].signing.jwk.k",
        "at least 32 bytes",
    );
    has(
        &key_errors(json!({"alg": "hmac-sha256", "jwk": {"kty": "oct", "k": d, "alg": "HS512"}})),
        "$.keys[0].signing.jwk.alg",
        "\"HS512\" does not fit an HMAC secret",
    );
    // No secret in any message.
    let secretish = b64url(&[0x42u8; 20]);
    let e = key_errors(json!({"alg": "hmac-sha256", "secret": secretish}));
    assert!(e.iter().all(|m| !m.contains(&secretish)), "{e:?}");
}

#[test]
fn credentials_and_requirements() {
    has(
        &errors(json!([{"id": "k"}]), json!({}), json!([])),
        "$.keys[0]",
        "\"api_key_hash\", \"signing\" or \"webhook\"",
    );
    let api = keygate::ApiKeyDigest::of("z").to_string();
    has(
        &errors(
            json!([{"id": "k", "api_key_hash": api, "require_signature": true}]),
            json!({}),
            json!([]),
        ),
        "$.keys[0].require_signature",
        "cannot require a signature",
    );
    has(
        &errors(
            json!([{"id": "k", "api_key_hash": api, "require_signature": "yes"}]),
            json!({}),
            json!([]),
        ),
        "$.keys[0].require_signature",
        "true or false",
    );
}

#[test]
fn bad_policy_and_routes() {
    let keys = json!([{"id": "k", "api_key_hash": keygate::ApiKeyDigest::of("z").to_string()}]);
    let e = errors(
        keys.clone(),
        json!({"max_signature_age_seconds": 0, "required_components": ["@method", "@nope", "@method", 3, "Content-Type"],
               "require_content_digest": 1, "require_nonce": null, "signature_tag": "", "required_component": []}),
        json!([{"path": "/p", "public": true, "require_signature": true, "required_components": ["@path"]},
               {"path": "/q", "required_components": ["x;zz"]}]),
    );
    has(&e, "$.policy.max_signature_age_seconds", "out of range");
    has(
        &e,
        "$.policy.required_components[1]",
        "unknown derived component",
    );
    has(&e, "$.policy.required_components[2]", "duplicate component");
    has(&e, "$.policy.required_components[3]", "expected a string");
    has(&e, "$.policy.required_components[4]", "lower-case");
    has(&e, "$.policy.require_content_digest", "true or false");
    has(&e, "$.policy.require_nonce", "true or false");
    has(&e, "$.policy.signature_tag", "printable ASCII");
    has(
        &e,
        "$.policy.required_component",
        "did you mean \"required_components\"",
    );
    has(&e, "$.routes[0].require_signature", "public route");
    has(&e, "$.routes[0].required_components", "public route");
    has(
        &e,
        "$.routes[1].required_components[0]",
        "unsupported parameter",
    );
}
