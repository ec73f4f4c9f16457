//! Layer 2 for the facade's lean boundary (`io.rs`, `decide/`): requests written into the
//! input area as the JS glue writes them, and the output header and text block read back as
//! it reads them; paused decisions answered, abandoned, or resumed after an update.

use serde_json::{Value, json};
use wasm_bindgen_test::wasm_bindgen_test;

use super::WasmVerifier;
use super::decide::MAX_WAIT_MS;
use super::io::{self, *};
use crate::sig::{HmacSecret, Signer, SignerKey};
use crate::{ErrorCode, Reason, Request, UnixTime};

const DEMO: &str = include_str!("../../demo/keyset.json");
const READER: &str = "kg_demo_sShpJC3TNbwKN9OeKaxNThwrEUHyPMufAZRt6Q8yapa2m9M5j";
const NOW_MS: f64 = 1_796_000_000_000.0; // 2026-11-29
const NOW: i64 = 1_796_000_000;

thread_local! {
    /// The wall clock `run` is given (ms): tests move it.
    static CLOCK: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
}

/// What a call wrote, as JS reads it.
#[derive(Debug)]
struct Out {
    head: [u32; io::HEAD_WORDS],
    fields: Vec<String>,
    text: Vec<u8>,
}

impl Out {
    fn read() -> Out {
        let (head, text) = io::output();
        let mut fields: Vec<String> = String::from_utf8_lossy(&text)
            .split('\0')
            .map(str::to_string)
            .collect();
        fields.pop();
        Out { head, fields, text }
    }
    fn kind(&self) -> u32 {
        self.head[0]
    }
    fn reason(&self) -> &'static str {
        assert_eq!(self.kind(), REFUSED, "{self:?}");
        Reason::ALL[self.head[1] as usize].code()
    }
    fn error(&self) -> &'static str {
        assert_eq!(self.kind(), ERROR, "{self:?}");
        ErrorCode::ALL[self.head[1] as usize].as_str()
    }
    fn has(&self, flag: u32) -> bool {
        self.head[4] & flag != 0
    }
    fn handle(&self) -> f64 {
        self.float(3)
    }
    fn float(&self, slot: usize) -> f64 {
        f64::from_bits(
            u64::from(self.head[10 + 2 * slot]) | u64::from(self.head[11 + 2 * slot]) << 32,
        )
    }
}

/// Writes a request as the glue does and runs it.
fn run(
    v: &mut WasmVerifier,
    method: &str,
    url: &str,
    ip: &str,
    headers: &[(&str, &str)],
    flags: u32,
) -> Out {
    let mut s = format!("{method}\0{url}\0{ip}\0");
    for (n, val) in headers {
        s.push_str(n);
        s.push('\0');
        s.push_str(val);
        s.push('\0');
    }
    io::set_input(s.as_bytes());
    let kind = v.run(s.len() as u32, NOW_MS, flags, CLOCK.get());
    let out = Out::read();
    assert_eq!(kind, out.kind());
    out
}

fn demo() -> WasmVerifier {
    WasmVerifier::new(DEMO.as_bytes(), None).unwrap()
}

#[wasm_bindgen_test]
fn an_allowed_api_key_request_is_numbers_only() {
    let mut v = demo();
    let url = "https://gw.example/api/orders/1?x=1";
    let auth = format!("Bearer {READER}");
    let o = run(
        &mut v,
        "GET",
        url,
        "127.0.0.1",
        &[("authorization", &auth)],
        0,
    );
    assert_eq!(o.kind(), ALLOWED);
    assert!(o.text.is_empty(), "no text for an allowed API-key request");
    assert!(o.has(FLAG_PATH_AS_SENT));
    assert_eq!(
        &url[o.head[8] as usize..o.head[9] as usize],
        "/api/orders/1"
    );
    let key: Value = serde_json::from_str(&v.key_info(o.head[2] - 1).unwrap()).unwrap();
    assert_eq!(
        key,
        json!({"id": "demo-reader", "name": "Demo reader (DEMO ONLY: this key is published in the README)", "expires": 2_082_758_400,
               "meta": null, "scopes": ["orders:read"]})
    );
    assert_eq!(v.route_pattern(o.head[3] - 1).unwrap(), "/api/orders/**");
    // A path that is judged in another spelling comes as text.
    let o = run(
        &mut v,
        "GET",
        "https://gw.example/api/public/%2e%2e/orders//1",
        "",
        &[("authorization", &auth)],
        0,
    );
    assert_eq!((o.kind(), o.has(FLAG_PATH_TEXT)), (ALLOWED, true));
    assert_eq!(o.fields, ["/api/orders/1"]);
}

#[wasm_bindgen_test]
fn refusals_carry_their_reason_message_and_fields() {
    let mut v = demo();
    let o = run(&mut v, "GET", "https://gw.example/api/x", "", &[], 0);
    assert_eq!(o.reason(), "missing_credentials");
    assert!(o.has(FLAG_MESSAGE) && !o.fields[0].is_empty());
    assert_eq!((o.head[2], o.has(FLAG_ACCEPT_SIGNATURE)), (0, false));
    let o = run(
        &mut v,
        "GET",
        "https://gw.example/api/public/..;/admin/x",
        "",
        &[],
        0,
    );
    assert_eq!(o.reason(), "ambiguous_path");
    assert!(
        !o.has(FLAG_PATH_AS_SENT) && !o.has(FLAG_PATH_TEXT),
        "no judged path"
    );
    let o = run(
        &mut v,
        "GET",
        "https://gw.example/api/orders/1",
        "",
        &[("x-api-key", "kg_demo_nope")],
        0,
    );
    assert!(
        matches!(o.reason(), "unknown_key" | "malformed_credentials"),
        "{o:?}"
    );
}

#[wasm_bindgen_test]
fn unusable_input_is_an_error_with_its_code() {
    let mut v = demo();
    assert_eq!(
        run(&mut v, "GET", "/relative", "", &[], 0).error(),
        "ERR_REQUEST_INVALID"
    );
    assert_eq!(
        run(&mut v, "G T", "https://x/", "", &[], 0).error(),
        "ERR_REQUEST_INVALID"
    );
    assert_eq!(
        run(&mut v, "GET", "https://x/", "nope", &[], 0).error(),
        "ERR_INVALID_OPTIONS"
    );
    // A NUL inside a segment shifts the fields: the header list no longer pairs up.
    let o = run(&mut v, "GET", "https://x/\0a", "", &[], 0);
    assert_eq!(o.error(), "ERR_REQUEST_INVALID");
    assert!(o.fields[0].contains("NUL"), "{o:?}");
    io::set_input(b"GET\0https://x/\0\0");
    assert_eq!(v.run(16, f64::NAN, 0, 0.0), ERROR);
    assert_eq!(Out::read().error(), "ERR_INVALID_OPTIONS");
}

#[wasm_bindgen_test]
fn header_section_limits_hold_through_the_area_and_it_grows_and_shrinks() {
    let mut v = demo();
    let auth = format!("Bearer {READER}");
    let names: Vec<String> = (0..257).map(|i| format!("x-h{i}")).collect();
    let many: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
    assert_eq!(
        run(
            &mut v,
            "GET",
            "https://gw.example/api/orders/1",
            "",
            &many,
            0
        )
        .reason(),
        "malformed_request"
    );
    let big = "a".repeat(64 * 1024);
    let o = run(
        &mut v,
        "GET",
        "https://gw.example/api/orders/1",
        "",
        &[("authorization", &auth), ("x-big", &big)],
        0,
    );
    assert_eq!(o.reason(), "malformed_request");
    let fits = "a".repeat(60 * 1024);
    let o = run(
        &mut v,
        "GET",
        "https://gw.example/api/orders/1",
        "",
        &[("authorization", &auth), ("x-big", &fits)],
        0,
    );
    assert_eq!(o.kind(), ALLOWED, "{o:?}");
    let o = run(
        &mut v,
        "GET",
        "https://gw.example/api/orders/1",
        "",
        &[("authorization", &auth)],
        0,
    );
    assert_eq!(o.kind(), ALLOWED);
    // A non-ASCII value is read as UTF-8 (it is not a credential here, so the request passes).
    let o = run(
        &mut v,
        "GET",
        "https://gw.example/api/orders/1",
        "",
        &[("authorization", &auth), ("x-name", "café")],
        0,
    );
    assert_eq!(o.kind(), ALLOWED);
}

const HMAC: [u8; 32] = [7; 32];

/// A verifier with one HMAC key and one Ed25519 key, both requiring signatures.
fn signing_verifier() -> (WasmVerifier, SignerKey) {
    let ed = SignerKey::ed25519_seed(&[9; 32]).unwrap();
    let crate::sig::VerifierKey::Ed25519(pk) = ed.verifier_key() else {
        unreachable!()
    };
    let b64 = crate::encoding_util::b64url_encode;
    let ks = json!({"keygate": 1, "revision": 1,
    "routes": [{"path": "/v1/**", "scopes": ["orders:read"]}],
    "keys": [
        {"id": "ed", "name": "Ed", "meta": {"team": "a"}, "scopes": ["orders:*"],
         "signing": {"alg": "ed25519", "public_key": b64(pk.as_bytes())}},
        {"id": "hm", "scopes": ["orders:read"], "signing": {"alg": "hmac-sha256", "secret": b64(&HMAC)}}
    ]});
    (
        WasmVerifier::new(ks.to_string().as_bytes(), None).unwrap(),
        ed,
    )
}

fn signed(req: Request, key: SignerKey, keyid: &str, nonce: Option<&str>) -> Vec<(String, String)> {
    let mut s = Signer::new(key, keyid, UnixTime::from_secs(NOW));
    if let Some(n) = nonce {
        s = s.nonce(n);
    }
    let mut req = req;
    s.sign(&req).unwrap().apply(&mut req);
    req.headers()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn pairs(h: &[(String, String)]) -> Vec<(&str, &str)> {
    h.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
}

#[wasm_bindgen_test]
fn ed25519_waits_for_the_runtime_and_resumes_where_it_stopped() {
    let (mut v, ed) = signing_verifier();
    let url = "https://api.example.com/v1/orders/1";
    let h = signed(Request::new("GET", url).unwrap(), ed, "ed", None);
    let o = run(&mut v, "GET", url, "", &pairs(&h), RUN_EXTERNAL_ED25519);
    assert_eq!(o.kind(), NEED_ED25519);
    assert_eq!(
        o.head[2], 1,
        "the job names its key (index 0), for the runtime's key cache"
    );
    let job = o.text.clone();
    assert!(job.len() > 96);
    let handle = o.handle();
    assert_eq!(v.paused_count(), 1);
    // The runtime says valid: the decision continues (state, route, scopes) and allows.
    assert_eq!(v.resume_verify(handle, 1), ALLOWED);
    let o = Out::read();
    assert!(o.has(FLAG_SIGNATURE) && o.has(FLAG_ALG));
    assert_eq!(o.fields[0], "sig1");
    assert_eq!(o.fields[1], "ed25519");
    assert_eq!(&o.fields[2..], ["@method", "@target-uri"]);
    assert_eq!(o.float(0), NOW as f64);
    assert_eq!(v.paused_count(), 0);
    // A handle answers once.
    assert_eq!(v.resume_verify(handle, 1), ERROR);
    assert_eq!(Out::read().error(), "ERR_INTERNAL");
    // Invalid per the runtime: refused. "Cannot say": verify_strict decides here.
    for (answer, want) in [(0, REFUSED), (2, ALLOWED)] {
        let o = run(&mut v, "GET", url, "", &pairs(&h), RUN_EXTERNAL_ED25519);
        assert_eq!(v.resume_verify(o.handle(), answer), want);
    }
    // Abandoned: nothing is left behind.
    let o = run(&mut v, "GET", url, "", &pairs(&h), RUN_EXTERNAL_ED25519);
    v.abandon(o.handle());
    assert_eq!(v.paused_count(), 0);
    // Without the runtime's Ed25519 the module verifies in place.
    assert_eq!(run(&mut v, "GET", url, "", &pairs(&h), 0).kind(), ALLOWED);
}

#[wasm_bindgen_test]
fn a_signature_refused_by_its_encoding_never_reaches_the_runtime() {
    let (mut v, ed) = signing_verifier();
    let url = "https://api.example.com/v1/orders/1";
    let h = signed(Request::new("GET", url).unwrap(), ed, "ed", None);
    // R replaced by the identity (small order): refused without a job.
    let h: Vec<(String, String)> = h
        .into_iter()
        .map(|(n, val)| {
            if n != "signature" {
                return (n, val);
            }
            let mut sig = [0u8; 64];
            sig[0] = 1;
            let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, sig);
            (n, format!("sig1=:{b64}:"))
        })
        .collect();
    let o = run(&mut v, "GET", url, "", &pairs(&h), RUN_EXTERNAL_ED25519);
    assert_eq!(o.reason(), "signature_invalid");
}

#[wasm_bindgen_test]
fn a_body_is_asked_for_last_and_its_digests_decide() {
    let (mut v, _) = signing_verifier();
    let url = "https://api.example.com/v1/orders";
    let body = b"{\"hello\": \"world\"}";
    let hmac = SignerKey::HmacSha256(HmacSecret::new(HMAC.to_vec()).unwrap());
    let req = Request::new("POST", url).unwrap().with_body(body.to_vec());
    let h = signed(req, hmac, "hm", None);
    let o = run(
        &mut v,
        "POST",
        url,
        "",
        &pairs(&h),
        RUN_BODY | RUN_EXTERNAL_ED25519,
    );
    assert_eq!(o.kind(), NEED_BODY, "{o:?}");
    assert!(o.has(FLAG_SHA256) && !o.has(FLAG_SHA512));
    let good = <sha2::Sha256 as sha2::Digest>::digest(body);
    let mut digests = [0u8; 96];
    digests[..32].copy_from_slice(&good);
    io::set_input(&digests);
    assert_eq!(v.resume_body(o.handle(), 1, body.len() as f64), ALLOWED);
    // A body that does not match: digest_mismatch.
    let o = run(
        &mut v,
        "POST",
        url,
        "",
        &pairs(&h),
        RUN_BODY | RUN_EXTERNAL_ED25519,
    );
    digests[0] ^= 1;
    io::set_input(&digests);
    assert_eq!(v.resume_body(o.handle(), 1, body.len() as f64), REFUSED);
    assert_eq!(Out::read().reason(), "digest_mismatch");
    // A forged signature is refused before the body is asked for.
    let mut forged = h.clone();
    for (n, val) in &mut forged {
        if n == "signature" {
            *val = format!("sig1=:{}:", "A".repeat(43) + "=");
        }
    }
    let o = run(
        &mut v,
        "POST",
        url,
        "",
        &pairs(&forged),
        RUN_BODY | RUN_EXTERNAL_ED25519,
    );
    assert_eq!(o.reason(), "signature_invalid");
}

#[wasm_bindgen_test]
fn the_outer_store_claims_the_nonce_and_its_refusal_is_the_verifiers() {
    let (mut v, _) = signing_verifier();
    let url = "https://api.example.com/v1/orders/2";
    let hmac = SignerKey::HmacSha256(HmacSecret::new(HMAC.to_vec()).unwrap());
    let h = signed(Request::new("GET", url).unwrap(), hmac, "hm", Some("n-1"));
    let o = run(&mut v, "GET", url, "", &pairs(&h), RUN_CLAIM);
    assert_eq!(o.kind(), NEED_CLAIM);
    assert_eq!(o.fields, ["hm", "n-1"]);
    assert_eq!(o.head[1], 0, "kind: signature");
    assert_eq!(o.float(2), (NOW + 300 + 30) as f64);
    assert_eq!(v.resume_claim(o.handle(), false), REFUSED);
    let o = Out::read();
    assert_eq!(o.reason(), "nonce_replayed");
    assert!(o.has(FLAG_ACCEPT_SIGNATURE));
    assert_eq!(o.head[2], 2, "the proven key");
}

/// `signing_verifier`'s set at `revision`, with key `hm` in `status` and one more key.
fn signing_set(revision: u64, hm_status: &str) -> String {
    let b64 = crate::encoding_util::b64url_encode;
    json!({"keygate": 1, "revision": revision,
    "routes": [{"path": "/v1/**", "scopes": ["orders:read"]}],
    "keys": [
        {"id": "new", "api_key_hash": crate::ApiKeyDigest::of("x").to_string()},
        {"id": "hm", "status": hm_status, "scopes": ["orders:read"], "signing": {"alg": "hmac-sha256", "secret": b64(&HMAC)}}
    ]})
    .to_string()
}

/// Answers every Ed25519 job with "valid" (as a runtime would for a signature that verifies
/// with the job's key) until the decision ends or waits for something else.
fn answer_jobs(v: &mut WasmVerifier, mut o: Out) -> Out {
    while o.kind() == NEED_ED25519 {
        v.resume_verify(o.handle(), 2);
        o = Out::read();
    }
    o
}

#[wasm_bindgen_test]
fn an_allowed_decision_that_waited_through_an_update_is_made_again_under_the_set_in_use() {
    // The key is gone from the set in use when the runtime answers: refused, not allowed under
    // the set the decision started with.
    let (mut v, ed) = signing_verifier();
    let url = "https://api.example.com/v1/orders/3";
    let h = signed(Request::new("GET", url).unwrap(), ed, "ed", None);
    let o = run(&mut v, "GET", url, "", &pairs(&h), RUN_EXTERNAL_ED25519);
    assert_eq!((o.kind(), o.head[18]), (NEED_ED25519, 0));
    assert_eq!(
        v.update(signing_set(2, "active").as_bytes()).unwrap(),
        "replaced"
    );
    assert_eq!(v.key_set_serial(), 1);
    v.resume_verify(o.handle(), 1);
    let o = answer_jobs(&mut v, Out::read());
    assert_eq!(o.reason(), "signature_invalid", "{o:?}");
    assert_eq!(o.head[18], 1, "decided under the set in use");
    assert_eq!(v.paused_count(), 0);
}

#[wasm_bindgen_test]
fn a_key_revoked_while_its_body_arrives_is_refused_when_the_digests_come() {
    let url = "https://api.example.com/v1/orders";
    let body = b"{\"n\": 1}";
    let hmac = || SignerKey::HmacSha256(HmacSecret::new(HMAC.to_vec()).unwrap());
    let req = Request::new("POST", url).unwrap().with_body(body.to_vec());
    let h = signed(req, hmac(), "hm", None);
    let mut digests = [0u8; 96];
    digests[..32].copy_from_slice(&<sha2::Sha256 as sha2::Digest>::digest(body));
    for (status, want) in [
        ("revoked", Some("key_revoked")),
        ("disabled", Some("key_disabled")),
        ("active", None),
    ] {
        let mut v = WasmVerifier::new(signing_set(1, "active").as_bytes(), None).unwrap();
        let o = run(&mut v, "POST", url, "", &pairs(&h), RUN_BODY);
        assert_eq!(o.kind(), NEED_BODY, "{o:?}");
        assert_eq!(
            v.update(signing_set(2, status).as_bytes()).unwrap(),
            "replaced"
        );
        io::set_input(&digests);
        v.resume_body(o.handle(), 1, body.len() as f64);
        let o = Out::read();
        match want {
            Some(reason) => assert_eq!(o.reason(), reason, "{status}"),
            None => {
                // Allowed under the set in use: its key index is that set's, named by serial.
                assert_eq!(o.kind(), ALLOWED, "{o:?}");
                assert_eq!((o.head[2], o.head[18], o.has(FLAG_KEY_TEXT)), (2, 1, false));
            }
        }
        assert_eq!(v.paused_count(), 0);
    }
}

#[wasm_bindgen_test]
fn a_decision_made_again_keeps_the_nonce_it_holds_and_asks_the_outer_store_once() {
    let (mut v, _) = signing_verifier();
    let url = "https://api.example.com/v1/orders";
    let body = b"{}";
    let hmac = SignerKey::HmacSha256(HmacSecret::new(HMAC.to_vec()).unwrap());
    let req = Request::new("POST", url).unwrap().with_body(body.to_vec());
    let h = signed(req, hmac, "hm", Some("n-9"));
    let o = run(&mut v, "POST", url, "", &pairs(&h), RUN_BODY | RUN_CLAIM);
    assert_eq!(o.kind(), NEED_BODY);
    assert_eq!(
        v.update(signing_set(2, "active").as_bytes()).unwrap(),
        "replaced"
    );
    let mut digests = [0u8; 96];
    digests[..32].copy_from_slice(&<sha2::Sha256 as sha2::Digest>::digest(body));
    io::set_input(&digests);
    assert_eq!(v.resume_body(o.handle(), 1, body.len() as f64), NEED_CLAIM);
    // The outer store is asked once; the decision made again under revision 2 holds the nonce.
    assert_eq!(
        v.resume_claim(Out::read().handle(), true),
        ALLOWED,
        "{:?}",
        Out::read()
    );
    let o = Out::read();
    assert_eq!((o.head[2], o.head[18]), (2, 1));
    assert_eq!(v.paused_count(), 0);
    // The same request again is a replay.
    let o = run(&mut v, "POST", url, "", &pairs(&h), RUN_BODY | RUN_CLAIM);
    io::set_input(&digests);
    assert_eq!(v.resume_body(o.handle(), 1, body.len() as f64), REFUSED);
    assert_eq!(Out::read().reason(), "nonce_replayed");
}

#[wasm_bindgen_test]
fn a_refusal_that_waited_through_an_update_stands_and_names_its_own_key() {
    let (mut v, _) = signing_verifier();
    let url = "https://api.example.com/v1/orders/2";
    let hmac = SignerKey::HmacSha256(HmacSecret::new(HMAC.to_vec()).unwrap());
    let h = signed(Request::new("GET", url).unwrap(), hmac, "hm", Some("n-2"));
    let o = run(&mut v, "GET", url, "", &pairs(&h), RUN_CLAIM);
    assert_eq!(o.kind(), NEED_CLAIM);
    let next = json!({"keygate": 1, "revision": 2, "keys": [{"id": "other", "api_key_hash": crate::ApiKeyDigest::of("x").to_string()}]});
    assert_eq!(v.update(next.to_string().as_bytes()).unwrap(), "replaced");
    assert_eq!(v.resume_claim(o.handle(), false), REFUSED);
    let o = Out::read();
    assert_eq!(o.reason(), "nonce_replayed");
    assert!(o.has(FLAG_KEY_TEXT) && o.has(FLAG_ROUTE_TEXT));
    let key: Value = serde_json::from_str(&o.fields[2]).unwrap();
    assert_eq!(key["id"], "hm");
    assert_eq!(o.head[18], 0, "the serial of the set its indices refer to");
}

#[wasm_bindgen_test]
fn what_the_signer_signs_is_allowed_with_the_body_hashed_in_wasm_or_by_the_runtime() {
    use super::sig::{WasmBodyHasher, generate_signing_key, sign_request};
    for alg in ["ed25519", "hmac-sha256"] {
        let key: Value = serde_json::from_str(&generate_signing_key(alg).unwrap()).unwrap();
        let ks =
            json!({"keygate": 1, "revision": 1, "keys": [{"id": "c", "signing": key["signing"]}]});
        let mut v = WasmVerifier::new(ks.to_string().as_bytes(), None).unwrap();
        let url = "https://api.example.com/v1/x?y=1";
        let req = json!({"method": "POST", "url": url, "headers": [["content-type", "application/json"]]});
        let body = b"{\"qty\": 2}".to_vec();
        let opts = json!({"keyid": "c", "created_ms": NOW_MS, "nonce": true});
        let out: Value = serde_json::from_str(
            &sign_request(
                &req.to_string(),
                Some(body.clone()),
                &key.to_string(),
                &opts.to_string(),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(out["headers"][0][0], "Content-Digest");
        let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
        for h in out["headers"].as_array().unwrap() {
            headers.push((
                h[0].as_str().unwrap().to_ascii_lowercase(),
                h[1].as_str().unwrap().to_string(),
            ));
        }
        let mut hasher =
            WasmBodyHasher::new(Some(out["headers"][0][1].as_str().unwrap().to_string()));
        hasher.update(&body[..3]);
        hasher.update(&body[3..]);
        let digests = hasher.finish();
        let o = run(&mut v, "POST", url, "", &pairs(&headers), RUN_BODY);
        assert_eq!(o.kind(), NEED_BODY, "{alg}: {o:?}");
        io::set_input(&digests);
        assert_eq!(
            v.resume_body(o.handle(), 1, body.len() as f64),
            ALLOWED,
            "{alg}"
        );
        assert!(Out::read().has(FLAG_NONCE));
        // The same nonce again: a replay, refused with Accept-Signature.
        let o = run(&mut v, "POST", url, "", &pairs(&headers), RUN_BODY);
        io::set_input(&digests);
        assert_eq!(v.resume_body(o.handle(), 1, body.len() as f64), REFUSED);
        let o = Out::read();
        assert_eq!(o.reason(), "nonce_replayed");
        assert!(o.has(FLAG_ACCEPT_SIGNATURE));
    }
}

/// A pausing request for each of two keys: the Ed25519 key `ed` (waits for the runtime) and the
/// HMAC key `hm` with a nonce (waits for the outer store's claim).
fn two_waiting(v: &mut WasmVerifier, ed: SignerKey, nonce: &str) -> (Out, Out) {
    let url = "https://api.example.com/v1/orders/7";
    let by_ed = signed(Request::new("GET", url).unwrap(), ed, "ed", None);
    let hmac = SignerKey::HmacSha256(HmacSecret::new(HMAC.to_vec()).unwrap());
    let by_hm = signed(Request::new("GET", url).unwrap(), hmac, "hm", Some(nonce));
    let a = run(
        v,
        "GET",
        url,
        "",
        &pairs(&by_ed),
        RUN_EXTERNAL_ED25519 | RUN_CLAIM,
    );
    assert_eq!(a.kind(), NEED_ED25519, "{a:?}");
    let b = run(
        v,
        "GET",
        url,
        "",
        &pairs(&by_hm),
        RUN_EXTERNAL_ED25519 | RUN_CLAIM,
    );
    assert_eq!(b.kind(), NEED_CLAIM, "{b:?}");
    (a, b)
}

#[wasm_bindgen_test]
fn a_handle_names_one_decision_past_16_and_32_bits() {
    // The handle that came after 65,535 (and after 2^32 - 1) must not name the first
    // decision: before, slot 65,536's handle named slot 0.
    for start in [0, 65_535, (1 << 32) - 1, (1 << 53) - 2] {
        let (mut v, ed) = signing_verifier();
        v.paused.skip_to(start);
        let (a, b) = two_waiting(&mut v, ed, &format!("n-{start}"));
        assert_eq!((a.handle(), b.handle()), (start as f64, (start + 1) as f64));
        // Neither a handle's low bits nor anything that is not a whole number names a decision.
        for bogus in [
            (start + 1) as f64 % 65_536.0,
            (start + 1) as f64 % 4_294_967_296.0,
            -1.0,
            0.5,
            f64::NAN,
            f64::INFINITY,
            2f64.powi(53),
        ] {
            if bogus == a.handle() || bogus == b.handle() {
                continue;
            }
            assert_eq!(v.resume_claim(bogus, true), ERROR, "{start}: {bogus}");
        }
        assert_eq!(v.paused_count(), 2);
        // Each handle resumes its own decision: the HMAC key's claim, then the Ed25519 job.
        assert_eq!(v.resume_claim(b.handle(), true), ALLOWED);
        assert_eq!(Out::read().head[2], 2, "key hm");
        assert_eq!(v.resume_verify(a.handle(), 1), ALLOWED);
        assert_eq!(Out::read().head[2], 1, "key ed");
        assert_eq!(v.paused_count(), 0);
    }
    // The last handle below 2^53 is the last one: then a decision that would wait fails closed.
    let (mut v, ed) = signing_verifier();
    v.paused.skip_to(1 << 53);
    let url = "https://api.example.com/v1/orders/7";
    let h = signed(Request::new("GET", url).unwrap(), ed, "ed", None);
    assert_eq!(
        run(&mut v, "GET", url, "", &pairs(&h), RUN_EXTERNAL_ED25519).error(),
        "ERR_VERIFIER_BUSY"
    );
}

#[wasm_bindgen_test]
fn past_the_waiting_limit_a_signed_request_fails_closed() {
    let (mut v, ed) = signing_verifier();
    v.set_waiting_limit(2, 0);
    let (a, _) = two_waiting(&mut v, ed.clone(), "n-1");
    let url = "https://api.example.com/v1/orders/7";
    let h = signed(Request::new("GET", url).unwrap(), ed, "ed", None);
    let o = run(&mut v, "GET", url, "", &pairs(&h), RUN_EXTERNAL_ED25519);
    assert_eq!(o.error(), "ERR_VERIFIER_BUSY");
    assert!(o.fields[0].contains("2 decisions already wait"), "{o:?}");
    assert_eq!(v.paused_count(), 2, "the refused one is not kept");
    // A request that needs no wait is still decided; one freed slot takes the next decision.
    assert_eq!(run(&mut v, "GET", url, "", &pairs(&h), 0).kind(), ALLOWED);
    v.abandon(a.handle());
    assert_eq!(
        run(&mut v, "GET", url, "", &pairs(&h), RUN_EXTERNAL_ED25519).kind(),
        NEED_ED25519
    );
    assert_eq!(super::decide::MAX_WAITING, 4096);
}

#[wasm_bindgen_test]
fn a_full_verifier_drops_decisions_that_waited_over_a_minute() {
    // Decisions nobody will answer (a runtime dropped their promises, or a nonce store never
    // answers) must not keep the table full for good.
    let (mut v, ed) = signing_verifier();
    v.set_waiting_limit(2, 0);
    CLOCK.set(1_000.0);
    let (a, b) = two_waiting(&mut v, ed.clone(), "n-old");
    let url = "https://api.example.com/v1/orders/7";
    let h = signed(Request::new("GET", url).unwrap(), ed, "ed", None);
    // Full, and nothing has waited a minute: the new one fails closed.
    CLOCK.set(1_000.0 + MAX_WAIT_MS - 1.0);
    assert_eq!(
        run(&mut v, "GET", url, "", &pairs(&h), RUN_EXTERNAL_ED25519).error(),
        "ERR_VERIFIER_BUSY"
    );
    assert_eq!(v.paused_count(), 2);
    // Over a minute: both are dropped and the new one waits.
    CLOCK.set(1_000.0 + MAX_WAIT_MS);
    let c = run(&mut v, "GET", url, "", &pairs(&h), RUN_EXTERNAL_ED25519);
    assert_eq!(c.kind(), NEED_ED25519);
    assert_eq!(v.paused_count(), 1);
    // A dropped decision's request is told why, and fails closed.
    assert_eq!(v.resume_verify(a.handle(), 1), ERROR);
    let o = Out::read();
    assert_eq!(o.error(), "ERR_VERIFIER_BUSY");
    assert!(o.fields[0].contains("waited over 60 s"), "{o:?}");
    assert_eq!(v.resume_claim(b.handle(), true), ERROR);
    assert_eq!(v.resume_verify(c.handle(), 1), ALLOWED);
    // Not full: nothing is dropped however old (a slow upload is not cut short).
    CLOCK.set(1_000.0);
    let d = run(&mut v, "GET", url, "", &pairs(&h), RUN_EXTERNAL_ED25519);
    CLOCK.set(1_000_000.0);
    assert_eq!(
        run(&mut v, "GET", url, "", &pairs(&h), RUN_EXTERNAL_ED25519).kind(),
        NEED_ED25519
    );
    assert_eq!(v.resume_verify(d.handle(), 1), ALLOWED);
    CLOCK.set(0.0);
}

const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A verifier whose `/hooks` route accepts the webhooks of key `hook` (v1).
fn webhook_verifier() -> WasmVerifier {
    let ks = json!({"keygate": 1, "revision": 1,
        "keys": [{"id": "hook", "webhook": {"secret": WHSEC}, "scopes": ["events"]}],
        "routes": [{"methods": ["POST"], "path": "/hooks", "webhook_keys": ["hook"]}]});
    WasmVerifier::new(ks.to_string().as_bytes(), None).unwrap()
}

/// The three header fields of a delivery signed with `WHSEC` at `ts`.
fn delivery(id: &str, ts: i64, body: &[u8]) -> Vec<(String, String)> {
    let key = crate::webhook::WebhookSigner::from_text(WHSEC).unwrap();
    let signed = crate::webhook::sign_webhook(&[key], id, ts, body).unwrap();
    signed
        .headers()
        .into_iter()
        .map(|(n, v)| (n.to_string(), v))
        .collect()
}

/// Feeds `body` in pieces of `piece` bytes to a decision waiting for it, then its end.
fn feed(v: &mut WasmVerifier, mut o: Out, body: &[u8], piece: usize) -> Out {
    for chunk in body.chunks(piece) {
        assert_eq!(o.kind(), NEED_WEBHOOK_BODY, "{o:?}");
        io::set_input(chunk);
        v.resume_webhook_body(o.handle(), chunk.len() as u32, false);
        o = Out::read();
    }
    assert_eq!(o.kind(), NEED_WEBHOOK_BODY, "{o:?}");
    v.resume_webhook_body(o.handle(), 0, true);
    Out::read()
}

#[wasm_bindgen_test]
fn a_webhook_body_streams_into_the_module_and_the_delivery_is_numbers_and_two_fields() {
    let mut v = webhook_verifier();
    let url = "https://api.example.com/hooks";
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let h = delivery("msg_1", NOW - 5, &body);
    let o = run(&mut v, "POST", url, "", &pairs(&h), RUN_BODY);
    assert_eq!(
        o.kind(),
        NEED_WEBHOOK_BODY,
        "asked for once the cheap checks passed"
    );
    let o = feed(&mut v, o, &body, 65_536);
    assert_eq!(o.kind(), ALLOWED, "{o:?}");
    assert!(o.has(FLAG_WEBHOOK) && !o.has(FLAG_SIGNATURE));
    assert_eq!(o.fields, ["msg_1"]);
    assert_eq!(
        crate::webhook::Scheme::ALL[o.head[1] as usize].as_str(),
        "v1"
    );
    assert_eq!(o.float(0), (NOW - 5) as f64);
    assert_eq!(o.head[2], 1, "key 0");
    assert_eq!(v.paused_count(), 0);
    // The same delivery again is a replay; a tampered body does not verify.
    let o = run(&mut v, "POST", url, "", &pairs(&h), RUN_BODY);
    assert_eq!(feed(&mut v, o, &body, 65_536).reason(), "nonce_replayed");
    let h = delivery("msg_2", NOW - 5, &body);
    let o = run(&mut v, "POST", url, "", &pairs(&h), RUN_BODY);
    let mut tampered = body.clone();
    tampered[199_999] ^= 1;
    let o = feed(&mut v, o, &tampered, 4096);
    assert_eq!(o.reason(), "signature_invalid");
    assert_eq!(o.head[2], 0, "no key named before proof");
    assert_eq!(v.paused_count(), 0);
}

#[wasm_bindgen_test]
fn a_webhook_refused_by_its_cheap_checks_never_asks_for_the_body() {
    let mut v = webhook_verifier();
    let url = "https://api.example.com/hooks";
    let stale = delivery("msg_3", NOW - 3600, b"{}");
    let o = run(&mut v, "POST", url, "", &pairs(&stale), RUN_BODY);
    assert_eq!(o.reason(), "signature_too_old");
    let o = run(
        &mut v,
        "POST",
        url,
        "",
        &[("webhook-id", "msg_4")],
        RUN_BODY,
    );
    assert_eq!(o.reason(), "malformed_credentials");
    // Abandoned while waiting for its body: nothing is left behind.
    let h = delivery("msg_5", NOW, b"{}");
    let o = run(&mut v, "POST", url, "", &pairs(&h), RUN_BODY);
    assert_eq!(o.kind(), NEED_WEBHOOK_BODY);
    v.abandon(o.handle());
    assert_eq!(v.paused_count(), 0);
    // Without a body (none sent), it is verified over the empty body at once.
    let h = delivery("msg_6", NOW, b"");
    assert_eq!(run(&mut v, "POST", url, "", &pairs(&h), 0).kind(), ALLOWED);
}

#[wasm_bindgen_test]
fn a_webhook_claim_is_marked_as_one_and_an_outer_refusal_is_a_replay() {
    let mut v = webhook_verifier();
    let url = "https://api.example.com/hooks";
    let h = delivery("msg_7", NOW - 1, b"{\"a\":1}");
    let o = run(&mut v, "POST", url, "", &pairs(&h), RUN_BODY | RUN_CLAIM);
    let o = feed(&mut v, o, b"{\"a\":1}", 3);
    assert_eq!(o.kind(), NEED_CLAIM);
    assert_eq!(
        crate::sig::ClaimKind::ALL[o.head[1] as usize].as_str(),
        "webhook"
    );
    assert_eq!(o.fields, ["", &format!("msg_7.{}", NOW - 1)]);
    assert_eq!(v.resume_claim(o.handle(), false), REFUSED);
    assert_eq!(Out::read().reason(), "nonce_replayed");
    let h = delivery("msg_8", NOW - 1, b"{}");
    let o = run(&mut v, "POST", url, "", &pairs(&h), RUN_BODY | RUN_CLAIM);
    let o = feed(&mut v, o, b"{}", 64);
    assert_eq!(v.resume_claim(o.handle(), true), ALLOWED);
    assert!(Out::read().has(FLAG_WEBHOOK));
}

#[wasm_bindgen_test]
fn a_webhook_delivery_that_streamed_through_an_update_is_decided_under_the_set_in_use() {
    // The body streams once: decided again, the keys it proved count under the set in use
    // only with the same id and the same secret, then that set's state, routes and nonce.
    let url = "https://api.example.com/hooks";
    let body = b"{\"type\": \"invoice.paid\"}";
    let other = "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=";
    let set = |status: &str, secret: &str| {
        json!({"keygate": 1, "revision": 2,
            "keys": [{"id": "extra", "api_key_hash": crate::ApiKeyDigest::of("x").to_string()},
                     {"id": "hook", "status": status, "webhook": {"secret": secret}, "scopes": ["events"]}],
            "routes": [{"methods": ["POST"], "path": "/hooks", "webhook_keys": ["hook"]}]})
        .to_string()
    };
    for (next, want) in [
        (set("revoked", WHSEC), Some("key_revoked")),
        (set("active", other), Some("signature_invalid")),
        (set("active", WHSEC), None),
    ] {
        let mut v = webhook_verifier();
        let h = delivery("msg_1", NOW, body);
        let o = run(&mut v, "POST", url, "", &pairs(&h), RUN_BODY | RUN_CLAIM);
        assert_eq!(o.kind(), NEED_WEBHOOK_BODY, "{o:?}");
        // Half the body, then the update, then the rest.
        io::set_input(&body[..8]);
        v.resume_webhook_body(o.handle(), 8, false);
        let o = Out::read();
        assert_eq!(v.update(next.as_bytes()).unwrap(), "replaced");
        io::set_input(&body[8..]);
        v.resume_webhook_body(o.handle(), (body.len() - 8) as u32, false);
        v.resume_webhook_body(Out::read().handle(), 0, true);
        let mut o = Out::read();
        if o.kind() == NEED_CLAIM {
            // The outer store is asked once (under the set the delivery started with).
            v.resume_claim(o.handle(), true);
            o = Out::read();
        }
        match want {
            Some(reason) => assert_eq!(o.reason(), reason, "{o:?}"),
            None => {
                assert_eq!(o.kind(), ALLOWED, "{o:?}");
                assert!(o.has(FLAG_WEBHOOK));
                assert_eq!(
                    (o.head[2], o.head[18]),
                    (2, 1),
                    "key hook of the set in use"
                );
            }
        }
        assert_eq!(v.paused_count(), 0);
    }
}

/// Runs a request twice: as JS writes a request without signature fields (only the fields
/// the decision reads are kept) and as it writes one with (every field kept); both must
/// write the same output. Returns it.
fn run_both(v: &mut WasmVerifier, url: &str, headers: &[(&str, &str)]) -> Out {
    let kept = run(v, "GET", url, "", headers, RUN_SIGNED);
    let unread = run(v, "GET", url, "", headers, 0);
    assert_eq!(
        (kept.head, &kept.text),
        (unread.head, &unread.text),
        "{headers:?}"
    );
    unread
}

#[wasm_bindgen_test]
fn fields_a_decision_does_not_read_are_counted_and_checked_but_not_kept() {
    let mut v = demo();
    let url = "https://gw.example/api/orders/1";
    let auth = format!("Bearer {READER}");
    let names: Vec<String> = (0..256).map(|i| format!("x-f{i}")).collect();
    let mut fields: Vec<(&str, &str)> = vec![("authorization", &auth)];
    fields.extend(names.iter().take(255).map(|n| (n.as_str(), "v")));
    assert_eq!(run_both(&mut v, url, &fields).kind(), ALLOWED);
    fields.push(("x-f255", "v"));
    assert_eq!(run_both(&mut v, url, &fields).reason(), "malformed_request");
    // Every spelling and defect of a field the decision does not read is still refused.
    for bad in [
        vec![("authorization", auth.as_str()), ("bad name", "v")],
        vec![("authorization", auth.as_str()), ("x-crlf", "a\r\nb")],
        vec![("authorization", auth.as_str()), ("x-lf", "a\nb")],
        vec![("x-obs-fold", "a\r\n b"), ("authorization", auth.as_str())],
    ] {
        let o = run_both(&mut v, url, &bad);
        assert_eq!(o.reason(), "malformed_request", "{bad:?}");
    }
    // The fields it reads, in any case and duplicated, are judged as when every field is kept.
    for reads in [
        vec![("Authorization", auth.as_str()), ("X-API-Key", READER)],
        vec![
            ("authorization", auth.as_str()),
            ("AUTHORIZATION", auth.as_str()),
        ],
        vec![
            ("authorization", auth.as_str()),
            ("X-HTTP-Method-Override", "DELETE"),
        ],
        vec![
            ("authorization", auth.as_str()),
            ("x-method-override", "post"),
        ],
        vec![("authorization", auth.as_str()), ("Webhook-Id", "msg_1")],
        vec![("authorization", auth.as_str()), ("webhook-timestamp", "1")],
        vec![
            ("accept", "*/*"),
            ("x-api-key", READER),
            ("x-api-key", READER),
        ],
        vec![
            ("authorization", auth.as_str()),
            ("content-digest", "sha-256=:AA==:"),
        ],
    ] {
        run_both(&mut v, url, &reads);
    }
}

#[wasm_bindgen_test]
fn a_signature_field_after_unkept_fields_starts_the_reading_over_keeping_every_field() {
    use crate::sig::ComponentId;
    let (mut v, _) = signing_verifier();
    let url = "https://api.example.com/v1/orders/1";
    let hmac = SignerKey::HmacSha256(HmacSecret::new(HMAC.to_vec()).unwrap());
    // Covers `accept` and `zz-late`, which sort before and after the signature fields.
    let req = Request::new("GET", url)
        .unwrap()
        .with_header("accept", "application/json")
        .with_header("zz-late", "1");
    let components = ["@method", "@target-uri", "accept", "zz-late"]
        .iter()
        .map(|c| ComponentId::parse(c).unwrap())
        .collect();
    let mut s = Signer::new(hmac, "hm", UnixTime::from_secs(NOW)).components(components);
    s = s.nonce("n-late");
    let mut signed_req = req;
    s.sign(&signed_req).unwrap().apply(&mut signed_req);
    let h: Vec<(String, String)> = signed_req
        .headers()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    let mut sorted = pairs(&h);
    sorted.sort();
    assert!(sorted[0].0 == "accept" && sorted.last().unwrap().0 == "zz-late");
    // JS said "no signature field" (a hint it never trusts): read again, keeping every field.
    let o = run(&mut v, "GET", url, "", &sorted, 0);
    assert_eq!(o.kind(), ALLOWED, "{o:?}");
    // The same nonce again: its replay is refused, with the signature read the same way.
    let o = run(&mut v, "GET", url, "", &sorted, RUN_SIGNED);
    assert_eq!(o.reason(), "nonce_replayed", "{o:?}");
    // A covered field missing is refused, not read as absent from an unkept list.
    let without: Vec<(&str, &str)> = sorted
        .iter()
        .copied()
        .filter(|(n, _)| *n != "accept")
        .collect();
    let o = run(&mut v, "GET", url, "", &without, 0);
    assert_eq!(o.kind(), REFUSED, "{o:?}");
}

#[wasm_bindgen_test]
fn a_key_for_the_js_key_table_is_json_written_by_hand_that_reads_back_exactly() {
    // A name with every character a JSON string must escape, a meta object as the set holds
    // it (compact text), the ends of the time range RFC 3339 can write.
    let name = "q\"b\\s/t\tn\nc\u{1}\u{1f}é\u{2028}😀";
    let meta = json!({"tier": "gold", "n": [1, -2.5, 1e300, 12_345_678_901_234_567_u64], "s": "\u{0}\"", "o": {}});
    let set = json!({"keygate": 1, "revision": 1, "keys": [
        {"id": "k.1:_-", "api_key_hash": format!("sha256:{}A", "A".repeat(42)), "name": name, "meta": meta,
         "expires_at": "9999-12-31T23:59:59Z", "scopes": ["orders:read", "a/b*"]},
        {"id": "k2", "api_key_hash": format!("sha256:{}", "B".repeat(42) + "A"), "expires_at": "1969-12-31T23:59:59Z"},
        {"id": "k3", "api_key_hash": format!("sha256:{}", "C".repeat(42) + "A")},
    ]});
    let v = WasmVerifier::load(set.to_string().as_bytes(), None, None, None).unwrap();
    let k: Value = serde_json::from_str(&v.key_info(0).unwrap()).unwrap();
    assert_eq!(
        k,
        json!({"id": "k.1:_-", "name": name, "expires": 253_402_300_799_i64, "meta": meta, "scopes": ["orders:read", "a/b*"]})
    );
    let k: Value = serde_json::from_str(&v.key_info(1).unwrap()).unwrap();
    assert_eq!(k["expires"], json!(-1));
    let k: Value = serde_json::from_str(&v.key_info(2).unwrap()).unwrap();
    assert_eq!(
        k,
        json!({"id": "k3", "name": null, "expires": null, "meta": null, "scopes": []})
    );
    assert_eq!(v.key_info(3), None);
}
