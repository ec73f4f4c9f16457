//! Key set validation: JSON in, a [`KeySet`] or every error with its JSON path out.

use std::collections::HashMap;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{
    DefaultRoute, KeyEntry, KeySet, KeyStatus, KeysetError, KeysetErrors, Policy, Route,
    StalePolicy,
};
use crate::apikey::ApiKeyDigest;
use crate::cidr::Cidr;
use crate::json::{JsonPath, parse_strict, suggest, type_name};
use crate::route::PathPattern;
use crate::time::UnixTime;

/// Revisions stay within JavaScript's exact integer range (2^53 - 1).
pub const MAX_REVISION: u64 = (1 << 53) - 1;

const TOP_FIELDS: &[&str] = &[
    "keygate",
    "revision",
    "issued_at",
    "expires_at",
    "policy",
    "deny_cidrs",
    "routes",
    "keys",
];
const POLICY_FIELDS: &[&str] = &["clock_skew_seconds", "default_route", "stale_policy"];
const ROUTE_FIELDS: &[&str] = &["methods", "path", "public", "scopes"];
const KEY_FIELDS: &[&str] = &[
    "id",
    "api_key_hash",
    "status",
    "not_before",
    "expires_at",
    "scopes",
    "allow_cidrs",
    "deny_cidrs",
    "name",
    "meta",
];

/// Collects errors while walking the document.
struct Ctx {
    errors: Vec<KeysetError>,
}

impl Ctx {
    fn err(&mut self, path: &JsonPath, message: impl Into<String>) {
        self.errors.push(KeysetError {
            path: path.to_string(),
            message: message.into(),
        });
    }

    fn object<'v>(
        &mut self,
        v: &'v Value,
        path: &JsonPath,
        allowed: &[&str],
    ) -> Option<&'v Map<String, Value>> {
        let Value::Object(map) = v else {
            self.err(path, format!("expected an object, found {}", type_name(v)));
            return None;
        };
        for k in map.keys() {
            if !allowed.contains(&k.as_str()) {
                let hint = suggest(k, allowed)
                    .map(|s| format!(" (did you mean {s:?}?)"))
                    .unwrap_or_default();
                self.err(&path.field(k), format!("unknown field{hint}"));
            }
        }
        Some(map)
    }

    fn string<'v>(&mut self, v: &'v Value, path: &JsonPath) -> Option<&'v str> {
        match v {
            Value::String(s) => Some(s),
            other => {
                self.err(
                    path,
                    format!("expected a string, found {}", type_name(other)),
                );
                None
            }
        }
    }

    fn bool(&mut self, v: &Value, path: &JsonPath) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            other => {
                self.err(
                    path,
                    format!("expected true or false, found {}", type_name(other)),
                );
                None
            }
        }
    }

    fn uint(&mut self, v: &Value, path: &JsonPath, min: u64, max: u64) -> Option<u64> {
        match v.as_u64() {
            Some(n) if (min..=max).contains(&n) => Some(n),
            Some(n) => {
                self.err(path, format!("{n} is out of range {min}..={max}"));
                None
            }
            None => {
                let found = if v.is_number() {
                    "a negative or fractional number"
                } else {
                    type_name(v)
                };
                self.err(
                    path,
                    format!("expected an integer in {min}..={max}, found {found}"),
                );
                None
            }
        }
    }

    fn time(&mut self, v: &Value, path: &JsonPath) -> Option<UnixTime> {
        let s = self.string(v, path)?;
        match UnixTime::parse_rfc3339(s) {
            Ok(t) => Some(t),
            Err(e) => {
                self.err(path, format!("invalid RFC 3339 time {s:?}: {e}"));
                None
            }
        }
    }

    fn array<'v>(&mut self, v: &'v Value, path: &JsonPath) -> Option<&'v [Value]> {
        match v {
            Value::Array(a) => Some(a),
            other => {
                self.err(
                    path,
                    format!("expected an array, found {}", type_name(other)),
                );
                None
            }
        }
    }

    fn cidrs(&mut self, v: Option<&Value>, path: &JsonPath) -> Vec<Cidr> {
        let Some(v) = v else { return Vec::new() };
        let Some(items) = self.array(v, path) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let p = path.index(i);
            if let Some(s) = self.string(item, &p) {
                match Cidr::parse(s) {
                    Ok(c) => out.push(c),
                    Err(e) => self.err(&p, e),
                }
            }
        }
        out
    }

    fn scopes(&mut self, v: Option<&Value>, path: &JsonPath, allow_wildcard: bool) -> Vec<String> {
        let Some(v) = v else { return Vec::new() };
        let Some(items) = self.array(v, path) else {
            return Vec::new();
        };
        let mut out: Vec<String> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let p = path.index(i);
            let Some(s) = self.string(item, &p) else {
                continue;
            };
            match check_scope(s, allow_wildcard) {
                Ok(()) if out.iter().any(|o| o == s) => {
                    self.err(&p, format!("duplicate scope {s:?}"))
                }
                Ok(()) => out.push(s.to_string()),
                Err(e) => self.err(&p, e),
            }
        }
        out
    }
}

/// Scope syntax: `[A-Za-z0-9._:/-]{1,128}`, optionally ending in `*` (keys only); `*` alone
/// grants everything.
fn check_scope(s: &str, allow_wildcard: bool) -> Result<(), String> {
    let body = match s.strip_suffix('*') {
        Some(b) if allow_wildcard => b,
        Some(_) => {
            return Err(format!(
                "route scope {s:?} must not contain '*' (wildcards belong on keys)"
            ));
        }
        None => s,
    };
    if s.is_empty() || s.len() > 128 {
        return Err("a scope is 1 to 128 characters".into());
    }
    if let Some(c) = body
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._:/-".contains(*c)))
    {
        return Err(format!(
            "invalid character {c:?} in scope {s:?} (allowed: A-Z a-z 0-9 . _ : / - and a trailing *)"
        ));
    }
    Ok(())
}

fn check_key_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 128 {
        return Err(format!(
            "key id must be 1 to 128 characters, got {}",
            id.len()
        ));
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._:-".contains(*c)))
    {
        return Err(format!(
            "invalid character {c:?} in key id (allowed: A-Z a-z 0-9 . _ : -)"
        ));
    }
    Ok(())
}

fn check_method(m: &str) -> Result<(), String> {
    let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if m.is_empty() || !m.chars().all(tchar) {
        return Err(format!("{m:?} is not an HTTP method token"));
    }
    if m.chars().any(|c| c.is_ascii_lowercase()) {
        return Err(format!(
            "methods are case-sensitive: write {:?}",
            m.to_ascii_uppercase()
        ));
    }
    Ok(())
}

pub(super) fn parse(bytes: &[u8]) -> Result<KeySet, KeysetErrors> {
    let root = JsonPath::root();
    let doc = parse_strict(bytes).map_err(|e| {
        KeysetErrors(vec![KeysetError {
            path: root.to_string(),
            message: format!("invalid JSON: {e}"),
        }])
    })?;
    let mut cx = Ctx { errors: Vec::new() };
    let built = build(&mut cx, &doc, &root);
    match built {
        Some(mut ks) if cx.errors.is_empty() => {
            ks.payload_sha256 = Sha256::digest(bytes).into();
            Ok(ks)
        }
        _ => {
            if cx.errors.is_empty() {
                cx.err(&root, "invalid key set");
            }
            Err(KeysetErrors(cx.errors))
        }
    }
}

fn build(cx: &mut Ctx, doc: &Value, root: &JsonPath) -> Option<KeySet> {
    let top = cx.object(doc, root, TOP_FIELDS)?;

    match top.get("keygate") {
        None => cx.err(
            &root.field("keygate"),
            "required field missing (the format version, 1)",
        ),
        Some(v) if v.as_u64() == Some(1) => {}
        Some(v) => cx.err(
            &root.field("keygate"),
            format!("unsupported key set version {v}; this verifier reads version 1"),
        ),
    }
    let revision = match top.get("revision") {
        None => {
            cx.err(
                &root.field("revision"),
                "required field missing (an integer >= 1)",
            );
            None
        }
        Some(v) => cx.uint(v, &root.field("revision"), 1, MAX_REVISION),
    };
    let issued_at = top
        .get("issued_at")
        .and_then(|v| cx.time(v, &root.field("issued_at")));
    let expires_at = top
        .get("expires_at")
        .and_then(|v| cx.time(v, &root.field("expires_at")));
    if let (Some(i), Some(e)) = (issued_at, expires_at)
        && i >= e
    {
        cx.err(
            &root.field("expires_at"),
            format!("the key set's expires_at ({e}) must be later than its issued_at ({i})"),
        );
    }
    let policy = match top.get("policy") {
        Some(v) => parse_policy(cx, v, &root.field("policy")),
        None => Some(Policy::default()),
    };
    let deny_cidrs = cx.cidrs(top.get("deny_cidrs"), &root.field("deny_cidrs"));

    let mut routes = Vec::new();
    if let Some(v) = top.get("routes") {
        let p = root.field("routes");
        if let Some(items) = cx.array(v, &p) {
            for (i, item) in items.iter().enumerate() {
                if let Some(r) = parse_route(cx, item, &p.index(i)) {
                    routes.push(r);
                }
            }
        }
    }

    let mut keys = Vec::new();
    let mut by_id: HashMap<String, u32> = HashMap::new();
    let mut by_digest = super::DigestMap::default();
    match top.get("keys") {
        None => cx.err(
            &root.field("keys"),
            "required field missing (an array of key entries)",
        ),
        Some(v) => {
            let p = root.field("keys");
            if let Some(items) = cx.array(v, &p) {
                keys.reserve(items.len());
                by_id.reserve(items.len());
                by_digest.reserve(items.len());
                for (i, item) in items.iter().enumerate() {
                    let kp = p.index(i);
                    let Some(entry) = parse_key(cx, item, &kp) else {
                        continue;
                    };
                    let idx = u32::try_from(keys.len()).unwrap_or(u32::MAX);
                    if let Some(&first) = by_id.get(&entry.id) {
                        cx.err(
                            &kp.field("id"),
                            format!(
                                "duplicate key id {:?} (first used at $.keys[{}])",
                                entry.id,
                                first_index(&keys, first)
                            ),
                        );
                        continue;
                    }
                    if let Some(d) = entry.api_key_hash {
                        if let Some(&first) = by_digest.get(&d) {
                            cx.err(
                                &kp.field("api_key_hash"),
                                format!(
                                    "duplicate API key digest (also used by key {:?})",
                                    keys_id(&keys, first)
                                ),
                            );
                            continue;
                        }
                        by_digest.insert(d, idx);
                    }
                    by_id.insert(entry.id.clone(), idx);
                    keys.push((i, entry));
                }
            }
        }
    }

    let revision = revision?;
    Some(KeySet {
        revision,
        issued_at,
        expires_at,
        policy: policy?,
        deny_cidrs,
        routes,
        keys: keys.into_iter().map(|(_, k)| k).collect(),
        by_digest,
        by_id,
        payload_sha256: [0; 32],
    })
}

fn first_index(keys: &[(usize, KeyEntry)], idx: u32) -> usize {
    keys[idx as usize].0
}

fn keys_id(keys: &[(usize, KeyEntry)], idx: u32) -> &str {
    &keys[idx as usize].1.id
}

fn parse_policy(cx: &mut Ctx, v: &Value, path: &JsonPath) -> Option<Policy> {
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
    Some(policy)
}

fn parse_route(cx: &mut Ctx, v: &Value, path: &JsonPath) -> Option<Route> {
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
    Some(Route {
        methods,
        path: pattern?,
        public,
        scopes,
    })
}

fn parse_key(cx: &mut Ctx, v: &Value, path: &JsonPath) -> Option<KeyEntry> {
    let map = cx.object(v, path, KEY_FIELDS)?;
    let id = match map.get("id") {
        None => {
            cx.err(&path.field("id"), "required field missing");
            None
        }
        Some(v) => {
            let p = path.field("id");
            cx.string(v, &p).and_then(|s| match check_key_id(s) {
                Ok(()) => Some(s.to_string()),
                Err(e) => {
                    cx.err(&p, e);
                    None
                }
            })
        }
    };
    let api_key_hash = map.get("api_key_hash").and_then(|v| {
        let p = path.field("api_key_hash");
        let s = cx.string(v, &p)?;
        ApiKeyDigest::parse(s).map_err(|e| cx.err(&p, e)).ok()
    });
    if !map.contains_key("api_key_hash") {
        cx.err(
            path,
            "a key needs at least one credential: \"api_key_hash\"",
        );
    }
    let status = match map.get("status") {
        None => Some(KeyStatus::Active),
        Some(v) => {
            let p = path.field("status");
            match cx.string(v, &p) {
                Some("active") => Some(KeyStatus::Active),
                Some("disabled") => Some(KeyStatus::Disabled),
                Some("revoked") => Some(KeyStatus::Revoked),
                Some(other) => {
                    cx.err(
                        &p,
                        format!(
                            "expected \"active\", \"disabled\" or \"revoked\", found {other:?}"
                        ),
                    );
                    None
                }
                None => None,
            }
        }
    };
    let not_before = map
        .get("not_before")
        .and_then(|v| cx.time(v, &path.field("not_before")));
    let expires_at = map
        .get("expires_at")
        .and_then(|v| cx.time(v, &path.field("expires_at")));
    if let (Some(nb), Some(ex)) = (not_before, expires_at)
        && nb >= ex
    {
        cx.err(
            &path.field("not_before"),
            format!("not_before ({nb}) must be earlier than expires_at ({ex})"),
        );
    }
    let scopes = cx.scopes(map.get("scopes"), &path.field("scopes"), true);
    let allow_cidrs = cx.cidrs(map.get("allow_cidrs"), &path.field("allow_cidrs"));
    let deny_cidrs = cx.cidrs(map.get("deny_cidrs"), &path.field("deny_cidrs"));
    let name = map.get("name").and_then(|v| {
        let p = path.field("name");
        let s = cx.string(v, &p)?;
        if s.chars().count() > 256 {
            cx.err(&p, "a name is at most 256 characters");
        }
        Some(s.to_string())
    });
    if let Some(v) = map.get("meta")
        && !v.is_object()
    {
        cx.err(
            &path.field("meta"),
            format!("expected an object, found {}", type_name(v)),
        );
    }
    Some(KeyEntry {
        id: id?,
        api_key_hash,
        status: status?,
        not_before,
        expires_at,
        scopes,
        allow_cidrs,
        deny_cidrs,
        name,
    })
}
