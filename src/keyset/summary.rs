//! What a key set reading yields, as text to compare two readings by (tests, and the fuzz
//! targets through `KeySet::reading_summary`): secrets appear only as a hash of their bytes.

use sha2::{Digest, Sha256};

use super::{KeySet, KeysetErrors};
use crate::sig::VerifierKey;
use crate::webhook::WebhookKey;

/// Everything a reading yields: every field of every entry (secrets as a hash of their
/// bytes), the set's own fields, or the errors in full (what the readings are compared by:
/// fast and slow in `parse`'s tests, plain and general in `plain_tests` and the fuzz target).
pub(super) fn show(r: &Result<KeySet, KeysetErrors>) -> String {
    let ks = match r {
        Err(e) => return format!("ERR {e}"),
        Ok(ks) => ks,
    };
    let hash = |b: &[u8]| format!("{:?}", &Sha256::digest(b)[..8]);
    let mut s = format!(
        "{} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {}\n",
        ks.revision,
        ks.audience,
        ks.issued_at,
        ks.expires_at,
        ks.policy,
        ks.deny_cidrs,
        ks.routes,
        ks.fingerprint,
        ks.sealed
    );
    for k in ks.keys.iter() {
        let signing = k.signing.as_deref().map(|v| match v {
            VerifierKey::HmacSha256(h) => format!("hmac {}", hash(h.expose_secret())),
            VerifierKey::Ed25519(p) => format!("ed25519 {}", hash(p.as_bytes())),
        });
        let webhook = k.webhook.as_deref().map(|w| match w {
            WebhookKey::V1(h) => format!("v1 {}", hash(h.expose_secret())),
            WebhookKey::V1a(p) => format!("v1a {}", hash(p.as_bytes())),
        });
        s.push_str(&format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}|{:?}|{:?}\n",
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
            k.secrets,
            webhook,
        ));
    }
    s
}
