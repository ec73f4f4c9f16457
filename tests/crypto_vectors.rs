#![cfg(not(target_arch = "wasm32"))]
//! The two algorithms against published vectors: Wycheproof (ed25519, HMAC-SHA256),
//! RFC 8032 §7.1, RFC 4231 §4, and the Ed25519 edge cases of CCTV and speccheck
//! (tests/vectors/ed25519/, judged by `verify_strict`'s rule). Every case must give its expected result through
//! keygate's own key types (`VerifierKey`, `SignerKey`, `HmacSecret`).

use keygate::sig::{HmacSecret, SignerKey, VerifierKey};
use serde_json::Value;

fn load(name: &str) -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name);
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn field<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("missing {k}"))
}

#[test]
fn wycheproof_ed25519() {
    let doc = load("wycheproof/ed25519_test.json");
    let (mut valid, mut invalid) = (0, 0);
    for group in doc["testGroups"].as_array().unwrap() {
        let pk = hex(field(&group["publicKey"], "pk"));
        let key = VerifierKey::ed25519(&pk);
        for t in group["tests"].as_array().unwrap() {
            let id = &t["tcId"];
            let expect = match field(t, "result") {
                "valid" => true,
                "invalid" => false,
                other => panic!("tcId {id}: unexpected result {other}"),
            };
            let got = match &key {
                Ok(k) => k.verify(&hex(field(t, "msg")), &hex(field(t, "sig"))),
                Err(e) => {
                    assert!(!expect, "tcId {id}: valid case but key refused: {e}");
                    false
                }
            };
            assert_eq!(got, expect, "tcId {id}: {}", field(t, "comment"));
            if expect { valid += 1 } else { invalid += 1 }
        }
    }
    assert_eq!(
        valid + invalid,
        doc["numberOfTests"].as_u64().unwrap() as usize
    );
    assert!(
        valid > 50 && invalid > 50,
        "{valid} valid, {invalid} invalid"
    );
}

#[test]
fn wycheproof_hmac_sha256() {
    let doc = load("wycheproof/hmac_sha256_test.json");
    let (mut full, mut truncated, mut short_keys) = (0, 0, 0);
    for group in doc["testGroups"].as_array().unwrap() {
        let tag_bytes = group["tagSize"].as_u64().unwrap() as usize / 8;
        for t in group["tests"].as_array().unwrap() {
            let id = &t["tcId"];
            let expect = field(t, "result") == "valid";
            let (key, msg, tag) = (
                hex(field(t, "key")),
                hex(field(t, "msg")),
                hex(field(t, "tag")),
            );
            let Ok(secret) = HmacSecret::new(key.clone()) else {
                // keygate refuses secrets under 32 bytes at load; these cases cannot arise.
                assert!(key.len() < HmacSecret::MIN_LEN, "tcId {id}");
                short_keys += 1;
                continue;
            };
            let computed = SignerKey::HmacSha256(secret.clone()).sign(&msg);
            assert_eq!(
                computed[..tag_bytes] == tag[..],
                expect,
                "tcId {id}: {}",
                field(t, "comment")
            );
            let verifier = VerifierKey::HmacSha256(secret);
            if tag_bytes == 32 {
                assert_eq!(verifier.verify(&msg, &tag), expect, "tcId {id}");
                full += 1;
            } else {
                // Truncated tags are never accepted as signatures.
                assert!(
                    !verifier.verify(&msg, &tag),
                    "tcId {id}: truncated tag accepted"
                );
                truncated += 1;
            }
        }
    }
    assert_eq!(
        full + truncated + short_keys,
        doc["numberOfTests"].as_u64().unwrap() as usize
    );
    assert_eq!(short_keys, 6);
}

#[test]
fn rfc8032_section_7_1() {
    let doc = load("rfc8032.json");
    let tests = doc["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 5);
    for t in tests {
        let name = field(t, "name");
        let signer = SignerKey::ed25519_seed(&hex(field(t, "secret_key"))).unwrap();
        let msg = hex(field(t, "message"));
        let sig = hex(field(t, "signature"));
        assert_eq!(signer.sign(&msg), sig, "{name}: signature");
        let key = VerifierKey::ed25519(&hex(field(t, "public_key"))).unwrap();
        match signer.verifier_key() {
            VerifierKey::Ed25519(k) => {
                assert_eq!(k.as_bytes().to_vec(), hex(field(t, "public_key")), "{name}")
            }
            other => panic!("{other:?}"),
        }
        assert!(key.verify(&msg, &sig), "{name}: verify");
        let mut other = msg.clone();
        other.push(0);
        assert!(
            !key.verify(&other, &sig),
            "{name}: verified another message"
        );
    }
}

#[test]
fn rfc4231_section_4() {
    let doc = load("rfc4231.json");
    let tests = doc["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 7);
    let mut checked = 0;
    for t in tests {
        let case = &t["case"];
        let key = hex(field(t, "key"));
        let (data, tag) = (hex(field(t, "data")), hex(field(t, "tag")));
        let Ok(secret) = HmacSecret::new(key.clone()) else {
            // Cases 1-5 use keys of 4 to 25 bytes, below keygate's 32-byte minimum.
            assert!(key.len() < 32, "case {case}");
            assert!(
                HmacSecret::new(key)
                    .unwrap_err()
                    .contains("at least 32 bytes")
            );
            continue;
        };
        let computed = SignerKey::HmacSha256(secret.clone()).sign(&data);
        assert_eq!(computed, tag, "case {case}");
        assert!(
            VerifierKey::HmacSha256(secret).verify(&data, &tag),
            "case {case}"
        );
        checked += 1;
    }
    assert_eq!(checked, 2, "cases 6 and 7 (131-byte keys)");
}

/// CCTV's Ed25519 vectors under `verify_strict`'s rule (ed25519-dalek's own test): valid
/// exactly when the flags are a subset of `low_order_component_A`, `low_order_component_R`.
/// A public key keygate refuses at load (non-canonical or small order) verifies nothing.
#[test]
fn cctv_ed25519_edge_cases() {
    let doc = load("ed25519/cctv.json");
    let allowed = ["low_order_component_A", "low_order_component_R"];
    let (mut valid, mut total) = (0, 0);
    for v in doc.as_array().unwrap() {
        let n = &v["number"];
        let flags: Vec<&str> = v["flags"]
            .as_array()
            .map(|f| f.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let expect = flags.iter().all(|f| allowed.contains(f));
        let got = VerifierKey::ed25519(&hex(field(v, "key")))
            .is_ok_and(|k| k.verify(field(v, "msg").as_bytes(), &hex(field(v, "sig"))));
        assert_eq!(got, expect, "#{n} {flags:?}");
        valid += usize::from(expect);
        total += 1;
    }
    assert_eq!((valid, total), (43, 914));
}

/// speccheck's twelve cases: `verify_strict` ("Dalek strict" in its results.md) accepts only
/// case 3.
#[test]
fn speccheck_ed25519_cases() {
    let doc = load("ed25519/speccheck.json");
    for (i, c) in doc.as_array().unwrap().iter().enumerate() {
        let got = VerifierKey::ed25519(&hex(field(c, "pub_key")))
            .is_ok_and(|k| k.verify(&hex(field(c, "message")), &hex(field(c, "signature"))));
        assert_eq!(got, i == 3, "case {i}");
    }
}
