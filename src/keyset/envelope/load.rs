//! Loading a key set from bytes that may be an envelope, and the checks a verifier applies
//! beyond the set's own validity: its audience, and (for pushes) its freshness.

use std::borrow::Cow;

use super::{Envelope, LoadError, looks_like_envelope, not_json, read};
use crate::keyset::KeySet;
use crate::keyset::delta::{Delta, MAX_DELTA_BYTES};
use crate::keyset::publisher::PublisherKeys;
use crate::seal::{SealKeys, Unseal};
use crate::time::UnixTime;

/// How [`load_keyset_with`] loads: the pinned publisher keys (then only a verified envelope
/// is accepted), the audience this verifier serves (then only a set naming it is) and what
/// happens to sealed secrets.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct LoadOptions<'a> {
    /// With keys, only an envelope signed by one of them loads; without, only a bare set.
    pub publisher_keys: Option<&'a PublisherKeys>,
    /// With an audience, a set loads only when its `audience` names it.
    pub audience: Option<&'a str>,
    /// Sealed secrets: refused (the default), opened with seal keys, or checked by form only.
    pub unseal: Unseal<'a>,
}

impl<'a> LoadOptions<'a> {
    /// No publisher keys, no audience: bare key sets load.
    pub fn new() -> Self {
        LoadOptions::default()
    }

    /// Pins publisher keys (or none).
    pub fn publisher_keys(mut self, keys: Option<&'a PublisherKeys>) -> Self {
        self.publisher_keys = keys;
        self
    }

    /// The seal keys that open the set's sealed secrets (or none: a sealed secret is then a
    /// load error at its path).
    pub fn seal_keys(mut self, keys: Option<&'a SealKeys>) -> Self {
        self.unseal = keys.map_or(Unseal::Refuse, Unseal::Keys);
        self
    }

    /// Checks sealed secrets by form only when no seal keys were given: for tools that check,
    /// sign or edit a set without holding its seal keys. Such secrets verify nothing.
    pub fn sealed_form_only(mut self) -> Self {
        if matches!(self.unseal, Unseal::Refuse) {
            self.unseal = Unseal::FormOnly;
        }
        self
    }

    /// The audience this verifier serves (or none). Errors (in words) when it is not a
    /// valid audience name: 1 to 256 visible ASCII characters.
    pub fn audience(mut self, audience: Option<&'a str>) -> Result<Self, String> {
        if let Some(a) = audience {
            crate::keyset::check_audience_name(a).map_err(|e| format!("audience: {e}"))?;
        }
        self.audience = audience;
        Ok(self)
    }
}

/// Loads key set bytes that may be a bare key set or an envelope. With publisher keys, only
/// a verified envelope is accepted; without them, only a bare key set.
/// Checks run in the push endpoint's order: envelope shape, signature, key set content.
pub fn load_keyset(
    bytes: &[u8],
    publisher_keys: Option<&PublisherKeys>,
) -> Result<KeySet, LoadError> {
    load_keyset_with(bytes, &LoadOptions::new().publisher_keys(publisher_keys))
}

/// [`load_keyset`] with options: envelope shape, signature, key set content, then audience.
pub fn load_keyset_with(bytes: &[u8], options: &LoadOptions<'_>) -> Result<KeySet, LoadError> {
    load(bytes, options).map(|(ks, _)| ks)
}

/// Loads, returning the set and the key set bytes it was read from (an envelope's payload).
///
/// With publisher keys, an unauthenticated input costs one scan and no copy: the signature is
/// checked over the input text before the payload is decoded or parsed.
pub(crate) fn load<'b>(
    bytes: &'b [u8],
    options: &LoadOptions<'_>,
) -> Result<(KeySet, Cow<'b, [u8]>), LoadError> {
    let payload = authenticated(bytes, options)?;
    let ks = KeySet::from_json_with(&payload, options.unseal).map_err(LoadError::Keyset)?;
    if let Some(audience) = options.audience {
        check_audience(&ks, audience)?;
    }
    Ok((ks, payload))
}

/// The document bytes of the input once authenticated: with publisher keys, the payload of an
/// envelope whose signature verified (the signature is checked over the input text before the
/// payload is decoded); without, the bare document itself (an envelope is refused).
fn authenticated<'b>(
    bytes: &'b [u8],
    options: &LoadOptions<'_>,
) -> Result<Cow<'b, [u8]>, LoadError> {
    match options.publisher_keys {
        Some(keys) => {
            let top = read::scan(bytes).map_err(|e| not_json(&e))?;
            if !top.is_envelope() {
                return Err(LoadError::SignatureRequired);
            }
            let (payload_b64, signatures) = top.into_parts(bytes)?;
            let payload = Envelope {
                payload_b64,
                signatures,
            }
            .verify(keys)?;
            Ok(Cow::Owned(payload))
        }
        None if looks_like_envelope(bytes) => Err(LoadError::PublisherKeysMissing),
        None => Ok(Cow::Borrowed(bytes)),
    }
}

/// Loads a delta document that may be a bare delta or an envelope, authenticated exactly like
/// a key set ([`load_keyset_with`]: envelope shape, signature, content). A delta names no
/// audience: it applies only to the one state it names as its base, which is the set whose
/// audience was judged when it loaded.
pub fn load_delta(bytes: &[u8], options: &LoadOptions<'_>) -> Result<Delta, LoadError> {
    let payload = authenticated(bytes, options)?;
    Delta::from_json_with(&payload, options.unseal).map_err(LoadError::Keyset)
}

/// Loads a sharded set's manifest (`crate::Manifest`), authenticated exactly like a key set
/// ([`load_keyset_with`]: envelope shape, signature, content, then audience, judged on its
/// header set). Returns it with the document bytes it was read from.
pub fn load_manifest<'b>(
    bytes: &'b [u8],
    options: &LoadOptions<'_>,
) -> Result<(crate::Manifest, Cow<'b, [u8]>), LoadError> {
    let payload = authenticated(bytes, options)?;
    let m = crate::Manifest::from_json(&payload, options.unseal).map_err(LoadError::Keyset)?;
    if let Some(audience) = options.audience {
        check_manifest_audience(&m, audience)?;
    }
    Ok((m, payload))
}

/// [`check_audience`] for a manifest (judged on its header set).
pub fn check_manifest_audience(m: &crate::Manifest, audience: &str) -> Result<(), LoadError> {
    check_audience(&m.set, audience)
}

/// The largest input [`is_delta`] looks into: a delta envelope of [`MAX_DELTA_BYTES`] with
/// room for its base64url encoding and headers.
const MAX_DELTA_INPUT: usize = MAX_DELTA_BYTES / 3 * 4 + 64 * 1024;

/// Whether the input (a bare document or an envelope, not verified) is meant as a delta: its
/// document has a top-level `kind` member, which a key set never has, and is not a sharded
/// set's manifest ([`is_manifest`]). A cheap look for
/// routing only (inputs above about 1.4 MB are never deltas); the document is authenticated
/// and judged in full when it is loaded.
pub fn is_delta(bytes: &[u8]) -> bool {
    if bytes.len() > MAX_DELTA_INPUT {
        return false;
    }
    let has_kind = |doc: &[u8]| {
        let mut kind = false;
        crate::json::each_top_level_name(doc, |n| {
            kind |= n == "kind";
            !kind
        }) && kind
    };
    if looks_like_envelope(bytes) {
        return Envelope::from_bytes(bytes).is_ok_and(|e| {
            let doc = e.unverified_payload();
            has_kind(&doc) && !crate::keyset::shard::is_manifest_doc(&doc)
        });
    }
    has_kind(bytes) && !crate::keyset::shard::is_manifest_doc(bytes)
}

/// Whether the input (a bare document or an envelope, not verified) is meant as a sharded
/// set's manifest (`"kind": "manifest"`). A cheap look for routing only.
pub fn is_manifest(bytes: &[u8]) -> bool {
    if looks_like_envelope(bytes) {
        return Envelope::from_bytes(bytes)
            .is_ok_and(|e| crate::keyset::shard::is_manifest_doc(&e.unverified_payload()));
    }
    crate::keyset::shard::is_manifest_doc(bytes)
}

/// Refuses a set whose `audience` does not name `audience` (a set naming none is refused too:
/// a verifier configured with an audience loads only sets meant for it).
pub fn check_audience(ks: &KeySet, audience: &str) -> Result<(), LoadError> {
    if ks.names_audience(audience) {
        return Ok(());
    }
    let shown = |a: &str| {
        let mut s: String = a.chars().take(64).collect();
        if s.len() < a.len() {
            s.push('\u{2026}');
        }
        format!("{s:?}")
    };
    let named: Vec<String> = ks.audience().iter().take(8).map(|a| shown(a)).collect();
    Err(LoadError::AudienceMismatch(if named.is_empty() {
        format!(
            "this verifier serves audience {}, and the key set names no audience ($.audience)",
            shown(audience)
        )
    } else {
        format!(
            "this verifier serves audience {}, and the key set is for {}{} ($.audience)",
            shown(audience),
            named.join(", "),
            if ks.audience().len() > named.len() {
                ", ..."
            } else {
                ""
            }
        )
    }))
}

/// The default for the maximum age of a pushed set's `issued_at`: 15 minutes.
pub const DEFAULT_MAX_PUSH_AGE_SECONDS: u64 = 15 * 60;

/// Refuses a pushed set that is not fresh at `now`: it must carry `issued_at`, issued at most
/// `max_age_seconds` ago and not later than `now` plus its own `policy.clock_skew_seconds`.
/// This bounds how long a captured older envelope can be replayed to a location whose stored
/// copy is older still (see docs/security.md). Only pushes are judged so: a stored copy read
/// back later is legitimately old.
pub fn check_push_fresh(ks: &KeySet, now: UnixTime, max_age_seconds: u64) -> Result<(), LoadError> {
    fresh(
        ks.issued_at(),
        ks.policy().clock_skew_seconds,
        now,
        max_age_seconds,
    )
}

/// [`check_push_fresh`] for a pushed delta: its `issued_at` (the new set's), judged with the
/// clock skew of the set it applies to.
pub fn check_delta_fresh(
    delta: &Delta,
    base: &KeySet,
    now: UnixTime,
    max_age_seconds: u64,
) -> Result<(), LoadError> {
    fresh(
        delta.issued_at(),
        base.policy().clock_skew_seconds,
        now,
        max_age_seconds,
    )
}

fn fresh(
    issued_at: Option<UnixTime>,
    skew: u32,
    now: UnixTime,
    max_age_seconds: u64,
) -> Result<(), LoadError> {
    let Some(issued) = issued_at else {
        return Err(LoadError::Stale(
            "a pushed key set must carry issued_at ($.issued_at), so that an old envelope cannot be replayed".into(),
        ));
    };
    let age = now.as_secs().saturating_sub(issued.as_secs());
    let max_age = i64::try_from(max_age_seconds).unwrap_or(i64::MAX);
    if age > max_age {
        return Err(LoadError::Stale(format!(
            "issued_at {} is {age} s before now, more than the {max_age} s a push may be old ($.issued_at); sign it again (keygate keyset bump)",
            issued.to_rfc3339()
        )));
    }
    let skew = i64::from(skew);
    if -age > skew {
        return Err(LoadError::Stale(format!(
            "issued_at {} is {} s after now, beyond the clock skew of {skew} s ($.issued_at)",
            issued.to_rfc3339(),
            -age
        )));
    }
    Ok(())
}
