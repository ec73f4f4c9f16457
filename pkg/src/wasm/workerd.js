// workerd (Cloudflare Workers, wrangler, Miniflare): the bundler turns the .wasm import into a
// compiled WebAssembly.Module (code generation from bytes is not allowed at run time there).
import { initSync } from '../../wasm/keygate.js';
import wasmModule from '../../wasm/keygate_bg.wasm';

initSync({ module: wasmModule });

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
