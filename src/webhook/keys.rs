//! Standard Webhooks keys as text: `whsec_` secrets (v1, HMAC-SHA256), `whpk_` public keys and
//! `whsk_` private keys (v1a, Ed25519), each the prefix followed by standard base64 (RFC 4648
//! §4, padded or not). Errors name offsets and lengths, never a key byte.

use std::fmt;

use base64::Engine as _;
use base64::alphabet::STANDARD as STANDARD_ALPHABET;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use ed25519_dalek::{SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::sig::VerifierKey;

/// Standard base64 with or without padding, canonical trailing bits.
const LENIENT_PAD: GeneralPurpose = GeneralPurpose::new(
    &STANDARD_ALPHABET,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The two signature schemes of Standard Webhooks 1.0.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// `v1`: HMAC-SHA256 with a shared secret (`whsec_`).
    V1,
    /// `v1a`: Ed25519 with a key pair (`whsk_` signs, `whpk_` verifies).
    V1a,
}

impl Scheme {
    /// Every scheme, in the order the wasm facade numbers them (`crate::codes`).
    pub const ALL: &'static [Scheme] = &[Scheme::V1, Scheme::V1a];

    /// Its index in [`Scheme::ALL`] (how the wasm facade sends it).
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn index(self) -> u32 {
        Scheme::ALL.iter().position(|s| *s == self).unwrap_or(0) as u32
    }

    /// The version tag in `webhook-signature` (`v1`, `v1a`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Scheme::V1 => "v1",
            Scheme::V1a => "v1a",
        }
    }

    /// The scheme with this tag.
    pub fn from_tag(tag: &str) -> Option<Scheme> {
        match tag {
            "v1" => Some(Scheme::V1),
            "v1a" => Some(Scheme::V1a),
            _ => None,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Decodes the standard base64 after `prefix`; `what` names the key in errors.
fn decode(text: &str, prefix: &str, what: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    let body = text
        .strip_prefix(prefix)
        .ok_or_else(|| format!("{what} starts with {prefix:?}"))?;
    if let Some(i) = body
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='))
    {
        let hint = match body.as_bytes()[i] {
            b'-' | b'_' => " (standard base64 with '+' and '/', not base64url)",
            _ => "",
        };
        return Err(format!(
            "{what}: invalid base64 character at byte {}{hint}",
            prefix.len() + i
        ));
    }
    LENIENT_PAD
        .decode(body)
        .map(Zeroizing::new)
        .map_err(|_| format!("{what}: not canonical standard base64 after {prefix:?}"))
}

/// A `v1` shared secret: 24 to 64 bytes, wiped on drop, never printed.
#[derive(Clone)]
pub struct WebhookSecret(Zeroizing<Vec<u8>>);

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSecret").finish_non_exhaustive()
    }
}

impl WebhookSecret {
    /// The shortest secret Standard Webhooks allows.
    pub const MIN_LEN: usize = 24;
    /// The longest.
    pub const MAX_LEN: usize = 64;

    /// Wraps secret bytes.
    ///
    /// # Errors
    /// When the length is outside 24..=64 (the message gives the length, never the bytes).
    pub fn new(bytes: Vec<u8>) -> Result<WebhookSecret, String> {
        let bytes = Zeroizing::new(bytes);
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&bytes.len()) {
            return Err(format!(
                "a webhook secret is {} to {} bytes, this one has {}",
                Self::MIN_LEN,
                Self::MAX_LEN,
                bytes.len()
            ));
        }
        Ok(WebhookSecret(bytes))
    }

    /// Reads `whsec_` + standard base64.
    ///
    /// # Errors
    /// A wrong prefix, a character outside standard base64 (at its byte offset), or a length
    /// outside 24..=64 bytes.
    pub fn from_text(text: &str) -> Result<WebhookSecret, String> {
        let bytes = decode(text, "whsec_", "a webhook secret")?;
        WebhookSecret::new(bytes.to_vec())
    }

    /// A fresh random 32-byte secret.
    ///
    /// # Errors
    /// When the system has no secure random source.
    pub fn generate() -> Result<WebhookSecret, String> {
        let mut b = Zeroizing::new(vec![0u8; 32]);
        getrandom::fill(&mut b).map_err(|e| format!("no secure random source: {e}"))?;
        WebhookSecret::new(b.to_vec())
    }

    /// The secret as `whsec_` text (padded standard base64): to give the sender once.
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("whsec_{}", STANDARD.encode(self.0.as_slice())))
    }

    /// The secret bytes.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }
}

/// A key that verifies webhook signatures: what a key set's `webhook` holds.
#[derive(Clone)]
#[non_exhaustive]
pub enum WebhookKey {
    /// `v1`: a shared secret.
    V1(WebhookSecret),
    /// `v1a`: an Ed25519 public key (canonical, not of small order).
    V1a(VerifyingKey),
}

impl fmt::Debug for WebhookKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookKey({})", self.scheme())
    }
}

impl WebhookKey {
    /// The scheme this key verifies.
    pub fn scheme(&self) -> Scheme {
        match self {
            WebhookKey::V1(_) => Scheme::V1,
            WebhookKey::V1a(_) => Scheme::V1a,
        }
    }

    /// Whether `other` is the same key: the same scheme and the same secret or public key.
    pub(crate) fn same_key(&self, other: &WebhookKey) -> bool {
        match (self, other) {
            (WebhookKey::V1(a), WebhookKey::V1(b)) => {
                let (a, b) = (a.expose_secret(), b.expose_secret());
                // Lengths are public (24 to 64 bytes); the bytes are compared in full.
                a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
            }
            (WebhookKey::V1a(a), WebhookKey::V1a(b)) => a.as_bytes() == b.as_bytes(),
            _ => false,
        }
    }

    /// A `v1a` public key from `whpk_` text (32 bytes, checked as every Ed25519 key keygate
    /// reads: a canonical curve point, not of small order).
    ///
    /// # Errors
    /// A wrong prefix, bad base64, a wrong length, or a weak or invalid key.
    pub fn public_key(text: &str) -> Result<WebhookKey, String> {
        if text.starts_with("whsk_") {
            return Err(
                "a private key (whsk_) does not belong in a key set; register its public key (whpk_)"
                    .into(),
            );
        }
        let bytes = decode(text, "whpk_", "a webhook public key")?;
        match VerifierKey::ed25519(&bytes)? {
            VerifierKey::Ed25519(k) => Ok(WebhookKey::V1a(k)),
            _ => Err("not an Ed25519 key".into()),
        }
    }

    /// The public key as `whpk_` text, for a `v1a` key.
    pub fn public_key_text(&self) -> Option<String> {
        match self {
            WebhookKey::V1a(k) => Some(format!("whpk_{}", STANDARD.encode(k.as_bytes()))),
            _ => None,
        }
    }
}

/// A key that signs webhooks: a `whsec_` secret (v1) or a `whsk_` private key (v1a).
#[derive(Clone)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // Few, long-lived values: not worth a Box.
pub enum WebhookSigner {
    /// `v1`: a shared secret.
    V1(WebhookSecret),
    /// `v1a`: an Ed25519 private key.
    V1a(SigningKey),
}

impl fmt::Debug for WebhookSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookSigner({})", self.scheme())
    }
}

impl WebhookSigner {
    /// Reads `whsec_…` (v1) or `whsk_…` (v1a: standard base64 of the 32-byte RFC 8032 seed,
    /// or of the 64-byte seed followed by its public key, whose public half must match).
    ///
    /// # Errors
    /// What is wrong with the text, without the key material; a `whpk_` public key cannot sign.
    pub fn from_text(text: &str) -> Result<WebhookSigner, String> {
        let text = text.trim();
        if text.starts_with("whsec_") {
            return WebhookSecret::from_text(text).map(WebhookSigner::V1);
        }
        if text.starts_with("whpk_") {
            return Err("a public key (whpk_) cannot sign; give its private key (whsk_)".into());
        }
        if !text.starts_with("whsk_") {
            return Err("expected a webhook signing key: whsec_… (v1) or whsk_… (v1a)".into());
        }
        let bytes = decode(text, "whsk_", "a webhook private key")?;
        let seed: &[u8; 32] = bytes.get(..32).and_then(|s| s.try_into().ok()).ok_or_else(|| {
            format!(
                "a webhook private key is 32 bytes (the seed) or 64 (seed and public key), this one has {}",
                bytes.len()
            )
        })?;
        let key = SigningKey::from_bytes(seed);
        match bytes.len() {
            32 => {}
            64 if bytes[32..] == key.verifying_key().to_bytes() => {}
            64 => {
                return Err(
                    "a webhook private key's last 32 bytes are not the public key of its seed"
                        .into(),
                );
            }
            n => {
                return Err(format!(
                    "a webhook private key is 32 bytes (the seed) or 64 (seed and public key), this one has {n}"
                ));
            }
        }
        Ok(WebhookSigner::V1a(key))
    }

    /// A fresh random key of `scheme`.
    ///
    /// # Errors
    /// When the system has no secure random source.
    pub fn generate(scheme: Scheme) -> Result<WebhookSigner, String> {
        match scheme {
            Scheme::V1 => WebhookSecret::generate().map(WebhookSigner::V1),
            Scheme::V1a => {
                let mut seed = Zeroizing::new([0u8; 32]);
                getrandom::fill(seed.as_mut_slice())
                    .map_err(|e| format!("no secure random source: {e}"))?;
                Ok(WebhookSigner::V1a(SigningKey::from_bytes(&seed)))
            }
        }
    }

    /// The scheme this key signs with.
    pub fn scheme(&self) -> Scheme {
        match self {
            WebhookSigner::V1(_) => Scheme::V1,
            WebhookSigner::V1a(_) => Scheme::V1a,
        }
    }

    /// The key as text: `whsec_…` or `whsk_…` (the 32-byte seed). It is the secret: show it once.
    pub fn to_text(&self) -> Zeroizing<String> {
        match self {
            WebhookSigner::V1(s) => s.to_text(),
            WebhookSigner::V1a(k) => {
                Zeroizing::new(format!("whsk_{}", STANDARD.encode(k.to_bytes())))
            }
        }
    }

    /// The key set's `webhook` object for this key: `{"secret": "whsec_…"}` (the secret itself:
    /// seal it, see `keyset seal`) or `{"public_key": "whpk_…"}`.
    pub fn entry(&self) -> serde_json::Value {
        match self {
            WebhookSigner::V1(s) => serde_json::json!({"secret": s.to_text().as_str()}),
            WebhookSigner::V1a(k) => serde_json::json!({
                "public_key": format!("whpk_{}", STANDARD.encode(k.verifying_key().as_bytes()))
            }),
        }
    }

    /// The key that verifies this key's signatures.
    pub fn verifier(&self) -> WebhookKey {
        match self {
            WebhookSigner::V1(s) => WebhookKey::V1(s.clone()),
            WebhookSigner::V1a(k) => WebhookKey::V1a(k.verifying_key()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_read_as_the_reference_libraries_write_them() {
        // The published test secret (24 bytes, no padding needed) and a padded 32-byte one.
        let s = WebhookSecret::from_text("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(s.expose_secret().len(), 24);
        let g = WebhookSecret::generate().unwrap();
        let text = g.to_text();
        assert!(text.ends_with('='), "{} bytes pad", g.expose_secret().len());
        assert_eq!(
            WebhookSecret::from_text(&text).unwrap().expose_secret(),
            g.expose_secret()
        );
        let unpadded = text.trim_end_matches('=');
        assert!(WebhookSecret::from_text(unpadded).is_ok());
        for (bad, says) in [
            ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "starts with \"whsec_\""),
            (
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa-w",
                "byte 36 (standard base64",
            ),
            ("whsec_AAAA", "24 to 64 bytes, this one has 3"),
            ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSx=", "not canonical"),
        ] {
            let e = WebhookSecret::from_text(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
            assert!(!e.contains("MfKQ9r8G"), "{e}");
        }
        assert!(!format!("{s:?}").contains("Mf"));
    }

    #[test]
    fn signing_keys_round_trip_and_stay_hidden() {
        for scheme in [Scheme::V1, Scheme::V1a] {
            let k = WebhookSigner::generate(scheme).unwrap();
            let back = WebhookSigner::from_text(&k.to_text()).unwrap();
            assert_eq!(back.to_text(), k.to_text());
            assert_eq!(back.scheme(), scheme);
            assert!(!format!("{k:?}").contains(&k.to_text()[6..12]));
        }
        let k = WebhookSigner::generate(Scheme::V1a).unwrap();
        let WebhookSigner::V1a(sk) = &k else {
            unreachable!()
        };
        let mut full = sk.to_bytes().to_vec();
        full.extend_from_slice(sk.verifying_key().as_bytes());
        let long = format!("whsk_{}", STANDARD.encode(&full));
        assert_eq!(
            WebhookSigner::from_text(&long).unwrap().to_text(),
            k.to_text()
        );
        full[40] ^= 1;
        let wrong = format!("whsk_{}", STANDARD.encode(&full));
        assert!(
            WebhookSigner::from_text(&wrong)
                .unwrap_err()
                .contains("not the public key")
        );
        let public = k.verifier().public_key_text().unwrap();
        assert!(
            WebhookSigner::from_text(&public)
                .unwrap_err()
                .contains("cannot sign")
        );
        assert!(
            WebhookKey::public_key(&k.to_text())
                .unwrap_err()
                .contains("does not belong")
        );
        assert!(WebhookKey::public_key(&public).is_ok());
        // The identity point: a weak key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = format!("whpk_{}", STANDARD.encode(identity));
        assert!(WebhookKey::public_key(&weak).unwrap_err().contains("weak"));
    }
}
