// Node: read the module from disk next to the glue and instantiate it synchronously, once,
// when the package is first imported (no top-level await, so `require('keygate')` works too).
import { readFileSync } from 'node:fs';
import { instantiateSync } from './facade.js';

instantiateSync(readFileSync(new URL('../../wasm/keygate_bg.wasm', import.meta.url)));
