// The wasm module's functions and classes as the rest of the package uses them, and whether
// the module is instantiated yet. The wasm-bindgen glue (--target web) defines them when it is
// imported; they work once the module is instantiated: at import time by the loader the
// `#wasm` import resolves to (node.js, workerd.js, browser.js; only the default entries import
// it), or when the application calls initWasm (keygate/init). callWasm refuses to call in
// before that.
import * as glue from '../../wasm/keygate.js';
import { FINGERPRINT } from '../codes.js';

let ready = false;

export const wasm = Object.freeze({
  WasmBodyHasher: glue.WasmBodyHasher,
  WasmVerifier: glue.WasmVerifier,
  checkKeySet: glue.checkKeySet,
  envelopePayload: glue.envelopePayload,
  isDelta: glue.isDelta,
  isManifest: glue.isManifest,
  generateApiKey: glue.generateApiKey,
  generateSigningKey: glue.generateSigningKey,
  generateWebhookKey: glue.generateWebhookKey,
  hashApiKey: glue.hashApiKey,
  ioMemory: glue.ioMemory,
  ioOut: glue.ioOut,
  ioReserve: glue.ioReserve,
  signEnvelope: glue.signEnvelope,
  signRequest: glue.signRequest,
  signWebhook: glue.signWebhook,
  signatureBase: glue.signatureBase,
  resetWasm: glue.__wbg_reset_state,
});

/**
 * The module sends reasons and errors as indices into codes.js's tables: both must come from
 * one build (a stale copy of either would mislabel every refusal).
 */
function checkCodes() {
  const got = glue.codesFingerprint();
  if (got !== FINGERPRINT) {
    throw new Error(
      `keygate: the wasm module and the package's codes.js come from different builds (codes fingerprint ${got} vs ${FINGERPRINT})`,
    );
  }
}

/** Whether the module is instantiated (by a loader or by initWasm). */
export function wasmReady() {
  return ready;
}

/** Instantiates synchronously from a compiled WebAssembly.Module or its bytes (Node, workerd). */
export function instantiateSync(module) {
  if (ready) return;
  glue.initSync({ module });
  checkCodes();
  ready = true;
}

/**
 * Instantiates asynchronously from a compiled WebAssembly.Module, or fetches a URL first
 * (streaming compilation when served as application/wasm).
 */
export async function instantiate(moduleOrUrl) {
  if (ready) return;
  await glue.default({ module_or_path: moduleOrUrl });
  checkCodes();
  ready = true;
}
