//! The CLI's inputs and machine-read results: `-` for stdin wherever a file is read, and
//! `--json` results of `check`/`lint` shaped as the JS `checkKeySet` (held to the key set
//! vectors the JS suite reads). Secrets and names: tests/cli_names.rs.
#![cfg(all(feature = "cli", not(target_arch = "wasm32")))]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{TempDir, keygate, keygate_with};
use keygate::{KeySet, UnixTime};
use serde_json::{Value, json};

const SEED: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const PUB: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const NOW: &str = "2026-11-29T12:00:00Z";
const CI_KEY: &str = "kg_test_bPijq91RPbfRtA5Qy1czPSvOMI4MURgMcQruc9wBVXf1bbad1";

/// A new directory for one test, removed when the test ends.
fn tmpdir() -> TempDir {
    TempDir::new("io")
}

fn vectors(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(p)
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json_out(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", out(o), err(o)))
}

/// The key set text of a vector (`keyset` or `keyset_text`).
fn vector_text(v: &Value) -> String {
    v.get("keyset_text")
        .and_then(Value::as_str)
        .map_or_else(|| v["keyset"].to_string(), str::to_string)
}

#[test]
fn check_json_holds_every_documented_error_of_the_shared_vectors() {
    let mut seen = 0;
    for entry in fs::read_dir(vectors("keysets")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("valid_") {
            let o = keygate(&["keyset", "check", "--json", &s(&path), "--now", NOW]);
            assert_eq!(code(&o), 0, "{name}: {}", err(&o));
            let v = json_out(&o);
            assert_eq!(
                (v["valid"].clone(), v["errors"].clone()),
                (json!(true), json!([])),
                "{name}"
            );
            assert!(v.get("error").is_none(), "{name}");
            continue;
        }
        if !name.starts_with("invalid_") {
            continue;
        }
        seen += 1;
        let doc: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        // Through stdin, as `-`.
        let o = keygate_with(
            &["keyset", "check", "--json", "-"],
            Some(vector_text(&doc).as_bytes()),
            false,
        );
        assert_eq!(code(&o), 2, "{name}");
        let v = json_out(&o);
        assert_eq!(v["valid"], false, "{name}");
        assert_eq!(v["error"], "keyset_invalid", "{name}");
        assert_eq!(v["warnings"], json!([]), "{name}");
        let mut actual = v["errors"].as_array().unwrap().clone();
        for e in &actual {
            let keys: Vec<&String> = e.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["path", "message"], "{name}: {e}");
        }
        for exp in doc["errors"].as_array().unwrap() {
            let i = actual
                .iter()
                .position(|a| {
                    a["path"] == exp["path"]
                        && a["message"]
                            .as_str()
                            .unwrap()
                            .contains(exp["contains"].as_str().unwrap())
                })
                .unwrap_or_else(|| panic!("{name}: missing {exp} in {actual:?}"));
            actual.remove(i);
        }
        assert!(
            actual.is_empty(),
            "{name}: unexpected extra errors {actual:?}"
        );
        assert!(o.stderr.is_empty(), "{name}: --json keeps stderr quiet");
    }
    assert!(seen >= 10);
}

#[test]
fn lint_json_warnings_are_the_library_lints_and_strict_only_changes_the_exit() {
    let file = vectors("keysets/valid_full.json");
    let ks = KeySet::from_json(&fs::read(&file).unwrap()).unwrap();
    let expected: Vec<Value> = ks
        .lint(UnixTime::parse_rfc3339(NOW).unwrap())
        .iter()
        .map(|l| json!({"code": l.code, "path": l.path, "message": l.message}))
        .collect();
    assert!(!expected.is_empty());
    for (cmd, strict, want) in [
        ("check", false, 0),
        ("lint", false, 0),
        ("lint", true, 2),
        ("check", true, 2),
    ] {
        let mut args = vec!["keyset", cmd, "--json", "--now", NOW];
        if strict {
            args.push("--strict");
        }
        let f = s(&file);
        args.push(&f);
        let o = keygate(&args);
        assert_eq!(code(&o), want, "{args:?}");
        assert_eq!(
            json_out(&o),
            json!({"valid": true, "errors": [], "warnings": expected}),
            "{args:?}: \"valid\" means what checkKeySet's does: the set loads"
        );
    }
}

#[test]
fn check_json_reports_envelope_refusals_with_their_wire_code() {
    let d = tmpdir();
    let env = d.join("env.json");
    let o = keygate(&[
        "keyset",
        "sign",
        "--publisher-secret",
        SEED,
        &s(&vectors("keysets/valid_full.json")),
    ]);
    fs::write(&env, &o.stdout).unwrap();
    let other = "6kpsY-KcUgq-9VB7Ey7F-ZVHdq6-vnuSQh7qaRRG0iw";
    let o = keygate(&[
        "keyset",
        "check",
        "--json",
        "--publisher-key",
        other,
        &s(&env),
    ]);
    assert_eq!(code(&o), 2);
    let v = json_out(&o);
    assert_eq!(v["valid"], false);
    assert_eq!(v["error"], "envelope_signature_invalid");
    assert_eq!(v["errors"][0]["path"], "$");
    let o = keygate(&[
        "keyset",
        "check",
        "--json",
        "--publisher-key",
        PUB,
        &s(&env),
    ]);
    assert_eq!((code(&o), json_out(&o)["valid"].clone()), (0, json!(true)));
}

#[test]
fn dash_reads_stdin_wherever_a_file_is_read() {
    let d = tmpdir();
    let ks_path = vectors("keysets/valid_full.json");
    let ks = fs::read(&ks_path).unwrap();
    let req = format!(
        "GET /v1/orders/1 HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer {CI_KEY}\r\n\r\n"
    );
    let reqf = d.join("r.http");
    fs::write(&reqf, &req).unwrap();
    let common = ["--client-ip", "203.0.113.9", "--now", NOW];

    let mut a = vec!["verify", "--keyset", "-", "--request"];
    let r = s(&reqf);
    a.push(&r);
    a.extend(common);
    let o = keygate_with(&a, Some(&ks), false);
    assert_eq!(
        (code(&o), json_out(&o)["allowed"].clone()),
        (0, json!(true)),
        "{}",
        err(&o)
    );

    let k = s(&ks_path);
    let mut a = vec!["verify", "--keyset", &k, "--request", "-"];
    a.extend(common);
    let o = keygate_with(&a, Some(req.as_bytes()), false);
    assert_eq!(code(&o), 0, "{}", err(&o));

    // Envelope and publisher key through stdin.
    let env = keygate(&["keyset", "sign", "--publisher-secret", SEED, &k]).stdout;
    let o = keygate_with(
        &["keyset", "verify", "--publisher-key", PUB, "-"],
        Some(&env),
        false,
    );
    assert_eq!(
        (code(&o), json_out(&o)["revision"].clone()),
        (0, json!(7)),
        "{}",
        err(&o)
    );
    let envf = d.join("env.json");
    fs::write(&envf, &env).unwrap();
    let o = keygate_with(
        &["keyset", "verify", "--publisher-key", "-", &s(&envf)],
        Some(PUB.as_bytes()),
        false,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    let o = keygate_with(
        &["keyset", "sign", "--publisher-secret", "-", &k],
        Some(SEED.as_bytes()),
        false,
    );
    assert_eq!(o.stdout, env, "Ed25519 is deterministic: the same envelope");
    let o = keygate_with(
        &["keyset", "sign", "--publisher-secret", SEED, "-"],
        Some(&ks),
        false,
    );
    assert_eq!(o.stdout, env);
    assert_eq!(
        code(&keygate_with(
            &["keyset", "show", "--json", "-"],
            Some(&ks),
            false
        )),
        0
    );
    assert_eq!(
        code(&keygate_with(
            &["keyset", "lint", "-", "--now", NOW],
            Some(&ks),
            false
        )),
        0
    );

    // Request signing: the key or the request from stdin.
    let key = keygate(&["keygen", "hmac"]).stdout;
    let keyf = d.join("k.json");
    fs::write(&keyf, &key).unwrap();
    let o = keygate_with(
        &["sign", "--key", "-", "--keyid", "x", "--request", &r],
        Some(&key),
        false,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(out(&o).contains("Signature-Input: sig1="));
    let o = keygate_with(
        &["sign", "--key", &s(&keyf), "--keyid", "x", "--request", "-"],
        Some(req.as_bytes()),
        false,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));

    // JWKS import from stdin.
    let set = d.join("ks.json");
    assert_eq!(code(&keygate(&["keyset", "new", &s(&set)])), 0);
    let jwks = format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{PUB}","kid":"p1"}}]}}"#);
    let o = keygate_with(
        &["keyset", "import-jwks", &s(&set), "--jwks", "-"],
        Some(jwks.as_bytes()),
        false,
    );
    assert_eq!(
        (code(&o), json_out(&o)),
        (0, json!({"imported": ["p1"]})),
        "{}",
        err(&o)
    );

    // stdin is read once: two `-` are a usage error; an edit in place cannot be stdin.
    let o = keygate_with(
        &["sign", "--key", "-", "--keyid", "x", "--request", "-"],
        Some(&key),
        false,
    );
    assert_eq!(code(&o), 64, "{}", err(&o));
    assert!(err(&o).contains("only once"));
    for args in [
        &["keyset", "add", "-"][..],
        &["keyset", "bump", "-"],
        &["keyset", "new", "-"],
    ] {
        let o = keygate_with(args, Some(&ks), false);
        assert_eq!(code(&o), 64, "{args:?}");
        assert!(out(&o).is_empty());
    }
}
