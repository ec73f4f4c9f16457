//! The fuzz targets' bodies, apart from the engine: each `fuzz_targets/*.rs` is one line that
//! hands libFuzzer's input to a `run` here. Every target checks properties beyond "never
//! panics" (see each module); a failed property is a panic, which libFuzzer reports as a crash.
//!
//! Fixtures are the project's own vector files (key sets, envelopes), read at compile time.

pub mod deltas;
pub mod digests;
pub mod envelopes;
pub mod http;
pub mod keysets;
pub mod origins;
pub mod paths;
pub mod plain;
pub mod sealed;
pub mod shards;
pub mod sigs;
pub mod webhooks;

use std::sync::LazyLock;

use keygate::{Decision, KeySet, Reason, UnixTime};

/// The instant every decision is taken at (2026-11-29T12:00:00Z, the vectors' `now`).
pub const NOW: i64 = 1_795_953_600;

pub fn now() -> UnixTime {
    UnixTime::from_secs(NOW)
}

fn keyset(json: &str) -> KeySet {
    KeySet::from_json(json.as_bytes()).expect("fixture key set loads")
}

/// `demo/keyset.json`: public `/health` and `/api/public/**`, scoped orders and admin rules.
pub static DEMO: LazyLock<KeySet> =
    LazyLock::new(|| keyset(include_str!("../../demo/keyset.json")));
/// `tests/vectors/attacks/keyset.json`: literal and method-restricted rules, IPv4-mapped CIDRs.
pub static ATTACKS: LazyLock<KeySet> =
    LazyLock::new(|| keyset(include_str!("../../tests/vectors/attacks/keyset.json")));
/// `tests/vectors/attacks/keyset_exact_paths.json`: the `path_case`/`trailing_slash` opt-outs.
pub static EXACT: LazyLock<KeySet> = LazyLock::new(|| {
    keyset(include_str!(
        "../../tests/vectors/attacks/keyset_exact_paths.json"
    ))
});
/// `tests/vectors/attacks/keyset_body_method.json`: `body_method_override: "every_method"`
/// with a `deny` default.
pub static BODY_METHOD: LazyLock<KeySet> = LazyLock::new(|| keyset(BODY_METHOD_JSON));
/// The same set with `body_method_override: "ignored"`, the policy's other value.
pub static BODY_METHOD_IGNORED: LazyLock<KeySet> = LazyLock::new(|| {
    let mut doc: serde_json::Value = serde_json::from_str(BODY_METHOD_JSON).unwrap();
    doc["policy"]["body_method_override"] = "ignored".into();
    keyset(&doc.to_string())
});
const BODY_METHOD_JSON: &str = include_str!("../../tests/vectors/attacks/keyset_body_method.json");
/// `tests/vectors/signatures/keyset.json`: signing keys, no public route.
pub static SIGNATURES: LazyLock<KeySet> =
    LazyLock::new(|| keyset(include_str!("../../tests/vectors/signatures/keyset.json")));

/// What every decision must satisfy, whatever the request.
pub fn check_decision(d: &Decision, secrets: &[&str]) {
    assert_eq!(d.allowed, d.reason.is_none(), "{d:?}");
    match d.reason {
        None => assert_eq!(d.status, 200, "{d:?}"),
        Some(r) => {
            assert_eq!(d.status, r.http_status(), "{d:?}");
            assert!(!d.message.is_empty(), "{d:?}");
            assert!(Reason::ALL.contains(&r));
        }
    }
    let challenge = d
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("www-authenticate"));
    assert_eq!(
        challenge,
        d.status == 401,
        "401 and only 401 carries WWW-Authenticate: {d:?}"
    );
    if d.allowed {
        assert!(d.path.is_some(), "allowed without a judged path: {d:?}");
    }
    if let Some(p) = &d.path {
        let again = keygate::NormalizedPath::parse(p)
            .unwrap_or_else(|e| panic!("judged path {p:?} is refused when forwarded: {e}"));
        assert_eq!(&again.as_string(), p, "judged path is not canonical");
    }
    for s in secrets {
        let shown = format!("{} {:?}", d.message, d.headers);
        assert!(!shown.contains(s), "a credential is echoed: {d:?}");
    }
}

/// The runs of 16 or more ASCII letters and digits in a credential: long enough that a
/// message holding one has echoed the credential (messages are words, ids and codes).
pub fn secret_runs(v: &str) -> impl Iterator<Item = &str> {
    v.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|r| r.len() >= 16)
}
