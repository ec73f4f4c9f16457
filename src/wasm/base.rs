//! The signature base without the signature, for keys that never enter wasm.
//!
//! A WebCrypto `CryptoKey` may be non-extractable: its bytes cannot be handed to the
//! facade's `signRequest`. The JS glue then asks for the signature base here, signs it with
//! `crypto.subtle.sign`, and assembles the `Signature` member itself.
//!
//! - `signatureBase(request_json, body: Uint8Array | undefined, alg, options_json)`: the
//!   same `request_json` and `options_json` as `signRequest` (see `sig.rs`; `options.alg`
//!   is replaced by `alg`, `"ed25519"` or `"hmac-sha256"`). Returns `{"label": "sig1",
//!   "headers": [["Content-Digest", ...]?, ["Signature-Input", ...]], "signature_base":
//!   "..."}`: the caller adds `["Signature", "<label>=:<base64 signature>:"]`.
//!
//! The signature base and `Signature-Input` do not depend on the key, only on its algorithm
//! (the `alg` parameter), so this runs the ordinary signer with a fixed placeholder key of
//! that algorithm and discards the placeholder's signature. Errors are `signRequest`'s.

use serde_json::{Value, json};
use wasm_bindgen::prelude::*;

use crate::ErrorCode;

use super::sig::sign_request;
use super::throw;

/// Placeholder key text per algorithm: 32 zero bytes, base64url (a valid HMAC secret and a
/// valid Ed25519 seed). Its signatures are never returned.
const PLACEHOLDER: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// See the module documentation.
#[wasm_bindgen(js_name = signatureBase)]
pub fn signature_base(
    request_json: &str,
    body: Option<Vec<u8>>,
    alg: &str,
    options_json: &str,
) -> Result<String, JsValue> {
    if !matches!(alg, "ed25519" | "hmac-sha256") {
        return Err(throw(
            ErrorCode::InvalidOptions,
            format!("alg {alg:?}: expected \"hmac-sha256\" or \"ed25519\""),
        ));
    }
    let mut options: Value = serde_json::from_str(options_json).map_err(|e| {
        throw(
            ErrorCode::InvalidOptions,
            format!("invalid signing options: {e}"),
        )
    })?;
    let Some(map) = options.as_object_mut() else {
        return Err(throw(
            ErrorCode::InvalidOptions,
            "invalid signing options: expected an object",
        ));
    };
    map.insert("alg".into(), Value::String(alg.into()));
    let signed = sign_request(request_json, body, PLACEHOLDER, &options.to_string())?;
    let mut out: Value = serde_json::from_str(&signed).map_err(|e| {
        throw(
            ErrorCode::SignFailed,
            format!("unreadable signer output: {e}"),
        )
    })?;
    let headers: Vec<Value> = out["headers"]
        .as_array()
        .map(|h| h.iter().filter(|f| f[0] != "Signature").cloned().collect())
        .unwrap_or_default();
    let label = headers
        .iter()
        .find(|f| f[0] == "Signature-Input")
        .and_then(|f| f[1].as_str())
        .and_then(|v| v.split_once('='))
        .map(|(l, _)| l.to_string())
        .ok_or_else(|| {
            throw(
                ErrorCode::SignFailed,
                "the signer produced no Signature-Input",
            )
        })?;
    Ok(json!({
        "label": label,
        "headers": headers,
        "signature_base": out["signature_base"].take(),
    })
    .to_string())
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::super::sig::{generate_signing_key, sign_request};
    use super::*;

    const NOW_MS: f64 = 1_795_910_400_000.0;

    #[wasm_bindgen_test]
    fn base_and_input_equal_the_signers_for_any_key_of_the_algorithm() {
        for alg in ["ed25519", "hmac-sha256"] {
            let key = generate_signing_key(alg).unwrap();
            let req = json!({"method": "POST", "url": "https://api.example.com/v1/x",
                             "headers": [["content-type", "text/plain"]]})
            .to_string();
            let opts =
                json!({"keyid": "c", "created_ms": NOW_MS, "nonce": "n-1", "tag": "t"}).to_string();
            let body = Some(b"hello".to_vec());
            let real: Value =
                serde_json::from_str(&sign_request(&req, body.clone(), &key, &opts).unwrap())
                    .unwrap();
            let base: Value =
                serde_json::from_str(&signature_base(&req, body, alg, &opts).unwrap()).unwrap();
            assert_eq!(base["signature_base"], real["signature_base"], "{alg}");
            assert_eq!(base["label"], "sig1");
            let real_headers = real["headers"].as_array().unwrap();
            assert_eq!(base["headers"].as_array().unwrap()[..], real_headers[..2]);
            assert_eq!(real_headers[2][0], "Signature");
        }
    }

    #[wasm_bindgen_test]
    fn errors() {
        let req = json!({"method": "GET", "url": "https://h/"}).to_string();
        let opts = json!({"keyid": "c", "created_ms": NOW_MS}).to_string();
        let code = |e: JsValue| -> String {
            let v: Value = serde_json::from_str(&e.as_string().unwrap()).unwrap();
            v["code"].as_str().unwrap().to_string()
        };
        assert_eq!(
            code(signature_base(&req, None, "rsa", &opts).unwrap_err()),
            "ERR_INVALID_OPTIONS"
        );
        assert_eq!(
            code(signature_base(&req, None, "ed25519", "[]").unwrap_err()),
            "ERR_INVALID_OPTIONS"
        );
        let label = json!({"keyid": "c", "created_ms": NOW_MS, "label": "Bad"}).to_string();
        assert_eq!(
            code(signature_base(&req, None, "ed25519", &label).unwrap_err()),
            "ERR_SIGN_FAILED"
        );
    }
}
