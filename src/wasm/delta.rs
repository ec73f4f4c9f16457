//! The facade's delta methods (see the Rust `Delta` and `Verifier::apply_delta`), and the
//! digest that names the state in use.
//!
//! - `isDelta(input)`: whether an input (bare or an envelope, not verified) is meant as a
//!   delta, for routing only.
//! - `WasmVerifier.setPayloadSha256(sha)`: records the SHA-256 of the key set JSON the set in
//!   use was read from (the glue hashes with WebCrypto after a load or a full update).
//! - `WasmVerifier.prepareDelta(input, now_ms, max_age_seconds?)` → `WasmPendingDelta`:
//!   authenticated like a key set (publisher keys), then judged against the state in use
//!   without applying it (with a maximum age, a delta that would apply must be fresh at
//!   `now_ms`); throws the load error JSON (`ERR_ENVELOPE_STALE` among them), or
//!   `ERR_KEYSET_ROLLBACK` / `ERR_DELTA_BASE` / `ERR_KEYSET_INVALID`.
//! - `WasmPendingDelta.info()`: `{"result": "replaced"|"unchanged", "revision",
//!   "payload_sha256", "base_revision", "base_payload_sha256", "changes"}`.
//! - `WasmVerifier.commitDelta(pending)`: judges again (the state may have moved) and
//!   applies; returns `{"result", "revision", "payload_sha256"}`.
//! - `WasmPending.revision()` and `WasmPending.checkFresh(now_ms, max_age_seconds)`: a full set
//!   judged before it is committed (the coordinator's push).

use wasm_bindgen::prelude::*;

use super::{WasmPending, WasmVerifier, js_time, load_error, max_age, throw};
use crate::{Delta, DeltaRefused, ErrorCode, LoadError, Update};

/// See the module documentation.
#[wasm_bindgen(js_name = isDelta)]
pub fn is_delta_js(input: &[u8]) -> bool {
    crate::is_delta(input)
}

/// Validates a document to sign: a delta when it is meant as one ([`crate::is_delta`]), else
/// a key set.
pub(super) fn check_document(bytes: &[u8]) -> Result<(), crate::KeysetErrors> {
    // Sealed secrets are checked by form only: signing needs no seal keys.
    if crate::is_manifest(bytes) {
        crate::Manifest::from_json(bytes, crate::Unseal::FormOnly).map(|_| ())
    } else if crate::is_delta(bytes) {
        Delta::from_json_with(bytes, crate::Unseal::FormOnly).map(|_| ())
    } else {
        crate::KeySet::from_json_with(bytes, crate::Unseal::FormOnly).map(|_| ())
    }
}

/// A delta that authenticated and fits the state it was judged against.
#[wasm_bindgen]
pub struct WasmPendingDelta {
    delta: Delta,
    update: Update,
}

#[wasm_bindgen]
impl WasmPendingDelta {
    /// See the module documentation.
    pub fn info(&self) -> String {
        let (base, target) = (self.delta.base(), self.delta.target());
        // Digests are base64url and results fixed words: nothing here needs JSON escaping.
        format!(
            r#"{{"result":"{}","revision":{},"payload_sha256":"{}","base_revision":{},"base_payload_sha256":"{}","changes":{}}}"#,
            result(self.update),
            target.revision,
            target.sha_text(),
            base.revision,
            base.sha_text(),
            self.delta.len()
        )
    }
}

fn result(u: Update) -> &'static str {
    match u {
        Update::Unchanged => "unchanged",
        _ => "replaced",
    }
}

/// The thrown JSON of a refused delta.
pub(super) fn refused(e: &DeltaRefused) -> JsValue {
    let (code, revision, sha) = match e {
        DeltaRefused::Invalid(errs) => return load_error(&LoadError::Keyset(errs.clone())),
        DeltaRefused::Rollback(r) => (ErrorCode::KeysetRollback, r.current, None),
        DeltaRefused::BaseMismatch {
            current,
            current_revision,
            ..
        } => (
            ErrorCode::DeltaBase,
            *current_revision,
            current.map(|c| c.sha_text()),
        ),
    };
    let message = serde_json::to_string(&e.to_string()).unwrap_or_default();
    let sha = sha.map_or("null".into(), |s| format!("\"{s}\""));
    JsValue::from_str(&format!(
        r#"{{"code":"{}","error":"{}","status":{},"message":{message},"current_revision":{revision},"current_payload_sha256":{sha}}}"#,
        code.as_str(),
        e.code(),
        e.http_status()
    ))
}

#[wasm_bindgen]
impl WasmVerifier {
    /// See the module documentation.
    #[wasm_bindgen(js_name = setPayloadSha256)]
    pub fn set_payload_sha256(&mut self, sha: &[u8]) -> Result<(), JsValue> {
        let sha: [u8; 32] = sha
            .try_into()
            .map_err(|_| throw(ErrorCode::InvalidOptions, "a SHA-256 is 32 bytes"))?;
        self.inner.set_payload_sha256(sha);
        Ok(())
    }

    /// See the module documentation.
    #[wasm_bindgen(js_name = prepareDelta)]
    pub fn prepare_delta(
        &self,
        input: &[u8],
        now_ms: f64,
        max_age_seconds: Option<f64>,
    ) -> Result<WasmPendingDelta, JsValue> {
        let options = Self::options(
            self.publisher.as_ref(),
            self.audience.as_deref(),
            self.seal.as_ref(),
        )?;
        let delta = crate::load_delta(input, &options).map_err(|e| load_error(&e))?;
        // Sharded: the changes are judged against the shards held when committed.
        let update = if self.shards.is_some() {
            self.inner.judge_delta_state(&delta)
        } else {
            self.inner.check_delta(&delta)
        }
        .map_err(|e| refused(&e))?;
        if let (Some(age), Update::Replaced { .. }) = (max_age_seconds, update) {
            crate::check_delta_fresh(&delta, self.inner.keyset(), js_time(now_ms)?, max_age(age)?)
                .map_err(|e| load_error(&e))?;
        }
        Ok(WasmPendingDelta { delta, update })
    }

    /// See the module documentation.
    #[wasm_bindgen(js_name = commitDelta)]
    pub fn commit_delta(&mut self, pending: WasmPendingDelta) -> Result<String, JsValue> {
        let update = match &mut self.shards {
            Some(cache) => cache.apply_delta(&mut self.inner, &pending.delta),
            None => self.inner.apply_delta(&pending.delta),
        }
        .map_err(|e| refused(&e))?;
        if !matches!(update, crate::Update::Unchanged) {
            self.serial = self.serial.wrapping_add(1);
        }
        let target = pending.delta.target();
        Ok(format!(
            r#"{{"result":"{}","revision":{},"payload_sha256":"{}"}}"#,
            result(update),
            target.revision,
            target.sha_text()
        ))
    }
}

#[wasm_bindgen]
impl WasmPending {
    /// The revision of the prepared set.
    pub fn revision(&self) -> f64 {
        self.set.revision() as f64
    }

    /// Throws `ERR_ENVELOPE_STALE` unless the prepared set is fresh at `now_ms` as a pushed set
    /// must be.
    #[wasm_bindgen(js_name = checkFresh)]
    pub fn check_fresh(&self, now_ms: f64, max_age_seconds: f64) -> Result<(), JsValue> {
        crate::check_push_fresh(&self.set, js_time(now_ms)?, max_age(max_age_seconds)?)
            .map_err(|e| load_error(&e))
    }
}

#[cfg(test)]
mod tests;
