//! Runs the shared JSON vectors in tests/vectors/ (the JS tests run the same files).
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use keygate::{Context, KeySet, UnixTime, Verifier};
use serde_json::Value;

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn files(dir: &str, prefix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(vectors().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with(prefix))
        .collect();
    out.sort();
    out
}

#[test]
fn valid_keysets_load() {
    let valid = files("keysets", "valid_");
    assert!(valid.len() >= 3);
    for path in valid {
        let bytes = fs::read(&path).unwrap();
        if let Err(e) = KeySet::from_json(&bytes) {
            panic!("{} should be valid:\n{e}", path.display());
        }
    }
}

#[test]
fn invalid_keysets_report_every_error_with_its_path() {
    let invalid = files("keysets", "invalid_");
    assert!(invalid.len() >= 10);
    for path in invalid {
        let v = read_json(&path);
        let bytes = match (&v.get("keyset"), &v.get("keyset_text")) {
            (Some(doc), None) => serde_json::to_vec(doc).unwrap(),
            (None, Some(Value::String(text))) => text.as_bytes().to_vec(),
            _ => panic!("{}: needs keyset or keyset_text", path.display()),
        };
        let errs = match KeySet::from_json(&bytes) {
            Ok(_) => panic!("{} loaded but should fail", path.display()),
            Err(e) => e,
        };
        let mut actual: Vec<(String, String)> = errs
            .errors()
            .iter()
            .map(|e| (e.path.clone(), e.message.clone()))
            .collect();
        let expected = v["errors"].as_array().unwrap();
        for exp in expected {
            let p = exp["path"].as_str().unwrap();
            let c = exp["contains"].as_str().unwrap();
            let pos = actual
                .iter()
                .position(|(ap, am)| ap == p && am.contains(c))
                .unwrap_or_else(|| {
                    panic!(
                        "{}: no error at {p} containing {c:?}; got:\n{errs}",
                        path.display()
                    )
                });
            actual.remove(pos);
        }
        assert!(
            actual.is_empty(),
            "{}: unexpected extra errors {actual:?}",
            path.display()
        );
    }
}

#[test]
fn request_decisions_match_the_vectors() {
    let mut count = 0;
    for path in files("requests", "")
        .into_iter()
        .chain(case_files("attacks"))
        .chain(case_files("webhooks"))
    {
        let doc = read_json(&path);
        let ks_path = path.parent().unwrap().join(doc["keyset"].as_str().unwrap());
        let ks = KeySet::from_json(&fs::read(&ks_path).unwrap()).unwrap();
        let now = UnixTime::parse_rfc3339(doc["now"].as_str().unwrap()).unwrap();
        let verifier = Verifier::new(ks);
        for case in doc["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let ip = case["client_ip"].as_str().map(|s| s.parse().unwrap());
            let now = match case.get("now").and_then(Value::as_str) {
                Some(t) => UnixTime::parse_rfc3339(t).unwrap(),
                None => now,
            };
            let d = verifier.decide(
                &common::build_request(&case["request"]),
                &Context::new(now).with_client_ip(ip),
            );
            common::assert_decision(name, &d, &case["expect"]);
            count += 1;
        }
    }
    assert!(count >= 140, "only {count} cases ran");
}

/// The files of `dir` that hold request cases (not the key sets beside them).
fn case_files(dir: &str) -> Vec<PathBuf> {
    files(dir, "")
        .into_iter()
        .filter(|p| read_json(p).get("cases").is_some())
        .collect()
}

#[test]
fn attack_vectors_note_what_they_model() {
    let mut count = 0;
    for path in case_files("attacks") {
        for case in read_json(&path)["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            assert!(
                case["models"].as_str().is_some_and(|m| m.len() > 10),
                "{}: {name} says nothing of what it models",
                path.display()
            );
            count += 1;
        }
    }
    assert!(count >= 60, "only {count} attack cases");
}

#[test]
fn api_key_format_vectors() {
    let doc = read_json(&vectors().join("apikey/format.json"));
    for k in doc["keys"].as_array().unwrap() {
        let body: Vec<u8> = (0..32)
            .map(|i| {
                u8::from_str_radix(&k["body_hex"].as_str().unwrap()[2 * i..2 * i + 2], 16).unwrap()
            })
            .collect();
        let key =
            keygate::api_key::format_key(k["prefix"].as_str().unwrap(), &body.try_into().unwrap())
                .unwrap();
        assert_eq!(key.as_str(), k["api_key"].as_str().unwrap());
        assert_eq!(
            keygate::ApiKeyDigest::of(&key).to_string(),
            k["api_key_hash"].as_str().unwrap()
        );
        let re_ok = key.len() == k["prefix"].as_str().unwrap().len() + 50;
        assert!(re_ok);
    }
    for c in doc["classify"].as_array().unwrap() {
        let shape = match keygate::api_key::classify(c["key"].as_str().unwrap()) {
            keygate::ApiKeyShape::Valid => "valid",
            keygate::ApiKeyShape::BadChecksum => "bad_checksum",
            keygate::ApiKeyShape::Legacy => "legacy",
        };
        assert_eq!(shape, c["shape"].as_str().unwrap(), "{}", c["key"]);
    }
}

#[test]
fn scope_grants_match_the_shared_vectors() {
    let doc = read_json(&vectors().join("scopes.json"));
    for c in doc["cases"].as_array().unwrap() {
        let grants = &c["grants"];
        let ks = keygate::KeySet::from_json(
            serde_json::json!({"keygate": 1, "revision": 1, "keys": [
                {"id": "k", "api_key_hash": keygate::ApiKeyDigest::of("k").to_string(), "scopes": grants}
            ]})
            .to_string()
            .as_bytes(),
        )
        .unwrap_or_else(|e| panic!("{grants}: {e}"));
        let scope = c["scope"].as_str().unwrap();
        assert_eq!(
            ks.keys()[0].grants(scope),
            c["expect"].as_bool().unwrap(),
            "{grants} grants {scope:?}: {}",
            c["note"]
        );
    }
}

/// `tests/vectors/keysets/secrets_by_form.json`: a secret whose text says what it is (`whsec_`,
/// `whsk_`, a keygate API key) pasted into a member that is not a secret's own is blanked out
/// of every error (message and path), wherever it stands, as `secret`, `k` and `d` values are.
#[test]
fn keys_in_the_wrong_member_are_never_quoted() {
    let doc: Value =
        serde_json::from_str(include_str!("vectors/keysets/secrets_by_form.json")).unwrap();
    let cases = doc["keysets"].as_array().unwrap();
    assert!(cases.len() >= 8);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        assert!(c["models"].is_string(), "{name}: say what it models");
        let text = c["keyset_text"].as_str().unwrap();
        let errors = KeySet::from_json(text.as_bytes()).expect_err(name);
        let expect = &c["expect"];
        assert_eq!(
            errors.errors().len() as u64,
            expect["errors"].as_u64().unwrap(),
            "{name}: {errors}"
        );
        let shown = format!("{errors} {errors:?}");
        let at = expect["contains"].as_str().unwrap();
        assert!(
            errors.errors().iter().any(|e| e.path.starts_with(at)),
            "{name}: {errors}"
        );
        for s in expect["secrets_not_shown"].as_array().unwrap() {
            let s = s.as_str().unwrap();
            assert!(text.contains(s), "{name}: the document holds the secret");
            assert!(!shown.contains(s), "{name}: {shown}");
        }
        assert!(shown.contains("<secret>"), "{name}: {shown}");
    }
}
