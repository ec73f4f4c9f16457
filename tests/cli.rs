//! The native CLI, driven as a user would: files in, JSON and exit codes out.
#![cfg(all(feature = "cli", not(target_arch = "wasm32")))]

use std::fs;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

const NOW: &str = "2026-11-29T12:00:00Z";
const CI_KEY: &str = "kg_test_bPijq91RPbfRtA5Qy1czPSvOMI4MURgMcQruc9wBVXf1bbad1";

/// A new directory for one test, removed when the test ends.
fn tmpdir() -> TempDir {
    TempDir::new("cli")
}

mod common;
use common::{TempDir, keygate};

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn vectors(p: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(p)
        .display()
        .to_string()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn get_request(dir: &Path, name: &str, path: &str, key: &str) -> String {
    write(
        dir,
        name,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer {key}\r\n\r\n"
        ),
    )
}

#[test]
fn keygen_api_key_prints_the_key_once_and_only_a_digest_in_the_entry() {
    let o = keygate(&["keygen", "api-key", "--prefix", "kg_live"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let key = v["api_key"].as_str().unwrap();
    assert!(key.starts_with("kg_live_") && key.len() == "kg_live_".len() + 49);
    assert_eq!(keygate::api_key::classify(key), keygate::ApiKeyShape::Valid);
    let entry = v["entry"].as_object().unwrap();
    assert_eq!(
        entry["api_key_hash"],
        keygate::ApiKeyDigest::of(key).to_string()
    );
    assert!(entry["id"].as_str().unwrap().starts_with("kg-live-"));
    assert!(!v["entry"].to_string().contains(key));
    // A malformed flag value is a usage error (64), not invalid input.
    assert_eq!(
        code(&keygate(&["keygen", "api-key", "--prefix", "Bad-Prefix"])),
        64
    );
}

#[test]
fn verify_decides_each_request_on_its_own_line() {
    let d = tmpdir();
    let ok = get_request(&d, "ok.http", "/v1/orders/1", CI_KEY);
    let post = write(
        &d,
        "post.http",
        &format!("POST /v1/orders HTTP/1.1\nHost: api.example.com\nX-API-Key: {CI_KEY}\n\n{{}}"),
    );
    let ks = vectors("keysets/valid_full.json");
    let o = keygate(&[
        "verify",
        "--keyset",
        &ks,
        "--request",
        &ok,
        "--client-ip",
        "203.0.113.9",
        "--now",
        NOW,
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"allowed": true, "status": 200, "key_id": "ci-pipeline", "scopes": ["orders:read"],
                           "name": "CI pipeline", "meta": {"owner": "platform-team", "ticket": 1234},
                           "expires_at": "2027-01-31T00:00:00Z", "path": "/v1/orders/1"})
    );

    let o = keygate(&[
        "verify",
        "--keyset",
        &ks,
        "--request",
        &ok,
        "--request",
        &post,
        "--client-ip",
        "203.0.113.9",
        "--now",
        "1796040000",
    ]);
    assert_eq!(code(&o), 1);
    let lines: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["allowed"], true);
    assert_eq!(lines[1]["reason"], "scope_missing");
    assert_eq!(lines[1]["status"], 403);
    assert_eq!(lines[1]["key_id"], "ci-pipeline");

    // No client IP: the key's allow list fails closed.
    let o = keygate(&["verify", "--keyset", &ks, "--request", &ok, "--now", NOW]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("ip_not_allowed"));
}

#[test]
fn verify_load_errors_exit_2_and_name_the_problem() {
    let d = tmpdir();
    let ok = get_request(&d, "ok.http", "/", CI_KEY);
    let bad_ks = write(
        &d,
        "bad.json",
        r#"{"keygate":1,"revision":1,"keys":[{"id":"a","api_key_hash":"sha256:AQID"},{"id":"b","expires_at":"soon"}]}"#,
    );
    let o = keygate(&["verify", "--keyset", &bad_ks, "--request", &ok]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(err.contains("bad.json: $.keys[0].api_key_hash"), "{err}");
    assert!(err.contains("$.keys[1].expires_at"), "{err}");
    assert!(stdout(&o).is_empty());

    let garbage = write(&d, "garbage.http", "this is not http\n");
    let o = keygate(&[
        "verify",
        "--keyset",
        &vectors("keysets/valid_full.json"),
        "--request",
        &ok,
        "--request",
        &garbage,
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("garbage.http"), "{}", stderr(&o));
    assert!(
        stdout(&o).is_empty(),
        "nothing is decided when an input cannot be loaded"
    );

    let o = keygate(&[
        "verify",
        "--keyset",
        &d.join("missing.json").display().to_string(),
        "--request",
        &ok,
    ]);
    assert_eq!(code(&o), 2);
    let o = keygate(&[
        "verify",
        "--keyset",
        &vectors("keysets/valid_full.json"),
        "--request",
        &ok,
        "--now",
        "next tuesday",
    ]);
    assert_eq!(code(&o), 64, "a malformed flag value is a usage error");
}

#[test]
fn malformed_header_is_a_refusal_not_a_load_error() {
    let d = tmpdir();
    let r = write(
        &d,
        "r.http",
        &format!(
            "GET / HTTP/1.1\nHost: h\nAuthorization: Bearer {CI_KEY}\nthis line has no colon\n\n"
        ),
    );
    let o = keygate(&[
        "verify",
        "--keyset",
        &vectors("keysets/valid_full.json"),
        "--request",
        &r,
        "--now",
        NOW,
    ]);
    assert_eq!(code(&o), 1);
    let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["reason"], "malformed_request");
    assert!(v["message"].as_str().unwrap().contains("byte"));
}

#[test]
fn keyset_check_and_lint() {
    let d = tmpdir();
    let o = keygate(&[
        "keyset",
        "check",
        &vectors("keysets/valid_full.json"),
        "--now",
        NOW,
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: $.keys[1]: key \"orders-writer\" never expires"),
        "{}",
        stderr(&o)
    );
    let o = keygate(&[
        "keyset",
        "check",
        "--strict",
        &vectors("keysets/valid_full.json"),
        "--now",
        NOW,
    ]);
    assert_eq!(code(&o), 2);
    let bad = write(
        &d,
        "bad.json",
        r#"{"keygate":1,"revision":1,"keys":[{"id":"a","api_key_hash":"sha256:AQID","expire_at":"2027-01-01T00:00:00Z","allow_cidrs":["10.0.0.1/8"]}]}"#,
    );
    let o = keygate(&["keyset", "check", &bad]);
    assert_eq!(code(&o), 2);
    let lines: Vec<String> = stderr(&o).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines.iter().any(
            |l| l.contains("$.keys[0].expire_at: unknown field (did you mean \"expires_at\"?)")
        )
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("$.keys[0].allow_cidrs[0]: host bits set in 10.0.0.1/8"))
    );
    let o = keygate(&[
        "keyset",
        "lint",
        &vectors("keysets/valid_full.json"),
        "--now",
        NOW,
    ]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("[scope_wildcard]"), "{}", stdout(&o));
    // A set naming its gateways and nothing else to flag passes --strict; the same set naming
    // none does not.
    assert_eq!(
        code(&keygate(&[
            "keyset",
            "lint",
            "--strict",
            &vectors("keysets/valid_audience.json")
        ])),
        0
    );
    let o = keygate(&[
        "keyset",
        "lint",
        "--strict",
        &vectors("keysets/valid_minimal.json"),
    ]);
    assert_eq!(code(&o), 2);
    assert!(stdout(&o).contains("[audience_missing]"), "{}", stdout(&o));
}

const SEED: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const PUB: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

#[test]
fn signed_key_sets_through_the_cli() {
    let d = tmpdir();
    let seed = write(&d, "publisher.seed", SEED);
    let o = keygate(&[
        "keyset",
        "sign",
        "--publisher-key",
        &seed,
        &vectors("keysets/valid_full.json"),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let env = write(&d, "env.json", &stdout(&o));
    let o = keygate(&["keyset", "verify", "--publisher-key", PUB, &env]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        serde_json::from_str::<Value>(&stdout(&o)).unwrap()["revision"],
        7
    );

    // A JWK file and a JWKS file work as publisher keys too.
    let jwks = write(
        &d,
        "jwks.json",
        &format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{PUB}"}}]}}"#),
    );
    assert_eq!(
        code(&keygate(&[
            "keyset",
            "verify",
            "--publisher-key",
            &jwks,
            &env
        ])),
        0
    );

    // Tampering, the wrong key, a kid naming no pinned key: exit 1.
    let mut v: Value = serde_json::from_str(&fs::read_to_string(&env).unwrap()).unwrap();
    v["signature"] = Value::String(format!("A{}", &v["signature"].as_str().unwrap()[1..]));
    let tampered = write(&d, "tampered.json", &v.to_string());
    assert_eq!(
        code(&keygate(&[
            "keyset",
            "verify",
            "--publisher-key",
            PUB,
            &tampered
        ])),
        1
    );
    let other = "6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw"; // public key of seed [7; 32]
    let o = keygate(&[
        "keyset",
        "verify",
        "--publisher-key",
        &format!("{{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"{other}\",\"kid\":\"nope\"}}"),
        &env,
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("names no pinned"), "{}", stderr(&o));
    // Unreadable input: exit 2.
    let junk = write(&d, "junk.json", "{\"hello\": 1}");
    assert_eq!(
        code(&keygate(&[
            "keyset",
            "verify",
            "--publisher-key",
            PUB,
            &junk
        ])),
        2
    );

    // verify --keyset accepts an envelope only with --publisher-key.
    let req = get_request(&d, "r.http", "/v1/orders/1", CI_KEY);
    let o = keygate(&[
        "verify",
        "--keyset",
        &env,
        "--request",
        &req,
        "--now",
        NOW,
        "--client-ip",
        "203.0.113.1",
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--publisher-key"), "{}", stderr(&o));
    let o = keygate(&[
        "verify",
        "--keyset",
        &env,
        "--publisher-key",
        PUB,
        "--request",
        &req,
        "--now",
        NOW,
        "--client-ip",
        "203.0.113.1",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // An envelope whose signature fails is a key set that cannot be loaded: exit 2, not the
    // "refused" of a request decision (and nothing is decided).
    let o = keygate(&[
        "verify",
        "--keyset",
        &tampered,
        "--publisher-key",
        PUB,
        "--request",
        &req,
        "--now",
        NOW,
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    assert!(
        stderr(&o).contains("envelope signature refused"),
        "{}",
        stderr(&o)
    );

    // Signing refuses an invalid key set.
    let bad = write(&d, "bad.json", r#"{"keygate":1,"revision":0,"keys":[]}"#);
    assert_eq!(
        code(&keygate(&[
            "keyset",
            "sign",
            "--publisher-key",
            &seed,
            &bad
        ])),
        2
    );
}

fn read_json(p: &str) -> Value {
    serde_json::from_str(&fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn key_management_edits() {
    let d = tmpdir();
    let ks = d.join("ks.json").display().to_string();
    assert_eq!(
        code(&keygate(&[
            "keyset",
            "new",
            &ks,
            "--now",
            "2026-11-01T00:00:00Z"
        ])),
        0
    );
    assert_eq!(
        code(&keygate(&["keyset", "new", &ks])),
        73,
        "never overwrites"
    );

    let o = keygate(&[
        "keyset",
        "add",
        &ks,
        "--id",
        "ci",
        "--prefix",
        "kg_live",
        "--scopes",
        "orders:read,orders:write",
        "--expires-in",
        "30d",
        "--allow-cidr",
        "203.0.113.0/24",
        "--now",
        "2026-11-01T00:00:00Z",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let added: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let key = added["api_key"].as_str().unwrap().to_string();
    let doc = read_json(&ks);
    assert_eq!(doc["revision"], 2);
    assert_eq!(doc["keys"][0]["expires_at"], "2026-12-01T00:00:00Z");
    assert_eq!(
        doc["keys"][0]["api_key_hash"],
        keygate::ApiKeyDigest::of(&key).to_string()
    );
    assert!(
        !fs::read_to_string(&ks).unwrap().contains(&key),
        "the key set never holds the key itself"
    );

    // The new key works.
    let req = get_request(&d, "r.http", "/v1/orders/1", &key);
    let verify = |now: &str| {
        keygate(&[
            "verify",
            "--keyset",
            &ks,
            "--request",
            &req,
            "--client-ip",
            "203.0.113.5",
            "--now",
            now,
        ])
    };
    assert_eq!(code(&verify("2026-11-02T00:00:00Z")), 0);

    // Disable, enable, revoke (final).
    assert_eq!(code(&keygate(&["keyset", "disable", &ks, "ci"])), 0);
    assert!(stdout(&verify("2026-11-02T00:00:00Z")).contains("key_disabled"));
    assert_eq!(code(&keygate(&["keyset", "enable", &ks, "ci"])), 0);
    assert_eq!(code(&verify("2026-11-02T00:00:00Z")), 0);

    // Rotation: a successor with the same scopes and networks; the old key expires after the grace.
    let o = keygate(&[
        "keyset",
        "rotate",
        &ks,
        "ci",
        "--grace",
        "24h",
        "--prefix",
        "kg_live",
        "--now",
        "2026-11-10T00:00:00Z",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let rotated: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(rotated["id"], "ci-r2");
    assert_eq!(rotated["old"]["expires_at"], "2026-11-11T00:00:00Z");
    let doc = read_json(&ks);
    let new = &doc["keys"][1];
    assert_eq!(new["scopes"], doc["keys"][0]["scopes"]);
    assert_eq!(new["allow_cidrs"], doc["keys"][0]["allow_cidrs"]);
    assert_eq!(new["meta"]["rotated_from"], "ci");
    assert_eq!(
        code(&verify("2026-11-10T12:00:00Z")),
        0,
        "old key still works within the grace period"
    );
    assert!(stdout(&verify("2026-11-11T00:00:00Z")).contains("key_expired"));
    let new_req = get_request(
        &d,
        "n.http",
        "/v1/orders/1",
        rotated["api_key"].as_str().unwrap(),
    );
    let o = keygate(&[
        "verify",
        "--keyset",
        &ks,
        "--request",
        &new_req,
        "--client-ip",
        "203.0.113.5",
        "--now",
        "2026-11-20T00:00:00Z",
    ]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));

    // A grace period never extends a key: rotating ci-r2 with a year of grace keeps its expiry.
    let before = read_json(&ks)["keys"][1]["expires_at"].clone();
    assert_eq!(
        code(&keygate(&[
            "keyset",
            "rotate",
            &ks,
            "ci-r2",
            "--grace",
            "365d",
            "--now",
            "2026-11-20T00:00:00Z"
        ])),
        0
    );
    assert_eq!(read_json(&ks)["keys"][1]["expires_at"], before);

    // Revocation is final.
    assert_eq!(code(&keygate(&["keyset", "revoke", &ks, "ci"])), 0);
    let o = keygate(&["keyset", "enable", &ks, "ci"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("final"));

    // Bump.
    let rev = read_json(&ks)["revision"].as_u64().unwrap();
    assert_eq!(code(&keygate(&["keyset", "bump", &ks])), 0);
    assert_eq!(read_json(&ks)["revision"].as_u64().unwrap(), rev + 1);

    // show never prints secrets or digests.
    let text = fs::read_to_string(&ks).unwrap();
    for args in [
        vec!["keyset", "show", &ks],
        vec!["keyset", "show", "--json", &ks],
    ] {
        let o = keygate(&args);
        assert_eq!(code(&o), 0);
        let out = stdout(&o);
        assert!(out.contains("ci-r2"));
        assert!(!out.contains("sha256:"), "{out}");
        assert!(!out.contains(&key));
    }
    assert!(text.contains("sha256:"));
}

#[test]
fn a_failed_edit_leaves_the_file_untouched() {
    let d = tmpdir();
    let ks = d.join("ks.json").display().to_string();
    assert_eq!(code(&keygate(&["keyset", "new", &ks])), 0);
    assert_eq!(code(&keygate(&["keyset", "add", &ks, "--id", "a"])), 0);
    let before = fs::read(&ks).unwrap();
    for args in [
        vec!["keyset", "add", &ks, "--id", "a"],
        vec![
            "keyset",
            "add",
            &ks,
            "--id",
            "b",
            "--allow-cidr",
            "10.0.0.1/8",
        ],
        vec!["keyset", "add", &ks, "--id", "c", "--scopes", "bad scope"],
        vec!["keyset", "disable", &ks, "nobody"],
        vec!["keyset", "rotate", &ks, "a", "--grace", "forever"],
    ] {
        let o = keygate(&args);
        let want = if args.contains(&"forever") { 64 } else { 2 };
        assert_eq!(code(&o), want, "{args:?}");
        assert!(
            stdout(&o).is_empty(),
            "{args:?}: a refused edit prints no secret"
        );
        assert_eq!(fs::read(&ks).unwrap(), before, "{args:?} changed the file");
    }
    let leftovers: Vec<_> = fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary files left: {leftovers:?}");
}

#[test]
fn signing_keys_through_key_management_and_sign() {
    let d = tmpdir();
    let ks = d.join("ks.json").display().to_string();
    assert_eq!(code(&keygate(&["keyset", "new", &ks])), 0);
    for (id, alg) in [("hm", "hmac-sha256"), ("ed", "ed25519")] {
        let o = keygate(&[
            "keyset",
            "add",
            &ks,
            "--id",
            id,
            "--signing",
            alg,
            "--scopes",
            "orders:read",
        ]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let out: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        assert_eq!(out["signing"]["alg"], alg);
        let keyfile = write(&d, &format!("{id}.key.json"), &stdout(&o));
        let text = fs::read_to_string(&ks).unwrap();
        if alg == "ed25519" {
            // Only the public half is stored.
            assert!(!text.contains(out["private_key"].as_str().unwrap()));
        }
        // The printed secrets are a key file for `keygate sign`, and the signed request passes.
        let req = write(
            &d,
            &format!("{id}.http"),
            "POST /v1/orders HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json\r\n\r\n{\"n\":1}",
        );
        let o = keygate(&[
            "sign",
            "--key",
            &keyfile,
            "--keyid",
            id,
            "--request",
            &req,
            "--nonce",
        ]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let signed = write(&d, &format!("{id}.signed.http"), &stdout(&o));
        let o = keygate(&[
            "verify",
            "--keyset",
            &ks,
            "--request",
            &signed,
            "--request",
            &signed,
        ]);
        assert_eq!(code(&o), 1, "{}", stdout(&o));
        let lines: Vec<Value> = stdout(&o)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["allowed"], true, "{}", lines[0]);
        assert_eq!(lines[0]["key_id"], id);
        assert_eq!(lines[1]["reason"], "nonce_replayed");
    }
    // JWKS import: OKP becomes an ed25519 key, oct an hmac-sha256 key, kid the id.
    let jwks = write(
        &d,
        "partners.jwks.json",
        &format!(
            r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{PUB}","kid":"partner-1"}},{{"kty":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA","kid":"partner-2"}}]}}"#
        ),
    );
    let o = keygate(&[
        "keyset",
        "import-jwks",
        &ks,
        "--jwks",
        &jwks,
        "--scopes",
        "orders:read",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let doc = read_json(&ks);
    let keys = doc["keys"].as_array().unwrap();
    let p1 = keys.iter().find(|k| k["id"] == "partner-1").unwrap();
    assert_eq!(p1["signing"]["alg"], "ed25519");
    assert_eq!(p1["signing"]["jwk"]["x"], PUB);
    let p2 = keys.iter().find(|k| k["id"] == "partner-2").unwrap();
    assert_eq!(p2["signing"]["alg"], "hmac-sha256");
    // A JWKS holding a private key is refused and changes nothing.
    let before = fs::read(&ks).unwrap();
    let private = write(
        &d,
        "private.jwks.json",
        &format!(
            r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{PUB}","d":"{SEED}","kid":"p3"}}]}}"#
        ),
    );
    assert_eq!(
        code(&keygate(&[
            "keyset",
            "import-jwks",
            &ks,
            "--jwks",
            &private
        ])),
        2
    );
    assert_eq!(fs::read(&ks).unwrap(), before);
}
