#![cfg(not(target_arch = "wasm32"))]
//! RFC 9421 Appendix B conformance: the signature bases of B.2.1-B.2.6 byte for byte, the
//! hmac-sha256 (B.2.5) and ed25519 (B.2.6) signatures verified by the verifier with the
//! clock injected and re-created by the signer, and the B.4 transformations.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keygate::sig::{ComponentId, Signer, SignerKey};
use keygate::{Context, KeySet, Request, UnixTime, Verifier};
use serde_json::{Value, json};

fn dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/rfc9421")
}

fn load(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(dir().join(name)).unwrap()).unwrap()
}

fn request(name: &str) -> Request {
    let bytes = std::fs::read(dir().join(name)).unwrap();
    keygate::http1::parse_request(&bytes, "https").unwrap()
}

fn b64url(b: &[u8]) -> String {
    keygate::encoding_util::b64url_encode(b)
}

/// The key set holding the RFC's two keys, with a policy that does not ask for more than
/// the RFC examples cover (B.2.5, B.2.6 and B.4 all cover `@authority`; an empty list cannot
/// be loaded).
fn rfc_keyset() -> KeySet {
    let keys = load("keys.json");
    let secret = STANDARD
        .decode(keys["test-shared-secret"].as_str().unwrap())
        .unwrap();
    let doc = json!({
        "keygate": 1,
        "revision": 1,
        "policy": {"required_components": ["@authority"], "require_content_digest": false},
        "keys": [
            {"id": "test-shared-secret", "signing": {"alg": "hmac-sha256", "secret": b64url(&secret)}},
            {"id": "test-key-ed25519", "signing": {"alg": "ed25519", "jwk": {
                "kty": "OKP", "crv": "Ed25519", "x": keys["test-key-ed25519"]["x"]}}}
        ]
    });
    KeySet::from_json(doc.to_string().as_bytes()).unwrap()
}

fn signer_key(name: &str) -> SignerKey {
    let keys = load("keys.json");
    match name {
        "test-shared-secret" => {
            let s = STANDARD.decode(keys[name].as_str().unwrap()).unwrap();
            SignerKey::HmacSha256(keygate::sig::HmacSecret::new(s).unwrap())
        }
        _ => {
            let d =
                keygate::encoding_util::b64url_decode(keys[name]["d"].as_str().unwrap()).unwrap();
            SignerKey::ed25519_seed(&d).unwrap()
        }
    }
}

fn lines(v: &Value) -> String {
    v.as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn appendix_b2_signature_bases_are_byte_exact() {
    let cases = load("cases.json");
    for case in cases["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let label = case["label"].as_str().unwrap();
        let mut req = request(case["request"].as_str().unwrap());
        req.push_header("Signature-Input", case["signature_input"].as_str().unwrap());
        let sig = case["signature"]
            .as_str()
            .map_or(format!("{label}=:AAAA:"), str::to_string);
        req.push_header("Signature", &sig);
        let base = keygate::sig::signature_base(&req, label).unwrap();
        assert_eq!(base, lines(&case["base"]), "{name}");
    }
}

#[test]
fn appendix_b2_5_and_b2_6_verify_with_the_clock_injected() {
    let cases = load("cases.json");
    let verifier = Verifier::new(rfc_keyset());
    let mut verified = 0;
    for case in cases["cases"].as_array().unwrap() {
        let Some(sig) = case["signature"].as_str() else {
            continue;
        };
        let name = case["name"].as_str().unwrap();
        let mut req = request(case["request"].as_str().unwrap());
        req.push_header("Signature-Input", case["signature_input"].as_str().unwrap());
        req.push_header("Signature", sig);
        let at = |t: i64| Context::new(UnixTime::from_secs(t));
        let d = verifier.decide(&req, &at(1_618_884_473));
        assert!(d.allowed, "{name}: {d:?}");
        assert_eq!(d.key_id.as_deref(), case["key"].as_str(), "{name}");
        // The same signature an hour later is too old (default 300 s + 30 s skew).
        let d = verifier.decide(&req, &at(1_618_884_473 + 3600));
        assert_eq!(d.code(), Some("signature_too_old"), "{name}");
        // One flipped bit in the signature.
        let mut bytes = STANDARD.decode(sig.split(":").nth(1).unwrap()).unwrap();
        bytes[3] ^= 0x10;
        let label = case["label"].as_str().unwrap();
        let mut bad = request(case["request"].as_str().unwrap());
        bad.push_header("Signature-Input", case["signature_input"].as_str().unwrap());
        bad.push_header(
            "Signature",
            &format!("{label}=:{}:", STANDARD.encode(&bytes)),
        );
        let d = verifier.decide(&bad, &at(1_618_884_473));
        assert_eq!(d.code(), Some("signature_invalid"), "{name}");
        verified += 1;
    }
    assert_eq!(verified, 2);
}

#[test]
fn appendix_b2_5_and_b2_6_are_reproduced_by_the_signer() {
    let cases = load("cases.json");
    for case in cases["cases"].as_array().unwrap() {
        let (Some(sig), Some(key)) = (case["signature"].as_str(), case["key"].as_str()) else {
            continue;
        };
        let input = case["signature_input"].as_str().unwrap();
        let label = case["label"].as_str().unwrap();
        let inner = &input[label.len() + 1..];
        let list = &inner[1..inner.find(')').unwrap()];
        let components: Vec<ComponentId> = list
            .split(' ')
            .map(|c| ComponentId::parse(c.trim_matches('"')).unwrap())
            .collect();
        let req = request(case["request"].as_str().unwrap());
        let signed = Signer::new(signer_key(key), key, UnixTime::from_secs(1_618_884_473))
            .label(label)
            .components(components)
            .alg_param(false)
            .sign(&req)
            .unwrap();
        assert_eq!(signed.signature_input, input);
        assert_eq!(signed.signature, sig);
        assert_eq!(signed.base, lines(&case["base"]));
        assert_eq!(signed.content_digest, None, "the test request has one");
    }
}

#[test]
fn appendix_b4_transformations() {
    let t = &load("cases.json")["transforms"];
    let verifier = Verifier::new(rfc_keyset());
    let cx = Context::new(UnixTime::from_secs(t["created"].as_i64().unwrap()));
    for m in t["messages"].as_array().unwrap() {
        let file = m["request"].as_str().unwrap();
        let req = request(file);
        if m["valid"].as_bool().unwrap() {
            assert_eq!(
                keygate::sig::signature_base(&req, "transform").unwrap(),
                lines(&t["base"]),
                "{file}"
            );
        }
        let d = verifier.decide(&req, &cx);
        assert_eq!(d.allowed, m["valid"].as_bool().unwrap(), "{file}: {d:?}");
        if !d.allowed {
            assert_eq!(d.code(), Some("signature_invalid"), "{file}");
        }
    }
}

#[test]
fn the_rfc_test_key_pem_holds_the_jwk_public_key() {
    // SPKI for Ed25519 is a fixed 12-byte prefix followed by the 32-byte key.
    let keys = load("keys.json");
    let pem = keys["test-key-ed25519-spki-pem"].as_str().unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(b64).unwrap();
    let x = keygate::encoding_util::b64url_decode(keys["test-key-ed25519"]["x"].as_str().unwrap())
        .unwrap();
    assert_eq!(&der[12..], &x[..]);
    match signer_key("test-key-ed25519").verifier_key() {
        keygate::sig::VerifierKey::Ed25519(k) => assert_eq!(k.as_bytes(), &x[..]),
        other => panic!("{other:?}"),
    }
}
