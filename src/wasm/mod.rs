//! The wasm-bindgen facade used by the npm package's JS glue (`pkg/src/`).
//!
//! Per request nothing crosses as JSON: requests and decisions go through the lean boundary of
//! `io.rs` (numbers and a shared memory area; `decide/`). Calls made once per key set or per
//! signing (loading, info, signing, keys) exchange JSON text, which the glue turns into the
//! camelCase JS API; their errors are thrown as JSON text
//! `{"code": "ERR_...", "message": ..., "errors"?: [{"path", "message"}]}`.

mod base;
mod decide;
mod delta;
mod io;
mod shard;
mod sig;
mod testing;
mod webhook;

use serde_json::{Value, json};
use wasm_bindgen::prelude::*;

use crate::{
    ApiKeyDigest, ErrorCode, KeySet, KeysetErrors, LoadError, LoadOptions, PublisherKeys,
    PublisherSecret, Request, SealKeys, UnixTime, Unseal, Verifier, sign_envelope,
};

fn throw(code: ErrorCode, message: impl Into<String>) -> JsValue {
    JsValue::from_str(&json!({ "code": code.as_str(), "message": message.into() }).to_string())
}

fn error_list(e: &KeysetErrors) -> Vec<Value> {
    e.errors()
        .iter()
        .map(|e| json!({"path": e.path, "message": e.message}))
        .collect()
}

/// Maps a load failure to the thrown JSON: `code` (the JS error code), `error` (the wire
/// code a push endpoint answers with), `status` (its HTTP status) and details.
fn load_error(e: &LoadError) -> JsValue {
    let code = match e {
        LoadError::Keyset(_) => ErrorCode::KeysetInvalid,
        LoadError::SignatureInvalid(_) => ErrorCode::EnvelopeSignature,
        LoadError::PublisherKeysMissing => ErrorCode::InvalidOptions,
        LoadError::AudienceMismatch(_) => ErrorCode::AudienceMismatch,
        LoadError::Stale(_) => ErrorCode::EnvelopeStale,
        _ => ErrorCode::EnvelopeInvalid,
    };
    let mut v = json!({
        "code": code.as_str(),
        "error": e.code(),
        "status": e.http_status(),
        "message": e.to_string(),
    });
    if let LoadError::Keyset(errs) = e {
        v["errors"] = Value::Array(error_list(errs));
        v["message"] = Value::String(format!("invalid key set: {}", errs.errors()[0]));
    }
    JsValue::from_str(&v.to_string())
}

fn publisher_keys(config: Option<String>) -> Result<Option<PublisherKeys>, JsValue> {
    match config.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(c) => PublisherKeys::parse(c)
            .map(Some)
            .map_err(|e| throw(ErrorCode::InvalidOptions, format!("publisherKeys: {e}"))),
    }
}

/// Seal keys from their configuration text (`KEYGATE_SEAL_KEYS`: a JWK or a JWKS).
fn seal_keys(config: Option<String>) -> Result<Option<SealKeys>, JsValue> {
    match config.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(c) => SealKeys::parse(c)
            .map(Some)
            .map_err(|e| throw(ErrorCode::InvalidOptions, format!("sealKeys: {e}"))),
    }
}

fn lints(ks: &KeySet, now_ms: f64) -> Vec<Value> {
    let now = UnixTime::from_millis(if now_ms.is_finite() { now_ms as i64 } else { 0 });
    ks.lint(now)
        .iter()
        .map(|l| json!({"code": l.code, "path": l.path, "message": l.message}))
        .collect()
}

/// A request from its method, absolute URL and header pairs (`ERR_REQUEST_INVALID` when the
/// URL or method is unusable; bad header fields are recorded and refused by the verifier).
pub(crate) fn build_request(
    method: &str,
    url: &str,
    headers: &[(String, String)],
) -> Result<Request, JsValue> {
    let mut req =
        Request::new(method, url).map_err(|e| throw(ErrorCode::RequestInvalid, e.to_string()))?;
    for (n, v) in headers {
        req.push_header(n, v);
    }
    Ok(req)
}

/// A time in milliseconds from JS (`ERR_INVALID_OPTIONS` when it is not finite).
fn js_time(now_ms: f64) -> Result<UnixTime, JsValue> {
    if !now_ms.is_finite() {
        return Err(throw(ErrorCode::InvalidOptions, "now is not a finite time"));
    }
    Ok(UnixTime::from_millis(now_ms as i64))
}

/// A maximum age in seconds from JS (`ERR_INVALID_OPTIONS` unless a whole number >= 0).
fn max_age(seconds: f64) -> Result<u64, JsValue> {
    if !(seconds.is_finite() && seconds >= 0.0 && seconds.fract() == 0.0) {
        return Err(throw(
            ErrorCode::InvalidOptions,
            "maxAgeSeconds must be a whole number of seconds >= 0",
        ));
    }
    Ok(seconds as u64)
}

/// A verifier holding one key set (see the Rust `Verifier`), and what every later update must
/// also satisfy: the publisher keys it must be signed with and the audience it must name.
#[wasm_bindgen]
pub struct WasmVerifier {
    inner: Verifier,
    publisher: Option<PublisherKeys>,
    audience: Option<String>,
    /// Opens the sealed secrets of this set and of every update (never leaves wasm).
    seal: Option<SealKeys>,
    /// The request being decided, reused (`decide/`).
    scratch: Request,
    /// Decisions waiting for JS (`decide/slab.rs`).
    paused: decide::Slab,
    /// Counts the key sets this verifier has used (bumped by every update that replaced the
    /// set): outputs name the serial their key and route indices refer to, so JS can never
    /// read them in another set's key table.
    serial: u32,
    /// Counts the changes of the set's content (updates, deltas, manifests) but not the shard
    /// loads of sharded mode, which move keys without changing any decision: a waiting
    /// decision started under the same count still decides as under the set in use.
    changes: u32,
    /// Sharded mode: the manifest's shard table and the shards held (`shard.rs`).
    shards: Option<crate::sharded::ShardCache>,
    /// The decoded payload of the envelope this verifier was loaded from, until JS takes it
    /// (`takePayload`) to hash it: it is not decoded a second time.
    payload: Option<Vec<u8>>,
}

/// A key set that verified and validated, waiting to be swapped in by `WasmVerifier::commit`
/// (the caller hashes its payload in between).
#[wasm_bindgen]
pub struct WasmPending {
    set: KeySet,
    /// An envelope's decoded payload (`None`: the input was a bare set, its own payload).
    payload: Option<Vec<u8>>,
}

/// The payload to keep of a loaded input: an envelope's decoded payload; nothing for a bare
/// set, whose bytes the caller already holds (it is not copied).
fn owned_payload(payload: std::borrow::Cow<'_, [u8]>) -> Option<Vec<u8>> {
    match payload {
        std::borrow::Cow::Owned(p) => Some(p),
        std::borrow::Cow::Borrowed(_) => None,
    }
}

#[wasm_bindgen]
impl WasmPending {
    /// Takes the key set bytes it was read from when they are not the input itself: an
    /// envelope's verified, decoded payload (once). `undefined` for a bare set: its bytes
    /// are the input.
    pub fn payload(&mut self) -> Option<Vec<u8>> {
        self.payload.take()
    }
}

#[wasm_bindgen]
impl WasmVerifier {
    /// Builds a verifier from key set JSON or, when `publisher_keys` (the
    /// `KEYGATE_PUBLISHER_KEYS` text: comma-separated base64url keys, a JWK or a JWKS) is
    /// given, from a signed envelope only. Throws the load error JSON.
    #[wasm_bindgen(constructor)]
    pub fn new(input: &[u8], publisher_keys: Option<String>) -> Result<WasmVerifier, JsValue> {
        WasmVerifier::load(input, publisher_keys, None, None)
    }

    /// As `new`, and when `audience` is given, only a set naming it loads, now and on every
    /// update (`ERR_AUDIENCE_MISMATCH`). `seal_keys` (the `KEYGATE_SEAL_KEYS` text: a JWK or
    /// a JWKS) open the set's sealed secrets; without them a sealed secret is a load error.
    pub fn load(
        input: &[u8],
        publisher_keys: Option<String>,
        audience: Option<String>,
        seal_keys: Option<String>,
    ) -> Result<WasmVerifier, JsValue> {
        let publisher = self::publisher_keys(publisher_keys)?;
        let seal = self::seal_keys(seal_keys)?;
        let audience = audience.filter(|a| !a.is_empty());
        let options = Self::options(publisher.as_ref(), audience.as_deref(), seal.as_ref())?;
        let (ks, payload) =
            crate::keyset::envelope::load::load(input, &options).map_err(|e| load_error(&e))?;
        Ok(WasmVerifier {
            inner: Verifier::new(ks),
            publisher,
            audience,
            seal,
            scratch: Request::default(),
            paused: decide::Slab::default(),
            serial: 0,
            changes: 0,
            shards: None,
            payload: owned_payload(payload),
        })
    }

    /// Takes the decoded payload of the envelope this verifier was loaded from (once), for
    /// the caller to hash; `undefined` when it was loaded from a bare set (whose bytes are
    /// the payload) or the payload was taken already.
    #[wasm_bindgen(js_name = takePayload)]
    pub fn take_payload(&mut self) -> Option<Vec<u8>> {
        self.payload.take()
    }

    fn options<'a>(
        publisher: Option<&'a PublisherKeys>,
        audience: Option<&'a str>,
        seal: Option<&'a SealKeys>,
    ) -> Result<LoadOptions<'a>, JsValue> {
        LoadOptions::new()
            .publisher_keys(publisher)
            .seal_keys(seal)
            .audience(audience)
            .map_err(|e| throw(ErrorCode::InvalidOptions, e))
    }

    /// Lint warnings about the set in use at `now_ms`: `[{"code", "path", "message"}]`.
    pub fn lint(&self, now_ms: f64) -> String {
        Value::Array(lints(self.inner.keyset(), now_ms)).to_string()
    }

    /// The first half of an update: verifies and validates `input` (publisher keys, content,
    /// audience) without using it. Nothing of an envelope is decoded before its signature
    /// verified. Throws the load error JSON.
    pub fn prepare(&self, input: &[u8]) -> Result<WasmPending, JsValue> {
        let options = Self::options(
            self.publisher.as_ref(),
            self.audience.as_deref(),
            self.seal.as_ref(),
        )?;
        let (set, payload) =
            crate::keyset::envelope::load::load(input, &options).map_err(|e| load_error(&e))?;
        Ok(WasmPending {
            set,
            payload: owned_payload(payload),
        })
    }

    /// The second half: swaps a prepared set in when its revision is newer (`"replaced"`),
    /// or answers `"unchanged"` for the same revision with the same bytes; else throws
    /// `ERR_KEYSET_ROLLBACK`. With `max_age_seconds`, a set that would replace the current one
    /// must also be fresh at `now_ms` (`ERR_ENVELOPE_STALE`; see `check_push_fresh`).
    pub fn commit(
        &mut self,
        pending: WasmPending,
        now_ms: f64,
        max_age_seconds: Option<f64>,
    ) -> Result<String, JsValue> {
        if let Some(age) = max_age_seconds
            && pending.set.revision() > self.inner.keyset().revision()
        {
            crate::check_push_fresh(&pending.set, js_time(now_ms)?, max_age(age)?)
                .map_err(|e| load_error(&e))?;
        }
        match self.inner.update(pending.set) {
            Ok(crate::Update::Unchanged) => Ok("unchanged".into()),
            Ok(_) => {
                self.serial = self.serial.wrapping_add(1);
                self.changes = self.changes.wrapping_add(1);
                Ok("replaced".into())
            }
            Err(r) => Err(JsValue::from_str(
                &json!({"code": ErrorCode::KeysetRollback.as_str(), "error": r.code(), "status": 409, "message": r.to_string(), "current_revision": r.current}).to_string(),
            )),
        }
    }

    /// Throws `ERR_ENVELOPE_STALE` unless the set in use is fresh at `now_ms` as a pushed set
    /// must be (for a verifier built from a push).
    #[wasm_bindgen(js_name = checkFresh)]
    pub fn check_fresh(&self, now_ms: f64, max_age_seconds: f64) -> Result<(), JsValue> {
        crate::check_push_fresh(
            self.inner.keyset(),
            js_time(now_ms)?,
            max_age(max_age_seconds)?,
        )
        .map_err(|e| load_error(&e))
    }

    /// The serial of the key set in use (see the output header's word 18): a JS key table
    /// records it and reads only outputs that name it.
    #[wasm_bindgen(js_name = keySetSerial)]
    pub fn key_set_serial(&self) -> u32 {
        self.serial
    }

    /// What `gate.info` shows of the set in use, as numbers (no JSON, no text formatting:
    /// the first load compiles none of it): `[revision, issued_at, expires_at, keys, sealed,
    /// seal key count]`, the times in seconds since the epoch as `to_rfc3339` writes them
    /// (NaN when the set has none). No secrets: a count of sealed secrets; the ids of the
    /// seal keys come from `sealKeyIds`. The payload's SHA-256 is computed by the caller
    /// (WebCrypto is far faster than wasm at hashing megabytes): see `envelopePayload` and
    /// `WasmPending::payload`.
    #[wasm_bindgen(js_name = infoNumbers)]
    pub fn info_numbers(&self) -> Vec<f64> {
        let ks = self.inner.keyset();
        let time = |t: Option<UnixTime>| t.map_or(f64::NAN, |t| t.rfc3339_secs() as f64);
        vec![
            ks.revision() as f64,
            time(ks.issued_at()),
            time(ks.expires_at()),
            self.shards
                .as_ref()
                .map_or(ks.keys().len() as u64, |c| c.manifest().key_count()) as f64,
            ks.sealed_count() as f64,
            self.seal.as_ref().map_or(0, |s| s.keys().len()) as f64,
        ]
    }

    /// The ids of the seal keys this verifier opens sealed secrets with, as a JSON array.
    #[wasm_bindgen(js_name = sealKeyIds)]
    pub fn seal_key_ids(&self) -> String {
        let kids: Vec<&str> = self
            .seal
            .iter()
            .flat_map(|s| s.keys().iter().map(|k| k.kid()))
            .collect();
        serde_json::to_string(&kids).unwrap_or_else(|_| "[]".into())
    }
}

/// The fingerprint of the codes this module sends by index (`codes::fingerprint`): the JS glue
/// checks once that it equals `pkg/src/codes.js`'s, i.e. that both come from one build.
#[wasm_bindgen(js_name = codesFingerprint)]
pub fn codes_fingerprint() -> u32 {
    crate::codes::FINGERPRINT
}

#[cfg(test)]
impl WasmVerifier {
    /// `{"revision", "issued_at", "expires_at", "keys", "sealed", "seal_key_ids"}`, read from
    /// what `infoNumbers` and `sealKeyIds` give the JS glue, as the tests read it.
    pub fn info(&self) -> String {
        let n = self.info_numbers();
        let time = |s: f64| (!s.is_nan()).then(|| UnixTime::from_secs(s as i64).to_rfc3339());
        let kids: Vec<Value> = serde_json::from_str(&self.seal_key_ids()).unwrap();
        assert_eq!(kids.len() as f64, n[5], "the seal key count");
        json!({
            "revision": n[0] as u64,
            "issued_at": time(n[1]),
            "expires_at": time(n[2]),
            "keys": n[3] as u64,
            "sealed": n[4] as u64,
            "seal_key_ids": kids,
        })
        .to_string()
    }

    /// `prepare` then `commit` without a maximum age (the JS glue calls the two itself, hashing
    /// the payload in between).
    pub fn update(&mut self, input: &[u8]) -> Result<String, JsValue> {
        let pending = self.prepare(input)?;
        self.commit(pending, 0.0, None)
    }
}

/// Validates key set JSON without building a verifier:
/// `{"valid": bool, "errors": [{"path", "message"}], "warnings": [{"code", "path", "message"}]}`
/// (warnings are judged at `now_ms`, default the epoch, and only for a valid set). With
/// `seal_keys` every sealed secret must open; without, sealed secrets are checked by form
/// (and warned about: `sealed_not_opened`). Throws `ERR_INVALID_OPTIONS` for bad seal keys.
#[wasm_bindgen(js_name = checkKeySet)]
pub fn check_keyset(
    keyset_json: &str,
    now_ms: Option<f64>,
    seal_keys: Option<String>,
) -> Result<String, JsValue> {
    let seal = self::seal_keys(seal_keys)?;
    let unseal = seal.as_ref().map_or(Unseal::FormOnly, Unseal::Keys);
    Ok(
        match KeySet::from_json_with(keyset_json.as_bytes(), unseal) {
            Ok(ks) => {
                json!({"valid": true, "errors": [], "warnings": lints(&ks, now_ms.unwrap_or(0.0))})
                    .to_string()
            }
            Err(e) => json!({"valid": false, "errors": error_list(&e), "warnings": []}).to_string(),
        },
    )
}

/// Signs key set JSON (or a delta document) into a flattened JWS envelope (JSON text).
/// `private_key` is `keygate keygen ed25519` output, a JWK with `d`, or a base64url seed. The
/// document must be valid. Throws `ERR_INVALID_OPTIONS` or `ERR_KEYSET_INVALID`.
#[wasm_bindgen(js_name = signEnvelope)]
pub fn sign_envelope_js(
    keyset_json: &str,
    private_key: &str,
    kid: Option<String>,
) -> Result<String, JsValue> {
    let mut secret = PublisherSecret::parse(private_key)
        .map_err(|e| throw(ErrorCode::InvalidOptions, e.to_string()))?;
    if let Some(k) = kid.filter(|k| !k.is_empty()) {
        secret = secret.with_kid(&k);
    }
    // Signing needs no seal keys: sealed secrets are checked by form and carried as they are.
    delta::check_document(keyset_json.as_bytes()).map_err(|e| load_error(&LoadError::Keyset(e)))?;
    Ok(sign_envelope(keyset_json.as_bytes(), &secret).to_string())
}

/// The key set bytes inside `input`: the decoded payload of an envelope, or `input` itself
/// when it is a bare key set. Nothing is verified (hash only what already loaded); no JSON
/// tree is built.
#[wasm_bindgen(js_name = envelopePayload)]
pub fn envelope_payload(input: &[u8]) -> Vec<u8> {
    if !crate::looks_like_envelope(input) {
        return input.to_vec();
    }
    crate::Envelope::from_bytes(input)
        .map(|e| e.unverified_payload())
        .unwrap_or_default()
}

/// The pinned publisher keys a configuration names: `[{"kid", "x"}]`; throws
/// `ERR_INVALID_OPTIONS` when the configuration is unreadable.
#[wasm_bindgen(js_name = publisherKeyIds)]
pub fn publisher_key_ids(config: &str) -> Result<String, JsValue> {
    let keys = publisher_keys(Some(config.to_string()))?
        .ok_or_else(|| throw(ErrorCode::InvalidOptions, "no publisher key given"))?;
    let list: Vec<Value> = keys
        .keys()
        .iter()
        .map(|k| json!({"kid": k.kid(), "x": k.public_key_b64()}))
        .collect();
    Ok(Value::Array(list).to_string())
}

/// Generates an API key: `{"api_key": ..., "api_key_hash": ...}`.
#[wasm_bindgen(js_name = generateApiKey)]
pub fn generate_api_key(prefix: &str) -> Result<String, JsValue> {
    let k = crate::api_key::generate(prefix).map_err(|e| throw(ErrorCode::InvalidOptions, e))?;
    Ok(json!({"api_key": k.expose_secret(), "api_key_hash": k.digest().to_string()}).to_string())
}

/// The key-set digest of an API key: `sha256:<base64url>`.
#[wasm_bindgen(js_name = hashApiKey)]
pub fn hash_api_key(key: &str) -> String {
    ApiKeyDigest::of(key).to_string()
}

#[cfg(test)]
mod decide_tests;
#[cfg(test)]
mod tests;
