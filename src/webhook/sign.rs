//! Signing deliveries: the three header fields for `<id>.<timestamp>.<body>`, one token per
//! key (several keys: the sender's side of a rotation), checked with the verifier's own rules
//! first so that keygate never signs a delivery it would refuse.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signer as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::headers::{check_id, parse_timestamp};
use super::keys::WebhookSigner;

/// The header fields of a signed delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedWebhook {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp` (Unix seconds).
    pub timestamp: i64,
    /// `webhook-signature`: one `version,base64` token per key, space-separated.
    pub signature: String,
}

impl SignedWebhook {
    /// `[("webhook-id", …), ("webhook-timestamp", …), ("webhook-signature", …)]`.
    pub fn headers(&self) -> [(&'static str, String); 3] {
        [
            ("webhook-id", self.id.clone()),
            ("webhook-timestamp", self.timestamp.to_string()),
            ("webhook-signature", self.signature.clone()),
        ]
    }
}

impl WebhookSigner {
    /// The `version,base64` token of this key over `<id>.<timestamp>.<body>`.
    pub fn token(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let prefix = format!("{id}.{timestamp}.");
        match self {
            WebhookSigner::V1(secret) => {
                let tag = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.expose_secret())
                    .map(|m| {
                        m.chain_update(prefix.as_bytes())
                            .chain_update(body)
                            .finalize()
                    })
                    .map(|t| t.into_bytes().to_vec())
                    .unwrap_or_default();
                format!("v1,{}", STANDARD.encode(tag))
            }
            WebhookSigner::V1a(key) => {
                let mut msg = Vec::with_capacity(prefix.len() + body.len());
                msg.extend_from_slice(prefix.as_bytes());
                msg.extend_from_slice(body);
                format!("v1a,{}", STANDARD.encode(key.sign(&msg).to_bytes()))
            }
        }
    }
}

/// Signs a delivery with every key in `keys` (one token each, in order).
///
/// # Errors
/// No key, an id the verifier would refuse (1 to 256 visible ASCII characters, no `.`), or a
/// timestamp that is not a positive Unix time of at most 12 digits.
pub fn sign_webhook(
    keys: &[WebhookSigner],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<SignedWebhook, String> {
    if keys.is_empty() {
        return Err("no webhook signing key given".into());
    }
    if keys.len() > super::MAX_TOKENS {
        return Err(format!(
            "at most {} keys sign one delivery (a verifier checks no more tokens)",
            super::MAX_TOKENS
        ));
    }
    check_id(id)?;
    parse_timestamp(&timestamp.to_string())?;
    let tokens: Vec<String> = keys.iter().map(|k| k.token(id, timestamp, body)).collect();
    Ok(SignedWebhook {
        id: id.to_string(),
        timestamp,
        signature: tokens.join(" "),
    })
}

/// A fresh message id: `msg_` and 27 random base62 characters (as the reference libraries make
/// them).
///
/// # Errors
/// When the system has no secure random source.
pub fn new_message_id() -> Result<String, String> {
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).map_err(|e| format!("no secure random source: {e}"))?;
    Ok(format!(
        "msg_{}",
        &crate::encoding::base62_encode(&bytes, 28)[1..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published Standard Webhooks vector (the reference libraries' test suites).
    #[test]
    fn reference_vector() {
        let k = WebhookSigner::from_text("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let s = sign_webhook(
            &[k],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(
            s.signature,
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn ids_and_keys_are_checked() {
        let k = WebhookSigner::generate(super::super::Scheme::V1).unwrap();
        assert!(sign_webhook(std::slice::from_ref(&k), "a.b", 1, b"").is_err());
        assert!(sign_webhook(std::slice::from_ref(&k), "a", 0, b"").is_err());
        assert!(sign_webhook(&[], "a", 1, b"").is_err());
        let id = new_message_id().unwrap();
        assert_eq!(id.len(), 31);
        assert!(check_id(&id).is_ok());
    }
}
