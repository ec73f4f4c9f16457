//! Decisions and their stable reason codes.
//!
//! A refusal is a [`Decision`], not an error: it is the verifier doing its job. Each
//! [`Reason`] has a stable machine-readable [`code`](Reason::code) and an HTTP status.
//! The codes are a public contract, documented in `docs/reasons.md`.

use std::fmt;

use serde_json::{Value, json};

use crate::sig::SignatureParams;
use crate::time::UnixTime;

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// The request itself is malformed (a bad header line, oversized headers).
    MalformedRequest,
    /// The path is spelled so that origins would read it as different paths (an encoded
    /// `/`, a `;` path parameter, a backslash, ...): see `docs/security.md`.
    AmbiguousPath,
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
    /// The key or the route requires a signed request and none was presented for the key.
    SignatureRequired,
    /// The signature does not verify (or a covered component is not in the request).
    SignatureInvalid,
    /// The signature's `expires` time has passed.
    SignatureExpired,
    /// The signature's `created` time is older than `max_signature_age_seconds`.
    SignatureTooOld,
    /// The signature's `created` time is later than now plus the clock skew.
    SignatureInFuture,
    /// The signature does not cover a required component (or a present Content-Digest).
    ComponentsMissing,
    /// A signed request with a body has no usable Content-Digest.
    DigestMissing,
    /// The body does not match its Content-Digest.
    DigestMismatch,
    /// The key set requires a nonce and the signature has none.
    NonceMissing,
    /// The signature's nonce was already used with this key.
    NonceReplayed,
    /// The signature's `alg` disagrees with the key's algorithm.
    AlgorithmMismatch,
    /// The API key and the signature name different keys.
    KeyMismatch,
    /// The key set has passed its own `expires_at` and its policy is to fail closed.
    KeysetStale,
    /// No key set has been loaded (a gateway-level condition).
    KeysetUnavailable,
}

impl Reason {
    /// Every reason, in the order they are documented.
    pub const ALL: &'static [Reason] = &[
        Reason::MalformedRequest,
        Reason::AmbiguousPath,
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
        Reason::SignatureRequired,
        Reason::SignatureInvalid,
        Reason::SignatureExpired,
        Reason::SignatureTooOld,
        Reason::SignatureInFuture,
        Reason::ComponentsMissing,
        Reason::DigestMissing,
        Reason::DigestMismatch,
        Reason::NonceMissing,
        Reason::NonceReplayed,
        Reason::AlgorithmMismatch,
        Reason::KeyMismatch,
        Reason::KeysetStale,
        Reason::KeysetUnavailable,
    ];

    /// The stable machine-readable code, e.g. `key_expired`.
    pub const fn code(self) -> &'static str {
        match self {
            Reason::MalformedRequest => "malformed_request",
            Reason::AmbiguousPath => "ambiguous_path",
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
            Reason::SignatureRequired => "signature_required",
            Reason::SignatureInvalid => "signature_invalid",
            Reason::SignatureExpired => "signature_expired",
            Reason::SignatureTooOld => "signature_too_old",
            Reason::SignatureInFuture => "signature_in_future",
            Reason::ComponentsMissing => "components_missing",
            Reason::DigestMissing => "digest_missing",
            Reason::DigestMismatch => "digest_mismatch",
            Reason::NonceMissing => "nonce_missing",
            Reason::NonceReplayed => "nonce_replayed",
            Reason::AlgorithmMismatch => "algorithm_mismatch",
            Reason::KeyMismatch => "key_mismatch",
            Reason::KeysetStale => "keyset_stale",
            Reason::KeysetUnavailable => "keyset_unavailable",
        }
    }

    /// The HTTP status a gateway answers with: 401 when the credentials do not
    /// authenticate, 403 when they do but the request is not permitted.
    pub const fn http_status(self) -> u16 {
        match self {
            Reason::MalformedRequest | Reason::AmbiguousPath => 400,
            Reason::IpDenied
            | Reason::IpNotAllowed
            | Reason::ScopeMissing
            | Reason::RouteDenied => 403,
            Reason::KeysetStale | Reason::KeysetUnavailable => 503,
            // Every other reason says the credentials do not authenticate this request.
            _ => 401,
        }
    }

    /// Whether this is one of the request-signature reasons (RFC 9421), whose 401 carries
    /// an `Accept-Signature` header.
    pub fn is_signature(self) -> bool {
        matches!(
            self,
            Reason::SignatureRequired
                | Reason::SignatureInvalid
                | Reason::SignatureExpired
                | Reason::SignatureTooOld
                | Reason::SignatureInFuture
                | Reason::ComponentsMissing
                | Reason::DigestMissing
                | Reason::DigestMismatch
                | Reason::NonceMissing
                | Reason::NonceReplayed
                | Reason::AlgorithmMismatch
                | Reason::KeyMismatch
        )
    }

    /// The `WWW-Authenticate` challenge a 401 with this reason carries (RFC 6750 §3: with
    /// `error="invalid_token"` when a token was presented but refused), `None` for other
    /// statuses.
    pub const fn www_authenticate(self) -> Option<&'static str> {
        macro_rules! invalid {
            ($code:literal) => {
                concat!(
                    "Bearer realm=\"keygate\", error=\"invalid_token\", error_description=\"",
                    $code,
                    "\""
                )
            };
        }
        Some(match self {
            Reason::MissingCredentials => "Bearer realm=\"keygate\"",
            Reason::MalformedCredentials => invalid!("malformed_credentials"),
            Reason::UnknownKey => invalid!("unknown_key"),
            Reason::KeyDisabled => invalid!("key_disabled"),
            Reason::KeyRevoked => invalid!("key_revoked"),
            Reason::KeyExpired => invalid!("key_expired"),
            Reason::KeyNotYetValid => invalid!("key_not_yet_valid"),
            Reason::SignatureRequired => invalid!("signature_required"),
            Reason::SignatureInvalid => invalid!("signature_invalid"),
            Reason::SignatureExpired => invalid!("signature_expired"),
            Reason::SignatureTooOld => invalid!("signature_too_old"),
            Reason::SignatureInFuture => invalid!("signature_in_future"),
            Reason::ComponentsMissing => invalid!("components_missing"),
            Reason::DigestMissing => invalid!("digest_missing"),
            Reason::DigestMismatch => invalid!("digest_mismatch"),
            Reason::NonceMissing => invalid!("nonce_missing"),
            Reason::NonceReplayed => invalid!("nonce_replayed"),
            Reason::AlgorithmMismatch => invalid!("algorithm_mismatch"),
            Reason::KeyMismatch => invalid!("key_mismatch"),
            _ => return None,
        })
    }

    /// Its index in [`Reason::ALL`] (how the wasm facade sends it).
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn index(self) -> u32 {
        Reason::ALL.iter().position(|r| *r == self).unwrap_or(0) as u32
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
    /// The request path as judged, in canonical form (`/v1/orders/7`): the spelling a gateway
    /// forwards to its origin, so that the origin acts on the path that was decided on.
    /// `None` only when the path itself was refused (`ambiguous_path`) or the request was
    /// malformed.
    pub path: Option<String>,
    /// Response headers a gateway should send with a refusal (`WWW-Authenticate`,
    /// `Accept-Signature`, ...).
    pub headers: Vec<(String, String)>,
    /// On an allowed request whose signature carried a nonce (or a webhook delivery): the
    /// claim recorded in the verifier's store, for an outer strongly consistent store to
    /// record too.
    pub nonce: Option<crate::sig::NonceClaim>,
    /// On an allowed Standard Webhooks delivery: what identifies it.
    pub webhook: Option<WebhookInfo>,
    /// The identified key's `name`, on an allowed request.
    pub name: Option<String>,
    /// The identified key's `meta` object, on an allowed request.
    pub meta: Option<Value>,
    /// When the identified key expires (its `expires_at`), on an allowed request.
    pub expires_at: Option<UnixTime>,
    /// The signature that proved an allowed signed request: its label, covered components
    /// and parameters.
    pub signature: Option<SignatureInfo>,
    /// Set when the decision waits for a pending body's digests (`Verifier::decide_deferred`).
    pub(crate) pending_body: bool,
    /// Set (with `pending_body`) when it waits for a webhook delivery's body bytes instead.
    pub(crate) pending_webhook_body: bool,
}

/// The delivery an allowed webhook decision is about.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookInfo {
    /// `webhook-id`: the sender keeps it across retries; deduplicate deliveries on it.
    pub id: String,
    /// `webhook-timestamp` (Unix seconds).
    pub timestamp: i64,
    /// The scheme of the key that verified it.
    pub scheme: crate::webhook::Scheme,
}

/// The verified signature of an allowed request (RFC 9421): what a handler may want to log or
/// check, such as the `created` time, the nonce or the covered components.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignatureInfo {
    /// The signature's label in `Signature-Input`, e.g. `sig1`.
    pub label: String,
    /// The covered components, spelled as `Signer::components` and the JS `SignOptions`
    /// take them: the identifier without quotes around its name, e.g. `@method`,
    /// `content-digest`, `@query-param;name="id"`.
    pub components: Vec<String>,
    /// Its parameters (`keyid`, `created`, and `alg`, `expires`, `nonce`, `tag` when given).
    pub params: SignatureParams,
}

impl SignatureInfo {
    /// The JSON the CLI prints: `{"label", "components", "params": {"keyid", "created",
    /// "alg"?, "expires"?, "nonce"?, "tag"?}}` (times in Unix seconds, as signed).
    pub fn to_json(&self) -> Value {
        let p = &self.params;
        let mut params = json!({ "keyid": p.keyid, "created": p.created });
        for (k, v) in [("alg", &p.alg), ("nonce", &p.nonce), ("tag", &p.tag)] {
            if let Some(v) = v {
                params[k] = Value::String(v.clone());
            }
        }
        if let Some(e) = p.expires {
            params["expires"] = Value::from(e);
        }
        json!({ "label": self.label, "components": self.components, "params": params })
    }
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
            path: None,
            headers: Vec::new(),
            nonce: None,
            webhook: None,
            name: None,
            meta: None,
            expires_at: None,
            signature: None,
            pending_body: false,
            pending_webhook_body: false,
        }
    }

    pub(crate) fn refuse(reason: Reason, message: impl Into<String>) -> Self {
        let mut headers = Vec::new();
        if let Some(v) = reason.www_authenticate() {
            headers.push(("WWW-Authenticate".to_string(), v.to_string()));
        }
        Decision {
            allowed: false,
            status: reason.http_status(),
            reason: Some(reason),
            message: message.into(),
            key_id: None,
            scopes: Vec::new(),
            route: None,
            path: None,
            headers,
            nonce: None,
            webhook: None,
            name: None,
            meta: None,
            expires_at: None,
            signature: None,
            pending_body: false,
            pending_webhook_body: false,
        }
    }

    pub(crate) fn with_key(mut self, id: &str) -> Self {
        self.key_id = Some(id.to_string());
        self
    }

    pub(crate) fn with_header(mut self, name: &str, value: String) -> Self {
        self.headers.push((name.to_string(), value));
        self
    }

    /// The reason code, when refused.
    pub fn code(&self) -> Option<&'static str> {
        self.reason.map(Reason::code)
    }

    /// The decision as the JSON object the CLI prints:
    /// `{"allowed": true, "status": 200, "key_id": ..., "scopes": [...], "name": ...,
    /// "meta": ..., "expires_at": ..., "signature"?: {...}, "path": ...}` or
    /// `{"allowed": false, "status": 401, "reason": ..., "message": ..., "key_id"?: ...,
    /// "path"?: ...}`.
    pub fn to_json(&self) -> Value {
        let mut v = self.json_core();
        if let Some(p) = &self.path {
            v["path"] = Value::String(p.clone());
        }
        v
    }

    fn json_core(&self) -> Value {
        if self.allowed {
            let mut v = json!({
                "allowed": true, "status": self.status, "key_id": self.key_id, "scopes": self.scopes,
                "name": self.name, "meta": self.meta,
                "expires_at": self.expires_at.map(|t| t.to_rfc3339()),
            });
            if let Some(s) = &self.signature {
                v["signature"] = s.to_json();
            }
            if let Some(w) = &self.webhook {
                v["webhook"] =
                    json!({"id": w.id, "timestamp": w.timestamp, "scheme": w.scheme.as_str()});
            }
            v
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
    fn every_code_has_its_documented_status() {
        // The contract of docs/reasons.md and docs/signatures.md, code by code: a new reason
        // must be added here, with its status, or this test fails.
        let table: &[(&str, u16)] = &[
            ("malformed_request", 400),
            ("ambiguous_path", 400),
            ("missing_credentials", 401),
            ("malformed_credentials", 401),
            ("unknown_key", 401),
            ("key_disabled", 401),
            ("key_revoked", 401),
            ("key_expired", 401),
            ("key_not_yet_valid", 401),
            ("ip_denied", 403),
            ("ip_not_allowed", 403),
            ("scope_missing", 403),
            ("route_denied", 403),
            ("keyset_stale", 503),
            ("keyset_unavailable", 503),
            ("signature_required", 401),
            ("signature_invalid", 401),
            ("signature_expired", 401),
            ("signature_too_old", 401),
            ("signature_in_future", 401),
            ("components_missing", 401),
            ("digest_missing", 401),
            ("digest_mismatch", 401),
            ("nonce_missing", 401),
            ("nonce_replayed", 401),
            ("algorithm_mismatch", 401),
            ("key_mismatch", 401),
        ];
        assert_eq!(table.len(), Reason::ALL.len());
        for (code, status) in table {
            let r = Reason::from_code(code).unwrap_or_else(|| panic!("no reason {code}"));
            assert_eq!(r.http_status(), *status, "{code}");
        }
    }

    #[test]
    fn every_401_and_only_401s_carry_a_challenge_naming_its_code() {
        for r in Reason::ALL {
            match r.www_authenticate() {
                Some(v) => {
                    assert_eq!(r.http_status(), 401, "{r}");
                    assert!(v.starts_with("Bearer realm=\"keygate\""), "{v}");
                    if *r != Reason::MissingCredentials {
                        let want = format!(
                            "Bearer realm=\"keygate\", error=\"invalid_token\", error_description=\"{}\"",
                            r.code()
                        );
                        assert_eq!(v, want);
                    }
                }
                None => assert_ne!(r.http_status(), 401, "{r}"),
            }
            assert_eq!(Reason::ALL[r.index() as usize], *r);
        }
    }

    #[test]
    fn json_shape() {
        let d = Decision::refuse(Reason::KeyExpired, "expired").with_key("k1");
        let v = d.to_json();
        assert_eq!(v["reason"], "key_expired");
        assert_eq!(v["status"], 401);
        assert_eq!(v["key_id"], "k1");
        assert!(d.headers.iter().any(|(n, _)| n == "WWW-Authenticate"));
        let mut ok = Decision::allow(Some("k".into()), vec!["a".into()], None);
        ok.path = Some("/v1/x".into());
        let ok = ok.to_json();
        assert_eq!(
            ok,
            json!({"allowed": true, "status": 200, "key_id": "k", "scopes": ["a"], "name": null,
                   "meta": null, "expires_at": null, "path": "/v1/x"})
        );
        let bad = Decision::refuse(Reason::AmbiguousPath, "x").to_json();
        assert_eq!(bad["status"], 400);
        assert!(bad.get("path").is_none());
    }
}
