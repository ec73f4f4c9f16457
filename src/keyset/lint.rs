//! Lints: warnings about a valid key set that will still load (`--strict` makes them errors).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::secrets::Form;
use super::{
    BodyMethodOverride, DefaultRoute, KeyEntry, KeySet, KeyStatus, Route, SignaturePolicy,
};
use crate::time::UnixTime;

const DAY: i64 = 86_400;
/// Keys living longer than this are flagged.
pub(crate) const MAX_LIFETIME_DAYS: i64 = 90;
/// Active keys expiring within this many days need a successor.
pub(crate) const EXPIRY_WARNING_DAYS: i64 = 7;
/// Revisions above this (half of the range up to `MAX_REVISION`) are flagged.
pub(crate) const REVISION_WARNING: u64 = 1 << 52;

/// One warning about a key set, located by its JSON path.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Lint {
    /// Stable lint code, e.g. `key_never_expires`.
    pub code: &'static str,
    /// JSON path of the value concerned.
    pub path: String,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for Lint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} [{}]", self.path, self.message, self.code)
    }
}

fn methods_covered(later: &Route, earlier: &Route) -> bool {
    match (&earlier.methods, &later.methods) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(e), Some(l)) => l
            .iter()
            .all(|m| e.contains(m) || (m == "HEAD" && e.iter().any(|x| x == "GET"))),
    }
}

/// What the policy's required components leave unbound: the method, the target (`@target-uri`,
/// or `@authority` with `@path` or `@request-target`), or both.
fn unbound(sp: &SignaturePolicy) -> Vec<&'static str> {
    let has = |n: &str| sp.required_components.iter().any(|c| c.name() == n);
    let mut out = Vec::new();
    if !has("@method") {
        out.push("the method (\"@method\")");
    }
    if !(has("@target-uri") || has("@authority") && (has("@path") || has("@request-target"))) {
        out.push("the target (\"@target-uri\", or \"@authority\" with \"@path\")");
    }
    out
}

impl KeySet {
    /// Warnings about this set at `now`: a revision near the limit, no `audience`, signature
    /// policies that do not bind the method and target, keys that never expire or live over 90
    /// days, active keys expiring within 7 days with no successor, routes shadowed by earlier
    /// ones, POST routes `body_method_override: "every_method"` sends to the default, and the
    /// wildcard `*` scope.
    pub fn lint(&self, now: UnixTime) -> Vec<Lint> {
        let mut out = Vec::new();
        if self.revision > REVISION_WARNING {
            out.push(Lint {
                code: "revision_near_limit",
                path: "$.revision".into(),
                message: format!(
                    "revision {} is past 2^52: a verifier that takes it refuses every lower revision, and only {} are left above it; count revisions up by one (keygate keyset bump) or use Unix time in seconds",
                    self.revision,
                    super::MAX_REVISION - self.revision
                ),
            });
        }
        // Empty, blank, overlong and duplicate names, and an empty list, do not load at all.
        if self.audience.is_empty() {
            out.push(Lint {
                code: "audience_missing",
                path: "$".into(),
                message: "the set names no audience, so any gateway that pins this publisher key loads it (a set meant for staging can be pushed to production); name the gateways it is for in \"audience\" and configure each gateway's own (KEYGATE_AUDIENCE, --audience, the audience option)".into(),
            });
        }
        let missing = unbound(&self.policy.signature);
        if !missing.is_empty() {
            out.push(Lint {
                code: "signature_unbound",
                path: "$.policy.required_components".into(),
                message: format!(
                    "signatures need not cover {}, so a signed request can be replayed with another one",
                    missing.join(" or ")
                ),
            });
        }
        for (j, later) in self.routes.iter().enumerate() {
            if let Some(i) = self.routes[..j]
                .iter()
                .position(|e| methods_covered(later, e) && later.path.is_shadowed_by(&e.path))
            {
                out.push(Lint {
                    code: "route_shadowed",
                    path: format!("$.routes[{j}]"),
                    message: format!(
                        "route {} can never match: $.routes[{i}] ({}) matches first",
                        later.path, self.routes[i].path
                    ),
                });
            }
        }
        if self.policy.body_method_override == BodyMethodOverride::EveryMethod {
            body_method_lints(&mut out, self);
        }
        let mut successors = None;
        let any_sealed = self.keys.iter().any(|k| {
            k.secrets.as_deref().is_some_and(|s| {
                [&s.signing, &s.webhook]
                    .iter()
                    .any(|f| matches!(f, Form::Sealed { .. }))
            })
        });
        let listed: std::collections::HashSet<&str> = self
            .routes
            .iter()
            .flat_map(|r| r.webhook_keys.iter().map(String::as_str))
            .collect();
        for (i, key) in self.keys.iter().enumerate() {
            let path = format!("$.keys[{i}]");
            secret_lints(&mut out, key, &path, any_sealed);
            let has_webhook = key.webhook.is_some()
                || key
                    .secrets
                    .as_deref()
                    .is_some_and(|s| s.webhook != Form::None);
            if has_webhook && !listed.contains(key.id.as_str()) {
                out.push(Lint {
                    code: "webhook_key_unlisted",
                    path: format!("{path}.webhook"),
                    message: format!(
                        "key {:?} has a webhook key, but no route lists it in webhook_keys, so no delivery can use it",
                        key.id
                    ),
                });
            }
            if key.status == KeyStatus::Revoked {
                continue;
            }
            match key.expires_at {
                None => out.push(Lint {
                    code: "key_never_expires",
                    path: path.clone(),
                    message: format!("key {:?} never expires; set expires_at", key.id),
                }),
                Some(exp) => {
                    let start = key.not_before.or(self.issued_at).unwrap_or(now);
                    let days = exp.as_secs().saturating_sub(start.as_secs()) / DAY;
                    if days > MAX_LIFETIME_DAYS {
                        out.push(Lint {
                            code: "key_lifetime_long",
                            path: format!("{path}.expires_at"),
                            message: format!(
                                "key {:?} lives {days} days (more than {MAX_LIFETIME_DAYS}); rotate keys more often",
                                key.id
                            ),
                        });
                    }
                    let soon = exp > now
                        && exp.as_secs().saturating_sub(now.as_secs()) <= EXPIRY_WARNING_DAYS * DAY;
                    let successors = successors.get_or_insert_with(|| Successors::new(self));
                    if soon && key.status == KeyStatus::Active && !successors.has(self, i) {
                        out.push(Lint {
                            code: "key_expiring_no_successor",
                            path: format!("{path}.expires_at"),
                            message: format!(
                                "active key {:?} expires at {exp} and no other active key with the same scopes outlives it; rotate it (keygate keyset rotate)",
                                key.id
                            ),
                        });
                    }
                }
            }
            if let Some(j) = key.scopes.iter().position(|s| s == "*") {
                out.push(Lint {
                    code: "scope_wildcard",
                    path: format!("{path}.scopes[{j}]"),
                    message: format!(
                        "key {:?} holds the wildcard scope \"*\", which grants everything",
                        key.id
                    ),
                });
            }
        }
        out
    }
}

/// `body_method_uncovered`: under `body_method_override: "every_method"` a POST is also judged
/// as the methods no route lists, which only routes without `methods` match. A route for POST
/// whose path no such route covers sends them to the default: every POST it matches is
/// `route_denied` under a `deny` default, and not public when the route is public.
fn body_method_lints(out: &mut Vec<Lint>, ks: &KeySet) {
    let deny = ks.policy.default_route == DefaultRoute::Deny;
    for (j, r) in ks.routes.iter().enumerate() {
        if r.methods.is_none() || !r.applies_to_method("POST") || !(deny || r.public) {
            continue;
        }
        let covered = |public: bool| {
            ks.routes.iter().any(|e| {
                e.methods.is_none() && (e.public || !public) && r.path.is_shadowed_by(&e.path)
            })
        };
        let (cover, outcome) = if deny && !covered(false) {
            (
                "route",
                "they fall to the deny default: every POST there is route_denied",
            )
        } else if r.public && !covered(true) {
            ("public route", "a POST there is not public")
        } else {
            continue;
        };
        out.push(Lint {
            code: "body_method_uncovered",
            path: format!("$.routes[{j}]"),
            message: format!(
                "under body_method_override \"every_method\" a POST to {} is also judged as the methods no route lists, and no {cover} without \"methods\" covers its path: {outcome}; add one",
                r.path
            ),
        });
    }
}

/// `secret_not_sealed` (a clear secret in a set that seals others) and `sealed_not_opened` (a
/// sealed secret read by form only). Revoked keys count too: their secrets are still secrets.
fn secret_lints(out: &mut Vec<Lint>, key: &KeyEntry, path: &str, any_sealed: bool) {
    let Some(forms) = key.secrets.as_deref() else {
        return;
    };
    for (credential, form) in [("signing", &forms.signing), ("webhook", &forms.webhook)] {
        match form {
            Form::Clear(member) if any_sealed => out.push(Lint {
                code: "secret_not_sealed",
                path: format!("{path}.{credential}.{member}"),
                message: format!(
                    "key {:?} holds its {credential} secret in clear text while the set seals others; seal it (keygate keyset seal)",
                    key.id
                ),
            }),
            Form::Sealed { kid, opened: false } => out.push(Lint {
                code: "sealed_not_opened",
                path: format!("{path}.{credential}.sealed"),
                message: format!(
                    "key {:?}: the {credential} secret sealed under seal key {kid:?} was checked by form only (no seal keys given), so whether it opens is not known",
                    key.id
                ),
            }),
            _ => {}
        }
    }
}

/// For the successor lint: the active keys grouped by scope list (lists are shared between
/// keys with identical scopes), with the two that live longest in each group. Answering for a
/// key then costs one pass over the distinct lists, not over every key.
struct Successors {
    /// (a key holding the list, the two longest-living active keys with it: (expiry, index);
    /// `None` expiry = never).
    groups: Vec<(usize, Top2)>,
}

/// The two longest-living keys of a group: (expiry, `None` = never; key index).
type Top2 = [Option<(Option<UnixTime>, usize)>; 2];

/// Whether expiry `a` outlives `b` (`None` is never).
fn outlives(a: Option<UnixTime>, b: Option<UnixTime>) -> bool {
    match (a, b) {
        (None, Some(_)) => true,
        (Some(a), Some(b)) => a > b,
        (_, None) => false,
    }
}

impl Successors {
    fn new(ks: &KeySet) -> Self {
        let mut by_list: HashMap<*const [String], usize> = HashMap::new();
        let mut groups: Vec<(usize, Top2)> = Vec::new();
        for (i, k) in ks.keys.iter().enumerate() {
            if k.status != KeyStatus::Active {
                continue;
            }
            let g = *by_list.entry(Arc::as_ptr(&k.scopes)).or_insert_with(|| {
                groups.push((i, [None, None]));
                groups.len() - 1
            });
            let top = &mut groups[g].1;
            let entry = Some((k.expires_at, i));
            if top[0].is_none_or(|(e, _)| outlives(k.expires_at, e)) {
                top[1] = top[0];
                top[0] = entry;
            } else if top[1].is_none_or(|(e, _)| outlives(k.expires_at, e)) {
                top[1] = entry;
            }
        }
        Successors { groups }
    }

    /// Another active key granting every scope of key `i` that expires later (or never).
    fn has(&self, ks: &KeySet, i: usize) -> bool {
        let key = &ks.keys[i];
        self.groups.iter().any(|(holder, top)| {
            let best = top.iter().flatten().find(|(_, j)| *j != i);
            best.is_some_and(|(e, _)| outlives(*e, key.expires_at))
                && key
                    .scopes
                    .iter()
                    .all(|s| ks.keys[*holder].scopes.contains(s))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H1: &str = "sha256:QILgfQrM_pehYd6w7LCzo4CfZtxrNIxj_rAcek76bm8";
    const H2: &str = "sha256:kX7g4eihPy3mfGy1EFWuediztnvz-i2Bv1r-bB4-47M";

    fn lint(json: &str, now: &str) -> Vec<(&'static str, String)> {
        let ks = KeySet::from_json(json.as_bytes()).unwrap();
        ks.lint(UnixTime::parse_rfc3339(now).unwrap())
            .into_iter()
            .map(|l| (l.code, l.path))
            .collect()
    }

    #[test]
    fn a_set_naming_no_audience_is_flagged() {
        let at = |audience: &str| format!(r#"{{"keygate":1,"revision":1,{audience}"keys":[]}}"#);
        let now = "2026-11-29T00:00:00Z";
        assert_eq!(
            lint(&at(""), now),
            vec![("audience_missing", "$".to_string())]
        );
        let ks = KeySet::from_json(at("").as_bytes()).unwrap();
        let l = &ks.lint(UnixTime::parse_rfc3339(now).unwrap())[0];
        assert!(l.message.contains("KEYGATE_AUDIENCE"), "{}", l.message);
        assert!(lint(&at(r#""audience":"api-prod","#), now).is_empty());
        assert!(lint(&at(r#""audience":["api-prod","api-prod-eu"],"#), now).is_empty());
        // What load refuses is an error, never also a lint.
        for refused in [
            r#""audience":[],"#,
            r#""audience":"","#,
            r#""audience":["a","a"],"#,
        ] {
            assert!(
                KeySet::from_json(at(refused).as_bytes()).is_err(),
                "{refused}"
            );
        }
    }

    #[test]
    fn each_lint_fires() {
        let json = format!(
            r#"{{"keygate":1,"revision":1,"issued_at":"2026-11-01T00:00:00Z",
            "routes":[{{"path":"/v1/**"}},{{"methods":["GET"],"path":"/v1/orders/*"}}],
            "keys":[{{"id":"a","api_key_hash":"{H1}","scopes":["*"]}},
                    {{"id":"b","api_key_hash":"{H2}","expires_at":"2027-11-01T00:00:00Z"}}]}}"#
        );
        let got = lint(&json, "2026-11-29T00:00:00Z");
        assert_eq!(
            got,
            vec![
                ("audience_missing", "$".to_string()),
                ("route_shadowed", "$.routes[1]".to_string()),
                ("key_never_expires", "$.keys[0]".to_string()),
                ("scope_wildcard", "$.keys[0].scopes[0]".to_string()),
                ("key_lifetime_long", "$.keys[1].expires_at".to_string()),
            ]
        );
    }

    #[test]
    fn expiring_key_needs_a_successor() {
        let lone = format!(
            r#"{{"keygate":1,"revision":1,"audience":"api","keys":[
            {{"id":"a","api_key_hash":"{H1}","scopes":["x"],"not_before":"2026-11-01T00:00:00Z","expires_at":"2026-12-02T00:00:00Z"}}]}}"#
        );
        assert_eq!(
            lint(&lone, "2026-11-29T00:00:00Z"),
            vec![(
                "key_expiring_no_successor",
                "$.keys[0].expires_at".to_string()
            )]
        );
        assert!(
            lint(&lone, "2026-11-20T00:00:00Z").is_empty(),
            "not within 7 days yet"
        );
        assert!(
            lint(&lone, "2026-12-03T00:00:00Z").is_empty(),
            "already expired"
        );
        let rotated = format!(
            r#"{{"keygate":1,"revision":2,"audience":"api","keys":[
            {{"id":"a","api_key_hash":"{H1}","scopes":["x"],"not_before":"2026-11-01T00:00:00Z","expires_at":"2026-12-02T00:00:00Z"}},
            {{"id":"a2","api_key_hash":"{H2}","scopes":["x","y"],"not_before":"2026-11-28T00:00:00Z","expires_at":"2027-02-01T00:00:00Z"}}]}}"#
        );
        assert!(lint(&rotated, "2026-11-29T00:00:00Z").is_empty());
    }

    #[test]
    fn signature_policies_must_bind_method_and_target() {
        let with = |components: &str| {
            let json = format!(
                r#"{{"keygate":1,"revision":1,"audience":"api","policy":{{"required_components":{components}}},
                "keys":[{{"id":"a","api_key_hash":"{H1}","not_before":"2026-11-01T00:00:00Z","expires_at":"2026-12-31T00:00:00Z"}}]}}"#
            );
            let ks = KeySet::from_json(json.as_bytes()).unwrap();
            ks.lint(UnixTime::parse_rfc3339("2026-11-29T00:00:00Z").unwrap())
                .into_iter()
                .map(|l| (l.code, l.path, l.message))
                .collect::<Vec<_>>()
        };
        for ok in [
            r#"["@method","@target-uri"]"#,
            r#"["@target-uri","@method","content-digest"]"#,
            r#"["@method","@authority","@path"]"#,
            r#"["@method","@authority","@request-target"]"#,
        ] {
            assert!(with(ok).is_empty(), "{ok}");
        }
        for (weak, says) in [
            (r#"["@target-uri"]"#, "the method"),
            (r#"["@method","@path"]"#, "the target"),
            (r#"["@method","@authority"]"#, "the target"),
            (
                r#"["content-digest"]"#,
                "the method (\"@method\") or the target",
            ),
        ] {
            let got = with(weak);
            assert_eq!(got.len(), 1, "{weak}");
            assert_eq!(got[0].0, "signature_unbound");
            assert_eq!(got[0].1, "$.policy.required_components");
            assert!(got[0].2.contains(says), "{weak}: {}", got[0].2);
        }
    }

    #[test]
    fn distinct_methods_do_not_shadow() {
        let json = format!(
            r#"{{"keygate":1,"revision":1,"audience":"api","routes":[
            {{"methods":["GET"],"path":"/v1/**"}},{{"methods":["POST"],"path":"/v1/x"}},{{"methods":["HEAD"],"path":"/v1/y"}}],
            "keys":[{{"id":"a","api_key_hash":"{H1}","not_before":"2026-11-01T00:00:00Z","expires_at":"2026-12-31T00:00:00Z"}}]}}"#
        );
        assert_eq!(
            lint(&json, "2026-11-29T00:00:00Z"),
            vec![("route_shadowed", "$.routes[2]".to_string())]
        );
    }

    #[test]
    fn post_routes_no_route_for_every_method_covers() {
        let set = |policy: &str, routes: &str| {
            format!(
                r#"{{"keygate":1,"revision":1,"audience":"api","policy":{{{policy}}},"routes":[{routes}],"keys":[]}}"#
            )
        };
        let every = r#""body_method_override":"every_method""#;
        let every_deny = r#""body_method_override":"every_method","default_route":"deny""#;
        let now = "2026-11-29T00:00:00Z";
        let routes = r#"{"methods":["POST"],"path":"/hooks/x","webhook_keys":["k"]},
            {"methods":["GET","POST"],"path":"/login","public":true},
            {"methods":["POST"],"path":"/orders/*","scopes":["w"]},
            {"path":"/orders/**","scopes":["r"]},
            {"methods":["DELETE"],"path":"/admin/**"}"#;
        let with_key = |policy: &str| {
            set(policy, routes).replace(
                r#""keys":[]"#,
                r#""keys":[{"id":"k","webhook":{"secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},"expires_at":"2026-12-31T00:00:00Z"}]"#,
            )
        };
        // Under deny: the webhook route, the public login and its own path's POST rule aside.
        assert_eq!(
            lint(&with_key(every_deny), now),
            vec![
                ("body_method_uncovered", "$.routes[0]".to_string()),
                ("body_method_uncovered", "$.routes[1]".to_string()),
            ]
        );
        // Under authenticate: only the public route loses something.
        assert_eq!(
            lint(&with_key(every), now),
            vec![("body_method_uncovered", "$.routes[1]".to_string())]
        );
        let ks = KeySet::from_json(with_key(every).as_bytes()).unwrap();
        let l = &ks.lint(UnixTime::parse_rfc3339(now).unwrap())[0];
        assert!(
            l.message.contains("/login") && l.message.contains("not public"),
            "{}",
            l.message
        );
        // Not under the default policy.
        assert!(lint(&with_key(""), now).is_empty());
        // A public route for every method covers the public one.
        let covered = set(
            every,
            r#"{"methods":["POST"],"path":"/login","public":true},{"path":"/**","public":true}"#,
        );
        assert!(lint(&covered, now).is_empty());
        let not_public = set(
            every,
            r#"{"methods":["POST"],"path":"/login","public":true},{"path":"/**"}"#,
        );
        assert_eq!(
            lint(&not_public, now),
            vec![("body_method_uncovered", "$.routes[0]".to_string())]
        );
    }

    #[test]
    fn a_revision_near_the_limit_is_flagged() {
        let at =
            |rev: u64| format!(r#"{{"keygate":1,"revision":{rev},"audience":"api","keys":[]}}"#);
        assert!(lint(&at(1 << 52), "2026-11-29T00:00:00Z").is_empty());
        assert!(lint(&at(1_796_000_000), "2026-11-29T00:00:00Z").is_empty());
        let max = at(crate::keyset::MAX_REVISION);
        assert_eq!(
            lint(&max, "2026-11-29T00:00:00Z"),
            vec![("revision_near_limit", "$.revision".to_string())]
        );
        let ks = KeySet::from_json(max.as_bytes()).unwrap();
        let l = &ks.lint(UnixTime::from_secs(0))[0];
        assert!(l.message.contains("only 0 are left"), "{}", l.message);
    }
}
