//! What the fuzz targets found (`make fuzz`, docs/security.md "Fuzzing"), kept as regression
//! cases: each vector in `tests/vectors/fuzz/` notes what broke and what fixed it.
#![cfg(not(target_arch = "wasm32"))]

use keygate::{NormalizedPath, PathPattern, http1::parse_request};
use serde_json::Value;

fn cases(json: &str) -> Vec<Value> {
    let doc: Value = serde_json::from_str(json).expect("vector file");
    doc["cases"].as_array().expect("cases").clone()
}

#[test]
fn path_findings() {
    let all = cases(include_str!("vectors/fuzz/paths.json"));
    assert!(all.len() >= 5);
    for c in all {
        let name = c["name"].as_str().unwrap();
        assert!(c["broke"].is_string(), "{name}: say what broke");
        let path = c["path"].as_str().unwrap();
        let expect = &c["expect"];
        let parsed = NormalizedPath::parse(path);
        if let Some(want) = expect["refused"].as_str() {
            let e = parsed.expect_err(name);
            assert!(e.message.contains(want), "{name}: {e}");
            assert!(e.offset <= path.len(), "{name}");
            continue;
        }
        let p = parsed.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            p.as_string(),
            expect["canonical"].as_str().unwrap(),
            "{name}"
        );
        if let Some(pattern) = c["pattern"].as_str() {
            let pattern = PathPattern::parse(pattern).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                pattern.matches(&p),
                expect["matches"].as_bool().unwrap(),
                "{name}: {pattern} against {path}"
            );
        }
        if let Some(found) = c["found"].as_str() {
            // The input as found reads without a panic, to a fixed point.
            if let Ok(f) = NormalizedPath::parse(found) {
                let again = NormalizedPath::parse(&f.as_string()).unwrap();
                assert_eq!(again, f, "{name}");
            }
        }
    }
}

#[test]
fn http1_findings() {
    let all = cases(include_str!("vectors/fuzz/http1.json"));
    assert!(all.len() >= 2);
    for c in all {
        let name = c["name"].as_str().unwrap();
        assert!(c["broke"].is_string(), "{name}: say what broke");
        let raw = c["request"].as_str().unwrap();
        let expect = &c["expect"];
        let req =
            parse_request(raw.as_bytes(), "https").unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(
            req.authority(),
            expect["authority"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(req.path(), expect["path"].as_str().unwrap(), "{name}");
        let want: Vec<&str> = expect["defects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        assert_eq!(
            req.defects().len(),
            want.len(),
            "{name}: {:?}",
            req.defects()
        );
        for (d, w) in req.defects().iter().zip(want) {
            assert!(d.contains(w), "{name}: {d:?} lacks {w:?}");
        }
    }
}

/// Documents a reader refuses: `expect.errors` errors, none showing a secret the document
/// holds. `read` (of the case's name and document) gives the error count and the errors as
/// shown (Display and Debug).
fn refused_without_secrets(
    json: &str,
    text_field: &str,
    read: impl Fn(&str, &[u8]) -> (usize, String),
) {
    let all = cases(json);
    assert!(!all.is_empty());
    for c in all {
        let name = c["name"].as_str().unwrap();
        assert!(c["broke"].is_string(), "{name}: say what broke");
        let doc = c[text_field].as_str().unwrap();
        let expect = &c["expect"];
        let (count, shown) = read(name, doc.as_bytes());
        assert_eq!(
            count as u64,
            expect["errors"].as_u64().unwrap(),
            "{name}: {shown}"
        );
        for s in expect["secrets_not_shown"].as_array().unwrap() {
            let s = s.as_str().unwrap();
            assert!(doc.contains(s), "{name}: the document holds the secret");
            assert!(!shown.contains(s), "{name}: {shown}");
        }
        assert!(shown.contains("<secret>"), "{name}: {shown}");
    }
}

#[test]
fn keyset_findings() {
    refused_without_secrets(
        include_str!("vectors/fuzz/keysets.json"),
        "keyset_text",
        |name, doc| {
            let errors = keygate::KeySet::from_json(doc).expect_err(name);
            (errors.errors().len(), format!("{errors} {errors:?}"))
        },
    );
}

#[test]
fn secret_reader_findings() {
    let all = cases(include_str!("vectors/fuzz/secrets.json"));
    assert!(all.len() >= 4);
    for c in all {
        let name = c["name"].as_str().unwrap();
        assert!(c["broke"].is_string(), "{name}: say what broke");
        let text = c["text"].as_str().unwrap();
        let secret = c["secret"].as_str().unwrap();
        assert!(text.contains(secret), "{name}: the text holds the secret");
        let message = match c["parser"].as_str().unwrap() {
            "publisher_secret" => keygate::PublisherSecret::parse(text).expect_err(name).0,
            "publisher_keys" => keygate::PublisherKeys::parse(text).expect_err(name).0,
            "seal_keys" => keygate::SealKeys::parse(text).expect_err(name).0,
            other => panic!("{name}: no parser {other}"),
        };
        assert!(
            message.contains(c["contains"].as_str().unwrap()),
            "{name}: {message}"
        );
        assert!(!message.contains(secret), "{name}: {message}");
        assert!(message.contains("<secret>"), "{name}: {message}");
    }
}

#[test]
fn sealed_findings() {
    use keygate::encoding_util::b64url_encode;
    let vectors: Value = serde_json::from_str(include_str!("vectors/sealed/jose.json")).unwrap();
    let keys = keygate::SealKeys::parse(&vectors["seal_keys"].to_string()).unwrap();
    let all = cases(include_str!("vectors/fuzz/sealed.json"));
    assert!(all.len() >= 3);
    for c in all {
        let name = c["name"].as_str().unwrap();
        assert!(c["broke"].is_string(), "{name}: say what broke");
        let kid = c["kid"].as_str().unwrap();
        let result = match c["op"].as_str().unwrap() {
            "seal" => {
                let plain = vec![b'x'; c["plaintext_len"].as_u64().unwrap() as usize];
                keys.get(kid)
                    .unwrap()
                    .seal(&plain)
                    .and_then(|s| keys.open(&s))
                    .map(|p| assert_eq!(p.as_slice(), plain.as_slice(), "{name}"))
            }
            _ => {
                let header = b64url_encode(
                    format!(r#"{{"alg":"dir","enc":"A256GCM","kid":"{kid}"}}"#).as_bytes(),
                );
                let ct = vec![7u8; c["ciphertext_len"].as_u64().unwrap() as usize];
                let text = format!(
                    "{header}..{}.{}.{}",
                    b64url_encode(&[1; 12]),
                    b64url_encode(&ct),
                    b64url_encode(&[2; 16])
                );
                keys.open(&text).map(|_| ())
            }
        };
        match c["refused"].as_str() {
            Some(want) => {
                let e = result.expect_err(name);
                assert!(e.contains(want), "{name}: {e}");
            }
            None => {
                assert_eq!(c["expect"], "opens", "{name}");
                result.unwrap_or_else(|e| panic!("{name}: {e}"));
            }
        }
    }
}

#[test]
fn delta_findings() {
    refused_without_secrets(
        include_str!("vectors/fuzz/deltas.json"),
        "delta_text",
        |name, doc| {
            let errors = keygate::Delta::from_json(doc).expect_err(name);
            (errors.errors().len(), format!("{errors} {errors:?}"))
        },
    );
}
