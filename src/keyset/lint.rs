//! Lints: warnings about a valid key set that will still load (`--strict` makes them errors).

use std::fmt;

use super::{KeySet, KeyStatus, Route};
use crate::time::UnixTime;

const DAY: i64 = 86_400;
/// Keys living longer than this are flagged.
pub(crate) const MAX_LIFETIME_DAYS: i64 = 90;
/// Active keys expiring within this many days need a successor.
pub(crate) const EXPIRY_WARNING_DAYS: i64 = 7;

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

impl KeySet {
    /// Warnings about this set at `now`: keys that never expire or live over 90 days, active
    /// keys expiring within 7 days with no successor, routes shadowed by earlier ones, and
    /// the wildcard `*` scope.
    pub fn lint(&self, now: UnixTime) -> Vec<Lint> {
        let mut out = Vec::new();
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
        for (i, key) in self.keys.iter().enumerate() {
            let path = format!("$.keys[{i}]");
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
                    let days = (exp.as_secs() - start.as_secs()) / DAY;
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
                    let soon =
                        exp > now && exp.as_secs() - now.as_secs() <= EXPIRY_WARNING_DAYS * DAY;
                    if soon && key.status == KeyStatus::Active && !self.has_successor(i) {
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

    /// Another active key granting every scope of key `i` that expires later (or never).
    fn has_successor(&self, i: usize) -> bool {
        let key = &self.keys[i];
        self.keys.iter().enumerate().any(|(j, other)| {
            j != i
                && other.status == KeyStatus::Active
                && match (other.expires_at, key.expires_at) {
                    (None, _) => true,
                    (Some(o), Some(k)) => o > k,
                    (Some(_), None) => false,
                }
                && key.scopes.iter().all(|s| other.scopes.contains(s))
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
            r#"{{"keygate":1,"revision":1,"keys":[
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
            r#"{{"keygate":1,"revision":2,"keys":[
            {{"id":"a","api_key_hash":"{H1}","scopes":["x"],"not_before":"2026-11-01T00:00:00Z","expires_at":"2026-12-02T00:00:00Z"}},
            {{"id":"a2","api_key_hash":"{H2}","scopes":["x","y"],"not_before":"2026-11-28T00:00:00Z","expires_at":"2027-02-01T00:00:00Z"}}]}}"#
        );
        assert!(lint(&rotated, "2026-11-29T00:00:00Z").is_empty());
    }

    #[test]
    fn distinct_methods_do_not_shadow() {
        let json = format!(
            r#"{{"keygate":1,"revision":1,"routes":[
            {{"methods":["GET"],"path":"/v1/**"}},{{"methods":["POST"],"path":"/v1/x"}},{{"methods":["HEAD"],"path":"/v1/y"}}],
            "keys":[{{"id":"a","api_key_hash":"{H1}","not_before":"2026-11-01T00:00:00Z","expires_at":"2026-12-31T00:00:00Z"}}]}}"#
        );
        assert_eq!(
            lint(&json, "2026-11-29T00:00:00Z"),
            vec![("route_shadowed", "$.routes[2]".to_string())]
        );
    }
}
