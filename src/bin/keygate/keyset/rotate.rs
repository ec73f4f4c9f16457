//! `keyset rotate`: a successor key with the same scopes and networks; the old key keeps
//! working for a grace period, never longer than it already would.

use clap::Args;
use keygate::UnixTime;
use serde_json::{Value, json};

use super::doc::Doc;
use super::edit::{Common, Fresh, finish, unused_id};
use crate::exit::{Exit, Fail, Outcome};
use crate::io::{SecretOut, editable};
use crate::keygen::OutArg;
use crate::util::{parse_duration, parse_prefix, time_or_now};

#[derive(Args)]
pub struct RotateArgs {
    #[command(flatten)]
    pub common: Common,
    /// The key to replace.
    pub id: String,
    /// How long the old key keeps working (its expires_at becomes now + grace, never later than before).
    #[arg(long, value_parser = parse_duration)]
    pub grace: i64,
    /// The new key's id (default: ID-r2, ID-r3, ...).
    #[arg(long)]
    pub new_id: Option<String>,
    /// API key prefix for the new key.
    #[arg(long, default_value = "kg", value_parser = parse_prefix)]
    pub prefix: String,
    /// Lifetime of the new key from now; default: 90d.
    #[arg(long, default_value = "90d", value_parser = parse_duration)]
    pub expires_in: i64,
    #[command(flatten)]
    pub seal: crate::seal::SealArg,
    #[command(flatten)]
    pub out: OutArg,
}

fn next_rotation_id(old: &str) -> String {
    if let Some((base, n)) = old.rsplit_once("-r")
        && let Ok(n) = n.parse::<u32>()
    {
        return format!("{base}-r{}", n + 1);
    }
    format!("{old}-r2")
}

fn rfc3339(old: &Value, field: &str) -> Option<UnixTime> {
    old.get(field)
        .and_then(Value::as_str)
        .and_then(|s| UnixTime::parse_rfc3339(s).ok())
}

pub fn rotate(a: &RotateArgs) -> Outcome {
    let now = time_or_now(a.common.now);
    let file = editable(&a.common.file)?;
    let sealer = crate::seal::sealer(&a.seal)?;
    let sink = SecretOut::open(a.out.out.as_deref())?;
    let mut doc = Doc::open(file)?;
    let i = doc.find(&a.id)?;
    let old = doc.keys_mut()[i].clone();
    if old.get("status").and_then(Value::as_str) == Some("revoked") {
        return Err(Fail::input(format!(
            "key {:?} is revoked; add a new key instead of rotating it",
            a.id
        )));
    }
    let want = match &a.new_id {
        Some(id) => id.clone(),
        None => {
            let mut candidate = next_rotation_id(&a.id);
            while doc.find(&candidate).is_ok() {
                candidate = next_rotation_id(&candidate);
            }
            candidate
        }
    };
    let new_id = unused_id(&mut doc, Some(&want), "")?;
    let mut fresh = Fresh::new(&new_id);
    if old.get("api_key_hash").is_some() {
        fresh.api_key(&a.prefix)?;
    }
    if let Some(alg) = old
        .get("signing")
        .and_then(|s| s.get("alg"))
        .and_then(Value::as_str)
    {
        fresh.signing(alg, None)?;
    }
    // A webhook key is renewed in its scheme (a v1 secret: v1; a public key: a v1a pair).
    if let Some(w) = old.get("webhook").and_then(Value::as_object) {
        let scheme = if w.contains_key("public_key") {
            keygate::webhook::Scheme::V1a
        } else {
            keygate::webhook::Scheme::V1
        };
        let k = keygate::webhook::WebhookSigner::generate(scheme).map_err(Fail::internal)?;
        fresh.entry.insert("webhook".into(), k.entry());
        fresh
            .secrets
            .insert("webhook_key".into(), Value::String(k.to_text().to_string()));
        fresh.secrets.insert("webhook".into(), k.entry());
    }
    let e = &mut fresh.entry;
    e.insert("status".into(), Value::String("active".into()));
    e.insert("not_before".into(), Value::String(now.to_rfc3339()));
    e.insert(
        "expires_at".into(),
        Value::String(now.saturating_add(a.expires_in).to_rfc3339()),
    );
    for field in [
        "scopes",
        "allow_cidrs",
        "deny_cidrs",
        "require_signature",
        "name",
    ] {
        if let Some(v) = old.get(field) {
            e.insert(field.into(), v.clone());
        }
    }
    e.insert("meta".into(), json!({"rotated_from": a.id}));
    super::edit::seal_new(&mut doc, &mut fresh.entry, sealer.as_ref().map(|s| &s.1))?;
    // The old key keeps working for the grace period, never longer than it already would.
    let grace_end = now.saturating_add(a.grace);
    let new_old_exp = rfc3339(&old, "expires_at").map_or(grace_end, |e| e.min(grace_end));
    if rfc3339(&old, "not_before").is_some_and(|nb| nb >= new_old_exp) {
        return Err(Fail::input(format!(
            "key {:?} only becomes valid after the grace period ends; remove or revoke it instead",
            a.id
        )));
    }
    if let Some(o) = doc.keys_mut()[i].as_object_mut() {
        o.insert("expires_at".into(), Value::String(new_old_exp.to_rfc3339()));
    }
    doc.keys_mut()
        .insert(i + 1, Value::Object(fresh.entry.clone()));
    doc.follow_webhooks(&a.id, &new_id);
    finish(&mut doc, &a.common, now)?;
    let old_info = json!({"id": a.id, "expires_at": new_old_exp.to_rfc3339()});
    fresh.deliver(sink, Some(("old", old_info)))?;
    Ok(Exit::Success)
}
