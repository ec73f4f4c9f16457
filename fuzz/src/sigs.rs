//! The `signature` target: `Signature-Input` / `Signature` parsing (RFC 9421 §4), the
//! signature base, and the decision on signed requests.
//!
//! Input: a flags byte, then UTF-8 lines: the `Signature-Input` value, the `Signature` value,
//! further `name: value` header lines, and after an empty line a body. With flag bit 0 the
//! harness signs every label whose `keyid` it holds a key for (over the base keygate builds),
//! so the checks after the cryptography are reached too. Properties, beyond "never panics":
//! - the signature base of a label has one line per covered component plus
//!   `"@signature-params"`, every line a quoted name, no CR and no LF inside a value;
//! - a request the harness did not sign and that carries no API key is never allowed: nobody
//!   can forge a signature;
//! - an allowed request has a signature the harness made that covers the policy's components
//!   (`@method`, `@target-uri`, and `@authority` under `/v1/admin/**`) and is inside its
//!   validity window; re-sent with another method or path it is refused; re-sent as is, it
//!   is refused when its nonce was recorded (replay).

use std::sync::LazyLock;

use keygate::sig::{HmacSecret, SignerKey};
use keygate::{Context, Decision, Request, Verifier};
use sfv::{BareItem, Dictionary, ListEntry, Parser};

use crate::{NOW, SIGNATURES, check_decision, now};

static HMAC: LazyLock<SignerKey> =
    LazyLock::new(|| SignerKey::HmacSha256(HmacSecret::new(vec![0x24; 32]).expect("secret")));
static ED25519: LazyLock<SignerKey> =
    LazyLock::new(|| SignerKey::ed25519_seed(&[0x42; 32]).expect("seed"));

/// The fixture key set's signing keys (tests/vectors/signatures/keyset.json).
fn key_for(keyid: &str) -> Option<&'static SignerKey> {
    match keyid {
        "hmac-client" | "strict" => Some(&HMAC),
        "ed-client" | "both" => Some(&ED25519),
        _ => None,
    }
}

const METHODS: [&str; 4] = ["GET", "POST", "DELETE", "patch"];
const TARGETS: [&str; 4] = [
    "https://api.example.com/v1/admin/x",
    "https://api.example.com/v1/orders/7?a=1&b=2&a=3",
    "https://API.example.com:443/",
    "http://api.example.com:8080/v1/%61dmin/./x/",
];
const SKEW: i64 = 30;
const MAX_AGE: i64 = 300;

/// One label of the Signature-Input, as the harness reads it with its own parser.
struct Label {
    name: String,
    components: Vec<(String, bool)>,
    keyid: Option<String>,
    created: Option<i64>,
    expires: Option<i64>,
    nonce: bool,
    alg: Option<String>,
}

fn labels(input: &str) -> Vec<Label> {
    let Ok(dict) = Parser::new(input).parse::<Dictionary>() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, entry) in &dict {
        let ListEntry::InnerList(inner) = entry else {
            continue;
        };
        let components = inner
            .items
            .iter()
            .map(|i| match &i.bare_item {
                BareItem::String(s) => (s.as_str().to_string(), i.params.is_empty()),
                _ => (String::new(), false),
            })
            .collect();
        let int = |k: &str| match inner.params.get(k) {
            Some(BareItem::Integer(i)) => Some(i64::from(*i)),
            _ => None,
        };
        let string = |k: &str| match inner.params.get(k) {
            Some(BareItem::String(s)) => Some(s.as_str().to_string()),
            _ => None,
        };
        out.push(Label {
            name: name.as_str().to_string(),
            components,
            keyid: string("keyid"),
            created: int("created"),
            expires: int("expires"),
            nonce: inner.params.contains_key("nonce"),
            alg: string("alg"),
        });
    }
    out
}

struct Input<'a> {
    method: &'a str,
    target: &'a str,
    sig_input: &'a str,
    signature: &'a str,
    headers: Vec<(&'a str, &'a str)>,
    body: Option<&'a [u8]>,
}

fn build(i: &Input<'_>, method: &str, target: &str, signature: &str) -> Option<Request> {
    let mut req = Request::new(method, target).ok()?;
    req.push_header("Signature-Input", i.sig_input);
    req.push_header("Signature", signature);
    for (n, v) in &i.headers {
        req.push_header(n, v);
    }
    if let Some(b) = i.body {
        req = req.with_body(b.to_vec());
    }
    Some(req)
}

pub fn run(data: &[u8]) {
    let _ = check(data);
}

/// The checks of [`run`]; the decision on the request, when one was built.
pub fn check(data: &[u8]) -> Option<Decision> {
    let (&flags, rest) = data.split_first()?;
    let text = std::str::from_utf8(rest).ok()?;
    let (head, body) = match text.split_once("\n\n") {
        Some((h, b)) => (h, Some(b.as_bytes())),
        None => (text, None),
    };
    let mut lines = head.split('\n');
    let sig_input = lines.next().unwrap_or("");
    let signature = lines.next().unwrap_or("");
    let headers: Vec<(&str, &str)> = lines.filter_map(|l| l.split_once(':')).collect();
    let input = Input {
        method: METHODS[usize::from(flags >> 1) % METHODS.len()],
        target: TARGETS[usize::from(flags >> 3) % TARGETS.len()],
        sig_input,
        signature,
        headers,
        body,
    };
    let harness_signs = flags & 1 == 1;
    let labels = labels(sig_input);
    let signature = if harness_signs {
        sign(&input, &labels)?
    } else {
        input.signature.to_string()
    };
    let req = build(&input, input.method, input.target, &signature)?;
    for l in &labels {
        let _ = keygate::sig::signature_params(&req, &l.name);
        if let Ok(base) = keygate::sig::signature_base(&req, &l.name) {
            check_base(&base, l);
        }
    }
    let has_api_key = req.header_values("x-api-key").next().is_some()
        || req.header_values("authorization").next().is_some();
    let verifier = Verifier::new(SIGNATURES.clone());
    let cx = Context::new(now());
    let d = verifier.decide(&req, &cx);
    check_decision(&d, &[]);
    if !d.allowed || has_api_key {
        return Some(d);
    }
    assert!(harness_signs, "allowed with a signature nobody made: {d:?}");
    let path_is_admin =
        input.target.contains("/v1/admin/") || input.target.contains("/v1/%61dmin/");
    let good: Vec<&Label> = labels
        .iter()
        .filter(|l| {
            l.keyid
                .as_deref()
                .and_then(key_for)
                .is_some_and(|k| l.alg.as_deref().is_none_or(|a| a == k.algorithm().as_str()))
        })
        .filter(|l| covers(l, "@method") && covers(l, "@target-uri"))
        .filter(|l| !path_is_admin || covers(l, "@authority"))
        .filter(|l| in_window(l))
        .collect();
    assert!(
        !good.is_empty(),
        "allowed, but no signature covers the policy's components inside its window: {d:?}"
    );
    // Another method, another path: the signature no longer applies.
    let other_method = if input.method == "DELETE" {
        "GET"
    } else {
        "DELETE"
    };
    for (m, t) in [
        (other_method, input.target.to_string()),
        (
            input.method,
            format!("{}z", input.target.split('?').next().unwrap_or("")),
        ),
    ] {
        if let Some(r) = build(&input, m, &t, &signature) {
            let d2 = Verifier::new(SIGNATURES.clone()).decide(&r, &cx);
            assert!(
                !d2.allowed,
                "signed {} {} also passes as {m} {t}",
                input.method, input.target
            );
        }
    }
    // Replay: with every usable signature carrying a nonce, the second try is refused.
    if good.iter().all(|l| l.nonce) {
        let again: Decision = verifier.decide(&req, &cx);
        assert!(!again.allowed, "a nonce was accepted twice");
    }
    Some(d)
}

fn covers(l: &Label, name: &str) -> bool {
    l.components.iter().any(|(n, plain)| n == name && *plain)
}

fn in_window(l: &Label) -> bool {
    let Some(created) = l.created else {
        return false;
    };
    created <= NOW + SKEW
        && NOW - created <= MAX_AGE + SKEW
        && l.expires.is_none_or(|e| e >= NOW - SKEW)
}

fn check_base(base: &str, l: &Label) {
    assert!(
        !base.contains('\r'),
        "CR in the base of {}: {base:?}",
        l.name
    );
    let lines: Vec<&str> = base.split('\n').collect();
    assert_eq!(
        lines.len(),
        l.components.len() + 1,
        "the base of {} has a line per component and the params: {base:?}",
        l.name
    );
    assert!(lines.iter().all(|x| x.starts_with('"')), "{base:?}");
    let last = lines.last().expect("a line");
    assert!(last.starts_with("\"@signature-params\": ("), "{base:?}");
    for (line, (name, _)) in lines.iter().zip(&l.components) {
        assert!(
            line.starts_with(&format!("{:?}", name)) || name.contains(['"', '\\']),
            "line {line:?} is not component {name:?}"
        );
    }
}

/// Signs each label the harness holds a key for over the base keygate builds (with
/// placeholder signatures for the others), and returns the `Signature` value.
fn sign(i: &Input<'_>, labels: &[Label]) -> Option<String> {
    let placeholder: Vec<String> = labels
        .iter()
        .map(|l| format!("{}=:AAAA:", l.name))
        .collect();
    let placeholder = placeholder.join(", ");
    let req = build(i, i.method, i.target, &placeholder)?;
    let mut out = Vec::new();
    for l in labels {
        let key = l.keyid.as_deref().and_then(key_for);
        let sig = match (key, keygate::sig::signature_base(&req, &l.name)) {
            (Some(k), Ok(base)) => k.sign(base.as_bytes()),
            _ => vec![0; 4],
        };
        out.push(format!("{}=:{}:", l.name, base64(&sig)));
    }
    Some(out.join(", "))
}

fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in b.chunks(3) {
        let n = c
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &x)| n | u32::from(x) << (16 - 8 * i));
        for k in 0..4 {
            if k <= c.len() {
                s.push(char::from(A[(n >> (18 - 6 * k) & 63) as usize]));
            } else {
                s.push('=');
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(flags: u8, lines: &str) -> Vec<u8> {
        let mut v = vec![flags];
        v.extend_from_slice(lines.as_bytes());
        v
    }

    const INPUT: &str = "sig1=(\"@method\" \"@target-uri\" \"@authority\");created=1795953600;keyid=\"hmac-client\";nonce=\"n1\"";

    #[test]
    fn the_harness_signs_what_keygate_accepts_and_forgeries_fail() {
        // flags 1: signed by the harness, GET https://api.example.com/v1/admin/x.
        let d = check(&input(1, &format!("{INPUT}\nsig1=:AAAA:\n"))).unwrap();
        assert!(d.allowed, "{d:?}");
        assert_eq!(d.key_id.as_deref(), Some("hmac-client"));
        let d = check(&input(0, &format!("{INPUT}\nsig1=:AAAA:\n"))).unwrap();
        assert_eq!(d.code(), Some("signature_invalid"), "{d:?}");
        // Without @authority under /v1/admin/**: refused by the route's policy.
        let weak = INPUT.replace(" \"@authority\"", "");
        let d = check(&input(1, &format!("{weak}\nsig1=:AAAA:\n"))).unwrap();
        assert!(!d.allowed, "{d:?}");
        // Ed25519 through the other fixture key.
        let ed = INPUT.replace("hmac-client", "ed-client");
        assert!(check(&input(1, &format!("{ed}\nx\n"))).unwrap().allowed);
    }

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }
}
