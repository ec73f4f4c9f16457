//! The envelope reader, its order of refusals, audiences and push freshness.

use super::*;
use crate::keyset::KeySet;
use crate::keyset::publisher::PublisherKeys;
use crate::time::UnixTime;

const KS: &str = r#"{"keygate":1,"revision":3,"keys":[]}"#;

fn secret(n: u8) -> PublisherSecret {
    PublisherSecret::from_seed(&[n; 32], None)
}

fn keys(s: &[&PublisherSecret]) -> PublisherKeys {
    PublisherKeys::new(s.iter().map(|s| s.public_key()).collect()).unwrap()
}

#[test]
fn sign_then_load() {
    let s = secret(1);
    let env = sign_envelope(KS.as_bytes(), &s).to_string();
    let ks = load_keyset(env.as_bytes(), Some(&keys(&[&s]))).unwrap();
    assert_eq!(ks.revision(), 3);
}

#[test]
fn wrong_key_unknown_kid_and_tampering_are_signature_refusals() {
    let (a, b) = (secret(1), secret(2));
    let env = sign_envelope(KS.as_bytes(), &a);
    let e = load_keyset(env.to_string().as_bytes(), Some(&keys(&[&b]))).unwrap_err();
    assert_eq!(e.code(), "envelope_signature_invalid");
    assert!(e.to_string().contains("names no pinned"), "{e}");
    let b_as_a = PublisherKeys::new(vec![b.public_key().with_kid_for_test(a.kid())]).unwrap();
    let e = load_keyset(env.to_string().as_bytes(), Some(&b_as_a)).unwrap_err();
    assert!(e.to_string().contains("does not verify"), "{e}");
    let mut t = env.clone();
    t["payload"] = Value::String(b64url_encode(br#"{"keygate":1,"revision":4,"keys":[]}"#));
    let e = load_keyset(t.to_string().as_bytes(), Some(&keys(&[&a]))).unwrap_err();
    assert_eq!(e.http_status(), 401);
}

#[test]
fn general_serialization_any_signature_may_pass() {
    let (a, b) = (secret(1), secret(2));
    let fa = sign_envelope(KS.as_bytes(), &a);
    let fb = sign_envelope(KS.as_bytes(), &b);
    let general = json!({"payload": fa["payload"], "signatures": [
        {"protected": fa["protected"], "signature": fa["signature"]},
        {"protected": fb["protected"], "signature": fb["signature"]},
    ]});
    assert!(load_keyset(general.to_string().as_bytes(), Some(&keys(&[&b]))).is_ok());
}

#[test]
fn signature_work_is_bounded() {
    let (a, b) = (secret(1), secret(2));
    let fb = sign_envelope(KS.as_bytes(), &b);
    let sig = json!({"protected": fb["protected"], "signature": fb["signature"]});
    // Nine signatures: refused as malformed before any is checked.
    let nine =
        json!({"payload": fb["payload"], "signatures": vec![sig.clone(); MAX_SIGNATURES + 1]});
    let e = load_keyset(nine.to_string().as_bytes(), Some(&keys(&[&a]))).unwrap_err();
    assert_eq!(e.code(), "envelope_invalid");
    // Eight kid-less signatures against several pinned keys: at most eight checks, then a
    // signature refusal (the ninth would need more).
    let unprotected_kid = b64url_encode(br#"{"alg":"EdDSA"}"#);
    let kidless = json!({"protected": unprotected_kid, "signature": fb["signature"]});
    let many_keys: Vec<_> = (10..13).map(|n| secret(n).public_key()).collect();
    let pinned = PublisherKeys::new(many_keys).unwrap();
    let eight = json!({"payload": fb["payload"], "signatures": vec![kidless; MAX_SIGNATURES]});
    let e = load_keyset(eight.to_string().as_bytes(), Some(&pinned)).unwrap_err();
    assert!(e.to_string().contains("too many signature checks"), "{e}");
}

#[test]
fn algorithm_confusion_and_shapes() {
    let a = secret(1);
    let env = sign_envelope(KS.as_bytes(), &a);
    let mut none = env.clone();
    none["protected"] = Value::String(b64url_encode(br#"{"alg":"none"}"#));
    let e = load_keyset(none.to_string().as_bytes(), Some(&keys(&[&a]))).unwrap_err();
    assert!(e.to_string().contains("not accepted"), "{e}");
    let mut unprotected_alg = env.clone();
    unprotected_alg["protected"] = Value::String(b64url_encode(br#"{}"#));
    unprotected_alg["header"] = json!({"alg": "EdDSA"});
    assert_eq!(
        load_keyset(unprotected_alg.to_string().as_bytes(), Some(&keys(&[&a])))
            .unwrap_err()
            .code(),
        "envelope_signature_invalid"
    );
    let bad = json!({"payload": "!!", "signature": "x", "protected": "e30"});
    assert_eq!(
        load_keyset(bad.to_string().as_bytes(), Some(&keys(&[&a])))
            .unwrap_err()
            .code(),
        "envelope_invalid"
    );
    assert_eq!(
        load_keyset(b"{nope", Some(&keys(&[&a])))
            .unwrap_err()
            .code(),
        "envelope_invalid"
    );
    assert!(matches!(
        load_keyset(KS.as_bytes(), Some(&keys(&[&a]))),
        Err(LoadError::SignatureRequired)
    ));
    assert!(matches!(
        load_keyset(env.to_string().as_bytes(), None),
        Err(LoadError::PublisherKeysMissing)
    ));
}

#[test]
fn content_errors_come_after_the_signature() {
    let a = secret(1);
    let env = sign_envelope(br#"{"keygate":1,"revision":0,"keys":[]}"#, &a);
    let e = load_keyset(env.to_string().as_bytes(), Some(&keys(&[&a]))).unwrap_err();
    assert_eq!(e.code(), "keyset_invalid");
}

#[test]
fn member_names_are_read_decoded_and_once() {
    let a = secret(1);
    let env = sign_envelope(KS.as_bytes(), &a);
    let text = env.to_string();
    // An escaped spelling of a member name is that member, as any JSON parser reads it.
    let escaped = text.replacen("\"payload\"", "\"p\\u0061yload\"", 1);
    assert_eq!(
        load_keyset(escaped.as_bytes(), Some(&keys(&[&a])))
            .unwrap()
            .revision(),
        3
    );
    // A member given twice is refused as not JSON (two parsers could read different ones).
    let twice = text.replacen('{', &format!("{{\"payload\":{},", env["payload"]), 1);
    let e = load_keyset(twice.as_bytes(), Some(&keys(&[&a]))).unwrap_err();
    assert_eq!(e.code(), "envelope_invalid");
    assert!(
        e.to_string().contains("duplicate member \"payload\""),
        "{e}"
    );
    // Unknown members are refused by name, in the flattened and the general form.
    let mut junk = env.clone();
    junk["x-junk"] = json!([{}, {"a": 1}]);
    let e = load_keyset(junk.to_string().as_bytes(), Some(&keys(&[&a]))).unwrap_err();
    assert!(e.to_string().contains("$.x-junk: unknown member"), "{e}");
    let general = json!({"payload": env["payload"], "signatures": [
        {"protected": env["protected"], "signature": env["signature"], "extra": 1}]});
    let e = load_keyset(general.to_string().as_bytes(), Some(&keys(&[&a]))).unwrap_err();
    assert!(
        e.to_string()
            .contains("$.signatures[0].extra: unknown member"),
        "{e}"
    );
}

#[test]
fn envelope_faults_come_before_the_signature() {
    // A bad signature and a malformed envelope: the malformed envelope is reported (400),
    // as docs/keyset.md orders them, though the signature is checked before any decoding.
    let b = secret(2);
    let forged = sign_envelope(KS.as_bytes(), &b);
    let pinned = keys(&[&secret(1)]);
    let mut bad_payload = forged.clone();
    bad_payload["payload"] = Value::String("e30=".into());
    let mut header_twice = forged.clone();
    header_twice["header"] = json!({"alg": "EdDSA"});
    let mut long_header = forged.clone();
    long_header["header"] = json!({"x": "y".repeat(MAX_JWS_HEADER_BYTES)});
    for (v, fragment) in [
        (
            bad_payload,
            "$.payload: invalid base64url character at byte 3",
        ),
        (header_twice, "\"alg\" appears in both"),
        (long_header, "$.header: "),
    ] {
        let e = load_keyset(v.to_string().as_bytes(), Some(&pinned)).unwrap_err();
        assert_eq!(e.code(), "envelope_invalid", "{e}");
        assert!(e.to_string().contains(fragment), "{e}");
    }
    // Not JSON: refused with the byte offset where it stops being JSON.
    let text = forged.to_string();
    let e = load_keyset(&text.as_bytes()[..text.len() - 1], Some(&pinned)).unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("at byte {}", text.len() - 1)),
        "{e}"
    );
}

#[test]
fn audience() {
    let a = secret(1);
    let pinned = keys(&[&a]);
    let set = |aud: Value| {
        let mut v: Value = serde_json::from_str(KS).unwrap();
        v["audience"] = aud;
        sign_envelope(v.to_string().as_bytes(), &a).to_string()
    };
    let prod = LoadOptions::new()
        .publisher_keys(Some(&pinned))
        .audience(Some("api-prod"))
        .unwrap();
    for ok in [json!("api-prod"), json!(["api-staging", "api-prod"])] {
        assert!(load_keyset_with(set(ok).as_bytes(), &prod).is_ok());
    }
    let e = load_keyset_with(set(json!(["api-staging"])).as_bytes(), &prod).unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("audience_mismatch", 400));
    assert!(e.to_string().contains("\"api-staging\""), "{e}");
    // A set naming no audience is not for a verifier that has one; without one, any loads.
    let e = load_keyset_with(
        sign_envelope(KS.as_bytes(), &a).to_string().as_bytes(),
        &prod,
    );
    assert!(e.unwrap_err().to_string().contains("names no audience"));
    assert!(load_keyset(set(json!("api-staging")).as_bytes(), Some(&pinned)).is_ok());
    // Bad audiences are key set errors (with their path), and bad configurations errors.
    for (bad, path) in [
        (json!([]), "$.audience"),
        (json!(""), "$.audience"),
        (json!(["a", "a"]), "$.audience[1]"),
        (json!(["a b"]), "$.audience[0]"),
        (json!(7), "$.audience"),
    ] {
        let mut v: Value = serde_json::from_str(KS).unwrap();
        v["audience"] = bad;
        let e = KeySet::from_json(v.to_string().as_bytes()).unwrap_err();
        assert_eq!(e.errors()[0].path, path, "{e}");
    }
    assert!(LoadOptions::new().audience(Some("")).is_err());
    assert!(LoadOptions::new().audience(Some(&"x".repeat(257))).is_err());
}

#[test]
fn pushed_sets_must_be_fresh() {
    let at = |issued: Option<&str>, skew: u32| {
        let mut v: Value = serde_json::from_str(KS).unwrap();
        if let Some(t) = issued {
            v["issued_at"] = Value::String(t.into());
        }
        v["policy"] = json!({"clock_skew_seconds": skew});
        KeySet::from_json(v.to_string().as_bytes()).unwrap()
    };
    let now = UnixTime::parse_rfc3339("2026-12-01T12:00:00Z").unwrap();
    let max = DEFAULT_MAX_PUSH_AGE_SECONDS;
    assert!(check_push_fresh(&at(Some("2026-12-01T11:45:00Z"), 30), now, max).is_ok());
    assert!(check_push_fresh(&at(Some("2026-12-01T12:00:30Z"), 30), now, max).is_ok());
    for (set, fragment) in [
        (at(None, 30), "must carry issued_at"),
        (at(Some("2026-12-01T11:44:59Z"), 30), "901 s before now"),
        (at(Some("2026-12-01T12:00:31Z"), 30), "31 s after now"),
        (at(Some("2026-12-01T12:01:00Z"), 0), "60 s after now"),
    ] {
        let e = check_push_fresh(&set, now, max).unwrap_err();
        assert_eq!((e.code(), e.http_status()), ("envelope_stale", 409));
        assert!(e.to_string().contains(fragment), "{e}");
    }
    assert!(check_push_fresh(&at(Some("2026-12-01T11:00:00Z"), 30), now, 3600).is_ok());
}
