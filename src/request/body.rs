//! The request body as the verifier sees it: absent, the bytes themselves, only their
//! digests, or pending.
//!
//! A gateway that streams the body to the origin should not buffer it just to check a
//! `Content-Digest` (RFC 9530). It can feed the chunks through a
//! [`BodyHasher`](crate::BodyHasher) as they pass and hand the verifier a [`Body::Digests`]
//! instead of the bytes: every byte is read once and nothing is buffered twice. Computing and
//! comparing digests is `Content-Digest`'s business (`crate::sig::digest`).

use std::fmt;

/// Digests of a body that was hashed as it streamed past, plus its length.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct BodyDigests {
    pub(crate) len: u64,
    pub(crate) sha256: Option<[u8; 32]>,
    pub(crate) sha512: Option<[u8; 64]>,
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_debug() {
        assert!(Body::None.is_empty());
        assert!(Body::Bytes(Vec::new()).is_empty());
        assert!(!Body::Pending.is_empty());
        assert_eq!(Body::Digests(BodyDigests::new(18, None, None)).len(), 18);
        let b = Body::Bytes(b"secret".to_vec());
        assert_eq!(format!("{b:?}"), "Bytes(6 bytes)");
    }
}
