// keygate/init: the API of `keygate` without instantiating the wasm module at import time.
// Call `await initWasm(source)` once before anything else; until then every call throws
// KeygateError `ERR_WASM_NOT_INITIALIZED`.
export * from './index.js';

/**
 * Where the wasm module comes from:
 * - a compiled `WebAssembly.Module` (what Workers and other edge runtimes' bundlers make of
 *   `import wasm from 'keygate/keygate.wasm'`; the only form where compiling wasm at run
 *   time is forbidden);
 * - the module's bytes (`ArrayBuffer` or a view, e.g. Node's `readFile` result);
 * - a `Response` (e.g. `fetch(url)`; compiled while it streams when served as `application/wasm`);
 * - the module's URL (`URL` or string; fetched, so not a `file:` URL).
 */
export type WasmSource = WebAssembly.Module | BufferSource | Response | URL | string;

/**
 * Instantiates the wasm module. Resolves once the package is usable; rejects with
 * KeygateError `ERR_INVALID_OPTIONS` (not a source) or `ERR_WASM_INIT_FAILED` (not
 * fetched, not a wasm module, not keygate's, or not compilable here), after which a new call
 * may try again. Concurrent calls share one instantiation; once instantiated (by this or by
 * an import of `keygate`), it resolves at once.
 */
export declare function initWasm(source: WasmSource | PromiseLike<WasmSource>): Promise<void>;
