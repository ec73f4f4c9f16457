//! `check`, `lint` and `show`.

use std::path::Path;

use keygate::{KeySet, LoadError as KgLoad, LoadOptions, PublisherKeys, load_keyset_with};
use serde_json::{Value, json};

use super::CheckArgs;
use crate::exit::{Exit, Fail, Outcome};
use crate::io::{file_or_inline, name, println, read};
use crate::util::time_or_now;

/// Pinned publisher public keys from `--publisher-key` (inline, a file, or `-`).
pub fn publisher_keys(arg: Option<&str>) -> Result<Option<PublisherKeys>, Fail> {
    match arg {
        None => Ok(None),
        Some(a) => {
            let text = file_or_inline(a, "--publisher-key", false)?;
            PublisherKeys::parse(&text)
                .map(Some)
                .map_err(|e| Fail::input(format!("--publisher-key: {e}")))
        }
    }
}

/// The `--json` result of `check` and `lint`, shaped as the JS `checkKeySet` result:
/// `{"valid", "errors": [{"path", "message"}], "warnings": [{"code", "path", "message"}]}`,
/// plus `error` (the wire code: keyset_invalid, envelope_invalid, ...) when not valid.
fn result_json(loaded: &Result<KeySet, KgLoad>, lints: &[keygate::Lint]) -> Value {
    let warnings: Vec<Value> = lints
        .iter()
        .map(|l| json!({"code": l.code, "path": l.path, "message": l.message}))
        .collect();
    match loaded {
        Ok(_) => json!({"valid": true, "errors": [], "warnings": warnings}),
        Err(e) => {
            let errors: Vec<Value> = match e {
                KgLoad::Keyset(errs) => errs
                    .errors()
                    .iter()
                    .map(|x| json!({"path": x.path, "message": x.message}))
                    .collect(),
                other => vec![json!({"path": "$", "message": other.to_string()})],
            };
            json!({"valid": false, "error": e.code(), "errors": errors, "warnings": []})
        }
    }
}

/// `check` (errors; lints as warnings) and `lint` (lints). Exit 0 valid, 2 invalid (or any
/// warning with --strict).
pub fn check(a: &CheckArgs, lint_only: bool) -> Outcome {
    let now = time_or_now(a.now);
    let keys = publisher_keys(a.publisher_key.as_deref())?;
    let seal = crate::seal::open_keys(&a.seal)?;
    let options = LoadOptions::new()
        .publisher_keys(keys.as_ref())
        .seal_keys(seal.as_ref())
        .sealed_form_only()
        .audience(a.audience.as_deref())
        .map_err(Fail::usage)?;
    let bytes = read(&a.file)?;
    let name = name(&a.file);
    if keygate::is_delta(&bytes) {
        return check_delta(a, &name, &bytes, &options);
    }
    let loaded = load_keyset_with(&bytes, &options);
    let lints = loaded.as_ref().map(|ks| ks.lint(now)).unwrap_or_default();
    let failed = loaded.is_err() || (a.strict && !lints.is_empty());
    let exit = if failed { Exit::Invalid } else { Exit::Success };
    if a.json {
        println(result_json(&loaded, &lints))?;
        return Ok(exit);
    }
    let ks = match loaded {
        Ok(ks) => ks,
        Err(KgLoad::Keyset(errs)) => {
            for e in errs.errors() {
                eprintln!("{name}: error: {e}");
            }
            return Ok(exit);
        }
        Err(e) => {
            eprintln!("{name}: error: {e}");
            return Ok(exit);
        }
    };
    let level = if a.strict { "error" } else { "warning" };
    for l in &lints {
        if lint_only {
            println(format_args!("{name}: {level}: {l}"))?;
        } else {
            eprintln!("{name}: {level}: {l}");
        }
    }
    if !lint_only && !failed {
        println(format_args!(
            "{name}: valid key set, revision {}, {} keys, {} routes, {} warnings",
            ks.revision(),
            ks.keys().len(),
            ks.routes().len(),
            lints.len()
        ))?;
    }
    Ok(exit)
}

/// `check` of a delta document: its own validity (every error with its path in the delta);
/// whether it fits a set is judged where it is applied. Lints do not apply.
fn check_delta(a: &CheckArgs, name: &str, bytes: &[u8], options: &LoadOptions<'_>) -> Outcome {
    let loaded = keygate::load_delta(bytes, options);
    if a.json {
        let v = match &loaded {
            Ok(_) => json!({"valid": true, "kind": "delta", "errors": [], "warnings": []}),
            Err(e) => {
                let mut v = result_json(&Err(e.clone()), &[]);
                v["kind"] = json!("delta");
                v
            }
        };
        println(v)?;
    } else {
        match &loaded {
            Ok(d) => println(format_args!(
                "{name}: valid delta, revision {} -> {}, {} changes",
                d.base().revision,
                d.revision(),
                d.len()
            ))?,
            Err(KgLoad::Keyset(errs)) => errs
                .errors()
                .iter()
                .for_each(|e| eprintln!("{name}: error: {e}")),
            Err(e) => eprintln!("{name}: error: {e}"),
        }
    }
    Ok(if loaded.is_ok() {
        Exit::Success
    } else {
        Exit::Invalid
    })
}

fn summary(ks: &KeySet, doc: &Value) -> Value {
    let keys: Vec<Value> = ks
        .keys()
        .iter()
        .zip(doc["keys"].as_array().into_iter().flatten())
        .map(|(k, raw)| {
            let mut credentials = Vec::new();
            if k.api_key_hash.is_some() {
                credentials.push("api_key".to_string());
            }
            if let Some(alg) = raw
                .get("signing")
                .and_then(|s| s.get("alg"))
                .and_then(Value::as_str)
            {
                credentials.push(alg.to_string());
            }
            if let Some(w) = raw.get("webhook") {
                let scheme = if w.get("public_key").is_some() {
                    "v1a"
                } else {
                    "v1"
                };
                credentials.push(format!("webhook-{scheme}"));
            }
            json!({
                "id": k.id,
                "status": k.status.as_str(),
                "credentials": credentials,
                "scopes": k.scopes.to_vec(),
                "not_before": k.not_before.map(|t| t.to_rfc3339()),
                "expires_at": k.expires_at.map(|t| t.to_rfc3339()),
                "allow_cidrs": k.allow_cidrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "deny_cidrs": k.deny_cidrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "name": k.name,
            })
        })
        .collect();
    json!({
        "revision": ks.revision(),
        "issued_at": ks.issued_at().map(|t| t.to_rfc3339()),
        "expires_at": ks.expires_at().map(|t| t.to_rfc3339()),
        "routes": ks.routes().len(),
        "keys": keys,
    })
}

pub fn show(file: &Path, as_json: bool) -> Outcome {
    let bytes = read(file)?;
    let ks = crate::util::valid_keyset(file, &bytes, "show", keygate::Unseal::FormOnly)?;
    let doc: Value = serde_json::from_slice(&bytes).map_err(|e| Fail::input(e.to_string()))?;
    let s = summary(&ks, &doc);
    if as_json {
        println(s)?;
        return Ok(Exit::Success);
    }
    let mut out = String::new();
    out.push_str(&format!(
        "revision {} issued {}{}\n",
        ks.revision(),
        s["issued_at"].as_str().unwrap_or("-"),
        s["expires_at"]
            .as_str()
            .map(|e| format!(", set expires {e}"))
            .unwrap_or_default()
    ));
    out.push_str(&format!(
        "{:<24} {:<9} {:<22} {:<21} SCOPES\n",
        "ID", "STATUS", "CREDENTIALS", "EXPIRES"
    ));
    for k in s["keys"].as_array().into_iter().flatten() {
        let creds: Vec<&str> = k["credentials"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let scopes: Vec<&str> = k["scopes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        out.push_str(&format!(
            "{:<24} {:<9} {:<22} {:<21} {}\n",
            k["id"].as_str().unwrap_or(""),
            k["status"].as_str().unwrap_or(""),
            creds.join("+"),
            k["expires_at"].as_str().unwrap_or("never"),
            scopes.join(" ")
        ));
    }
    crate::io::print_bytes(out.as_bytes())?;
    Ok(Exit::Success)
}
