//! Signature additions to the wasm facade (RFC 9421 signing, bodies for Content-Digest).
//!
//! JSON shapes (snake_case on the wire; the JS glue maps them to camelCase):
//!
//! - `WasmVerifier.decideWithBody(request_json, body: Uint8Array)` and
//!   `WasmVerifier.decideWithDigests(request_json, digests_json)`: as `decide`, with the
//!   body's bytes, or with the digests a `WasmBodyHasher` produced while the body streamed
//!   past (the body is then never buffered by keygate). The decision JSON is `decide`'s:
//!   `{"allowed", "status", "reason", "message", "key_id", "scopes", "route", "headers",
//!   "nonce": {"key_id", "nonce", "expires_at"} | null}`; `headers` may hold
//!   `["Accept-Signature", ...]` on signature refusals, and `nonce` is set on an allowed
//!   request whose signature had a nonce (record it in a shared store to stop replays
//!   across isolates).
//! - `new WasmBodyHasher(content_digest?: string)`, `.update(chunk: Uint8Array)`,
//!   `.finish() -> digests_json` = `{"len": 18, "sha-256": "<base64>" | null,
//!   "sha-512": "<base64>" | null}`. Pass the request's `Content-Digest` value so only the
//!   named algorithms are computed (both when absent).
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

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::json;
use wasm_bindgen::prelude::*;

use super::{WasmVerifier, decision_json, throw, wire_request};
use crate::sig::{Algorithm, ComponentId, Signer, SignerKey};
use crate::{Body, BodyDigests, BodyHasher, DigestAlgorithm, UnixTime};

fn options<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> Result<T, JsValue> {
    serde_json::from_str(json)
        .map_err(|e| throw("ERR_INVALID_OPTIONS", format!("invalid {what}: {e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireDigests {
    len: u64,
    #[serde(rename = "sha-256", default)]
    sha256: Option<String>,
    #[serde(rename = "sha-512", default)]
    sha512: Option<String>,
}

fn digest<const N: usize>(v: Option<&str>, name: &str) -> Result<Option<[u8; N]>, JsValue> {
    let Some(s) = v else { return Ok(None) };
    let bytes = STANDARD
        .decode(s)
        .map_err(|_| throw("ERR_INVALID_OPTIONS", format!("{name} is not base64")))?;
    let arr: [u8; N] = bytes
        .try_into()
        .map_err(|_| throw("ERR_INVALID_OPTIONS", format!("{name} must be {N} bytes")))?;
    Ok(Some(arr))
}

#[wasm_bindgen]
impl WasmVerifier {
    /// `decide` with the body's bytes.
    #[wasm_bindgen(js_name = decideWithBody)]
    pub fn decide_with_body(&self, request_json: &str, body: Vec<u8>) -> Result<String, JsValue> {
        let (req, cx) = wire_request(request_json)?;
        Ok(decision_json(&self.inner.decide(&req.with_body(body), &cx)))
    }

    /// `decide` for a request with a non-empty body that has not been read: the decision
    /// JSON, or `undefined` when every other check passed and the body's digests now decide
    /// (hash it, then `decideWithDigests`), or `{"pending": "webhook_body"}` when a webhook
    /// delivery's cheap checks passed and its body must now be verified (read it, bounded,
    /// then `decideWithBody`). Nothing is recorded in either case, so a body is only ever
    /// read for a request that passed every check before it.
    #[wasm_bindgen(js_name = decideDeferred)]
    pub fn decide_deferred(&self, request_json: &str) -> Result<Option<String>, JsValue> {
        let (mut req, cx) = wire_request(request_json)?;
        req.set_body(Body::Pending);
        let d = self.inner.decide(&req, &cx);
        Ok(match (d.pending_body, d.pending_webhook_body) {
            (true, true) => Some(json!({"pending": "webhook_body"}).to_string()),
            (true, false) => None,
            _ => Some(decision_json(&d)),
        })
    }

    /// `decide` with the digests of a body hashed while it streamed (`WasmBodyHasher.finish`).
    #[wasm_bindgen(js_name = decideWithDigests)]
    pub fn decide_with_digests(
        &self,
        request_json: &str,
        digests_json: &str,
    ) -> Result<String, JsValue> {
        let (req, cx) = wire_request(request_json)?;
        let w: WireDigests = options(digests_json, "body digests")?;
        let d = BodyDigests::new(
            w.len,
            digest::<32>(w.sha256.as_deref(), "sha-256")?,
            digest::<64>(w.sha512.as_deref(), "sha-512")?,
        );
        Ok(decision_json(
            &self.inner.decide(&req.with_body_digests(d), &cx),
        ))
    }
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

    /// `{"len", "sha-256", "sha-512"}` (base64, or null when not computed).
    pub fn finish(self) -> String {
        let d = self.inner.finish();
        let b64 = |a| d.get(a).map(|b| STANDARD.encode(b));
        json!({
            "len": d.len(),
            "sha-256": b64(DigestAlgorithm::Sha256),
            "sha-512": b64(DigestAlgorithm::Sha512),
        })
        .to_string()
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
            "ERR_INVALID_OPTIONS",
            format!("{what} is not a finite time"),
        ));
    }
    Ok(UnixTime::from_millis(v as i64))
}

fn algorithm(name: &str) -> Result<Algorithm, JsValue> {
    Algorithm::from_name(name).ok_or_else(|| {
        throw(
            "ERR_INVALID_OPTIONS",
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
            "ERR_REQUEST_INVALID",
            format!("invalid request description: {e}"),
        )
    })?;
    let mut req = super::build_request(&wire.method, &wire.url, &wire.headers)?;
    if let Some(d) = req.defects().first() {
        return Err(throw("ERR_REQUEST_INVALID", d.clone()));
    }
    if let Some(b) = body {
        req = req.with_body(b);
    }
    let o: SignOptions = options(options_json, "signing options")?;
    let alg = o.alg.as_deref().map(algorithm).transpose()?;
    let key = SignerKey::from_text(key_text, alg).map_err(|e| throw("ERR_KEY_INVALID", e))?;
    let mut s = Signer::new(key, &o.keyid, ms(o.created_ms, "created_ms")?);
    if let Some(l) = &o.label {
        s = s.label(l);
    }
    if let Some(list) = &o.components {
        let comps = list
            .iter()
            .map(|c| ComponentId::parse(c).map_err(|e| throw("ERR_INVALID_OPTIONS", e)))
            .collect::<Result<Vec<_>, _>>()?;
        s = s.components(comps);
    }
    match o.nonce {
        Some(NonceOption::Fresh(true)) => {
            s = s
                .random_nonce()
                .map_err(|e| throw("ERR_SIGN_FAILED", e.to_string()))?;
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
                "ERR_INVALID_OPTIONS",
                format!("digest {d:?}: expected \"sha-256\" or \"sha-512\""),
            )
        })?;
        s = s.digest_algorithm(a);
    }
    let signed = s
        .sign(&req)
        .map_err(|e| throw("ERR_SIGN_FAILED", e.to_string()))?;
    Ok(json!({"headers": signed.fields(), "signature_base": signed.base}).to_string())
}

/// A new signing key as `keygate keygen` prints it (the secret included).
#[wasm_bindgen(js_name = generateSigningKey)]
pub fn generate_signing_key(alg: &str) -> Result<String, JsValue> {
    let key = SignerKey::generate(algorithm(alg)?).map_err(|e| throw("ERR_SIGN_FAILED", e))?;
    Ok(key.to_keygen_json().to_string())
}

/// A `Content-Digest` value for `body`.
#[wasm_bindgen(js_name = contentDigest)]
pub fn content_digest(body: &[u8], alg: &str) -> Result<String, JsValue> {
    let a = DigestAlgorithm::from_key(alg).ok_or_else(|| {
        throw(
            "ERR_INVALID_OPTIONS",
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

    fn verifier(signing: &serde_json::Value) -> WasmVerifier {
        let ks = json!({"keygate": 1, "revision": 1, "keys": [{"id": "c", "signing": signing}]});
        WasmVerifier::new(ks.to_string().as_bytes(), None).unwrap()
    }

    #[wasm_bindgen_test]
    fn sign_then_decide_with_body_and_with_digests() {
        for alg in ["ed25519", "hmac-sha256"] {
            let key: serde_json::Value =
                serde_json::from_str(&generate_signing_key(alg).unwrap()).unwrap();
            let v = verifier(&key["signing"]);
            let req = json!({"method": "POST", "url": "https://api.example.com/v1/x?y=1",
                             "headers": [["content-type", "application/json"]]});
            let body = b"{\"qty\": 2}".to_vec();
            let opts = json!({"keyid": "c", "created_ms": NOW_MS, "nonce": true});
            let out: serde_json::Value = serde_json::from_str(
                &sign_request(
                    &req.to_string(),
                    Some(body.clone()),
                    &key.to_string(),
                    &opts.to_string(),
                )
                .unwrap(),
            )
            .unwrap();
            let mut headers = req["headers"].as_array().unwrap().clone();
            headers.extend(out["headers"].as_array().unwrap().iter().cloned());
            assert_eq!(out["headers"][0][0], "Content-Digest");
            let wire =
                json!({"method": "POST", "url": req["url"], "headers": headers, "now_ms": NOW_MS})
                    .to_string();
            let d: serde_json::Value =
                serde_json::from_str(&v.decide_with_body(&wire, body.clone()).unwrap()).unwrap();
            assert_eq!(d["allowed"], true, "{alg}: {d}");
            assert_eq!(d["nonce"]["key_id"], "c");
            // The same nonce again, now with streamed digests: a replay.
            let mut h =
                WasmBodyHasher::new(Some(out["headers"][0][1].as_str().unwrap().to_string()));
            h.update(&body[..3]);
            h.update(&body[3..]);
            let digests = h.finish();
            let d: serde_json::Value =
                serde_json::from_str(&v.decide_with_digests(&wire, &digests).unwrap()).unwrap();
            assert_eq!(d["reason"], "nonce_replayed", "{d}");
            let accept = d["headers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h[0] == "Accept-Signature");
            assert!(accept, "{d}");
            // Without the body the covered digest cannot match.
            let d: serde_json::Value = serde_json::from_str(&v.decide(&wire).unwrap()).unwrap();
            assert_eq!(d["reason"], "digest_mismatch", "{d}");
        }
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
        let v = verifier(&serde_json::from_str::<serde_json::Value>(&key).unwrap()["signing"]);
        let wire = json!({"method": "GET", "url": "https://h/", "now_ms": NOW_MS}).to_string();
        assert_eq!(
            code(
                v.decide_with_digests(&wire, "{\"len\": 1, \"sha-256\": \"AA\"}")
                    .unwrap_err()
            ),
            "ERR_INVALID_OPTIONS"
        );
    }
}
