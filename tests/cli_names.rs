//! Secrets and names: secrets in 0600 files that never overwrite (and a warning when stdout is
//! a file others can read), one name per output field with the 0.1 names beside, key files
//! that take the new names, and the 0.1 `--publisher-key` spelling of `keyset sign`.
#![cfg(all(feature = "cli", not(target_arch = "wasm32")))]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{TempDir, keygate, keygate_with};
use serde_json::{Value, json};

const SEED: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";

/// A new directory for one test, removed when the test ends.
fn tmpdir() -> TempDir {
    TempDir::new("names")
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

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn secrets_go_to_new_0600_files_and_never_overwrite() {
    let d = tmpdir();
    let f = d.join("publisher.json");
    let o = keygate(&["keygen", "ed25519", "--out", &s(&f)]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(o.stdout.is_empty(), "the secret went to the file only");
    assert!(
        !err(&o).contains(&fs::read_to_string(&f).unwrap()[8..30]),
        "nothing secret on stderr"
    );
    assert_eq!(mode(&f), 0o600);
    let v: Value = serde_json::from_slice(&fs::read(&f).unwrap()).unwrap();
    assert_eq!(v["signing"]["alg"], "ed25519");
    let before = fs::read(&f).unwrap();
    for args in [
        vec!["keygen", "ed25519", "--out"],
        vec!["keygen", "hmac", "--out"],
        vec!["keygen", "api-key", "--out"],
    ] {
        let mut a = args.clone();
        let fp = s(&f);
        a.push(&fp);
        let o = keygate(&a);
        assert_eq!(code(&o), 73, "{a:?}");
        assert!(err(&o).contains("already exists"));
    }
    assert_eq!(fs::read(&f).unwrap(), before, "never overwritten");

    // keyset add --out: the file is created before the edit; an existing one stops it early.
    let ks = d.join("ks.json");
    assert_eq!(code(&keygate(&["keyset", "new", &s(&ks)])), 0);
    let set_before = fs::read(&ks).unwrap();
    let o = keygate(&["keyset", "add", &s(&ks), "--id", "a", "--out", &s(&f)]);
    assert_eq!(code(&o), 73);
    assert_eq!(
        fs::read(&ks).unwrap(),
        set_before,
        "nothing added when the secret has nowhere to go"
    );
    let secrets = d.join("a.secrets.json");
    let o = keygate(&[
        "keyset",
        "add",
        &s(&ks),
        "--id",
        "a",
        "--signing",
        "ed25519",
        "--api-key",
        "--out",
        &s(&secrets),
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(o.stdout.is_empty());
    assert_eq!(mode(&secrets), 0o600);
    // A failed edit removes the file it created for the secrets.
    let dup = d.join("dup.json");
    let o = keygate(&["keyset", "add", &s(&ks), "--id", "a", "--out", &s(&dup)]);
    assert_eq!(code(&o), 2);
    assert!(!dup.exists());
    // keyset rotate --out too.
    let r = d.join("a-r2.json");
    let o = keygate(&[
        "keyset",
        "rotate",
        &s(&ks),
        "a",
        "--grace",
        "1h",
        "--out",
        &s(&r),
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(mode(&r), 0o600);
    assert_eq!(
        serde_json::from_slice::<Value>(&fs::read(&r).unwrap()).unwrap()["id"],
        "a-r2"
    );
}

#[cfg(unix)]
#[test]
fn a_secret_on_stdout_warns_when_stdout_is_a_file_others_can_read() {
    use std::os::unix::fs::PermissionsExt as _;
    use std::process::{Command, Stdio};
    let d = tmpdir();
    for (m, warned) in [(0o644, true), (0o600, false)] {
        let f = d.join(format!("key-{m:o}.json"));
        fs::write(&f, "").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(m)).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_keygate"))
            .args(["keygen", "api-key"])
            .stdout(fs::OpenOptions::new().append(true).open(&f).unwrap())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(code(&o), 0);
        assert_eq!(
            err(&o).contains("readable by others"),
            warned,
            "{m:o}: {}",
            err(&o)
        );
        let v: Value = serde_json::from_slice(&fs::read(&f).unwrap()).unwrap();
        assert!(v["key"].is_string(), "still printed to stdout, as 0.1 did");
    }
    // A pipe is not a file: no warning.
    assert!(!err(&keygate(&["keygen", "api-key"])).contains("warning"));
}

#[test]
fn one_name_per_output_field_with_the_old_names_beside() {
    let v = json_out(&keygate(&["keygen", "api-key", "--prefix", "kg_live"]));
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["key", "entry", "api_key"],
        "{{key, entry}} as the JS generateApiKey"
    );
    assert_eq!(v["api_key"], v["key"]);
    assert_eq!(
        v["entry"]["api_key_hash"],
        keygate::ApiKeyDigest::of(v["key"].as_str().unwrap()).to_string()
    );
    for (alg, old) in [("ed25519", "private_key"), ("hmac", "secret")] {
        let v = json_out(&keygate(&["keygen", alg]));
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["key", "signing", old],
            "{{key, signing}} as the JS generateSigningKey"
        );
        assert_eq!(v[old], v["key"]);
    }
    let d = tmpdir();
    let ks = d.join("ks.json");
    assert_eq!(code(&keygate(&["keyset", "new", &s(&ks)])), 0);
    for (alg, old) in [("ed25519", "private_key"), ("hmac-sha256", "secret")] {
        let v = json_out(&keygate(&[
            "keyset",
            "add",
            &s(&ks),
            "--id",
            alg,
            "--api-key",
            "--signing",
            alg,
        ]));
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["id", "api_key", "signing_key", "signing", old]);
        assert_eq!(v[old], v["signing_key"]);
    }
}

#[test]
fn the_new_names_are_key_files_too() {
    let d = tmpdir();
    let req = d.join("r.http");
    fs::write(&req, "GET / HTTP/1.1\r\nHost: h\r\n\r\n").unwrap();
    for alg in ["ed25519", "hmac"] {
        let mut v = json_out(&keygate(&["keygen", alg]));
        // Only the new names, as the JS generateSigningKey returns them.
        let o = v.as_object_mut().unwrap();
        o.retain(|k, _| k == "key" || k == "signing");
        let f = d.join(format!("{alg}.json"));
        fs::write(&f, v.to_string()).unwrap();
        let o = keygate(&[
            "sign",
            "--key",
            &s(&f),
            "--keyid",
            "x",
            "--request",
            &s(&req),
            "--created",
            "1",
        ]);
        assert_eq!(code(&o), 0, "{alg}: {}", err(&o));
        // {"signing_key", "signing"} (keyset add output) as well.
        let renamed = json!({"signing_key": v["key"], "signing": v["signing"]});
        fs::write(&f, renamed.to_string()).unwrap();
        let o2 = keygate(&[
            "sign",
            "--key",
            &s(&f),
            "--keyid",
            "x",
            "--request",
            &s(&req),
            "--created",
            "1",
        ]);
        assert_eq!((code(&o2), o2.stdout), (0, o.stdout), "{alg}");
    }
    // A publisher key file with only the new names signs key sets.
    let mut v = json_out(&keygate(&["keygen", "ed25519"]));
    v.as_object_mut().unwrap().remove("private_key");
    let f = d.join("publisher.json");
    fs::write(&f, v.to_string()).unwrap();
    let o = keygate(&[
        "keyset",
        "sign",
        "--publisher-secret",
        &s(&f),
        &s(&vectors("keysets/valid_minimal.json")),
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    // An API key is not a signing key.
    let api = d.join("api.json");
    fs::write(&api, keygate(&["keygen", "api-key"]).stdout).unwrap();
    let o = keygate(&[
        "sign",
        "--key",
        &s(&api),
        "--keyid",
        "x",
        "--request",
        &s(&req),
    ]);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("API key"), "{}", err(&o));
}

#[test]
fn the_old_publisher_key_spelling_of_keyset_sign_still_works_with_a_note() {
    let ks = s(&vectors("keysets/valid_full.json"));
    let new = keygate(&["keyset", "sign", "--publisher-secret", SEED, &ks]);
    let old = keygate(&["keyset", "sign", "--publisher-key", SEED, &ks]);
    assert_eq!((code(&old), &old.stdout), (0, &new.stdout));
    assert!(err(&old).contains("deprecated"), "{}", err(&old));
    assert!(!err(&old).contains(SEED));
    // Given inline, the key is on the command line: a note says so, without the key.
    assert!(err(&new).contains("on the command line"), "{}", err(&new));
    assert!(!err(&new).contains(SEED));
    let both = keygate(&[
        "keyset",
        "sign",
        "--publisher-secret",
        SEED,
        "--publisher-key",
        SEED,
        &ks,
    ]);
    assert_eq!(code(&both), 64);
    let help = out(&keygate(&["keyset", "sign", "--help"]));
    assert!(
        help.contains("--publisher-secret") && help.contains("Formerly --publisher-key"),
        "{help}"
    );
}

/// `tests/vectors/cli/inline_secrets.json`: a private key given inline is never repeated, not
/// when it looks like a path that names no file (standard base64 holds `/`), and a JWK is read
/// as the value itself even when a member holds a `/`; a note says the key was on the command
/// line.
#[test]
fn a_private_key_given_inline_is_never_repeated() {
    let ks = s(&vectors("keysets/valid_full.json"));
    let doc: Value =
        serde_json::from_str(&fs::read_to_string(vectors("cli/inline_secrets.json")).unwrap())
            .unwrap();
    let standard = SEED.replace('_', "/");
    for c in doc["cases"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        assert!(c["models"].is_string(), "{name}");
        let value = c["value"]
            .as_str()
            .unwrap()
            .replace("{SEED_STANDARD}", &standard)
            .replace("{SEED}", SEED);
        for command in [
            &["keyset", "sign"][..],
            &["push", "https://gateway.example"][..],
        ] {
            let mut args = command.to_vec();
            args.extend(["--publisher-secret", &value, &ks]);
            let o = keygate(&args);
            assert_eq!(code(&o), 2, "{name}: {args:?}");
            let e = err(&o);
            assert!(e.contains(c["says"].as_str().unwrap()), "{name}: {e}");
            assert!(!e.contains(SEED) && !e.contains(&standard), "{name}: {e}");
            assert_eq!(
                e.contains("no such file"),
                c["no_such_file"].as_bool().unwrap(),
                "{name}: {e}"
            );
        }
    }
    // A public key that names no file is quoted as before (it is no secret).
    let o = keygate(&[
        "keyset",
        "check",
        "--publisher-key",
        "keys/missing.json",
        &ks,
    ]);
    assert!(
        err(&o).contains("keys/missing.json: no such file"),
        "{}",
        err(&o)
    );
}

#[test]
fn a_secret_that_cannot_be_delivered_after_the_edit_says_what_to_do() {
    let d = tmpdir();
    let ks = d.join("ks.json");
    assert_eq!(code(&keygate(&["keyset", "new", &s(&ks)])), 0);
    let o = keygate_with(&["keyset", "add", &s(&ks), "--id", "lost"], None, true);
    assert_eq!(code(&o), 73);
    assert!(err(&o).contains("revoke"), "{}", err(&o));
    assert!(fs::read_to_string(&ks).unwrap().contains("\"lost\""));
}
