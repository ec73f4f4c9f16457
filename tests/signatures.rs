#![cfg(not(target_arch = "wasm32"))]
//! Signed requests through the whole decision: the negative matrix (each covered component
//! changed after signing), malformed and hostile fields, time, algorithm and digest checks.

mod common;

use common::*;
use keygate::sig::Signer;
use keygate::{BodyHasher, DigestAlgorithm, UnixTime};
use serde_json::json;

const URL: &str = "https://api.example.com/v1/orders?id=7&b=x%20y";
const BODY: &[u8] = b"{\"qty\": 2}";

fn full_coverage() -> Signer {
    Signer::new(ed_key(), "ed", now()).components(components(&[
        "@method",
        "@target-uri",
        "@authority",
        "@scheme",
        "@path",
        "@query",
        "@request-target",
        "@query-param;name=\"id\"",
        "content-type",
        "content-digest",
        "x-custom;bs",
        "example-dict;key=\"a\"",
        "cache-status;sf",
    ]))
}

fn full_request() -> keygate::Request {
    let req = post(URL, BODY)
        .with_header("X-Custom", "one, two")
        .with_header("Example-Dict", "a=1, b=2")
        .with_header("Cache-Status", "ExampleCache; hit");
    sign_with(req, full_coverage())
}

#[test]
fn both_algorithms_and_defaults_pass() {
    let v = verifier();
    for (key, id) in [(ed_key(), "ed"), (hmac_key(), "hm")] {
        let d = v.decide(&signed(post(URL, BODY), key.clone(), id), &cx());
        assert!(d.allowed, "{id}: {d:?}");
        assert_eq!(d.key_id.as_deref(), Some(id));
        let get = keygate::Request::new("GET", URL).unwrap();
        assert!(
            v.decide(&signed(get, key, id), &cx()).allowed,
            "{id} without body"
        );
    }
    assert!(v.decide(&full_request(), &cx()).allowed);
}

#[test]
fn method_overrides_are_covered_with_the_method() {
    // The default signer covers the override fields a request carries, and the verifier, which
    // requires @method by default, wants them covered: an override added after signing (a GET
    // signed, a POST served by an origin that honours the override) is components_missing.
    let v = verifier();
    let get = || keygate::Request::new("GET", URL).unwrap();
    let with = |r: keygate::Request| r.with_header("X-HTTP-Method-Override", "POST");
    let d = v.decide(&signed(with(get()), ed_key(), "ed"), &cx());
    assert!(d.allowed, "{d:?}");
    let added = with(signed(get(), ed_key(), "ed"));
    let d = v.decide(&added, &cx());
    assert_eq!(
        d.reason.map(|r| r.code()),
        Some("components_missing"),
        "{d:?}"
    );
    assert!(
        d.message.contains("x-http-method-override"),
        "{}",
        d.message
    );
    // Covered by an explicit list, and a `_method` query bound by @target-uri: allowed.
    let explicit = Signer::new(ed_key(), "ed", now()).components(components(&[
        "@method",
        "@target-uri",
        "x-method-override;bs",
    ]));
    let r = keygate::Request::new("GET", "https://api.example.com/v1/orders?_method=PUT")
        .unwrap()
        .with_header("X-Method-Override", "PATCH");
    assert!(v.decide(&sign_with(r, explicit), &cx()).allowed);
}

#[test]
fn negative_matrix_each_covered_component_changed_after_signing() {
    let v = verifier();
    let req = full_request();
    let body = req.body().map(<[u8]>::to_vec);
    let keep = |n: &str, v: &str| -> Option<String> {
        let _ = n;
        Some(v.to_string())
    };
    let cases: Vec<(&str, keygate::Request, &str)> = vec![
        (
            "@method",
            rebuild(&req, "PUT", URL, keep, body.clone()),
            "signature_invalid",
        ),
        (
            "@path",
            rebuild(
                &req,
                "POST",
                &URL.replace("orders", "orderz"),
                keep,
                body.clone(),
            ),
            "signature_invalid",
        ),
        (
            "@query",
            rebuild(&req, "POST", &URL.replace("b=x", "b=z"), keep, body.clone()),
            "signature_invalid",
        ),
        (
            "@query-param",
            rebuild(
                &req,
                "POST",
                &URL.replace("id=7", "id=8"),
                keep,
                body.clone(),
            ),
            "signature_invalid",
        ),
        (
            "@authority",
            rebuild(
                &req,
                "POST",
                &URL.replace("api.", "app."),
                keep,
                body.clone(),
            ),
            "signature_invalid",
        ),
        (
            "@scheme",
            rebuild(
                &req,
                "POST",
                &URL.replace("https", "http"),
                keep,
                body.clone(),
            ),
            "signature_invalid",
        ),
        (
            "content-type",
            with_field(&req, "content-type", Some("text/plain")),
            "signature_invalid",
        ),
        (
            "content-type removed",
            with_field(&req, "content-type", None),
            "signature_invalid",
        ),
        (
            "x-custom;bs",
            with_field(&req, "x-custom", Some("one,two")),
            "signature_invalid",
        ),
        (
            "example-dict;key",
            with_field(&req, "example-dict", Some("a=2, b=2")),
            "signature_invalid",
        ),
        (
            "example-dict other member",
            with_field(&req, "example-dict", Some("a=1, b=3")),
            "allowed",
        ),
        (
            "cache-status;sf",
            with_field(&req, "cache-status", Some("OtherCache; hit")),
            "signature_invalid",
        ),
        (
            "cache-status;sf whitespace",
            with_field(&req, "cache-status", Some("ExampleCache;   hit")),
            "allowed",
        ),
        (
            "body",
            rebuild(&req, "POST", URL, keep, Some(b"{\"qty\": 3}".to_vec())),
            "digest_mismatch",
        ),
        (
            "content-digest",
            with_field(
                &req,
                "content-digest",
                Some(&keygate::sig::content_digest(
                    b"{}",
                    DigestAlgorithm::Sha256,
                )),
            ),
            "signature_invalid",
        ),
        (
            "content-digest removed",
            with_field(&req, "content-digest", None),
            "digest_missing",
        ),
        (
            "signature-input removed",
            with_field(&req, "signature-input", None),
            "malformed_credentials",
        ),
        (
            "signature removed",
            with_field(&req, "signature", None),
            "malformed_credentials",
        ),
    ];
    for (what, r, want) in cases {
        let d = v.decide(&r, &cx());
        assert_eq!(code(&d), want, "{what}: {}", d.message);
    }
    let bare = with_field(
        &with_field(&req, "signature", None),
        "signature-input",
        None,
    );
    assert_eq!(code(&v.decide(&bare, &cx())), "missing_credentials");
}

#[test]
fn malformed_fields_and_hostile_input() {
    let v = verifier();
    let base = keygate::Request::new("GET", URL).unwrap();
    let with = |input: &str, sig: &str| {
        base.clone()
            .with_header("Signature-Input", input)
            .with_header("Signature", sig)
    };
    let ok_input = "sig1=(\"@method\" \"@target-uri\");created=1764374400;keyid=\"ed\"";
    for (what, r, want) in [
        (
            "garbage base64",
            with(ok_input, "sig1=:@@@@:"),
            "malformed_credentials",
        ),
        (
            "not a dictionary",
            with("sig1=(((", "sig1=:AA==:"),
            "malformed_credentials",
        ),
        (
            "duplicate label",
            with(&format!("{ok_input}, {ok_input}"), "sig1=:AA==:"),
            "malformed_credentials",
        ),
        (
            "label mismatch",
            with(ok_input, "sig2=:AA==:"),
            "malformed_credentials",
        ),
        (
            "wrong length",
            with(ok_input, "sig1=:AAAA:"),
            "signature_invalid",
        ),
        (
            "no created",
            with(
                "sig1=(\"@method\" \"@target-uri\");keyid=\"ed\"",
                "sig1=:AA==:",
            ),
            "malformed_credentials",
        ),
        (
            "unsupported parameter",
            with(
                "sig1=(\"@method\";req \"@target-uri\");created=1764374400;keyid=\"ed\"",
                "sig1=:AA==:",
            ),
            "malformed_credentials",
        ),
        (
            "unknown derived",
            with(
                "sig1=(\"@nope\");created=1764374400;keyid=\"ed\"",
                "sig1=:AA==:",
            ),
            "malformed_credentials",
        ),
        // Before proof an unknown keyid is judged exactly like a known one.
        (
            "unknown keyid",
            with("sig1=();created=1764374400;keyid=\"nobody\"", "sig1=:AA==:"),
            "components_missing",
        ),
        (
            "known keyid",
            with("sig1=();created=1764374400;keyid=\"ed\"", "sig1=:AA==:"),
            "components_missing",
        ),
        (
            "unknown keyid, full coverage",
            with(
                "sig1=(\"@method\" \"@target-uri\");created=1764374400;keyid=\"nobody\"",
                "sig1=:AA==:",
            ),
            "signature_invalid",
        ),
        (
            "no keyid",
            with("sig1=();created=1764374400", "sig1=:AA==:"),
            "malformed_credentials",
        ),
    ] {
        let d = v.decide(&r, &cx());
        assert_eq!(code(&d), want, "{what}: {}", d.message);
    }
    // Huge and numerous values: refused, never a panic or a hang.
    let many: Vec<String> = (0..500).map(|i| format!("s{i}=()")).collect();
    assert_eq!(
        code(&v.decide(&with(&many.join(", "), "s0=:AA==:"), &cx())),
        "malformed_credentials"
    );
    let long_list = format!(
        "sig1=({});created=1764374400;keyid=\"ed\"",
        vec!["\"x\""; 100].join(" ")
    );
    assert_eq!(
        code(&v.decide(&with(&long_list, "sig1=:AA==:"), &cx())),
        "malformed_credentials"
    );
    let huge = format!("sig1=:{}:", "A".repeat(60_000));
    assert_eq!(
        code(&v.decide(&with(ok_input, &huge), &cx())),
        "signature_invalid"
    );
    let too_big = format!("sig1=:{}:", "A".repeat(70_000));
    assert_eq!(
        code(&v.decide(&with(ok_input, &too_big), &cx())),
        "malformed_request"
    );
    let deep = format!("sig1=({}", "(".repeat(10_000));
    assert_eq!(
        code(&v.decide(&with(&deep, "sig1=:AA==:"), &cx())),
        "malformed_credentials"
    );
}

#[test]
fn empty_component_list_is_refused_when_components_are_required() {
    let get = || keygate::Request::new("GET", URL).unwrap();
    let empty = |k| sign_with(get(), Signer::new(k, "ed", now()).components(vec![]));
    let d = verifier().decide(&empty(ed_key()), &cx());
    assert_eq!(code(&d), "components_missing", "{}", d.message);
    assert!(d.message.contains("\"@method\""), "{}", d.message);
    // A policy that requires nothing, under which "()" (which RFC 9421 permits) would verify
    // for any method and URL (GHSA-x9cc-346q-g27m), cannot be loaded.
    let doc = json!({"keygate": 1, "revision": 1, "policy": {"required_components": []},
                     "keys": [{"id": "ed", "signing": signing_json(&ed_key())}]});
    let e = keygate::KeySet::from_json(doc.to_string().as_bytes()).unwrap_err();
    assert_eq!(e.errors().len(), 1);
    assert_eq!(e.errors()[0].path, "$.policy.required_components");
    assert!(e.errors()[0].message.contains("empty list"), "{e}");
    // The narrowest policy still refuses "()" and, for a request with a body, a signature
    // that leaves the digest uncovered.
    let narrow = keygate::Verifier::new(keyset_with(
        json!({"required_components": ["@authority"]}),
        json!([]),
        vec![],
    ));
    assert_eq!(
        code(&narrow.decide(&empty(ed_key()), &cx())),
        "components_missing"
    );
    let with_body = sign_with(
        post(URL, BODY),
        Signer::new(ed_key(), "ed", now()).components(components(&["@authority"])),
    );
    assert_eq!(
        code(&narrow.decide(&with_body, &cx())),
        "components_missing"
    );
}

#[test]
fn time_checks_with_symmetric_skew() {
    let v = verifier();
    let at = |created: i64, expires: Option<i64>| {
        let mut s = Signer::new(ed_key(), "ed", UnixTime::from_secs(created));
        if let Some(e) = expires {
            s = s.expires(UnixTime::from_secs(e));
        }
        code(&v.decide(
            &sign_with(keygate::Request::new("GET", URL).unwrap(), s),
            &cx(),
        ))
        .to_string()
    };
    // Default: 300 s maximum age, 30 s skew.
    assert_eq!(at(NOW - 330, None), "allowed");
    assert_eq!(at(NOW - 331, None), "signature_too_old");
    assert_eq!(at(NOW + 30, None), "allowed");
    assert_eq!(at(NOW + 31, None), "signature_in_future");
    assert_eq!(at(NOW - 60, Some(NOW - 30)), "allowed");
    assert_eq!(at(NOW - 60, Some(NOW - 31)), "signature_expired");
    assert_eq!(
        at(NOW - 10, Some(NOW - 30)),
        "malformed_credentials",
        "expires before created"
    );
    assert_eq!(at(NOW - 400, Some(NOW - 390)), "signature_too_old");
}

#[test]
fn times_past_the_year_9999_are_named_as_sent() {
    // A created time of 10^14 used to read "9999-12-31T23:59:59Z is in the future": the
    // message names the value the client sent when it has no date.
    let v = verifier();
    let far = 100_000_000_000_000;
    let s = Signer::new(ed_key(), "ed", UnixTime::from_secs(far));
    let d = v.decide(
        &sign_with(keygate::Request::new("GET", URL).unwrap(), s),
        &cx(),
    );
    assert_eq!(code(&d), "signature_in_future");
    assert!(
        d.message.contains("100000000000000 (Unix seconds"),
        "{}",
        d.message
    );
    let s = Signer::new(ed_key(), "ed", UnixTime::from_secs(NOW - 60))
        .expires(UnixTime::from_secs(NOW - 40));
    let d = v.decide(
        &sign_with(keygate::Request::new("GET", URL).unwrap(), s),
        &cx(),
    );
    assert_eq!(code(&d), "signature_expired");
    assert!(
        d.message.ends_with('Z'),
        "an instant with a date keeps it: {}",
        d.message
    );
}

#[test]
fn algorithm_is_decided_by_the_key() {
    let v = verifier();
    let get = keygate::Request::new("GET", URL).unwrap();
    // An hmac signature presented under the ed25519 key's id: without an API key nothing
    // tells the key's algorithm, so it is simply invalid.
    let r = signed(get.clone(), hmac_key(), "ed");
    assert_eq!(code(&v.decide(&r, &cx())), "signature_invalid");
    let r = sign_with(
        get.clone(),
        Signer::new(hmac_key(), "ed", now()).alg_param(false),
    );
    assert_eq!(code(&v.decide(&r, &cx())), "signature_invalid");
    // With the key's API key (its own proof) the precise reason.
    let r = signed(
        get.clone().with_header("X-API-Key", "both-api-key"),
        hmac_key(),
        "both",
    );
    let d = v.decide(&r, &cx());
    assert_eq!(code(&d), "algorithm_mismatch");
    assert_eq!(d.key_id.as_deref(), Some("both"));
    // A key with only an API key cannot verify signatures.
    let r = signed(get.clone(), ed_key(), "api");
    assert_eq!(code(&v.decide(&r, &cx())), "signature_invalid");
    let r = signed(get.with_header("X-API-Key", API_KEY), ed_key(), "api");
    let d = v.decide(&r, &cx());
    assert_eq!(code(&d), "signature_invalid");
    assert!(d.message.contains("no signing key"), "{}", d.message);
}

#[test]
fn content_digest_rules() {
    let v = verifier();
    // Present but not covered where coverage is required.
    let r = sign_with(
        post(URL, BODY),
        Signer::new(ed_key(), "ed", now()).components(components(&["@method", "@target-uri"])),
    );
    let d = v.decide(&r, &cx());
    assert_eq!(code(&d), "components_missing", "{}", d.message);
    // Absent.
    let r = with_field(&r, "content-digest", None);
    assert_eq!(code(&v.decide(&r, &cx())), "digest_missing");
    // Only unsupported algorithms.
    let r = sign_with(
        post(URL, BODY).with_header("Content-Digest", "md5=:AAAA:"),
        Signer::new(ed_key(), "ed", now()),
    );
    assert_eq!(code(&v.decide(&r, &cx())), "digest_missing");
    // An API-key-only request with a body is not refused for it.
    let r = post(URL, BODY).with_header("X-API-Key", API_KEY);
    assert!(v.decide(&r, &cx()).allowed);
    // With require_content_digest off, an uncovered body passes.
    let lax = keygate::Verifier::new(keyset_with(
        json!({"require_content_digest": false}),
        json!([]),
        vec![],
    ));
    let r = sign_with(
        post(URL, BODY),
        Signer::new(ed_key(), "ed", now()).components(components(&["@method", "@target-uri"])),
    );
    assert!(lax.decide(&r, &cx()).allowed);
}

#[test]
fn streamed_body_digests_are_checked_like_bytes() {
    let v = verifier();
    let signed_req = signed(post(URL, BODY), hmac_key(), "hm");
    let cd = signed_req
        .header_values("content-digest")
        .next()
        .map(str::to_string);
    let mut h = BodyHasher::for_content_digest(cd.as_deref());
    for chunk in BODY.chunks(3) {
        h.update(chunk);
    }
    let mut streamed = signed_req.clone();
    streamed.set_body(keygate::Body::Digests(h.finish()));
    assert!(v.decide(&streamed, &cx()).allowed);
    let mut h = BodyHasher::for_content_digest(cd.as_deref());
    h.update(b"tampered");
    streamed.set_body(keygate::Body::Digests(h.finish()));
    assert_eq!(code(&v.decide(&streamed, &cx())), "digest_mismatch");
}
