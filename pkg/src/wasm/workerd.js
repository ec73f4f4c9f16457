// workerd (Cloudflare Workers, wrangler, Miniflare): the bundler turns the .wasm import into a
// compiled WebAssembly.Module (code generation from bytes is not allowed at run time there).
import { initSync } from '../../wasm/keygate.js';
import wasmModule from '../../wasm/keygate_bg.wasm';

initSync({ module: wasmModule });

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
