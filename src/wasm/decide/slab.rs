//! The table of waiting decisions: each kept under a handle JS carries as a number, bounded in
//! count and in the bytes of module memory they hold, with the oldest dropped (past
//! `MAX_WAIT_MS`) to make room when it is full.

use super::waiting::Paused;

/// How many decisions of one verifier may wait at once; past it a new signed request fails
/// closed with `ERR_VERIFIER_BUSY`.
pub(in crate::wasm) const MAX_WAITING: usize = 4096;

/// How many bytes of the module's memory the waiting decisions of one verifier may hold
/// together (each counts its request's buffers and `WAIT_OVERHEAD`); past it, as past
/// `MAX_WAITING`, a new signed request fails closed. A request holds up to its 64 KiB header
/// section, so the count alone let 4096 of them hold 256 MiB, twice a Worker isolate's
/// memory (and wasm memory never shrinks). 16 MiB is over 4096 small requests (the count
/// binds first for those) or about 250 with full header sections, and leaves a 128 MB isolate room for
/// the key set, the nonce store and the JS heap.
pub(super) const MAX_WAITING_BYTES: usize = 16 << 20;

/// What a waiting decision holds beside its request: the suspended decision, its exchange
/// and MAC states (module memory grew by 3.2 to 3.6 KiB per waiting webhook delivery with a
/// request of a few hundred bytes).
pub(super) const WAIT_OVERHEAD: usize = 3 << 10;

/// When the table is full, a decision that started longer ago than this (by the wall clock JS
/// passes to `run`) is dropped to make room: a runtime that dropped a cancelled request's
/// promises, or a nonce store that never answers, cannot fill the table for good.
pub(in crate::wasm) const MAX_WAIT_MS: f64 = 60_000.0;

/// Handles stay below 2^53, so JS carries them exactly as numbers.
const MAX_HANDLE: u64 = 1 << 53;

/// Paused decisions by handle. A handle is a counter that never repeats (an `f64` in JS, a
/// whole number below 2^53), so a handle names one pause of one decision: a stale handle
/// finds nothing, and no handle can name another request's decision.
pub(in crate::wasm) struct Slab {
    /// By handle, in increasing order (handles are given in order; a plain vector keeps the
    /// module small, and it holds at most `limit` entries).
    waiting: Vec<(u64, Paused)>,
    next: u64,
    limit: usize,
    /// The sum of the waiting decisions' `bytes`, and its bound.
    bytes: usize,
    byte_limit: usize,
    /// The handles of the latest decisions dropped for waiting too long (at most `limit`), so
    /// their requests are told why.
    dropped: Vec<u64>,
}

impl Default for Slab {
    fn default() -> Self {
        Slab {
            waiting: Vec::new(),
            next: 0,
            limit: MAX_WAITING,
            bytes: 0,
            byte_limit: MAX_WAITING_BYTES,
            dropped: Vec::new(),
        }
    }
}

/// A handle from JS as the counter it names (`None` for anything that is not one).
fn handle_id(handle: f64) -> Option<u64> {
    (handle.is_finite() && handle >= 0.0 && handle.fract() == 0.0 && handle < MAX_HANDLE as f64)
        .then_some(handle as u64)
}

impl Slab {
    /// Whether `p` would take the table past its count or its bytes.
    fn full_for(&self, p: &Paused) -> bool {
        self.waiting.len() >= self.limit || self.bytes.saturating_add(p.bytes) > self.byte_limit
    }

    /// Keeps `p` waiting; `None` (and `p` dropped) when `limit` decisions, or `byte_limit`
    /// bytes with `p`'s, already wait and, with the wall clock `clock_ms` known, dropping
    /// those that started more than `MAX_WAIT_MS` before it (dropped first) does not make room.
    pub(super) fn insert(&mut self, p: Paused, clock_ms: Option<f64>) -> Option<f64> {
        if self.full_for(&p)
            && let Some(now) = clock_ms.filter(|c| c.is_finite())
        {
            self.drop_older_than(now - MAX_WAIT_MS);
        }
        if self.full_for(&p) || self.next >= MAX_HANDLE {
            return None;
        }
        let id = self.next;
        self.next += 1;
        self.bytes += p.bytes;
        self.waiting.push((id, p));
        Some(id as f64)
    }

    /// Drops every decision that started at or before `cutoff_ms`.
    fn drop_older_than(&mut self, cutoff_ms: f64) {
        let (limit, dropped, bytes) = (self.limit.max(1), &mut self.dropped, &mut self.bytes);
        self.waiting.retain(|(id, p)| {
            if p.since_ms > cutoff_ms {
                return true;
            }
            *bytes -= p.bytes;
            if dropped.len() >= limit {
                dropped.remove(0);
            }
            dropped.push(*id);
            false
        });
    }

    pub(super) fn take(&mut self, handle: f64) -> Option<Paused> {
        let id = handle_id(handle)?;
        let at = self.waiting.binary_search_by_key(&id, |(i, _)| *i).ok()?;
        let p = self.waiting.remove(at).1;
        self.bytes -= p.bytes;
        Some(p)
    }

    /// Whether `handle` named a decision dropped for waiting too long.
    pub(super) fn was_dropped(&self, handle: f64) -> bool {
        handle_id(handle).is_some_and(|id| self.dropped.contains(&id))
    }

    pub(super) fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Sets how many decisions, and how many bytes, may wait (`MAX_WAITING` and
    /// `MAX_WAITING_BYTES` unless changed: a test lowers them).
    pub(super) fn set_limit(&mut self, limit: usize, bytes: usize) {
        self.limit = limit;
        self.byte_limit = bytes;
    }

    /// How many bytes the waiting decisions hold (as counted).
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Tests: the next handle (to start near a boundary).
    #[cfg(test)]
    pub(in crate::wasm) fn skip_to(&mut self, next: u64) {
        self.next = next;
    }
}
