//! A key entry's `webhook` (Standard Webhooks) and a route's `webhook_keys`, validated with
//! their JSON paths. The key texts themselves are `crate::webhook`'s.
//!
//! ```json
//! {"id": "svix-prod", "webhook": {"secret": "whsec_…"}}
//! {"id": "acme", "webhook": {"public_key": "whpk_…"}}
//! {"id": "svix-prod-2", "webhook": {"sealed": "<JWE of the whsec_ text>"}}
//! {"methods": ["POST"], "path": "/hooks/svix", "webhook_keys": ["svix-prod", "svix-prod-2"]}
//! ```

use serde_json::{Map, Value};

use super::ctx::{Ctx, check_key_id};
use super::secrets::{Form, Sealed, plaintext_error};
use crate::json::JsonPath;
use crate::webhook::{MAX_TOKENS, WebhookKey, WebhookSecret};

/// The most keys a route may list (each is tried on every delivery: a bound on the work an
/// unauthenticated sender causes).
pub const MAX_WEBHOOK_KEYS: usize = MAX_TOKENS;

/// Reads a key's `webhook`: the key (none when sealed and read by form only, or invalid) and
/// how its secret is written.
// Out of line: only some key sets (requests) need it, and V8 compiles a wasm function
// whole on its first call (BENCHMARKS.md, "The first load and the first decision").
#[inline(never)]
pub(super) fn key(cx: &mut Ctx<'_>, v: &Value, path: &JsonPath<'_>) -> (Option<WebhookKey>, Form) {
    let none = (None, Form::None);
    let Some(map) = cx.object(v, path, &["secret", "public_key", "sealed"]) else {
        return none;
    };
    let given: Vec<&str> = ["secret", "public_key", "sealed"]
        .into_iter()
        .filter(|m| map.contains_key(*m))
        .collect();
    match given.as_slice() {
        [] => {
            cx.err(
                path,
                "a webhook key needs \"secret\" (whsec_…, v1), \"public_key\" (whpk_…, v1a) or \"sealed\"",
            );
            none
        }
        [one] => read_one(cx, map, one, &path.field(one)),
        _ => {
            let names: Vec<String> = given.iter().map(|m| format!("{m:?}")).collect();
            cx.err(
                path,
                format!("give one of {}, not several", names.join(", ")),
            );
            none
        }
    }
}

fn read_one(
    cx: &mut Ctx<'_>,
    map: &Map<String, Value>,
    member: &str,
    at: &JsonPath<'_>,
) -> (Option<WebhookKey>, Form) {
    let none = (None, Form::None);
    if member == "sealed" {
        return match super::secrets::open(cx, &map["sealed"], at) {
            None => none,
            Some(Sealed::Unopened(kid)) => (None, Sealed::Unopened(kid).form()),
            Some(s @ Sealed::Opened(..)) => {
                let form = s.form();
                let Sealed::Opened(text, _) = s else {
                    return none;
                };
                if text.starts_with("whpk_") {
                    cx.err(
                        at,
                        "only secrets are sealed: a whpk_ public key is not secret (use \"public_key\")",
                    );
                    return none;
                }
                match WebhookSecret::from_text(&text) {
                    Ok(s) => (Some(WebhookKey::V1(s)), form),
                    Err(e) => {
                        cx.err(at, plaintext_error(&e));
                        none
                    }
                }
            }
        };
    }
    let Some(text) = cx.string(&map[member], at) else {
        return none;
    };
    let read = if member == "secret" {
        if text.starts_with("whpk_") || text.starts_with("whsk_") {
            Err("a \"secret\" is a v1 whsec_… secret; an Ed25519 key goes in \"public_key\" (whpk_…)".to_string())
        } else {
            WebhookSecret::from_text(text).map(WebhookKey::V1)
        }
    } else {
        WebhookKey::public_key(text)
    };
    match read {
        Ok(k) => {
            let form = if member == "secret" {
                Form::Clear("secret")
            } else {
                Form::None
            };
            (Some(k), form)
        }
        Err(e) => {
            cx.err(at, e);
            none
        }
    }
}

/// Reads a route's `webhook_keys` (syntax only: that each id names a key with `webhook` is
/// checked once the keys are read).
pub(super) fn route_keys(cx: &mut Ctx<'_>, v: &Value, path: &JsonPath<'_>) -> Vec<String> {
    let Some(items) = cx.strings(v, path) else {
        return Vec::new();
    };
    if v.as_array().is_some_and(Vec::is_empty) {
        cx.err(
            path,
            "an empty list accepts no webhook; omit the field for a route that takes other credentials",
        );
    }
    if items.len() > MAX_WEBHOOK_KEYS {
        cx.err(
            path,
            format!(
                "at most {MAX_WEBHOOK_KEYS} keys (each is tried on every delivery), found {}",
                items.len()
            ),
        );
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for (i, id) in items {
        let p = path.index(i);
        if let Err(e) = check_key_id(&id) {
            cx.err(&p, e);
        } else if out.iter().any(|o| *o == *id) {
            cx.err(&p, format!("key {id:?} is listed twice"));
        } else {
            out.push(id.into_owned());
        }
    }
    out
}

impl super::KeyEntry {
    /// Whether the entry has a `webhook` key (opened, or sealed and read by form only): what a
    /// route's `webhook_keys` must name.
    pub(super) fn has_webhook(&self) -> bool {
        self.webhook.is_some()
            || self
                .secrets
                .as_deref()
                .is_some_and(|s| !matches!(s.webhook, Form::None))
    }
}
