//! The digest algorithms of RFC 9530 that keygate computes, and the body's digests: hashed
//! whole from its bytes, or incrementally as it streams past ([`BodyHasher`]).

use sha2::{Digest as _, Sha256, Sha512};

use crate::request::body::{Body, BodyDigests};

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

impl BodyDigests {
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

impl std::fmt::Debug for BodyHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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

impl Body {
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
}
