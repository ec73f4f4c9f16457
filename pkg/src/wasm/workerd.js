// workerd (Cloudflare Workers, wrangler, Miniflare): the bundler turns the .wasm import into a
// compiled WebAssembly.Module (code generation from bytes is not allowed at run time there).
import wasmModule from '../../wasm/keygate_bg.wasm';
import { instantiateSync } from './facade.js';

instantiateSync(wasmModule);
