//! Standard Webhooks from the command line: `keygen webhook-v1|webhook-v1a`, `keyset add
//! --webhook…` (generated, or a sender's secret or public key, and the route that accepts it),
//! `sign --webhook` (one key or several) and `verify` deciding those deliveries; sealing and
//! rotating webhook keys.
#![cfg(all(feature = "cli", not(target_arch = "wasm32")))]

mod common;

use std::fs;
use std::path::PathBuf;
use std::process::Output;

use common::{keygate, keygate_with};
use serde_json::Value;

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("keygate-webhooks-{}-{tag}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(o: &Output) -> &Output {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    o
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&ok(o).stdout).unwrap()
}

fn decisions(o: &Output) -> Vec<Value> {
    text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const REQ: &str = "POST /hooks/billing HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json\r\n\r\n{\"type\":\"invoice.paid\"}";

#[test]
fn keygen_prints_the_key_and_the_entry() {
    let v1 = json(&keygate(&["keygen", "webhook-v1"]));
    assert!(v1["key"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(v1["webhook"]["secret"], v1["key"]);
    let v1a = json(&keygate(&["keygen", "webhook-v1a"]));
    assert!(v1a["key"].as_str().unwrap().starts_with("whsk_"));
    assert!(
        v1a["webhook"]["public_key"]
            .as_str()
            .unwrap()
            .starts_with("whpk_")
    );
    assert_ne!(v1a["key"], v1a["webhook"]["public_key"]);
}

#[test]
fn add_sign_verify_replay_and_tamper() {
    let d = tmpdir("flow");
    let p = |n: &str| d.join(n).display().to_string();
    let ks = p("ks.json");
    ok(&keygate(&["keyset", "new", &ks, "--default-route", "deny"]));
    let added = json(&keygate(&[
        "keyset",
        "add",
        &ks,
        "--id",
        "billing",
        "--webhook",
        "v1",
        "--webhook-route",
        "/hooks/billing",
        "--scopes",
        "events:write",
    ]));
    assert!(added["webhook_key"].as_str().unwrap().starts_with("whsec_"));
    assert!(
        added.get("api_key").is_none(),
        "a webhook key needs no API key"
    );
    let doc: Value = serde_json::from_str(&fs::read_to_string(&ks).unwrap()).unwrap();
    assert_eq!(
        doc["routes"][0]["webhook_keys"],
        serde_json::json!(["billing"])
    );
    assert_eq!(doc["routes"][0]["methods"], serde_json::json!(["POST"]));
    fs::write(p("billing.json"), added.to_string()).unwrap();
    fs::write(p("req.http"), REQ).unwrap();
    let signed = ok(&keygate(&[
        "sign",
        "--webhook",
        "--key",
        &p("billing.json"),
        "--request",
        &p("req.http"),
    ]))
    .stdout
    .clone();
    assert!(
        text(&signed).contains("\r\nwebhook-signature: v1,"),
        "{}",
        text(&signed)
    );
    fs::write(p("signed.http"), &signed).unwrap();
    let o = keygate(&[
        "verify",
        "--keyset",
        &ks,
        "--request",
        &p("signed.http"),
        "--request",
        &p("signed.http"),
    ]);
    assert_eq!(o.status.code(), Some(1), "the second is a replay");
    let ds = decisions(&o);
    assert_eq!(ds[0]["allowed"], true, "{}", ds[0]);
    assert_eq!(ds[0]["key_id"], "billing");
    assert_eq!(ds[0]["webhook"]["scheme"], "v1");
    assert_eq!(ds[1]["reason"], "nonce_replayed");
    let tampered = text(&signed).replace("invoice.paid", "invoice.void");
    fs::write(p("tampered.http"), tampered).unwrap();
    let o = keygate(&["verify", "--keyset", &ks, "--request", &p("tampered.http")]);
    assert_eq!(decisions(&o)[0]["reason"], "signature_invalid");
    assert!(
        decisions(&o)[0].get("key_id").is_none(),
        "a forgery names no key"
    );
    // A fixed id and time; a delivery too old for the window.
    let old = ok(&keygate(&[
        "sign",
        "--webhook",
        "--key",
        &p("billing.json"),
        "--request",
        &p("req.http"),
        "--webhook-id",
        "msg_fixed",
        "--created",
        "2026-01-01T00:00:00Z",
    ]))
    .stdout
    .clone();
    assert!(text(&old).contains("webhook-id: msg_fixed\r\n"));
    assert!(text(&old).contains("webhook-timestamp: 1767225600\r\n"));
    fs::write(p("old.http"), old).unwrap();
    let o = keygate(&[
        "verify",
        "--keyset",
        &ks,
        "--request",
        &p("old.http"),
        "--now",
        "2026-01-01T00:06:00Z",
    ]);
    assert_eq!(decisions(&o)[0]["reason"], "signature_too_old");
    let _ = fs::remove_dir_all(&d);
}

#[test]
fn senders_keys_registered_and_several_signers() {
    let d = tmpdir("senders");
    let p = |n: &str| d.join(n).display().to_string();
    let ks = p("ks.json");
    ok(&keygate(&["keyset", "new", &ks]));
    // A provider's 24-byte secret, from stdin (never from the command line).
    let provider = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let o = keygate_with(
        &[
            "keyset",
            "add",
            &ks,
            "--id",
            "svix",
            "--webhook-secret-file",
            "-",
            "--webhook-route",
            "/hooks/billing",
        ],
        Some(provider.as_bytes()),
        false,
    );
    ok(&o);
    assert!(!text(&o.stdout).contains(provider) && !text(&o.stderr).contains(provider));
    let v1a = json(&keygate(&["keygen", "webhook-v1a"]));
    fs::write(p("v1a.json"), v1a.to_string()).unwrap();
    ok(&keygate(&[
        "keyset",
        "add",
        &ks,
        "--id",
        "acme",
        "--webhook-public-key",
        v1a["webhook"]["public_key"].as_str().unwrap(),
        "--webhook-route",
        "/hooks/billing",
    ]));
    let doc: Value = serde_json::from_str(&fs::read_to_string(&ks).unwrap()).unwrap();
    assert_eq!(
        doc["routes"][0]["webhook_keys"],
        serde_json::json!(["svix", "acme"])
    );
    // One delivery signed with both keys: one token each.
    fs::write(p("svix.key"), provider).unwrap();
    fs::write(p("req.http"), REQ).unwrap();
    let signed = ok(&keygate(&[
        "sign",
        "--webhook",
        "--key",
        &p("svix.key"),
        "--key",
        &p("v1a.json"),
        "--request",
        &p("req.http"),
    ]))
    .stdout
    .clone();
    let line = text(&signed)
        .lines()
        .find(|l| l.starts_with("webhook-signature:"))
        .unwrap()
        .to_string();
    assert!(line.contains(" v1,") && line.contains(" v1a,"), "{line}");
    fs::write(p("signed.http"), &signed).unwrap();
    let o = keygate(&["verify", "--keyset", &ks, "--request", &p("signed.http")]);
    assert_eq!(decisions(ok(&o))[0]["key_id"], "svix");
    // Refused: a bad secret file, a public key that is no whpk_, a private key as public.
    fs::write(p("bad.key"), "whsec_AAAA").unwrap();
    let o = keygate(&["keyset", "add", &ks, "--webhook-secret-file", &p("bad.key")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("24 to 64 bytes"));
    let o = keygate(&[
        "keyset",
        "add",
        &ks,
        "--webhook-public-key",
        v1a["key"].as_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        !text(&o.stderr).contains(v1a["key"].as_str().unwrap()),
        "the private key is not echoed"
    );
    // Usage: --webhook with --keyid, a webhook id with '.', two kinds of webhook key at once.
    for args in [
        vec![
            "sign",
            "--webhook",
            "--keyid",
            "x",
            "--key",
            "k",
            "--request",
            "r",
        ],
        vec![
            "sign",
            "--webhook",
            "--webhook-id",
            "a.b",
            "--key",
            "k",
            "--request",
            "r",
        ],
        vec![
            "sign",
            "--key",
            "a",
            "--key",
            "b",
            "--keyid",
            "x",
            "--request",
            &p("req.http"),
        ],
        vec![
            "keyset",
            "add",
            &ks,
            "--webhook",
            "v1",
            "--webhook-public-key",
            "whpk_x",
        ],
        vec!["keyset", "add", &ks, "--webhook-route", "/x"],
    ] {
        let o = keygate(&args);
        assert_eq!(o.status.code(), Some(64), "{args:?}: {}", text(&o.stderr));
    }
    let _ = fs::remove_dir_all(&d);
}

#[test]
fn webhook_secrets_seal_and_rotate() {
    let d = tmpdir("seal");
    let p = |n: &str| d.join(n).display().to_string();
    let (ks, seal) = (p("ks.json"), p("seal.jwk"));
    ok(&keygate(&["keygen", "seal-key", "--out", &seal]));
    ok(&keygate(&["keyset", "new", &ks]));
    let added = json(&keygate(&[
        "keyset",
        "add",
        &ks,
        "--id",
        "h",
        "--webhook",
        "v1",
        "--webhook-route",
        "/hooks/billing",
    ]));
    let secret = added["webhook_key"].as_str().unwrap().to_string();
    ok(&keygate(&["keyset", "seal", &ks, "--seal-key", &seal]));
    let raw = fs::read_to_string(&ks).unwrap();
    assert!(!raw.contains(&secret) && raw.contains("\"sealed\""));
    assert_eq!(
        keygate(&["keyset", "add", &ks, "--id", "h2", "--webhook", "v1"])
            .status
            .code(),
        Some(64)
    );
    ok(&keygate(&[
        "keyset",
        "add",
        &ks,
        "--id",
        "h2",
        "--webhook",
        "v1",
        "--seal-key",
        &seal,
        "--webhook-route",
        "/hooks/billing",
    ]));
    let rotated = json(&keygate(&[
        "keyset",
        "rotate",
        &ks,
        "h",
        "--grace",
        "1h",
        "--seal-key",
        &seal,
    ]));
    assert!(
        rotated["webhook_key"]
            .as_str()
            .unwrap()
            .starts_with("whsec_")
    );
    let doc: Value = serde_json::from_str(&fs::read_to_string(&ks).unwrap()).unwrap();
    assert_eq!(
        doc["routes"][0]["webhook_keys"],
        serde_json::json!(["h", "h2", "h-r2"])
    );
    assert!(
        doc["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["webhook"]["sealed"].is_string())
    );
    // The rotated key signs deliveries the gateway accepts (with the seal key).
    fs::write(p("h2.json"), rotated.to_string()).unwrap();
    fs::write(p("req.http"), REQ).unwrap();
    let signed = ok(&keygate(&[
        "sign",
        "--webhook",
        "--key",
        &p("h2.json"),
        "--request",
        &p("req.http"),
    ]))
    .stdout
    .clone();
    fs::write(p("signed.http"), signed).unwrap();
    let o = keygate(&[
        "verify",
        "--keyset",
        &ks,
        "--seal-key",
        &seal,
        "--request",
        &p("signed.http"),
    ]);
    assert_eq!(decisions(ok(&o))[0]["key_id"], "h-r2");
    let _ = fs::remove_dir_all(&d);
}
