//! Validation of the key set's signature fields: `policy` knobs, route requirements and each
//! key's `signing` key. Called from the parent module; errors carry JSON paths like the rest.

use serde_json::{Map, Value};

use zeroize::Zeroizing;

use super::ctx::Ctx;
use super::key::F;
use super::secrets::{Form, Sealed, plaintext_error};
use crate::encoding::b64url_decode;
use crate::json::JsonPath;
use crate::jwk::{self, Role};
use crate::keyset::{RouteSignature, SignaturePolicy};
use crate::sig::{Algorithm, ComponentId, HmacSecret, VerifierKey};

/// The longest `signature_tag`.
const MAX_TAG_LEN: usize = 256;

fn components(cx: &mut Ctx<'_>, v: &Value, path: &JsonPath<'_>) -> Vec<ComponentId> {
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
    cx: &mut Ctx<'_>,
    map: &Map<String, Value>,
    path: &JsonPath<'_>,
    sp: &mut SignaturePolicy,
) {
    if let Some(v) = map.get("max_signature_age_seconds") {
        let p = path.field("max_signature_age_seconds");
        if let Some(n) = cx.uint(v, &p, 1, 7 * 86_400) {
            sp.max_signature_age_seconds = u32::try_from(n).unwrap_or(u32::MAX);
        }
    }
    if let Some(v) = map.get("required_components") {
        let p = path.field("required_components");
        sp.required_components = components(cx, v, &p);
        if v.as_array().is_some_and(Vec::is_empty) {
            // GHSA-x9cc-346q-g27m: a signature covering nothing but its own parameters
            // verifies for any method, URL and body.
            cx.err(
                &p,
                "an empty list lets a signature cover nothing but its own parameters, valid for any request; list at least \"@method\" and \"@target-uri\"",
            );
        }
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
    cx: &mut Ctx<'_>,
    map: &Map<String, Value>,
    path: &JsonPath<'_>,
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

/// Reads a key's `signing` and checks `require_signature` (type-checked by the caller),
/// which defaults to whether `signing` is present. Also says how its secret is written.
pub(super) fn key(
    cx: &mut Ctx<'_>,
    signing_value: Option<&Value>,
    require: F<bool>,
    path: &JsonPath<'_>,
) -> (Option<VerifierKey>, bool, Form) {
    let has_signing = signing_value.is_some();
    let (signing, form) = match signing_value {
        Some(v) => signing(cx, v, &path.field("signing")),
        None => (None, Form::None),
    };
    let require = match require {
        F::Absent | F::Invalid => has_signing,
        F::Valid(r) => {
            if r && !has_signing {
                cx.err(
                    &path.field("require_signature"),
                    "a key without \"signing\" cannot require a signature (it could never pass)",
                );
            }
            r
        }
    };
    (signing, require, form)
}

fn bytes(cx: &mut Ctx<'_>, v: &Value, path: &JsonPath<'_>) -> Option<Vec<u8>> {
    let s = cx.string(v, path)?;
    b64url_decode(s).map_err(|e| cx.err(path, e)).ok()
}

// Out of line: only some key sets (requests) need it, and V8 compiles a wasm function
// whole on its first call (BENCHMARKS.md, "The first load and the first decision").
#[inline(never)]
fn signing(cx: &mut Ctx<'_>, v: &Value, path: &JsonPath<'_>) -> (Option<VerifierKey>, Form) {
    let none = (None, Form::None);
    let Some(map) = cx.object(v, path, &["alg", "secret", "public_key", "jwk", "sealed"]) else {
        return none;
    };
    let alg = match map.get("alg") {
        None => {
            cx.err(
                &path.field("alg"),
                "required field missing (\"hmac-sha256\" or \"ed25519\")",
            );
            return none;
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
                    return none;
                }
                None => return none,
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
        return none;
    }
    if alg == Algorithm::Ed25519 && map.contains_key("sealed") {
        cx.err(
            &path.field("sealed"),
            "only secrets are sealed: an ed25519 public key is not secret (use \"public_key\" or \"jwk\")",
        );
        return none;
    }
    let given: Vec<&str> = [own, "jwk", "sealed"]
        .into_iter()
        .filter(|m| map.contains_key(*m))
        .collect();
    if given.len() > 1 {
        let names: Vec<String> = given.iter().map(|m| format!("{m:?}")).collect();
        let m = match names.as_slice() {
            [a, b] => format!("give either {a} or {b}, not both"),
            _ => format!("give one of {}, not several", names.join(", ")),
        };
        cx.err(path, m);
        return none;
    }
    let (raw, at, form) = match given.first().copied() {
        None => {
            let sealed = if alg == Algorithm::HmacSha256 {
                ", \"jwk\" or \"sealed\""
            } else {
                " or \"jwk\""
            };
            cx.err(
                path,
                format!("alg {:?} needs {own:?}{sealed}", alg.as_str()),
            );
            return none;
        }
        Some("jwk") => {
            let Some(raw) = jwk(cx, &map["jwk"], &path.field("jwk"), alg) else {
                return none;
            };
            let jp = path.field("jwk");
            let (member, clear) = match alg {
                Algorithm::HmacSha256 => ("k", Form::Clear("jwk.k")),
                Algorithm::Ed25519 => ("x", Form::None),
            };
            (raw, jp.field(member).to_string(), clear)
        }
        Some("sealed") => {
            let p = path.field("sealed");
            match super::secrets::open(cx, &map["sealed"], &p) {
                None => return none,
                Some(sealed) => {
                    let form = sealed.form();
                    let Sealed::Opened(text, _) = sealed else {
                        // Checked by form only: verifies nothing.
                        return (None, form);
                    };
                    match b64url_decode(&text) {
                        Ok(raw) => (raw, p.to_string(), form),
                        Err(e) => {
                            cx.err(&p, plaintext_error(&e));
                            return none;
                        }
                    }
                }
            }
        }
        Some(_) => {
            let p = path.field(own);
            let Some(raw) = bytes(cx, &map[own], &p) else {
                return none;
            };
            let form = match alg {
                Algorithm::HmacSha256 => Form::Clear("secret"),
                Algorithm::Ed25519 => Form::None,
            };
            (raw, p.to_string(), form)
        }
    };
    let raw = Zeroizing::new(raw);
    let key = match alg {
        Algorithm::HmacSha256 => HmacSecret::new(raw.to_vec()).map(VerifierKey::HmacSha256),
        Algorithm::Ed25519 => VerifierKey::ed25519(&raw),
    };
    match key {
        Ok(k) => (Some(k), form),
        Err(e) => {
            let e = if matches!(form, Form::Sealed { .. }) {
                plaintext_error(&e)
            } else {
                e
            };
            cx.errors.push(crate::keyset::KeysetError {
                path: at,
                message: e,
            });
            none
        }
    }
}

/// The key bytes of a JWK: `{"kty":"OKP","crv":"Ed25519","x":...}` or `{"kty":"oct","k":...}`,
/// with the registered members runtimes and key stores add (`crate::jwk`).
fn jwk(cx: &mut Ctx<'_>, v: &Value, path: &JsonPath<'_>, alg: Algorithm) -> Option<Vec<u8>> {
    let (kty, member, role) = match alg {
        Algorithm::Ed25519 => ("OKP", "x", Role::VerifyPublic),
        Algorithm::HmacSha256 => ("oct", "k", Role::VerifySecret),
    };
    let mut allowed: Vec<&str> = vec!["kty", member];
    if alg == Algorithm::Ed25519 {
        allowed.push("crv");
        allowed.extend_from_slice(jwk::PRIVATE);
    }
    allowed.extend_from_slice(jwk::REGISTERED);
    let map = cx.object(v, path, &allowed)?;
    if let Some(m) = jwk::PRIVATE.iter().find(|m| map.contains_key(**m)) {
        cx.err(
            &path.field(m),
            "a private key does not belong in a key set; keep only the public \"x\"",
        );
        return None;
    }
    let mut ok = true;
    let mut expect = |cx: &mut Ctx<'_>, field: &str, want: &str| match map.get(field) {
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
    let public = (alg == Algorithm::Ed25519).then_some(raw.as_slice());
    for e in jwk::check(map, role, public) {
        let p = path.field(e.member);
        match e.index {
            Some(i) => cx.err(&p.index(i), e.message),
            None => cx.err(&p, e.message),
        }
        ok = false;
    }
    ok.then_some(raw)
}

#[cfg(test)]
mod tests {
    use super::super::parse::{Mode, run};

    fn summary(doc: &str, mode: Mode) -> Option<String> {
        run(doc.as_bytes(), mode, crate::seal::Unseal::Refuse).map(|r| match r {
            Ok(ks) => ks
                .keys()
                .iter()
                .map(|k| {
                    format!(
                        "{}:{:?}:{}",
                        k.id,
                        k.signing.as_ref().map(|s| s.algorithm()),
                        k.require_signature
                    )
                })
                .collect::<Vec<_>>()
                .join(","),
            Err(e) => e.to_string(),
        })
    }

    /// The typed fast path and the tree slow path read signing keys alike.
    #[test]
    fn fast_and_slow_paths_agree_on_signing() {
        let x = crate::encoding::b64url_encode(&[0x11; 32]);
        let ed = match crate::sig::SignerKey::ed25519_seed(&[1; 32]).map(|k| k.verifier_key()) {
            Ok(crate::sig::VerifierKey::Ed25519(k)) => crate::encoding::b64url_encode(k.as_bytes()),
            _ => unreachable!(),
        };
        let docs = [
            format!(
                r#"{{"keygate":1,"revision":1,"keys":[{{"id":"a","signing":{{"alg":"hmac-sha256","secret":"{x}"}}}},{{"id":"b","signing":{{"alg":"ed25519","jwk":{{"kty":"OKP","crv":"Ed25519","x":"{ed}"}}}},"require_signature":false,"api_key_hash":"sha256:QILgfQrM_pehYd6w7LCzo4CfZtxrNIxj_rAcek76bm8"}}]}}"#
            ),
            // Semantic errors only (short secret, weak key, require without signing).
            r#"{"keygate":1,"revision":1,"keys":[{"id":"a","signing":{"alg":"hmac-sha256","secret":"AAAA"}},{"id":"b","signing":{"alg":"ed25519","public_key":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},{"id":"c","api_key_hash":"sha256:QILgfQrM_pehYd6w7LCzo4CfZtxrNIxj_rAcek76bm8","require_signature":true}]}"#.to_string(),
            // The signing object's own problems are found on both paths.
            r#"{"keygate":1,"revision":1,"keys":[{"id":"a","signing":{"alg":"ed25519","pk":"x"}},{"id":"b","signing":null}]}"#.to_string(),
        ];
        for doc in &docs {
            let fast = summary(doc, Mode::Fast).expect("well-typed for the fast path");
            assert_eq!(Some(fast), summary(doc, Mode::Slow), "{doc}");
        }
        let dup = r#"{"keygate":1,"revision":1,"keys":[{"id":"a","signing":{"alg":"ed25519","alg":"ed25519"}}]}"#;
        assert!(
            summary(dup, Mode::Fast).is_none(),
            "duplicate keys fall back"
        );
        assert!(summary(dup, Mode::Slow).is_some_and(|s| s.contains("duplicate")));
        let typed = r#"{"keygate":1,"revision":1,"keys":[{"id":"a","require_signature":"yes"}]}"#;
        assert!(summary(typed, Mode::Fast).is_none());
    }
}
