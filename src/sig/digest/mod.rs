//! `Content-Digest` (RFC 9530), all of it: a Dictionary of digests of the message content,
//! keyed by algorithm, checked against the body (`body.rs`: the bytes, or digests computed as
//! the body streamed past). keygate checks `sha-256` and `sha-512`; other algorithms are
//! ignored, as the RFC asks, but a value naming none of the two does not count as a digest at
//! all.

mod hasher;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sfv::{BareItem, ListEntry, Parser};
use sha2::Digest as _;

pub use hasher::{BodyHasher, DigestAlgorithm};

use crate::request::body::Body;

use super::parse::{UniqueKeys, field};
use crate::request::Request;

/// The supported digests a `Content-Digest` value carries, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ContentDigest(Vec<(DigestAlgorithm, Vec<u8>)>);

/// The supported algorithms a `Content-Digest` value names (empty when it names none or
/// cannot be read).
fn named_algorithms(value: &str) -> Vec<DigestAlgorithm> {
    Parser::new(value)
        .parse_dictionary_with_visitor(UniqueKeys::default())
        .map(|d| {
            d.keys()
                .filter_map(|k| DigestAlgorithm::from_key(k.as_str()))
                .collect()
        })
        .unwrap_or_default()
}

impl BodyHasher {
    /// A hasher for the supported algorithms a `Content-Digest` value names (both when the
    /// value is absent or unreadable, so a later check never lacks a digest it needs).
    pub fn for_content_digest(header: Option<&str>) -> Self {
        match header.map(named_algorithms) {
            Some(algs) if !algs.is_empty() => BodyHasher::new(&algs),
            _ => BodyHasher::new(&DigestAlgorithm::ALL),
        }
    }
}

/// The request's `Content-Digest`: `Ok(None)` when absent, `Err` when unreadable.
pub(crate) fn read(req: &Request) -> Result<Option<ContentDigest>, String> {
    let Some(dict) = field(req, "content-digest", "Content-Digest")? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for (key, entry) in &dict {
        let Some(alg) = DigestAlgorithm::from_key(key.as_str()) else {
            continue;
        };
        match entry {
            ListEntry::Item(item) => match &item.bare_item {
                BareItem::ByteSequence(b) => out.push((alg, b.clone())),
                _ => {
                    return Err(format!(
                        "Content-Digest: expected {:?} to be a byte sequence",
                        alg.key()
                    ));
                }
            },
            ListEntry::InnerList(_) => {
                return Err(format!(
                    "Content-Digest: expected {:?} to be a byte sequence",
                    alg.key()
                ));
            }
        }
    }
    Ok(Some(ContentDigest(out)))
}

impl ContentDigest {
    /// The algorithms it names, each once, in order.
    pub(crate) fn algorithms(&self) -> Vec<DigestAlgorithm> {
        let mut out = Vec::with_capacity(2);
        for (a, _) in &self.0 {
            if !out.contains(a) {
                out.push(*a);
            }
        }
        out
    }

    /// Whether it carries at least one digest keygate can check.
    pub(crate) fn is_usable(&self) -> bool {
        !self.0.is_empty()
    }

    /// Checks every supported digest against the body. The error says which one failed.
    pub(crate) fn check(&self, body: &Body) -> Result<(), DigestCheck> {
        if matches!(body, Body::Pending) {
            return Err(DigestCheck::Pending);
        }
        for (alg, claimed) in &self.0 {
            match body.digest(*alg) {
                Some(actual) if actual == *claimed => {}
                Some(_) => {
                    return Err(DigestCheck::Mismatch(format!(
                        "the body does not match its Content-Digest {}",
                        alg.key()
                    )));
                }
                None => {
                    return Err(DigestCheck::Mismatch(format!(
                        "the body's {} digest was not computed, so Content-Digest cannot be checked",
                        alg.key()
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Why a body could not be matched against its `Content-Digest`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DigestCheck {
    /// The body does not match (or its digest for a named algorithm is unknown).
    Mismatch(String),
    /// The body's digests are not known yet ([`Body::Pending`]).
    Pending,
}

/// A `Content-Digest` value for `body` with `alg`, e.g. `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`.
pub fn content_digest(body: &[u8], alg: DigestAlgorithm) -> String {
    let d = match alg {
        DigestAlgorithm::Sha256 => sha2::Sha256::digest(body).to_vec(),
        DigestAlgorithm::Sha512 => sha2::Sha512::digest(body).to_vec(),
    };
    format!("{}=:{}:", alg.key(), STANDARD.encode(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(cd: &[&str]) -> Request {
        let mut r = Request::new("POST", "https://h/").unwrap();
        for v in cd {
            r.push_header("Content-Digest", v);
        }
        r
    }

    const HELLO: &[u8] = b"{\"hello\": \"world\"}";

    #[test]
    fn rfc9530_example_digests() {
        assert_eq!(
            content_digest(HELLO, DigestAlgorithm::Sha256),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
        );
        assert_eq!(
            content_digest(HELLO, DigestAlgorithm::Sha512),
            "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
        );
    }

    #[test]
    fn checks_every_supported_member() {
        let body = Body::Bytes(HELLO.to_vec());
        let good256 = content_digest(HELLO, DigestAlgorithm::Sha256);
        let good512 = content_digest(HELLO, DigestAlgorithm::Sha512);
        let cd = read(&req(&[&good256, &good512])).unwrap().unwrap();
        assert!(cd.is_usable());
        assert!(cd.check(&body).is_ok());
        assert!(cd.check(&Body::Bytes(b"other".to_vec())).is_err());
        // One good and one bad member: refused.
        let bad = format!("{good256}, sha-512=:AAAA:");
        let cd = read(&req(&[&bad])).unwrap().unwrap();
        assert!(matches!(cd.check(&body), Err(DigestCheck::Mismatch(m)) if m.contains("sha-512")));
        // Unsupported algorithms are ignored, but alone they are not a usable digest.
        let cd = read(&req(&["md5=:AAAA:, unixsum=1"])).unwrap().unwrap();
        assert!(!cd.is_usable());
        assert!(read(&req(&[])).unwrap().is_none());
    }

    #[test]
    fn malformed_values() {
        assert!(
            read(&req(&["sha-256=abc"]))
                .unwrap_err()
                .contains("byte sequence")
        );
        assert!(read(&req(&["sha-256=(:AA==:)"])).is_err());
        assert!(
            read(&req(&["sha-256=:AA==:", "sha-256=:AQ==:"]))
                .unwrap_err()
                .contains("more than once")
        );
        assert!(
            read(&req(&["(("]))
                .unwrap_err()
                .starts_with("Content-Digest: ")
        );
    }

    #[test]
    fn a_digest_not_computed_fails_closed() {
        let mut h = BodyHasher::new(&[DigestAlgorithm::Sha256]);
        h.update(HELLO);
        let body = Body::Digests(h.finish());
        let good512 = content_digest(HELLO, DigestAlgorithm::Sha512);
        let cd = read(&req(&[&good512])).unwrap().unwrap();
        assert!(
            matches!(cd.check(&body), Err(DigestCheck::Mismatch(m)) if m.contains("not computed"))
        );
        assert_eq!(cd.check(&Body::Pending), Err(DigestCheck::Pending));
    }
}
