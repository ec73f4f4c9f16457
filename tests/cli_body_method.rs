//! `policy.body_method_override` through the CLI: edits keep it as written, and `verify`
//! judges a form POST carrying `_method=DELETE` by it.
#![cfg(all(feature = "cli", not(target_arch = "wasm32")))]

mod common;

use std::fs;
use std::path::Path;

use common::{TempDir, keygate};
use serde_json::Value;

const NOW: &str = "2026-11-29T12:00:00Z";

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(p).unwrap()).unwrap()
}

/// The decision `keygate verify` prints for one request file.
fn verify(ks: &Path, request: &Path) -> Value {
    let o = keygate(&[
        "verify",
        "--keyset",
        &ks.display().to_string(),
        "--request",
        &request.display().to_string(),
        "--now",
        NOW,
    ]);
    let out = String::from_utf8(o.stdout).unwrap();
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

#[test]
fn edits_keep_the_policy_and_verify_judges_by_it() {
    let d = TempDir::new("cli_body_method");
    let ks = d.join("ks.json");
    let vector =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/attacks/keyset_body_method.json");
    fs::copy(&vector, &ks).unwrap();
    let o = keygate(&[
        "keyset",
        "add",
        &ks.display().to_string(),
        "--id",
        "added",
        "--scopes",
        "orders:read",
        "--out",
        &d.join("secrets.json").display().to_string(),
        "--now",
        NOW,
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let edited = read_json(&ks);
    assert_eq!(edited["policy"], read_json(&vector)["policy"]);
    assert_eq!(edited["policy"]["body_method_override"], "every_method");

    let post = d.join("post.http");
    fs::write(
        &post,
        "POST /api/orders/7 HTTP/1.1\r\nHost: api.example.com\r\nX-API-Key: attack-writer-api-key\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 14\r\n\r\n_method=DELETE",
    )
    .unwrap();
    let v = verify(&ks, &post);
    assert_eq!(v["reason"], "scope_missing", "{v}");
    assert_eq!(v["key_id"], "writer");

    // The same request under the default: the POST rule alone.
    let mut doc = edited;
    doc["policy"]["body_method_override"] = "ignored".into();
    fs::write(&ks, doc.to_string()).unwrap();
    let v = verify(&ks, &post);
    assert_eq!(v["allowed"], true, "{v}");
}
