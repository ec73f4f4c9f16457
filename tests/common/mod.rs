//! Helpers shared by the integration tests (native and wasm32); each test crate uses a part.
#![allow(dead_code)]

use keygate::sig::{ComponentId, HmacSecret, Signer, SignerKey, VerifierKey};
use keygate::{Context, Decision, KeySet, Request, UnixTime, Verifier};
use serde_json::{Value, json};

pub const NOW: i64 = 1_764_374_400; // 2025-11-29T00:00:00Z

pub fn now() -> UnixTime {
    UnixTime::from_secs(NOW)
}

pub fn cx() -> Context {
    Context::new(now())
}

/// A fixed Ed25519 key (seed 7 7 7 ...).
pub fn ed_key() -> SignerKey {
    SignerKey::ed25519_seed(&[7; 32]).unwrap()
}

/// A fixed HMAC secret (32 bytes of 9).
pub fn hmac_key() -> SignerKey {
    SignerKey::HmacSha256(HmacSecret::new(vec![9; 32]).unwrap())
}

pub fn b64url(b: &[u8]) -> String {
    keygate::encoding_util::b64url_encode(b)
}

/// The key-set `signing` object for a signer key.
pub fn signing_json(k: &SignerKey) -> Value {
    match k.verifier_key() {
        VerifierKey::Ed25519(v) => json!({"alg": "ed25519", "public_key": b64url(v.as_bytes())}),
        VerifierKey::HmacSha256(s) => {
            json!({"alg": "hmac-sha256", "secret": b64url(s.expose_secret())})
        }
        _ => unreachable!(),
    }
}

/// The API key of the `api` test key.
pub const API_KEY: &str = "legacy-api-key-for-tests";

/// A key set with `ed` (ed25519), `hm` (hmac), `both` (API key + ed25519 signing, signature
/// optional), `api` (API key only), applying `policy` and `routes`.
pub fn keyset_with(policy: Value, routes: Value, extra_keys: Vec<Value>) -> KeySet {
    let mut keys = vec![
        json!({"id": "ed", "signing": signing_json(&ed_key()), "scopes": ["orders:*"]}),
        json!({"id": "hm", "signing": signing_json(&hmac_key())}),
        json!({"id": "both", "api_key_hash": keygate::ApiKeyDigest::of("both-api-key").to_string(),
               "signing": signing_json(&ed_key()), "require_signature": false}),
        json!({"id": "api", "api_key_hash": keygate::ApiKeyDigest::of(API_KEY).to_string()}),
    ];
    keys.extend(extra_keys);
    let doc =
        json!({"keygate": 1, "revision": 1, "policy": policy, "routes": routes, "keys": keys});
    KeySet::from_json(doc.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

pub fn keyset() -> KeySet {
    keyset_with(json!({}), json!([]), vec![])
}

pub fn verifier() -> Verifier {
    Verifier::new(keyset())
}

pub fn components(list: &[&str]) -> Vec<ComponentId> {
    list.iter()
        .map(|c| ComponentId::parse(c).unwrap())
        .collect()
}

pub fn post(url: &str, body: &[u8]) -> Request {
    Request::new("POST", url)
        .unwrap()
        .with_header("Content-Type", "application/json")
        .with_body(body.to_vec())
}

/// `req` signed by `key` as `keyid` with the default components at `NOW`.
pub fn signed(req: Request, key: SignerKey, keyid: &str) -> Request {
    sign_with(req, Signer::new(key, keyid, now()))
}

pub fn sign_with(mut req: Request, signer: Signer) -> Request {
    let s = signer.sign(&req).unwrap();
    s.apply(&mut req);
    req
}

pub fn code(d: &Decision) -> &'static str {
    d.code().unwrap_or("allowed")
}

pub fn header<'a>(d: &'a Decision, name: &str) -> Option<&'a str> {
    d.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A copy of `req` with every field named `name` replaced by `value` (or removed).
pub fn with_field(req: &Request, name: &str, value: Option<&str>) -> Request {
    rebuild(
        req,
        req.method(),
        &url_of(req),
        |n, v| {
            if n.eq_ignore_ascii_case(name) {
                value.map(str::to_string)
            } else {
                Some(v.to_string())
            }
        },
        req.body().map(<[u8]>::to_vec),
    )
}

pub fn url_of(req: &Request) -> String {
    let q = req.query().map(|q| format!("?{q}")).unwrap_or_default();
    format!("{}://{}{}{q}", req.scheme(), req.authority(), req.path())
}

/// Rebuilds a request with another method/URL/body, mapping each header field.
pub fn rebuild(
    req: &Request,
    method: &str,
    url: &str,
    mut map: impl FnMut(&str, &str) -> Option<String>,
    body: Option<Vec<u8>>,
) -> Request {
    let mut out = Request::new(method, url).unwrap();
    for (n, v) in header_pairs(req) {
        if let Some(v) = map(&n, &v) {
            out.push_header(&n, &v);
        }
    }
    if let Some(b) = body {
        out = out.with_body(b);
    }
    out
}

/// Every header field of a request, in order. (Read through the public API: the names of
/// interest are known to the tests.)
pub fn header_pairs(req: &Request) -> Vec<(String, String)> {
    const NAMES: &[&str] = &[
        "host",
        "date",
        "content-type",
        "content-digest",
        "content-length",
        "x-custom",
        "example-dict",
        "cache-status",
        "authorization",
        "x-api-key",
        "signature-input",
        "signature",
        "accept",
    ];
    let mut out = Vec::new();
    for n in NAMES {
        for v in req.header_values(n) {
            out.push((n.to_string(), v.to_string()));
        }
    }
    out
}

/// A request from a vector's `request` object: `method`, absolute `url`, `headers` as
/// `[name, value]` pairs, optional text `body`.
pub fn build_request(r: &Value) -> Request {
    let mut req = Request::new(r["method"].as_str().unwrap(), r["url"].as_str().unwrap()).unwrap();
    for h in r["headers"].as_array().unwrap() {
        req.push_header(h[0].as_str().unwrap(), h[1].as_str().unwrap());
    }
    if let Some(body) = r.get("body").and_then(Value::as_str) {
        req = req.with_body(body.as_bytes().to_vec());
    }
    if let Some(b64) = r.get("body_base64").and_then(Value::as_str) {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        req = req.with_body(bytes);
    }
    req
}

/// Checks a decision against a vector's `expect`: allowed, status, reason, key id, the scopes
/// of an allowed request, a message on every refusal and a challenge on every 401; and when
/// the vector states them, the judged `path` and the `accept_signature` field.
pub fn assert_decision(name: &str, d: &Decision, exp: &Value) {
    if let Some(p) = exp.get("path") {
        assert_eq!(&json!(d.path), p, "{name}: judged path");
    }
    if let Some(a) = exp.get("accept_signature") {
        assert_eq!(
            &json!(header(d, "Accept-Signature")),
            a,
            "{name}: Accept-Signature"
        );
    }
    let got = d.to_json();
    assert_eq!(got["allowed"], exp["allowed"], "{name}: {got}");
    assert_eq!(got["status"], exp["status"], "{name}: {got}");
    assert_eq!(
        got.get("reason").unwrap_or(&Value::Null),
        exp.get("reason").unwrap_or(&Value::Null),
        "{name}: {got}"
    );
    assert_eq!(
        got.get("key_id").unwrap_or(&Value::Null),
        &exp["key_id"],
        "{name}: {got}"
    );
    if d.allowed {
        assert_eq!(got["scopes"], exp["scopes"], "{name}: {got}");
        if let Some(w) = exp.get("webhook") {
            assert_eq!(&got["webhook"], w, "{name}: the delivery");
        }
    } else {
        assert!(!d.message.is_empty(), "{name}: a refusal explains itself");
    }
    if d.status == 401 {
        assert!(
            d.headers.iter().any(|(n, _)| n == "WWW-Authenticate"),
            "{name}: 401 without WWW-Authenticate"
        );
    }
}

/// A new directory under the system's temporary directory, removed with everything in it when
/// the guard is dropped: at the end of the test, and also when the test fails (drops run while
/// a panic unwinds). Named `keygate-<tag>-<pid>-<n>`, unique per process and per call, so tests
/// running in parallel never share one. Derefs to its `Path`.
#[cfg(not(target_arch = "wasm32"))]
pub struct TempDir(std::path::PathBuf);

#[cfg(not(target_arch = "wasm32"))]
impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let d = std::env::temp_dir().join(format!(
            "keygate-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        // A leftover of an earlier process with the same id.
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl std::ops::Deref for TempDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl AsRef<std::path::Path> for TempDir {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(all(feature = "cli", not(target_arch = "wasm32")))]
pub mod server;

/// Runs the CLI built for this test run (stdin empty).
#[cfg(all(feature = "cli", not(target_arch = "wasm32")))]
pub fn keygate(args: &[&str]) -> std::process::Output {
    keygate_with(args, Some(b""), false)
}

/// Runs the CLI with `stdin` piped in (None: a closed stdin), and stdout on /dev/full when
/// `stdout_full` (every write fails with ENOSPC). Proxy settings are cleared: the tests talk
/// to loopback only.
#[cfg(all(feature = "cli", not(target_arch = "wasm32")))]
pub fn keygate_with(
    args: &[&str],
    stdin: Option<&[u8]>,
    stdout_full: bool,
) -> std::process::Output {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keygate"));
    cmd.args(args).stderr(Stdio::piped());
    for v in [
        "ALL_PROXY",
        "all_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
    ] {
        cmd.env_remove(v);
    }
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    if stdout_full {
        cmd.stdout(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        );
    } else {
        cmd.stdout(Stdio::piped());
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        // The command may exit before reading everything (a usage error): ignore EPIPE.
        let _ = pipe.write_all(input);
    }
    child.wait_with_output().unwrap()
}
