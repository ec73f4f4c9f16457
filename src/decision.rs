//! Decisions and their stable reason codes.
//!
//! A refusal is a [`Decision`], not an error: it is the verifier doing its job. Each
//! [`Reason`] has a stable machine-readable [`code`](Reason::code) and an HTTP status.
//! The codes are a public contract, documented in `docs/reasons.md`.

use std::fmt;

use serde_json::{Value, json};

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// The request itself is malformed (a bad header line, oversized headers).
    MalformedRequest,
    /// No API key (nor signature) was presented.
    MissingCredentials,
    /// Credentials were presented but could not be read (bad checksum, bad syntax, ...).
    MalformedCredentials,
    /// No key in the set matches the credentials.
    UnknownKey,
    /// The key is disabled.
    KeyDisabled,
    /// The key is revoked.
    KeyRevoked,
    /// The key's `expires_at` has passed.
    KeyExpired,
    /// The key's `not_before` has not been reached.
    KeyNotYetValid,
    /// The client address is in a deny list.
    IpDenied,
    /// The key has an allow list and the client address is not in it (or unknown).
    IpNotAllowed,
    /// The key lacks a scope the route requires.
    ScopeMissing,
    /// No route matches and the default route is `deny`.
    RouteDenied,
    /// The key set has passed its own `expires_at` and its policy is to fail closed.
    KeysetStale,
    /// No key set has been loaded (a gateway-level condition).
    KeysetUnavailable,
}

impl Reason {
    /// Every reason, in the order they are documented.
    pub const ALL: &'static [Reason] = &[
        Reason::MalformedRequest,
        Reason::MissingCredentials,
        Reason::MalformedCredentials,
        Reason::UnknownKey,
        Reason::KeyDisabled,
        Reason::KeyRevoked,
        Reason::KeyExpired,
        Reason::KeyNotYetValid,
        Reason::IpDenied,
        Reason::IpNotAllowed,
        Reason::ScopeMissing,
        Reason::RouteDenied,
        Reason::KeysetStale,
        Reason::KeysetUnavailable,
    ];

    /// The stable machine-readable code, e.g. `key_expired`.
    pub fn code(self) -> &'static str {
        match self {
            Reason::MalformedRequest => "malformed_request",
            Reason::MissingCredentials => "missing_credentials",
            Reason::MalformedCredentials => "malformed_credentials",
            Reason::UnknownKey => "unknown_key",
            Reason::KeyDisabled => "key_disabled",
            Reason::KeyRevoked => "key_revoked",
            Reason::KeyExpired => "key_expired",
            Reason::KeyNotYetValid => "key_not_yet_valid",
            Reason::IpDenied => "ip_denied",
            Reason::IpNotAllowed => "ip_not_allowed",
            Reason::ScopeMissing => "scope_missing",
            Reason::RouteDenied => "route_denied",
            Reason::KeysetStale => "keyset_stale",
            Reason::KeysetUnavailable => "keyset_unavailable",
        }
    }

    /// The HTTP status a gateway answers with: 401 when the credentials do not
    /// authenticate, 403 when they do but the request is not permitted.
    pub fn http_status(self) -> u16 {
        match self {
            Reason::MalformedRequest => 400,
            Reason::MissingCredentials
            | Reason::MalformedCredentials
            | Reason::UnknownKey
            | Reason::KeyDisabled
            | Reason::KeyRevoked
            | Reason::KeyExpired
            | Reason::KeyNotYetValid => 401,
            Reason::IpDenied
            | Reason::IpNotAllowed
            | Reason::ScopeMissing
            | Reason::RouteDenied => 403,
            Reason::KeysetStale | Reason::KeysetUnavailable => 503,
        }
    }

    /// Looks a reason up by its code.
    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL.iter().copied().find(|r| r.code() == code)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The outcome of verifying one request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decision {
    /// Whether the request may pass.
    pub allowed: bool,
    /// The HTTP status: 200 when allowed, else the reason's status.
    pub status: u16,
    /// Why it was refused (`None` when allowed).
    pub reason: Option<Reason>,
    /// Human-readable explanation; never contains a secret.
    pub message: String,
    /// The key that was identified, when known (also on some refusals).
    pub key_id: Option<String>,
    /// The identified key's scopes (empty on public routes and refusals).
    pub scopes: Vec<String>,
    /// The route pattern that matched, if any (for audit logs).
    pub route: Option<String>,
    /// Response headers a gateway should send with a refusal (`WWW-Authenticate`, ...).
    pub headers: Vec<(String, String)>,
}

impl Decision {
    pub(crate) fn allow(
        key_id: Option<String>,
        scopes: Vec<String>,
        route: Option<String>,
    ) -> Self {
        Decision {
            allowed: true,
            status: 200,
            reason: None,
            message: String::new(),
            key_id,
            scopes,
            route,
            headers: Vec::new(),
        }
    }

    pub(crate) fn refuse(reason: Reason, message: impl Into<String>) -> Self {
        let mut headers = Vec::new();
        if reason.http_status() == 401 {
            let v = match reason {
                Reason::MissingCredentials => "Bearer realm=\"keygate\"".to_string(),
                _ => format!(
                    "Bearer realm=\"keygate\", error=\"invalid_token\", error_description=\"{}\"",
                    reason.code()
                ),
            };
            headers.push(("WWW-Authenticate".to_string(), v));
        }
        Decision {
            allowed: false,
            status: reason.http_status(),
            reason: Some(reason),
            message: message.into(),
            key_id: None,
            scopes: Vec::new(),
            route: None,
            headers,
        }
    }

    pub(crate) fn with_key(mut self, id: &str) -> Self {
        self.key_id = Some(id.to_string());
        self
    }

    pub(crate) fn with_route(mut self, route: Option<&str>) -> Self {
        self.route = route.map(str::to_string);
        self
    }

    /// The reason code, when refused.
    pub fn code(&self) -> Option<&'static str> {
        self.reason.map(Reason::code)
    }

    /// The decision as the JSON object the CLI prints:
    /// `{"allowed": true, "status": 200, "key_id": ..., "scopes": [...]}` or
    /// `{"allowed": false, "status": 401, "reason": ..., "message": ..., "key_id"?: ...}`.
    pub fn to_json(&self) -> Value {
        if self.allowed {
            json!({ "allowed": true, "status": self.status, "key_id": self.key_id, "scopes": self.scopes })
        } else {
            let mut v = json!({
                "allowed": false,
                "status": self.status,
                "reason": self.code(),
                "message": self.message,
            });
            if let Some(k) = &self.key_id {
                v["key_id"] = Value::String(k.clone());
            }
            v
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        for r in Reason::ALL {
            assert_eq!(Reason::from_code(r.code()), Some(*r));
        }
        let mut codes: Vec<_> = Reason::ALL.iter().map(|r| r.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Reason::ALL.len());
    }

    #[test]
    fn statuses() {
        assert_eq!(Reason::MissingCredentials.http_status(), 401);
        assert_eq!(Reason::ScopeMissing.http_status(), 403);
        assert_eq!(Reason::MalformedRequest.http_status(), 400);
    }

    #[test]
    fn json_shape() {
        let d = Decision::refuse(Reason::KeyExpired, "expired").with_key("k1");
        let v = d.to_json();
        assert_eq!(v["reason"], "key_expired");
        assert_eq!(v["status"], 401);
        assert_eq!(v["key_id"], "k1");
        assert!(d.headers.iter().any(|(n, _)| n == "WWW-Authenticate"));
        let ok = Decision::allow(Some("k".into()), vec!["a".into()], None).to_json();
        assert_eq!(
            ok,
            json!({"allowed": true, "status": 200, "key_id": "k", "scopes": ["a"]})
        );
    }
}
