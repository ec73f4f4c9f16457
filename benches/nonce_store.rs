//! The per-verifier replay store (`MemoryNonceStore`, src/sig/replay.rs): its memory filled to
//! the cases docs/signatures.md quotes, and the cost of one nonce (`seen` + `record`) once it
//! is full. Run: `cargo bench --bench nonce_store`.
//!
//! Memory is measured with a counting global allocator (exact, and independent of the noise
//! of a shared machine): the bytes the store holds once filled (live) and the most it held
//! while filling (peak), both over what was allocated before it was created; for the full
//! cases also what it holds after, and the most it held during, a flood of four times its
//! bound in fresh nonces (nothing may grow with traffic). Key ids are 40
//! characters and nonces 22 (a base64url 128-bit value, as `keygate sign --nonce` makes),
//! every window closes 300 s after `now`. The run fails if a store holds more than its bound
//! allows (see `LIVE_LIMIT`), so a regression in the memory bound does not go unnoticed.
//!
//! Time: batches of `seen` + `record` of fresh nonces into the full store (each evicts one
//! entry), alternating with batches of the floor — the two SHA-256 fingerprints those calls
//! compute — over the same inputs; medians over the batches and the median of the paired
//! ratios.

use std::hint::black_box;
use std::sync::atomic::Ordering;
use std::time::Instant;

use keygate::UnixTime;
use keygate::sig::{MemoryNonceStore, NonceClaim, NonceStore};
use sha2::{Digest as _, Sha256};

#[path = "support/counting.rs"]
mod counting;
use counting::{CURRENT, PEAK};

#[global_allocator]
static A: counting::Counting = counting::Counting;

const NOW: i64 = 1_795_910_400;
const WINDOW: i64 = 300;
/// No store may hold more than this many bytes per remembered nonce plus this many per key
/// with entries: about twice what was measured (BENCHMARKS.md), so only a gross regression
/// (such as a structure that grows with traffic rather than with the bound) fails the run.
const LIVE_LIMIT: (usize, usize) = (240, 800);

/// A 40-character key id.
fn key_id(k: usize) -> String {
    format!("partner-{k:08}-0123456789abcdefghijklm")
}

/// A 22-character nonce, distinct for each `n`.
fn nonce(n: usize) -> String {
    format!("n{n:021}")
}

fn claim(k: usize, n: usize, expires_at: i64) -> NonceClaim {
    NonceClaim::new(key_id(k), nonce(n), UnixTime::from_secs(expires_at))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn mb(bytes: usize) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

struct Case {
    name: &'static str,
    keys: usize,
    per_key: usize,
    /// Time `seen` + `record` once the store is full.
    timed: bool,
}

fn main() {
    let cases = [
        Case {
            name: "65,536 nonces of one key",
            keys: 1,
            per_key: 65_536,
            timed: true,
        },
        Case {
            name: "256 keys x 256 nonces",
            keys: 256,
            per_key: 256,
            timed: true,
        },
        Case {
            name: "16,384 keys x 1 nonce",
            keys: 16_384,
            per_key: 1,
            timed: false,
        },
        Case {
            name: "65,536 keys x 1 nonce",
            keys: 65_536,
            per_key: 1,
            timed: true,
        },
    ];
    println!(
        "| case | nonces | live at full | per nonce | peak while filling | after a flood of 4x the bound | peak during the flood | seen+record | floor (2 fingerprints) | ratio |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for c in &cases {
        let total = c.keys * c.per_key;
        // The claims are built before counting: what the store keeps is measured, not them.
        let claims: Vec<NonceClaim> = (0..total)
            .map(|i| claim(i % c.keys, i, NOW + WINDOW))
            .collect();
        let now = UnixTime::from_secs(NOW);
        let base = CURRENT.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let store = MemoryNonceStore::default();
        for cl in &claims {
            assert!(!store.seen(&cl.key_id, &cl.nonce, cl.expires_at, now));
            assert!(store.record(cl, now));
        }
        assert_eq!(store.len(), total);
        let live = CURRENT.load(Ordering::Relaxed) - base;
        let peak = PEAK.load(Ordering::Relaxed) - base;
        let limit = LIVE_LIMIT.0 * total + LIVE_LIMIT.1 * c.keys;
        assert!(
            live <= limit,
            "{}: the store holds {live} bytes, over its bound of {limit}",
            c.name
        );

        let (mut per, mut floor, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
        let (mut after_flood, mut flood_peak) = (None, None);
        if c.timed {
            // A flood of 4x the bound in fresh nonces, round-robin over the case's keys, each
            // closing its window later than anything forgotten, so `seen` says no and `record`
            // evicts one entry of the largest key. Every batch is timed; its claims are built
            // before the clock starts.
            let batch = 8_192;
            let mut expires = NOW + WINDOW;
            for round in 0..4 * total / batch {
                let before = CURRENT.load(Ordering::Relaxed);
                let fresh: Vec<NonceClaim> = (0..batch)
                    .map(|j| {
                        let i = total + round * batch + j;
                        expires += 1;
                        claim(i % c.keys, i, expires)
                    })
                    .collect();
                // The batch's claims are alive during it: not the store's.
                let claims_bytes = CURRENT.load(Ordering::Relaxed) - before;
                PEAK.store(CURRENT.load(Ordering::Relaxed), Ordering::Relaxed);
                let time_store = || {
                    let t = Instant::now();
                    for cl in &fresh {
                        assert!(!store.seen(&cl.key_id, &cl.nonce, cl.expires_at, now));
                        assert!(store.record(black_box(cl), now));
                    }
                    t.elapsed().as_secs_f64() * 1e9 / batch as f64
                };
                let time_floor = || {
                    let t = Instant::now();
                    for cl in &fresh {
                        for _ in 0..2 {
                            let mut h = Sha256::new();
                            h.update((cl.key_id.len() as u64).to_be_bytes());
                            h.update(cl.key_id.as_bytes());
                            h.update(cl.nonce.as_bytes());
                            black_box(h.finalize());
                        }
                    }
                    t.elapsed().as_secs_f64() * 1e9 / batch as f64
                };
                let (s, f) = if round % 2 == 0 {
                    let s = time_store();
                    (s, time_floor())
                } else {
                    let f = time_floor();
                    (time_store(), f)
                };
                assert_eq!(store.len(), total, "the store stays at its bound");
                let p = PEAK.load(Ordering::Relaxed) - base - claims_bytes;
                flood_peak = Some(flood_peak.map_or(p, |q: usize| q.max(p)));
                per.push(s);
                floor.push(f);
                ratio.push(s / f);
            }
            after_flood = Some(CURRENT.load(Ordering::Relaxed) - base);
        }
        if let (Some(after), Some(p)) = (after_flood, flood_peak) {
            assert!(
                after.max(p) <= limit,
                "{}: during a flood the store held {} bytes, over its bound of {limit}",
                c.name,
                after.max(p)
            );
        }
        let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        println!(
            "| {} | {total} | {} | {:.0} B | {} | {} | {} | {} | {} | {} |",
            c.name,
            mb(live),
            live as f64 / total as f64,
            mb(peak),
            or_dash(after_flood.map(mb)),
            or_dash(flood_peak.map(mb)),
            or_dash(c.timed.then(|| format!("{:.0} ns", median(per.clone())))),
            or_dash(c.timed.then(|| format!("{:.0} ns", median(floor.clone())))),
            or_dash(c.timed.then(|| format!("{:.2}", median(ratio.clone())))),
        );
        drop(store);
        // Only now: freed before a later reading, the claims would be subtracted from it.
        drop(claims);
    }
}
