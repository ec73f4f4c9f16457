//! The delta between two key set files: what `keygate keyset diff OLD NEW` prints for the
//! publisher to sign.
//!
//! Keys are compared by id, as JSON values: a key only in OLD is removed, only in NEW added;
//! one whose only difference is a status that became `disabled` or `revoked` gets that
//! operation; any other difference replaces the whole entry with NEW's. The delta names OLD
//! as its base and NEW as its target by revision and the SHA-256 of each file's exact bytes
//! (what `keyset sign` signs), and it is checked before it is returned: applied to OLD it
//! must give NEW, entry by entry.

use std::fmt;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::delta::{Delta, MAX_DELTA_BYTES, MAX_DELTA_CHANGES};
use super::{KeyEntry, KeySet, KeysetErrors};
use crate::encoding::b64url_encode;
use crate::json::parse_strict;
use crate::seal::Unseal;
use crate::sig::VerifierKey;
use crate::verifier::Verifier;
use crate::webhook::WebhookKey;

/// Top-level members a delta cannot change.
const FIXED: &[&str] = &["keygate", "audience", "policy", "deny_cidrs", "routes"];

/// Why no delta could be made.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiffError {
    /// One of the files is not a valid key set (`which` is "OLD" or "NEW").
    Invalid {
        /// Which file.
        which: &'static str,
        /// Its errors.
        errors: KeysetErrors,
    },
    /// The change cannot be a delta: NEW does not move the revision forward, changes a
    /// member other than keys and times, or is too large. Push the full set.
    Inexpressible(String),
    /// The delta did not reproduce NEW (a bug: please report it).
    Mismatch(String),
}

impl fmt::Display for DiffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiffError::Invalid { which, errors } => {
                write!(f, "{which} is not a valid key set:\n{errors}")
            }
            DiffError::Inexpressible(m) => write!(f, "{m}; push the full set instead"),
            DiffError::Mismatch(m) => {
                write!(f, "internal error, the delta does not reproduce NEW: {m}")
            }
        }
    }
}

impl std::error::Error for DiffError {}

/// SHA-256 of bytes, as the wire names a state (base64url, no padding).
pub(crate) fn sha256_text(bytes: &[u8]) -> String {
    b64url_encode(&Sha256::digest(bytes))
}

fn entries(doc: &Value) -> Vec<(&str, &Map<String, Value>)> {
    doc["keys"]
        .as_array()
        .map(|ks| {
            ks.iter()
                .filter_map(|k| Some((k["id"].as_str()?, k.as_object()?)))
                .collect()
        })
        .unwrap_or_default()
}

fn status_of(entry: &Map<String, Value>) -> &str {
    entry
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("active")
}

fn without_status(entry: &Map<String, Value>) -> Map<String, Value> {
    let mut m = entry.clone();
    m.shift_remove("status");
    m
}

/// The delta turning key set file `old` into `new` (both bare key set JSON), as compact JSON.
pub fn diff(old: &[u8], new: &[u8]) -> Result<String, DiffError> {
    // A publisher's tool: sealed secrets are compared by form (no seal keys needed).
    let old_set =
        KeySet::from_json_with(old, Unseal::FormOnly).map_err(|errors| DiffError::Invalid {
            which: "OLD",
            errors,
        })?;
    let new_set =
        KeySet::from_json_with(new, Unseal::FormOnly).map_err(|errors| DiffError::Invalid {
            which: "NEW",
            errors,
        })?;
    if new_set.revision() <= old_set.revision() {
        return Err(DiffError::Inexpressible(format!(
            "NEW's revision ({}) must be above OLD's ({})",
            new_set.revision(),
            old_set.revision()
        )));
    }
    // Both parsed above, so both are JSON objects.
    let (Ok(o), Ok(n)) = (parse_strict(old), parse_strict(new)) else {
        return Err(DiffError::Mismatch("unreadable JSON".into()));
    };
    for field in FIXED {
        if o.get(field) != n.get(field) {
            return Err(DiffError::Inexpressible(format!(
                "NEW changes $.{field}, which only a full set can"
            )));
        }
    }
    let (old_keys, new_keys) = (entries(&o), entries(&n));
    let old_by_id: Map<String, Value> = old_keys
        .iter()
        .map(|(id, e)| (id.to_string(), Value::Object((*e).clone())))
        .collect();
    let new_ids: std::collections::HashSet<&str> = new_keys.iter().map(|(id, _)| *id).collect();
    let hinted = |op: &str, id: &str, entry: &Map<String, Value>| {
        let mut c = json!({"op": op, "id": id});
        if let Some(h) = entry.get("api_key_hash") {
            c["api_key_hash"] = h.clone();
        }
        c
    };
    let mut changes = Vec::new();
    for (id, e) in &old_keys {
        if !new_ids.contains(id) {
            changes.push(hinted("remove", id, e));
        }
    }
    for (id, e) in &new_keys {
        match old_by_id.get(*id).and_then(Value::as_object) {
            None => changes.push(json!({"op": "add", "key": e})),
            Some(before) if before == *e => {}
            Some(before) => {
                let status = status_of(e);
                if matches!(status, "disabled" | "revoked")
                    && status_of(before) != status
                    && without_status(before) == without_status(e)
                {
                    changes.push(hinted(&status[..status.len() - 1], id, e));
                } else {
                    changes.push(json!({"op": "replace", "key": e}));
                }
            }
        }
    }
    if changes.len() > MAX_DELTA_CHANGES {
        return Err(DiffError::Inexpressible(format!(
            "{} keys changed, more than the {MAX_DELTA_CHANGES} a delta may carry",
            changes.len()
        )));
    }
    let mut doc = Map::new();
    doc.insert("keygate".into(), json!(1));
    doc.insert("kind".into(), json!("delta"));
    doc.insert(
        "base".into(),
        json!({"revision": old_set.revision(), "payload_sha256": sha256_text(old)}),
    );
    doc.insert("revision".into(), json!(new_set.revision()));
    doc.insert("payload_sha256".into(), json!(sha256_text(new)));
    for t in ["issued_at", "expires_at"] {
        if let Some(v) = n.get(t) {
            doc.insert(t.into(), v.clone());
        }
    }
    doc.insert("changes".into(), Value::Array(changes));
    let text = Value::Object(doc).to_string();
    if text.len() > MAX_DELTA_BYTES {
        return Err(DiffError::Inexpressible(format!(
            "the delta would be {} bytes, more than the {MAX_DELTA_BYTES} a delta may have",
            text.len()
        )));
    }
    self_check(old, old_set, &new_set, &text)?;
    Ok(text)
}

/// Applies the delta to OLD and compares the result with NEW, entry by entry.
fn self_check(old: &[u8], old_set: KeySet, new_set: &KeySet, text: &str) -> Result<(), DiffError> {
    let delta = Delta::from_json_with(text.as_bytes(), Unseal::FormOnly)
        .map_err(|e| DiffError::Mismatch(e.to_string()))?;
    let sha: [u8; 32] = Sha256::digest(old).into();
    let mut v = Verifier::new(old_set).with_payload_sha256(sha);
    v.apply_delta(&delta)
        .map_err(|e| DiffError::Mismatch(e.to_string()))?;
    let got = v.keyset();
    if got.keys().len() != new_set.keys().len()
        || got.revision() != new_set.revision()
        || got.issued_at() != new_set.issued_at()
        || got.expires_at() != new_set.expires_at()
    {
        return Err(DiffError::Mismatch(
            "the set's revision, times or key count differ".into(),
        ));
    }
    for k in new_set.keys() {
        match got.key_by_id(&k.id) {
            Some(g) if g.same_content(k) => {}
            _ => return Err(DiffError::Mismatch(format!("key {:?} differs", k.id))),
        }
        if let Some(d) = &k.api_key_hash
            && got.key_by_digest(d).map(|g| &g.id) != Some(&k.id)
        {
            return Err(DiffError::Mismatch(format!(
                "the digest of key {:?} is not found",
                k.id
            )));
        }
    }
    Ok(())
}

impl KeyEntry {
    /// Whether two entries hold the same data (for checks of the tools; not constant time).
    pub(crate) fn same_content(&self, other: &KeyEntry) -> bool {
        let signing = match (self.signing.as_deref(), other.signing.as_deref()) {
            (None, None) => true,
            (Some(VerifierKey::HmacSha256(a)), Some(VerifierKey::HmacSha256(b))) => {
                a.expose_secret() == b.expose_secret()
            }
            (Some(VerifierKey::Ed25519(a)), Some(VerifierKey::Ed25519(b))) => a == b,
            _ => false,
        };
        let webhook = match (self.webhook.as_deref(), other.webhook.as_deref()) {
            (None, None) => true,
            (Some(WebhookKey::V1(a)), Some(WebhookKey::V1(b))) => {
                a.expose_secret() == b.expose_secret()
            }
            (Some(WebhookKey::V1a(a)), Some(WebhookKey::V1a(b))) => a == b,
            _ => false,
        };
        signing
            && webhook
            // How secrets are written (clear, or sealed under which key): read by form only,
            // a sealed value is compared by its seal key id.
            && self.secrets == other.secrets
            && self.id == other.id
            && self.api_key_hash == other.api_key_hash
            && self.status == other.status
            && self.not_before == other.not_before
            && self.expires_at == other.expires_at
            && self.scopes == other.scopes
            && self.allow_cidrs == other.allow_cidrs
            && self.deny_cidrs == other.deny_cidrs
            && self.name == other.name
            && self.require_signature == other.require_signature
    }
}
