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
    // Only once it verifies: a forged signature naming another key is ignored like a
    // stranger's, so an API key holder cannot probe which other key ids exist.
    let forged = with_field(&r, "signature", Some("sig1=:AAAA:"));
    let d = v.decide(&forged, &cx());
    assert!(d.allowed, "{}", d.to_json());
    let stranger = sign_with(
        get().with_header("X-API-Key", "both-api-key"),
        Signer::new(ed_key(), "nobody", now()),
    );
    assert_eq!(v.decide(&stranger, &cx()), d);
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
        "sig1=(\"@method\" \"@target-uri\" \"@authority\")"
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
    // None passes: the first label's refusal (without an API key, a wrong algorithm is an
    // invalid signature like any other).
    let r = sign_with(bad, Signer::new(ed_key(), "hm", now()).label("b"));
    assert_eq!(code(&v.decide(&r, &cx())), "signature_invalid");
    // A label that proved its key outranks an earlier one that did not.
    let gone = keyset_with(
        json!({}),
        json!([]),
        vec![json!({"id": "gone", "signing": signing_json(&ed_key()), "status": "revoked"})],
    );
    let r = sign_with(
        get.clone(),
        Signer::new(hmac_key(), "nobody", now()).label("a"),
    );
    let r = sign_with(r, Signer::new(ed_key(), "gone", now()).label("b"));
    assert_eq!(
        code(&keygate::Verifier::new(gone).decide(&r, &cx())),
        "key_revoked"
    );
}

/// Proof before disclosure: without an API key, nothing about the key a signature names
/// (whether it exists, its status, validity, networks or algorithm) shows before the
/// signature verifies; once it does, the precise reason.
#[test]
fn proof_before_disclosure() {
    let v = keygate::Verifier::new(keyset_with(
        json!({}),
        json!([]),
        vec![
            json!({"id": "gone", "signing": signing_json(&ed_key()), "status": "revoked"}),
            json!({"id": "off", "signing": signing_json(&ed_key()), "status": "disabled"}),
            json!({"id": "old", "signing": signing_json(&ed_key()), "expires_at": "2025-01-01T00:00:00Z"}),
            json!({"id": "early", "signing": signing_json(&ed_key()), "not_before": "2030-01-01T00:00:00Z"}),
            json!({"id": "net", "signing": signing_json(&ed_key()), "allow_cidrs": ["10.0.0.0/8"]}),
            json!({"id": "deny", "signing": signing_json(&ed_key()), "deny_cidrs": ["192.0.2.0/24"]}),
            json!({"id": "gone-api", "api_key_hash": keygate::ApiKeyDigest::of("gone-api-key").to_string(),
                   "signing": signing_json(&ed_key()), "status": "revoked"}),
        ],
    ));
    let cx = cx().with_client_ip(Some("192.0.2.1".parse().unwrap()));
    let get = keygate::Request::new("GET", URL).unwrap();
    let forged = |id: &str| {
        with_field(
            &signed(get.clone(), ed_key(), id),
            "signature",
            Some("sig1=:AAAA:"),
        )
    };
    // A forged signature: the same decision, byte for byte, for every key id, known or not,
    // whatever its state (and the same as for a valid key's forged signature).
    let reference = v.decide(&forged("nobody"), &cx);
    assert_eq!(code(&reference), "signature_invalid");
    assert_eq!(reference.key_id, None);
    assert_eq!(
        header(&reference, "Accept-Signature"),
        Some("sig1=(\"@method\" \"@target-uri\")"),
        "no keyid, no alg before proof"
    );
    for id in [
        "ed", "hm", "api", "gone", "off", "old", "early", "net", "deny",
    ] {
        let d = v.decide(&forged(id), &cx);
        assert_eq!(d, reference, "{id}: {}", d.to_json());
    }
    // A signature in the wrong algorithm for the key, or from a key without a signing key:
    // also just invalid.
    assert_eq!(
        v.decide(&signed(get.clone(), hmac_key(), "gone"), &cx),
        reference
    );
    // A valid signature proves the key: now the precise reason, with the key id.
    for (id, want) in [
        ("gone", "key_revoked"),
        ("off", "key_disabled"),
        ("old", "key_expired"),
        ("early", "key_not_yet_valid"),
        ("net", "ip_not_allowed"),
        ("deny", "ip_denied"),
    ] {
        let d = v.decide(&signed(get.clone(), ed_key(), id), &cx);
        assert_eq!((code(&d), d.key_id.as_deref()), (want, Some(id)));
    }
    let d = v.decide(&signed(get.clone(), ed_key(), "old"), &cx);
    assert!(d.message.contains("expired at 2025-01-01"), "{}", d.message);
    // Policy faults come before proof and tell nothing about the key either.
    let stale = |id: &str| {
        sign_with(
            get.clone(),
            Signer::new(ed_key(), id, UnixTime::from_secs(NOW - 3600)),
        )
    };
    assert_eq!(
        v.decide(&stale("gone"), &cx),
        v.decide(&stale("nobody"), &cx)
    );
    assert_eq!(code(&v.decide(&stale("gone"), &cx)), "signature_too_old");
    // A malformed signature is malformed first, whoever it names.
    let r = with_field(
        &forged("gone"),
        "signature-input",
        Some("sig1=(\"@nope\");created=1;keyid=\"gone\""),
    );
    assert_eq!(code(&v.decide(&r, &cx)), "malformed_credentials");
    // An API key is its own proof: its key's state comes first, even with a forged signature.
    let r = with_field(
        &signed(
            get.clone().with_header("X-API-Key", "gone-api-key"),
            ed_key(),
            "gone-api",
        ),
        "signature",
        Some("sig1=:AAAA:"),
    );
    let d = v.decide(&r, &cx);
    assert_eq!(
        (code(&d), d.key_id.as_deref()),
        ("key_revoked", Some("gone-api"))
    );
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
    // Before proof the field names no key; with the API key that proves it, it does.
    assert_eq!(
        header(&d, "Accept-Signature").unwrap(),
        "sig1=(\"@method\" \"@target-uri\" \"content-digest\")"
    );
    let r = post(URL, BODY)
        .with_header("X-API-Key", "both-api-key")
        .with_header(
            "Signature-Input",
            "sig1=();created=1764374400;keyid=\"both\"",
        )
        .with_header("Signature", "sig1=:AA==:");
    let d = v.decide(&r, &cx());
    assert_eq!(code(&d), "components_missing");
    assert_eq!(
        header(&d, "Accept-Signature").unwrap(),
        "sig1=(\"@method\" \"@target-uri\" \"content-digest\");keyid=\"both\";alg=\"ed25519\""
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
    // So is a signature from an unknown key (refused just like a forged one), or one that is
    // too old.
    let stranger = sign_with(post(URL, BODY), Signer::new(ed_key(), "nobody", now()));
    assert_eq!(
        code(&v.decide_deferred(&pending(&stranger), &cx()).unwrap()),
        "signature_invalid"
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
