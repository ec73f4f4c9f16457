//! `check`, `lint` and `show`.

use std::path::Path;
use std::process::ExitCode;

use keygate::{KeySet, LoadError as KgLoad, LoadOptions, PublisherKeys, load_keyset_with};
use serde_json::{Value, json};

use super::CheckArgs;
use crate::LoadError;
use crate::util::{file_or_inline, read, time_or_now};

pub fn publisher_keys(arg: Option<&str>) -> Result<Option<PublisherKeys>, LoadError> {
    match arg {
        None => Ok(None),
        Some(a) => {
            let text = file_or_inline(a)?;
            PublisherKeys::parse(&text)
                .map(Some)
                .map_err(|e| LoadError(format!("--publisher-key: {e}")))
        }
    }
}

/// `--audience`, checked as an audience name.
pub fn audience(arg: Option<&str>) -> Result<Option<&str>, LoadError> {
    if let Some(a) = arg {
        keygate::check_audience_name(a).map_err(|e| LoadError(format!("--audience: {e}")))?;
    }
    Ok(arg)
}

/// `check` (errors; lints as warnings) and `lint` (lints). Exit 0 valid, 2 invalid.
pub fn check(a: &CheckArgs, lint_only: bool) -> Result<ExitCode, LoadError> {
    let now = time_or_now(a.now.as_deref())?;
    let keys = publisher_keys(a.publisher_key.as_deref())?;
    let options = LoadOptions::new()
        .publisher_keys(keys.as_ref())
        .audience(audience(a.audience.as_deref())?)
        .map_err(LoadError)?;
    let bytes = read(&a.file)?;
    let name = a.file.display();
    let ks = match load_keyset_with(&bytes, &options) {
        Ok(ks) => ks,
        Err(KgLoad::Keyset(errs)) => {
            for e in errs.errors() {
                eprintln!("{name}: error: {e}");
            }
            return Ok(ExitCode::from(2));
        }
        Err(e) => {
            eprintln!("{name}: error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let lints = ks.lint(now);
    let level = if a.strict { "error" } else { "warning" };
    for l in &lints {
        if lint_only {
            println!("{name}: {level}: {l}");
        } else {
            eprintln!("{name}: {level}: {l}");
        }
    }
    if a.strict && !lints.is_empty() {
        return Ok(ExitCode::from(2));
    }
    if !lint_only {
        println!(
            "{name}: valid key set, revision {}, {} keys, {} routes, {} warnings",
            ks.revision(),
            ks.keys().len(),
            ks.routes().len(),
            lints.len()
        );
    }
    Ok(ExitCode::SUCCESS)
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

pub fn show(file: &Path, as_json: bool) -> Result<ExitCode, LoadError> {
    let bytes = read(file)?;
    let ks = KeySet::from_json(&bytes)
        .map_err(|e| LoadError(format!("{}: invalid key set:\n{e}", file.display())))?;
    let doc: Value = serde_json::from_slice(&bytes).map_err(|e| LoadError(e.to_string()))?;
    let s = summary(&ks, &doc);
    if as_json {
        println!("{s}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "revision {} issued {}{}",
        ks.revision(),
        s["issued_at"].as_str().unwrap_or("-"),
        s["expires_at"]
            .as_str()
            .map(|e| format!(", set expires {e}"))
            .unwrap_or_default()
    );
    println!(
        "{:<24} {:<9} {:<22} {:<21} SCOPES",
        "ID", "STATUS", "CREDENTIALS", "EXPIRES"
    );
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
        println!(
            "{:<24} {:<9} {:<22} {:<21} {}",
            k["id"].as_str().unwrap_or(""),
            k["status"].as_str().unwrap_or(""),
            creds.join("+"),
            k["expires_at"].as_str().unwrap_or("never"),
            scopes.join(" ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
