//! The `keyset_plain` target: the plain reader of key set documents (the crate's own cursor,
//! `src/keyset/plain.rs`) held to the general reading (serde_json: the typed pass, then the
//! slow one), both reached through `cfg(fuzzing)` hooks.
//!
//! Input: the document itself. Properties, beyond "never panics":
//! - whenever the plain reader answers, the general reading of the same bytes answers the
//!   same: the same key set (every field of every key, the set's own fields, its fingerprint
//!   and the forms of its secrets; secrets compared as SHA-256 hashes, never shown), or the
//!   same errors, word for word and path for path;
//! - so the plain reader never accepts what the general reading refuses, nor refuses what it
//!   accepts;
//! - what the plain reader accepts is also what `KeySet::from_json` (which tries it first)
//!   returns.
//!
//! Without `cfg(fuzzing)` (a plain `cargo build`) the target only runs `from_json`.

use keygate::KeySet;
#[cfg(fuzzing)]
use keygate::KeysetErrors;

pub fn run(doc: &[u8]) {
    #[cfg(fuzzing)]
    {
        let Some(plain) = KeySet::from_json_plain_path(doc) else {
            // Left to the general reading: nothing to compare.
            return;
        };
        let general = KeySet::from_json_general_path(doc);
        compare(doc, &plain, &general);
        let public = KeySet::from_json(doc);
        compare(doc, &plain, &public);
    }
    #[cfg(not(fuzzing))]
    let _ = KeySet::from_json(doc);
}

#[cfg(fuzzing)]
fn compare(
    doc: &[u8],
    plain: &Result<KeySet, KeysetErrors>,
    general: &Result<KeySet, KeysetErrors>,
) {
    match (plain, general) {
        (Ok(a), Ok(b)) => {
            let (a, b) = (summary(a), summary(b));
            if a != b {
                // Summaries hold hashes of secrets only; the document may hold secrets, so
                // it is shown by length, the differing lines in full.
                let diff: Vec<String> = a
                    .lines()
                    .zip(b.lines())
                    .filter(|(x, y)| x != y)
                    .map(|(x, y)| format!("plain:   {x}\ngeneral: {y}"))
                    .collect();
                panic!(
                    "the plain reader builds a different key set from a {}-byte document:\n{}",
                    doc.len(),
                    diff.join("\n")
                );
            }
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "the plain reader reports different errors"),
        _ => panic!(
            "the plain reader {} a document the general reading {}",
            if plain.is_ok() { "accepts" } else { "refuses" },
            if general.is_ok() {
                "accepts"
            } else {
                "refuses"
            }
        ),
    }
}

/// A hash of secret bytes, short: enough to tell two secrets apart, nothing to read back.
#[cfg(fuzzing)]
fn hash(b: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(b)[..12]
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Everything a key set holds, one line for the set and one per key, secrets as hashes.
#[cfg(fuzzing)]
pub fn summary(ks: &KeySet) -> String {
    use keygate::sig::VerifierKey;
    use keygate::webhook::WebhookKey;

    let mut s = format!(
        "set {} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {} {} keys\n",
        ks.revision(),
        ks.audience(),
        ks.issued_at(),
        ks.expires_at(),
        ks.policy(),
        ks.deny_cidrs(),
        ks.routes(),
        ks.fuzz_fingerprint(),
        ks.sealed_count(),
        ks.keys().len(),
    );
    for k in ks.keys().iter() {
        let signing = k.signing.as_deref().map(|v| match v {
            VerifierKey::HmacSha256(h) => format!("hmac {}", hash(h.expose_secret())),
            VerifierKey::Ed25519(p) => format!("ed25519 {}", hash(p.as_bytes())),
            other => format!("other {:?}", other.algorithm()),
        });
        let webhook = k.webhook.as_deref().map(|w| match w {
            WebhookKey::V1(h) => format!("v1 {}", hash(h.expose_secret())),
            WebhookKey::V1a(p) => format!("v1a {}", hash(p.as_bytes())),
            other => format!("other {:?}", other.scheme()),
        });
        s.push_str(&format!(
            "key {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {} {} {:?}\n",
            k.id,
            k.api_key_hash.as_ref().map(ToString::to_string),
            k.status,
            k.not_before,
            k.expires_at,
            k.scopes,
            k.allow_cidrs,
            k.deny_cidrs,
            k.name,
            k.meta,
            signing,
            k.require_signature,
            k.fuzz_secret_forms(),
            webhook,
        ));
        // The set's indexes find the entry as the other reading's do.
        assert!(
            ks.key_by_id(&k.id).is_some_and(|e| std::ptr::eq(e, k)),
            "id index"
        );
        if let Some(d) = &k.api_key_hash {
            assert!(
                ks.key_by_digest(d).is_some_and(|e| std::ptr::eq(e, k)),
                "digest index"
            );
        }
    }
    s
}

#[cfg(all(test, fuzzing))]
mod tests {
    use super::*;

    #[test]
    fn the_demo_set_is_read_alike() {
        let demo = include_bytes!("../../demo/keyset.json");
        assert!(KeySet::from_json_plain_path(demo).is_some_and(|r| r.is_ok()));
        run(demo);
    }
}
