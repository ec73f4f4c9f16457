#![cfg(not(target_arch = "wasm32"))]
//! Signature policy through the whole decision: replay and nonce recording, API key and
//! signature together, required signatures and components, several signatures, the order of
//! checks, tags and Accept-Signature.

mod common;

use common::*;
use keygate::sig::Signer;
use keygate::{Context, UnixTime};
use serde_json::json;

const URL: &str = "https://api.example.com/v1/orders?id=7&b=x%20y";
const BODY: &[u8] = b"{\"qty\": 2}";

#[test]
fn nonces_replay_and_recording() {
    let v = keygate::Verifier::new(keyset_with(
        json!({"require_nonce": true}),
        json!([{"path": "/admin/**", "scopes": ["admin"]}]),
        vec![],
    ));
    let get = || keygate::Request::new("GET", URL).unwrap();
    assert_eq!(
        code(&v.decide(&signed(get(), ed_key(), "ed"), &cx())),
        "nonce_missing"
    );
    let r = sign_with(get(), Signer::new(ed_key(), "ed", now()).nonce("n-1"));
    assert!(v.decide(&r, &cx()).allowed);
    let d = v.decide(&r, &cx());
    assert_eq!(code(&d), "nonce_replayed");
    assert!(header(&d, "Accept-Signature").is_some());
    // The same nonce for another key is fine.
    let r = sign_with(get(), Signer::new(hmac_key(), "hm", now()).nonce("n-1"));
    let d = v.decide(&r, &cx());
    assert!(d.allowed);
    assert_eq!(d.nonce.as_ref().map(|c| c.nonce.as_str()), Some("n-1"));
    // A refused request does not spend its nonce.
    let admin = keygate::Request::new("GET", "https://api.example.com/admin/x").unwrap();
    let r = sign_with(admin, Signer::new(ed_key(), "ed", now()).nonce("n-2"));
    assert_eq!(code(&v.decide(&r, &cx())), "scope_missing");
    let later = UnixTime::from_secs(NOW + 1);
    assert!(
        !v.nonce_store()
            .seen("ed", "n-2", UnixTime::from_secs(NOW + 330), later)
    );
    // Once the window closes the nonce is forgotten, and the signature is too old anyway.
    let r = sign_with(get(), Signer::new(ed_key(), "ed", now()).nonce("n-3"));
    assert!(v.decide(&r, &cx()).allowed);
    let d = v.decide(&r, &Context::new(UnixTime::from_secs(NOW + 331)));
    assert_eq!(code(&d), "signature_too_old");
}

#[test]
fn api_key_and_signature_together() {
    let v = verifier();
    let get = || keygate::Request::new("GET", URL).unwrap();
    // The API key of "both" with a signature by "ed": different keys.
    let r = signed(
        get().with_header("X-API-Key", "both-api-key"),
        ed_key(),
        "ed",
    );
    let d = v.decide(&r, &cx());
    assert_eq!(code(&d), "key_mismatch");
    assert_eq!(d.key_id.as_deref(), Some("both"));
    // Same key: allowed. Its API key alone is enough (require_signature false)...
    let r = signed(
        get().with_header("X-API-Key", "both-api-key"),
        ed_key(),
        "both",
    );
    assert!(v.decide(&r, &cx()).allowed);
    assert!(
        v.decide(&get().with_header("X-API-Key", "both-api-key"), &cx())
            .allowed
    );
    // ... but a presented signature must verify.
    let bad = with_field(&r, "signature", Some("sig1=:AAAA:"));
    assert_eq!(code(&v.decide(&bad, &cx())), "signature_invalid");
    // Signatures naming keys outside the set are someone else's.
    let r = sign_with(
        get().with_header("X-API-Key", API_KEY),
        Signer::new(ed_key(), "proxy", now()),
    );
    assert!(v.decide(&r, &cx()).allowed);
}

#[test]
fn signature_required_by_key_or_route() {
    let v = keygate::Verifier::new(keyset_with(
        json!({}),
        json!([{"path": "/signed/**", "require_signature": true, "required_components": ["@authority"]}]),
        vec![
            json!({"id": "must", "api_key_hash": keygate::ApiKeyDigest::of("must-key").to_string(),
                    "signing": signing_json(&hmac_key())}),
        ],
    ));
    let d = v.decide(
        &keygate::Request::new("GET", URL)
            .unwrap()
            .with_header("X-API-Key", "must-key"),
        &cx(),
    );
    assert_eq!(code(&d), "signature_required");
    let accept = header(&d, "Accept-Signature").unwrap();
    assert_eq!(
        accept,
        "sig1=(\"@method\" \"@target-uri\");keyid=\"must\";alg=\"hmac-sha256\""
    );
    assert!(header(&d, "WWW-Authenticate").is_some());
    let route = "https://api.example.com/signed/x";
    let d = v.decide(
        &keygate::Request::new("GET", route)
            .unwrap()
            .with_header("X-API-Key", API_KEY),
        &cx(),
    );
    assert_eq!(code(&d), "signature_required");
    let r = signed(keygate::Request::new("GET", route).unwrap(), ed_key(), "ed");
    let d = v.decide(&r, &cx());
    assert_eq!(
        code(&d),
        "components_missing",
        "route components are added to the policy's"
    );
    assert_eq!(
        header(&d, "Accept-Signature").unwrap(),
        "sig1=(\"@method\" \"@target-uri\" \"@authority\");keyid=\"ed\";alg=\"ed25519\""
    );
    let r = sign_with(
        keygate::Request::new("GET", route).unwrap(),
        Signer::new(ed_key(), "ed", now()).components(components(&[
            "@method",
            "@target-uri",
            "@authority",
        ])),
    );
    assert!(v.decide(&r, &cx()).allowed);
}

#[test]
fn several_signatures() {
    let v = verifier();
    let get = keygate::Request::new("GET", URL).unwrap();
    // An unknown key's signature first, then a good one.
    let r = sign_with(
        get.clone(),
        Signer::new(hmac_key(), "stranger", now()).label("a"),
    );
    let r = sign_with(r, Signer::new(ed_key(), "ed", now()).label("b"));
    assert_eq!(v.decide(&r, &cx()).key_id.as_deref(), Some("ed"));
    // A known key's bad signature first, then a good one: the good one passes.
    let bad = sign_with(get.clone(), Signer::new(hmac_key(), "ed", now()).label("a"));
    let both = sign_with(bad.clone(), Signer::new(hmac_key(), "hm", now()).label("b"));
    assert_eq!(v.decide(&both, &cx()).key_id.as_deref(), Some("hm"));
    // None passes: the first known label's refusal.
    let r = sign_with(bad, Signer::new(ed_key(), "hm", now()).label("b"));
    assert_eq!(code(&v.decide(&r, &cx())), "algorithm_mismatch");
}

#[test]
fn order_status_and_network_before_signature() {
    let v = keygate::Verifier::new(keyset_with(
        json!({}),
        json!([]),
        vec![
            json!({"id": "gone", "signing": signing_json(&ed_key()), "status": "revoked"}),
            json!({"id": "net", "signing": signing_json(&ed_key()), "allow_cidrs": ["10.0.0.0/8"]}),
        ],
    ));
    let get = keygate::Request::new("GET", URL).unwrap();
    let bad = |id: &str| {
        with_field(
            &signed(get.clone(), ed_key(), id),
            "signature",
            Some("sig1=:AAAA:"),
        )
    };
    assert_eq!(code(&v.decide(&bad("gone"), &cx())), "key_revoked");
    assert_eq!(code(&v.decide(&bad("net"), &cx())), "ip_not_allowed");
    // A malformed signature for a revoked key is malformed first (step 4).
    let r = with_field(
        &bad("gone"),
        "signature-input",
        Some("sig1=(\"@nope\");created=1;keyid=\"gone\""),
    );
    assert_eq!(code(&v.decide(&r, &cx())), "malformed_credentials");
}

#[test]
fn tag_policy() {
    let v = keygate::Verifier::new(keyset_with(
        json!({"signature_tag": "orders-api"}),
        json!([]),
        vec![],
    ));
    let get = keygate::Request::new("GET", URL).unwrap();
    assert_eq!(
        code(&v.decide(&signed(get.clone(), ed_key(), "ed"), &cx())),
        "malformed_credentials"
    );
    let r = sign_with(get.clone(), Signer::new(ed_key(), "ed", now()).tag("other"));
    assert_eq!(code(&v.decide(&r, &cx())), "malformed_credentials");
    let r = sign_with(get, Signer::new(ed_key(), "ed", now()).tag("orders-api"));
    assert!(v.decide(&r, &cx()).allowed);
}

#[test]
fn accept_signature_only_on_signature_refusals() {
    let v = verifier();
    let d = v.decide(
        &keygate::Request::new("GET", URL)
            .unwrap()
            .with_header("X-API-Key", "nope"),
        &cx(),
    );
    assert_eq!(code(&d), "unknown_key");
    assert!(header(&d, "Accept-Signature").is_none());
    let r = post(URL, BODY)
        .with_header("Signature-Input", "sig1=();created=1764374400;keyid=\"ed\"")
        .with_header("Signature", "sig1=:AA==:");
    let d = v.decide(&r, &cx());
    assert_eq!(code(&d), "components_missing");
    assert_eq!(
        header(&d, "Accept-Signature").unwrap(),
        "sig1=(\"@method\" \"@target-uri\" \"content-digest\");keyid=\"ed\";alg=\"ed25519\""
    );
}

/// `decide_deferred` with a pending body: the body is needed only by a request that passed
/// every other check, and nothing is recorded until it is decided with the body's digests.
#[test]
fn deferred_bodies_are_needed_only_by_otherwise_acceptable_requests() {
    use keygate::{Body, BodyHasher};
    let v = verifier();
    let signed_post = sign_with(
        post(URL, BODY),
        Signer::new(ed_key(), "ed", now()).nonce("n-deferred"),
    );
    let pending = |r: &keygate::Request| {
        let mut r = r.clone();
        r.set_body(Body::Pending);
        r
    };
    // Validly signed: the answer now depends on the body.
    assert!(v.decide_deferred(&pending(&signed_post), &cx()).is_none());
    // Decided without the digests, that stands as a refusal.
    assert_eq!(
        code(&v.decide(&pending(&signed_post), &cx())),
        "digest_mismatch"
    );
    // Nothing was recorded on the way: with the digests the request is allowed, once.
    let mut h = BodyHasher::for_content_digest(signed_post.header_values("content-digest").next());
    h.update(BODY);
    let mut hashed = signed_post.clone();
    hashed.set_body(Body::Digests(h.finish()));
    assert!(v.decide(&hashed, &cx()).allowed);
    assert_eq!(code(&v.decide(&hashed, &cx())), "nonce_replayed");
    // A forged signature is refused before any body is needed.
    let forged = with_field(&signed_post, "signature", Some("sig1=:AAAA:"));
    let d = v
        .decide_deferred(&pending(&forged), &cx())
        .expect("decided without the body");
    assert_eq!(code(&d), "signature_invalid");
    // So is a signature from an unknown key, or one that is too old.
    let stranger = sign_with(post(URL, BODY), Signer::new(ed_key(), "nobody", now()));
    assert_eq!(
        code(&v.decide_deferred(&pending(&stranger), &cx()).unwrap()),
        "unknown_key"
    );
    let old = sign_with(
        post(URL, BODY),
        Signer::new(ed_key(), "ed", UnixTime::from_secs(NOW - 3600)),
    );
    assert_eq!(
        code(&v.decide_deferred(&pending(&old), &cx()).unwrap()),
        "signature_too_old"
    );
    // An API-key request never needs its body.
    let api = post(URL, BODY).with_header("X-API-Key", API_KEY);
    assert!(v.decide_deferred(&pending(&api), &cx()).unwrap().allowed);
}
