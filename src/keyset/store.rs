//! The key entries of a set, stored in shared chunks so that versions of a set share what they
//! have in common.
//!
//! A decision that waits (for a body, a WebCrypto verification, a nonce store) keeps the set it
//! started with, so a delta arriving meanwhile must build a new version beside it. Entries live
//! in chunks of [`CHUNK`] behind `Arc`s: copying a version copies one pointer per chunk, and a
//! change copies only the chunks it writes to (`Arc::make_mut`: a chunk no other version holds
//! is written in place).

use std::fmt;
use std::sync::Arc;

use super::KeyEntry;

/// Entries per chunk: a delta touching one key copies at most this many entries.
pub(crate) const CHUNK: usize = 64;

/// Key entries by position (positions are what the index stores).
#[derive(Clone, Default)]
pub(crate) struct KeyStore {
    chunks: Vec<Arc<Vec<KeyEntry>>>,
    len: usize,
}

impl KeyStore {
    pub(crate) fn with_capacity(n: usize) -> Self {
        KeyStore {
            chunks: Vec::with_capacity(n.div_ceil(CHUNK)),
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&KeyEntry> {
        self.chunks.get(i / CHUNK)?.get(i % CHUNK)
    }

    /// The entry at `i`, for writing (its chunk is copied first if another version holds it).
    pub(crate) fn get_mut(&mut self, i: usize) -> Option<&mut KeyEntry> {
        Arc::make_mut(self.chunks.get_mut(i / CHUNK)?).get_mut(i % CHUNK)
    }

    pub(crate) fn push(&mut self, k: KeyEntry) {
        if self.len.is_multiple_of(CHUNK) {
            self.chunks.push(Arc::new(Vec::with_capacity(CHUNK)));
        }
        if let Some(last) = self.chunks.last_mut() {
            Arc::make_mut(last).push(k);
            self.len += 1;
        }
    }

    fn pop(&mut self) -> Option<KeyEntry> {
        let last = self.chunks.last_mut()?;
        let chunk = Arc::make_mut(last);
        let k = chunk.pop();
        if chunk.is_empty() {
            self.chunks.pop();
        }
        self.len -= usize::from(k.is_some());
        k
    }

    /// Removes the entry at `i`, moving the last entry into its place.
    pub(crate) fn swap_remove(&mut self, i: usize) -> Option<KeyEntry> {
        if i >= self.len {
            return None;
        }
        let last = self.pop()?;
        match self.get_mut(i) {
            Some(slot) => Some(std::mem::replace(slot, last)),
            None => Some(last), // `i` was the last position
        }
    }

    /// The entries, by position (a chunk another version holds is copied).
    pub(crate) fn into_vec(self) -> Vec<KeyEntry> {
        let mut out = Vec::with_capacity(self.len);
        for c in self.chunks {
            out.extend(Arc::unwrap_or_clone(c));
        }
        out
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.chunks.shrink_to_fit();
        if let Some(last) = self.chunks.last_mut()
            && let Some(c) = Arc::get_mut(last)
        {
            c.shrink_to_fit();
        }
    }

    pub(crate) fn iter(&self) -> Iter<'_> {
        Iter {
            chunks: self.chunks.iter(),
            chunk: [].iter(),
            left: self.len,
        }
    }

    /// Whether this store and `other` hold the chunk of position `i` in the same memory (for
    /// the tests of what a version shares).
    #[cfg(test)]
    pub(crate) fn shares_chunk(&self, other: &KeyStore, i: usize) -> bool {
        match (self.chunks.get(i / CHUNK), other.chunks.get(i / CHUNK)) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl std::ops::Index<usize> for KeyStore {
    type Output = KeyEntry;

    #[inline]
    fn index(&self, i: usize) -> &KeyEntry {
        &self.chunks[i / CHUNK][i % CHUNK]
    }
}

/// The key entries of a [`KeySet`](super::KeySet), by position: `len`, `get`, `iter`, indexing
/// and `for k in set.keys()`.
#[derive(Clone, Copy)]
pub struct Keys<'a>(pub(crate) &'a KeyStore);

impl<'a> Keys<'a> {
    /// How many entries the set has.
    pub fn len(&self) -> usize {
        self.0.len
    }

    /// Whether the set has no entries.
    pub fn is_empty(&self) -> bool {
        self.0.len == 0
    }

    /// The entry at position `i`.
    pub fn get(&self, i: usize) -> Option<&'a KeyEntry> {
        self.0.get(i)
    }

    /// The first entry.
    pub fn first(&self) -> Option<&'a KeyEntry> {
        self.0.get(0)
    }

    /// Every entry, by position.
    pub fn iter(&self) -> Iter<'a> {
        self.0.iter()
    }
}

impl std::ops::Index<usize> for Keys<'_> {
    type Output = KeyEntry;

    fn index(&self, i: usize) -> &KeyEntry {
        &self.0[i]
    }
}

impl<'a> IntoIterator for Keys<'a> {
    type Item = &'a KeyEntry;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &Keys<'a> {
    type Item = &'a KeyEntry;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.0.iter()
    }
}

impl fmt::Debug for Keys<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// An iterator over a set's key entries, by position.
#[derive(Clone)]
pub struct Iter<'a> {
    chunks: std::slice::Iter<'a, Arc<Vec<KeyEntry>>>,
    chunk: std::slice::Iter<'a, KeyEntry>,
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a KeyEntry;

    #[inline]
    fn next(&mut self) -> Option<&'a KeyEntry> {
        loop {
            if let Some(k) = self.chunk.next() {
                self.left -= 1;
                return Some(k);
            }
            self.chunk = self.chunks.next()?.iter();
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl std::iter::FusedIterator for Iter<'_> {}

impl fmt::Debug for Iter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").field("left", &self.left).finish()
    }
}
