// The options of Keygate.load and Keygate#update, checked once (keygate.js), and the key
// configuration texts the middleware shares (publisher keys, seal keys, audience).

import { describe, invalidOptions } from './errors.js';
import { checkBodyTimeout, checkNonceStore } from './request.js';
import { checkShardOptions } from './shards.js';

const LOAD_OPTIONS = new Set(['publisherKeys', 'audience', 'maxAgeSeconds', 'onWarning', 'nonceStore', 'sealKeys', 'shards', 'bodyTimeoutSeconds']);
const UPDATE_OPTIONS = new Set(['maxAgeSeconds']);

/**
 * Publisher keys as the facade's configuration text (the KEYGATE_PUBLISHER_KEYS format):
 * a string is passed as is (comma-separated base64url keys, a JWK or a JWKS); an array of
 * base64url strings and/or Ed25519 JWK objects becomes a JWKS.
 */
export function publisherKeysText(keys, where) {
  if (keys === undefined || keys === null) return undefined;
  if (typeof keys === 'string') return keys;
  if (Array.isArray(keys) && keys.length > 0) {
    const jwks = keys.map((k, i) => {
      if (typeof k === 'string') return { kty: 'OKP', crv: 'Ed25519', x: k };
      if (k !== null && typeof k === 'object' && !Array.isArray(k)) return k;
      throw invalidOptions(`${where}: publisherKeys[${i}] must be a base64url key or a JWK, got ${describe(k)}`);
    });
    return JSON.stringify({ keys: jwks });
  }
  throw invalidOptions(`${where}: publisherKeys must be a non-empty array or the KEYGATE_PUBLISHER_KEYS text`);
}

/**
 * Seal keys as the facade's configuration text (the KEYGATE_SEAL_KEYS format): a string is
 * passed as is (a JWK or a JWKS); a JWK or JWKS object, or an array of JWKs, becomes JSON.
 * The keys are read (and refused: ERR_INVALID_OPTIONS) inside the wasm module, where the
 * sealed secrets are opened and stay.
 */
export function sealKeysText(keys, where) {
  if (keys === undefined || keys === null) return undefined;
  if (typeof keys === 'string') return keys;
  if (Array.isArray(keys) && keys.length > 0 && keys.every((k) => k !== null && typeof k === 'object' && !Array.isArray(k))) {
    return JSON.stringify({ keys });
  }
  if (typeof keys === 'object' && !Array.isArray(keys)) return JSON.stringify(keys);
  throw invalidOptions(`${where}: sealKeys must be a JWK, a JWKS, a non-empty array of JWKs or the KEYGATE_SEAL_KEYS text`);
}

/** `Keygate.load`'s options, checked (none given: nothing to check, nor to compile). */
export function checkLoadOptions(options) {
  return options === undefined ? {} : checkGivenLoadOptions(options);
}

function checkGivenLoadOptions(options) {
  if (options === null || typeof options !== 'object') {
    throw invalidOptions(`Keygate.load: options must be an object, got ${describe(options)}`);
  }
  for (const k of Object.keys(options)) {
    if (!LOAD_OPTIONS.has(k)) {
      throw invalidOptions(
        `Keygate.load: unknown option ${JSON.stringify(k)} (expected publisherKeys, audience, sealKeys, maxAgeSeconds, onWarning, nonceStore, shards, bodyTimeoutSeconds)`,
      );
    }
  }
  if (options.onWarning !== undefined && typeof options.onWarning !== 'function') {
    throw invalidOptions('Keygate.load: options.onWarning must be a function');
  }
  return {
    onWarning: options.onWarning,
    publisherKeys: publisherKeysText(options.publisherKeys, 'Keygate.load'),
    audience: audienceText(options.audience, 'Keygate.load'),
    sealKeys: sealKeysText(options.sealKeys, 'Keygate.load'),
    maxAgeSeconds: maxAge(options.maxAgeSeconds, 'Keygate.load'),
    nonceStore: checkNonceStore(options.nonceStore, 'Keygate.load: options.nonceStore'),
    shards: checkShardOptions(options.shards, 'Keygate.load'),
    bodyTimeoutSeconds: checkBodyTimeout(options.bodyTimeoutSeconds, 'Keygate.load'),
  };
}

/** An `audience` option: a non-empty string (its syntax is checked by the core), or none. */
export function audienceText(audience, where) {
  if (audience === undefined || audience === null) return undefined;
  if (typeof audience !== 'string' || audience === '') {
    throw invalidOptions(`${where}: audience must be a non-empty string, got ${describe(audience)}`);
  }
  return audience;
}

/** A `maxAgeSeconds` option: a whole number of seconds >= 0, or none. */
function maxAge(value, where) {
  if (value === undefined || value === null) return undefined;
  if (!(Number.isInteger(value) && value >= 0)) {
    throw invalidOptions(`${where}: maxAgeSeconds must be a whole number of seconds >= 0, got ${describe(value)}`);
  }
  return value;
}

export function checkUpdateOptions(options) {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') {
    throw invalidOptions(`update: options must be an object, got ${describe(options)}`);
  }
  for (const k of Object.keys(options)) {
    if (!UPDATE_OPTIONS.has(k)) throw invalidOptions(`update: unknown option ${JSON.stringify(k)} (expected maxAgeSeconds)`);
  }
  return { maxAgeSeconds: maxAge(options.maxAgeSeconds, 'update') };
}
