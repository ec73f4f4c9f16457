//! Refusing an unauthenticated envelope costs at most its size plus a small constant, whatever
//! its shape (tests/vectors/envelopes/junk.json, each built to 8 MiB): measured in-process with
//! a counting global allocator (this test binary's own), and for the CLI as the peak resident
//! set of `keygate keyset verify` and `keygate keyset check`.
#![cfg(not(target_arch = "wasm32"))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use keygate::{LoadError, PublisherKeys, load_keyset};
use serde_json::Value;

mod common;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                let now = LIVE.fetch_add(new - l.size(), Ordering::Relaxed) + new - l.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(l.size() - new, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The counters are shared by every test in this binary, and the harness runs tests on
/// parallel threads: a test that allocates while another measures spoils that measurement. So
/// every test here holds this lock for its whole run (see `serial`).
static SERIAL: Mutex<()> = Mutex::new(());

/// Takes `SERIAL`; a test that failed while holding it does not fail the others.
fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

const MIB: usize = 1 << 20;
/// The size every junk envelope is built to.
const SIZE: usize = 8 * MIB;
/// The bound: what refusing may cost beyond the input itself.
const BOUND: usize = 16 * MIB;

fn vectors() -> Value {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/envelopes/junk.json"
    );
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// head + unit repeated + tail, about `size` bytes.
fn build(case: &Value, size: usize) -> Vec<u8> {
    let s = |k: &str| case[k].as_str().unwrap().as_bytes();
    let (head, unit, tail) = (s("head"), s("unit"), s("tail"));
    let n = (size.saturating_sub(head.len() + tail.len()) / unit.len()).max(1);
    let mut doc = Vec::with_capacity(head.len() + unit.len() * n + tail.len());
    doc.extend_from_slice(head);
    for _ in 0..n {
        doc.extend_from_slice(unit);
    }
    doc.extend_from_slice(tail);
    doc
}

/// Runs `f` and returns its result and the most memory it held at once beyond what was
/// allocated before it started.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let out = f();
    (out, PEAK.load(Ordering::SeqCst) - base)
}

#[test]
fn refusing_junk_envelopes_allocates_little_beyond_the_input() {
    let _serial = serial();
    let doc = vectors();
    let keys = PublisherKeys::parse(doc["publisher_keys"].as_str().unwrap()).unwrap();
    let mut report = Vec::new();
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let input = build(case, SIZE);
        assert!(input.len() + 256 >= SIZE, "{name}: {} bytes", input.len());
        let (result, peak) = peak_of(|| load_keyset(&input, Some(&keys)).map(|_| ()));
        let e: LoadError = result.expect_err(name);
        assert_eq!(e.code(), case["expect"]["error"], "{name}: {e}");
        let fragment = case["expect"]["message"].as_str().unwrap();
        assert!(e.to_string().contains(fragment), "{name}: {e}");
        report.push(format!("{name}: {} KiB", peak / 1024));
        assert!(peak <= BOUND, "{name}: {peak} bytes beyond the input");
        // What the scanner achieves: every shape is judged in place, except an escaped
        // payload, whose unescaped text (a sixth of it here) is what the signature covers.
        let copy = if name.contains("escapes") {
            input.len() / 6
        } else {
            0
        };
        assert!(
            peak <= copy + 64 * 1024,
            "{name}: {peak} bytes beyond the input"
        );
    }
    eprintln!(
        "peak allocation beyond an 8 MiB input:\n  {}",
        report.join("\n  ")
    );
}

/// Peak resident set (KiB) and exit code of the CLI run with `args`.
///
/// A child's peak resident set counts the memory of the process it was spawned from (the
/// kernel carries the old address space's high-water mark over `exec`), and this test process
/// holds megabytes. So the CLI is spawned by a fresh copy of this binary running only
/// `cli_rss_probe`, whose own footprint is small and the same for every measurement.
#[cfg(all(feature = "cli", target_os = "linux"))]
fn cli_peak_rss(args: &[&str]) -> (i32, i64) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "cli_rss_probe",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KEYGATE_RSS_PROBE_ARGS", args.join("\n"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // The harness prints the test's name on the same line.
    let line = text
        .split("keygate-rss: ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap_or_else(|| panic!("no probe output: {text}"));
    let mut it = line.split(' ').map(|n| n.parse::<i64>().unwrap());
    let code = i32::try_from(it.next().unwrap()).unwrap();
    (code, it.next().unwrap())
}

/// Not a test: the probe process of `cli_peak_rss` (it reaps the CLI with wait4 and prints
/// its exit code and peak resident set).
#[test]
#[ignore = "run by the_cli_refuses_junk_within_input_plus_16_mib as a separate process"]
#[cfg(all(feature = "cli", target_os = "linux"))]
#[allow(clippy::zombie_processes)] // reaped by wait4, which also reports the rusage
fn cli_rss_probe() {
    let _serial = serial();
    let args = std::env::var("KEYGATE_RSS_PROBE_ARGS").expect("run by cli_peak_rss");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_keygate"))
        .args(args.split('\n'))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value; wait4 fills it and reaps our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &raw mut status, 0, &raw mut usage) };
    assert_eq!(r, pid);
    println!(
        "keygate-rss: {} {}",
        libc::WEXITSTATUS(status),
        usage.ru_maxrss
    );
}

#[test]
#[cfg(all(feature = "cli", target_os = "linux"))]
fn the_cli_refuses_junk_within_input_plus_16_mib() {
    // It builds 8 MiB inputs in this process: never while the in-process test measures.
    let _serial = serial();
    let doc = vectors();
    let keys = doc["publisher_keys"].as_str().unwrap();
    let dir = common::TempDir::new("junk");
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let (tiny, junk) = (path("tiny.json"), path("junk.json"));
    std::fs::write(&tiny, br#"{"payload":"e30","signature":"AA"}"#).unwrap();
    fn commands<'a>(keys: &'a str, file: &'a str) -> [[&'a str; 5]; 2] {
        [
            ["keyset", "verify", "--publisher-key", keys, file],
            ["keyset", "check", "--publisher-key", keys, file],
        ]
    }
    // The CLI's own footprint (and the probe's): the same commands on a tiny envelope.
    let base = commands(keys, &tiny)
        .iter()
        .map(|a| cli_peak_rss(a).1)
        .max()
        .unwrap();
    let mut report = vec![format!("baseline: {base} KiB")];
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let input = build(case, SIZE);
        std::fs::write(&junk, &input).unwrap();
        for args in commands(keys, &junk) {
            let (code, rss) = cli_peak_rss(&args);
            assert_ne!(code, 0, "{name}: {args:?} must refuse");
            let over = (rss - base) * 1024 - i64::try_from(input.len()).unwrap();
            report.push(format!("{name} ({}): {rss} KiB", args[1]));
            assert!(
                over <= i64::try_from(BOUND).unwrap(),
                "{name}: {args:?} peaked at {rss} KiB ({over} bytes over input + baseline)"
            );
        }
    }
    eprintln!(
        "CLI peak RSS, 8 MiB junk envelopes:\n  {}",
        report.join("\n  ")
    );
}
