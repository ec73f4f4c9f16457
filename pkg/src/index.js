// keygate: verify API keys and request signatures against a pushed key set, in Workers, Node
// and browsers. The wasm module initialises itself when this package is imported (see ./wasm/).

export { Keygate } from './keygate.js';
export { KeygateError, ERROR_CODES } from './errors.js';
export { generateApiKey, hashApiKey, checkKeySet } from './keys.js';
export { signRequest, createSignature, generateSigningKey, signKeySet } from './sign.js';
