//! The wasm-bindgen facade used by the npm package's JS glue (`pkg/src/`).
//!
//! Values cross the boundary as JSON text: it keeps this surface small, and the glue turns
//! the snake_case wire objects into the camelCase JS API. Errors are thrown as JSON text
//! `{"code": "ERR_...", "message": ..., "errors"?: [{"path", "message"}]}`.

mod sig;

use std::net::IpAddr;

use serde::Deserialize;
use serde_json::{Value, json};
use wasm_bindgen::prelude::*;

use crate::{ApiKeyDigest, Context, Decision, KeySet, KeysetErrors, Request, UnixTime, Verifier};

fn throw(code: &str, message: impl Into<String>) -> JsValue {
    JsValue::from_str(&json!({ "code": code, "message": message.into() }).to_string())
}

fn keyset_errors(e: &KeysetErrors) -> JsValue {
    let errors: Vec<Value> = e
        .errors()
        .iter()
        .map(|e| json!({"path": e.path, "message": e.message}))
        .collect();
    let message = format!("invalid key set: {}", e.errors()[0]);
    JsValue::from_str(
        &json!({ "code": "ERR_KEYSET_INVALID", "message": message, "errors": errors }).to_string(),
    )
}

fn load(json: &str) -> Result<KeySet, JsValue> {
    KeySet::from_json(json.as_bytes()).map_err(|e| keyset_errors(&e))
}

/// A request as the JS glue describes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireRequest {
    method: String,
    url: String,
    #[serde(default)]
    headers: Vec<(String, String)>,
    #[serde(default)]
    client_ip: Option<String>,
    now_ms: f64,
}

/// Reads a request description (`WireRequest`) into a request and its context.
fn wire_request(request_json: &str) -> Result<(Request, Context), JsValue> {
    let wire: WireRequest = serde_json::from_str(request_json).map_err(|e| {
        throw(
            "ERR_REQUEST_INVALID",
            format!("invalid request description: {e}"),
        )
    })?;
    let mut req = Request::new(&wire.method, &wire.url)
        .map_err(|e| throw("ERR_REQUEST_INVALID", e.to_string()))?;
    for (n, v) in &wire.headers {
        req.push_header(n, v);
    }
    let ip = match wire.client_ip.as_deref() {
        None | Some("") => None,
        Some(s) => Some(s.parse::<IpAddr>().map_err(|_| {
            throw(
                "ERR_INVALID_OPTIONS",
                format!("clientIp {s:?} is not an IP address"),
            )
        })?),
    };
    if !wire.now_ms.is_finite() {
        return Err(throw("ERR_INVALID_OPTIONS", "now is not a finite time"));
    }
    let cx = Context::new(UnixTime::from_millis(wire.now_ms as i64)).with_client_ip(ip);
    Ok((req, cx))
}

/// A decision as the JSON the glue reads.
fn decision_json(d: &Decision) -> String {
    json!({
        "allowed": d.allowed,
        "status": d.status,
        "reason": d.code(),
        "message": d.message,
        "key_id": d.key_id,
        "scopes": d.scopes,
        "route": d.route,
        "headers": d.headers,
        "nonce": d.nonce.as_ref().map(|c| json!({
            "key_id": c.key_id,
            "nonce": c.nonce,
            "expires_at": c.expires_at.as_secs(),
        })),
    })
    .to_string()
}

/// A verifier holding one key set (see the Rust `Verifier`).
#[wasm_bindgen]
pub struct WasmVerifier {
    inner: Verifier,
}

#[wasm_bindgen]
impl WasmVerifier {
    /// Validates key set JSON and builds a verifier; throws `ERR_KEYSET_INVALID`.
    #[wasm_bindgen(constructor)]
    pub fn new(keyset_json: &str) -> Result<WasmVerifier, JsValue> {
        Ok(WasmVerifier {
            inner: Verifier::new(load(keyset_json)?),
        })
    }

    /// Decides a request given as JSON; returns the decision as JSON.
    pub fn decide(&self, request_json: &str) -> Result<String, JsValue> {
        let (req, cx) = wire_request(request_json)?;
        Ok(decision_json(&self.inner.decide(&req, &cx)))
    }

    /// Replaces the key set with a newer revision; throws `ERR_KEYSET_INVALID` or
    /// `ERR_KEYSET_ROLLBACK` and keeps the current set. Returns `"replaced"` or `"unchanged"`.
    pub fn update(&mut self, keyset_json: &str) -> Result<String, JsValue> {
        let next = load(keyset_json)?;
        match self.inner.update(next) {
            Ok(crate::Update::Unchanged) => Ok("unchanged".into()),
            Ok(_) => Ok("replaced".into()),
            Err(r) => Err(JsValue::from_str(
                &json!({"code": "ERR_KEYSET_ROLLBACK", "message": r.to_string(), "current_revision": r.current}).to_string(),
            )),
        }
    }

    /// `{"revision", "issued_at", "keys", "payload_sha256"}` of the set in use (no secrets).
    pub fn info(&self) -> String {
        let ks = self.inner.keyset();
        json!({
            "revision": ks.revision(),
            "issued_at": ks.issued_at().map(|t| t.to_rfc3339()),
            "keys": ks.keys().len(),
            "payload_sha256": crate::encoding::b64url_encode(ks.payload_sha256()),
        })
        .to_string()
    }
}

/// Validates key set JSON without building a verifier:
/// `{"valid": bool, "errors": [{"path", "message"}]}`.
#[wasm_bindgen(js_name = checkKeySet)]
pub fn check_keyset(keyset_json: &str) -> String {
    match KeySet::from_json(keyset_json.as_bytes()) {
        Ok(_) => json!({"valid": true, "errors": []}).to_string(),
        Err(e) => {
            let errors: Vec<Value> = e
                .errors()
                .iter()
                .map(|e| json!({"path": e.path, "message": e.message}))
                .collect();
            json!({"valid": false, "errors": errors}).to_string()
        }
    }
}

/// Generates an API key: `{"api_key": ..., "api_key_hash": ...}`.
#[wasm_bindgen(js_name = generateApiKey)]
pub fn generate_api_key(prefix: &str) -> Result<String, JsValue> {
    let k = crate::api_key::generate(prefix).map_err(|e| throw("ERR_INVALID_OPTIONS", e))?;
    Ok(json!({"api_key": k.expose_secret(), "api_key_hash": k.digest().to_string()}).to_string())
}

/// The key-set digest of an API key: `sha256:<base64url>`.
#[wasm_bindgen(js_name = hashApiKey)]
pub fn hash_api_key(key: &str) -> String {
    ApiKeyDigest::of(key).to_string()
}
