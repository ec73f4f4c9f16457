//! Two checks the runtime tests call directly (`tests/js/ed25519-cases.mjs`, in Node, workerd
//! and Chromium), so that both Ed25519 paths can be held to the published vectors there: the
//! module's own `verify_strict`, and the encoding checks that let a runtime's WebCrypto do
//! the rest. They are exports of the module, not of the package.

use wasm_bindgen::prelude::*;

use crate::sig::VerifierKey;

/// `verify_strict` as a key set applies it: 2 when `pk` could not be a key of a set (not a
/// canonical point, or of small order), else 1 when `sig` verifies over `msg`, 0 when not.
#[wasm_bindgen(js_name = ed25519VerifyStrict)]
pub fn ed25519_verify_strict(pk: &[u8], sig: &[u8], msg: &[u8]) -> u32 {
    match VerifierKey::ed25519(pk) {
        Ok(k) => u32::from(k.verify(msg, sig)),
        Err(_) => 2,
    }
}

/// Whether `sig` passes the checks `verify_strict` makes on its encoding (`crate::sig::ed25519`).
#[wasm_bindgen(js_name = ed25519StrictSignature)]
pub fn ed25519_strict_signature(sig: &[u8]) -> bool {
    crate::sig::ed25519::strict_signature(sig).is_some()
}
