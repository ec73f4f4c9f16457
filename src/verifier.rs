//! The decision procedure: one request in, one [`Decision`] out.
//!
//! The order of checks is fixed (see `docs/reasons.md`), so a request with several faults
//! always gets the same reason.

use std::net::IpAddr;
use std::sync::Arc;

use crate::apikey::{self, ApiKeyDigest, Shape};
use crate::cidr::any_contains;
use crate::decision::{Decision, Reason};
use crate::keyset::{DefaultRoute, KeyEntry, KeySet, KeyStatus, Route, StalePolicy};
use crate::request::Request;
use crate::route::normalize_path;
use crate::time::UnixTime;

/// Longest API key accepted on the wire.
pub const MAX_API_KEY_LEN: usize = 512;

/// What the verifier needs from the caller besides the request: the clock and the client.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Context {
    /// The current time (never read inside the core).
    pub now: UnixTime,
    /// The client's address, when known. A key with an allow list refuses an unknown address.
    pub client_ip: Option<IpAddr>,
}

impl Context {
    /// A context at `now` with no known client address.
    pub fn new(now: UnixTime) -> Self {
        Context {
            now,
            client_ip: None,
        }
    }

    /// Sets the client address.
    pub fn with_client_ip(mut self, ip: Option<IpAddr>) -> Self {
        self.client_ip = ip;
        self
    }
}

/// Decides requests against one key set.
#[derive(Clone, Debug)]
pub struct Verifier {
    keyset: Arc<KeySet>,
}

impl Verifier {
    /// A verifier for `keyset`.
    pub fn new(keyset: KeySet) -> Self {
        Verifier {
            keyset: Arc::new(keyset),
        }
    }

    /// The key set in use.
    pub fn keyset(&self) -> &KeySet {
        &self.keyset
    }

    /// Decides one request.
    pub fn decide(&self, req: &Request, cx: &Context) -> Decision {
        decide(&self.keyset, req, cx)
    }

    /// Swaps in a newer key set. Only a higher revision is accepted; the same revision with
    /// the same payload bytes is an idempotent no-op; anything else is a rollback and the
    /// current set stays in use.
    pub fn update(&mut self, next: KeySet) -> Result<Update, Rollback> {
        let current = self.keyset.revision();
        if next.revision() > current {
            self.keyset = Arc::new(next);
            Ok(Update::Replaced { from: current })
        } else if next.revision() == current && next.same_bytes_as(&self.keyset) {
            Ok(Update::Unchanged)
        } else {
            Err(Rollback {
                current,
                offered: next.revision(),
            })
        }
    }
}

/// What [`Verifier::update`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Update {
    /// The new set replaced the one at revision `from`.
    Replaced {
        /// The revision that was replaced.
        from: u64,
    },
    /// The same revision with identical bytes: nothing to do.
    Unchanged,
}

/// A key set update refused because it would not move the revision forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rollback {
    /// The revision in use (kept).
    pub current: u64,
    /// The revision that was offered.
    pub offered: u64,
}

impl Rollback {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        "keyset_rollback"
    }
}

impl std::fmt::Display for Rollback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.offered == self.current {
            write!(
                f,
                "revision {} is already in use with different content; publish revision {} or later",
                self.current,
                self.current + 1
            )
        } else {
            write!(
                f,
                "revision {} is older than the revision in use ({})",
                self.offered, self.current
            )
        }
    }
}

impl std::error::Error for Rollback {}

/// A refusal before it becomes a [`Decision`] (small, so `Result`s stay cheap).
pub(crate) struct Refusal {
    pub(crate) reason: Reason,
    pub(crate) message: String,
}

impl Refusal {
    pub(crate) fn new(reason: Reason, message: impl Into<String>) -> Self {
        Refusal {
            reason,
            message: message.into(),
        }
    }

    pub(crate) fn into_decision(self) -> Decision {
        Decision::refuse(self.reason, self.message)
    }
}

fn decide(ks: &KeySet, req: &Request, cx: &Context) -> Decision {
    if let Some(defect) = req.defects().first() {
        return Decision::refuse(
            Reason::MalformedRequest,
            format!("malformed request: {defect}"),
        );
    }
    // (0) A stale key set fails closed unless its policy says otherwise.
    if let Some(exp) = ks.expires_at()
        && cx.now >= exp
        && ks.policy().stale_policy == StalePolicy::FailClosed
    {
        return Decision::refuse(
            Reason::KeysetStale,
            format!(
                "the key set (revision {}) expired at {exp}; publish a fresh one",
                ks.revision()
            ),
        );
    }
    let path = normalize_path(req.path());
    let route = ks
        .routes()
        .iter()
        .find(|r| r.applies_to_method(req.method()) && r.path.matches(&path));
    let route_name = route.map(|r| r.path.as_str());

    // (1) Global deny list.
    if let Some(ip) = cx.client_ip
        && any_contains(ks.deny_cidrs(), ip)
    {
        return Decision::refuse(
            Reason::IpDenied,
            "the client address is in the key set's deny list",
        )
        .with_route(route_name);
    }
    // (2) Public routes examine no credentials.
    if let Some(r) = route.filter(|r| r.public) {
        return Decision::allow(None, Vec::new(), Some(r.path.as_str().to_string()));
    }
    // (3), (4) Credentials, format and lookup.
    let key = match find_key(ks, req) {
        Ok(k) => k,
        Err(r) => return r.into_decision().with_route(route_name),
    };
    let with_key = |r: Refusal| r.into_decision().with_key(&key.id).with_route(route_name);
    // (5) Status and validity window.
    if let Some(r) = check_key_state(key, cx.now) {
        return with_key(r);
    }
    // (6) The key's network restrictions.
    if let Some(r) = check_key_network(key, cx.client_ip) {
        return with_key(r);
    }
    // (7) Route and scopes.
    if let Some(r) = check_route(ks, route, key) {
        return with_key(r);
    }
    Decision::allow(
        Some(key.id.clone()),
        key.scopes.to_vec(),
        route_name.map(str::to_string),
    )
}

/// The API key presented via `Authorization: Bearer` or `X-API-Key`, if any.
fn presented_key(req: &Request) -> Result<Option<&str>, Refusal> {
    let malformed = |m: &str| Refusal::new(Reason::MalformedCredentials, m);
    let mut bearer = None;
    let mut auth = req.header_values("authorization");
    if let Some(v) = auth.next() {
        if auth.next().is_some() {
            return Err(malformed("more than one Authorization header"));
        }
        let (scheme, rest) = v.split_once([' ', '\t']).unwrap_or((v, ""));
        if scheme.eq_ignore_ascii_case("bearer") {
            bearer = Some(rest.trim_matches([' ', '\t']));
        }
    }
    let mut xkey = req.header_values("x-api-key");
    let header = xkey.next();
    if xkey.next().is_some() {
        return Err(malformed("more than one X-API-Key header"));
    }
    for (name, v) in [("Authorization: Bearer", bearer), ("X-API-Key", header)] {
        if let Some(v) = v {
            if v.is_empty() {
                return Err(malformed(&format!("empty API key in {name}")));
            }
            if v.len() > MAX_API_KEY_LEN {
                return Err(malformed(&format!(
                    "API key in {name} is longer than {MAX_API_KEY_LEN} bytes"
                )));
            }
            if !v.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
                return Err(malformed(&format!(
                    "API key in {name} contains characters outside visible ASCII"
                )));
            }
        }
    }
    match (bearer, header) {
        (Some(a), Some(b)) if a != b => Err(malformed(
            "Authorization and X-API-Key carry different keys",
        )),
        (Some(a), _) => Ok(Some(a)),
        (None, b) => Ok(b),
    }
}

fn find_key<'k>(ks: &'k KeySet, req: &Request) -> Result<&'k KeyEntry, Refusal> {
    let Some(key) = presented_key(req)? else {
        return Err(Refusal::new(
            Reason::MissingCredentials,
            "no API key: send Authorization: Bearer <key> or X-API-Key: <key>",
        ));
    };
    if apikey::classify(key) == Shape::BadChecksum {
        return Err(Refusal::new(
            Reason::MalformedCredentials,
            "the API key's checksum does not match (a typo or a truncated key)",
        ));
    }
    ks.key_by_digest(&ApiKeyDigest::of(key))
        .ok_or_else(|| Refusal::new(Reason::UnknownKey, "the API key is not in the key set"))
}

fn check_key_state(key: &KeyEntry, now: UnixTime) -> Option<Refusal> {
    match key.status {
        KeyStatus::Disabled => {
            return Some(Refusal::new(
                Reason::KeyDisabled,
                format!("key {:?} is disabled", key.id),
            ));
        }
        KeyStatus::Revoked => {
            return Some(Refusal::new(
                Reason::KeyRevoked,
                format!("key {:?} is revoked", key.id),
            ));
        }
        KeyStatus::Active => {}
    }
    if let Some(nb) = key.not_before.filter(|nb| now < *nb) {
        return Some(Refusal::new(
            Reason::KeyNotYetValid,
            format!("key {:?} is not valid before {nb}", key.id),
        ));
    }
    if let Some(ex) = key.expires_at.filter(|ex| now >= *ex) {
        return Some(Refusal::new(
            Reason::KeyExpired,
            format!("key {:?} expired at {ex}", key.id),
        ));
    }
    None
}

fn check_key_network(key: &KeyEntry, ip: Option<IpAddr>) -> Option<Refusal> {
    if let Some(ip) = ip
        && any_contains(&key.deny_cidrs, ip)
    {
        return Some(Refusal::new(
            Reason::IpDenied,
            format!("key {:?} may not be used from this address", key.id),
        ));
    }
    if !key.allow_cidrs.is_empty() && !ip.is_some_and(|ip| any_contains(&key.allow_cidrs, ip)) {
        let why = if ip.is_some() {
            "this address is not in its allow list"
        } else {
            "the client address is unknown"
        };
        return Some(Refusal::new(
            Reason::IpNotAllowed,
            format!(
                "key {:?} is restricted to listed networks and {why}",
                key.id
            ),
        ));
    }
    None
}

fn check_route(ks: &KeySet, route: Option<&Route>, key: &KeyEntry) -> Option<Refusal> {
    let Some(route) = route else {
        return match ks.policy().default_route {
            DefaultRoute::Deny => Some(Refusal::new(
                Reason::RouteDenied,
                "no route allows this method and path",
            )),
            _ => None,
        };
    };
    let missing: Vec<&str> = route
        .scopes
        .iter()
        .filter(|s| !key.grants(s))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        None
    } else {
        Some(Refusal::new(
            Reason::ScopeMissing,
            format!(
                "key {:?} lacks scope {} required by {}",
                key.id,
                missing.join(", "),
                route.path
            ),
        ))
    }
}
