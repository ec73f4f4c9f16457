#![cfg(not(target_arch = "wasm32"))]
//! `policy.body_method_override`: a POST whose body may carry `_method` (Rack's
//! `MethodOverride` in every full Rails app, Laravel, Symfony's `http_method_override`) is
//! judged as every method under `"every_method"`, and as itself under `"ignored"` (the
//! default). keygate reads no body either way.

mod common;

use common::*;
use keygate::{Decision, Request, Verifier};
use serde_json::{Value, json};

const WRITER: &str = "writer-api-key";
const FULL: &str = "full-api-key";
const READER: &str = "reader-api-key";

fn key(id: &str, api_key: &str, scopes: &[&str]) -> Value {
    json!({"id": id, "api_key_hash": keygate::ApiKeyDigest::of(api_key).to_string(),
           "scopes": scopes})
}

/// Orders: DELETE needs `orders:delete`, POST `orders:write`, GET (and HEAD) `orders:read`,
/// every other method no rule (the default route). `/pub/**` is public for GET and POST only,
/// `/health` for every method.
fn verifier(policy: Value) -> Verifier {
    Verifier::new(keyset_with(
        policy,
        json!([
            {"path": "/health", "public": true},
            {"methods": ["GET", "POST"], "path": "/pub/**", "public": true},
            {"methods": ["DELETE"], "path": "/orders/*", "scopes": ["orders:delete"]},
            {"methods": ["POST"], "path": "/orders/*", "scopes": ["orders:write"]},
            {"methods": ["GET"], "path": "/orders/**", "scopes": ["orders:read"]},
        ]),
        vec![
            key("writer", WRITER, &["orders:write"]),
            key("reader", READER, &["orders:read"]),
            key("full", FULL, &["orders:*"]),
        ],
    ))
}

fn every() -> Verifier {
    verifier(json!({"body_method_override": "every_method"}))
}

fn req(method: &str, path: &str, api_key: Option<&str>, headers: &[(&str, &str)]) -> Request {
    let mut r = Request::new(method, &format!("https://api.example.com{path}")).unwrap();
    if let Some(k) = api_key {
        r = r.with_header("X-API-Key", k);
    }
    for (n, v) in headers {
        r = r.with_header(n, v);
    }
    r
}

fn decide(v: &Verifier, r: &Request) -> Decision {
    v.decide(r, &cx())
}

/// The writer's bodiless POST to /orders/7.
fn d_writer(v: &Verifier) -> Decision {
    decide(v, &req("POST", "/orders/7", Some(WRITER), &[]))
}

#[test]
fn a_post_needs_the_scopes_of_every_method_on_its_path() {
    let writer_post = req("POST", "/orders/7", Some(WRITER), &[]);
    // The default, and the same when said: the POST rule alone.
    for v in [
        verifier(json!({})),
        verifier(json!({"body_method_override": "ignored"})),
    ] {
        let d = decide(&v, &writer_post);
        assert!(d.allowed, "{}", d.to_json());
        assert_eq!(d.key_id.as_deref(), Some("writer"));
    }
    // Under every_method its body may say DELETE (or GET): the DELETE rule's scope first.
    let d = decide(&every(), &writer_post);
    assert_eq!(code(&d), "scope_missing", "{}", d.to_json());
    assert_eq!(d.status, 403);
    assert!(d.message.contains("orders:delete"), "{}", d.message);
    // A key with every method's scopes may POST.
    let d = decide(&every(), &req("POST", "/orders/7", Some(FULL), &[]));
    assert!(d.allowed, "{}", d.to_json());
    // `post` is POST to Symfony (it upper-cases the method before it looks for `_method`).
    let d = decide(&every(), &req("post", "/orders/7", Some(WRITER), &[]));
    assert_eq!(code(&d), "scope_missing");
    // The body is not read: what it says changes nothing.
    for body in [&b"_method=DELETE"[..], b"{\"_method\":\"GET\"}", b""] {
        let r = post("https://api.example.com/orders/7", body).with_header("X-API-Key", WRITER);
        assert_eq!(decide(&every(), &r), d_writer(&every()), "{body:?}");
    }
    // Where only the POST rule exists, nothing more is needed.
    let d = decide(
        &every(),
        &req("POST", "/orders/7/items/x", Some(READER), &[]),
    );
    assert!(d.allowed, "{}", d.to_json());
}

#[test]
fn other_methods_are_decided_as_before() {
    let (ignored, every) = (verifier(json!({})), every());
    for r in [
        req("GET", "/orders/7", Some(READER), &[]),
        req("GET", "/orders/7", Some(WRITER), &[]),
        req("HEAD", "/orders/7", Some(READER), &[]),
        req("PUT", "/orders/7", Some(READER), &[]),
        req("DELETE", "/orders/7", Some(WRITER), &[]),
        req("DELETE", "/orders/7", Some(FULL), &[]),
        req("PATCH", "/pub/x", None, &[]),
        req("GET", "/pub/x", None, &[]),
        req(
            "PUT",
            "/orders/7",
            Some(WRITER),
            &[("X-HTTP-Method-Override", "DELETE")],
        ),
    ] {
        assert_eq!(decide(&ignored, &r), decide(&every, &r), "{r:?}");
    }
    // PUT is not judged as DELETE: the reader passes the default route.
    assert!(decide(&every, &req("PUT", "/orders/7", Some(READER), &[])).allowed);
    assert_eq!(
        code(&decide(&every, &req("GET", "/orders/7", Some(WRITER), &[]))),
        "scope_missing"
    );
}

#[test]
fn public_only_when_every_method_is() {
    let post = req("POST", "/pub/x", None, &[]);
    assert!(decide(&verifier(json!({})), &post).allowed);
    // PUT, DELETE, ... on /pub/x match no public rule: credentials are examined.
    let d = decide(&every(), &post);
    assert_eq!(code(&d), "missing_credentials", "{}", d.to_json());
    assert_eq!(d.status, 401);
    assert!(decide(&every(), &req("POST", "/pub/x", Some(READER), &[])).allowed);
    // A rule for every method stays public.
    assert!(decide(&every(), &req("POST", "/health", None, &[])).allowed);
    assert!(decide(&every(), &req("GET", "/pub/x", None, &[])).allowed);
}

#[test]
fn a_deny_default_for_any_method_denies_the_post() {
    let forms = |policy: Value, catch_all: bool| {
        let mut routes =
            vec![json!({"methods": ["POST"], "path": "/forms/**", "scopes": ["forms"]})];
        if catch_all {
            routes.push(json!({"path": "/forms/**", "scopes": ["forms"]}));
        }
        Verifier::new(keyset_with(
            policy,
            Value::Array(routes),
            vec![key("former", "former-api-key", &["forms"])],
        ))
    };
    let post = req("POST", "/forms/x", Some("former-api-key"), &[]);
    let deny = json!({"default_route": "deny"});
    let every_deny = json!({"default_route": "deny", "body_method_override": "every_method"});
    assert!(decide(&forms(deny.clone(), false), &post).allowed);
    let d = decide(&forms(every_deny.clone(), false), &post);
    assert_eq!(code(&d), "route_denied", "{}", d.to_json());
    assert_eq!(d.status, 403);
    assert!(
        d.message.contains("policy.body_method_override"),
        "the refusal names why a POST was judged under other methods: {}",
        d.message
    );
    // A rule for the other methods: allowed again.
    assert!(decide(&forms(every_deny.clone(), true), &post).allowed);
    // The control: a GET there is denied under either policy.
    let get = req("GET", "/forms/x", Some("former-api-key"), &[]);
    assert_eq!(code(&decide(&forms(deny, false), &get)), "route_denied");
    assert_eq!(
        code(&decide(&forms(every_deny, false), &get)),
        "route_denied"
    );
}

#[test]
fn header_and_query_overrides_still_apply() {
    let (ignored, every) = (verifier(json!({})), every());
    // Under either policy an override in a header or the query is read.
    for v in [&ignored, &every] {
        for r in [
            req(
                "POST",
                "/orders/7",
                Some(WRITER),
                &[("X-HTTP-Method-Override", "DELETE")],
            ),
            req("POST", "/orders/7?_method=DELETE", Some(WRITER), &[]),
            req(
                "PUT",
                "/orders/7",
                Some(WRITER),
                &[("X-Method-Override", "delete")],
            ),
        ] {
            assert_eq!(code(&decide(v, &r)), "scope_missing", "{r:?}");
        }
        let r = req(
            "POST",
            "/orders/7",
            Some(FULL),
            &[("X-HTTP-Method", "DELETE")],
        );
        assert!(decide(v, &r).allowed);
    }
    // Read as POST through an override: its body may still say DELETE to an origin behind a
    // layer that applied the override.
    let holder = |policy: Value| {
        Verifier::new(keyset_with(
            policy,
            json!([
                {"methods": ["DELETE"], "path": "/orders/*", "scopes": ["orders:delete"]},
                {"methods": ["POST"], "path": "/orders/*", "scopes": ["orders:write"]},
            ]),
            vec![key("rw", "rw-api-key", &["orders:read", "orders:write"])],
        ))
    };
    let get_as_post = req("GET", "/orders/7?_method=POST", Some("rw-api-key"), &[]);
    assert!(decide(&holder(json!({})), &get_as_post).allowed);
    let every = holder(json!({"body_method_override": "every_method"}));
    assert_eq!(code(&decide(&every, &get_as_post)), "scope_missing");
}
