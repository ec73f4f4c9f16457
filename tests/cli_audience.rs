//! `--audience` on `verify`, `keyset check` and `keyset verify`: a set that does not name the
//! gateway is refused (as a key set that cannot be used), one that does loads, and without the
//! flag any set loads as before.
#![cfg(all(feature = "cli", not(target_arch = "wasm32")))]

use std::fs;
use std::process::Output;

mod common;
use common::{TempDir, keygate};

use keygate::{PublisherSecret, sign_envelope};

fn ok(o: &Output) -> bool {
    o.status.success()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn audience_flags() {
    let dir = TempDir::new("cli-aud");
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let secret = PublisherSecret::from_seed(&[3; 32], None);
    let public = secret.public_key().public_key_b64();
    let set = |aud: &str| {
        format!(
            r#"{{"keygate":1,"revision":1,{aud}"keys":[{{"id":"k","api_key_hash":"{}"}}]}}"#,
            keygate::ApiKeyDigest::of("the-key")
        )
    };
    let prod = set(r#""audience":["api-prod","api-prod-eu"],"#);
    let staging = set(r#""audience":"api-staging","#);
    let none = set("");
    let req = write(
        "r.http",
        "GET /x HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer the-key\r\n\r\n",
    );
    for (name, text, for_prod) in [
        ("prod", &prod, true),
        ("staging", &staging, false),
        ("none", &none, false),
    ] {
        let bare = write(&format!("{name}.json"), text);
        let env = write(
            &format!("{name}.env.json"),
            &sign_envelope(text.as_bytes(), &secret).to_string(),
        );
        let runs: [Vec<&str>; 4] = [
            vec!["keyset", "check", &bare],
            vec!["keyset", "check", "--publisher-key", &public, &env],
            vec!["keyset", "verify", "--publisher-key", &public, &env],
            vec![
                "verify",
                "--keyset",
                &bare,
                "--request",
                &req,
                "--now",
                "2026-12-01T00:00:00Z",
            ],
        ];
        for args in runs {
            // Without --audience every set loads as before.
            assert!(ok(&keygate(&args)), "{name}: {args:?}");
            let mut with = args.clone();
            with.extend(["--audience", "api-prod"]);
            let o = keygate(&with);
            assert_eq!(ok(&o), for_prod, "{name}: {with:?}: {}", stderr(&o));
            if !for_prod {
                assert!(
                    stderr(&o).contains("audience \"api-prod\""),
                    "{}",
                    stderr(&o)
                );
            }
        }
    }
    let o = keygate(&[
        "keyset",
        "check",
        "--audience",
        "api prod",
        &write("p.json", &prod),
    ]);
    assert!(!ok(&o));
    assert!(stderr(&o).contains("--audience"), "{}", stderr(&o));
    fs::remove_dir_all(&dir).ok();
}
