//! The key set's rules: the `policy` object and each entry of `routes`, validated into
//! [`Policy`] and [`Route`] with every error at its JSON path.

use serde_json::Value;

use super::ctx::{Ctx, check_method};
use super::{DefaultRoute, PathCase, Policy, Route, StalePolicy, TrailingSlash};
use crate::json::JsonPath;
use crate::route::PathPattern;

const POLICY_FIELDS: &[&str] = &[
    "clock_skew_seconds",
    "default_route",
    "stale_policy",
    "path_case",
    "trailing_slash",
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
];

pub(super) fn policy(cx: &mut Ctx, v: &Value, path: &JsonPath<'_>) -> Option<Policy> {
    let map = cx.object(v, path, POLICY_FIELDS)?;
    let mut policy = Policy::default();
    if let Some(v) = map.get("clock_skew_seconds")
        && let Some(n) = cx.uint(v, &path.field("clock_skew_seconds"), 0, 3600)
    {
        policy.clock_skew_seconds = n as u32;
    }
    if let Some(v) = map.get("default_route") {
        let p = path.field("default_route");
        match cx.string(v, &p) {
            Some("authenticate") => policy.default_route = DefaultRoute::Authenticate,
            Some("deny") => policy.default_route = DefaultRoute::Deny,
            Some(other) => cx.err(
                &p,
                format!("expected \"authenticate\" or \"deny\", found {other:?}"),
            ),
            None => {}
        }
    }
    if let Some(v) = map.get("stale_policy") {
        let p = path.field("stale_policy");
        match cx.string(v, &p) {
            Some("fail_closed") => policy.stale_policy = StalePolicy::FailClosed,
            Some("serve_stale") => policy.stale_policy = StalePolicy::ServeStale,
            Some(other) => cx.err(
                &p,
                format!("expected \"fail_closed\" or \"serve_stale\", found {other:?}"),
            ),
            None => {}
        }
    }
    if let Some(v) = map.get("path_case") {
        let p = path.field("path_case");
        match cx.string(v, &p) {
            Some("insensitive") => policy.path_case = PathCase::Insensitive,
            Some("sensitive") => policy.path_case = PathCase::Sensitive,
            Some(other) => cx.err(
                &p,
                format!("expected \"insensitive\" or \"sensitive\", found {other:?}"),
            ),
            None => {}
        }
    }
    if let Some(v) = map.get("trailing_slash") {
        let p = path.field("trailing_slash");
        match cx.string(v, &p) {
            Some("optional") => policy.trailing_slash = TrailingSlash::Optional,
            Some("significant") => policy.trailing_slash = TrailingSlash::Significant,
            Some(other) => cx.err(
                &p,
                format!("expected \"optional\" or \"significant\", found {other:?}"),
            ),
            None => {}
        }
    }
    super::sigparse::policy(cx, map, path, &mut policy.signature);
    Some(policy)
}

pub(super) fn route(cx: &mut Ctx, v: &Value, path: &JsonPath<'_>) -> Option<Route> {
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
    Some(Route {
        methods,
        path: pattern?,
        public,
        scopes,
        signature,
    })
}
