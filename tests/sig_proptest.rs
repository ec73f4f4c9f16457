#![cfg(not(target_arch = "wasm32"))]
//! Property tests: random requests signed then verified pass; any single-byte change to a
//! covered value is refused.

mod common;

use common::*;
use keygate::Request;
use keygate::sig::Signer;
use proptest::prelude::*;

#[derive(Clone, Debug)]
struct Case {
    method: &'static str,
    path: Vec<String>,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    covered_headers: usize,
    body: Option<Vec<u8>>,
    hmac: bool,
    nonce: bool,
}

fn word() -> impl Strategy<Value = String> {
    "[a-z0-9]{1,12}"
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH"]),
        prop::collection::vec(word(), 0..4),
        prop::collection::vec((word(), "[A-Za-z0-9]{0,8}"), 0..4),
        prop::collection::btree_map("x-[a-z]{1,8}", "[!-~][ -~]{0,30}[!-~]", 0..5),
        0usize..5,
        prop::option::of(prop::collection::vec(any::<u8>(), 1..200)),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(method, path, query, headers, covered, body, hmac, nonce)| Case {
                method,
                path,
                query,
                covered_headers: covered.min(headers.len()),
                headers: headers.into_iter().collect(),
                body,
                hmac,
                nonce,
            },
        )
}

fn url(c: &Case, path: &[String]) -> String {
    let q: Vec<String> = c.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let q = if q.is_empty() {
        String::new()
    } else {
        format!("?{}", q.join("&"))
    };
    format!("https://api.example.com/{}{q}", path.join("/"))
}

fn build(
    c: &Case,
    path: &[String],
    headers: &[(String, String)],
    body: Option<&Vec<u8>>,
    method: &str,
) -> Request {
    let mut r = Request::new(method, &url(c, path)).unwrap();
    for (n, v) in headers {
        r.push_header(n, v);
    }
    if let Some(b) = body {
        r = r.with_body(b.clone());
    }
    r
}

fn sign(c: &Case, req: &Request) -> Request {
    let (key, id) = if c.hmac {
        (hmac_key(), "hm")
    } else {
        (ed_key(), "ed")
    };
    let mut comps = vec!["@method".to_string(), "@target-uri".to_string()];
    if c.body.is_some() {
        comps.push("content-digest".into());
    }
    comps.extend(
        c.headers
            .iter()
            .take(c.covered_headers)
            .map(|(n, _)| n.clone()),
    );
    let refs: Vec<&str> = comps.iter().map(String::as_str).collect();
    let mut s = Signer::new(key, id, now()).components(components(&refs));
    if c.nonce {
        s = s.nonce("fixed-nonce");
    }
    let signed = s.sign(req).unwrap();
    let mut out = req.clone();
    signed.apply(&mut out);
    out
}

fn mutate(s: &str, at: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    let i = at % b.len();
    b[i] = if b[i] == b'q' { b'r' } else { b'q' };
    String::from_utf8(b).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn sign_then_verify_round_trips(c in case()) {
        let req = build(&c, &c.path, &c.headers, c.body.as_ref(), c.method);
        let signed = sign(&c, &req);
        let d = verifier().decide(&signed, &cx());
        prop_assert!(d.allowed, "{:?}", d);
    }

    #[test]
    fn a_single_byte_change_to_a_covered_value_fails(c in case(), which in 0usize..4, at in any::<usize>()) {
        let req = build(&c, &c.path, &c.headers, c.body.as_ref(), c.method);
        let signed = sign(&c, &req);
        let sig_fields: Vec<(String, String)> = ["content-digest", "signature-input", "signature"]
            .iter()
            .flat_map(|n| signed.header_values(n).map(move |v| (n.to_string(), v.to_string())))
            .collect();
        let mut headers = c.headers.clone();
        let mut path = c.path.clone();
        let mut body = c.body.clone();
        let mut method = c.method;
        let expect = match which {
            0 if c.covered_headers > 0 => {
                let i = at % c.covered_headers;
                headers[i].1 = mutate(&headers[i].1, at / 7);
                "signature_invalid"
            }
            1 if body.is_some() => {
                let b = body.as_mut().unwrap();
                let i = at % b.len();
                b[i] ^= 1 << (at % 8);
                "digest_mismatch"
            }
            2 if !path.is_empty() => {
                let i = at % path.len();
                path[i] = mutate(&path[i], at / 5);
                "signature_invalid"
            }
            _ => {
                method = if c.method == "GET" { "HEAD" } else { "GET" };
                "signature_invalid"
            }
        };
        headers.extend(sig_fields);
        let tampered = build(&c, &path, &headers, body.as_ref(), method);
        let d = verifier().decide(&tampered, &cx());
        prop_assert_eq!(d.code(), Some(expect), "{}", d.message);
    }
}

/// Structured-field-ish noise: the characters that matter to the parsers, in any order.
fn noise() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "sig1",
            "=",
            "(",
            ")",
            "\"",
            ";",
            ",",
            " ",
            ":",
            "AA==",
            "@method",
            "@query-param",
            "name",
            "key",
            "sf",
            "bs",
            "req",
            "created",
            "expires",
            "keyid",
            "\"ed\"",
            "\"hm\"",
            "1764374400",
            "-1",
            "99999999999999999",
            "?1",
            "nonce",
            "alg",
            "\"ed25519\"",
            "*",
            "%",
            "\\",
            "content-digest",
            "sha-256",
            "x",
        ]),
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Hostile Signature-Input, Signature and Content-Digest values get a decision, never a
    /// panic, and never an allowed one.
    #[test]
    fn hostile_fields_never_panic_or_pass(input in noise(), sig in noise(), cd in noise(), query in "[a-z=&%0-9]{0,20}") {
        let mut r = Request::new("POST", &format!("https://h/p?{query}")).unwrap().with_body(b"x".to_vec());
        r.push_header("Signature-Input", &input);
        r.push_header("Signature", &sig);
        r.push_header("Content-Digest", &cd);
        let d = verifier().decide(&r, &cx());
        prop_assert!(!d.allowed);
        prop_assert_eq!(d.status, 401);
    }
}
