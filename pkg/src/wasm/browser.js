// Browsers, Deno and bundlers: fetch the module relative to this file. Top-level await makes
// every importer wait until it is ready, so callers never call an init function.
import init from '../../wasm/keygate.js';

await init({ module_or_path: new URL('../../wasm/keygate_bg.wasm', import.meta.url) });

export { WasmVerifier, checkKeySet, envelopePayload, generateApiKey, hashApiKey } from '../../wasm/keygate.js';
