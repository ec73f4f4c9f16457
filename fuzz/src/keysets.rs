//! The `keyset` target: `KeySet::from_json` and the envelope loader (`load_keyset`), through
//! the public API only, so it keeps working whatever the loader does inside.
//!
//! Input: one selector byte, then a document. Properties, beyond "never panics":
//! - a refused key set reports at least one error, each with a JSON path from `$` and a
//!   message, and no error, `Display` or `Debug` shows a secret the document holds (an HMAC
//!   `secret`, a private JWK `d`);
//! - an accepted key set is standard JSON without duplicate members (a second parser reads the
//!   same document), has a revision in range, lints, and decides a request without panicking;
//! - the envelope path agrees with the bare path: the document signed into an envelope loads
//!   exactly when it loads bare, to the same revision and bytes, or is refused with the same
//!   errors; an unsigned load without publisher keys is `from_json` itself;
//! - arbitrary bytes given to a loader with publisher keys are refused with a stable code;
//! - the fast path of `from_json` (typed key entries) and the slow path (JSON trees, every
//!   error reported) agree: the same key set, or the same errors (`cfg(fuzzing)` hook).

use std::sync::LazyLock;

use keygate::{
    Context, KeySet, LoadError, PublisherKeys, PublisherSecret, Request, Verifier, load_keyset,
    looks_like_envelope, sign_envelope,
};
use serde_json::Value;

use crate::now;

pub static PUBLISHER: LazyLock<PublisherSecret> =
    LazyLock::new(|| PublisherSecret::from_seed(&[7; 32], Some("fuzz")));

/// Our key and the RFC 8037 example key the envelope vectors are signed with, so mutated
/// vectors that keep a valid signature reach the payload.
pub static PINNED: LazyLock<PublisherKeys> = LazyLock::new(|| {
    let vectors: Value =
        serde_json::from_str(include_str!("../../tests/vectors/envelopes/envelopes.json"))
            .expect("envelope vectors");
    let config = vectors["cases"][0]["publisher_keys"]
        .as_str()
        .expect("publisher_keys");
    let mut keys = PublisherKeys::parse(config)
        .expect("vector publisher keys")
        .keys()
        .to_vec();
    keys.push(PUBLISHER.public_key());
    PublisherKeys::new(keys).expect("distinct kids")
});

const CODES: [&str; 6] = [
    "envelope_invalid",
    "envelope_signature_invalid",
    "keyset_invalid",
    "publisher_keys_missing",
    "audience_mismatch",
    "envelope_stale",
];

pub fn run(data: &[u8]) {
    let Some((&selector, doc)) = data.split_first() else {
        return;
    };
    let bare = KeySet::from_json(doc);
    check_bare(doc, &bare);
    #[cfg(fuzzing)]
    fast_and_slow_agree(doc, &bare);
    match selector % 3 {
        0 => {
            // Through a signed envelope: the same answer as bare.
            let envelope = sign_envelope(doc, &PUBLISHER).to_string();
            let loaded = load_keyset(envelope.as_bytes(), Some(&PINNED));
            match (&bare, &loaded) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a.revision(), b.revision());
                    assert!(
                        a.same_bytes_as(b),
                        "the envelope payload is not the document"
                    );
                }
                (Err(a), Err(LoadError::Keyset(b))) => assert_eq!(a, b),
                _ => panic!(
                    "bare and enveloped loads disagree: {:?} vs {:?}",
                    bare.as_ref().map(KeySet::revision),
                    loaded.as_ref().map(KeySet::revision)
                ),
            }
        }
        1 => {
            // Raw bytes to a loader that requires a signature.
            let loaded = load_keyset(doc, Some(&PINNED));
            match &loaded {
                Ok(ks) => {
                    assert!(looks_like_envelope(doc), "an unsigned document loaded");
                    assert!(ks.revision() >= 1);
                }
                Err(e) => {
                    assert!(CODES.contains(&e.code()), "{}", e.code());
                    assert!([400, 401, 409].contains(&e.http_status()));
                    assert!(!e.to_string().is_empty());
                    no_secret_shown(doc, &e.to_string());
                }
            }
            // The envelope reader scans the raw text; a second JSON reader must agree: the same
            // document written out again by serde_json (other whitespace, escapes decoded,
            // members in order) loads the same way.
            if let Ok(v) = serde_json::from_slice::<Value>(doc)
                && !has_duplicate_members(doc)
            {
                let again = serde_json::to_vec(&v).expect("serialises");
                let other = load_keyset(&again, Some(&PINNED));
                assert_eq!(
                    outcome(&loaded),
                    outcome(&other),
                    "the envelope reads differently once rewritten: {}",
                    String::from_utf8_lossy(&again)
                );
            }
        }
        _ => {
            // Without publisher keys: an envelope is refused, anything else is from_json.
            let loaded = load_keyset(doc, None);
            if looks_like_envelope(doc) {
                assert!(matches!(loaded, Err(LoadError::PublisherKeysMissing)));
            } else {
                match (&bare, &loaded) {
                    (Ok(a), Ok(b)) => assert!(a.same_bytes_as(b)),
                    (Err(a), Err(LoadError::Keyset(b))) => assert_eq!(a, b),
                    _ => panic!("load_keyset(None) is not from_json"),
                }
            }
        }
    }
}

/// A load's outcome, to compare two loads: the revision or the error code.
fn outcome(r: &Result<KeySet, LoadError>) -> Result<u64, &'static str> {
    r.as_ref().map(KeySet::revision).map_err(LoadError::code)
}

fn check_bare(doc: &[u8], bare: &Result<KeySet, keygate::KeysetErrors>) {
    match bare {
        Err(e) => {
            assert!(!e.errors().is_empty());
            for err in e.errors() {
                assert!(err.path.starts_with('$'), "{err}");
                assert!(!err.message.is_empty(), "{err}");
            }
            no_secret_shown(doc, &format!("{e} {e:?}"));
        }
        Ok(ks) => {
            let v: Value = serde_json::from_slice(doc)
                .unwrap_or_else(|e| panic!("accepted, but serde_json refuses it: {e}"));
            assert!(
                !has_duplicate_members(doc),
                "accepted a document with a repeated member"
            );
            assert!(v.is_object());
            assert!((1..=keygate::MAX_REVISION).contains(&ks.revision()));
            let _ = ks.lint(now());
            let shown = format!("{ks:?} {:?} {:?}", ks.keys(), ks.policy());
            no_secret_shown(doc, &shown);
            let req = Request::new("GET", "https://api.example.com/api/admin/x")
                .expect("request")
                .with_header(
                    "x-api-key",
                    "kg_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN",
                );
            let d = Verifier::new(ks.clone()).decide(&req, &Context::new(now()));
            crate::check_decision(&d, &[]);
        }
    }
}

/// `from_json` reads key entries on a fast, typed path and falls back to a slow one (JSON
/// trees) when the fast one gives up; whichever ran, the slow path alone must build the same
/// key set or report the same errors.
#[cfg(fuzzing)]
fn fast_and_slow_agree(doc: &[u8], fast: &Result<KeySet, keygate::KeysetErrors>) {
    let slow = KeySet::from_json_slow_path(doc).expect("the slow path always answers");
    match (fast, &slow) {
        // Compared by the crate's summary: every field, secrets as hashes (a failed
        // assertion shows no secret).
        (Ok(_), Ok(_)) => assert_eq!(
            KeySet::reading_summary(fast),
            KeySet::reading_summary(&slow),
            "the two paths build different key sets"
        ),
        (Err(a), Err(b)) => assert_eq!(a, b, "the two paths report different errors"),
        _ => panic!(
            "from_json {} but the slow path {}",
            if fast.is_ok() { "accepts" } else { "refuses" },
            if slow.is_ok() { "accepts" } else { "refuses" }
        ),
    }
}

/// The secrets a document holds: values of `secret`, and of a JWK's `k` (HMAC) and `d`
/// (private key).
fn secrets(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if let (true, Value::String(s)) = (["secret", "k", "d"].contains(&k.as_str()), x) {
                    out.push(s.clone());
                }
                secrets(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| secrets(x, out)),
        _ => {}
    }
}

pub fn no_secret_shown(doc: &[u8], shown: &str) {
    let Ok(v) = serde_json::from_slice::<Value>(doc) else {
        return;
    };
    let mut found = Vec::new();
    secrets(&v, &mut found);
    for s in found.iter().filter(|s| s.len() >= 16) {
        assert!(!shown.contains(s.as_str()), "a secret is shown: {shown}");
    }
}

/// Whether some JSON object in `doc` names a member twice (a second, independent reading:
/// serde_json keeps the last one).
pub fn has_duplicate_members(doc: &[u8]) -> bool {
    struct Dup(bool);
    impl<'de> serde::de::Visitor<'de> for &mut Dup {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(k) = m.next_key::<String>()? {
                if !seen.insert(k) {
                    self.0 = true;
                }
                m.next_value_seed(&mut *self)?;
            }
            Ok(())
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<(), A::Error> {
            while s.next_element_seed(&mut *self)?.is_some() {}
            Ok(())
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
    }
    impl<'de> serde::de::DeserializeSeed<'de> for &mut Dup {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    let mut dup = Dup(false);
    let mut de = serde_json::Deserializer::from_slice(doc);
    serde::de::DeserializeSeed::deserialize(&mut dup, &mut de).is_ok() && dup.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &[u8] = include_bytes!("../../demo/keyset.json");

    #[test]
    fn every_selector_runs_on_a_valid_key_set() {
        assert!(KeySet::from_json(DEMO).is_ok());
        for sel in 0..3u8 {
            let mut input = vec![sel];
            input.extend_from_slice(DEMO);
            run(&input);
        }
    }

    #[test]
    fn duplicate_members_are_seen_at_any_depth() {
        assert!(has_duplicate_members(br#"{"a":1,"a":2}"#));
        assert!(has_duplicate_members(br#"{"x":[{"b":{"c":1,"c":1}}]}"#));
        assert!(!has_duplicate_members(br#"{"a":{"a":1},"b":[1,"a"]}"#));
        assert!(!has_duplicate_members(b"{nope"));
    }

    #[test]
    fn secrets_are_found_where_key_sets_hold_them() {
        let doc =
            br#"{"keys":[{"signing":{"secret":"s3cr3t-s3cr3t-s3cr3t"}},{"jwk":{"d":"dddd"}}]}"#;
        let mut found = Vec::new();
        secrets(&serde_json::from_slice(doc).unwrap(), &mut found);
        assert_eq!(found, ["s3cr3t-s3cr3t-s3cr3t", "dddd"]);
    }
}
