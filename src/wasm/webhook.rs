//! Standard Webhooks additions to the wasm facade (signing; verification runs in `decide`).
//!
//! - `signWebhook(keys_json, id, timestamp_s, body)`: `keys_json` is a JSON array of key texts
//!   (`whsec_…` / `whsk_…`); returns `{"webhook-id", "webhook-timestamp", "webhook-signature"}`.
//! - `generateWebhookKey("v1" | "v1a")`: `{"key": "whsec_…" | "whsk_…", "webhook": {...}}`.
//!
//! Errors: `ERR_KEY_INVALID` (an unusable key) and `ERR_INVALID_OPTIONS` (id, time).

use serde_json::json;
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

use super::throw;
use crate::ErrorCode;
use crate::webhook::{Scheme, WebhookSigner, sign_webhook};

/// Signs a delivery with every key of `keys_json`, one token each.
#[wasm_bindgen(js_name = signWebhook)]
pub fn sign_webhook_js(
    keys_json: &str,
    id: &str,
    timestamp_s: f64,
    body: &[u8],
) -> Result<String, JsValue> {
    let texts: Zeroizing<Vec<String>> =
        Zeroizing::new(serde_json::from_str(keys_json).map_err(|_| {
            throw(
                ErrorCode::InvalidOptions,
                "signWebhook: keys must be strings",
            )
        })?);
    let keys = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            WebhookSigner::from_text(t)
                .map_err(|e| throw(ErrorCode::KeyInvalid, format!("signWebhook: key {i}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !(timestamp_s.is_finite() && timestamp_s.fract() == 0.0) {
        return Err(throw(
            ErrorCode::InvalidOptions,
            "signWebhook: timestamp must be whole Unix seconds",
        ));
    }
    let signed = sign_webhook(&keys, id, timestamp_s as i64, body)
        .map_err(|e| throw(ErrorCode::InvalidOptions, format!("signWebhook: {e}")))?;
    Ok(json!({
        "webhook-id": signed.id,
        "webhook-timestamp": signed.timestamp.to_string(),
        "webhook-signature": signed.signature,
    })
    .to_string())
}

/// A new webhook key of `scheme` (`v1` or `v1a`): the secret once, and the key set entry.
#[wasm_bindgen(js_name = generateWebhookKey)]
pub fn generate_webhook_key(scheme: &str) -> Result<String, JsValue> {
    let scheme = Scheme::from_tag(scheme).ok_or_else(|| {
        throw(
            ErrorCode::InvalidOptions,
            format!("generateWebhookKey: scheme must be \"v1\" or \"v1a\", got {scheme:?}"),
        )
    })?;
    let k = WebhookSigner::generate(scheme).map_err(|e| throw(ErrorCode::Internal, e))?;
    Ok(json!({"key": k.to_text().as_str(), "webhook": k.entry()}).to_string())
}
