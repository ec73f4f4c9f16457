//! Standard Webhooks (specification 1.0.0) alone: the header fields of a delivery, the key
//! texts (`whsec_`, `whpk_`, `whsk_`), streaming verification of `v1` (HMAC-SHA256) and `v1a`
//! (Ed25519) signatures, and signing. Like `crate::sig` for RFC 9421, this module knows
//! nothing of key sets, policies or reasons; the decision (`src/decide/webhook.rs`) applies
//! the key set's rules on top of it. See `docs/webhooks.md`.

mod headers;
mod keys;
mod sign;
mod verify;

pub use headers::{
    Delivery, HEADERS, MAX_ID_LEN, MAX_TOKENS, Token, check_id, parse_signature, present, read,
};
pub use keys::{Scheme, WebhookKey, WebhookSecret, WebhookSigner};
pub use sign::{SignedWebhook, new_message_id, sign_webhook};
pub use verify::{WebhookCheck, streams};
