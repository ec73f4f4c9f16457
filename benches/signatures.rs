//! Per-request decision cost of signed requests (parse Signature-Input/Signature, rebuild the
//! signature base, verify, Content-Digest, policy) for hmac-sha256 and ed25519, beside the bare
//! primitive on the same signature base and an API-key-only decision, natively.
//!
//! Run: `cargo bench --bench signatures` (add `-- --write DIR` to also write the cases as JSON
//! for the wasm-under-Node comparison with WebCrypto and node:crypto; see BENCHMARKS.md).
//! Each figure is the median over 15 batches of the time per operation.

use std::hint::black_box;
use std::time::Instant;

use keygate::sig::{HmacSecret, Signer, SignerKey, VerifierKey};
use keygate::{ApiKeyDigest, Context, KeySet, Request, UnixTime, Verifier};
use serde_json::json;

const NOW: i64 = 1_795_910_400;
const URL: &str = "https://api.example.com/v1/orders/42?expand=items&page=2";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median nanoseconds per call of `f`, over 15 batches of `n` calls.
fn time(n: usize, mut f: impl FnMut()) -> f64 {
    let (t, _, _) = pair(n, &mut f, &mut || {});
    t
}

/// `f` and `g` timed in alternating batches of `n` calls (15 each), so that both see the same
/// machine load: the median ns per call of each, and the median of the per-batch ratios.
fn pair(n: usize, f: &mut impl FnMut(), g: &mut impl FnMut()) -> (f64, f64, f64) {
    for _ in 0..n / 10 + 1 {
        f();
        g();
    }
    let batch = |h: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..n {
            h();
        }
        t.elapsed().as_nanos() as f64 / n as f64
    };
    let (mut fs, mut gs, mut rs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..15 {
        let a = batch(f);
        let b = batch(g);
        fs.push(a);
        gs.push(b);
        rs.push(a / b.max(f64::MIN_POSITIVE));
    }
    (median(fs), median(gs), median(rs))
}

fn b64url(b: &[u8]) -> String {
    keygate::encoding_util::b64url_encode(b)
}

fn main() {
    let write_dir = std::env::args()
        .skip_while(|a| a != "--write")
        .nth(1)
        .map(std::path::PathBuf::from);
    let ed = SignerKey::ed25519_seed(&[7; 32]).unwrap();
    let hm = SignerKey::HmacSha256(HmacSecret::new(vec![9; 32]).unwrap());
    let VerifierKey::Ed25519(ed_pub) = ed.verifier_key() else {
        unreachable!()
    };
    let keyset = json!({
        "keygate": 1, "revision": 1,
        "keys": [
            {"id": "ed", "signing": {"alg": "ed25519", "public_key": b64url(ed_pub.as_bytes())}},
            {"id": "hm", "signing": {"alg": "hmac-sha256", "secret": b64url(&[9; 32])}},
            {"id": "api", "api_key_hash": ApiKeyDigest::of("bench-api-key").to_string()}
        ]
    })
    .to_string();
    let verifier = Verifier::new(KeySet::from_json(keyset.as_bytes()).unwrap());
    let cx = Context::new(UnixTime::from_secs(NOW));
    let body = vec![b'x'; 1024];

    let get = || {
        Request::new("GET", URL)
            .unwrap()
            .with_header("Accept", "application/json")
            .with_header("User-Agent", "bench/1.0")
    };
    let post = || {
        get()
            .with_header("Content-Type", "application/json")
            .with_body(body.clone())
    };
    let signed = |req: Request, key: &SignerKey, id: &str| {
        let s = Signer::new(key.clone(), id, UnixTime::from_secs(NOW))
            .sign(&req)
            .unwrap();
        let mut r = req;
        s.apply(&mut r);
        (r, s.base)
    };

    println!(
        "keygate signatures benchmark (native, {} build)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!("{:<44} {:>12}", "case", "median");
    let api = get().with_header("X-API-Key", "bench-api-key");
    assert!(verifier.decide(&api, &cx).allowed);
    let base_ns = time(20_000, || {
        black_box(verifier.decide(black_box(&api), &cx));
    });
    println!(
        "{:<44} {:>9.2} us",
        "decide: API key only (baseline)",
        base_ns / 1e3
    );

    let mut cases = Vec::new();
    for (alg, key, id, n) in [
        ("hmac-sha256", &hm, "hm", 20_000),
        ("ed25519", &ed, "ed", 2_000),
    ] {
        for (shape, unsigned) in [("GET", get()), ("POST 1 KiB", post())] {
            let (req, base) = signed(unsigned.clone(), key, id);
            let d = verifier.decide(&req, &cx);
            assert!(d.allowed, "{d:?}");
            let vkey = key.verifier_key();
            let sig = key.sign(base.as_bytes());
            let (decide_ns, bare_ns, ratio) = pair(
                n,
                &mut || {
                    black_box(verifier.decide(black_box(&req), &cx));
                },
                &mut || {
                    assert!(vkey.verify(black_box(base.as_bytes()), black_box(&sig)));
                },
            );
            let sign_ns = time(n, || {
                let s = Signer::new(key.clone(), id, UnixTime::from_secs(NOW));
                assert!(black_box(s.sign(black_box(&unsigned))).is_ok());
            });
            println!(
                "{:<44} {:>9.2} us",
                format!("decide: {alg} {shape}"),
                decide_ns / 1e3
            );
            println!(
                "{:<44} {:>9.2} us",
                format!("  bare {alg} verify, same {}-byte base", base.len()),
                bare_ns / 1e3
            );
            println!(
                "{:<44} {:>9.2}x",
                "  decision / bare verify (paired batches)", ratio
            );
            println!(
                "{:<44} {:>9.2} us",
                format!("  sign: {alg} {shape}"),
                sign_ns / 1e3
            );
            let headers: Vec<(String, String)> = [
                "accept",
                "user-agent",
                "content-type",
                "content-digest",
                "signature-input",
                "signature",
            ]
            .iter()
            .flat_map(|n| {
                req.header_values(n)
                    .map(move |v| (n.to_string(), v.to_string()))
            })
            .collect();
            cases.push(json!({
                "alg": alg, "shape": shape, "key_id": id,
                "request": {"method": req.method(), "url": URL, "headers": headers, "now_ms": NOW * 1000},
                "body_len": if shape == "GET" { 0 } else { body.len() },
                "signature_base": base,
                "signature_b64url": b64url(&sig),
                "native_ns": {"decide": decide_ns, "bare_verify": bare_ns, "sign": sign_ns}, "native_ratio": ratio,
            }));
        }
    }
    if let Some(dir) = write_dir {
        std::fs::create_dir_all(&dir).unwrap();
        let doc = json!({
            "_comment": "Cases for the wasm-under-Node run: decide each request with the key set (body: 'x' * body_len), and verify signature_base with WebCrypto / node:crypto using the keys below.",
            "keyset": serde_json::from_str::<serde_json::Value>(&keyset).unwrap(),
            "hmac_secret_b64url": b64url(&[9; 32]),
            "ed25519_public_b64url": b64url(ed_pub.as_bytes()),
            "baseline_api_key_request": {"method": "GET", "url": URL, "headers": [["x-api-key", "bench-api-key"]], "now_ms": NOW * 1000},
            "native_baseline_ns": base_ns,
            "cases": cases,
        });
        let path = dir.join("signature_cases.json");
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
        println!("wrote {}", path.display());
    }
}
