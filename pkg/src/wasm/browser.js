// Browsers, Deno and bundlers: fetch the module relative to this file. Top-level await makes
// every importer wait until it is ready, so callers never call an init function.
import init from '../../wasm/keygate.js';

await init({ module_or_path: new URL('../../wasm/keygate_bg.wasm', import.meta.url) });

// The names are listed here, not re-exported with `export *` from a shared file: with
// "sideEffects": false a bundler may then skip this module, and with it the init above.
export {
  WasmBodyHasher,
  WasmVerifier,
  __wbg_reset_state as resetWasm,
  checkKeySet,
  envelopePayload,
  generateApiKey,
  generateSigningKey,
  hashApiKey,
  signEnvelope,
  signRequest,
  signatureBase,
} from '../../wasm/keygate.js';
