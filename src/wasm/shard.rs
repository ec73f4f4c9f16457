//! The facade's sharded mode (see `crate::sharded`).
//!
//! - `WasmVerifier.loadSharded(input, publisherKeys?, audience?, sealKeys?, maxShards,
//!   maxKeys)`: a verifier for a manifest (an envelope with publisher keys, as `load`), holding
//!   no shard yet.
//! - `run` answers kind 7 (`NEED_SHARDS`) when a shard the decision may look into is not held:
//!   word 1 is the count, word 5 a mask of those wanted only by credentials this verifier has
//!   not seen allowed (bit `n` for the `n`th: `sharded/proven.rs`), the text block holds
//!   `name \0 sha256 \0` for each. The glue loads them (`loadShard`) within its budgets and
//!   runs again; nothing was decided or recorded.
//! - `loadShard(name, bytes)`: used only when the bytes hash to the digest the signed manifest
//!   names (else it throws `ERR_SHARD_UNAVAILABLE` and nothing changed).
//! - `prepareManifest(input)` / `commitManifest(pending)`: a newer manifest replaces the one
//!   in use (the shards held are dropped); the same one again is `"unchanged"`; an older one
//!   or another at the same revision throws `ERR_KEYSET_ROLLBACK`.
//! - `shardStats()`: `{"held", "keys", "loads", "evictions", "refused", "changed", "bits",
//!   "total_keys", "proven"}`.
//! - `isManifest(input)`: whether an input (not verified) is meant as a manifest (routing).

use serde_json::json;
use wasm_bindgen::prelude::*;

use super::{WasmVerifier, io, load_error, throw};
use crate::keyset::shard::{Manifest, ShardId};
use crate::sharded::{ShardCache, ShardLimits};
use crate::{ErrorCode, Request, Verifier};

/// See the module documentation.
#[wasm_bindgen(js_name = isManifest)]
pub fn is_manifest_js(input: &[u8]) -> bool {
    crate::is_manifest(input)
}

// Out of line: only sharded mode writes it (V8 compiles a wasm function whole on its first
// call, and `run` inlined it).
#[inline(never)]
pub(super) fn write_need(m: &Manifest, need: &[ShardId], unproven: u32) -> u32 {
    let mut out = io::Out::new(io::NEED_SHARDS);
    out.set(1, need.len() as u32);
    out.set(5, unproven);
    for s in need {
        let sha = m
            .shard_sha256(*s)
            .map(|h| crate::encoding::b64url_encode(h))
            .unwrap_or_default();
        out.field(0, &s.name());
        out.field(0, &sha);
    }
    out.finish()
}

fn limits(max_shards: u32, max_keys: u32) -> ShardLimits {
    let d = ShardLimits::default();
    ShardLimits {
        max_shards: if max_shards == 0 {
            d.max_shards
        } else {
            max_shards as usize
        },
        max_keys: if max_keys == 0 {
            d.max_keys
        } else {
            max_keys as usize
        },
    }
}

/// A manifest that verified, waiting to replace the one in use.
#[wasm_bindgen]
pub struct WasmPendingManifest {
    manifest: Manifest,
}

#[wasm_bindgen]
impl WasmPendingManifest {
    /// `{"revision", "payload_sha256", "keys", "shards": [sha256...]}` (every shard's digest,
    /// `d` then `i`: what a coordinator must hold before the manifest may be used).
    pub fn info(&self) -> String {
        let shas: Vec<String> = self
            .manifest
            .shards()
            .map(|(_, h)| crate::encoding::b64url_encode(h))
            .collect();
        json!({
            "revision": self.manifest.revision(),
            "payload_sha256": crate::encoding::b64url_encode(&self.manifest.payload_sha256()),
            "keys": self.manifest.key_count(),
            "shards": shas,
        })
        .to_string()
    }

    /// Throws `ERR_ENVELOPE_STALE` unless the manifest is fresh at `now_ms` as a pushed set
    /// must be.
    #[wasm_bindgen(js_name = checkFresh)]
    pub fn check_fresh(&self, now_ms: f64, max_age_seconds: f64) -> Result<(), JsValue> {
        crate::check_push_fresh(
            &self.manifest.set,
            super::js_time(now_ms)?,
            super::max_age(max_age_seconds)?,
        )
        .map_err(|e| load_error(&e))
    }
}

#[wasm_bindgen]
impl WasmVerifier {
    /// See the module documentation.
    #[wasm_bindgen(js_name = loadSharded)]
    pub fn load_sharded(
        input: &[u8],
        publisher_keys: Option<String>,
        audience: Option<String>,
        seal_keys: Option<String>,
        max_shards: u32,
        max_keys: u32,
    ) -> Result<WasmVerifier, JsValue> {
        let publisher = super::publisher_keys(publisher_keys)?;
        let seal = super::seal_keys(seal_keys)?;
        let audience = audience.filter(|a| !a.is_empty());
        let options = Self::options(publisher.as_ref(), audience.as_deref(), seal.as_ref())?;
        let (m, _) = crate::load_manifest(input, &options).map_err(|e| load_error(&e))?;
        let sha = m.payload_sha256();
        let (cache, set) = ShardCache::new(m, limits(max_shards, max_keys));
        Ok(WasmVerifier {
            inner: Verifier::new(set).with_payload_sha256(sha),
            publisher,
            audience,
            seal,
            scratch: Request::default(),
            paused: super::decide::Slab::default(),
            serial: 0,
            changes: 0,
            shards: Some(cache),
            payload: None,
        })
    }

    /// The SHA-256 (base64url) naming the state in use, when known: in sharded mode, that of
    /// the full key set the manifest was cut from (or a delta's target).
    #[wasm_bindgen(js_name = statePayloadSha256)]
    pub fn state_payload_sha256(&self) -> Option<String> {
        self.inner.state().map(|s| s.sha_text())
    }

    /// See the module documentation.
    #[wasm_bindgen(js_name = isSharded)]
    pub fn is_sharded(&self) -> bool {
        self.shards.is_some()
    }

    /// See the module documentation.
    #[wasm_bindgen(js_name = loadShard)]
    pub fn load_shard(&mut self, name: &str, bytes: &[u8]) -> Result<(), JsValue> {
        let Some(cache) = &mut self.shards else {
            return Err(throw(ErrorCode::InvalidOptions, "not a sharded verifier"));
        };
        let s = ShardId::parse(name)
            .ok_or_else(|| throw(ErrorCode::ShardUnavailable, "not a shard name"))?;
        let unseal = self
            .seal
            .as_ref()
            .map_or(crate::Unseal::Refuse, crate::Unseal::Keys);
        let before = cache.stats().loads;
        cache
            .load(&mut self.inner, s, bytes, unseal)
            .map_err(|e| throw(ErrorCode::ShardUnavailable, e.to_string()))?;
        if cache.stats().loads != before {
            // Positions in the set moved: key indices of earlier outputs no longer hold.
            self.serial = self.serial.wrapping_add(1);
        }
        Ok(())
    }

    /// See the module documentation.
    #[wasm_bindgen(js_name = shardStats)]
    pub fn shard_stats(&self) -> Option<String> {
        let c = self.shards.as_ref()?;
        let st = c.stats();
        Some(
            json!({
                "held": st.held, "keys": st.keys, "loads": st.loads, "evictions": st.evictions,
                "refused": st.refused, "changed": st.changed, "bits": c.manifest().bits(),
                "proven": c.proven_len(),
                "total_keys": c.manifest().key_count(),
            })
            .to_string(),
        )
    }

    /// See the module documentation.
    #[wasm_bindgen(js_name = prepareManifest)]
    pub fn prepare_manifest(&self, input: &[u8]) -> Result<WasmPendingManifest, JsValue> {
        let options = Self::options(
            self.publisher.as_ref(),
            self.audience.as_deref(),
            self.seal.as_ref(),
        )?;
        let (manifest, _) = crate::load_manifest(input, &options).map_err(|e| load_error(&e))?;
        Ok(WasmPendingManifest { manifest })
    }

    /// See the module documentation.
    #[wasm_bindgen(js_name = commitManifest)]
    pub fn commit_manifest(&mut self, pending: WasmPendingManifest) -> Result<String, JsValue> {
        let Some(cache) = &self.shards else {
            return Err(throw(ErrorCode::InvalidOptions, "not a sharded verifier"));
        };
        let m = pending.manifest;
        let current = self.inner.keyset().revision();
        let same = self.inner.state().map(|s| s.payload_sha256) == Some(m.payload_sha256());
        if m.revision() == current && same {
            return Ok("unchanged".into());
        }
        if m.revision() <= current {
            let r = crate::Rollback {
                current,
                offered: m.revision(),
            };
            return Err(JsValue::from_str(
                &json!({"code": ErrorCode::KeysetRollback.as_str(), "error": r.code(), "status": 409, "message": r.to_string(), "current_revision": current}).to_string(),
            ));
        }
        let sha = m.payload_sha256();
        let limits = cache.limits();
        let (mut cache, set) = ShardCache::new(m, limits);
        if let Some(old) = &mut self.shards {
            cache.keep_proven(old);
        }
        let nonces = std::sync::Arc::clone(self.inner.nonce_store_arc());
        self.inner = Verifier::new(set)
            .with_payload_sha256(sha)
            .with_nonce_store(nonces);
        self.shards = Some(cache);
        self.serial = self.serial.wrapping_add(1);
        self.changes = self.changes.wrapping_add(1);
        Ok("replaced".into())
    }
}
