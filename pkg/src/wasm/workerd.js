// workerd (Cloudflare Workers, wrangler, Miniflare): the bundler turns the .wasm import into a
// compiled WebAssembly.Module (code generation from bytes is not allowed at run time there).
import { initSync } from '../../wasm/keygate.js';
import wasmModule from '../../wasm/keygate_bg.wasm';

initSync({ module: wasmModule });

export { WasmVerifier, checkKeySet, envelopePayload, generateApiKey, hashApiKey } from '../../wasm/keygate.js';
