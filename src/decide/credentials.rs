//! Credentials on the wire, the keys they name, and what a key says about itself.
//!
//! The API key (`Authorization: Bearer` or `X-API-Key`) is looked up by digest: that is its
//! own proof of possession. Labelled signatures (`Signature-Input` / `Signature`) are proven
//! only by their cryptographic check (`signature.rs`). Only then are a key's own state and
//! networks checked (`check_state`, `check_network`): before proof they would tell a caller
//! without the key whether it exists and how it stands.

use std::net::IpAddr;

use crate::apikey::{self, Shape};
use crate::cidr::any_contains;
use crate::keyset::{KeyEntry, KeySet, KeyStatus};
use crate::request::Request;
use crate::sig::Presented;
use crate::time::UnixTime;

use super::Refusal;
use super::decision::Reason;

/// Longest API key accepted on the wire.
pub const MAX_API_KEY_LEN: usize = 512;

/// What a request presents.
pub(super) struct Credentials<'k> {
    /// The key its API key identifies (the lookup is the proof).
    pub(super) api: Option<&'k KeyEntry>,
    /// Its labelled signatures, in `Signature-Input` order (empty when unsigned).
    pub(super) signatures: Vec<Presented>,
}

/// Why the credentials could not be read; `signature` when the fault is in the signature
/// fields (the refusal then carries `Accept-Signature`).
pub(super) struct Unreadable<'k> {
    pub(super) refusal: Refusal,
    pub(super) api: Option<&'k KeyEntry>,
    pub(super) signature: bool,
}

/// Reads the credentials: `missing_credentials`, `malformed_credentials` and, for an API
/// key, `unknown_key`.
pub(super) fn read<'k>(ks: &'k KeySet, req: &Request) -> Result<Credentials<'k>, Unreadable<'k>> {
    let plain = |refusal| Unreadable {
        refusal,
        api: None,
        signature: false,
    };
    let api_key = presented_key(req).map_err(plain)?;
    let signed = req.header_values("signature-input").next().is_some()
        || req.header_values("signature").next().is_some();
    if api_key.is_none() && !signed {
        return Err(plain(Refusal::new(
            Reason::MissingCredentials,
            "no credentials: send Authorization: Bearer <key>, X-API-Key: <key>, or a signed request",
        )));
    }
    let api = match api_key {
        Some(k) => Some(lookup_api_key(ks, k).map_err(plain)?),
        None => None,
    };
    // Unsigned (the two fields absent, which `presented` would answer with `None`): the
    // signature parser is not called, so an API-key decision never runs (nor, in wasm, has
    // compiled on first use) the code that reads signatures.
    if !signed {
        return Ok(Credentials {
            api,
            signatures: Vec::new(),
        });
    }
    let signatures = crate::sig::presented(req)
        .map_err(|m| Unreadable {
            refusal: Refusal::new(Reason::MalformedCredentials, m),
            api,
            signature: true,
        })?
        .unwrap_or_default();
    Ok(Credentials { api, signatures })
}

/// What a decision of `req` may look up in the key set, as far as the request says: the digest
/// of its API key (when it presents one that reads) and the `keyid` of each signature. A
/// sharded set loads the shards holding these before it decides (`crate::sharded`); naming
/// more than the decision then looks up costs loads, never a different decision.
pub(crate) fn lookups(req: &Request) -> (Option<crate::ApiKeyDigest>, Vec<String>) {
    let digest = presented_key(req)
        .ok()
        .flatten()
        .map(crate::ApiKeyDigest::of);
    let ids = match crate::sig::presented(req) {
        Ok(Some(sigs)) => sigs.into_iter().filter_map(|p| p.keyid).collect(),
        _ => Vec::new(),
    };
    (digest, ids)
}

/// The API key presented via `Authorization: Bearer` or `X-API-Key`, if any.
fn presented_key(req: &Request) -> Result<Option<&str>, Refusal> {
    let malformed = |m: &str| Refusal::new(Reason::MalformedCredentials, m.to_string());
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
            let fault = if v.is_empty() {
                KeyTextFault::Empty
            } else if v.len() > MAX_API_KEY_LEN {
                KeyTextFault::TooLong
            } else if !v.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
                KeyTextFault::NotVisibleAscii
            } else {
                continue;
            };
            return Err(key_text_refused(name, fault));
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

/// What is wrong with the text of a presented API key.
#[derive(Clone, Copy)]
enum KeyTextFault {
    Empty,
    TooLong,
    NotVisibleAscii,
}

/// The refusal for an API key whose text is malformed, written out of line: the messages are
/// rare, and kept out of `presented_key` they are not part of what every API-key decision
/// compiles (in wasm) and runs.
#[cold]
#[inline(never)]
fn key_text_refused(name: &str, fault: KeyTextFault) -> Refusal {
    let m = match fault {
        KeyTextFault::Empty => format!("empty API key in {name}"),
        KeyTextFault::TooLong => {
            format!("API key in {name} is longer than {MAX_API_KEY_LEN} bytes")
        }
        KeyTextFault::NotVisibleAscii => {
            format!("API key in {name} contains characters outside visible ASCII")
        }
    };
    Refusal::new(Reason::MalformedCredentials, m)
}

fn lookup_api_key<'k>(ks: &'k KeySet, key: &str) -> Result<&'k KeyEntry, Refusal> {
    let checksum = |k: &str| match apikey::classify(k) {
        Shape::BadChecksum => Err(()),
        _ => Ok(()),
    };
    ks.key_by_api_key(key, checksum)
        .map_err(|()| {
            Refusal::new(
                Reason::MalformedCredentials,
                "the API key's checksum does not match (a typo or a truncated key)",
            )
        })?
        .ok_or_else(|| Refusal::new(Reason::UnknownKey, "the API key is not in the key set"))
}

/// A key to try: the key (when the set has it), whether the API key proved it, and the
/// signature naming it.
pub(super) struct Candidate<'k, 'r> {
    pub(super) key: Option<&'k KeyEntry>,
    pub(super) by_api_key: bool,
    pub(super) sig: Option<&'r Presented>,
}

/// The candidates, in order. With an API key: the signatures naming its key (or the key
/// alone when none does). Without: every signature, whether or not the set has its key, so
/// that an unknown `keyid` is refused exactly like a forged signature for a known one.
/// Signatures naming other keys than the API key's are returned apart, as `foreign`.
pub(super) fn candidates<'k, 'r>(
    ks: &'k KeySet,
    creds: &'r Credentials<'k>,
) -> (Vec<Candidate<'k, 'r>>, Vec<&'r Presented>) {
    let Some(api) = creds.api else {
        let all = creds
            .signatures
            .iter()
            .map(|p| Candidate {
                key: p.keyid.as_deref().and_then(|id| ks.key_by_id(id)),
                by_api_key: false,
                sig: Some(p),
            })
            .collect();
        return (all, Vec::new());
    };
    let (own, foreign): (Vec<&Presented>, Vec<&Presented>) = creds
        .signatures
        .iter()
        .partition(|p| p.keyid.as_deref() == Some(api.id.as_str()));
    let mut out: Vec<Candidate<'k, 'r>> = own
        .into_iter()
        .map(|p| Candidate {
            key: Some(api),
            by_api_key: true,
            sig: Some(p),
        })
        .collect();
    if out.is_empty() {
        out.push(Candidate {
            key: Some(api),
            by_api_key: true,
            sig: None,
        });
    }
    (out, foreign)
}

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
