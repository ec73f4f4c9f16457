//! Signature additions to the wasm facade (RFC 9421 signing, the fallback body hasher).
//!
//! JSON shapes (snake_case on the wire; the JS glue maps them to camelCase):
//!
//! - `new WasmBodyHasher(content_digest?: string)`, `.update(chunk: Uint8Array)`,
//!   `.finish()`: 96 bytes, the SHA-256 then the SHA-512 of the body (zeros where not
//!   computed), for `WasmVerifier.resumeBody` where the runtime has no WebCrypto. Pass the
//!   request's `Content-Digest` value so only the named algorithms are computed (both when
//!   absent).
//! - `signRequest(request_json, body: Uint8Array | undefined, key_text, options_json)`:
//!   `request_json` = `{"method": "POST", "url": "https://...", "headers": [[name, value]]}`;
//!   `key_text` = `keygate keygen` output, a JWK, or a bare base64url key (with
//!   `options.alg`); `options_json` = `{"keyid": "...", "created_ms": <ms>, "label"?: "sig1",
//!   "components"?: ["@method", "@target-uri", "content-digest"], "nonce"?: true | "value",
//!   "expires_ms"?: <ms>, "tag"?: "...", "alg"?: "ed25519" | "hmac-sha256",
//!   "alg_param"?: true, "digest"?: "sha-256" | "sha-512"}`. Returns `{"headers":
//!   [["Content-Digest", ...]?, ["Signature-Input", ...], ["Signature", ...]],
//!   "signature_base": "..."}` (header values are single dictionary members: append them to
//!   any existing field with ", ").
//! - `generateSigningKey("ed25519" | "hmac-sha256")`: the `keygate keygen` JSON (secret!).
//! - `contentDigest(body: Uint8Array, "sha-256" | "sha-512")`: a `Content-Digest` value.
//!
//! Errors are thrown as `{"code", "message"}` JSON with codes `ERR_REQUEST_INVALID`,
//! `ERR_INVALID_OPTIONS`, `ERR_KEY_INVALID` and `ERR_SIGN_FAILED`.

use serde::Deserialize;
use serde_json::json;
use wasm_bindgen::prelude::*;

use super::throw;
use crate::sig::{Algorithm, ComponentId, Signer, SignerKey};
use crate::{BodyHasher, DigestAlgorithm, ErrorCode, UnixTime};

fn options<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> Result<T, JsValue> {
    serde_json::from_str(json)
        .map_err(|e| throw(ErrorCode::InvalidOptions, format!("invalid {what}: {e}")))
}

/// Hashes a request body chunk by chunk for `decideWithDigests`.
#[wasm_bindgen]
pub struct WasmBodyHasher {
    inner: BodyHasher,
}

#[wasm_bindgen]
impl WasmBodyHasher {
    /// A hasher for the algorithms the request's `Content-Digest` names (both when absent).
    #[wasm_bindgen(constructor)]
    pub fn new(content_digest: Option<String>) -> WasmBodyHasher {
        WasmBodyHasher {
            inner: BodyHasher::for_content_digest(content_digest.as_deref()),
        }
    }

    /// Feeds the next chunk.
    pub fn update(&mut self, chunk: &[u8]) {
        self.inner.update(chunk);
    }

    /// The digests: 96 bytes, SHA-256 in the first 32 and SHA-512 in the other 64 (zeros for
    /// an algorithm not computed), as `WasmVerifier.resumeBody` takes them.
    pub fn finish(self) -> Vec<u8> {
        let d = self.inner.finish();
        let mut out = vec![0u8; 96];
        if let Some(b) = d.get(DigestAlgorithm::Sha256) {
            out[..32].copy_from_slice(b);
        }
        if let Some(b) = d.get(DigestAlgorithm::Sha512) {
            out[32..].copy_from_slice(b);
        }
        out
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireSignRequest {
    method: String,
    url: String,
    #[serde(default)]
    headers: Vec<(String, String)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, untagged)]
enum NonceOption {
    Fresh(bool),
    Given(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignOptions {
    keyid: String,
    created_ms: f64,
    label: Option<String>,
    components: Option<Vec<String>>,
    nonce: Option<NonceOption>,
    expires_ms: Option<f64>,
    tag: Option<String>,
    alg: Option<String>,
    alg_param: Option<bool>,
    digest: Option<String>,
}

fn ms(v: f64, what: &str) -> Result<UnixTime, JsValue> {
    if !v.is_finite() {
        return Err(throw(
            ErrorCode::InvalidOptions,
            format!("{what} is not a finite time"),
        ));
    }
    Ok(UnixTime::from_millis(v as i64))
}

fn algorithm(name: &str) -> Result<Algorithm, JsValue> {
    Algorithm::from_name(name).ok_or_else(|| {
        throw(
            ErrorCode::InvalidOptions,
            format!("alg {name:?}: expected \"hmac-sha256\" or \"ed25519\""),
        )
    })
}

/// Signs a request; see the module documentation for the shapes.
#[wasm_bindgen(js_name = signRequest)]
pub fn sign_request(
    request_json: &str,
    body: Option<Vec<u8>>,
    key_text: &str,
    options_json: &str,
) -> Result<String, JsValue> {
    let wire: WireSignRequest = serde_json::from_str(request_json).map_err(|e| {
        throw(
            ErrorCode::RequestInvalid,
            format!("invalid request description: {e}"),
        )
    })?;
    let mut req = super::build_request(&wire.method, &wire.url, &wire.headers)?;
    if let Some(d) = req.defects().first() {
        return Err(throw(ErrorCode::RequestInvalid, d.clone()));
    }
    if let Some(b) = body {
        req = req.with_body(b);
    }
    let o: SignOptions = options(options_json, "signing options")?;
    let alg = o.alg.as_deref().map(algorithm).transpose()?;
    let key = SignerKey::from_text(key_text, alg).map_err(|e| throw(ErrorCode::KeyInvalid, e))?;
    let mut s = Signer::new(key, &o.keyid, ms(o.created_ms, "created_ms")?);
    if let Some(l) = &o.label {
        s = s.label(l);
    }
    if let Some(list) = &o.components {
        let comps = list
            .iter()
            .map(|c| ComponentId::parse(c).map_err(|e| throw(ErrorCode::InvalidOptions, e)))
            .collect::<Result<Vec<_>, _>>()?;
        s = s.components(comps);
    }
    match o.nonce {
        Some(NonceOption::Fresh(true)) => {
            s = s
                .random_nonce()
                .map_err(|e| throw(ErrorCode::SignFailed, e.to_string()))?;
        }
        Some(NonceOption::Given(n)) => s = s.nonce(&n),
        Some(NonceOption::Fresh(false)) | None => {}
    }
    if let Some(e) = o.expires_ms {
        s = s.expires(ms(e, "expires_ms")?);
    }
    if let Some(t) = &o.tag {
        s = s.tag(t);
    }
    if let Some(p) = o.alg_param {
        s = s.alg_param(p);
    }
    if let Some(d) = &o.digest {
        let a = DigestAlgorithm::from_key(d).ok_or_else(|| {
            throw(
                ErrorCode::InvalidOptions,
                format!("digest {d:?}: expected \"sha-256\" or \"sha-512\""),
            )
        })?;
        s = s.digest_algorithm(a);
    }
    let signed = s
        .sign(&req)
        .map_err(|e| throw(ErrorCode::SignFailed, e.to_string()))?;
    Ok(json!({"headers": signed.fields(), "signature_base": signed.base}).to_string())
}

/// A new signing key as `keygate keygen` prints it (the secret included).
#[wasm_bindgen(js_name = generateSigningKey)]
pub fn generate_signing_key(alg: &str) -> Result<String, JsValue> {
    let key = SignerKey::generate(algorithm(alg)?).map_err(|e| throw(ErrorCode::SignFailed, e))?;
    Ok(key.to_keygen_json().to_string())
}

/// A `Content-Digest` value for `body`.
#[wasm_bindgen(js_name = contentDigest)]
pub fn content_digest(body: &[u8], alg: &str) -> Result<String, JsValue> {
    let a = DigestAlgorithm::from_key(alg).ok_or_else(|| {
        throw(
            ErrorCode::InvalidOptions,
            format!("{alg:?}: expected \"sha-256\" or \"sha-512\""),
        )
    })?;
    Ok(crate::sig::content_digest(body, a))
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    const NOW_MS: f64 = 1_795_910_400_000.0;

    fn code(e: JsValue) -> String {
        let v: serde_json::Value = serde_json::from_str(&e.as_string().unwrap()).unwrap();
        v["code"].as_str().unwrap().to_string()
    }

    #[wasm_bindgen_test]
    fn errors_carry_codes() {
        let req = json!({"method": "GET", "url": "https://h/"}).to_string();
        let key = generate_signing_key("ed25519").unwrap();
        let opts = json!({"keyid": "c", "created_ms": NOW_MS}).to_string();
        assert_eq!(
            code(sign_request("{", None, &key, &opts).unwrap_err()),
            "ERR_REQUEST_INVALID"
        );
        assert_eq!(
            code(sign_request(&req, None, "nope", &opts).unwrap_err()),
            "ERR_KEY_INVALID"
        );
        let bad = json!({"keyid": "c", "created_ms": NOW_MS, "components": ["@nope"]}).to_string();
        assert_eq!(
            code(sign_request(&req, None, &key, &bad).unwrap_err()),
            "ERR_INVALID_OPTIONS"
        );
        let bad = json!({"keyid": "c", "created_ms": NOW_MS, "alg": "hmac-sha256"}).to_string();
        assert_eq!(
            code(sign_request(&req, None, &key, &bad).unwrap_err()),
            "ERR_KEY_INVALID"
        );
        let bad = json!({"keyid": "bad\u{1}", "created_ms": NOW_MS}).to_string();
        assert_eq!(
            code(sign_request(&req, None, &key, &bad).unwrap_err()),
            "ERR_SIGN_FAILED"
        );
        assert_eq!(
            code(generate_signing_key("rsa").unwrap_err()),
            "ERR_INVALID_OPTIONS"
        );
        assert_eq!(
            code(content_digest(b"", "md5").unwrap_err()),
            "ERR_INVALID_OPTIONS"
        );
        assert_eq!(
            content_digest(b"{\"hello\": \"world\"}", "sha-256").unwrap(),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
        );
    }
}
