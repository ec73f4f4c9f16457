//! The API key format: `<prefix>_<body><check>`.
//!
//! `body` is 32 random bytes as a big-endian base62 number padded to 43 characters and
//! `check` is the CRC-32 (IEEE) of `<prefix>_<body>` as base62 padded to 6 characters.
//! The prefix makes leaked keys findable by secret scanners; the checksum lets the
//! verifier refuse typos and garbage offline, without a lookup.

use std::fmt;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::encoding::{
    b64url_decode, b64url_decode_into, b64url_encode, base62_encode, crc32, is_base62,
};

/// Length of the base62 body (32 bytes) plus the checksum (6 characters).
pub const TAIL_LEN: usize = 43 + 6;

/// The regular expression a secret scanner can use to find keygate API keys.
pub const SCANNER_REGEX: &str = r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)*_[0-9A-Za-z]{49}\b";

/// A freshly generated API key. The plain key is shown once and wiped from memory on drop;
/// `Debug` never prints it.
pub struct GeneratedKey {
    key: Zeroizing<String>,
    digest: ApiKeyDigest,
}

impl GeneratedKey {
    /// The plain API key, to hand to the client exactly once.
    pub fn expose_secret(&self) -> &str {
        &self.key
    }

    /// The digest stored in the key set.
    pub fn digest(&self) -> ApiKeyDigest {
        self.digest
    }
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

/// The SHA-256 digest of an API key's UTF-8 bytes, written `sha256:<base64url>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApiKeyDigest(pub(crate) [u8; 32]);

impl ApiKeyDigest {
    /// The digest of a presented or generated key.
    pub fn of(key: &str) -> Self {
        ApiKeyDigest(Sha256::digest(key.as_bytes()).into())
    }

    /// Parses the key-set form `sha256:<base64url of 32 bytes>`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let Some(b64) = s.strip_prefix("sha256:") else {
            return Err("expected \"sha256:\" followed by base64url of a SHA-256 digest".into());
        };
        // The common case, decoded without allocating: 43 characters are exactly 32 bytes.
        let mut arr = [0u8; 32];
        if b64url_decode_into(b64.as_bytes(), &mut arr) {
            return Ok(ApiKeyDigest(arr));
        }
        let bytes = b64url_decode(b64)?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|v: Vec<u8>| format!("a SHA-256 digest is 32 bytes, got {}", v.len()))?;
        Ok(ApiKeyDigest(arr))
    }

    /// The raw digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for ApiKeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", b64url_encode(&self.0))
    }
}

impl fmt::Debug for ApiKeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeyDigest({self})")
    }
}

/// Checks a key prefix against `[a-z][a-z0-9]*(_[a-z0-9]+)*`.
pub fn validate_prefix(prefix: &str) -> Result<(), String> {
    let ok = prefix.len() <= 64
        && prefix.split('_').enumerate().all(|(i, part)| {
            let mut bytes = part.bytes();
            match bytes.next() {
                None => false,
                Some(first) => {
                    (if i == 0 {
                        first.is_ascii_lowercase()
                    } else {
                        first.is_ascii_lowercase() || first.is_ascii_digit()
                    }) && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                }
            }
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "prefix {prefix:?} must match [a-z][a-z0-9]*(_[a-z0-9]+)* (at most 64 characters)"
        ))
    }
}

/// Builds the key string for a prefix and 32 body bytes (exposed for tests and vectors).
pub fn format_key(prefix: &str, body: &[u8; 32]) -> Result<Zeroizing<String>, String> {
    validate_prefix(prefix)?;
    let mut s = Zeroizing::new(String::with_capacity(prefix.len() + 1 + TAIL_LEN));
    s.push_str(prefix);
    s.push('_');
    s.push_str(&base62_encode(body, 43));
    let check = crc32(s.as_bytes());
    s.push_str(&base62_encode(&check.to_be_bytes(), 6));
    Ok(s)
}

/// Generates a new API key with 32 bytes from the operating system's (or WebCrypto's) CSPRNG.
pub fn generate(prefix: &str) -> Result<GeneratedKey, String> {
    let mut body = Zeroizing::new([0u8; 32]);
    getrandom::fill(body.as_mut()).map_err(|e| format!("no secure random source: {e}"))?;
    let key = format_key(prefix, &body)?;
    let digest = ApiKeyDigest::of(&key);
    Ok(GeneratedKey { key, digest })
}

/// How a presented key looks before any lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A keygate-format key with a valid checksum.
    Valid,
    /// A keygate-format key whose checksum does not match: refuse without a lookup.
    BadChecksum,
    /// Any other string (an imported legacy key): look it up by digest.
    Legacy,
}

/// Classifies a presented key. A key whose last `_`-separated part is exactly 49 base62
/// characters is in keygate format, and its checksum must match.
pub fn classify(key: &str) -> Shape {
    let Some((_, last)) = key.rsplit_once('_') else {
        return Shape::Legacy;
    };
    if last.len() != TAIL_LEN || !is_base62(last) {
        return Shape::Legacy;
    }
    let (signed, check) = key.split_at(key.len() - 6);
    // The check digits read as a base62 number (no allocation): the one six-digit spelling
    // of the CRC-32 is the one whose value it is.
    let value = check.bytes().try_fold(0u64, |n, b| {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'A'..=b'Z' => b - b'A' + 10,
            b'a'..=b'z' => b - b'a' + 36,
            _ => return None,
        };
        Some(n * 62 + u64::from(d))
    });
    if value == Some(u64::from(crc32(signed.as_bytes()))) {
        Shape::Valid
    } else {
        Shape::BadChecksum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_is_stable() {
        let key = format_key("kg_live", &[0u8; 32]).unwrap();
        assert_eq!(key.len(), "kg_live_".len() + 49);
        assert!(key.starts_with("kg_live_0000000000000000000000000000000000000000000"));
        assert_eq!(classify(&key), Shape::Valid);
    }

    #[test]
    fn generated_keys_are_valid_unique_and_digestible() {
        let a = generate("kg_test").unwrap();
        let b = generate("kg_test").unwrap();
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(classify(a.expose_secret()), Shape::Valid);
        assert_eq!(a.digest(), ApiKeyDigest::of(a.expose_secret()));
        assert!(!format!("{a:?}").contains(a.expose_secret()));
    }

    #[test]
    fn a_single_typo_is_caught() {
        let key = generate("kg").unwrap();
        let s = key.expose_secret();
        for i in 3..s.len() {
            let mut bytes = s.as_bytes().to_vec();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(bytes).unwrap();
            assert_eq!(
                classify(&typo),
                Shape::BadChecksum,
                "typo at {i} not caught"
            );
        }
    }

    #[test]
    fn other_strings_are_legacy() {
        assert_eq!(classify("abc"), Shape::Legacy);
        assert_eq!(classify("legacy_key_123"), Shape::Legacy);
        assert_eq!(classify(&format!("x_{}", "!".repeat(49))), Shape::Legacy);
    }

    #[test]
    fn prefixes() {
        for ok in ["kg", "kg_live", "a1_b2_3c", "x"] {
            validate_prefix(ok).unwrap();
        }
        for bad in ["", "Kg", "1kg", "kg_", "_kg", "kg__live", "kg-live"] {
            assert!(validate_prefix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn digest_round_trip() {
        let d = ApiKeyDigest::of("hello");
        assert_eq!(
            d.to_string(),
            "sha256:LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ"
        );
        assert_eq!(ApiKeyDigest::parse(&d.to_string()).unwrap(), d);
        assert!(ApiKeyDigest::parse("sha1:abc").is_err());
        assert!(
            ApiKeyDigest::parse("sha256:AQID")
                .unwrap_err()
                .contains("32 bytes")
        );
    }
}
