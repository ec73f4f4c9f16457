//! Nothing an attacker sends may panic: random and mutated inputs to every parser.
#![cfg(not(target_arch = "wasm32"))]

use keygate::{Context, KeySet, PublisherKeys, Request, UnixTime, Verifier, load_keyset};
use proptest::prelude::*;

const FULL: &str = include_str!("vectors/keysets/valid_full.json");
const ENVELOPES: &str = include_str!("vectors/envelopes/envelopes.json");

fn verifier() -> Verifier {
    Verifier::new(KeySet::from_json(FULL.as_bytes()).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn raw_http_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(req) = keygate::http1::parse_request(&bytes, "https") {
            let d = verifier().decide(&req, &Context::new(UnixTime::from_secs(1_800_000_000)));
            prop_assert!(d.allowed || d.reason.is_some());
        }
    }

    #[test]
    fn http_shaped_noise_never_panics(
        method in "[A-Z]{1,7}",
        path in "/[ -~]{0,40}",
        headers in proptest::collection::vec(("[!-~]{1,12}", "[\\x00-\\xff]{0,60}"), 0..8),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: h\r\n").into_bytes();
        for (n, v) in &headers {
            raw.extend_from_slice(format!("{n}: ").as_bytes());
            raw.extend(v.chars().map(|c| c as u32 as u8));
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"\r\n");
        raw.extend_from_slice(&body);
        if let Ok(req) = keygate::http1::parse_request(&raw, "https") {
            let _ = verifier().decide(&req, &Context::new(UnixTime::from_secs(1_800_000_000)));
        }
    }

    #[test]
    fn web_requests_with_arbitrary_headers_never_panic(
        path in "[ -~]{0,60}",
        auth in "[\\x00-\\u{3ff}]{0,80}",
        key in "[\\x00-\\u{3ff}]{0,80}",
    ) {
        if let Ok(req) = Request::new("GET", &format!("https://api.example.com/{path}")) {
            let req = req.with_header("authorization", &auth).with_header("x-api-key", &key);
            let d = verifier().decide(&req, &Context::new(UnixTime::from_secs(1_800_000_000)));
            prop_assert!(d.allowed || !d.message.is_empty());
        }
    }

    #[test]
    fn random_bytes_as_a_key_set_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Err(e) = KeySet::from_json(&bytes) {
            prop_assert!(!e.errors().is_empty());
            prop_assert!(e.errors().iter().all(|e| e.path.starts_with('$')));
        }
    }

    #[test]
    fn mutated_key_sets_never_panic(flips in proptest::collection::vec((0usize..FULL.len(), any::<u8>()), 1..6)) {
        let mut doc = FULL.as_bytes().to_vec();
        for (i, b) in flips {
            doc[i] = b;
        }
        match KeySet::from_json(&doc) {
            Ok(ks) => prop_assert!(ks.revision() >= 1),
            Err(e) => prop_assert!(e.errors().iter().all(|e| e.path.starts_with('$') && !e.message.is_empty())),
        }
    }

    #[test]
    fn mutated_envelopes_never_panic(i in 0usize..4000, b in any::<u8>()) {
        let doc: serde_json::Value = serde_json::from_str(ENVELOPES).unwrap();
        let mut env = serde_json::to_vec(&doc["cases"][0]["envelope"]).unwrap();
        let i = i % env.len();
        env[i] = b;
        let keys = PublisherKeys::parse(doc["cases"][0]["publisher_keys"].as_str().unwrap()).unwrap();
        let _ = load_keyset(&env, Some(&keys));
        let _ = load_keyset(&env, None);
    }

    /// Paths: never a panic; a canonical path is a fixed point (what a gateway forwards reads
    /// back as itself) and holds nothing an origin could read another way.
    #[test]
    fn path_normalisation_is_total_and_idempotent(
        s in "(/|\\.|\\.\\.|%2[eEfF]|%5[cC]|%25|%3[bB]|%[0-9a-fA-F]{2}|;|\\\\|[a-zA-Z]{1,3}|\\u{FF0F}|\\u{0131}|é|\\t| |#){0,16}",
    ) {
        if let Ok(p) = keygate::NormalizedPath::parse(&s) {
            let canonical = p.as_string();
            let again = keygate::NormalizedPath::parse(&canonical);
            prop_assert_eq!(again.as_ref().map(|q| q.as_string()), Ok(canonical.clone()), "{:?}", s);
            prop_assert!(canonical.starts_with('/') && !canonical.contains("//"), "{:?} -> {:?}", s, canonical);
            prop_assert!(!canonical.contains(['\\', ';', '#', ' ']) && !canonical.contains("%25"), "{:?} -> {:?}", s, canonical);
            prop_assert!(canonical.split('/').all(|seg| seg != "." && seg != ".."), "{:?} -> {:?}", s, canonical);
            let pattern = keygate::PathPattern::parse(&canonical);
            if let Ok(pattern) = pattern {
                prop_assert!(pattern.matches(&p), "{:?} as a pattern matches itself", canonical);
            }
        }
    }

    #[test]
    fn arbitrary_paths_and_methods_never_panic(
        method in "[a-zA-Z]{1,8}",
        path in "[ -~]{0,50}",
        over in "[ -~]{0,12}",
    ) {
        if let Ok(req) = Request::new(&method, &format!("https://api.example.com/{path}")) {
            let req = req.with_header("x-http-method-override", &over);
            let d = verifier().decide(&req, &Context::new(UnixTime::from_secs(1_800_000_000)));
            prop_assert!(d.allowed || d.reason.is_some());
            prop_assert_eq!(d.path.is_none(), d.code() == Some("ambiguous_path") || d.code() == Some("malformed_request"));
        }
    }

    #[test]
    fn times_and_cidrs_never_panic(s in "[ -~]{0,40}") {
        let _ = UnixTime::parse_rfc3339(&s);
        let _ = UnixTime::parse_flexible(&s);
        let _ = keygate::Cidr::parse(&s);
        let _ = keygate::PathPattern::parse(&s);
        let _ = keygate::NormalizedPath::parse(&s);
        let _ = keygate::api_key::classify(&s);
    }
}
