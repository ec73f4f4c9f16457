//! The key set's rules: the `policy` object and each entry of `routes`, validated into
//! [`Policy`] and [`Route`] with every error at its JSON path.

use serde_json::{Map, Value};

use super::ctx::{Ctx, check_method};
use super::{
    BodyMethodOverride, DefaultRoute, PathCase, Policy, Route, StalePolicy, TrailingSlash,
};
use crate::json::JsonPath;
use crate::route::PathPattern;

const POLICY_FIELDS: &[&str] = &[
    "clock_skew_seconds",
    "default_route",
    "stale_policy",
    "path_case",
    "trailing_slash",
    "body_method_override",
    "max_signature_age_seconds",
    "required_components",
    "require_content_digest",
    "require_nonce",
    "signature_tag",
];
const ROUTE_FIELDS: &[&str] = &[
    "methods",
    "path",
    "public",
    "scopes",
    "require_signature",
    "required_components",
    "webhook_keys",
];

/// One of the documented strings of an enum-valued field (`None` when absent or wrong; a wrong
/// value is reported with the accepted ones).
fn choice<T: Copy>(
    cx: &mut Ctx<'_>,
    v: Option<&Value>,
    path: &JsonPath<'_>,
    options: &[(&str, T)],
) -> Option<T> {
    let s = cx.string(v?, path)?;
    if let Some(&(_, t)) = options.iter().find(|(name, _)| *name == s) {
        return Some(t);
    }
    let names: Vec<String> = options.iter().map(|(n, _)| format!("{n:?}")).collect();
    cx.err(
        path,
        format!("expected {}, found {s:?}", names.join(" or ")),
    );
    None
}

// Out of line: only some key sets (requests) need it, and V8 compiles a wasm function
// whole on its first call (BENCHMARKS.md, "The first load and the first decision").
#[inline(never)]
pub(super) fn policy(cx: &mut Ctx<'_>, v: &Value, path: &JsonPath<'_>) -> Option<Policy> {
    let map = cx.object(v, path, POLICY_FIELDS)?;
    let mut policy = Policy::default();
    if let Some(v) = map.get("clock_skew_seconds")
        && let Some(n) = cx.uint(v, &path.field("clock_skew_seconds"), 0, 3600)
    {
        policy.clock_skew_seconds = n as u32;
    }
    let routes = [
        ("authenticate", DefaultRoute::Authenticate),
        ("deny", DefaultRoute::Deny),
    ];
    let stale = [
        ("fail_closed", StalePolicy::FailClosed),
        ("serve_stale", StalePolicy::ServeStale),
    ];
    let case = [
        ("insensitive", PathCase::Insensitive),
        ("sensitive", PathCase::Sensitive),
    ];
    let slash = [
        ("optional", TrailingSlash::Optional),
        ("significant", TrailingSlash::Significant),
    ];
    if let Some(c) = choice(
        cx,
        map.get("default_route"),
        &path.field("default_route"),
        &routes,
    ) {
        policy.default_route = c;
    }
    if let Some(c) = choice(
        cx,
        map.get("stale_policy"),
        &path.field("stale_policy"),
        &stale,
    ) {
        policy.stale_policy = c;
    }
    if let Some(c) = choice(cx, map.get("path_case"), &path.field("path_case"), &case) {
        policy.path_case = c;
    }
    if let Some(c) = choice(
        cx,
        map.get("trailing_slash"),
        &path.field("trailing_slash"),
        &slash,
    ) {
        policy.trailing_slash = c;
    }
    let body_method = [
        ("ignored", BodyMethodOverride::Ignored),
        ("every_method", BodyMethodOverride::EveryMethod),
    ];
    if let Some(c) = choice(
        cx,
        map.get("body_method_override"),
        &path.field("body_method_override"),
        &body_method,
    ) {
        policy.body_method_override = c;
    }
    super::sigparse::policy(cx, map, path, &mut policy.signature);
    Some(policy)
}

// Out of line: `parse::build` stays a smaller function (V8 compiles a wasm function whole on its
// first call, at a cost that grows with its locals).
#[inline(never)]
pub(super) fn route(cx: &mut Ctx<'_>, v: &Value, path: &JsonPath<'_>) -> Option<Route> {
    let map = cx.object(v, path, ROUTE_FIELDS)?;
    let methods = match map.get("methods") {
        None => None,
        Some(v) => {
            let p = path.field("methods");
            let items = cx.array(v, &p)?;
            if items.is_empty() {
                cx.err(
                    &p,
                    "an empty method list matches nothing; omit the field to match every method",
                );
            }
            let mut ms: Vec<String> = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let ip = p.index(i);
                if let Some(m) = cx.string(item, &ip) {
                    match check_method(m) {
                        Ok(()) => ms.push(m.to_string()),
                        Err(e) => cx.err(&ip, e),
                    }
                }
            }
            Some(ms)
        }
    };
    let pattern = match map.get("path") {
        None => {
            cx.err(
                &path.field("path"),
                "required field missing (a path pattern such as \"/v1/orders/**\")",
            );
            None
        }
        Some(v) => {
            let p = path.field("path");
            cx.string(v, &p).and_then(|s| match PathPattern::parse(s) {
                Ok(pp) => Some(pp),
                Err(e) => {
                    cx.err(&p, e);
                    None
                }
            })
        }
    };
    let public = map
        .get("public")
        .and_then(|v| cx.bool(v, &path.field("public")))
        .unwrap_or(false);
    let scopes = cx.scopes(map.get("scopes"), &path.field("scopes"), false);
    if public && !scopes.is_empty() {
        cx.err(
            &path.field("scopes"),
            "a public route examines no credentials, so it cannot require scopes",
        );
    }
    let signature = super::sigparse::route(cx, map, path, public);
    let webhook_keys = match map.get("webhook_keys") {
        None => Vec::new(),
        Some(v) => webhook_keys(cx, map, v, path, public),
    };
    Some(Route {
        methods,
        path: pattern?,
        public,
        scopes,
        signature,
        webhook_keys,
    })
}

/// A route's `webhook_keys` (out of line: most routes have none).
#[inline(never)]
fn webhook_keys(
    cx: &mut Ctx<'_>,
    map: &Map<String, Value>,
    v: &Value,
    path: &JsonPath<'_>,
    public: bool,
) -> Vec<String> {
    let p = path.field("webhook_keys");
    let keys = super::webhook::route_keys(cx, v, &p);
    if public {
        cx.err(
            &p,
            "a public route examines no credentials, so it cannot accept webhooks",
        );
    }
    for knob in ["require_signature", "required_components"] {
        if map.contains_key(knob) {
            cx.err(
                &path.field(knob),
                "a route with webhook_keys accepts only Standard Webhooks deliveries, so RFC 9421 requirements never apply there",
            );
        }
    }
    keys
}
