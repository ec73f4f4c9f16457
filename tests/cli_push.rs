//! `keygate push` against a scripted gateway on 127.0.0.1: what it sends, and how each kind
//! of answer maps to an exit code (the real gateway in workerd: tests/worker/cli_push.test.mjs).
#![cfg(all(feature = "cli", not(target_arch = "wasm32")))]

mod common;

use std::fs;
use std::path::PathBuf;
use std::process::Output;
use std::time::Instant;

use common::server::{Reply, Server, closed_port_url};
use common::{TempDir, keygate_with};
use keygate::{PublisherKeys, load_keyset};
use serde_json::Value;

const SEED: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const PUB: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const ENDPOINT: &str = "/.well-known/keygate/keyset";

fn keyset_file() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/keysets/valid_full.json")
        .display()
        .to_string()
}

/// A new file in the test's own directory (removed when the test ends).
fn tmp(dir: &TempDir, name: &str, content: &str) -> String {
    let p = dir.join(name);
    fs::write(&p, content).unwrap();
    p.display().to_string()
}

fn push(args: &[&str]) -> Output {
    let mut all = vec!["push"];
    all.extend_from_slice(args);
    keygate_with(&all, Some(b""), false)
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout_json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(o)))
}

fn accepted() -> Reply {
    Reply::json(200, r#"{"revision":7,"keys":3}"#)
}

fn signed_envelope(dir: &TempDir) -> String {
    let seed = tmp(dir, "seed", SEED);
    let o = keygate_with(
        &[
            "keyset",
            "sign",
            "--publisher-secret",
            &seed,
            &keyset_file(),
        ],
        None,
        false,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    tmp(dir, "envelope.json", &String::from_utf8(o.stdout).unwrap())
}

#[test]
fn signs_a_key_set_and_puts_it_to_the_key_set_endpoint() {
    let gw = Server::start(vec![accepted()]);
    let o = push(&[
        &gw.url,
        &keyset_file(),
        "--publisher-secret",
        SEED,
        "--kid",
        "pub-1",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        stdout_json(&o),
        serde_json::json!({"revision": 7, "keys": 3})
    );
    let reqs = gw.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!((r.method.as_str(), r.target.as_str()), ("PUT", ENDPOINT));
    assert_eq!(r.header("content-type"), Some("application/jose+json"));
    assert!(r.header("user-agent").unwrap().starts_with("keygate/"));
    // What arrived is an envelope over the file's exact bytes, signed by the publisher key.
    let keys = PublisherKeys::parse(&format!(
        r#"{{"kty":"OKP","crv":"Ed25519","x":"{PUB}","kid":"pub-1"}}"#
    ))
    .unwrap();
    let ks = load_keyset(&r.body, Some(&keys)).unwrap();
    assert_eq!(ks.revision(), 7);
    let env: Value = serde_json::from_slice(&r.body).unwrap();
    let payload = keygate::encoding_util::b64url_decode(env["payload"].as_str().unwrap()).unwrap();
    assert_eq!(payload, fs::read(keyset_file()).unwrap());
    let protected =
        keygate::encoding_util::b64url_decode(env["protected"].as_str().unwrap()).unwrap();
    let protected: Value = serde_json::from_slice(&protected).unwrap();
    assert_eq!(protected["kid"], "pub-1");
    assert!(!stderr(&o).contains(SEED), "nothing secret on stderr");
}

#[test]
fn pushes_a_signed_envelope_as_is_from_a_file_or_stdin() {
    let dir = TempDir::new("push");
    let env = signed_envelope(&dir);
    let bytes = fs::read(&env).unwrap();
    let gw = Server::start(vec![accepted()]);
    // The URL may name the endpoint itself; a base URL may end with a slash.
    let full = format!("{}{ENDPOINT}", gw.url);
    assert_eq!(code(&push(&[&full, &env])), 0);
    assert_eq!(code(&push(&[&format!("{}/", gw.url), &env])), 0);
    let o = keygate_with(&["push", &gw.url], Some(&bytes), false);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = keygate_with(&["push", &gw.url, "-"], Some(&bytes), false);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let reqs = gw.requests();
    assert_eq!(reqs.len(), 4);
    for r in &reqs {
        assert_eq!(r.target, ENDPOINT);
        assert_eq!(r.body, bytes, "an envelope is sent byte for byte");
    }
}

#[test]
fn gateway_refusals_exit_1_with_their_code_and_every_error() {
    let dir = TempDir::new("push");
    let env = signed_envelope(&dir);
    for (status, body, shown) in [
        (
            400,
            r#"{"error":"keyset_invalid","message":"invalid key set","errors":[{"path":"$.keys[0].id","message":"duplicate key id"},{"path":"$.revision","message":"expected an integer"}]}"#,
            vec![
                "400 keyset_invalid",
                "$.keys[0].id: duplicate key id",
                "$.revision: expected an integer",
            ],
        ),
        (
            401,
            r#"{"error":"envelope_signature_invalid","message":"no pinned key"}"#,
            vec!["401 envelope_signature_invalid"],
        ),
        (
            409,
            r#"{"error":"keyset_rollback","message":"older","current_revision":9}"#,
            vec!["409 keyset_rollback"],
        ),
        (
            409,
            r#"{"error":"envelope_stale","message":"issued_at too old"}"#,
            vec!["409 envelope_stale"],
        ),
        (
            400,
            r#"{"error":"audience_mismatch","message":"not for this gateway"}"#,
            vec!["400 audience_mismatch"],
        ),
        (
            413,
            r#"{"error":"payload_too_large","message":"at most 16 bytes","max_bytes":16}"#,
            vec!["413 payload_too_large"],
        ),
        // A code this CLI has never heard of is still a refusal.
        (
            422,
            r#"{"error":"something_new","message":"a future refusal"}"#,
            vec!["422 something_new"],
        ),
    ] {
        let gw = Server::start(vec![Reply::json(status, body)]);
        let o = push(&[&gw.url, &env]);
        assert_eq!(code(&o), 1, "{status} {body}: {}", stderr(&o));
        assert_eq!(
            stdout_json(&o),
            serde_json::from_str::<Value>(body).unwrap()
        );
        for s in shown {
            assert!(stderr(&o).contains(s), "{s}: {}", stderr(&o));
        }
    }
}

#[test]
fn try_again_later_exits_75_and_shows_retry_after() {
    let dir = TempDir::new("push");
    let env = signed_envelope(&dir);
    for (status, body) in [
        (
            429,
            r#"{"error":"push_in_progress","message":"another push is being applied"}"#,
        ),
        (
            503,
            r#"{"error":"keyset_store_failed","message":"push it again"}"#,
        ),
        (
            504,
            r#"{"error":"keyset_store_timeout","message":"outcome unknown; push it again","revision":2,"timeout_seconds":5}"#,
        ),
        (502, "<html>bad gateway</html>"),
    ] {
        let gw = Server::start(vec![
            Reply::json(status, body).with_header("retry-after", "3"),
        ]);
        let o = push(&[&gw.url, &env]);
        assert_eq!(code(&o), 75, "{status}: {}", stderr(&o));
        assert!(stderr(&o).contains("Retry-After: 3"), "{}", stderr(&o));
    }
}

#[test]
fn no_working_endpoint_exits_69() {
    let dir = TempDir::new("push");
    let env = signed_envelope(&dir);
    let html = Reply {
        headers: vec![("content-type".into(), "text/html".into())],
        ..Reply::json(200, "<html>hello from the origin</html>")
    };
    for (reply, said) in [
        (
            Reply::json(
                404,
                r#"{"error":"not_found","message":"key set pushes are disabled"}"#,
            ),
            "pushes disabled",
        ),
        (
            Reply::json(
                405,
                r#"{"error":"method_not_allowed","message":"GET only"}"#,
            ),
            "405 method_not_allowed",
        ),
        (
            Reply::json(
                500,
                r#"{"error":"internal_error","message":"see the gateway log"}"#,
            ),
            "500 internal_error",
        ),
        (html, "200 (text/html)"),
        (Reply::json(200, r#"{"ok":true}"#), "200"),
        (
            Reply::json(302, "").with_header("location", "https://elsewhere.example/"),
            "https://elsewhere.example/",
        ),
    ] {
        let gw = Server::start(vec![reply.clone()]);
        let o = push(&[&gw.url, &env]);
        assert_eq!(code(&o), 69, "{reply:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(said), "{said}: {}", stderr(&o));
        assert_eq!(gw.requests().len(), 1, "a redirect is never followed");
    }
    // Nothing listening.
    let o = push(&[&closed_port_url(), &env]);
    assert_eq!(code(&o), 69, "{}", stderr(&o));
    // An endpoint that never answers: bounded by --timeout.
    let hang = Server::start(vec![Reply {
        hang: true,
        ..accepted()
    }]);
    let t = Instant::now();
    let o = push(&[&hang.url, &env, "--timeout", "1"]);
    assert_eq!(code(&o), 69, "{}", stderr(&o));
    assert!(t.elapsed().as_secs() < 10, "{:?}", t.elapsed());
}

#[test]
fn bad_input_is_refused_before_anything_is_sent() {
    let gw = Server::start(vec![accepted()]);
    let dir = TempDir::new("push");
    let env = signed_envelope(&dir);
    let invalid = tmp(
        &dir,
        "invalid.json",
        r#"{"keygate":1,"revision":0,"keys":[]}"#,
    );
    for (args, want, said) in [
        (vec![keyset_file()], 2, "--publisher-secret"),
        (
            vec![env.clone(), "--publisher-secret".into(), SEED.into()],
            2,
            "already a signed envelope",
        ),
        (
            vec![invalid, "--publisher-secret".into(), SEED.into()],
            2,
            "$.revision",
        ),
        (
            vec![
                keyset_file(),
                "--publisher-secret".into(),
                "not-a-key!".into(),
                "--kid".into(),
                "k".into(),
            ],
            2,
            "--publisher-secret",
        ),
        (vec!["/nonexistent.json".into()], 2, "cannot read"),
        (vec![], 2, "<stdin>: empty"),
        (
            vec![env.clone(), "--timeout".into(), "0".into()],
            64,
            "--timeout",
        ),
    ] {
        let mut all: Vec<&str> = vec![&gw.url];
        all.extend(args.iter().map(String::as_str));
        let o = push(&all);
        assert_eq!(code(&o), want, "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(said), "{said}: {}", stderr(&o));
    }
    assert!(gw.requests().is_empty());
    for url in [
        "http://gateway.example",
        "ftp://gw.example",
        "gw.example/x",
        "https://user:pw@gw.example",
    ] {
        let o = push(&[url, &env]);
        assert_eq!(code(&o), 64, "{url}: {}", stderr(&o));
        assert!(!stderr(&o).contains("pw@"), "credentials are not echoed");
    }
    assert!(stderr(&push(&["http://gateway.example", &env])).contains("plain http"));
}

#[test]
fn gateway_text_cannot_drive_the_terminal() {
    let dir = TempDir::new("push");
    let env = signed_envelope(&dir);
    let gw = Server::start(vec![Reply::json(
        400,
        r#"{"error":"envelope_invalid","message":"bad \u001b]0;owned\u0007 thing\ninjected line"}"#,
    )]);
    let o = push(&[&gw.url, &env]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
    assert!(
        err.contains("\\n") && !err.contains("\ninjected"),
        "{err:?}"
    );
    assert!(
        !o.stdout.contains(&0x1b),
        "stdout JSON keeps control characters escaped"
    );
}
