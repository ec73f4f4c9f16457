//! Deltas in sharded mode: the changes since the manifest, kept by key id (the overlay) and
//! applied to every shard as it loads, so a key revoked in a shard that is not held is
//! revoked when that shard is loaded again.
//!
//! - A removed key is gone: its shard copies are skipped.
//! - A key whose status changed gets the new status in the copy loaded.
//! - An added or replaced key is held from then on, whatever is loaded (its shard copies are
//!   skipped): the overlay is bounded by the chain of deltas since the last manifest.
//!
//! What a verifier holding only some shards cannot judge (that a changed key exists, that an
//! added digest is new in the whole set) was judged by the publisher's tool and is signed;
//! what it can (a digest clash with a key it holds) refuses the whole delta before anything
//! changes.

use hashbrown::HashTable;

use crate::keyset::delta::{Change, Delta};
use crate::keyset::index::id_hash;
use crate::keyset::{KeyEntry, KeySet, KeyStatus, KeysetError, KeysetErrors};

/// What the deltas since the manifest did to one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Over {
    /// Removed.
    Gone,
    /// Its status is this one.
    Status(KeyStatus),
    /// Added or replaced: the entry is held in the set, always.
    Held,
}

/// The overlay: key id to what happened to it.
#[derive(Default)]
pub(crate) struct Overlay {
    by_id: HashTable<(Box<str>, Over)>,
}

impl Overlay {
    pub(crate) fn get(&self, id: &str) -> Option<Over> {
        self.by_id
            .find(id_hash(id), |(k, _)| &**k == id)
            .map(|(_, o)| *o)
    }

    fn set(&mut self, id: &str, o: Over) {
        match self.by_id.find_mut(id_hash(id), |(k, _)| &**k == id) {
            Some(e) => e.1 = o,
            None => {
                self.by_id
                    .insert_unique(id_hash(id), (id.into(), o), |(k, _)| id_hash(k));
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether the key's entry stays held whatever shards are dropped.
    pub(crate) fn holds(&self, id: &str) -> bool {
        self.get(id) == Some(Over::Held)
    }

    /// What a shard copy of a key becomes when loaded: `None` to skip it.
    pub(crate) fn filter(&self, mut k: KeyEntry) -> Option<KeyEntry> {
        match self.get(&k.id) {
            None => Some(k),
            Some(Over::Status(s)) => {
                k.status = s;
                Some(k)
            }
            Some(Over::Gone | Over::Held) => None,
        }
    }

    /// Applies the changes of `d` to `ks` and records them. First checks what can be checked
    /// here (an added or replaced key's digest held by a key the delta leaves alone); on a
    /// refusal nothing changed.
    pub(crate) fn apply(&mut self, ks: &mut KeySet, d: &Delta) -> Result<(), KeysetErrors> {
        let mut touched: HashTable<&str> = HashTable::with_capacity(d.changes.len());
        for c in &d.changes {
            touched.insert_unique(id_hash(c.id()), c.id(), |k| id_hash(k));
        }
        let mut errors = Vec::new();
        for (i, c) in d.changes.iter().enumerate() {
            if let Change::Add(k) = c
                && ks.key_by_id(&k.id).is_some()
            {
                errors.push(KeysetError {
                    path: format!("$.changes[{i}].key.id"),
                    message: format!("the set already has a key {:?}", k.id),
                });
            }
            if let Change::Add(k) | Change::Replace(k) = c
                && let Some(dg) = &k.api_key_hash
                && let Some(other) = ks.key_by_digest(dg)
                && touched
                    .find(id_hash(&other.id), |k| *k == other.id.as_str())
                    .is_none()
            {
                errors.push(KeysetError {
                    path: format!("$.changes[{i}].key.api_key_hash"),
                    message: format!("key {:?} already has this API key digest", other.id),
                });
            }
        }
        if !errors.is_empty() {
            return Err(KeysetErrors(errors));
        }
        // Removals and replaced entries first, so that digests they free can be taken.
        for c in &d.changes {
            match c {
                Change::Remove { id, .. } => {
                    ks.release(id);
                    self.set(id, Over::Gone);
                }
                Change::Replace(k) => {
                    ks.release(&k.id);
                }
                _ => {}
            }
        }
        for c in &d.changes {
            match c {
                Change::Add(k) | Change::Replace(k) => {
                    // Cannot clash: checked above, and the keys it could clash with are gone.
                    let _ = ks.hold(k.clone());
                    self.set(&k.id, Over::Held);
                }
                Change::Status { id, status, .. } => {
                    ks.set_status(id, *status);
                    if !self.holds(id) {
                        self.set(id, Over::Status(*status));
                    }
                }
                Change::Remove { .. } => {}
            }
        }
        ks.take_delta_header(d);
        Ok(())
    }
}
