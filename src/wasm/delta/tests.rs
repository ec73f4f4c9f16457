//! The delta vectors (tests/vectors/deltas/) through the facade, as the JS glue calls it.

use serde_json::Value;
use sha2::{Digest, Sha256};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

use super::super::{WasmVerifier, io};
use super::is_delta_js;

const VECTORS: &str = include_str!("../../../tests/vectors/deltas/deltas.json");

fn thrown(e: JsValue) -> Value {
    serde_json::from_str(&e.as_string().expect("the facade throws JSON text")).unwrap()
}

fn outcome(v: &mut WasmVerifier, api_key: &str, now_ms: f64) -> String {
    // Written into the input area and decided as the JS glue does (io.rs).
    let req = format!("GET\0https://api.example.com/x\0\0authorization\0Bearer {api_key}\0");
    io::set_input(req.as_bytes());
    let kind = v.run(req.len() as u32, now_ms, 0);
    let (head, _) = io::output();
    match kind {
        io::ALLOWED => {
            let key: Value = serde_json::from_str(&v.key_info(head[2] - 1).unwrap()).unwrap();
            key["id"].as_str().unwrap().to_string()
        }
        io::REFUSED => crate::Reason::ALL[head[1] as usize].code().to_string(),
        k => panic!("{api_key}: kind {k}"),
    }
}

#[wasm_bindgen_test]
fn delta_vectors_through_the_facade() {
    let doc: Value = serde_json::from_str(VECTORS).unwrap();
    let base = doc["base"].as_str().unwrap().as_bytes();
    let now_ms = crate::UnixTime::parse_rfc3339(doc["now"].as_str().unwrap())
        .unwrap()
        .as_secs() as f64
        * 1000.0;
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let mut v = WasmVerifier::new(base, None).unwrap();
        v.set_payload_sha256(&Sha256::digest(base)).unwrap();
        let text = serde_json::to_vec(&case["delta"]).unwrap();
        assert!(is_delta_js(&text), "{name}");
        let got = v
            .prepare_delta(&text, now_ms, None)
            .and_then(|p| {
                let info: Value = serde_json::from_str(&p.info()).unwrap();
                assert_eq!(info["revision"], case["delta"]["revision"], "{name}");
                v.commit_delta(p)
            })
            .map_err(thrown);
        match (&got, case["expect"]["error"].as_str()) {
            (Ok(r), None) => {
                let r: Value = serde_json::from_str(r).unwrap();
                assert_eq!(r["result"], "replaced", "{name}");
                assert_eq!(
                    r["payload_sha256"], case["delta"]["payload_sha256"],
                    "{name}"
                );
                let info: Value = serde_json::from_str(&v.info()).unwrap();
                assert_eq!(info["revision"], case["expect"]["revision"], "{name}");
                assert_eq!(info["keys"], case["expect"]["keys"], "{name}");
            }
            (Err(e), Some(code)) => {
                assert_eq!(e["error"], code, "{name}: {e}");
                assert_eq!(
                    e["status"],
                    if code == "keyset_invalid" { 400 } else { 409 }
                );
                let want = match code {
                    "delta_base_mismatch" => "ERR_DELTA_BASE",
                    "keyset_rollback" => "ERR_KEYSET_ROLLBACK",
                    _ => "ERR_KEYSET_INVALID",
                };
                assert_eq!(e["code"], want, "{name}");
                if code == "delta_base_mismatch" {
                    assert_eq!(e["current_revision"], 5);
                    assert_eq!(e["current_payload_sha256"], doc["base_payload_sha256"]);
                }
                for x in case["expect"]["errors"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                {
                    let found = e["errors"].as_array().unwrap().iter().any(|y| {
                        y["path"] == x["path"]
                            && y["message"]
                                .as_str()
                                .unwrap()
                                .contains(x["contains"].as_str().unwrap())
                    });
                    assert!(found, "{name}: {x} in {e}");
                }
            }
            (g, e) => panic!("{name}: got {g:?}, expected {e:?}"),
        }
        for r in case["requests"].as_array().unwrap() {
            let got = outcome(&mut v, r["api_key"].as_str().unwrap(), now_ms);
            assert_eq!(got, r["expect"].as_str().unwrap(), "{name}");
        }
    }
}

#[wasm_bindgen_test]
fn a_pushed_delta_must_be_fresh_and_a_verifier_without_its_digest_refuses_deltas() {
    let doc: Value = serde_json::from_str(VECTORS).unwrap();
    let base = doc["base"].as_str().unwrap().as_bytes();
    let case = &doc["cases"][0];
    let text = serde_json::to_vec(&case["delta"]).unwrap();
    let mut v = WasmVerifier::new(base, None).unwrap();
    let e = thrown(v.prepare_delta(&text, 0.0, None).err().unwrap());
    assert_eq!(e["code"], "ERR_DELTA_BASE");
    assert!(e["current_payload_sha256"].is_null());
    v.set_payload_sha256(&Sha256::digest(base)).unwrap();
    // Issued 2026-12-01T00:05:00Z: a day later it is too old for a push with a 15-minute age.
    let day_later = 1_796_170_000_000.0;
    let e = thrown(
        v.prepare_delta(&text, day_later, Some(900.0))
            .err()
            .unwrap(),
    );
    assert_eq!(
        (e["code"].as_str(), e["error"].as_str()),
        (Some("ERR_ENVELOPE_STALE"), Some("envelope_stale"))
    );
    let info: Value = serde_json::from_str(&v.info()).unwrap();
    assert_eq!(info["revision"], 5, "a stale delta changes nothing");
    let p = v
        .prepare_delta(&text, 1_796_083_500_000.0, Some(900.0))
        .unwrap();
    v.commit_delta(p).unwrap();
    // Again, at the same state: unchanged, and never judged stale.
    let p = v.prepare_delta(&text, day_later, Some(900.0)).unwrap();
    let r: Value = serde_json::from_str(&v.commit_delta(p).unwrap()).unwrap();
    assert_eq!(r["result"], "unchanged");
    assert!(v.set_payload_sha256(&[0; 31]).is_err());
}
