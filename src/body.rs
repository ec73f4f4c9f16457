//! The request body as the verifier sees it: absent, the bytes themselves, or only their
//! digests.
//!
//! A gateway that streams the body to the origin should not buffer it just to check a
//! `Content-Digest` (RFC 9530). It can feed the chunks through a [`BodyHasher`] as they pass
//! and hand the verifier a [`Body::Digests`] instead of the bytes: every byte is read once and
//! nothing is buffered twice.

use std::fmt;

use sha2::{Digest as _, Sha256, Sha512};

/// A digest algorithm keygate can check in `Content-Digest` (RFC 9530 §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// `sha-256`
    Sha256,
    /// `sha-512`
    Sha512,
}

impl DigestAlgorithm {
    /// Every supported algorithm.
    pub const ALL: [DigestAlgorithm; 2] = [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512];

    /// The key in a `Content-Digest` dictionary (`sha-256`, `sha-512`).
    pub fn key(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha-256",
            DigestAlgorithm::Sha512 => "sha-512",
        }
    }

    /// The algorithm for a `Content-Digest` key, if supported.
    pub fn from_key(key: &str) -> Option<DigestAlgorithm> {
        DigestAlgorithm::ALL.into_iter().find(|a| a.key() == key)
    }
}

/// Digests of a body that was hashed as it streamed past, plus its length.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct BodyDigests {
    len: u64,
    sha256: Option<[u8; 32]>,
    sha512: Option<[u8; 64]>,
}

impl fmt::Debug for BodyDigests {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyDigests")
            .field("len", &self.len)
            .field("sha256", &self.sha256.is_some())
            .field("sha512", &self.sha512.is_some())
            .finish()
    }
}

impl BodyDigests {
    /// Digests computed elsewhere (for example by WebCrypto), for a body of `len` bytes.
    pub fn new(len: u64, sha256: Option<[u8; 32]>, sha512: Option<[u8; 64]>) -> Self {
        BodyDigests {
            len,
            sha256,
            sha512,
        }
    }

    /// The body's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the body was empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digest for `alg`, when it was computed.
    pub fn get(&self, alg: DigestAlgorithm) -> Option<&[u8]> {
        match alg {
            DigestAlgorithm::Sha256 => self.sha256.as_ref().map(|d| &d[..]),
            DigestAlgorithm::Sha512 => self.sha512.as_ref().map(|d| &d[..]),
        }
    }
}

/// Hashes a body incrementally with the chosen algorithms.
#[derive(Clone)]
pub struct BodyHasher {
    len: u64,
    sha256: Option<Sha256>,
    sha512: Option<Sha512>,
}

impl fmt::Debug for BodyHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyHasher")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl BodyHasher {
    /// A hasher computing each algorithm in `algs` (none: only the length is counted).
    pub fn new(algs: &[DigestAlgorithm]) -> Self {
        BodyHasher {
            len: 0,
            sha256: algs.contains(&DigestAlgorithm::Sha256).then(Sha256::new),
            sha512: algs.contains(&DigestAlgorithm::Sha512).then(Sha512::new),
        }
    }

    /// A hasher for the supported algorithms a `Content-Digest` value names (both when the
    /// value is absent or unreadable, so a later check never lacks a digest it needs).
    pub fn for_content_digest(header: Option<&str>) -> Self {
        let named = header.map(crate::sig::digest::named_algorithms);
        match named {
            Some(algs) if !algs.is_empty() => BodyHasher::new(&algs),
            _ => BodyHasher::new(&DigestAlgorithm::ALL),
        }
    }

    /// Feeds the next chunk.
    pub fn update(&mut self, chunk: &[u8]) {
        self.len = self.len.saturating_add(chunk.len() as u64);
        if let Some(h) = &mut self.sha256 {
            h.update(chunk);
        }
        if let Some(h) = &mut self.sha512 {
            h.update(chunk);
        }
    }

    /// The digests of everything fed so far.
    pub fn finish(self) -> BodyDigests {
        BodyDigests {
            len: self.len,
            sha256: self.sha256.map(|h| h.finalize().into()),
            sha512: self.sha512.map(|h| h.finalize().into()),
        }
    }
}

/// The body of a [`Request`](crate::Request).
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Body {
    /// No body (or one that is not known to the verifier).
    #[default]
    None,
    /// The body's bytes.
    Bytes(Vec<u8>),
    /// Only the digests of a body that streamed past.
    Digests(BodyDigests),
    /// A non-empty body whose digests are not known yet. [`Verifier::decide_deferred`]
    /// decides such a request as far as it can without them, so a caller hashes a body only
    /// for a request that is otherwise acceptable (validly signed, right key, in time).
    ///
    /// [`Verifier::decide_deferred`]: crate::Verifier::decide_deferred
    Pending,
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::None => f.write_str("None"),
            Body::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Body::Digests(d) => d.fmt(f),
            Body::Pending => f.write_str("Pending"),
        }
    }
}

impl Body {
    /// The length in bytes (0 when absent; unknown, reported as 0, when pending).
    pub fn len(&self) -> u64 {
        match self {
            Body::None | Body::Pending => 0,
            Body::Bytes(b) => b.len() as u64,
            Body::Digests(d) => d.len,
        }
    }

    /// Whether there is no body or an empty one (a pending body is non-empty). Content-Digest
    /// coverage is required only for a non-empty body.
    pub fn is_empty(&self) -> bool {
        !matches!(self, Body::Pending) && self.len() == 0
    }

    /// The digest of the body with `alg`, or `None` when only other digests are known.
    pub fn digest(&self, alg: DigestAlgorithm) -> Option<Vec<u8>> {
        let bytes: &[u8] = match self {
            Body::None => &[],
            Body::Bytes(b) => b,
            Body::Digests(d) => return d.get(alg).map(<[u8]>::to_vec),
            Body::Pending => return None,
        };
        Some(match alg {
            DigestAlgorithm::Sha256 => Sha256::digest(bytes).to_vec(),
            DigestAlgorithm::Sha512 => Sha512::digest(bytes).to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_equals_one_shot() {
        let data = b"{\"hello\": \"world\"}";
        let mut h = BodyHasher::new(&DigestAlgorithm::ALL);
        for chunk in data.chunks(5) {
            h.update(chunk);
        }
        let streamed = Body::Digests(h.finish());
        let whole = Body::Bytes(data.to_vec());
        for alg in DigestAlgorithm::ALL {
            assert_eq!(streamed.digest(alg), whole.digest(alg));
        }
        assert_eq!(streamed.len(), 18);
        assert!(!streamed.is_empty());
        assert!(Body::None.is_empty());
        assert!(Body::Bytes(Vec::new()).is_empty());
    }

    #[test]
    fn only_requested_digests_are_computed() {
        let mut h = BodyHasher::new(&[DigestAlgorithm::Sha256]);
        h.update(b"x");
        let d = h.finish();
        assert!(d.get(DigestAlgorithm::Sha256).is_some());
        assert!(d.get(DigestAlgorithm::Sha512).is_none());
        assert_eq!(Body::Digests(d).digest(DigestAlgorithm::Sha512), None);
        let h = BodyHasher::for_content_digest(Some("sha-512=:AAAA:, md5=:AAAA:"));
        let d = h.finish();
        assert!(d.get(DigestAlgorithm::Sha512).is_some());
        assert!(d.get(DigestAlgorithm::Sha256).is_none());
        let d = BodyHasher::for_content_digest(Some("garbage((")).finish();
        assert!(
            d.get(DigestAlgorithm::Sha256).is_some() && d.get(DigestAlgorithm::Sha512).is_some()
        );
    }

    #[test]
    fn debug_hides_content() {
        let b = Body::Bytes(b"secret".to_vec());
        assert_eq!(format!("{b:?}"), "Bytes(6 bytes)");
    }
}
