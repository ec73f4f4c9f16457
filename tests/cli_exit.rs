//! The exit-code contract: every command, every exit code its `--help` documents, each
//! produced by a real run; the help text, the command list and docs/cli.md held to the same
//! table.
#![cfg(all(feature = "cli", not(target_arch = "wasm32")))]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;
use std::process::Output;

use common::server::{Reply, Server, closed_port_url};
use common::{TempDir, keygate_with};

const SEED: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const PUB: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const NOW: &str = "2026-11-29T12:00:00Z";
const CI_KEY: &str = "kg_test_bPijq91RPbfRtA5Qy1czPSvOMI4MURgMcQruc9wBVXf1bbad1";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A new directory for one test, removed when the test ends.
fn tmpdir(tag: &str) -> TempDir {
    TempDir::new(&format!("exit-{tag}"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// One run: the arguments, what stdin holds, and whether stdout is /dev/full.
struct Case {
    code: u8,
    args: Vec<String>,
    stdin: Vec<u8>,
    stdout_full: bool,
}

fn case(code: u8, args: &[&str]) -> Case {
    Case {
        code,
        args: args.iter().map(|s| s.to_string()).collect(),
        stdin: Vec::new(),
        stdout_full: false,
    }
}

/// The same run with stdout on /dev/full.
fn full(code: u8, args: &[&str]) -> Case {
    Case {
        stdout_full: true,
        ..case(code, args)
    }
}

fn with_stdin(mut c: Case, input: &[u8]) -> Case {
    c.stdin = input.to_vec();
    c
}

struct Fixture {
    dir: TempDir,
    n: std::cell::Cell<usize>,
}

impl Fixture {
    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    fn write(&self, name: &str, content: &str) -> String {
        fs::write(self.dir.join(name), content).unwrap();
        self.path(name)
    }

    /// The key set with "a" disabled, written over the file `dst`.
    fn disabled(&self, dst: &str) -> String {
        let src = self.ks(None);
        let o = keygate_with(&["keyset", "disable", &src, "a"], None, false);
        assert_eq!(o.status.code(), Some(0));
        fs::copy(&src, dst).unwrap();
        dst.to_string()
    }

    /// A fresh copy of the editable key set (ids "a" and "b"), under `name` if given.
    fn ks(&self, name: Option<&str>) -> String {
        let n = self.n.get();
        self.n.set(n + 1);
        let dst = name.map_or_else(|| format!("ks-{n}.json"), str::to_string);
        fs::copy(self.dir.join("base.json"), self.dir.join(&dst)).unwrap();
        self.path(&dst)
    }
}

fn run(c: &Case) -> Output {
    let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
    keygate_with(&args, Some(&c.stdin), c.stdout_full)
}

fn fixture() -> Fixture {
    let dir = tmpdir("matrix");
    let f = Fixture {
        dir,
        n: std::cell::Cell::new(0),
    };
    let base = f.path("base.json");
    for args in [
        vec!["keyset", "new", &base, "--now", "2026-11-01T00:00:00Z"],
        vec![
            "keyset",
            "add",
            &base,
            "--id",
            "a",
            "--scopes",
            "orders:read",
        ],
        vec!["keyset", "add", &base, "--id", "b"],
    ] {
        let o = keygate_with(&args, None, false);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    }
    f
}

/// Every command with one run per documented exit code (a table: kept as one).
#[rustfmt::skip]
fn matrix(f: &Fixture, push_ok: &str, push_refused: &str, push_later: &str) -> Vec<(&'static str, Vec<Case>)> {
    let valid_full = root().join("tests/vectors/keysets/valid_full.json").display().to_string();
    let invalid = f.write("invalid.json", r#"{"keygate":1,"revision":0,"keys":[]}"#);
    let seed = f.write("publisher.seed", SEED);
    let env_text = text(&keygate_with(&["keyset", "sign", "--publisher-secret", &seed, &valid_full], None, false).stdout);
    let env = f.write("env.json", &env_text);
    let mut tampered: serde_json::Value = serde_json::from_str(&env_text).unwrap();
    let sig = tampered["signature"].as_str().unwrap().to_string();
    tampered["signature"] = format!("A{}", &sig[1..]).into();
    let tampered = f.write("tampered.json", &tampered.to_string());
    let req = f.write("req.http", &format!("GET /v1/orders/1 HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer {CI_KEY}\r\n\r\n"));
    let garbage = f.write("garbage.http", "this is not http\n");
    let exists = f.write("exists.key", "taken");
    let hmac = f.write("hmac.json", &text(&keygate_with(&["keygen", "hmac"], None, false).stdout));
    let jwks = f.write("pub.jwks", &format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{PUB}","kid":"p1"}}]}}"#));
    let private_jwks = f.write("priv.jwks", &format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{PUB}","d":"{SEED}","kid":"p2"}}]}}"#));
    // A file name so long that the temporary file beside it cannot be created: the edit is
    // valid, only writing the result fails.
    let long = |tag: &str| f.ks(Some(&format!("{tag}{}", "k".repeat(250 - tag.len()))));
    let ks = || f.ks(None);
    let (ip, now) = (["--client-ip", "203.0.113.9"], ["--now", NOW]);
    let verify = ["verify", "--keyset", &valid_full, "--request", &req];
    let allowed = [&verify[..], &ip, &now].concat();
    let tampered_set = ["verify", "--keyset", &tampered, "--publisher-key", PUB, "--request", &req];
    let sign = ["sign", "--key", &hmac, "--keyid", "x", "--request", &req];
    let sign_garbage = ["sign", "--key", &hmac, "--keyid", "x", "--request", &garbage];
    let ks_sign = ["keyset", "sign", "--publisher-secret", &seed, &valid_full];
    let ks_verify = ["keyset", "verify", "--publisher-key", PUB];
    let seal = f.write("seal.jwk", &text(&keygate_with(&["keygen", "seal-key"], None, false).stdout));
    // A copy with an HMAC key, so that `keyset seal` has a secret to seal (and a file to write).
    let with_hmac = |path: String| {
        let o = keygate_with(&["keyset", "add", &path, "--id", "h", "--signing", "hmac-sha256"], None, false);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        path
    };
    let mut next: serde_json::Value = serde_json::from_str(&fs::read_to_string(&valid_full).unwrap()).unwrap();
    next["revision"] = (next["revision"].as_u64().unwrap() + 1).into();
    next["keys"][0]["status"] = "revoked".into();
    let newer = f.write("newer.json", &next.to_string());

    vec![
        ("keygen api-key", vec![
            case(0, &["keygen", "api-key"]),
            case(64, &["keygen", "api-key", "--prefix", "Bad-Prefix"]),
            case(73, &["keygen", "api-key", "--out", &exists]),
        ]),
        ("keygen ed25519", vec![
            case(0, &["keygen", "ed25519"]),
            case(64, &["keygen", "ed25519", "--bogus"]),
            full(73, &["keygen", "ed25519"]),
        ]),
        ("keygen seal-key", vec![
            case(0, &["keygen", "seal-key", "--kid", "seal-1"]),
            case(64, &["keygen", "seal-key", "--kid", ""]),
            case(73, &["keygen", "seal-key", "--out", &exists]),
        ]),
        ("keygen webhook-v1", vec![
            case(0, &["keygen", "webhook-v1"]),
            case(64, &["keygen", "webhook-v1", "--v1a"]),
            case(73, &["keygen", "webhook-v1", "--out", &exists]),
        ]),
        ("keygen webhook-v1a", vec![
            case(0, &["keygen", "webhook-v1a", "--out", &f.path("new-v1a.json")]),
            case(64, &["keygen", "webhook-v1a", "extra"]),
            full(73, &["keygen", "webhook-v1a"]),
        ]),
        ("keygen hmac", vec![
            case(0, &["keygen", "hmac", "--out", &f.path("new-hmac.json")]),
            case(64, &["keygen", "hmac", "extra"]),
            case(73, &["keygen", "hmac", "--out", &exists]),
        ]),
        ("verify", vec![
            case(0, &allowed),
            case(1, &verify), // no client IP: the key's allow list fails closed
            case(2, &[&tampered_set[..], &ip, &now].concat()), // a refused envelope: not loadable
            case(64, &["verify", "--keyset", &valid_full]),
            full(73, &allowed),
        ]),
        ("sign", vec![
            case(0, &sign),
            case(2, &sign_garbage),
            case(64, &[&sign[..], &["--components", "@nope"]].concat()),
            full(73, &sign),
        ]),
        ("push", vec![
            case(0, &["push", push_ok, &env]),
            case(1, &["push", push_refused, &env]),
            case(2, &["push", push_ok, &valid_full]), // a bare set and no --publisher-secret
            case(64, &["push", "http://gateway.example", &env]),
            case(69, &["push", &closed_port_url(), &env]),
            full(73, &["push", push_ok, &env]),
            case(75, &["push", push_later, &env]),
        ]),
        ("keyset check", vec![
            case(0, &["keyset", "check", &valid_full, now[0], now[1]]),
            case(2, &["keyset", "check", &invalid]),
            case(64, &["keyset", "check", &valid_full, "--now", "soon"]),
            full(73, &["keyset", "check", &valid_full]),
        ]),
        ("keyset lint", vec![
            case(0, &["keyset", "lint", &valid_full, now[0], now[1]]),
            case(2, &["keyset", "lint", "--strict", &valid_full, now[0], now[1]]),
            case(64, &["keyset", "lint"]),
            full(73, &["keyset", "lint", &valid_full, now[0], now[1]]),
        ]),
        ("keyset show", vec![
            with_stdin(case(0, &["keyset", "show", "-"]), &fs::read(&valid_full).unwrap()),
            case(2, &["keyset", "show", &f.path("missing.json")]),
            case(64, &["keyset", "show", &valid_full, "--yaml"]),
            full(73, &["keyset", "show", "--json", &valid_full]),
        ]),
        ("keyset sign", vec![
            case(0, &ks_sign),
            case(2, &["keyset", "sign", "--publisher-secret", &seed, &invalid]),
            case(64, &["keyset", "sign", &valid_full]),
            full(73, &ks_sign),
        ]),
        ("keyset verify", vec![
            case(0, &[&ks_verify[..], &[&env]].concat()),
            case(1, &[&ks_verify[..], &[&tampered]].concat()),
            case(2, &[&ks_verify[..], &[&invalid]].concat()),
            case(64, &["keyset", "verify", &env]),
            full(73, &[&ks_verify[..], &[&env]].concat()),
        ]),
        ("keyset diff", vec![
            case(0, &["keyset", "diff", &valid_full, &newer]),
            case(1, &["keyset", "diff", &valid_full, &valid_full]),
            case(2, &["keyset", "diff", &invalid, &newer]),
            case(64, &["keyset", "diff", &valid_full]),
            full(73, &["keyset", "diff", &valid_full, &newer]),
        ]),
        ("keyset shard", vec![
            case(0, &["keyset", "shard", &valid_full, "--out", &f.path("shards-out")]),
            case(2, &["keyset", "shard", &invalid, "--out", &f.path("shards-bad")]),
            case(64, &["keyset", "shard", &valid_full, "--bits", "17", "--out", &f.path("x")]),
            case(73, &["keyset", "shard", &valid_full, "--out", &exists]), // a file, not a directory
        ]),
        ("keyset new", vec![
            case(0, &["keyset", "new", &f.path("fresh.json")]),
            case(64, &["keyset", "new", "-"]),
            case(73, &["keyset", "new", &exists]),
        ]),
        ("keyset add", vec![
            case(0, &["keyset", "add", &ks(), "--id", "c"]),
            case(2, &["keyset", "add", &ks(), "--id", "a"]),
            case(64, &["keyset", "add", &ks(), "--expires-in", "forever"]),
            case(73, &["keyset", "add", &ks(), "--out", &exists]),
        ]),
        ("keyset disable", vec![
            case(0, &["keyset", "disable", &ks(), "a"]),
            case(2, &["keyset", "disable", &ks(), "nobody"]),
            case(64, &["keyset", "disable", &ks()]),
            case(73, &["keyset", "disable", &long("d"), "a"]),
        ]),
        ("keyset enable", vec![
            case(0, &["keyset", "enable", &ks(), "a"]),
            case(2, &["keyset", "enable", &invalid, "a"]),
            case(64, &["keyset", "enable", "-", "a"]),
            case(73, &["keyset", "enable", &f.disabled(&long("e")), "a"]),
        ]),
        ("keyset revoke", vec![
            case(0, &["keyset", "revoke", &ks(), "a"]),
            case(2, &["keyset", "revoke", &f.path("missing.json"), "a"]),
            case(64, &["keyset", "revoke"]),
            case(73, &["keyset", "revoke", &long("r"), "b"]),
        ]),
        ("keyset rotate", vec![
            case(0, &["keyset", "rotate", &ks(), "a", "--grace", "1h"]),
            case(2, &["keyset", "rotate", &ks(), "nobody", "--grace", "1h"]),
            case(64, &["keyset", "rotate", &ks(), "a", "--grace", "a while"]),
            case(73, &["keyset", "rotate", &ks(), "a", "--grace", "1h", "--out", &exists]),
        ]),
        ("keyset bump", vec![
            case(0, &["keyset", "bump", &ks()]),
            case(2, &["keyset", "bump", &invalid]),
            case(64, &["keyset", "bump", &ks(), "--now", "later"]),
            case(73, &["keyset", "bump", &long("b")]),
        ]),
        ("keyset seal", vec![
            case(0, &["keyset", "seal", &with_hmac(ks()), "--seal-key", &seal]),
            case(2, &["keyset", "seal", &invalid, "--seal-key", &seal]),
            case(64, &["keyset", "seal", &ks()]),
            case(73, &["keyset", "seal", &{
                let dst = long("s");
                fs::copy(with_hmac(ks()), &dst).unwrap();
                dst
            }, "--seal-key", &seal]),
        ]),
        ("keyset import-jwks", vec![
            case(0, &["keyset", "import-jwks", &ks(), "--jwks", &jwks]),
            case(2, &["keyset", "import-jwks", &ks(), "--jwks", &private_jwks]),
            case(64, &["keyset", "import-jwks", &ks()]),
            case(73, &["keyset", "import-jwks", &long("i"), "--jwks", &jwks]),
        ]),
    ]
}

/// The exit code block of `keygate <command> --help`, and its codes.
fn help_block(command: &str) -> (String, BTreeSet<u8>) {
    let mut args: Vec<&str> = command.split(' ').collect();
    args.push("--help");
    let o = keygate_with(&args, None, false);
    assert_eq!(o.status.code(), Some(0), "{command} --help");
    let out = text(&o.stdout);
    let start = out
        .find("Exit codes")
        .unwrap_or_else(|| panic!("{command} --help has no exit codes:\n{out}"));
    let block = out[start..].trim_end().to_string();
    let codes = block
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    (block, codes)
}

/// The subcommands `keygate <group> --help` lists.
fn subcommands(group: &[&str]) -> Vec<String> {
    let mut args = group.to_vec();
    args.push("--help");
    let out = text(&keygate_with(&args, None, false).stdout);
    let list = out.split("Commands:\n").nth(1).unwrap();
    list.lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(|c| {
            let mut full = group.join(" ");
            if !full.is_empty() {
                full.push(' ');
            }
            full + c
        })
        .collect()
}

#[test]
fn every_command_exits_with_each_documented_code() {
    let f = fixture();
    let ok = Server::start(vec![Reply::json(200, r#"{"revision":7,"keys":3}"#)]);
    let refused = Server::start(vec![Reply::json(
        409,
        r#"{"error":"keyset_rollback","message":"revision 7 is not newer than 9","current_revision":9}"#,
    )]);
    let later = Server::start(vec![
        Reply::json(
            429,
            r#"{"error":"push_in_progress","message":"another push is being applied"}"#,
        )
        .with_header("retry-after", "2"),
    ]);
    let table = matrix(&f, &ok.url, &refused.url, &later.url);

    let mut documented = BTreeMap::new();
    for (command, cases) in &table {
        let (_, codes) = help_block(command);
        let exercised: BTreeSet<u8> = cases.iter().map(|c| c.code).collect();
        assert_eq!(exercised, codes, "{command}: tested codes vs --help");
        documented.insert(*command, codes);
        for c in cases {
            let o = run(c);
            assert_eq!(
                o.status.code(),
                Some(i32::from(c.code)),
                "{command}: {:?}\nstdout: {}\nstderr: {}",
                c.args,
                text(&o.stdout),
                text(&o.stderr)
            );
            let err = text(&o.stderr);
            if c.code != 0 && c.code != 1 {
                assert!(
                    !err.trim().is_empty() || !o.stdout.is_empty(),
                    "{command} {:?}: exit {} without a word",
                    c.args,
                    c.code
                );
            }
            assert!(!err.contains("panicked"), "{command}: {err}");
        }
    }

    // The list covers every command there is.
    let mut all = Vec::new();
    for group in [&[][..], &["keygen"], &["keyset"]] {
        all.extend(subcommands(group));
    }
    all.retain(|c| c != "keygen" && c != "keyset");
    let listed: BTreeSet<&str> = all.iter().map(String::as_str).collect();
    let tested: BTreeSet<&str> = documented.keys().copied().collect();
    assert_eq!(listed, tested);
    let _ = fs::remove_dir_all(&f.dir);
}

#[test]
fn docs_hold_every_help_table_verbatim() {
    let docs = fs::read_to_string(root().join("docs/cli.md")).unwrap();
    let top = text(&keygate_with(&["--help"], None, false).stdout);
    let overview = &top[top.find("Exit codes").unwrap()..];
    assert!(
        docs.contains(overview.trim_end()),
        "docs/cli.md lacks the overview:\n{overview}"
    );
    let mut commands = Vec::new();
    for group in [&["keygen"][..], &["keyset"]] {
        commands.extend(subcommands(group));
    }
    commands.extend(["verify", "sign", "push"].map(String::from));
    for c in &commands {
        let (block, _) = help_block(c);
        let heading = format!("keygate {c}");
        let at = docs
            .find(&format!("### `{heading}"))
            .unwrap_or_else(|| panic!("docs/cli.md has no section for {heading}"));
        let section = &docs[at..];
        let end = section[4..].find("\n### ").map_or(section.len(), |e| e + 4);
        assert!(
            section[..end].contains(&block),
            "docs/cli.md, {heading}: the exit codes differ from --help:\n{block}"
        );
    }
}

#[test]
fn clap_usage_errors_are_64_and_help_is_0() {
    for args in [
        &["--nope"][..],
        &[],
        &["keyset"],
        &[
            "verify",
            "--client-ip",
            "x",
            "--keyset",
            "k",
            "--request",
            "r",
        ],
    ] {
        let o = keygate_with(args, None, false);
        assert_eq!(o.status.code(), Some(64), "{args:?}: {}", text(&o.stderr));
    }
    for args in [
        &["--help"][..],
        &["--version"],
        &["help", "push"],
        &["keyset", "add", "-h"],
    ] {
        let o = keygate_with(args, None, false);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        assert!(!o.stdout.is_empty());
    }
}

#[test]
fn the_command_line_is_judged_before_any_file() {
    // A missing file and a malformed flag together: a usage error, whatever the order.
    let o = keygate_with(
        &["keyset", "check", "/nonexistent/ks.json", "--now", "soon"],
        None,
        false,
    );
    assert_eq!(o.status.code(), Some(64));
}

#[test]
fn audience_refusals_keep_each_command_s_meaning() {
    let d = tmpdir("audience");
    let ks = d.join("staging.json");
    fs::write(
        &ks,
        r#"{"keygate":1,"revision":1,"audience":"api-staging","keys":[{"id":"k","api_key_hash":"sha256:QILgfQrM_pehYd6w7LCzo4CfZtxrNIxj_rAcek76bm8"}]}"#,
    )
    .unwrap();
    let ks = ks.display().to_string();
    let env = d.join("staging.env.json");
    let signed = keygate_with(
        &["keyset", "sign", "--publisher-secret", SEED, &ks],
        None,
        false,
    );
    fs::write(&env, &signed.stdout).unwrap();
    let env = env.display().to_string();
    let req = d.join("r.http");
    fs::write(&req, "GET / HTTP/1.1\r\nHost: h\r\n\r\n").unwrap();
    let req = req.display().to_string();
    let aud = ["--audience", "api-prod"];
    for (args, code, json_error) in [
        // A set that cannot be used for deciding: invalid input, as any unloadable set.
        (vec!["verify", "--keyset", &ks, "--request", &req], 2, None),
        (
            vec![
                "verify",
                "--keyset",
                &env,
                "--publisher-key",
                PUB,
                "--request",
                &req,
            ],
            2,
            None,
        ),
        // check: exit 2 for a set that does not load, with the wire code in --json.
        (
            vec!["keyset", "check", "--json", &ks],
            2,
            Some("audience_mismatch"),
        ),
        // keyset verify: a content refusal, 1.
        (
            vec!["keyset", "verify", "--publisher-key", PUB, &env],
            1,
            None,
        ),
    ] {
        let all = [&args[..], &aud].concat();
        let o = keygate_with(&all, None, false);
        assert_eq!(o.status.code(), Some(code), "{all:?}: {}", text(&o.stderr));
        match json_error {
            Some(e) => {
                let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
                assert_eq!(v["error"], e);
            }
            None => assert!(
                text(&o.stderr).contains("\"api-prod\""),
                "{}",
                text(&o.stderr)
            ),
        }
        let o = keygate_with(
            &[&args[..], &["--audience", "api prod"]].concat(),
            None,
            false,
        );
        assert_eq!(
            o.status.code(),
            Some(64),
            "a malformed --audience is a usage error"
        );
    }
    let _ = fs::remove_dir_all(&d);
}
