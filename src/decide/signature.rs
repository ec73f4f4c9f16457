//! The key set's signature policy applied to one labelled signature (RFC 9421), in the fixed
//! order of `docs/signatures.md`.
//!
//! Before proof nothing here depends on the key the signature names: the label's form and
//! tag, its times, the nonce requirement and the coverage are policy, and the cryptographic
//! check costs the same work and ends in the same `signature_invalid` whether the key is
//! unknown, has another algorithm, has no signing key, or simply does not match. So a caller
//! without the secret learns nothing about a key id from the code, the message, the
//! `Accept-Signature` field or the time taken. After proof come the body's digest and the
//! nonce.

use std::sync::OnceLock;

use sfv::{BareItem, Dictionary, FieldType, InnerList, Item, KeyRef, ListEntry, StringRef};

use crate::keyset::{KeyEntry, KeySet};
use crate::request::Request;
use crate::sig::base::signature_base;
use crate::sig::derive::FieldCache;
use crate::sig::digest::{self, ContentDigest, DigestCheck};
use crate::sig::{
    Algorithm, ComponentId, HmacSecret, NonceClaim, NonceStore, Parsed, Presented, SignerKey,
    VerifierKey,
};
use crate::time::UnixTime;

use super::Refusal;
use super::decision::Reason;
use super::flow::{Answer, Exchange, Mode, Need};
use super::routes::RouteMatch;
use crate::request::body::Body;

/// A `Content-Digest` the signature covers, read (or unreadable: refused as
/// `digest_mismatch` after proof).
pub(super) type Covered = Option<Result<ContentDigest, String>>;

/// `signature_required`: a request without a signature for a key or route that wants one.
pub(super) fn required(key: &KeyEntry, routes: &RouteMatch<'_>) -> Result<(), Refusal> {
    if !key.require_signature && !routes.requires_signature() {
        return Ok(());
    }
    let why = if key.require_signature {
        format!("key {:?}", key.id)
    } else {
        "this route".to_string()
    };
    Err(Refusal::new(
        Reason::SignatureRequired,
        format!("{why} requires a signed request (RFC 9421)"),
    ))
}

/// The label itself: well-formed (`malformed_credentials`), with the policy's `tag`.
pub(super) fn label<'r>(ks: &KeySet, sig: &'r Presented) -> Result<&'r Parsed, Refusal> {
    let parsed = sig
        .parsed
        .as_ref()
        .map_err(|m| Refusal::new(Reason::MalformedCredentials, m.clone()))?;
    if let Some(tag) = &ks.policy().signature.signature_tag
        && parsed.params.tag.as_ref() != Some(tag)
    {
        return Err(Refusal::new(
            Reason::MalformedCredentials,
            format!("the signature's tag parameter must be {tag:?}"),
        ));
    }
    Ok(parsed)
}

/// `algorithm_mismatch`, and `signature_invalid` for a key that cannot verify. Only for a key
/// the caller proved with its API key: it tells the key's algorithm.
pub(super) fn algorithm(key: &KeyEntry, parsed: &Parsed) -> Result<(), Refusal> {
    let Some(vkey) = &key.signing else {
        return Err(Refusal::new(
            Reason::SignatureInvalid,
            format!(
                "key {:?} has no signing key, so it cannot verify signatures",
                key.id
            ),
        ));
    };
    match parsed.params.alg.as_deref() {
        Some(alg) if alg != vkey.algorithm().as_str() => Err(Refusal::new(
            Reason::AlgorithmMismatch,
            format!(
                "the signature says alg {alg:?} but key {:?} uses {}",
                key.id,
                vkey.algorithm()
            ),
        )),
        _ => Ok(()),
    }
}

/// The components a signature must cover here: the policy's, then the rules'.
fn required_components<'a>(ks: &'a KeySet, routes: &'a RouteMatch<'_>) -> Vec<&'a ComponentId> {
    let mut out: Vec<&ComponentId> = ks.policy().signature.required_components.iter().collect();
    for c in routes.components() {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// The components that bind the method overrides `req` carries, by name, when the signature
/// must bind the method (`required` holds `@method`): an origin acts on the override, so a
/// signature that leaves it out could be replayed with one added (a GET signed, a DELETE
/// served). Each override header field present, and `@query` for a `_method` query parameter
/// when no required component covers the query. Out of line: the same small check on every
/// signed request, and most carry no override.
#[inline(never)]
fn override_components(required: &[&ComponentId], req: &Request) -> Vec<&'static str> {
    if !required.iter().any(|c| c.name() == "@method") {
        return Vec::new();
    }
    let mut out: Vec<&'static str> = crate::request::METHOD_OVERRIDE_FIELDS
        .into_iter()
        .filter(|name| req.has_field(name))
        .collect();
    let mut in_query = false;
    super::routes::query_overrides(req, &mut |_| in_query = true);
    if in_query && !required.iter().any(|c| covers_query(c)) {
        out.push("@query");
    }
    out
}

/// `components_missing` when the signature leaves out a method override that
/// [`override_components`] wants covered.
fn overrides_covered(
    required: &[&ComponentId],
    components: &[ComponentId],
    req: &Request,
) -> Result<(), Refusal> {
    let mut unbound = String::new();
    for name in override_components(required, req) {
        let covered = components.iter().any(|c| match name {
            "@query" => covers_query(c),
            field => c.covers_whole_field(field),
        });
        if !covered {
            if !unbound.is_empty() {
                unbound.push_str(", ");
            }
            unbound.push('"');
            unbound.push_str(name);
            unbound.push('"');
        }
    }
    if unbound.is_empty() {
        return Ok(());
    }
    Err(Refusal::new(
        Reason::ComponentsMissing,
        format!(
            "the signature does not cover {unbound}, which overrides the request's method for some origins"
        ),
    ))
}

/// Whether a component covers the whole query.
fn covers_query(c: &ComponentId) -> bool {
    matches!(c.name(), "@query" | "@target-uri" | "@request-target")
}

/// Times (`signature_too_old`, `signature_in_future`, `signature_expired`), `nonce_missing`,
/// coverage (`components_missing`, `digest_missing`): policy, the same whatever the key.
pub(super) fn policy(
    ks: &KeySet,
    routes: &RouteMatch<'_>,
    req: &Request,
    parsed: &Parsed,
    now: UnixTime,
) -> Result<Covered, Refusal> {
    let pol = &ks.policy().signature;
    let p = &parsed.params;
    let skew = i64::from(ks.policy().clock_skew_seconds);
    let max_age = i64::from(pol.max_signature_age_seconds);
    let created = p.created.unwrap_or(i64::MIN);
    let t = now.as_secs();
    if created < t.saturating_sub(max_age).saturating_sub(skew) {
        return Err(Refusal::new(
            Reason::SignatureTooOld,
            format!(
                "the signature was created at {} and is older than {max_age} seconds",
                UnixTime::from_secs(created).described()
            ),
        ));
    }
    if created > t.saturating_add(skew) {
        return Err(Refusal::new(
            Reason::SignatureInFuture,
            format!(
                "the signature's created time {} is in the future",
                UnixTime::from_secs(created).described()
            ),
        ));
    }
    if let Some(exp) = p.expires.filter(|e| t > e.saturating_add(skew)) {
        return Err(Refusal::new(
            Reason::SignatureExpired,
            format!(
                "the signature expired at {}",
                UnixTime::from_secs(exp).described()
            ),
        ));
    }
    if pol.require_nonce && p.nonce.is_none() {
        return Err(Refusal::new(
            Reason::NonceMissing,
            "the key set requires a nonce parameter on every signature",
        ));
    }
    let required = required_components(ks, routes);
    let missing: Vec<String> = required
        .iter()
        .filter(|r| !parsed.components.contains(r))
        .map(ToString::to_string)
        .collect();
    if !missing.is_empty() {
        return Err(Refusal::new(
            Reason::ComponentsMissing,
            format!("the signature does not cover {}", missing.join(", ")),
        ));
    }
    let components = &parsed.components;
    overrides_covered(&required, components, req)?;
    let covers_digest = components
        .iter()
        .any(|c| c.covers_whole_field("content-digest"));
    if pol.require_content_digest && !req.body.is_empty() {
        if req.header_values("content-digest").next().is_none() {
            return Err(Refusal::new(
                Reason::DigestMissing,
                "the request has a body but no Content-Digest",
            ));
        }
        if !covers_digest {
            return Err(Refusal::new(
                Reason::ComponentsMissing,
                "the signature does not cover content-digest, which a request with a body must",
            ));
        }
    }
    if !(covers_digest || components.iter().any(|c| c.name() == "content-digest")) {
        return Ok(None);
    }
    match digest::read(req) {
        Ok(Some(cd)) if cd.is_usable() => Ok(Some(Ok(cd))),
        Ok(Some(_)) => Err(Refusal::new(
            Reason::DigestMissing,
            "Content-Digest names no sha-256 or sha-512 digest",
        )),
        Ok(None) => Err(Refusal::new(
            Reason::DigestMissing,
            "the signature covers content-digest but the request has none",
        )),
        Err(e) => Ok(Some(Err(e))),
    }
}

/// Stand-in keys, so that a signature that cannot be checked against a real key costs the
/// same work as one that can. (Built from fixed, valid bytes: never `None` in practice.)
fn stand_ins() -> Option<&'static (VerifierKey, VerifierKey)> {
    static KEYS: OnceLock<Option<(VerifierKey, VerifierKey)>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let hmac = HmacSecret::new(vec![0x5a; 32]).ok()?;
        let ed = SignerKey::ed25519_seed(&[0xa5; 32]).ok()?;
        Some((VerifierKey::HmacSha256(hmac), ed.verifier_key()))
    })
    .as_ref()
}

/// An Ed25519 verification left to the runtime (`flow::Need::Ed25519`), after the checks
/// `verify_strict` makes on the signature's encoding have passed.
pub(super) struct Ed25519Job<'k> {
    /// The key verified against (the named key, or the stand-in).
    pub(super) key: &'k VerifierKey,
    /// Whether `key` is the named key (a stand-in's answer is discarded).
    pub(super) real: bool,
    pub(super) pk: [u8; 32],
    pub(super) sig: [u8; 64],
    pub(super) msg: Vec<u8>,
}

/// The cryptographic check so far: the signature base, each algorithm's answer, and an
/// Ed25519 verification still to make.
pub(super) struct Proof<'k> {
    pub(super) base: String,
    pub(super) by_hmac: bool,
    pub(super) by_ed25519: bool,
    pub(super) external: Option<Ed25519Job<'k>>,
}

impl Proof<'_> {
    pub(super) fn valid(&self) -> bool {
        self.by_hmac || self.by_ed25519
    }
}

/// The cryptographic check, with work that depends only on the signature: one HMAC-SHA256
/// and one Ed25519 verification, or only the one its declared `alg` names (a key of the other
/// algorithm could not verify it anyway), each against the named key when it has that
/// algorithm (and the declared `alg`, if any, agrees), else against a stand-in key whose
/// answer is discarded. With
/// `mode.external_ed25519` the Ed25519 curve equation is left to the caller
/// ([`Proof::external`]) once the signature passed `verify_strict`'s encoding checks
/// (`crate::sig::ed25519`); a signature that fails them does not verify, whatever the key.
///
/// `Err` when no signature base exists (a covered component the request lacks): that is
/// about the request, not the key.
pub(super) fn prove<'k>(
    key: Option<&'k KeyEntry>,
    parsed: &Parsed,
    req: &Request,
    fields: &FieldCache,
    mode: Mode,
) -> Result<Proof<'k>, Refusal> {
    let base = signature_base(&parsed.components, &parsed.params_text, req, fields)
        .map_err(|e| Refusal::new(Reason::SignatureInvalid, format!("no signature base: {e}")))?;
    let declared = parsed.params.alg.as_deref();
    let real = key
        .and_then(|k| k.signing.as_deref())
        .filter(|v| declared.is_none_or(|a| a == v.algorithm().as_str()));
    let stand_in = stand_ins();
    // The key to check with, and whether it is the named key.
    let pick = |alg: Algorithm| -> Option<(&'k VerifierKey, bool)> {
        match real {
            Some(v) if v.algorithm() == alg => Some((v, true)),
            _ => stand_in.map(|(h, e)| (if alg == Algorithm::HmacSha256 { h } else { e }, false)),
        }
    };
    let check = |(k, is_real): (&VerifierKey, bool), base: &str| {
        let v = std::hint::black_box(k.verify(base.as_bytes(), &parsed.signature));
        v && is_real
    };
    let by_hmac = declared != Some(Algorithm::Ed25519.as_str())
        && pick(Algorithm::HmacSha256).is_some_and(|k| check(k, &base));
    let mut proof = Proof {
        base,
        by_hmac,
        by_ed25519: false,
        external: None,
    };
    if declared == Some(Algorithm::HmacSha256.as_str()) {
        return Ok(proof);
    }
    let Some((k, is_real)) = pick(Algorithm::Ed25519) else {
        return Ok(proof);
    };
    if !mode.external_ed25519 {
        proof.by_ed25519 = check((k, is_real), &proof.base);
        return Ok(proof);
    }
    if let (Some(sig), Some(pk)) = (
        crate::sig::ed25519::strict_signature(&parsed.signature),
        k.ed25519_public(),
    ) {
        proof.external = Some(Ed25519Job {
            key: k,
            real: is_real,
            pk,
            sig,
            msg: proof.base.as_bytes().to_vec(),
        });
    }
    Ok(proof)
}

/// After proof: the body against the covered `Content-Digest` (`digest_mismatch`). A pending
/// body is hashed now, when the mode allows it (every other check has passed), else the
/// refusal says its digests now decide.
pub(super) async fn content(
    req: &Request,
    covered: Covered,
    ex: &Exchange,
    mode: Mode,
) -> Result<(), Refusal> {
    let cd = match covered {
        None => return Ok(()),
        Some(Err(e)) => return Err(Refusal::new(Reason::DigestMismatch, e)),
        Some(Ok(cd)) => cd,
    };
    let mismatch = |e| match e {
        DigestCheck::Mismatch(m) => Refusal::new(Reason::DigestMismatch, m),
        DigestCheck::Pending => Refusal::pending_body(),
    };
    if matches!(req.body, Body::Pending) && mode.ask_body {
        return match ex.ask(Need::Body(cd.algorithms())).await {
            Answer::Digests(d) => cd.check(&Body::Digests(d)).map_err(mismatch),
            _ => Err(Refusal::pending_body()),
        };
    }
    cd.check(&req.body).map_err(mismatch)
}

/// After proof: `nonce_replayed` when the store may have seen the nonce; else the claim to
/// record if the whole decision allows the request.
pub(super) fn replay(
    ks: &KeySet,
    store: &dyn NonceStore,
    key: &KeyEntry,
    parsed: &Parsed,
    now: UnixTime,
) -> Result<Option<NonceClaim>, Refusal> {
    let p = &parsed.params;
    let Some(nonce) = &p.nonce else {
        return Ok(None);
    };
    let skew = i64::from(ks.policy().clock_skew_seconds);
    let max_age = i64::from(ks.policy().signature.max_signature_age_seconds);
    let window_end = p
        .created
        .unwrap_or(i64::MIN)
        .saturating_add(max_age)
        .min(p.expires.unwrap_or(i64::MAX))
        .saturating_add(skew);
    let expires_at = UnixTime::from_secs(window_end);
    if store.seen(&key.id, nonce, expires_at, now) {
        return Err(Refusal::new(
            Reason::NonceReplayed,
            "this signature's nonce was already used with this key",
        ));
    }
    Ok(Some(NonceClaim {
        kind: crate::sig::ClaimKind::Signature,
        key_id: key.id.clone(),
        nonce: nonce.clone(),
        expires_at,
    }))
}

/// The `Accept-Signature` value (RFC 9421 §5.1) describing what the key set requires here:
/// the required components, plus `content-digest` for a request with a body, the tag, and the
/// key id and algorithm only for a key the caller has proven.
pub(super) fn accept_signature(
    ks: &KeySet,
    proven: Option<&KeyEntry>,
    routes: &RouteMatch<'_>,
    req: &Request,
) -> String {
    let pol = &ks.policy().signature;
    let required = required_components(ks, routes);
    let overrides = override_components(&required, req);
    let mut items: Vec<Item> = required.into_iter().map(|c| c.item.clone()).collect();
    for name in overrides {
        if let Ok(c) = ComponentId::parse(name) {
            items.push(c.item);
        }
    }
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
    if let Some(k) = proven {
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
