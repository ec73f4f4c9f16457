//! The members a JWK may carry besides its key (RFC 7517 §4), checked once for every place
//! keygate reads a JWK: a key entry's `signing.jwk`, publisher keys and seal keys.
//!
//! Runtimes export keys with more than the key: `crypto.subtle.exportKey('jwk', k)` adds
//! `key_ops` and `ext` (and `alg`), and key stores add `kid`, `use` and certificates. Those
//! registered members are accepted as long as they agree with what keygate does with the key
//! (RFC 7517 §4.3: `use` and `key_ops` "MUST be consistent"): a key that verifies must not say
//! `use: "enc"` or lack `verify` in its `key_ops`. Certificates (`x5c`) are carried, never
//! trusted: only their form is checked, and that the first one holds this very key (§4.7).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::encoding::b64url_decode;

/// The registered members accepted beside the key's own (`kty`, `crv`, `x`, `k`).
pub(crate) const REGISTERED: &[&str] = &[
    "kid", "alg", "use", "key_ops", "ext", "x5u", "x5c", "x5t", "x5t#S256",
];

/// Private-key members: never accepted where a public key is read.
pub(crate) const PRIVATE: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth"];

/// Every `key_ops` value RFC 7517 §4.3 registers.
const OPERATIONS: &[&str] = &[
    "sign",
    "verify",
    "encrypt",
    "decrypt",
    "wrapKey",
    "unwrapKey",
    "deriveKey",
    "deriveBits",
];

/// The most certificates an `x5c` chain may hold, and the largest one.
const MAX_CHAIN: usize = 10;
const MAX_CERT_BYTES: usize = 16 * 1024;

/// What keygate does with the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// An Ed25519 public key that verifies (a key entry's `signing.jwk`, a publisher key).
    VerifyPublic,
    /// An HMAC-SHA256 secret that verifies (a key entry's oct `signing.jwk`).
    VerifySecret,
    /// An AES-256 key that opens sealed secrets (a seal key).
    Unseal,
}

impl Role {
    fn what(self) -> &'static str {
        match self {
            Role::VerifyPublic => "an Ed25519 public key that verifies signatures",
            Role::VerifySecret => "an HMAC secret that verifies signatures",
            Role::Unseal => "a seal key that decrypts sealed secrets",
        }
    }

    /// (`use`, the operations allowed, the one required, the `alg` values allowed).
    fn rules(
        self,
    ) -> (
        &'static str,
        &'static [&'static str],
        &'static str,
        &'static [&'static str],
    ) {
        match self {
            Role::VerifyPublic => ("sig", &["verify"], "verify", &["EdDSA", "Ed25519"]),
            Role::VerifySecret => ("sig", &["sign", "verify"], "verify", &["HS256"]),
            Role::Unseal => (
                "enc",
                &["encrypt", "decrypt"],
                "decrypt",
                &["dir", "A256GCM"],
            ),
        }
    }
}

/// A member that does not fit: the member, the array index within it (if any), and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MemberError {
    pub(crate) member: &'static str,
    pub(crate) index: Option<usize>,
    pub(crate) message: String,
}

impl MemberError {
    fn new(member: &'static str, message: impl Into<String>) -> Self {
        MemberError {
            member,
            index: None,
            message: message.into(),
        }
    }

    fn at(member: &'static str, index: usize, message: impl Into<String>) -> Self {
        MemberError {
            member,
            index: Some(index),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for MemberError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.index {
            Some(i) => write!(f, "JWK member \"{}\"[{i}]: {}", self.member, self.message),
            None => write!(f, "JWK member \"{}\": {}", self.member, self.message),
        }
    }
}

/// Checks the registered members of `jwk` for a key used as `role`; `public` is the key's
/// public bytes (Ed25519 `x`), to match a certificate against. Unknown members are the
/// caller's business. Returns every problem found.
pub(crate) fn check(
    jwk: &Map<String, Value>,
    role: Role,
    public: Option<&[u8]>,
) -> Vec<MemberError> {
    let mut out = Vec::new();
    let (use_, allowed_ops, required_op, algs) = role.rules();
    let text = |out: &mut Vec<MemberError>, m: &'static str| match jwk.get(m) {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => {
            out.push(MemberError::new(m, "expected a string"));
            None
        }
    };
    if let Some(k) = text(&mut out, "kid")
        && k.is_empty()
    {
        out.push(MemberError::new("kid", "an empty key id"));
    }
    if let Some(a) = text(&mut out, "alg")
        && !algs.contains(&a)
    {
        out.push(MemberError::new(
            "alg",
            format!(
                "{a:?} does not fit {} (expected {})",
                role.what(),
                quoted(algs)
            ),
        ));
    }
    if let Some(u) = text(&mut out, "use")
        && u != use_
    {
        out.push(MemberError::new(
            "use",
            format!("{u:?} does not fit {} (expected {use_:?})", role.what()),
        ));
    }
    match jwk.get("key_ops") {
        None => {}
        Some(Value::Array(ops)) => key_ops(&mut out, ops, role, allowed_ops, required_op),
        Some(_) => out.push(MemberError::new("key_ops", "expected an array of strings")),
    }
    if let Some(v) = jwk.get("ext")
        && !v.is_boolean()
    {
        out.push(MemberError::new("ext", "expected true or false"));
    }
    text(&mut out, "x5u");
    certificates(&mut out, jwk, role, public);
    out
}

fn quoted(list: &[&str]) -> String {
    let q: Vec<String> = list.iter().map(|s| format!("{s:?}")).collect();
    q.join(" or ")
}

fn key_ops(
    out: &mut Vec<MemberError>,
    ops: &[Value],
    role: Role,
    allowed: &[&str],
    required: &str,
) {
    let mut seen: Vec<&str> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let Some(op) = op.as_str() else {
            out.push(MemberError::at("key_ops", i, "expected a string"));
            continue;
        };
        if seen.contains(&op) {
            out.push(MemberError::at(
                "key_ops",
                i,
                format!("duplicate operation {op:?}"),
            ));
        } else if !OPERATIONS.contains(&op) {
            out.push(MemberError::at(
                "key_ops",
                i,
                format!("{op:?} is not a registered operation"),
            ));
        } else if !allowed.contains(&op) {
            out.push(MemberError::at(
                "key_ops",
                i,
                format!(
                    "{op:?} does not fit {} (allowed: {})",
                    role.what(),
                    quoted(allowed)
                ),
            ));
        }
        seen.push(op);
    }
    if !seen.contains(&required) {
        out.push(MemberError::new(
            "key_ops",
            format!(
                "lists no {required:?}, so the key may not be used as {}",
                role.what()
            ),
        ));
    }
}

/// `x5c`, `x5t`, `x5t#S256`: form, the thumbprint of the first certificate, and that the first
/// certificate holds the Ed25519 key `public` (its SubjectPublicKeyInfo, RFC 8410, appears in
/// the DER as is).
fn certificates(
    out: &mut Vec<MemberError>,
    jwk: &Map<String, Value>,
    role: Role,
    public: Option<&[u8]>,
) {
    const CERT_MEMBERS: [&str; 4] = ["x5c", "x5t", "x5t#S256", "x5u"];
    if role != Role::VerifyPublic
        && let Some(m) = CERT_MEMBERS.into_iter().find(|m| jwk.contains_key(*m))
    {
        out.push(MemberError::new(
            m,
            "a certificate holds a public key, so it cannot describe a secret key",
        ));
        return;
    }
    let thumb = |out: &mut Vec<MemberError>, m: &'static str, len: usize| -> Option<Vec<u8>> {
        let s = match jwk.get(m)? {
            Value::String(s) => s,
            _ => {
                out.push(MemberError::new(m, "expected a base64url string"));
                return None;
            }
        };
        match b64url_decode(s) {
            Ok(b) if b.len() == len => Some(b),
            Ok(b) => {
                out.push(MemberError::new(
                    m,
                    format!("a thumbprint of {len} bytes, found {}", b.len()),
                ));
                None
            }
            Err(e) => {
                out.push(MemberError::new(m, e));
                None
            }
        }
    };
    thumb(out, "x5t", 20);
    let s256 = thumb(out, "x5t#S256", 32);
    let chain = match jwk.get("x5c") {
        None => return,
        Some(Value::Array(c)) if !c.is_empty() && c.len() <= MAX_CHAIN => c,
        Some(_) => {
            out.push(MemberError::new(
                "x5c",
                format!("expected an array of 1 to {MAX_CHAIN} base64 certificates"),
            ));
            return;
        }
    };
    let mut first = None;
    for (i, c) in chain.iter().enumerate() {
        let der = match c.as_str().map(|s| (s.len(), STANDARD.decode(s))) {
            Some((n, _)) if n > MAX_CERT_BYTES * 4 / 3 + 4 => {
                out.push(MemberError::at(
                    "x5c",
                    i,
                    format!("a certificate is at most {MAX_CERT_BYTES} bytes"),
                ));
                continue;
            }
            Some((_, Ok(der))) if !der.is_empty() && der[0] == 0x30 => der,
            Some((_, Ok(_))) => {
                out.push(MemberError::at(
                    "x5c",
                    i,
                    "not a DER certificate (it must start with a SEQUENCE)",
                ));
                continue;
            }
            Some((_, Err(_))) => {
                out.push(MemberError::at(
                    "x5c",
                    i,
                    "expected standard base64 (RFC 4648 §4, with padding) of a DER certificate",
                ));
                continue;
            }
            None => {
                out.push(MemberError::at("x5c", i, "expected a string"));
                continue;
            }
        };
        if i == 0 {
            first = Some(der);
        }
    }
    let Some(first) = first else { return };
    if let Some(t) = s256
        && Sha256::digest(&first).as_slice() != t.as_slice()
    {
        out.push(MemberError::new(
            "x5t#S256",
            "is not the SHA-256 thumbprint of the first certificate in \"x5c\"",
        ));
    }
    if let Some(x) = public {
        // SubjectPublicKeyInfo of an Ed25519 key (RFC 8410 §4): SEQUENCE { SEQUENCE { OID
        // 1.3.101.112 }, BIT STRING { 0 unused bits, x } }.
        let mut spki = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        spki.extend_from_slice(x);
        if !first.windows(spki.len()).any(|w| w == spki.as_slice()) {
            out.push(MemberError::at(
                "x5c",
                0,
                "the first certificate does not hold this key (RFC 7517 §4.7: it must match \"x\")",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errs(v: Value, role: Role) -> Vec<String> {
        check(v.as_object().unwrap(), role, Some(&[7; 32]))
            .into_iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn runtime_exports_pass() {
        for alg in ["Ed25519", "EdDSA"] {
            let v = json!({"kty":"OKP","crv":"Ed25519","x":"","key_ops":["verify"],"ext":true,"alg":alg});
            assert!(errs(v, Role::VerifyPublic).is_empty());
        }
        let hmac = json!({"kty":"oct","k":"","alg":"HS256","key_ops":["sign","verify"],"ext":true});
        assert!(errs(hmac, Role::VerifySecret).is_empty());
        let aes =
            json!({"kty":"oct","k":"","alg":"A256GCM","key_ops":["encrypt","decrypt"],"ext":true});
        assert!(errs(aes, Role::Unseal).is_empty());
    }

    #[test]
    fn each_rule_fires() {
        let cases = [
            (
                json!({"use":"enc"}),
                Role::VerifyPublic,
                "JWK member \"use\": \"enc\" does not fit",
            ),
            (
                json!({"key_ops":["sign"]}),
                Role::VerifyPublic,
                "\"key_ops\"[0]: \"sign\" does not fit",
            ),
            (
                json!({"key_ops":["encrypt"]}),
                Role::VerifySecret,
                "lists no \"verify\"",
            ),
            (
                json!({"key_ops":["verify","verify"]}),
                Role::VerifySecret,
                "duplicate operation",
            ),
            (
                json!({"key_ops":["verify","fly"]}),
                Role::VerifySecret,
                "not a registered operation",
            ),
            (
                json!({"alg":"RS256"}),
                Role::VerifyPublic,
                "\"alg\": \"RS256\" does not fit",
            ),
            (
                json!({"ext":"yes"}),
                Role::Unseal,
                "\"ext\": expected true or false",
            ),
            (json!({"kid":5}), Role::Unseal, "\"kid\": expected a string"),
            (
                json!({"x5c":["MAA="]}),
                Role::VerifySecret,
                "cannot describe a secret key",
            ),
            (
                json!({"x5t":"AAAA"}),
                Role::VerifyPublic,
                "a thumbprint of 20 bytes",
            ),
            (
                json!({"x5c":[]}),
                Role::VerifyPublic,
                "expected an array of 1 to 10",
            ),
            (
                json!({"x5c":["MA=="]}),
                Role::VerifyPublic,
                "does not hold this key",
            ),
            (
                json!({"x5c":["AA=="]}),
                Role::VerifyPublic,
                "not a DER certificate",
            ),
            (
                json!({"x5c":["MA-_"]}),
                Role::VerifyPublic,
                "standard base64",
            ),
        ];
        for (v, role, want) in cases {
            let got = errs(v.clone(), role);
            assert!(got.iter().any(|e| e.contains(want)), "{v}: {got:?}");
        }
    }

    #[test]
    fn a_certificate_must_hold_the_key_and_match_its_thumbprint() {
        let x = [7u8; 32];
        let mut der = vec![
            0x30, 0x2c, 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        der.extend_from_slice(&x);
        let c = STANDARD.encode(&der);
        let t = crate::encoding::b64url_encode(&Sha256::digest(&der));
        assert!(errs(json!({"x5c":[c], "x5t#S256": t}), Role::VerifyPublic).is_empty());
        let wrong = crate::encoding::b64url_encode(&[0; 32]);
        let got = errs(json!({"x5c":[c], "x5t#S256": wrong}), Role::VerifyPublic);
        assert_eq!(got.len(), 1, "{got:?}");
    }
}
