//! `keygate keyset diff`: the delta it prints turns OLD into NEW once signed (`keyset sign`),
//! verified (`keyset verify`) and applied; envelopes are read with `--publisher-key`; what a
//! delta cannot say is refused with exit 1 and the reason.
#![cfg(all(feature = "cli", not(target_arch = "wasm32")))]

mod common;

use std::fs;

use common::{TempDir, keygate};
use keygate::{KeySet, LoadOptions, PublisherKeys, Verifier, load_delta};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const SEED: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const PUB: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

/// A new directory for one test, removed when the test ends.
fn dir() -> TempDir {
    TempDir::new("diff")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn diff_sign_verify_apply() {
    let d = dir();
    let path = |n: &str| d.join(n).display().to_string();
    let old_text = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/keysets/valid_full.json"
    ))
    .unwrap();
    let mut new: Value = serde_json::from_str(&old_text).unwrap();
    new["revision"] = json!(new["revision"].as_u64().unwrap() + 1);
    new["keys"][0]["status"] = json!("revoked");
    let removed = new["keys"].as_array_mut().unwrap().remove(1);
    fs::write(path("old.json"), &old_text).unwrap();
    fs::write(path("new.json"), new.to_string()).unwrap();

    let out = keygate(&["keyset", "diff", &path("old.json"), &path("new.json")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let delta: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(delta["kind"], "delta");
    let ops: Vec<(&str, &str)> = delta["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["op"].as_str().unwrap(),
                c["id"]
                    .as_str()
                    .unwrap_or_else(|| c["key"]["id"].as_str().unwrap()),
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            ("remove", removed["id"].as_str().unwrap()),
            ("revoke", new["keys"][0]["id"].as_str().unwrap())
        ]
    );
    fs::write(path("delta.json"), &out.stdout).unwrap();
    let check = keygate(&["keyset", "check", &path("delta.json")]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    assert!(text(&check.stdout).contains("valid delta"));

    let signed = keygate(&[
        "keyset",
        "sign",
        "--publisher-secret",
        SEED,
        &path("delta.json"),
    ]);
    assert_eq!(signed.status.code(), Some(0), "{}", text(&signed.stderr));
    fs::write(path("delta.env.json"), &signed.stdout).unwrap();
    let verified = keygate(&[
        "keyset",
        "verify",
        "--publisher-key",
        PUB,
        &path("delta.env.json"),
    ]);
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}",
        text(&verified.stderr)
    );
    let summary: Value = serde_json::from_slice(&verified.stdout).unwrap();
    let sha = |b: &[u8]| keygate::encoding_util::b64url_encode(&Sha256::digest(b));
    assert_eq!(summary["kind"], "delta");
    assert_eq!(summary["payload_sha256"], sha(new.to_string().as_bytes()));
    assert_eq!(summary["base"]["payload_sha256"], sha(old_text.as_bytes()));

    // Applied to a verifier holding OLD, the signed delta gives NEW.
    let keys = PublisherKeys::parse(PUB).unwrap();
    let delta = load_delta(
        &signed.stdout,
        &LoadOptions::new().publisher_keys(Some(&keys)),
    )
    .unwrap();
    let mut v = Verifier::new(KeySet::from_json(old_text.as_bytes()).unwrap())
        .with_payload_sha256(Sha256::digest(old_text.as_bytes()).into());
    v.apply_delta(&delta).unwrap();
    let want = KeySet::from_json(new.to_string().as_bytes()).unwrap();
    assert_eq!(v.keyset().keys().len(), want.keys().len());
    assert_eq!(v.keyset().revision(), want.revision());
    for k in want.keys() {
        assert_eq!(
            v.keyset().key_by_id(&k.id).unwrap().status,
            k.status,
            "{}",
            k.id
        );
    }

    // Envelopes, with the publisher key: the same delta (their payloads are the same bytes).
    for (from, to) in [("old.json", "old.env.json"), ("new.json", "new.env.json")] {
        let o = keygate(&["keyset", "sign", "--publisher-secret", SEED, &path(from)]);
        fs::write(path(to), &o.stdout).unwrap();
    }
    let envs = keygate(&[
        "keyset",
        "diff",
        "--publisher-key",
        PUB,
        &path("old.env.json"),
        &path("new.env.json"),
    ]);
    assert_eq!(envs.status.code(), Some(0), "{}", text(&envs.stderr));
    assert_eq!(envs.stdout, out.stdout);
    let unkeyed = keygate(&["keyset", "diff", &path("old.env.json"), &path("new.json")]);
    assert_eq!(unkeyed.status.code(), Some(2));
    assert!(
        text(&unkeyed.stderr).contains("--publisher-key"),
        "{}",
        text(&unkeyed.stderr)
    );

    // What a delta cannot say: exit 1, the reason, nothing on stdout.
    let mut routes = new.clone();
    routes["routes"] = json!([]);
    fs::write(path("routes.json"), routes.to_string()).unwrap();
    let no = keygate(&["keyset", "diff", &path("old.json"), &path("routes.json")]);
    assert_eq!(no.status.code(), Some(1));
    assert!(no.stdout.is_empty());
    assert!(
        text(&no.stderr).contains("$.routes") && text(&no.stderr).contains("push the full set"),
        "{}",
        text(&no.stderr)
    );
    let _ = fs::remove_dir_all(&d);
}

/// `keyset shard`: the manifest it writes, once signed, loads as a sharded set whose shards
/// are the files it wrote (named by content), and a run over an unchanged set writes none.
#[test]
fn shard_writes_a_manifest_and_content_named_shards() {
    let d = dir();
    let src = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/keysets/valid_full.json"
    );
    let out_dir = d.join("pub");
    let out_s = out_dir.display().to_string();
    let o = keygate(&[
        "keyset", "shard", src, "--out", &out_s, "--bits", "2", "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["bits"], 2);
    assert_eq!(summary["shards"], 8);
    let manifest = fs::read(out_dir.join("manifest.json")).unwrap();
    let m = keygate::Manifest::from_json(&manifest, keygate::Unseal::FormOnly).unwrap();
    let set = fs::read(src).unwrap();
    assert_eq!(m.payload_sha256(), <[u8; 32]>::from(Sha256::digest(&set)));
    for (id, sha) in m.shards() {
        let name = format!("{}.json", common::b64url(sha));
        let bytes = fs::read(out_dir.join("shards").join(&name))
            .unwrap_or_else(|e| panic!("{}: {name}: {e}", id.name()));
        assert_eq!(<[u8; 32]>::from(Sha256::digest(&bytes)), *sha);
    }
    // Signed like a key set, verified with the publisher key.
    fs::write(d.join("seed"), SEED).unwrap();
    let o = keygate(&[
        "keyset",
        "sign",
        "--publisher-secret",
        &d.join("seed").display().to_string(),
        &out_dir.join("manifest.json").display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let keys = PublisherKeys::parse(PUB).unwrap();
    let opts = LoadOptions::new()
        .publisher_keys(Some(&keys))
        .sealed_form_only();
    let (m2, _) = keygate::load_manifest(&o.stdout, &opts).unwrap();
    assert_eq!(m2.revision(), m.revision());
    assert!(keygate::is_manifest(&o.stdout) && !keygate::is_delta(&o.stdout));
    let signed = d.join("manifest.envelope.json");
    fs::write(&signed, &o.stdout).unwrap();
    let v = keygate(&[
        "keyset",
        "verify",
        "--publisher-key",
        PUB,
        &signed.display().to_string(),
    ]);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v.stderr));
    let summary: Value = serde_json::from_slice(&v.stdout).unwrap();
    assert_eq!(
        (summary["kind"].as_str(), summary["bits"].as_u64()),
        (Some("manifest"), Some(2))
    );
    assert_eq!(
        summary["payload_sha256"],
        common::b64url(&m.payload_sha256())
    );
    // Again over the same set: nothing new to write.
    let o = keygate(&[
        "keyset", "shard", src, "--out", &out_s, "--bits", "2", "--json",
    ]);
    let again: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(again["written"], 0);
}
