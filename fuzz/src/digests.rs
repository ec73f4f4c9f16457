//! The `digest` target: `Content-Digest` (RFC 9530) on signed requests: read, matched against
//! the body given as bytes, and against digests computed while the body streamed past
//! (`BodyHasher::for_content_digest`, `Body::Digests`, `Body::Pending` with
//! `decide_deferred`).
//!
//! Input: a flags byte, then UTF-8 lines: the `Content-Digest` value (an empty line: absent),
//! a second field line (with flag bit 1), then the body (raw bytes). Flag bit 0: the harness
//! writes the value itself (`content_digest` of the body, sha-256 or with bit 2 sha-512) and
//! keeps the fuzzer's line after it as more members; bits 4-7: the chunk size the body
//! streams in. The harness signs every request (HMAC key `hmac-client` of
//! `tests/vectors/signatures/keyset.json`, covering `@method`, `@target-uri` and
//! `content-digest`). Properties, beyond "never panics":
//! - the decision is the same with the body as bytes, as streamed digests, and pending
//!   (`decide_deferred` then digests);
//! - an allowed request's `Content-Digest`, read independently (the `sfv` parser, `sha2`),
//!   holds at least one sha-256 or sha-512 byte sequence, and every one of them is the
//!   body's digest;
//! - a value the harness wrote for the body, alone, is allowed; with the body changed by a
//!   byte, refused as `digest_mismatch`.

use std::sync::LazyLock;

use keygate::sig::{ComponentId, HmacSecret, Signer, SignerKey, content_digest};
use keygate::{Body, BodyHasher, Context, Decision, DigestAlgorithm, Reason, Request, Verifier};
use sfv::{BareItem, Dictionary, ListEntry, Parser};
use sha2::{Digest, Sha256, Sha512};

use crate::{SIGNATURES, check_decision, now};

static HMAC: LazyLock<SignerKey> =
    LazyLock::new(|| SignerKey::HmacSha256(HmacSecret::new(vec![0x24; 32]).expect("secret")));

const URL: &str = "https://api.example.com/v1/orders/7";

/// Whether an allowed request's `Content-Digest` value (field lines joined) is sound.
fn sound(value: &str, body: &[u8]) -> bool {
    let Ok(dict): Result<Dictionary, _> = Parser::new(value).parse_dictionary() else {
        return false;
    };
    let mut any = false;
    for (k, v) in &dict {
        let want: Vec<u8> = match k.as_str() {
            "sha-256" => Sha256::digest(body).to_vec(),
            "sha-512" => Sha512::digest(body).to_vec(),
            _ => continue,
        };
        match v {
            ListEntry::Item(i) => match &i.bare_item {
                BareItem::ByteSequence(b) if *b == want => any = true,
                _ => return false,
            },
            ListEntry::InnerList(_) => return false,
        }
    }
    any
}

fn decide(req: &Request) -> Decision {
    // A verifier of its own per decision: a signature seen is remembered (replay).
    Verifier::new(SIGNATURES.clone()).decide(req, &Context::new(now()))
}

fn same(a: &Decision, b: &Decision, what: &str) {
    assert_eq!(
        (a.allowed, a.reason, a.status),
        (b.allowed, b.reason, b.status),
        "{what}: {} vs {}",
        a.message,
        b.message
    );
}

fn signed(values: &[String], body: &[u8]) -> Option<Request> {
    let mut req = Request::new("POST", URL).expect("request");
    for v in values {
        req.push_header("Content-Digest", v);
    }
    let req = req.with_body(body.to_vec());
    let components = ["@method", "@target-uri", "content-digest"]
        .iter()
        .map(|c| ComponentId::parse(c).expect("component"))
        .collect();
    let s = Signer::new(HMAC.clone(), "hmac-client", now())
        .components(components)
        .sign(&req)
        .ok()?;
    let mut req = req;
    s.apply(&mut req);
    Some(req)
}

pub fn run(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.splitn(3, |&b| b == b'\n');
    let (Some(first), Some(second)) = (parts.next(), parts.next()) else {
        return;
    };
    let body = parts.next().unwrap_or_default();
    let (Ok(first), Ok(second)) = (std::str::from_utf8(first), std::str::from_utf8(second)) else {
        return;
    };
    let ours = flags & 1 != 0;
    let alg = if flags & 4 != 0 {
        DigestAlgorithm::Sha512
    } else {
        DigestAlgorithm::Sha256
    };
    let mut values = Vec::new();
    if ours {
        let mut v = content_digest(body, alg);
        if !first.is_empty() {
            v = format!("{v}, {first}");
        }
        values.push(v);
    } else if !first.is_empty() {
        values.push(first.to_string());
    }
    if flags & 2 != 0 && !second.is_empty() {
        values.push(second.to_string());
    }
    let Some(req) = signed(&values, body) else {
        return;
    };
    let joined: Vec<&str> = req.header_values("content-digest").collect();
    let joined = joined.join(", ");
    let with_bytes = decide(&req);
    check_decision(&with_bytes, &[]);
    // Streamed: the digests the hasher computes for this value.
    let mut h = BodyHasher::for_content_digest(
        req.header_values("content-digest")
            .next()
            .map(|_| joined.as_str()),
    );
    let chunk = usize::from(flags >> 4) * 5 + 1;
    for part in body.chunks(chunk) {
        h.update(part);
    }
    let digests = h.finish();
    let mut streamed = req.clone();
    streamed.set_body(Body::Digests(digests.clone()));
    same(
        &with_bytes,
        &decide(&streamed),
        "bytes and streamed digests",
    );
    let mut pending = req.clone();
    pending.set_body(Body::Pending);
    let v = Verifier::new(SIGNATURES.clone());
    let cx = Context::new(now());
    match v.decide_deferred(&pending, &cx) {
        Some(d) => same(&with_bytes, &d, "bytes and pending"),
        None => {
            pending.set_body(Body::Digests(digests));
            same(
                &with_bytes,
                &v.decide(&pending, &cx),
                "bytes and pending, then digests",
            );
        }
    }
    if with_bytes.allowed {
        assert!(
            sound(&joined, body),
            "allowed with Content-Digest {joined:?}"
        );
    }
    if ours && first.is_empty() && values.len() == 1 {
        assert!(
            with_bytes.allowed,
            "a request the harness digested and signed is refused: {}",
            with_bytes.message
        );
        let mut other = body.to_vec();
        other.push(b'!');
        let mut changed = req.clone();
        changed.set_body(Body::Bytes(other));
        let d = decide(&changed);
        assert_eq!(d.reason, Some(Reason::DigestMismatch), "{}", d.message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harness_digests_are_allowed() {
        for flags in [1u8, 5, 0x31, 0xf5] {
            let mut input = vec![flags];
            input.extend(b"\n\n{\"hello\": \"world\"}");
            run(&input);
        }
        let mut input = vec![0u8];
        input.extend(
            b"sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:\n\n{\"hello\": \"world\"}",
        );
        run(&input);
        assert!(sound(
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, md5=1",
            b"{\"hello\": \"world\"}"
        ));
        assert!(!sound("md5=:AAAA:", b""));
    }
}
