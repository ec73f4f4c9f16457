//! The two signature algorithms keygate verifies and produces (RFC 9421 §3.3.3, §3.3.6), and
//! their key material.
//!
//! HMAC tags are compared in constant time through the MAC's own `verify_slice`; Ed25519
//! signatures are checked with `verify_strict` (canonical S, no small-order R or A). Secret
//! bytes are zeroized on drop and never printed.

use std::fmt;
use std::sync::OnceLock;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

/// A signature algorithm, by its RFC 9421 registry name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// `hmac-sha256`: HMAC with SHA-256 and a shared secret.
    HmacSha256,
    /// `ed25519`: EdDSA over Curve25519 (RFC 8032).
    Ed25519,
}

impl Algorithm {
    /// The registry name (`hmac-sha256`, `ed25519`).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::Ed25519 => "ed25519",
        }
    }

    /// The algorithm with this registry name, if keygate supports it.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "hmac-sha256" => Some(Algorithm::HmacSha256),
            "ed25519" => Some(Algorithm::Ed25519),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An HMAC-SHA256 shared secret: at least 32 bytes, zeroized on drop, never printed.
///
/// The MAC keyed with it is made on first use and kept (zeroized on drop too): each
/// verification starts from a copy of it, which saves the two SHA-256 blocks of the keyed
/// pads, a third of the work for a typical signature base.
#[derive(Clone)]
pub struct HmacSecret(Zeroizing<Vec<u8>>, OnceLock<HmacSha256>);

impl fmt::Debug for HmacSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacSecret").finish_non_exhaustive()
    }
}

impl HmacSecret {
    /// The shortest secret accepted (the SHA-256 output size).
    pub const MIN_LEN: usize = 32;
    /// The longest secret accepted.
    pub const MAX_LEN: usize = 1024;

    /// Wraps secret bytes.
    ///
    /// # Errors
    /// When the secret is shorter than [`Self::MIN_LEN`] or longer than [`Self::MAX_LEN`]
    /// (the message gives the length, never the bytes).
    pub fn new(bytes: Vec<u8>) -> Result<HmacSecret, String> {
        let bytes = Zeroizing::new(bytes);
        match bytes.len() {
            n if n < Self::MIN_LEN => Err(format!(
                "an hmac-sha256 secret needs at least {} bytes, this one has {n}",
                Self::MIN_LEN
            )),
            n if n > Self::MAX_LEN => Err(format!(
                "an hmac-sha256 secret has at most {} bytes, this one has {n}",
                Self::MAX_LEN
            )),
            _ => Ok(HmacSecret(bytes, OnceLock::new())),
        }
    }

    /// The secret bytes, for printing a freshly generated key once.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }

    /// The MAC keyed with this secret, ready for a message.
    fn keyed(&self) -> Option<HmacSha256> {
        if let Some(m) = self.1.get() {
            return Some(m.clone());
        }
        let m = <HmacSha256 as KeyInit>::new_from_slice(&self.0).ok()?;
        Some(self.1.get_or_init(|| m).clone())
    }
}

/// HMAC-SHA256 of `msg` under `key` (any key length; the length policy is [`HmacSecret`]'s).
fn hmac_tag(key: &[u8], msg: &[u8]) -> Vec<u8> {
    <HmacSha256 as KeyInit>::new_from_slice(key)
        .map(|mac| mac.chain_update(msg).finalize().into_bytes().to_vec())
        .unwrap_or_default()
}

/// Whether `tag` is the full HMAC-SHA256 of `msg` under `key`, compared in constant time.
fn hmac_verify(key: &HmacSecret, msg: &[u8], tag: &[u8]) -> bool {
    key.keyed()
        .is_some_and(|mac| mac.chain_update(msg).verify_slice(tag).is_ok())
}

/// Key material that verifies signatures: what a key set holds.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum VerifierKey {
    /// An HMAC-SHA256 shared secret.
    HmacSha256(HmacSecret),
    /// An Ed25519 public key (canonical, not of small order).
    Ed25519(VerifyingKey),
}

impl VerifierKey {
    /// The algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            VerifierKey::HmacSha256(_) => Algorithm::HmacSha256,
            VerifierKey::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    /// An Ed25519 public key from its 32-byte encoding.
    ///
    /// # Errors
    /// When the bytes are not 32 long, do not encode a curve point, encode one
    /// non-canonically, or encode a point of small order (a weak key for which signatures
    /// could verify for many messages).
    pub fn ed25519(bytes: &[u8]) -> Result<VerifierKey, String> {
        let arr: &[u8; 32] = bytes.try_into().map_err(|_| {
            format!(
                "an ed25519 public key is 32 bytes, this one has {}",
                bytes.len()
            )
        })?;
        let key = VerifyingKey::from_bytes(arr)
            .map_err(|_| "not a valid ed25519 public key (no curve point has this encoding)")?;
        if key.to_edwards().compress().as_bytes() != arr {
            return Err("non-canonical ed25519 public key encoding".to_string());
        }
        if key.is_weak() {
            return Err("weak ed25519 public key (a point of small order)".to_string());
        }
        Ok(VerifierKey::Ed25519(key))
    }

    /// The 32-byte public key of an Ed25519 key (for a runtime's own verifier).
    pub(crate) fn ed25519_public(&self) -> Option<[u8; 32]> {
        match self {
            VerifierKey::Ed25519(k) => Some(k.to_bytes()),
            VerifierKey::HmacSha256(_) => None,
        }
    }

    /// Whether `signature` is a valid signature of `message` under this key.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            VerifierKey::HmacSha256(secret) => hmac_verify(secret, message, signature),
            VerifierKey::Ed25519(key) => Signature::from_slice(signature)
                .is_ok_and(|sig| key.verify_strict(message, &sig).is_ok()),
        }
    }
}

/// Key material that produces signatures: what a client holds.
#[derive(Clone, Debug)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // Few, long-lived values: not worth a Box.
pub enum SignerKey {
    /// An HMAC-SHA256 shared secret.
    HmacSha256(HmacSecret),
    /// An Ed25519 private key.
    Ed25519(SigningKey),
}

impl SignerKey {
    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            SignerKey::HmacSha256(_) => Algorithm::HmacSha256,
            SignerKey::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    /// An Ed25519 private key from its 32-byte seed (RFC 8032 "secret key").
    ///
    /// # Errors
    /// When the seed is not 32 bytes.
    pub fn ed25519_seed(seed: &[u8]) -> Result<SignerKey, String> {
        let seed: Zeroizing<[u8; 32]> = Zeroizing::new(seed.try_into().map_err(|_| {
            format!(
                "an ed25519 private key (seed) is 32 bytes, this one has {}",
                seed.len()
            )
        })?);
        Ok(SignerKey::Ed25519(SigningKey::from_bytes(&seed)))
    }

    /// A fresh random key (32 random bytes either way).
    ///
    /// # Errors
    /// When the system has no secure random source.
    pub fn generate(alg: Algorithm) -> Result<SignerKey, String> {
        let mut bytes = Zeroizing::new(vec![0u8; 32]);
        getrandom::fill(&mut bytes).map_err(|e| format!("no secure random source: {e}"))?;
        match alg {
            Algorithm::HmacSha256 => HmacSecret::new(bytes.to_vec()).map(SignerKey::HmacSha256),
            Algorithm::Ed25519 => SignerKey::ed25519_seed(&bytes),
        }
    }

    /// The secret bytes (HMAC secret or Ed25519 seed), for printing a new key once.
    pub fn expose_secret(&self) -> Zeroizing<Vec<u8>> {
        match self {
            SignerKey::HmacSha256(s) => Zeroizing::new(s.expose_secret().to_vec()),
            SignerKey::Ed25519(k) => Zeroizing::new(k.to_bytes().to_vec()),
        }
    }

    /// The key that verifies this key's signatures.
    pub fn verifier_key(&self) -> VerifierKey {
        match self {
            SignerKey::HmacSha256(s) => VerifierKey::HmacSha256(s.clone()),
            SignerKey::Ed25519(k) => VerifierKey::Ed25519(k.verifying_key()),
        }
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            SignerKey::HmacSha256(secret) => hmac_tag(&secret.0, message),
            SignerKey::Ed25519(key) => key.sign(message).to_bytes().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in [Algorithm::HmacSha256, Algorithm::Ed25519] {
            assert_eq!(Algorithm::from_name(a.as_str()), Some(a));
        }
        assert_eq!(Algorithm::from_name("rsa-pss-sha512"), None);
    }

    #[test]
    fn hmac_secrets_are_checked_and_hidden() {
        assert!(HmacSecret::new(vec![7; 31]).unwrap_err().contains("31"));
        assert!(HmacSecret::new(vec![7; 1025]).is_err());
        let s = HmacSecret::new(vec![0x41; 32]).unwrap();
        let shown = format!("{s:?} {:?}", SignerKey::HmacSha256(s.clone()));
        assert!(!shown.contains("65") && !shown.contains('A'), "{shown}");
    }

    #[test]
    fn sign_then_verify_and_tamper() {
        for alg in [Algorithm::HmacSha256, Algorithm::Ed25519] {
            let k = SignerKey::generate(alg).unwrap();
            let v = k.verifier_key();
            assert_eq!(v.algorithm(), alg);
            let sig = k.sign(b"hello");
            assert!(v.verify(b"hello", &sig));
            assert!(!v.verify(b"hellp", &sig));
            let mut bad = sig.clone();
            bad[0] ^= 1;
            assert!(!v.verify(b"hello", &bad));
            assert!(!v.verify(b"hello", &sig[..sig.len() - 1]));
            assert!(!v.verify(b"hello", &[]));
        }
    }

    use crate::test_util::hex;

    /// RFC 4231 §4, all seven cases (keys of 4 to 131 bytes, so below the key set's minimum
    /// too): the HMAC computation itself. Case 5 publishes a 128-bit truncation.
    #[test]
    fn rfc4231_all_cases() {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/vectors/rfc4231.json")).unwrap();
        let tests = doc["tests"].as_array().unwrap();
        assert_eq!(tests.len(), 7);
        for t in tests {
            let key = hex(t["key"].as_str().unwrap());
            let data = hex(t["data"].as_str().unwrap());
            let tag = hex(t["tag"].as_str().unwrap());
            let computed = hmac_tag(&key, &data);
            assert_eq!(computed[..tag.len()], tag[..], "case {}", t["case"]);
            // Twice: keying the MAC, then from the kept keyed state.
            let secret = HmacSecret(Zeroizing::new(key.clone()), OnceLock::new());
            for _ in 0..2 {
                assert_eq!(
                    hmac_verify(&secret, &data, &tag),
                    tag.len() == 32,
                    "case {}",
                    t["case"]
                );
            }
        }
    }

    /// Wycheproof HMAC-SHA256, all 174 cases, on the HMAC computation and the full-length
    /// constant-time compare (truncated tags are never accepted as signatures).
    #[test]
    fn wycheproof_hmac_all_cases() {
        let doc: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/vectors/wycheproof/hmac_sha256_test.json"
        ))
        .unwrap();
        let mut n = 0;
        for g in doc["testGroups"].as_array().unwrap() {
            let tag_len = g["tagSize"].as_u64().unwrap() as usize / 8;
            for t in g["tests"].as_array().unwrap() {
                let valid = t["result"] == "valid";
                let key = hex(t["key"].as_str().unwrap());
                let msg = hex(t["msg"].as_str().unwrap());
                let tag = hex(t["tag"].as_str().unwrap());
                let id = &t["tcId"];
                assert_eq!(
                    hmac_tag(&key, &msg)[..tag_len] == tag[..],
                    valid,
                    "tcId {id}"
                );
                let secret = HmacSecret(Zeroizing::new(key.clone()), OnceLock::new());
                for _ in 0..2 {
                    assert_eq!(
                        hmac_verify(&secret, &msg, &tag),
                        valid && tag_len == 32,
                        "tcId {id}"
                    );
                }
                n += 1;
            }
        }
        assert_eq!(n, doc["numberOfTests"].as_u64().unwrap());
    }

    #[test]
    fn weak_and_non_canonical_ed25519_keys_are_refused() {
        // The identity point (y = 1): small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(
            VerifierKey::ed25519(&identity)
                .unwrap_err()
                .contains("weak")
        );
        // y = p + 1 encodes the identity non-canonically (p = 2^255 - 19).
        let mut non_canonical = [0xffu8; 32];
        non_canonical[0] = 0xee;
        non_canonical[31] = 0x7f;
        assert!(VerifierKey::ed25519(&non_canonical).is_err());
        assert!(
            VerifierKey::ed25519(&[0u8; 31])
                .unwrap_err()
                .contains("32 bytes")
        );
    }
}
