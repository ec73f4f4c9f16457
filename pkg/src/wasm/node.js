// Node: read the module from disk next to the glue and instantiate it synchronously, once,
// when the package is first imported.
import { readFileSync } from 'node:fs';
import { initSync } from '../../wasm/keygate.js';

initSync({ module: readFileSync(new URL('../../wasm/keygate_bg.wasm', import.meta.url)) });

export { WasmVerifier, checkKeySet, envelopePayload, generateApiKey, hashApiKey } from '../../wasm/keygate.js';
