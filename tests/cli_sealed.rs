//! Sealed secrets from the command line: `keygen seal-key`, `keyset seal` (and `--reseal`),
//! `--seal-key` where a set is read (`verify` must open, `check`/`lint`/`keyset verify` open
//! or check by form) and where new secrets are written (`add`, `rotate`, `import-jwks`), and no
//! output of any of them holding a secret.
#![cfg(all(feature = "cli", not(target_arch = "wasm32")))]

mod common;

use std::fs;
use std::path::PathBuf;
use std::process::Output;

use common::keygate;
use serde_json::{Value, json};

const NOW: &str = "2026-11-29T12:00:00Z";

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("keygate-sealed-{}-{tag}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs the CLI and checks that none of `secrets` is on stderr, nor on stdout unless the
/// command's job is to print new secrets (keygen, add, rotate).
fn run(args: &[&str], secrets: &[&str]) -> Output {
    let o = keygate(args);
    let prints_secrets = args.iter().any(|a| ["keygen", "add", "rotate"].contains(a));
    for s in secrets {
        assert!(
            !text(&o.stderr).contains(s),
            "{args:?}: stderr holds a secret:\n{}",
            text(&o.stderr)
        );
        assert!(
            prints_secrets || !text(&o.stdout).contains(s),
            "{args:?}: stdout holds a secret:\n{}",
            text(&o.stdout)
        );
    }
    o
}

fn ok(o: &Output) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn read_json(p: &str) -> Value {
    serde_json::from_str(&fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn seal_then_decide_only_with_the_seal_key() {
    let d = tmpdir("flow");
    let p = |n: &str| d.join(n).display().to_string();
    let (ks, seal, hkey) = (p("ks.json"), p("seal.jwk"), p("h.json"));
    ok(&run(
        &["keygen", "seal-key", "--kid", "seal-1", "--out", &seal],
        &[],
    ));
    let jwk = read_json(&seal);
    assert_eq!(jwk["kty"], "oct");
    assert_eq!(jwk["kid"], "seal-1");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            fs::metadata(&seal).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let k = jwk["k"].as_str().unwrap().to_string();
    ok(&run(&["keyset", "new", &ks, "--now", NOW], &[]));
    let add = run(
        &[
            "keyset",
            "add",
            &ks,
            "--id",
            "h",
            "--signing",
            "hmac-sha256",
            "--now",
            NOW,
            "--out",
            &hkey,
        ],
        &[&k],
    );
    ok(&add);
    let secret = read_json(&hkey)["signing_key"]
        .as_str()
        .unwrap()
        .to_string();
    let secrets = [k.as_str(), secret.as_str()];

    let sealed = run(
        &["keyset", "seal", &ks, "--seal-key", &seal, "--now", NOW],
        &secrets,
    );
    ok(&sealed);
    assert!(text(&sealed.stderr).contains("1 secret(s) sealed under seal key \"seal-1\""));
    let doc = fs::read_to_string(&ks).unwrap();
    assert!(
        !doc.contains(&secret),
        "the file no longer holds the secret"
    );
    let v: Value = serde_json::from_str(&doc).unwrap();
    assert!(v["keys"][0]["signing"]["sealed"].is_string());
    assert_eq!(v["revision"], 3, "sealing is an edit: bumped");
    // Idempotent: nothing left to seal, the file is not rewritten.
    let again = run(&["keyset", "seal", &ks, "--seal-key", &seal], &secrets);
    ok(&again);
    assert!(text(&again.stderr).contains("nothing to seal"));
    assert_eq!(fs::read_to_string(&ks).unwrap(), doc);

    let req = p("req.http");
    fs::write(
        &req,
        "POST /v1/x HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json\r\n\r\n{}",
    )
    .unwrap();
    let signed = run(
        &[
            "sign",
            "--key",
            &hkey,
            "--keyid",
            "h",
            "--request",
            &req,
            "--created",
            NOW,
        ],
        &[&k],
    );
    ok(&signed);
    let sreq = p("signed.http");
    fs::write(&sreq, &signed.stdout).unwrap();

    let without = run(
        &["verify", "--keyset", &ks, "--request", &sreq, "--now", NOW],
        &secrets,
    );
    assert_eq!(code(&without), 2);
    let e = text(&without.stderr);
    assert!(
        e.contains("$.keys[0].signing.sealed") && e.contains("--seal-key"),
        "{e}"
    );
    let with = run(
        &[
            "verify",
            "--keyset",
            &ks,
            "--request",
            &sreq,
            "--now",
            NOW,
            "--seal-key",
            &seal,
        ],
        &secrets,
    );
    ok(&with);
    let decision: Value = serde_json::from_slice(&with.stdout).unwrap();
    assert_eq!(decision["allowed"], true);
    assert_eq!(decision["key_id"], "h");

    // check: by form without keys (a warning), opened with them; a wrong key is an error.
    let form = run(&["keyset", "check", "--json", &ks, "--now", NOW], &secrets);
    ok(&form);
    let r: Value = serde_json::from_slice(&form.stdout).unwrap();
    assert_eq!(r["valid"], true);
    assert!(
        r["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["code"] == "sealed_not_opened")
    );
    let opened = run(
        &[
            "keyset",
            "check",
            "--json",
            &ks,
            "--now",
            NOW,
            "--seal-key",
            &seal,
        ],
        &secrets,
    );
    ok(&opened);
    let r: Value = serde_json::from_slice(&opened.stdout).unwrap();
    assert!(
        !r["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["code"] == "sealed_not_opened")
    );
    let other = p("other.jwk");
    ok(&run(
        &["keygen", "seal-key", "--kid", "seal-1", "--out", &other],
        &[],
    ));
    let wrong = run(&["keyset", "check", &ks, "--seal-key", &other], &secrets);
    assert_eq!(code(&wrong), 2);
    assert!(text(&wrong.stderr).contains("does not decrypt with seal key \"seal-1\""));

    // keyset verify of a signed envelope: form only, opened, refused (1) with a wrong key.
    let seed = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
    let env = p("env.json");
    let s = run(
        &["keyset", "sign", "--publisher-secret", seed, &ks],
        &secrets,
    );
    ok(&s);
    fs::write(&env, &s.stdout).unwrap();
    let pubkey = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    ok(&run(
        &["keyset", "verify", "--publisher-key", pubkey, &env],
        &secrets,
    ));
    ok(&run(
        &[
            "keyset",
            "verify",
            "--publisher-key",
            pubkey,
            "--seal-key",
            &seal,
            &env,
        ],
        &secrets,
    ));
    assert_eq!(
        code(&run(
            &[
                "keyset",
                "verify",
                "--publisher-key",
                pubkey,
                "--seal-key",
                &other,
                &env
            ],
            &secrets
        )),
        1
    );
    let _ = fs::remove_dir_all(&d);
}

#[test]
fn new_secrets_in_a_sealing_set_are_sealed_or_refused() {
    let d = tmpdir("edits");
    let p = |n: &str| d.join(n).display().to_string();
    let (ks, seal) = (p("ks.json"), p("seal.jwk"));
    ok(&run(&["keygen", "seal-key", "--out", &seal], &[]));
    ok(&run(&["keyset", "new", &ks], &[]));
    ok(&run(
        &[
            "keyset",
            "add",
            &ks,
            "--id",
            "a",
            "--signing",
            "hmac-sha256",
            "--seal-key",
            &seal,
        ],
        &[],
    ));
    let before = fs::read(&ks).unwrap();
    let refused = run(
        &[
            "keyset",
            "add",
            &ks,
            "--id",
            "b",
            "--signing",
            "hmac-sha256",
        ],
        &[],
    );
    assert_eq!(code(&refused), 64);
    assert!(text(&refused.stderr).contains("pass --seal-key FILE"));
    assert_eq!(fs::read(&ks).unwrap(), before, "unchanged");
    // An API key or an Ed25519 public key holds no secret: no flag needed.
    ok(&run(&["keyset", "add", &ks, "--id", "api"], &[]));
    let rot = run(
        &[
            "keyset",
            "rotate",
            &ks,
            "a",
            "--grace",
            "1h",
            "--seal-key",
            &seal,
        ],
        &[],
    );
    ok(&rot);
    let out: Value = serde_json::from_slice(&rot.stdout).unwrap();
    let new_secret = out["signing_key"].as_str().unwrap();
    let doc = read_json(&ks);
    let a2 = doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == "a-r2")
        .unwrap();
    assert!(a2["signing"]["sealed"].is_string());
    assert!(!fs::read_to_string(&ks).unwrap().contains(new_secret));
    assert_eq!(
        code(&run(
            &["keyset", "rotate", &ks, "a-r2", "--grace", "1h"],
            &[]
        )),
        64
    );

    // import-jwks: runtime exports carry their members; an oct key is sealed.
    let exports: Value = serde_json::from_str(include_str!("vectors/jwk/exports.json")).unwrap();
    let mut keys = Vec::new();
    for (i, e) in exports["exports"].as_array().unwrap().iter().enumerate() {
        let mut ed = e["ed25519_public"].clone();
        ed["kid"] = json!(format!("ed-{i}"));
        let mut h = e["hmac"].clone();
        h["kid"] = json!(format!("hm-{i}"));
        keys.push(ed);
        keys.push(h);
    }
    let jwks = p("exports.jwks");
    fs::write(&jwks, json!({"keys": keys}).to_string()).unwrap();
    let hmac_k = exports["exports"][0]["hmac"]["k"].as_str().unwrap();
    ok(&run(
        &[
            "keyset",
            "import-jwks",
            &ks,
            "--jwks",
            &jwks,
            "--seal-key",
            &seal,
        ],
        &[hmac_k],
    ));
    let text_now = fs::read_to_string(&ks).unwrap();
    assert!(!text_now.contains(hmac_k), "imported secrets are sealed");
    let doc = read_json(&ks);
    let ed0 = doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == "ed-0")
        .unwrap();
    assert_eq!(ed0["signing"]["jwk"]["key_ops"], json!(["verify"]));
    let lint = run(&["keyset", "lint", &ks, "--seal-key", &seal], &[hmac_k]);
    ok(&lint);
    assert!(
        !text(&lint.stdout).contains("secret_not_sealed"),
        "{}",
        text(&lint.stdout)
    );
    // A JWK whose use does not fit is refused, and the file kept.
    let before = fs::read(&ks).unwrap();
    let bad = p("bad.jwks");
    fs::write(&bad, json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": exports["exports"][0]["ed25519_public"]["x"], "kid": "enc", "use": "enc"}]}).to_string()).unwrap();
    let o = run(&["keyset", "import-jwks", &ks, "--jwks", &bad], &[]);
    assert_eq!(code(&o), 2);
    assert!(
        text(&o.stderr).contains("\"enc\" does not fit"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(fs::read(&ks).unwrap(), before);
    let _ = fs::remove_dir_all(&d);
}

#[test]
fn reseal_moves_secrets_to_the_new_seal_key() {
    let d = tmpdir("reseal");
    let p = |n: &str| d.join(n).display().to_string();
    let (ks, old, new, both) = (p("ks.json"), p("old.jwk"), p("new.jwk"), p("both.jwks"));
    ok(&run(
        &["keygen", "seal-key", "--kid", "old", "--out", &old],
        &[],
    ));
    ok(&run(
        &["keygen", "seal-key", "--kid", "new", "--out", &new],
        &[],
    ));
    fs::write(
        &both,
        json!({"keys": [read_json(&old), read_json(&new)]}).to_string(),
    )
    .unwrap();
    ok(&run(&["keyset", "new", &ks], &[]));
    ok(&run(
        &[
            "keyset",
            "add",
            &ks,
            "--id",
            "a",
            "--signing",
            "hmac-sha256",
            "--seal-key",
            &old,
        ],
        &[],
    ));
    ok(&run(
        &[
            "keyset",
            "add",
            &ks,
            "--id",
            "b",
            "--signing",
            "hmac-sha256",
            "--seal-key",
            &old,
        ],
        &[],
    ));
    assert_eq!(
        code(&run(&["keyset", "seal", &ks, "--seal-key", &both], &[])),
        64,
        "which key seals?"
    );
    assert_eq!(
        code(&run(
            &["keyset", "seal", &ks, "--seal-key", &new, "--reseal"],
            &[]
        )),
        2,
        "old values cannot be opened with new alone"
    );
    let o = run(
        &[
            "keyset",
            "seal",
            &ks,
            "--seal-key",
            &both,
            "--seal-kid",
            "new",
            "--reseal",
        ],
        &[],
    );
    ok(&o);
    assert!(
        text(&o.stderr).contains("2 resealed under seal key \"new\""),
        "{}",
        text(&o.stderr)
    );
    ok(&run(&["keyset", "check", &ks, "--seal-key", &new], &[]));
    assert_eq!(
        code(&run(&["keyset", "check", &ks, "--seal-key", &old], &[])),
        2
    );
    let _ = fs::remove_dir_all(&d);
}
