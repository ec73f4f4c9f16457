//! The `webhook` target: Standard Webhooks deliveries: the three header fields
//! (`webhook::read`), streaming verification (`WebhookCheck`), signing (`sign_webhook`), and
//! the decision on a webhook route of `tests/vectors/webhooks/keyset.json`.
//!
//! Input: a flags byte, then UTF-8 lines `webhook-id`, `webhook-timestamp`,
//! `webhook-signature` (an empty line: the field is absent), then the body (raw bytes). Flag
//! bit 0: the harness signs the delivery with its keys (replacing the signature line, or
//! adding its tokens to it with bit 3); bit 1: the timestamp is now; bits 4-7: the size of
//! the chunks the body streams in. Properties, beyond "never panics":
//! - fields that are read are the canonical text (the id as sent, the timestamp's decimal
//!   spelling is the field), at most 8 usable tokens of 32 (v1) or 64 (v1a) bytes; an error
//!   shows no secret;
//! - a key verifies exactly when an independent check (the `hmac` crate; `ed25519-dalek`'s
//!   `verify_strict`) finds a token of its scheme over `id.timestamp.body`, whatever the
//!   chunks the body streams in; what the harness signed verifies with each key, and not with
//!   one byte of body more;
//! - the decision is allowed only when a v1 token over the delivery is the MAC of a secret the
//!   route lists, and a delivery the harness signed with `svix-a`'s secret at `now` to
//!   `/hooks/svix` is allowed.

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, VerifyingKey};
use hmac::{Hmac, KeyInit, Mac};
use keygate::webhook::{
    MAX_TOKENS, Scheme, Token, WebhookCheck, WebhookSigner, parse_signature, read, sign_webhook,
    streams,
};
use keygate::{Context, KeySet, Request, Verifier};
use sha2::Sha256;

use crate::{NOW, check_decision, now};

const SVIX_A: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SVIX_B: &str = "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";

static V1: LazyLock<WebhookSigner> =
    LazyLock::new(|| WebhookSigner::from_text(SVIX_A).expect("v1 secret"));
static V1A: LazyLock<WebhookSigner> = LazyLock::new(|| {
    WebhookSigner::from_text(&format!("whsk_{}", STANDARD.encode([0x33u8; 32]))).expect("v1a")
});
static HOOKS: LazyLock<KeySet> = LazyLock::new(|| {
    KeySet::from_json(include_bytes!("../../tests/vectors/webhooks/keyset.json"))
        .expect("webhook key set")
});

fn secret_bytes(text: &str) -> Vec<u8> {
    STANDARD
        .decode(text.trim_start_matches("whsec_"))
        .expect("secret text")
}

fn mac_ok(secret: &[u8], content: &[u8], tokens: &[Token]) -> bool {
    let tag = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .expect("any length")
        .chain_update(content)
        .finalize()
        .into_bytes();
    tokens
        .iter()
        .any(|t| t.scheme == Scheme::V1 && t.bytes.as_slice() == tag.as_slice())
}

fn ed_ok(public: &[u8; 32], content: &[u8], tokens: &[Token]) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(public) else {
        return false;
    };
    tokens.iter().any(|t| {
        t.scheme == Scheme::V1a
            && <[u8; 64]>::try_from(t.bytes.as_slice()).is_ok_and(|s| {
                key.verify_strict(content, &Signature::from_bytes(&s))
                    .is_ok()
            })
    })
}

/// Which of (v1, v1a) verify, streamed in chunks of `chunk` bytes.
fn check(prefix: &[u8], body: &[u8], tokens: &[Token], chunk: usize) -> Vec<bool> {
    let (k1, k2) = (V1.verifier(), V1A.verifier());
    let keys = [Some(&k1), None, Some(&k2)];
    let mut c = WebhookCheck::start(prefix, &keys, tokens);
    for part in body.chunks(chunk.max(1)) {
        c.update(part);
    }
    assert_eq!(c.body_len(), body.len() as u64);
    let proven = c.finish();
    assert_eq!(proven.len(), 3);
    assert!(!proven[1], "an empty key slot verified");
    assert!(streams(&keys, tokens) <= 1 + MAX_TOKENS);
    vec![proven[0], proven[2]]
}

pub fn run(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut lines = rest.splitn(4, |&b| b == b'\n');
    let (Some(id), Some(ts), Some(sig)) = (lines.next(), lines.next(), lines.next()) else {
        return;
    };
    let body = lines.next().unwrap_or_default();
    let (Ok(id), Ok(ts), Ok(sig)) = (
        std::str::from_utf8(id),
        std::str::from_utf8(ts),
        std::str::from_utf8(sig),
    ) else {
        return;
    };
    // HTTP trims a field value's surrounding whitespace; the reader sees the rest.
    let ows: &[char] = &[' ', '\t'];
    let (id, ts, sig) = (
        id.trim_matches(ows),
        ts.trim_matches(ows),
        sig.trim_matches(ows),
    );
    let ts = if flags & 2 != 0 {
        NOW.to_string()
    } else {
        ts.to_string()
    };
    let mut signed = false;
    let mut sig = sig.to_string();
    if flags & 1 != 0
        && let Ok(t) = ts.parse::<i64>()
        && let Ok(s) = sign_webhook(&[V1.clone(), V1A.clone()], id, t, body)
    {
        sig = if flags & 8 != 0 {
            format!("{sig} {}", s.signature)
        } else {
            s.signature
        };
        signed = true;
    }
    let mut req = Request::new("POST", "https://api.example.com/hooks/svix").expect("request");
    for (n, v) in [
        ("webhook-id", id),
        ("webhook-timestamp", ts.as_str()),
        ("webhook-signature", sig.as_str()),
    ] {
        if !v.is_empty() {
            req = req.with_header(n, v);
        }
    }
    let req = req.with_body(body.to_vec());
    // Signed by the harness alone, in fields HTTP carries as they are.
    let visible = |v: &str| v.bytes().all(|b| (0x21..=0x7e).contains(&b) || b == b' ');
    let clean = signed && flags & 8 == 0 && visible(id) && visible(&ts);
    let chunk = usize::from(flags >> 4) * 3 + 1;
    let delivery = match read(&req) {
        Err(e) => {
            assert!(!e.is_empty());
            for s in [SVIX_A, SVIX_B] {
                assert!(!e.contains(&s[6..]), "a secret is shown: {e}");
            }
            assert!(
                !(clean && fits(id, &ts)),
                "a delivery the harness signed is refused: {e}"
            );
            None
        }
        Ok(None) => {
            // None of the fields is in the request: each line was empty, or not a value HTTP
            // carries (refused by the request, as `malformed_request`).
            assert!(!keygate::webhook::present(&req));
            assert!(
                [id, ts.as_str(), sig.as_str()]
                    .iter()
                    .all(|v| v.trim_matches(' ').is_empty() || !visible(v))
            );
            None
        }
        Ok(Some(d)) => {
            assert_eq!(d.id, id);
            assert_eq!(
                d.timestamp.to_string(),
                ts,
                "the timestamp is not its canonical text"
            );
            assert!(!d.tokens.is_empty() && d.tokens.len() <= MAX_TOKENS);
            assert_eq!(parse_signature(&sig).expect("read it once"), d.tokens);
            for t in &d.tokens {
                let want = if t.scheme == Scheme::V1 { 32 } else { 64 };
                assert_eq!(t.bytes.len(), want);
            }
            Some(d)
        }
    };
    if let Some(d) = &delivery {
        let prefix = d.prefix();
        let mut content = prefix.clone().into_bytes();
        content.extend_from_slice(body);
        let proven = check(prefix.as_bytes(), body, &d.tokens, chunk);
        let public: [u8; 32] = STANDARD
            .decode(
                V1A.verifier()
                    .public_key_text()
                    .expect("v1a")
                    .trim_start_matches("whpk_"),
            )
            .expect("public key")
            .try_into()
            .expect("32 bytes");
        let want = vec![
            mac_ok(&secret_bytes(SVIX_A), &content, &d.tokens),
            ed_ok(&public, &content, &d.tokens),
        ];
        assert_eq!(
            proven, want,
            "streamed verification differs from the independent one"
        );
        assert_eq!(
            check(prefix.as_bytes(), body, &d.tokens, body.len() + 1),
            want
        );
        if signed {
            assert_eq!(
                proven,
                [true, true],
                "what the harness signed does not verify"
            );
            let mut more = body.to_vec();
            more.push(b'x');
            assert_eq!(
                check(prefix.as_bytes(), &more, &d.tokens, chunk),
                [false, false]
            );
        }
    }
    // The decision on /hooks/svix (keys svix-a and svix-b).
    // A verifier of its own: deliveries are recorded (replay), and every run starts afresh.
    let decision = Verifier::new(HOOKS.clone()).decide(&req, &Context::new(now()));
    check_decision(&decision, &[&SVIX_A[6..], &SVIX_B[6..]]);
    if decision.allowed {
        let d = delivery
            .as_ref()
            .expect("allowed without a readable delivery");
        let mut content = d.prefix().into_bytes();
        content.extend_from_slice(body);
        assert!(
            mac_ok(&secret_bytes(SVIX_A), &content, &d.tokens)
                || mac_ok(&secret_bytes(SVIX_B), &content, &d.tokens),
            "allowed without a MAC of a route's secret"
        );
    } else if clean && flags & 2 != 0 && delivery.is_some() {
        panic!(
            "a delivery signed with svix-a at now is refused: {}",
            decision.message
        );
    }
}

/// Whether an id and timestamp are what `sign_webhook` signs.
pub fn fits(id: &str, ts: &str) -> bool {
    keygate::webhook::check_id(id).is_ok()
        && ts
            .parse::<i64>()
            .is_ok_and(|t| t.to_string() == ts && t > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_deliveries_verify() {
        for flags in [0u8, 1, 3, 9, 0xf3] {
            let mut input = vec![flags];
            input.extend(b"msg_abc\n1795953600\nv1,AAAA\n{\"type\":\"x\"}");
            run(&input);
        }
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/vectors/webhooks/requests.json"))
                .unwrap();
        for c in v["cases"].as_array().unwrap() {
            let h = c["request"]["headers"].as_array().unwrap();
            let get = |n: &str| {
                h.iter()
                    .find(|x| x[0] == n)
                    .map_or("", |x| x[1].as_str().unwrap())
            };
            let line = format!(
                "{}\n{}\n{}\n{}",
                get("webhook-id"),
                get("webhook-timestamp"),
                get("webhook-signature"),
                c["request"]["body"].as_str().unwrap_or("")
            );
            let mut input = vec![0x40u8];
            input.extend(line.bytes());
            run(&input);
        }
    }
}
