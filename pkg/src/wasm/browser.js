// Browsers, Deno and bundlers: fetch the module relative to this file. Top-level await makes
// every importer wait until it is ready, so callers never call an init function. Where that
// URL does not survive (a dev server's dependency pre-bundling) or compiling fetched bytes is
// not allowed, applications use keygate/init and call initWasm themselves.
import { instantiate } from './facade.js';

await instantiate(new URL('../../wasm/keygate_bg.wasm', import.meta.url));
