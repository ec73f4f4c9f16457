#![cfg(not(target_arch = "wasm32"))]
//! Generates the shared signed-request vectors `tests/vectors/signatures/keyset.json` and
//! `tests/vectors/signatures/requests.json` (same format as `tests/vectors/requests/`; kept apart
//! because their POST cases need the body passed to the verifier), checks that the committed
//! files are exactly what the signer produces today, and decides every case.
//!
//! Regenerate after a deliberate change: `KEYGATE_WRITE_VECTORS=1 cargo test --test signature_vectors`.

use base64::Engine as _;
use curve25519_dalek::Scalar;
use keygate::sig::{ComponentId, HmacSecret, Signer, SignerKey, VerifierKey};
use keygate::{ApiKeyDigest, Request, UnixTime};
use serde_json::{Value, json};

const NOW: &str = "2026-11-29T12:00:00Z";
const T: i64 = 1_795_953_600;
const API_BOTH: &str = "kg-vector-both-api-key";
const API_LEGACY: &str = "kg-vector-legacy-api-key";
const API_STRICT: &str = "kg-vector-strict-api-key";

fn ed() -> SignerKey {
    SignerKey::ed25519_seed(&[0x42; 32]).unwrap()
}

fn hm() -> SignerKey {
    SignerKey::HmacSha256(HmacSecret::new(vec![0x24; 32]).unwrap())
}

fn b64url(b: &[u8]) -> String {
    keygate::encoding_util::b64url_encode(b)
}

fn keyset() -> Value {
    let VerifierKey::Ed25519(pk) = ed().verifier_key() else {
        unreachable!()
    };
    json!({
        "keygate": 1,
        "revision": 1,
        "issued_at": "2026-11-29T00:00:00Z",
        "policy": {"clock_skew_seconds": 30, "max_signature_age_seconds": 300},
        "routes": [
            {"path": "/v1/admin/**", "require_signature": true, "required_components": ["@authority"]}
        ],
        "keys": [
            {"id": "ed-client", "signing": {"alg": "ed25519", "public_key": b64url(pk.as_bytes())}, "scopes": ["orders:*"]},
            {"id": "hmac-client", "signing": {"alg": "hmac-sha256", "secret": b64url(&[0x24; 32])}},
            {"id": "both", "api_key_hash": ApiKeyDigest::of(API_BOTH).to_string(),
             "signing": {"alg": "ed25519", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64url(pk.as_bytes())}},
             "require_signature": false},
            {"id": "legacy", "api_key_hash": ApiKeyDigest::of(API_LEGACY).to_string()},
            {"id": "strict", "api_key_hash": ApiKeyDigest::of(API_STRICT).to_string(),
             "signing": {"alg": "hmac-sha256", "secret": b64url(&[0x24; 32])}}
        ]
    })
}

struct Case {
    name: &'static str,
    method: &'static str,
    url: &'static str,
    headers: Vec<(String, String)>,
    body: Option<&'static str>,
    now: Option<i64>,
    expect: Value,
}

fn request(c: &Case) -> Request {
    let mut r = Request::new(c.method, c.url).unwrap();
    for (n, v) in &c.headers {
        r.push_header(n, v);
    }
    if let Some(b) = c.body {
        r = r.with_body(b.as_bytes().to_vec());
    }
    r
}

/// `c` with the fields of a signature by `signer` over its current request.
fn sign(mut c: Case, signer: Signer) -> Case {
    let s = signer.sign(&request(&c)).unwrap();
    c.headers.extend(
        s.fields()
            .into_iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v)),
    );
    c
}

/// The Ed25519 edge cases (CCTV's README, ed25519-speccheck): `c` signed by `ed()` with the
/// signature replaced by `R || S`, where `s_of(k, a)` gives `S` from the challenge
/// `k = SHA-512(R || A || base) mod L` and the secret scalar `a`.
fn ed25519_forged(mut c: Case, r: [u8; 32], s_of: impl Fn(Scalar, Scalar) -> [u8; 32]) -> Case {
    use sha2::{Digest, Sha512};
    let s = Signer::new(ed(), "ed-client", at(T))
        .sign(&request(&c))
        .unwrap();
    let seed = ed().expose_secret();
    let h = Sha512::digest(&seed[..]);
    let mut clamped = [0u8; 32];
    clamped.copy_from_slice(&h[..32]);
    clamped[0] &= 248;
    clamped[31] &= 127;
    clamped[31] |= 64;
    let a = Scalar::from_bytes_mod_order(clamped);
    let VerifierKey::Ed25519(pk) = ed().verifier_key() else {
        unreachable!()
    };
    let k = Scalar::from_bytes_mod_order_wide(
        &Sha512::new()
            .chain_update(r)
            .chain_update(pk.as_bytes())
            .chain_update(s.base.as_bytes())
            .finalize()
            .into(),
    );
    let mut sig = r.to_vec();
    sig.extend_from_slice(&s_of(k, a));
    let b64 = base64::engine::general_purpose::STANDARD.encode(sig);
    c.headers
        .push(("signature-input".into(), s.signature_input));
    c.headers
        .push(("signature".into(), format!("sig1=:{b64}:")));
    c
}

fn set(c: &mut Case, name: &str, value: &str) {
    for h in c.headers.iter_mut().filter(|(n, _)| n == name) {
        h.1 = value.to_string();
    }
}

fn allowed(key: &str, scopes: &[&str]) -> Value {
    json!({"allowed": true, "status": 200, "key_id": key, "scopes": scopes})
}

fn refused(reason: &str, key: Option<&str>) -> Value {
    json!({"allowed": false, "status": 401, "reason": reason, "key_id": key})
}

fn case(
    name: &'static str,
    method: &'static str,
    url: &'static str,
    body: Option<&'static str>,
) -> Case {
    let headers = if body.is_some() {
        vec![("content-type".to_string(), "application/json".to_string())]
    } else {
        vec![]
    };
    Case {
        name,
        method,
        url,
        headers,
        body,
        now: None,
        expect: Value::Null,
    }
}

fn at(t: i64) -> UnixTime {
    UnixTime::from_secs(t)
}

fn cases() -> Vec<Case> {
    let orders = "https://api.example.com/v1/orders/42?expand=items";
    let body = Some("{\"qty\": 2}");
    let comps = |l: &[&str]| {
        l.iter()
            .map(|c| ComponentId::parse(c).unwrap())
            .collect::<Vec<_>>()
    };
    let mut out = Vec::new();

    let mut c = sign(
        case("ed25519 GET, default components", "GET", orders, None),
        Signer::new(ed(), "ed-client", at(T - 10)),
    );
    c.expect = allowed("ed-client", &["orders:*"]);
    out.push(c);

    // Ed25519 edge cases: each is refused by verify_strict, on the module's path and on the
    // runtime's (its encoding checks, then WebCrypto), whatever the engine.
    let identity = {
        let mut r = [0u8; 32];
        r[0] = 1;
        r
    };
    let mut c = ed25519_forged(
        case(
            "ed25519: R is the identity, S = k·a (WebCrypto alone accepts it)",
            "GET",
            orders,
            None,
        ),
        identity,
        |k, a| (k * a).to_bytes(),
    );
    c.expect = refused("signature_invalid", None);
    out.push(c);
    let mut alt = identity;
    alt[31] = 0x80;
    let mut c = ed25519_forged(
        case(
            "ed25519: R is the identity in its other encoding (x = -0)",
            "GET",
            orders,
            None,
        ),
        alt,
        |k, a| (k * a).to_bytes(),
    );
    c.expect = refused("signature_invalid", None);
    out.push(c);
    let order8 = {
        let h = "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05";
        let mut r = [0u8; 32];
        for (i, b) in r.iter_mut().enumerate() {
            *b = u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap();
        }
        r
    };
    let mut c = ed25519_forged(
        case("ed25519: R of order 8, S = 0", "GET", orders, None),
        order8,
        |_, _| [0; 32],
    );
    c.expect = refused("signature_invalid", None);
    out.push(c);
    let mut c = sign(
        case(
            "ed25519: S + L (the same signature, malleated)",
            "GET",
            orders,
            None,
        ),
        Signer::new(ed(), "ed-client", at(T)),
    );
    let sig_field = c
        .headers
        .iter()
        .find(|(n, _)| n == "signature")
        .unwrap()
        .1
        .clone();
    let raw = &sig_field["sig1=:".len()..sig_field.len() - 1];
    let mut sig = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .unwrap();
    // S + L, little-endian (S < L < 2^253, so it fits in 32 bytes).
    // L = 2^252 + 27742317777372353535851937790883648493, little-endian.
    let l: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for (s, l) in sig[32..].iter_mut().zip(l) {
        let v = u16::from(*s) + u16::from(l) + carry;
        *s = v as u8;
        carry = v >> 8;
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(sig);
    set(&mut c, "signature", &format!("sig1=:{b64}:"));
    c.expect = refused("signature_invalid", None);
    out.push(c);

    let mut c = sign(
        case("hmac-sha256 POST with Content-Digest", "POST", orders, body),
        Signer::new(hm(), "hmac-client", at(T)),
    );
    c.expect = allowed("hmac-client", &[]);
    out.push(c);

    let mut c = sign(
        case("body changed after signing", "POST", orders, body),
        Signer::new(hm(), "hmac-client", at(T)),
    );
    c.body = Some("{\"qty\": 9}");
    c.expect = refused("digest_mismatch", Some("hmac-client"));
    out.push(c);

    let mut c = sign(
        case("method changed after signing", "POST", orders, body),
        Signer::new(ed(), "ed-client", at(T)),
    );
    c.method = "PUT";
    // Before proof a refusal names no key.
    c.expect = refused("signature_invalid", None);
    out.push(c);

    let mut c = sign(
        case("Content-Digest removed", "POST", orders, body),
        Signer::new(ed(), "ed-client", at(T)),
    );
    c.headers.retain(|(n, _)| n != "content-digest");
    c.expect = refused("digest_missing", None);
    out.push(c);

    let mut c = sign(
        case("body not covered", "POST", orders, body),
        Signer::new(ed(), "ed-client", at(T)).components(comps(&["@method", "@target-uri"])),
    );
    c.headers.retain(|(n, _)| n != "content-digest");
    c.expect = refused("digest_missing", None);
    out.push(c);

    let mut c = sign(
        case("alg disagrees with the key", "GET", orders, None),
        Signer::new(hm(), "ed-client", at(T)),
    );
    // Without an API key the key's algorithm is not disclosed.
    c.expect = refused("signature_invalid", None);
    out.push(c);

    let mut c = case(
        "alg disagrees with the key, API key given",
        "GET",
        orders,
        None,
    );
    c.headers.push(("x-api-key".into(), API_BOTH.into()));
    let mut c = sign(c, Signer::new(hm(), "both", at(T)));
    c.expect = refused("algorithm_mismatch", Some("both"));
    out.push(c);

    let mut c = sign(
        case("signature too old", "GET", orders, None),
        Signer::new(ed(), "ed-client", at(T - 331)),
    );
    c.expect = refused("signature_too_old", None);
    out.push(c);

    let mut c = sign(
        case("signature from the future", "GET", orders, None),
        Signer::new(ed(), "ed-client", at(T + 31)),
    );
    c.expect = refused("signature_in_future", None);
    out.push(c);

    let mut c = sign(
        case("signature expired", "GET", orders, None),
        Signer::new(ed(), "ed-client", at(T - 120)).expires(at(T - 60)),
    );
    c.now = Some(T);
    c.expect = refused("signature_expired", None);
    out.push(c);

    let mut c = sign(
        case("empty component list", "GET", orders, None),
        Signer::new(ed(), "ed-client", at(T)).components(vec![]),
    );
    c.expect = refused("components_missing", None);
    out.push(c);

    let mut c = sign(
        case(
            "route adds @authority: missing",
            "GET",
            "https://api.example.com/v1/admin/users",
            None,
        ),
        Signer::new(ed(), "ed-client", at(T)),
    );
    c.expect = refused("components_missing", None);
    out.push(c);

    let mut c = sign(
        case(
            "route adds @authority: covered",
            "GET",
            "https://api.example.com/v1/admin/users",
            None,
        ),
        Signer::new(ed(), "ed-client", at(T)).components(comps(&[
            "@method",
            "@target-uri",
            "@authority",
        ])),
    );
    c.expect = allowed("ed-client", &["orders:*"]);
    out.push(c);

    let mut c = case(
        "route requires a signature, API key only",
        "GET",
        "https://api.example.com/v1/admin/users",
        None,
    );
    c.headers.push(("x-api-key".into(), API_LEGACY.into()));
    c.expect = refused("signature_required", Some("legacy"));
    out.push(c);

    let mut c = case(
        "require_signature false: API key alone",
        "GET",
        orders,
        None,
    );
    c.headers
        .push(("authorization".into(), format!("Bearer {API_BOTH}")));
    c.expect = allowed("both", &[]);
    out.push(c);

    let mut c = case(
        "a key with signing requires a signature by default",
        "GET",
        orders,
        None,
    );
    c.headers
        .push(("authorization".into(), format!("Bearer {API_STRICT}")));
    c.expect = refused("signature_required", Some("strict"));
    out.push(c);

    let mut c = case("API key and its own signature", "POST", orders, body);
    c.headers
        .push(("authorization".into(), format!("Bearer {API_STRICT}")));
    let mut c = sign(
        c,
        Signer::new(hm(), "strict", at(T)).nonce("vector-nonce-1"),
    );
    c.expect = allowed("strict", &[]);
    out.push(c);

    let mut c = case("API key and the same key's signature", "GET", orders, None);
    c.headers.push(("x-api-key".into(), API_BOTH.into()));
    let mut c = sign(c, Signer::new(ed(), "both", at(T)));
    c.expect = allowed("both", &[]);
    out.push(c);

    let mut c = case("API key and another key's signature", "GET", orders, None);
    c.headers.push(("x-api-key".into(), API_BOTH.into()));
    let mut c = sign(c, Signer::new(ed(), "ed-client", at(T)));
    c.expect = refused("key_mismatch", Some("both"));
    out.push(c);

    let mut c = sign(
        case("keyid not in the key set", "GET", orders, None),
        Signer::new(ed(), "stranger", at(T)),
    );
    // Refused exactly like a forged signature for a known key.
    c.expect = refused("signature_invalid", None);
    out.push(c);

    let mut c = sign(
        case("garbage base64 in Signature", "GET", orders, None),
        Signer::new(ed(), "ed-client", at(T)),
    );
    set(&mut c, "signature", "sig1=:not*base64:");
    c.expect = refused("malformed_credentials", None);
    out.push(c);

    let mut c = sign(
        case("unsupported component parameter", "GET", orders, None),
        Signer::new(ed(), "ed-client", at(T)),
    );
    set(
        &mut c,
        "signature-input",
        "sig1=(\"@method\";req);created=1795953600;keyid=\"ed-client\"",
    );
    c.expect = refused("malformed_credentials", None);
    out.push(c);

    let mut c = sign(
        case(
            "two signatures: a stranger's, then a good one",
            "GET",
            orders,
            None,
        ),
        Signer::new(hm(), "stranger", at(T)).label("a"),
    );
    let req = request(&c);
    let s = Signer::new(hm(), "hmac-client", at(T))
        .label("b")
        .sign(&req)
        .unwrap();
    for (n, v) in s.fields() {
        let n = n.to_ascii_lowercase();
        if let Some(h) = c.headers.iter_mut().find(|(hn, _)| *hn == n) {
            h.1 = format!("{}, {v}", h.1);
        }
    }
    c.expect = allowed("hmac-client", &[]);
    out.push(c);
    out
}

fn document() -> (Value, Value) {
    let cases: Vec<Value> = cases()
        .into_iter()
        .map(|c| {
            let mut req = json!({"method": c.method, "url": c.url, "headers": c.headers.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>()});
            if let Some(b) = c.body {
                req["body"] = json!(b);
            }
            let mut v = json!({"name": c.name, "client_ip": null, "request": req, "expect": c.expect});
            if let Some(t) = c.now {
                v["now"] = json!(UnixTime::from_secs(t).to_rfc3339());
            }
            v
        })
        .collect();
    let requests = json!({
        "description": "Signed-request decisions (RFC 9421) against keyset.json, generated by tests/signature_vectors.rs with fixed keys (ed25519 seed 0x42 x 32, hmac secret 0x24 x 32). Same case format as requests/apikey.json; a request's body must reach the verifier.",
        "keyset": "keyset.json",
        "now": NOW,
        "cases": cases,
    });
    (keyset(), requests)
}

#[test]
fn committed_vectors_are_what_the_signer_produces() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let (ks, reqs) = document();
    let ks_path = root.join("signatures/keyset.json");
    let req_path = root.join("signatures/requests.json");
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap() + "\n";
    if std::env::var_os("KEYGATE_WRITE_VECTORS").is_some() {
        std::fs::write(&ks_path, pretty(&ks)).unwrap();
        std::fs::write(&req_path, pretty(&reqs)).unwrap();
    }
    let on_disk = |p: &std::path::Path| -> Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    assert_eq!(
        on_disk(&ks_path),
        ks,
        "regenerate with KEYGATE_WRITE_VECTORS=1"
    );
    assert_eq!(
        on_disk(&req_path),
        reqs,
        "regenerate with KEYGATE_WRITE_VECTORS=1"
    );
    assert!(reqs["cases"].as_array().unwrap().len() >= 20);
}

#[test]
fn every_case_gets_its_expected_decision() {
    let (ks, reqs) = document();
    let verifier =
        keygate::Verifier::new(keygate::KeySet::from_json(ks.to_string().as_bytes()).unwrap());
    let now = UnixTime::parse_rfc3339(NOW).unwrap();
    for case in reqs["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let r = &case["request"];
        let mut req =
            Request::new(r["method"].as_str().unwrap(), r["url"].as_str().unwrap()).unwrap();
        for h in r["headers"].as_array().unwrap() {
            req.push_header(h[0].as_str().unwrap(), h[1].as_str().unwrap());
        }
        if let Some(b) = r["body"].as_str() {
            req = req.with_body(b.as_bytes().to_vec());
        }
        let now = case["now"]
            .as_str()
            .map_or(now, |t| UnixTime::parse_rfc3339(t).unwrap());
        let d = verifier.decide(&req, &keygate::Context::new(now)).to_json();
        let exp = &case["expect"];
        for field in ["allowed", "status", "key_id"] {
            assert_eq!(
                d.get(field).unwrap_or(&Value::Null),
                &exp[field],
                "{name}: {d}"
            );
        }
        assert_eq!(
            d.get("reason").unwrap_or(&Value::Null),
            exp.get("reason").unwrap_or(&Value::Null),
            "{name}: {d}"
        );
    }
}
