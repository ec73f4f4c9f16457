//! Applying a delta to a key set, in time proportional to the change.
//!
//! Two phases. [`KeySet::check_delta`] judges every change against the set and the other
//! changes, allocating only in proportion to the delta and mutating nothing, so a refused
//! delta leaves the set exactly as it was. [`KeySet::apply_checked`] then mutates in place
//! and cannot fail: removals first (each a `swap_remove` whose moved entry is re-pointed in
//! the index), then replacements, status changes and additions. After a delta the order of
//! [`KeySet::keys`] is no longer the document order.

use super::delta::{Change, Delta};
use super::index::{Positions, digest_hash, id_hash};
use super::{KeyEntry, KeySet, KeysetError, KeysetErrors};
use crate::apikey::ApiKeyDigest;
use crate::json::JsonPath;

fn hint_mismatch(k: &KeyEntry, hint: Option<&ApiKeyDigest>) -> bool {
    hint.is_some_and(|h| k.api_key_hash.as_ref() != Some(h))
}

impl KeySet {
    /// Judges a delta's changes against this set (phase 1): every `add` names a new id, every
    /// other change an id of the set whose digest matches its `api_key_hash` hint, and no API
    /// key digest ends up used twice. Every problem is reported with its path in the delta.
    /// The delta's base is not judged here (see [`Verifier::apply_delta`](crate::Verifier::apply_delta)).
    #[inline(never)] // called from two places; not worth two copies in the wasm module
    pub(crate) fn check_delta(&self, d: &Delta) -> Result<(), KeysetErrors> {
        let root = JsonPath::root();
        let changes = root.field("changes");
        let mut errors = Vec::new();
        let mut err = |i: usize, field: Option<&str>, message: String| {
            let p = changes.index(i);
            let path = match field {
                Some(f) => p.field("key").field(f).to_string(),
                None => p.to_string(),
            };
            errors.push(KeysetError { path, message });
        };
        // Each change's id is unique in the delta, so a key's change, if any, is found by id
        // (a removed or replaced key gives up its digest).
        let ids: Vec<Option<&str>> = d.changes.iter().map(|c| Some(c.id())).collect();
        let (by_id, _) = Positions::new(&ids, |id| id_hash(id));
        // For each change bringing a digest, an earlier change bringing the same one.
        let digests: Vec<Option<&ApiKeyDigest>> = d
            .changes
            .iter()
            .map(|c| match c {
                Change::Add(k) | Change::Replace(k) => k.api_key_hash.as_ref(),
                _ => None,
            })
            .collect();
        let (_, first_claim) = Positions::new(&digests, |d| digest_hash(d));
        for (i, c) in d.changes.iter().enumerate() {
            let current = self.key_by_id(c.id());
            match c {
                Change::Add(k) => {
                    if current.is_some() {
                        err(
                            i,
                            Some("id"),
                            format!(
                                "key {:?} already exists in the base set; use \"replace\"",
                                k.id
                            ),
                        );
                    }
                }
                Change::Replace(_) | Change::Status { .. } | Change::Remove { .. } => match current
                {
                    None => err(i, None, format!("no key {:?} in the base set", c.id())),
                    Some(cur) => {
                        let hint = match c {
                            Change::Status { hint, .. } | Change::Remove { hint, .. } => {
                                hint.as_ref()
                            }
                            _ => None,
                        };
                        if hint_mismatch(cur, hint) {
                            err(
                                i,
                                None,
                                format!(
                                    "api_key_hash does not match key {:?} in the base set",
                                    cur.id
                                ),
                            );
                        }
                    }
                },
            }
            if let Change::Add(k) | Change::Replace(k) = c
                && let Some(dg) = &k.api_key_hash
            {
                if let Some(j) = first_claim[i] {
                    err(
                        i,
                        Some("api_key_hash"),
                        format!(
                            "duplicate API key digest (also given to key {:?} by this delta)",
                            d.changes[j].id()
                        ),
                    );
                } else if let Some(holder) = self.key_by_digest(dg)
                    && holder.id != k.id
                    && !by_id.find(&holder.id.as_str()).is_some_and(|j| {
                        matches!(d.changes[j], Change::Remove { .. } | Change::Replace(_))
                    })
                {
                    err(
                        i,
                        Some("api_key_hash"),
                        format!(
                            "duplicate API key digest (also used by key {:?})",
                            holder.id
                        ),
                    );
                }
            }
        }
        // Routes are fixed in a delta, so the keys their `webhook_keys` name must stay webhook
        // keys (as loading the resulting set would require).
        let mut told = vec![false; d.changes.len()];
        for id in self.routes.iter().flat_map(|r| &r.webhook_keys) {
            let Some(i) = by_id.find(&id.as_str()).filter(|&i| !told[i]) else {
                continue;
            };
            told[i] = true;
            match &d.changes[i] {
                Change::Remove { .. } => err(
                    i,
                    None,
                    format!(
                        "key {id:?} is listed in a route's webhook_keys, and a delta cannot change routes: push a full set"
                    ),
                ),
                Change::Replace(k) if !k.has_webhook() => err(
                    i,
                    Some("webhook"),
                    format!(
                        "key {id:?} is listed in a route's webhook_keys, so it must keep a \"webhook\" key"
                    ),
                ),
                _ => {}
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(KeysetErrors(errors))
        }
    }

    /// Takes the key with this id out of the set (a `swap_remove`: the last key moves into its
    /// place, and the index follows). The caller forgets the keys found recently, whose
    /// positions may have moved.
    pub(crate) fn take(&mut self, id: &str) -> Option<KeyEntry> {
        let at = self.index.find_id(&self.keys, id)?;
        let gone = self.keys.swap_remove(at as usize)?;
        self.index.remove(&gone, at);
        self.sealed -= gone.sealed_secrets();
        let last = self.keys.len() as u32;
        if at != last
            && let Some(moved) = self.keys.get(at as usize)
        {
            self.index.relocate(moved, last, at);
        }
        Some(gone)
    }

    /// Applies a delta that [`check_delta`](Self::check_delta) accepted (phase 2). Cannot fail.
    pub(crate) fn apply_checked(&mut self, d: &Delta) {
        for c in &d.changes {
            if let Change::Remove { id, .. } = c {
                self.take(id);
            }
        }
        for c in &d.changes {
            match c {
                Change::Replace(k) => {
                    if let Some(at) = self.index.find_id(&self.keys, &k.id)
                        && let Some(slot) = self.keys.get_mut(at as usize)
                    {
                        let old = std::mem::replace(slot, k.clone());
                        self.sealed = self.sealed - old.sealed_secrets() + k.sealed_secrets();
                        if old.api_key_hash != k.api_key_hash {
                            if let Some(dg) = &old.api_key_hash {
                                self.index.remove_digest(dg, at);
                            }
                            self.index.insert_digest(&self.keys, at);
                        }
                    }
                }
                Change::Status { id, status, .. } => {
                    if let Some(at) = self.index.find_id(&self.keys, id)
                        && let Some(k) = self.keys.get_mut(at as usize)
                    {
                        k.status = *status;
                    }
                }
                Change::Add(_) | Change::Remove { .. } => {}
            }
        }
        for c in &d.changes {
            if let Change::Add(k) = c {
                let at = self.keys.len() as u32;
                self.sealed += k.sealed_secrets();
                self.keys.push(k.clone());
                self.index.insert(&self.keys, at);
            }
        }
        // Keys found recently are remembered by position, and positions moved: forget them.
        self.recent.clear();
        self.revision = d.target.revision;
        self.issued_at = d.issued_at;
        self.expires_at = d.expires_at;
        // The name of this state is the delta's target digest (see Verifier); the byte
        // fingerprint of a parsed set can never be derived from it, so none is claimed.
        self.fingerprint = DERIVED;
    }
}

/// The fingerprint of a set reached through a delta: it was not read from bytes, so it has
/// none. A parsed set's 128-bit hash equals this constant only with negligible probability;
/// the verifier names such a set by its SHA-256 instead.
pub(crate) const DERIVED: [u8; 16] = [0xd3; 16];

#[cfg(test)]
mod tests;
