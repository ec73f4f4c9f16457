#![cfg(not(target_arch = "wasm32"))]
//! Standard Webhooks through the public API: the published vector signed and verified, the
//! body streamed in any split giving the same verdicts as one piece, the claim a delivery
//! records, bodies given as digests or not at all, sealed webhook secrets, and no secret in
//! any output. (The decision order case by case: tests/vectors/webhooks/, run by
//! tests/vectors.rs and the JS and wasm suites.)

mod common;

use common::*;
use keygate::sig::ClaimKind;
use keygate::webhook::{
    Scheme, WebhookCheck, WebhookKey, WebhookSigner, read, sign_webhook, streams,
};
use keygate::{Body, BodyDigests, Context, KeySet, SealKey, SealKeys, UnixTime, Unseal, Verifier};
use proptest::prelude::*;
use serde_json::{Value, json};

fn reference() -> Value {
    serde_json::from_str(include_str!("vectors/webhooks/reference.json")).unwrap()
}

fn set(keys: Value, routes: Value) -> KeySet {
    let doc = json!({"keygate": 1, "revision": 1, "policy": {"default_route": "deny"}, "routes": routes, "keys": keys});
    KeySet::from_json(doc.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

fn delivery(path: &str, fields: &[(&'static str, String)], body: &[u8]) -> keygate::Request {
    let mut r = keygate::Request::new("POST", &format!("https://api.example.com{path}")).unwrap();
    for (n, v) in fields {
        r.push_header(n, v);
    }
    r.with_body(body.to_vec())
}

#[test]
fn the_published_vector_signs_and_verifies() {
    let v = reference();
    let key = WebhookSigner::from_text(v["secret"].as_str().unwrap()).unwrap();
    let id = v["id"].as_str().unwrap();
    let ts = v["timestamp"].as_i64().unwrap();
    let body = v["body"].as_str().unwrap().as_bytes();
    let signed = sign_webhook(&[key], id, ts, body).unwrap();
    assert_eq!(signed.signature, v["signature"].as_str().unwrap());
    let ks = set(
        json!([{"id": "svix", "webhook": {"secret": v["secret"]}}]),
        json!([{"path": "/hooks", "webhook_keys": ["svix"]}]),
    );
    let d = Verifier::new(ks).decide(
        &delivery("/hooks", &signed.headers(), body),
        &Context::new(UnixTime::from_secs(ts + 10)),
    );
    assert!(d.allowed, "{d:?}");
    let w = d.webhook.as_ref().unwrap();
    assert_eq!((w.id.as_str(), w.timestamp, w.scheme), (id, ts, Scheme::V1));
    // The claim: the pair, under no key, for as long as the delivery could be accepted.
    let c = d.nonce.as_ref().unwrap();
    assert_eq!(c.kind, ClaimKind::Webhook);
    assert_eq!(
        (c.key_id.as_str(), c.nonce.as_str()),
        ("", &*format!("{id}.{ts}"))
    );
    assert_eq!(c.expires_at.as_secs(), ts + 300 + 30);
    assert_eq!(
        d.to_json()["webhook"],
        json!({"id": id, "timestamp": ts, "scheme": "v1"})
    );
}

#[test]
fn a_delivery_is_claimed_once_whatever_keys_a_later_set_lists_first() {
    // A rotation: the provider signs with the old key and the new one at once.
    let (old, new) = (
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_c2VjcmV0LWtleS1mb3ItdGhlLW5ldy1vbmU=",
    );
    let keys = [
        WebhookSigner::from_text(old).unwrap(),
        WebhookSigner::from_text(new).unwrap(),
    ];
    let ts = 1_700_000_000;
    let body = br#"{"type":"invoice.paid"}"#;
    let signed = sign_webhook(&keys, "msg_rotating", ts, body).unwrap();
    let doc = |revision: u64, ids: &[&str]| {
        let secret = |id: &str| if id == "old" { old } else { new };
        let keys: Vec<Value> = ids
            .iter()
            .map(|id| json!({"id": id, "webhook": {"secret": secret(id)}}))
            .collect();
        let doc = json!({"keygate": 1, "revision": revision, "routes": [{"path": "/hooks", "webhook_keys": ids}], "keys": keys});
        KeySet::from_json(doc.to_string().as_bytes()).unwrap()
    };
    let cx = Context::new(UnixTime::from_secs(ts + 1));
    let req = delivery("/hooks", &signed.headers(), body);
    let mut v = Verifier::new(doc(1, &["old"]));
    assert!(v.decide(&req, &cx).allowed);
    v.update(doc(2, &["new", "old"])).unwrap();
    let d = v.decide(&req, &cx);
    assert_eq!(
        d.reason,
        Some(keygate::Reason::NonceReplayed),
        "the new key listed first: {d:?}"
    );
    v.update(doc(3, &["new"])).unwrap();
    let d = v.decide(&req, &cx);
    assert_eq!(
        d.reason,
        Some(keygate::Reason::NonceReplayed),
        "the old key dropped: {d:?}"
    );
}

/// Splits `body` at the given (sorted, clamped) offsets.
fn chunks<'a>(body: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
    cuts.sort_unstable();
    for c in cuts {
        out.push(&body[at..c.max(at)]);
        at = c.max(at);
    }
    out.push(&body[at..]);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Fed in any split, a delivery's check gives the verdict the whole body gives, for both
    /// schemes, for a valid signature and for one over a body with a flipped byte.
    #[test]
    fn any_split_gives_the_same_verdict(
        body in proptest::collection::vec(any::<u8>(), 0..600),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
        flip in any::<usize>(),
    ) {
        for scheme in [Scheme::V1, Scheme::V1a] {
            let signer = WebhookSigner::generate(scheme).unwrap();
            let key = signer.verifier();
            let signed = sign_webhook(std::slice::from_ref(&signer), "msg_1", 1_700_000_000, &body).unwrap();
            let tokens = keygate::webhook::parse_signature(&signed.signature).unwrap();
            let mut tampered = body.clone();
            if !tampered.is_empty() {
                let i = flip % tampered.len();
                tampered[i] ^= 0x01;
            }
            for (content, want) in [(&body, true), (&tampered, body.is_empty())] {
                let keys = [Some(&key)];
                let mut whole = WebhookCheck::start(b"msg_1.1700000000.", &keys, &tokens);
                whole.update(content);
                let mut split = WebhookCheck::start(b"msg_1.1700000000.", &keys, &tokens);
                for c in chunks(content, &cuts) {
                    split.update(c);
                }
                prop_assert_eq!(split.body_len(), content.len() as u64);
                let (a, b) = (whole.finish(), split.finish());
                prop_assert_eq!(&a, &b);
                prop_assert_eq!(a[0], want);
            }
        }
    }
}

#[test]
fn the_work_bound_counts_streams_not_tokens() {
    let v1 = WebhookSigner::generate(Scheme::V1).unwrap().verifier();
    let v1a = WebhookSigner::generate(Scheme::V1a).unwrap().verifier();
    let s = WebhookSigner::generate(Scheme::V1).unwrap();
    let a = WebhookSigner::generate(Scheme::V1a).unwrap();
    let signed = sign_webhook(&[s.clone(), s, a.clone(), a], "m", 1_700_000_000, b"x").unwrap();
    let tokens = keygate::webhook::parse_signature(&signed.signature).unwrap();
    assert_eq!(tokens.len(), 4);
    // Two v1 tokens cost one MAC per v1 key; two v1a tokens, one stream per v1a key each.
    assert_eq!(streams(&[Some(&v1), Some(&v1a)], &tokens), 1 + 2);
    assert_eq!(
        streams(&[Some(&v1), Some(&v1), Some(&v1a), None], &tokens),
        2 + 2
    );
    assert_eq!(
        streams(&[Some(&v1a)], &tokens[..2]),
        0,
        "no v1a token: nothing to check"
    );
}

#[test]
fn bodies_as_digests_or_pending() {
    let s = WebhookSigner::generate(Scheme::V1).unwrap();
    let ks = set(
        json!([{"id": "h", "webhook": s.entry()}]),
        json!([{"path": "/hooks", "webhook_keys": ["h"]}]),
    );
    let v = Verifier::new(ks);
    let signed = sign_webhook(std::slice::from_ref(&s), "m", NOW, b"{}").unwrap();
    let mut req = delivery("/hooks", &signed.headers(), b"");
    req.set_body(Body::Digests(BodyDigests::new(2, None, None)));
    let d = v.decide(&req, &cx());
    assert_eq!(code(&d), "signature_invalid");
    assert!(d.message.contains("as bytes"), "{}", d.message);
    req.set_body(Body::Pending);
    assert!(
        v.decide_deferred(&req, &cx()).is_none(),
        "waits for the body"
    );
    assert_eq!(code(&v.decide(&req, &cx())), "signature_invalid");
    req.set_body(Body::Bytes(b"{}".to_vec()));
    assert!(v.decide(&req, &cx()).allowed);
    // A request without the fields does not wait for its body: refused at once.
    let mut bare = delivery("/hooks", &[], b"");
    bare.set_body(Body::Pending);
    assert_eq!(
        code(&v.decide_deferred(&bare, &cx()).unwrap()),
        "signature_required"
    );
}

#[test]
fn sealed_webhook_secrets_open_and_keep_quiet() {
    let seal = SealKey::generate(Some("s1")).unwrap();
    let keys = SealKeys::new(vec![seal.clone()]).unwrap();
    let s = WebhookSigner::generate(Scheme::V1).unwrap();
    let text = s.to_text();
    let doc = json!({"keygate": 1, "revision": 1,
        "routes": [{"path": "/hooks", "webhook_keys": ["h"]}],
        "keys": [{"id": "h", "webhook": {"sealed": seal.seal(text.as_bytes()).unwrap()}}]});
    let ks = KeySet::from_json_with(doc.to_string().as_bytes(), Unseal::Keys(&keys)).unwrap();
    assert!(matches!(
        ks.key_by_id("h").unwrap().webhook.as_deref(),
        Some(WebhookKey::V1(_))
    ));
    let shown = format!("{ks:?} {:?} {:?}", ks.keys(), ks.lint(now()));
    assert!(!shown.contains(&text[6..20]), "{shown}");
    let signed = sign_webhook(std::slice::from_ref(&s), "m", NOW, b"{}").unwrap();
    assert!(
        Verifier::new(ks)
            .decide(&delivery("/hooks", &signed.headers(), b"{}"), &cx())
            .allowed
    );
    // Form only: loads, lists the key, verifies nothing.
    let form = KeySet::from_json_with(doc.to_string().as_bytes(), Unseal::FormOnly).unwrap();
    assert!(form.key_by_id("h").unwrap().webhook.is_none());
    let d = Verifier::new(form).decide(&delivery("/hooks", &signed.headers(), b"{}"), &cx());
    assert_eq!(code(&d), "signature_invalid");
    // A sealed public key is refused: it is no secret.
    let pk = WebhookSigner::generate(Scheme::V1a)
        .unwrap()
        .verifier()
        .public_key_text()
        .unwrap();
    let bad = json!({"keygate": 1, "revision": 1, "keys": [{"id": "h", "webhook": {"sealed": seal.seal(pk.as_bytes()).unwrap()}}]});
    let e = KeySet::from_json_with(bad.to_string().as_bytes(), Unseal::Keys(&keys)).unwrap_err();
    assert!(e.to_string().contains("not secret"), "{e}");
}

#[test]
fn unlisted_webhook_keys_are_linted() {
    let s = WebhookSigner::generate(Scheme::V1).unwrap();
    let ks = set(
        json!([{"id": "a", "webhook": s.entry(), "expires_at": "2026-01-01T00:00:00Z"},
               {"id": "b", "webhook": s.entry(), "expires_at": "2026-01-01T00:00:00Z"}]),
        json!([{"path": "/hooks", "webhook_keys": ["a"]}]),
    );
    let lints: Vec<(&str, String)> = ks
        .lint(now())
        .into_iter()
        .filter(|l| l.code != "audience_missing")
        .map(|l| (l.code, l.path))
        .collect();
    assert_eq!(
        lints,
        [("webhook_key_unlisted", "$.keys[1].webhook".to_string())]
    );
}

#[test]
fn headers_are_read_once_each() {
    let mut r = keygate::Request::new("POST", "https://h/").unwrap();
    assert_eq!(read(&r), Ok(None));
    r.push_header("Webhook-Id", "a");
    r.push_header("webhook-id", "b");
    assert!(read(&r).unwrap_err().contains("more than once"));
}

#[test]
fn key_debug_output_names_only_the_scheme() {
    let s = WebhookSigner::generate(Scheme::V1).unwrap();
    let text = s.to_text();
    for shown in [format!("{s:?}"), format!("{:?}", s.verifier())] {
        assert!(!shown.contains(&text[6..16]), "{shown}");
        assert!(shown.contains("v1"), "{shown}");
    }
    let _ = Context::new(now());
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A `v1a` token is judged as `verify_strict` judges it, on every published Ed25519 edge case
/// (Wycheproof, CCTV's small-order and non-canonical cases, speccheck), with the message split
/// between the prefix and the body at every third byte: no small-order `R` or key, no `S ≥ L`,
/// no non-canonical `R` slips through the streaming check.
#[test]
fn v1a_tokens_are_judged_as_verify_strict_judges_them() {
    use base64::Engine as _;
    use ed25519_dalek::{Signature, VerifyingKey};
    let mut cases: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> = Vec::new();
    let cctv: Value = serde_json::from_str(include_str!("vectors/ed25519/cctv.json")).unwrap();
    for c in cctv.as_array().unwrap() {
        cases.push((
            unhex(c["key"].as_str().unwrap()),
            unhex(c["sig"].as_str().unwrap()),
            c["msg"].as_str().unwrap().as_bytes().to_vec(),
        ));
    }
    let spec: Value = serde_json::from_str(include_str!("vectors/ed25519/speccheck.json")).unwrap();
    for c in spec.as_array().unwrap() {
        cases.push((
            unhex(c["pub_key"].as_str().unwrap()),
            unhex(c["signature"].as_str().unwrap()),
            unhex(c["message"].as_str().unwrap()),
        ));
    }
    let wp: Value =
        serde_json::from_str(include_str!("vectors/wycheproof/ed25519_test.json")).unwrap();
    for g in wp["testGroups"].as_array().unwrap() {
        let pk = unhex(g["publicKey"]["pk"].as_str().unwrap());
        for t in g["tests"].as_array().unwrap() {
            cases.push((
                pk.clone(),
                unhex(t["sig"].as_str().unwrap()),
                unhex(t["msg"].as_str().unwrap()),
            ));
        }
    }
    let (mut checked, mut accepted) = (0, 0);
    for (i, (pk, sig, msg)) in cases.iter().enumerate() {
        let Ok(pk) = <[u8; 32]>::try_from(pk.as_slice()) else {
            continue;
        };
        // A key that does not decode never reaches a key set (`whpk_` is checked at load).
        let Ok(key) = VerifyingKey::from_bytes(&pk) else {
            continue;
        };
        let strict = Signature::from_slice(sig).is_ok_and(|s| key.verify_strict(msg, &s).is_ok());
        let token = if sig.len() == 64 {
            keygate::webhook::parse_signature(&format!(
                "v1a,{}",
                base64::engine::general_purpose::STANDARD.encode(sig)
            ))
            .unwrap()
        } else {
            continue;
        };
        let wk = WebhookKey::V1a(key);
        let keys = [Some(&wk)];
        let cut = (i * 3) % (msg.len() + 1);
        let mut check = WebhookCheck::start(&msg[..cut], &keys, &token);
        check.update(&msg[cut..]);
        assert_eq!(check.finish(), vec![strict], "case {i}");
        checked += 1;
        accepted += usize::from(strict);
    }
    assert!(
        checked > 1000 && accepted > 50,
        "{checked} checked, {accepted} valid"
    );
}

#[test]
fn a_timestamp_past_the_year_9999_is_named_as_sent() {
    // webhook-timestamp has up to 12 digits; past 9999-12-31 the refusal quoted the clamp
    // ("9999-12-31T23:59:59Z is in the future"), not what the sender wrote.
    let s = WebhookSigner::generate(Scheme::V1).unwrap();
    let secret = s.to_text();
    let ks = set(
        json!([{"id": "w", "webhook": {"secret": secret.as_str()}}]),
        json!([{"path": "/hooks", "webhook_keys": ["w"]}]),
    );
    let ts = 999_999_999_999;
    let signed = sign_webhook(&[s], "msg_1", ts, b"{}").unwrap();
    let d = Verifier::new(ks).decide(
        &delivery("/hooks", &signed.headers(), b"{}"),
        &Context::new(UnixTime::from_secs(1_700_000_000)),
    );
    assert_eq!(d.reason.map(|r| r.code()), Some("signature_in_future"));
    assert!(
        d.message.contains("999999999999 (Unix seconds"),
        "{}",
        d.message
    );
}
