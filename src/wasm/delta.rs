//! The facade's delta methods (see the Rust `Delta` and `Verifier::apply_delta`), and the
//! digest that names the state in use.
//!
//! - `isDelta(input)`: whether an input (bare or an envelope, not verified) is meant as a
//!   delta, for routing only.
//! - `WasmVerifier.setPayloadSha256(sha)`: records the SHA-256 of the key set JSON the set in
//!   use was read from (the glue hashes with WebCrypto after a load or a full update).
//! - `WasmVerifier.prepareDelta(input)` → `WasmPendingDelta`: authenticated like a key set
//!   (publisher keys), then judged against the state in use without applying it; throws the
//!   load error JSON, or `ERR_KEYSET_ROLLBACK` / `ERR_DELTA_BASE` / `ERR_KEYSET_INVALID`.
//! - `WasmPendingDelta.info()`: `{"result": "replaced"|"unchanged", "revision",
//!   "payload_sha256", "base_revision", "base_payload_sha256", "changes"}`.
//! - `WasmVerifier.commitDelta(pending, now_ms, max_age_seconds?)`: judges again and applies
//!   (with a maximum age, a delta that would apply must be fresh: `ERR_ENVELOPE_STALE`);
//!   returns `{"result", "revision", "payload_sha256"}`.
//! - `WasmPending.revision()` and `WasmPending.checkFresh(now_ms, max_age_seconds)`: a full set
//!   judged before it is committed (the coordinator's push).

use serde_json::json;
use wasm_bindgen::prelude::*;

use super::{WasmPending, WasmVerifier, js_time, load_error, max_age, throw};
use crate::{Delta, DeltaRefused, LoadError, Update};

/// See the module documentation.
#[wasm_bindgen(js_name = isDelta)]
pub fn is_delta_js(input: &[u8]) -> bool {
    crate::is_delta(input)
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
        json!({
            "result": result(self.update),
            "revision": target.revision,
            "payload_sha256": target.sha_text(),
            "base_revision": base.revision,
            "base_payload_sha256": base.sha_text(),
            "changes": self.delta.len(),
        })
        .to_string()
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
    match e {
        DeltaRefused::Invalid(errs) => load_error(&LoadError::Keyset(errs.clone())),
        DeltaRefused::Rollback(r) => JsValue::from_str(
            &json!({"code": "ERR_KEYSET_ROLLBACK", "error": e.code(), "status": e.http_status(),
                    "message": r.to_string(), "current_revision": r.current})
            .to_string(),
        ),
        DeltaRefused::BaseMismatch {
            current,
            current_revision,
            ..
        } => JsValue::from_str(
            &json!({"code": "ERR_DELTA_BASE", "error": e.code(), "status": e.http_status(),
                    "message": e.to_string(), "current_revision": current_revision,
                    "current_payload_sha256": current.map(|c| c.sha_text())})
            .to_string(),
        ),
    }
}

#[wasm_bindgen]
impl WasmVerifier {
    /// See the module documentation.
    #[wasm_bindgen(js_name = setPayloadSha256)]
    pub fn set_payload_sha256(&mut self, sha: &[u8]) -> Result<(), JsValue> {
        let sha: [u8; 32] = sha
            .try_into()
            .map_err(|_| throw("ERR_INVALID_OPTIONS", "a SHA-256 is 32 bytes"))?;
        self.inner.set_payload_sha256(sha);
        Ok(())
    }

    /// See the module documentation.
    #[wasm_bindgen(js_name = prepareDelta)]
    pub fn prepare_delta(&self, input: &[u8]) -> Result<WasmPendingDelta, JsValue> {
        let options = Self::options(self.publisher.as_ref(), self.audience.as_deref())?;
        let delta = crate::load_delta(input, &options).map_err(|e| load_error(&e))?;
        let update = self.inner.check_delta(&delta).map_err(|e| refused(&e))?;
        Ok(WasmPendingDelta { delta, update })
    }

    /// See the module documentation.
    #[wasm_bindgen(js_name = commitDelta)]
    pub fn commit_delta(
        &mut self,
        pending: WasmPendingDelta,
        now_ms: f64,
        max_age_seconds: Option<f64>,
    ) -> Result<String, JsValue> {
        if let Some(age) = max_age_seconds
            && self
                .inner
                .check_delta(&pending.delta)
                .map_err(|e| refused(&e))?
                != Update::Unchanged
        {
            crate::check_delta_fresh(
                &pending.delta,
                self.inner.keyset(),
                js_time(now_ms)?,
                max_age(age)?,
            )
            .map_err(|e| load_error(&e))?;
        }
        let update = self
            .inner
            .apply_delta(&pending.delta)
            .map_err(|e| refused(&e))?;
        let target = pending.delta.target();
        Ok(
            json!({"result": result(update), "revision": target.revision,
                  "payload_sha256": target.sha_text()})
            .to_string(),
        )
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
