//! What the fuzz targets found (`make fuzz`, docs/security.md "Fuzzing"), kept as regression
//! cases: each vector in `tests/vectors/fuzz/` notes what broke and what fixed it.
#![cfg(not(target_arch = "wasm32"))]

use keygate::http1::parse_request;
use serde_json::Value;

fn cases(json: &str) -> Vec<Value> {
    let doc: Value = serde_json::from_str(json).expect("vector file");
    doc["cases"].as_array().expect("cases").clone()
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
