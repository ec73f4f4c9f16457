// workerd (Cloudflare Workers, wrangler, Miniflare): the bundler turns the .wasm import into a
// compiled WebAssembly.Module (code generation from bytes is not allowed at run time there).
import * as glue from '../../wasm/keygate.js';
import { facade } from './facade.js';
import wasmModule from '../../wasm/keygate_bg.wasm';

glue.initSync({ module: wasmModule });

export const wasm = facade(glue);
