//! The per-key checks of the decision order: the API key on the wire and its lookup, key
//! status and validity, the key's networks, and the route's scopes.

use std::net::IpAddr;

use crate::apikey::{self, ApiKeyDigest, Shape};
use crate::cidr::any_contains;
use crate::decision::Reason;
use crate::keyset::{DefaultRoute, KeyEntry, KeySet, KeyStatus, Route};
use crate::request::Request;
use crate::time::UnixTime;
use crate::verifier::Refusal;

/// Longest API key accepted on the wire.
pub const MAX_API_KEY_LEN: usize = 512;

/// The API key presented via `Authorization: Bearer` or `X-API-Key`, if any.
pub(crate) fn presented_key(req: &Request) -> Result<Option<&str>, Refusal> {
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

pub(crate) fn lookup_api_key<'k>(ks: &'k KeySet, key: &str) -> Result<&'k KeyEntry, Refusal> {
    if apikey::classify(key) == Shape::BadChecksum {
        return Err(Refusal::new(
            Reason::MalformedCredentials,
            "the API key's checksum does not match (a typo or a truncated key)",
        ));
    }
    ks.key_by_digest(&ApiKeyDigest::of(key))
        .ok_or_else(|| Refusal::new(Reason::UnknownKey, "the API key is not in the key set"))
}

pub(crate) fn check_key_state(key: &KeyEntry, now: UnixTime) -> Option<Refusal> {
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

pub(crate) fn check_key_network(key: &KeyEntry, ip: Option<IpAddr>) -> Option<Refusal> {
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

pub(crate) fn check_route(ks: &KeySet, route: Option<&Route>, key: &KeyEntry) -> Option<Refusal> {
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
