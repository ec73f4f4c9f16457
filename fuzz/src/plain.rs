//! The `keyset_plain` target: the plain reader of key set documents (the crate's own cursor,
//! `src/keyset/plain.rs`) held to the general reading (serde_json: the typed pass, then the
//! slow one), both reached through `cfg(fuzzing)` hooks.
//!
//! Input: the document itself. Properties, beyond "never panics":
//! - whenever the plain reader answers, the general reading of the same bytes answers the
//!   same: the same key set (every field of every key, the set's own fields, its fingerprint
//!   and the forms of its secrets; secrets compared as SHA-256 hashes, never shown:
//!   `KeySet::reading_summary`), or the same errors, word for word and path for path;
//! - so the plain reader never accepts what the general reading refuses, nor refuses what it
//!   accepts;
//! - what the plain reader accepts is also what `KeySet::from_json` (which tries it first)
//!   returns, and its entries are found by id and API key digest.
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
        (Ok(a), Ok(_)) => {
            // Every field of every key and of the set, secrets as hashes (the crate's own
            // summary reaches the private fields: fingerprint, secret forms).
            let (sa, sb) = (
                KeySet::reading_summary(plain),
                KeySet::reading_summary(general),
            );
            if sa != sb {
                // The document may hold secrets: it is shown by length, the differing lines
                // of the summaries in full.
                let diff: Vec<String> = sa
                    .lines()
                    .zip(sb.lines())
                    .filter(|(x, y)| x != y)
                    .map(|(x, y)| format!("plain:   {x}\ngeneral: {y}"))
                    .collect();
                panic!(
                    "the plain reader builds a different key set from a {}-byte document:\n{}",
                    doc.len(),
                    diff.join("\n")
                );
            }
            indexed(a);
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

/// The set's indexes find each entry the plain reader built, by id and by API key digest.
#[cfg(fuzzing)]
fn indexed(ks: &KeySet) {
    for k in ks.keys().iter() {
        assert!(
            ks.key_by_id(&k.id).is_some_and(|e| std::ptr::eq(e, k)),
            "an entry is not found by its id"
        );
        if let Some(d) = &k.api_key_hash {
            assert!(
                ks.key_by_digest(d).is_some_and(|e| std::ptr::eq(e, k)),
                "an entry is not found by its API key digest"
            );
        }
    }
}
