#![cfg(not(target_arch = "wasm32"))]
#![cfg(feature = "cli")]
//! The CLI: `keygate keygen ed25519|hmac`, `keygate sign`, and replay through
//! `keygate verify` with a repeated `--request`.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};

mod common;
use common::{TempDir, keygate};

/// The test's own directory (removed when the test ends) and the files written there.
struct Dir(TempDir);

impl Dir {
    fn new(name: &str) -> Dir {
        Dir(TempDir::new(&format!("cli-sign-{name}")))
    }
    fn write(&self, name: &str, data: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, data).unwrap();
        p
    }
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn stdout_json(o: &Output) -> Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn keyset(dir: &Dir, id: &str, signing: &Value, policy: Value) -> PathBuf {
    let ks = json!({"keygate": 1, "revision": 1, "policy": policy, "keys": [{"id": id, "signing": signing}]});
    dir.write("ks.json", ks.to_string())
}

const NOW: &str = "2026-11-29T00:00:00Z";

#[test]
fn keygen_output_shapes() {
    let ed = stdout_json(&keygate(&["keygen", "ed25519"]));
    assert_eq!(ed["signing"]["alg"], "ed25519");
    assert_eq!(ed["private_key"].as_str().unwrap().len(), 43);
    assert_eq!(ed["signing"]["public_key"].as_str().unwrap().len(), 43);
    // {key, signing} as the JS generateSigningKey, and the 0.1 name of the key beside it.
    assert_eq!(ed.as_object().unwrap().len(), 3);
    assert_eq!(ed["key"], ed["private_key"]);
    let h = stdout_json(&keygate(&["keygen", "hmac"]));
    assert_eq!(h["signing"]["alg"], "hmac-sha256");
    assert_eq!(h["secret"], h["signing"]["secret"]);
    assert_eq!(h["key"], h["secret"]);
    assert_eq!(h["secret"].as_str().unwrap().len(), 43);
    assert_ne!(
        stdout_json(&keygate(&["keygen", "hmac"]))["secret"],
        h["secret"]
    );
}

#[test]
fn sign_then_verify_and_replay_is_refused() {
    let dir = Dir::new("replay");
    let key = stdout_json(&keygate(&["keygen", "ed25519"]));
    let keyfile = dir.write("key.json", key.to_string());
    let ks = keyset(
        &dir,
        "client-1",
        &key["signing"],
        json!({"require_nonce": true}),
    );
    let req = dir.write(
        "req.http",
        "POST /v1/orders?x=1 HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json\r\n\r\n{\"qty\": 2}",
    );
    let out = keygate(&[
        "sign",
        "--key",
        p(&keyfile),
        "--keyid",
        "client-1",
        "--request",
        p(&req),
        "--nonce",
        "--created",
        NOW,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("POST /v1/orders?x=1 HTTP/1.1\r\nHost: api.example.com\r\n"),
        "{text}"
    );
    assert!(text.contains("\r\nContent-Digest: sha-256=:"), "{text}");
    assert!(text.contains("\r\nSignature-Input: sig1=(\"@method\" \"@target-uri\" \"content-digest\");created=1795910400;keyid=\"client-1\";alg=\"ed25519\";nonce=\""), "{text}");
    assert!(text.contains("\r\nSignature: sig1=:"), "{text}");
    assert!(text.ends_with("\r\n\r\n{\"qty\": 2}"), "{text}");
    let signed = dir.write("signed.http", &text);

    let out = keygate(&[
        "verify",
        "--keyset",
        p(&ks),
        "--request",
        p(&signed),
        "--request",
        p(&signed),
        "--now",
        NOW,
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["allowed"], true, "{}", lines[0]);
    assert_eq!(lines[0]["key_id"], "client-1");
    assert_eq!(lines[1]["reason"], "nonce_replayed", "{}", lines[1]);
    assert_eq!(lines[1]["status"], 401);

    // Unsigned, and signed without a nonce: refused with the right codes.
    let out = keygate(&[
        "verify",
        "--keyset",
        p(&ks),
        "--request",
        p(&req),
        "--now",
        NOW,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let out = keygate(&[
        "sign",
        "--key",
        p(&keyfile),
        "--keyid",
        "client-1",
        "--request",
        p(&req),
        "--created",
        NOW,
    ]);
    let no_nonce = dir.write("no-nonce.http", &out.stdout);
    let out = keygate(&[
        "verify",
        "--keyset",
        p(&ks),
        "--request",
        p(&no_nonce),
        "--now",
        NOW,
    ]);
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["reason"], "nonce_missing");
}

#[test]
fn hmac_with_options_bare_key_and_jwk() {
    let dir = Dir::new("hmac");
    let key = stdout_json(&keygate(&["keygen", "hmac"]));
    let secret = key["secret"].as_str().unwrap();
    let ks = keyset(
        &dir,
        "svc",
        &key["signing"],
        json!({"required_components": ["@method", "@authority"]}),
    );
    let req = dir.write("req.http", "GET /a?b=c HTTP/1.1\nHost: api.example.com\n\n");
    let bare = dir.write("bare.key", format!("{secret}\n"));
    let jwk = dir.write("jwk.json", json!({"kty": "oct", "k": secret}).to_string());

    let out = keygate(&[
        "sign",
        "--key",
        p(&bare),
        "--keyid",
        "svc",
        "--request",
        p(&req),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--alg"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains(secret),
        "secret on stderr"
    );

    for keyfile in [&bare, &jwk] {
        let out = keygate(&[
            "sign",
            "--key",
            p(keyfile),
            "--alg",
            "hmac-sha256",
            "--keyid",
            "svc",
            "--request",
            p(&req),
            "--components",
            "@method,@authority,@query-param;name=\"b\"",
            "--label",
            "mine",
            "--created",
            NOW,
            "--expires",
            "1795910460",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.contains("Content-Digest"), "no body, no digest");
        assert!(text.contains("Signature-Input: mine=(\"@method\" \"@authority\" \"@query-param\";name=\"b\");created=1795910400;expires=1795910460;keyid=\"svc\";alg=\"hmac-sha256\"\n"), "{text}");
        let signed = dir.write("signed.http", &text);
        let out = keygate(&[
            "verify",
            "--keyset",
            p(&ks),
            "--request",
            p(&signed),
            "--now",
            NOW,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let out = keygate(&[
            "verify",
            "--keyset",
            p(&ks),
            "--request",
            p(&signed),
            "--now",
            "2026-11-29T00:01:31Z",
        ]);
        let d: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(d["reason"], "signature_expired");
    }
    // A key file that disagrees with --alg, and a label already in use.
    let out = keygate(&[
        "sign",
        "--key",
        p(&jwk),
        "--alg",
        "ed25519",
        "--keyid",
        "svc",
        "--request",
        p(&req),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = keygate(&[
        "sign",
        "--key",
        p(&jwk),
        "--keyid",
        "svc",
        "--request",
        p(&req),
        "--created",
        NOW,
    ]);
    let once = dir.write("once.http", &out.stdout);
    let out = keygate(&[
        "sign",
        "--key",
        p(&jwk),
        "--keyid",
        "svc",
        "--request",
        p(&once),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already has a signature labelled \"sig1\"")
    );
    let bad = keygate(&[
        "sign",
        "--key",
        p(&jwk),
        "--keyid",
        "svc",
        "--request",
        p(&req),
        "--components",
        "@nope",
    ]);
    assert_eq!(
        bad.status.code(),
        Some(64),
        "a malformed flag value is a usage error"
    );
}

#[test]
fn the_rfc_test_key_signs_the_rfc_request() {
    let dir = Dir::new("rfc");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/rfc9421");
    let keys: Value =
        serde_json::from_slice(&std::fs::read(root.join("keys.json")).unwrap()).unwrap();
    let jwk = dir.write("jwk.json", keys["test-key-ed25519"].to_string());
    let signing = json!({"alg": "ed25519", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": keys["test-key-ed25519"]["x"]}});
    let ks = keyset(
        &dir,
        "test-key-ed25519",
        &signing,
        json!({"required_components": ["@method", "@authority", "@path"], "require_content_digest": false}),
    );
    let out = keygate(&[
        "sign",
        "--key",
        p(&jwk),
        "--keyid",
        "test-key-ed25519",
        "--request",
        p(&root.join("test-request.http")),
        "--components",
        "date,@method,@path,@authority,content-type,content-length",
        "--label",
        "sig-b26",
        "--created",
        "1618884473",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signed = dir.write("signed.http", &out.stdout);
    let out = keygate(&[
        "verify",
        "--keyset",
        p(&ks),
        "--request",
        p(&signed),
        "--now",
        "1618884473",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
