//! Key set scale: load + validate time, retained and peak heap, and per-request lookup cost
//! for 1k, 10k and 100k keys. Run: `cargo bench --bench keyset_scale` (add `-- --write DIR` to
//! also write the generated key sets for the wasm-under-Node run in benches/keyset_scale.mjs).
//!
//! A second table: a one-key delta on the 100k-key set, applied with no other version of the
//! set held, and while older versions are held (as decisions that wait hold the set they
//! started with): time, peak heap of the apply, and heap kept by eight held versions.
//!
//! Memory is measured with a counting global allocator (exact, and independent of the noise
//! of a shared machine); times are medians of repeated runs.

use std::fmt::Write as _;
use std::hint::black_box;
use std::sync::atomic::Ordering;
use std::time::Instant;

use keygate::{ApiKeyDigest, Context, Delta, KeySet, Request, UnixTime, Verifier};

#[path = "support/counting.rs"]
mod counting;
use counting::{CURRENT, PEAK};

#[global_allocator]
static A: counting::Counting = counting::Counting;

/// A realistic key set: every key has an id, a digest, scopes and a validity window; one in
/// ten has an IP allow list.
pub fn generate(n: usize) -> String {
    let mut s = String::with_capacity(n * 260);
    s.push_str(r#"{"keygate":1,"revision":1,"issued_at":"2026-11-29T00:00:00Z","routes":[{"methods":["GET"],"path":"/v1/orders/**","scopes":["orders:read"]}],"keys":["#);
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        let d = ApiKeyDigest::of(&format!("key-{i}"));
        let _ = write!(
            s,
            r#"{{"id":"key-{i}","api_key_hash":"{d}","not_before":"2026-11-01T00:00:00Z","expires_at":"2027-01-31T00:00:00Z","scopes":["orders:read","orders:write"]"#
        );
        if i % 10 == 0 {
            s.push_str(r#","allow_cidrs":["203.0.113.0/24","2001:db8::/32"]"#);
        }
        s.push('}');
    }
    s.push_str("]}");
    s
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let write_dir = args
        .iter()
        .position(|a| a == "--write")
        .and_then(|i| args.get(i + 1))
        .cloned();
    println!(
        "| keys | JSON size | load+validate median | retained heap | peak heap during load | decide() median |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for n in [1_000usize, 10_000, 100_000] {
        let json = generate(n);
        if let Some(dir) = &write_dir {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(format!("{dir}/keyset-{n}.json"), &json).unwrap();
        }
        let runs = if n >= 100_000 { 11 } else { 31 };
        let mut times = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            let ks = KeySet::from_json(json.as_bytes()).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e3);
            black_box(ks);
        }
        let base = CURRENT.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let ks = KeySet::from_json(json.as_bytes()).unwrap();
        let peak = PEAK.load(Ordering::Relaxed) - base;
        let retained = CURRENT.load(Ordering::Relaxed) - base;
        let v = Verifier::new(ks);
        let cx = Context::new(UnixTime::parse_rfc3339("2026-12-01T00:00:00Z").unwrap());
        let target = n / 2 + 1; // not an allow-listed key
        let req = Request::new("GET", "https://api.example.com/v1/orders/7")
            .unwrap()
            .with_header("authorization", &format!("Bearer key-{target}"));
        assert!(v.decide(&req, &cx).allowed);
        let mut per = Vec::new();
        for _ in 0..21 {
            let iters = 20_000;
            let t = Instant::now();
            for _ in 0..iters {
                black_box(v.decide(black_box(&req), &cx));
            }
            per.push(t.elapsed().as_secs_f64() * 1e9 / iters as f64);
        }
        println!(
            "| {n} | {:.1} MB | {:.2} ms | {:.1} MB | {:.1} MB | {:.0} ns |",
            json.len() as f64 / 1e6,
            median(times),
            retained as f64 / 1e6,
            peak as f64 / 1e6,
            median(per)
        );
    }
    deltas(100_000);
}

/// The one-key revocation `r` of a chain starting at `sha` (revision `r` to `r + 1`).
fn revocation(r: u64, base: [u8; 32], n: usize) -> (Delta, [u8; 32]) {
    let b64 = keygate::encoding_util::b64url_encode;
    let mut target = [0u8; 32];
    target[..8].copy_from_slice(&r.to_be_bytes());
    let id = (r as usize * 7919) % n;
    let text = format!(
        r#"{{"keygate":1,"kind":"delta","base":{{"revision":{r},"payload_sha256":"{}"}},"revision":{},"payload_sha256":"{}","changes":[{{"op":"revoke","id":"key-{id}","api_key_hash":"{}"}}]}}"#,
        b64(&base),
        r + 1,
        b64(&target),
        ApiKeyDigest::of(&format!("key-{id}"))
    );
    (Delta::from_json(text.as_bytes()).unwrap(), target)
}

fn deltas(n: usize) {
    let json = generate(n);
    let mut sha = [1u8; 32];
    let mut v = Verifier::new(KeySet::from_json(json.as_bytes()).unwrap()).with_payload_sha256(sha);
    drop(json);
    let mut r = 1;
    println!();
    println!(
        "| one-key delta on {n} keys | apply median | peak heap of one apply | heap kept by 8 held versions |"
    );
    println!("|---|---:|---:|---:|");
    for held_versions in [false, true] {
        let mut times = Vec::new();
        let mut peaks = Vec::new();
        let mut held = Vec::new();
        let start = CURRENT.load(Ordering::Relaxed);
        for i in 0..41 {
            let (d, next) = revocation(r, sha, n);
            if held_versions {
                // A decision that waits holds the set it started with; keep the last eight.
                held.push(v.clone());
                if held.len() > 8 {
                    held.remove(0);
                }
            }
            let base = CURRENT.load(Ordering::Relaxed);
            PEAK.store(base, Ordering::Relaxed);
            let t = Instant::now();
            v.apply_delta(&d).unwrap();
            if i > 0 {
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
            peaks.push((PEAK.load(Ordering::Relaxed) - base) as f64);
            sha = next;
            r += 1;
        }
        let kept = CURRENT.load(Ordering::Relaxed).saturating_sub(start);
        println!(
            "| {} | {:.3} ms | {:.1} KB | {} |",
            if held_versions {
                "while older versions are held"
            } else {
                "no other version held"
            },
            median(times),
            median(peaks) / 1e3,
            if held_versions {
                format!("{:.1} KB", kept as f64 / 1e3)
            } else {
                "-".into()
            }
        );
        drop(held);
    }
}
