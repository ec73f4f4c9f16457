// Node: read the module from disk next to the glue and instantiate it synchronously, once,
// when the package is first imported.
import { readFileSync } from 'node:fs';
import { initSync } from '../../wasm/keygate.js';

initSync({ module: readFileSync(new URL('../../wasm/keygate_bg.wasm', import.meta.url)) });

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
