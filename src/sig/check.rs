//! The signature checks of the decision procedure, in their fixed order (see
//! `docs/reasons.md`): after the key's IP checks come `signature_required`,
//! `algorithm_mismatch`, the time checks, `nonce_missing`, `components_missing` /
//! `digest_missing`, the cryptographic check (`signature_invalid`), `digest_mismatch` and
//! `nonce_replayed`.

use sfv::{BareItem, Dictionary, FieldType, InnerList, Item, KeyRef, ListEntry, StringRef};

use super::base::{params_value, signature_base};
use super::components::ComponentId;
use super::derive::FieldCache;
use super::digest;
use super::parse::Parsed;
use super::replay::{NonceClaim, NonceStore};
use crate::decision::Reason;
use crate::keyset::{KeyEntry, KeySet, Route};
use crate::request::Request;
use crate::time::UnixTime;
use crate::verifier::Refusal;

/// Everything the checks read.
pub(crate) struct Inputs<'a> {
    pub(crate) ks: &'a KeySet,
    pub(crate) key: &'a KeyEntry,
    pub(crate) route: Option<&'a Route>,
    pub(crate) req: &'a Request,
    pub(crate) now: UnixTime,
    pub(crate) store: &'a dyn NonceStore,
    /// Header fields read so far for this request (shared by every label tried).
    pub(crate) fields: &'a FieldCache,
}

fn refuse(reason: Reason, message: impl Into<String>) -> Refusal {
    Refusal::new(reason, message)
}

/// The components a signature must cover here: the policy's, then the route's.
fn required<'a>(ks: &'a KeySet, route: Option<&'a Route>) -> impl Iterator<Item = &'a ComponentId> {
    let route_extra = route
        .map(|r| r.signature.required_components.as_slice())
        .unwrap_or(&[]);
    ks.policy()
        .signature
        .required_components
        .iter()
        .chain(route_extra)
}

/// Runs the checks for one key and its signature (`None`: the request is not signed for
/// this key). On success returns the nonce to remember if the whole decision allows it.
pub(crate) fn check(inp: &Inputs<'_>, sig: Option<&Parsed>) -> Result<Option<NonceClaim>, Refusal> {
    let Inputs {
        ks,
        key,
        route,
        req,
        now,
        store,
        fields: _,
    } = *inp;
    let pol = &ks.policy().signature;
    let Some(sig) = sig else {
        if key.require_signature || route.is_some_and(|r| r.signature.require_signature) {
            let why = if key.require_signature {
                format!("key {:?}", key.id)
            } else {
                "this route".to_string()
            };
            return Err(refuse(
                Reason::SignatureRequired,
                format!("{why} requires a signed request (RFC 9421)"),
            ));
        }
        return Ok(None);
    };
    let p = &sig.params;

    // The key decides the algorithm.
    let Some(vkey) = &key.signing else {
        return Err(refuse(
            Reason::SignatureInvalid,
            format!(
                "key {:?} has no signing key, so it cannot verify signatures",
                key.id
            ),
        ));
    };
    if let Some(alg) = p.alg.as_deref().filter(|a| *a != vkey.algorithm().as_str()) {
        return Err(refuse(
            Reason::AlgorithmMismatch,
            format!(
                "the signature says alg {alg:?} but key {:?} uses {}",
                key.id,
                vkey.algorithm()
            ),
        ));
    }

    // Time, with the skew applied symmetrically.
    let skew = i64::from(ks.policy().clock_skew_seconds);
    let max_age = i64::from(pol.max_signature_age_seconds);
    let created = p.created.unwrap_or(i64::MIN);
    let t = now.as_secs();
    if created < t.saturating_sub(max_age).saturating_sub(skew) {
        return Err(refuse(
            Reason::SignatureTooOld,
            format!(
                "the signature was created at {} and is older than {max_age} seconds",
                UnixTime::from_secs(created)
            ),
        ));
    }
    if created > t.saturating_add(skew) {
        return Err(refuse(
            Reason::SignatureInFuture,
            format!(
                "the signature's created time {} is in the future",
                UnixTime::from_secs(created)
            ),
        ));
    }
    if let Some(exp) = p.expires.filter(|e| t > e.saturating_add(skew)) {
        return Err(refuse(
            Reason::SignatureExpired,
            format!("the signature expired at {}", UnixTime::from_secs(exp)),
        ));
    }

    if pol.require_nonce && p.nonce.is_none() {
        return Err(refuse(
            Reason::NonceMissing,
            "the key set requires a nonce parameter on every signature",
        ));
    }

    // Coverage.
    let missing: Vec<String> = required(ks, route)
        .filter(|r| !sig.components.contains(r))
        .map(ToString::to_string)
        .collect();
    if !missing.is_empty() {
        return Err(refuse(
            Reason::ComponentsMissing,
            format!("the signature does not cover {}", missing.join(", ")),
        ));
    }
    let covers_digest = sig
        .components
        .iter()
        .any(|c| c.covers_whole_field("content-digest"));
    let digest_present = req.header_values("content-digest").next().is_some();
    if pol.require_content_digest && !req.body.is_empty() {
        if !digest_present {
            return Err(refuse(
                Reason::DigestMissing,
                "the request has a body but no Content-Digest",
            ));
        }
        if !covers_digest {
            return Err(refuse(
                Reason::ComponentsMissing,
                "the signature does not cover content-digest, which a request with a body must",
            ));
        }
    }
    let content_digest =
        if covers_digest || sig.components.iter().any(|c| c.name() == "content-digest") {
            match digest::read(req) {
                Ok(Some(cd)) if cd.is_usable() => Some(Ok(cd)),
                Ok(Some(_)) => {
                    return Err(refuse(
                        Reason::DigestMissing,
                        "Content-Digest names no sha-256 or sha-512 digest",
                    ));
                }
                Ok(None) => {
                    return Err(refuse(
                        Reason::DigestMissing,
                        "the signature covers content-digest but the request has none",
                    ));
                }
                Err(e) => Some(Err(e)),
            }
        } else {
            None
        };

    // The signature itself.
    let base = signature_base(&sig.components, &params_value(&sig.inner), req, inp.fields)
        .map_err(|e| refuse(Reason::SignatureInvalid, format!("no signature base: {e}")))?;
    if !vkey.verify(base.as_bytes(), &sig.signature) {
        return Err(refuse(
            Reason::SignatureInvalid,
            format!("the signature does not verify with key {:?}", key.id),
        ));
    }

    match content_digest {
        Some(Err(e)) => return Err(refuse(Reason::DigestMismatch, e)),
        Some(Ok(cd)) => cd.check(&req.body).map_err(|e| match e {
            digest::DigestCheck::Mismatch(m) => refuse(Reason::DigestMismatch, m),
            // Everything before this point passed: now the body's digests decide.
            digest::DigestCheck::Pending => Refusal::pending_body(),
        })?,
        None => {}
    }

    let Some(nonce) = &p.nonce else {
        return Ok(None);
    };
    let window_end = created
        .saturating_add(max_age)
        .min(p.expires.unwrap_or(i64::MAX))
        .saturating_add(skew);
    let expires_at = UnixTime::from_secs(window_end);
    if store.seen(&key.id, nonce, expires_at, now) {
        return Err(refuse(
            Reason::NonceReplayed,
            "this signature's nonce was already used with this key",
        ));
    }
    Ok(Some(NonceClaim {
        key_id: key.id.clone(),
        nonce: nonce.clone(),
        expires_at,
    }))
}

/// The `Accept-Signature` value (RFC 9421 §5.1) describing what the key set requires here:
/// the required components, plus `content-digest` for a request with a body, and the key id,
/// algorithm and tag when known.
pub(crate) fn accept_signature(
    ks: &KeySet,
    key: Option<&KeyEntry>,
    route: Option<&Route>,
    req: &Request,
) -> String {
    let pol = &ks.policy().signature;
    let mut items: Vec<Item> = required(ks, route).map(|c| c.item.clone()).collect();
    if pol.require_content_digest
        && !req.body.is_empty()
        && !items
            .iter()
            .any(|i| matches!(&i.bare_item, BareItem::String(s) if s.as_str() == "content-digest"))
        && let Ok(c) = ComponentId::parse("content-digest")
    {
        items.push(c.item);
    }
    let mut inner = InnerList::new(items);
    let mut put = |k: &'static str, v: &str| {
        if let Ok(s) = StringRef::from_str(v) {
            inner.params.insert(
                KeyRef::constant(k).to_owned(),
                BareItem::String(s.to_owned()),
            );
        }
    };
    if let Some(k) = key {
        put("keyid", &k.id);
        if let Some(v) = &k.signing {
            put("alg", v.algorithm().as_str());
        }
    }
    if let Some(tag) = &pol.signature_tag {
        put("tag", tag);
    }
    let mut dict = Dictionary::new();
    dict.insert(
        KeyRef::constant("sig1").to_owned(),
        ListEntry::InnerList(inner),
    );
    dict.serialize().unwrap_or_default()
}
