// The public API of `keygate` and `keygate/init`: the same functions; they differ only in who
// instantiates the wasm module (index.js: the package, at import; init.js: the application).

export { Keygate } from './keygate.js';
export { hasScope } from './decision.js';
export { KeygateError, ERROR_CODES } from './errors.js';
export { generateApiKey, hashApiKey, checkKeySet } from './keys.js';
export { signRequest, createSignature, generateSigningKey, signKeySet } from './sign.js';
export { signWebhook, generateWebhookKey } from './webhook.js';
