//! The checks that reveal a key's own state, run only once the caller has proven possession
//! of the key (by its API key, or by a signature that verified): status, validity window and
//! networks.

use std::net::IpAddr;

use crate::cidr::any_contains;
use crate::keyset::{KeyEntry, KeyStatus};
use crate::time::UnixTime;

use super::Refusal;
use super::decision::Reason;

/// `key_disabled`, `key_revoked`, `key_not_yet_valid`, `key_expired`.
pub(super) fn check_state(key: &KeyEntry, now: UnixTime) -> Result<(), Refusal> {
    match key.status {
        KeyStatus::Disabled => {
            return Err(Refusal::new(
                Reason::KeyDisabled,
                format!("key {:?} is disabled", key.id),
            ));
        }
        KeyStatus::Revoked => {
            return Err(Refusal::new(
                Reason::KeyRevoked,
                format!("key {:?} is revoked", key.id),
            ));
        }
        KeyStatus::Active => {}
    }
    if let Some(nb) = key.not_before.filter(|nb| now < *nb) {
        return Err(Refusal::new(
            Reason::KeyNotYetValid,
            format!("key {:?} is not valid before {nb}", key.id),
        ));
    }
    if let Some(ex) = key.expires_at.filter(|ex| now >= *ex) {
        return Err(Refusal::new(
            Reason::KeyExpired,
            format!("key {:?} expired at {ex}", key.id),
        ));
    }
    Ok(())
}

/// The key's `deny_cidrs` (`ip_denied`), then its `allow_cidrs` (`ip_not_allowed`, also for
/// an unknown client address).
pub(super) fn check_network(key: &KeyEntry, ip: Option<IpAddr>) -> Result<(), Refusal> {
    if let Some(ip) = ip
        && any_contains(&key.deny_cidrs, ip)
    {
        return Err(Refusal::new(
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
        return Err(Refusal::new(
            Reason::IpNotAllowed,
            format!(
                "key {:?} is restricted to listed networks and {why}",
                key.id
            ),
        ));
    }
    Ok(())
}
