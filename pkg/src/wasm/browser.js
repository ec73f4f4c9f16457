// Browsers, Deno and bundlers: fetch the module relative to this file. Top-level await makes
// every importer wait until it is ready, so callers never call an init function.
import * as glue from '../../wasm/keygate.js';
import { facade } from './facade.js';

await glue.default({ module_or_path: new URL('../../wasm/keygate_bg.wasm', import.meta.url) });

export const wasm = facade(glue);
