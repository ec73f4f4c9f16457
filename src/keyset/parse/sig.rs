//! Validation of the key set's signature fields: `policy` knobs, route requirements and each
//! key's `signing` key. Called from the parent module; errors carry JSON paths like the rest.

use serde_json::{Map, Value};

use super::Ctx;
use crate::encoding::b64url_decode;
use crate::json::JsonPath;
use crate::keyset::{RouteSignature, SignaturePolicy};
use crate::sig::{Algorithm, ComponentId, HmacSecret, VerifierKey};

/// The longest `signature_tag`.
const MAX_TAG_LEN: usize = 256;

fn components(cx: &mut Ctx, v: &Value, path: &JsonPath) -> Vec<ComponentId> {
    let Some(items) = cx.array(v, path) else {
        return Vec::new();
    };
    let mut out: Vec<ComponentId> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let p = path.index(i);
        let Some(s) = cx.string(item, &p) else {
            continue;
        };
        match ComponentId::parse(s) {
            Ok(c) if out.contains(&c) => cx.err(&p, format!("duplicate component {c}")),
            Ok(c) => out.push(c),
            Err(e) => cx.err(&p, e),
        }
    }
    out
}

/// Reads the signature knobs of `policy` into `sp`.
pub(super) fn policy(
    cx: &mut Ctx,
    map: &Map<String, Value>,
    path: &JsonPath,
    sp: &mut SignaturePolicy,
) {
    if let Some(v) = map.get("max_signature_age_seconds") {
        let p = path.field("max_signature_age_seconds");
        if let Some(n) = cx.uint(v, &p, 1, 7 * 86_400) {
            sp.max_signature_age_seconds = u32::try_from(n).unwrap_or(u32::MAX);
        }
    }
    if let Some(v) = map.get("required_components") {
        sp.required_components = components(cx, v, &path.field("required_components"));
    }
    if let Some(v) = map.get("require_content_digest")
        && let Some(b) = cx.bool(v, &path.field("require_content_digest"))
    {
        sp.require_content_digest = b;
    }
    if let Some(v) = map.get("require_nonce")
        && let Some(b) = cx.bool(v, &path.field("require_nonce"))
    {
        sp.require_nonce = b;
    }
    if let Some(v) = map.get("signature_tag") {
        let p = path.field("signature_tag");
        if let Some(s) = cx.string(v, &p) {
            if s.is_empty()
                || s.len() > MAX_TAG_LEN
                || !s.bytes().all(|b| (0x20..0x7f).contains(&b))
            {
                cx.err(
                    &p,
                    format!("a tag is 1 to {MAX_TAG_LEN} printable ASCII characters"),
                );
            } else {
                sp.signature_tag = Some(s.to_string());
            }
        }
    }
}

/// Reads a route's `require_signature` and `required_components`.
pub(super) fn route(
    cx: &mut Ctx,
    map: &Map<String, Value>,
    path: &JsonPath,
    public: bool,
) -> RouteSignature {
    let mut rs = RouteSignature::default();
    if let Some(v) = map.get("require_signature") {
        let p = path.field("require_signature");
        rs.require_signature = cx.bool(v, &p).unwrap_or(false);
        if public && rs.require_signature {
            cx.err(
                &p,
                "a public route examines no credentials, so it cannot require a signature",
            );
        }
    }
    if let Some(v) = map.get("required_components") {
        let p = path.field("required_components");
        rs.required_components = components(cx, v, &p);
        if public {
            cx.err(
                &p,
                "a public route examines no credentials, so it cannot require components",
            );
        }
    }
    rs
}

/// Reads a key's `signing` and `require_signature` (which defaults to whether `signing` is
/// present).
pub(super) fn key(
    cx: &mut Ctx,
    map: &Map<String, Value>,
    path: &JsonPath,
) -> (Option<VerifierKey>, bool) {
    let signing = map
        .get("signing")
        .and_then(|v| signing(cx, v, &path.field("signing")));
    let has_signing = map.contains_key("signing");
    let require = match map.get("require_signature") {
        None => has_signing,
        Some(v) => {
            let p = path.field("require_signature");
            let r = cx.bool(v, &p).unwrap_or(has_signing);
            if r && !has_signing {
                cx.err(
                    &p,
                    "a key without \"signing\" cannot require a signature (it could never pass)",
                );
            }
            r
        }
    };
    (signing, require)
}

fn bytes(cx: &mut Ctx, v: &Value, path: &JsonPath) -> Option<Vec<u8>> {
    let s = cx.string(v, path)?;
    b64url_decode(s).map_err(|e| cx.err(path, e)).ok()
}

fn signing(cx: &mut Ctx, v: &Value, path: &JsonPath) -> Option<VerifierKey> {
    let map = cx.object(v, path, &["alg", "secret", "public_key", "jwk"])?;
    let alg = match map.get("alg") {
        None => {
            cx.err(
                &path.field("alg"),
                "required field missing (\"hmac-sha256\" or \"ed25519\")",
            );
            return None;
        }
        Some(v) => {
            let p = path.field("alg");
            match cx.string(v, &p).map(|s| (s, Algorithm::from_name(s))) {
                Some((_, Some(a))) => a,
                Some((s, None)) => {
                    cx.err(
                        &p,
                        format!("expected \"hmac-sha256\" or \"ed25519\", found {s:?}"),
                    );
                    return None;
                }
                None => return None,
            }
        }
    };
    let (own, other) = match alg {
        Algorithm::HmacSha256 => ("secret", "public_key"),
        Algorithm::Ed25519 => ("public_key", "secret"),
    };
    if map.contains_key(other) {
        cx.err(
            &path.field(other),
            format!(
                "not used with alg {:?} (use {own:?} or \"jwk\")",
                alg.as_str()
            ),
        );
        return None;
    }
    let raw = match (map.get(own), map.get("jwk")) {
        (Some(_), Some(_)) => {
            cx.err(path, format!("give either {own:?} or \"jwk\", not both"));
            return None;
        }
        (None, None) => {
            cx.err(
                path,
                format!("alg {:?} needs {own:?} or \"jwk\"", alg.as_str()),
            );
            return None;
        }
        (Some(v), None) => bytes(cx, v, &path.field(own))?,
        (None, Some(v)) => jwk(cx, v, &path.field("jwk"), alg)?,
    };
    let at = if map.contains_key(own) {
        path.field(own)
    } else {
        path.field("jwk").field(match alg {
            Algorithm::HmacSha256 => "k",
            Algorithm::Ed25519 => "x",
        })
    };
    let key = match alg {
        Algorithm::HmacSha256 => HmacSecret::new(raw).map(VerifierKey::HmacSha256),
        Algorithm::Ed25519 => VerifierKey::ed25519(&raw),
    };
    key.map_err(|e| cx.err(&at, e)).ok()
}

/// The key bytes of a JWK: `{"kty":"OKP","crv":"Ed25519","x":...}` or `{"kty":"oct","k":...}`.
fn jwk(cx: &mut Ctx, v: &Value, path: &JsonPath, alg: Algorithm) -> Option<Vec<u8>> {
    let (kty, member, allowed): (&str, &str, &[&str]) = match alg {
        Algorithm::Ed25519 => ("OKP", "x", &["kty", "crv", "x", "kid", "alg", "use", "d"]),
        Algorithm::HmacSha256 => ("oct", "k", &["kty", "k", "kid", "alg", "use"]),
    };
    let map = cx.object(v, path, allowed)?;
    if map.contains_key("d") {
        cx.err(
            &path.field("d"),
            "a private key does not belong in a key set; keep only the public \"x\"",
        );
        return None;
    }
    let mut ok = true;
    let mut expect = |cx: &mut Ctx, field: &str, want: &str| match map.get(field) {
        None => {
            cx.err(
                &path.field(field),
                format!("required field missing ({want:?})"),
            );
            ok = false;
        }
        Some(v) => {
            let p = path.field(field);
            if let Some(s) = cx.string(v, &p) {
                if s != want {
                    cx.err(
                        &p,
                        format!("expected {want:?} for alg {:?}, found {s:?}", alg.as_str()),
                    );
                    ok = false;
                }
            } else {
                ok = false;
            }
        }
    };
    expect(cx, "kty", kty);
    if alg == Algorithm::Ed25519 {
        expect(cx, "crv", "Ed25519");
    }
    let jwk_algs: &[&str] = match alg {
        Algorithm::Ed25519 => &["EdDSA", "Ed25519"],
        Algorithm::HmacSha256 => &["HS256"],
    };
    for (field, allowed_values) in [("use", &["sig"][..]), ("alg", jwk_algs)] {
        if let Some(v) = map.get(field) {
            let p = path.field(field);
            if let Some(s) = cx.string(v, &p)
                && !allowed_values.contains(&s)
            {
                cx.err(&p, format!("unexpected value {s:?}"));
                ok = false;
            }
        }
    }
    if let Some(v) = map.get("kid") {
        cx.string(v, &path.field("kid"));
    }
    let raw = match map.get(member) {
        None => {
            cx.err(
                &path.field(member),
                "required field missing (the key, base64url)",
            );
            return None;
        }
        Some(v) => bytes(cx, v, &path.field(member))?,
    };
    ok.then_some(raw)
}
