// keygate: verify API keys and request signatures against a pushed key set, in Workers, Node
// and browsers. The wasm module is instantiated when this package is imported: `#wasm`
// resolves, by runtime, to one of ./wasm/{workerd,node,browser}.js (package.json "imports",
// kept in bundles by its "sideEffects" list). keygate/init is the same API without that step.

import '#wasm';

export * from './api.js';
