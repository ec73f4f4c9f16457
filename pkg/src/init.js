// keygate/init: the API of `keygate`, without instantiating the wasm module at import time.
// The application calls `await initWasm(source)` first (see ./wasm/init.js).

export * from './api.js';
export { initWasm } from './wasm/init.js';
