//! Request signatures compiled to wasm32-unknown-unknown, under Node (wasm-bindgen-test-runner):
//! the RFC 9421 Appendix B.2.5/B.2.6 vectors, fresh keys from WebCrypto randomness (getrandom
//! `wasm_js`), signing and verifying with the clock injected, a streamed body, a replay, and
//! hostile fields that must not panic (a wasm panic kills the isolate).
#![cfg(target_arch = "wasm32")]

use keygate::sig::{Algorithm, ComponentId, MemoryNonceStore, NonceStore, Signer, SignerKey};
use keygate::{BodyHasher, Context, KeySet, Request, UnixTime, Verifier};
use serde_json::{Value, json};
use wasm_bindgen_test::wasm_bindgen_test;

const CASES: &str = include_str!("vectors/rfc9421/cases.json");
const KEYS: &str = include_str!("vectors/rfc9421/keys.json");
const TEST_REQUEST: &[u8] = include_bytes!("vectors/rfc9421/test-request.http");
const NOW: i64 = 1_795_910_400;

fn b64url(b: &[u8]) -> String {
    keygate::encoding_util::b64url_encode(b)
}

fn std_b64(s: &str) -> Vec<u8> {
    // The RFC prints the shared secret in standard base64; convert the alphabet.
    let url: String = s
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    keygate::encoding_util::b64url_decode(&url).unwrap()
}

#[wasm_bindgen_test]
fn rfc9421_b25_b26_verify_in_wasm() {
    let keys: Value = serde_json::from_str(KEYS).unwrap();
    let secret = std_b64(keys["test-shared-secret"].as_str().unwrap());
    let ks = json!({
        "keygate": 1, "revision": 1,
        "policy": {"required_components": ["@authority"], "require_content_digest": false},
        "keys": [
            {"id": "test-shared-secret", "signing": {"alg": "hmac-sha256", "secret": b64url(&secret)}},
            {"id": "test-key-ed25519", "signing": {"alg": "ed25519", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": keys["test-key-ed25519"]["x"]}}}
        ]
    });
    let verifier = Verifier::new(KeySet::from_json(ks.to_string().as_bytes()).unwrap());
    let cases: Value = serde_json::from_str(CASES).unwrap();
    let mut n = 0;
    for case in cases["cases"].as_array().unwrap() {
        let Some(sig) = case["signature"].as_str() else {
            continue;
        };
        let mut req = keygate::http1::parse_request(TEST_REQUEST, "https").unwrap();
        req.push_header("Signature-Input", case["signature_input"].as_str().unwrap());
        req.push_header("Signature", sig);
        let base: Vec<&str> = case["base"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        assert_eq!(
            keygate::sig::signature_base(&req, case["label"].as_str().unwrap()).unwrap(),
            base.join("\n")
        );
        let d = verifier.decide(&req, &Context::new(UnixTime::from_secs(1_618_884_473)));
        assert!(d.allowed, "{}: {d:?}", case["name"]);
        n += 1;
    }
    assert_eq!(n, 2);
}

#[wasm_bindgen_test]
fn fresh_keys_sign_and_verify_with_streamed_bodies_and_replay() {
    for alg in [Algorithm::Ed25519, Algorithm::HmacSha256] {
        let key = SignerKey::generate(alg).unwrap();
        let signing = key.to_keygen_json()["signing"].clone();
        let ks = json!({"keygate": 1, "revision": 1, "policy": {"require_nonce": true},
                        "keys": [{"id": "client", "signing": signing}]});
        let verifier = Verifier::new(KeySet::from_json(ks.to_string().as_bytes()).unwrap());
        let cx = Context::new(UnixTime::from_secs(NOW));
        let body = b"{\"qty\": 2}".repeat(100);
        let req = Request::new("POST", "https://api.example.com/v1/orders?x=1")
            .unwrap()
            .with_body(body.clone());
        let signed = Signer::new(key, "client", UnixTime::from_secs(NOW))
            .random_nonce()
            .unwrap()
            .sign(&req)
            .unwrap();
        let mut streamed = Request::new("POST", "https://api.example.com/v1/orders?x=1").unwrap();
        signed.apply(&mut streamed);
        let cd = streamed
            .header_values("content-digest")
            .next()
            .map(str::to_string);
        let mut h = BodyHasher::for_content_digest(cd.as_deref());
        for chunk in body.chunks(64) {
            h.update(chunk);
        }
        let streamed = streamed.with_body_digests(h.finish());
        let d = verifier.decide(&streamed, &cx);
        assert!(d.allowed, "{alg}: {d:?}");
        assert!(d.nonce.is_some());
        assert_eq!(
            verifier.decide(&streamed, &cx).code(),
            Some("nonce_replayed")
        );
    }
}

#[wasm_bindgen_test]
fn hostile_fields_are_refused_without_panicking() {
    let store = MemoryNonceStore::with_capacity(4);
    assert!(!store.seen("k", "n", UnixTime::from_secs(NOW), UnixTime::from_secs(NOW)));
    let ks = json!({"keygate": 1, "revision": 1, "keys": [{"id": "k", "signing": {"alg": "hmac-sha256", "secret": b64url(&[1; 32])}}]});
    let v = Verifier::new(KeySet::from_json(ks.to_string().as_bytes()).unwrap());
    let cx = Context::new(UnixTime::from_secs(NOW));
    for (input, sig) in [
        (
            "sig1=(\"@method\";req);created=1;keyid=\"k\"",
            "sig1=:AA==:",
        ),
        ("sig1=((((", "sig1=:AA==:"),
        (
            "sig1=();created=99999999999999999999;keyid=\"k\"",
            "sig1=:AA==:",
        ),
        (
            "sig1=();created=-999999999999999;expires=999999999999999;keyid=\"k\"",
            "sig1=:AA==:",
        ),
        (
            "sig1=(\"@query-param\";name=\"%ZZ\");created=1795910400;keyid=\"k\"",
            "sig1=:AA==:",
        ),
        ("sig1=();created=1795910400;keyid=\"k\"", "sig1=:@@@:"),
    ] {
        let r = Request::new("GET", "https://h/?a=%FF%FE")
            .unwrap()
            .with_header("Signature-Input", input)
            .with_header("Signature", sig);
        assert!(!v.decide(&r, &cx).allowed, "{input}");
    }
    assert!(ComponentId::parse("@query-param;name=\"\u{e9}\"").is_err());
}
