// API keys: generation (the secret is returned once), digests, and key set checks.

import { wasm } from './wasm/facade.js';
import { callWasm, describe, invalidOptions } from './errors.js';
import { keySetText } from './request.js';
import { sealKeysText } from './keygate.js';

const { checkKeySet: wasmCheckKeySet, generateApiKey: wasmGenerate, hashApiKey: wasmHash } = wasm;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const GENERATE_OPTIONS = new Set(['prefix', 'id']);

/** `n` uniformly random base62 characters (rejection sampling over WebCrypto bytes). */
function randomBase62(n) {
  let out = '';
  while (out.length < n) {
    for (const b of crypto.getRandomValues(new Uint8Array(2 * n))) {
      if (b < 248 && out.length < n) out += BASE62[b % 62];
    }
  }
  return out;
}

/**
 * A new API key and its key set entry. The plain key is returned once: store only the entry.
 * The default id is `<prefix with _ as ->-<8 random base62 characters>`, as the CLI makes it.
 */
export function generateApiKey(options = {}) {
  if (options === null || typeof options !== 'object') {
    throw invalidOptions(`generateApiKey: options must be an object, got ${describe(options)}`);
  }
  for (const k of Object.keys(options)) {
    if (!GENERATE_OPTIONS.has(k)) {
      throw invalidOptions(`generateApiKey: unknown option ${JSON.stringify(k)} (expected prefix, id)`);
    }
  }
  const prefix = options.prefix ?? 'kg';
  if (typeof prefix !== 'string') {
    throw invalidOptions(`generateApiKey: prefix must be a string, got ${describe(prefix)}`);
  }
  if (options.id !== undefined && (typeof options.id !== 'string' || !ID_PATTERN.test(options.id))) {
    throw invalidOptions('generateApiKey: id must match [A-Za-z0-9._:-]{1,128}');
  }
  const out = JSON.parse(callWasm(() => wasmGenerate(prefix)));
  const id = options.id ?? `${prefix.replaceAll('_', '-')}-${randomBase62(8)}`;
  return { key: out.api_key, entry: { id, api_key_hash: out.api_key_hash } };
}

/** The key set digest of an API key: `sha256:<base64url of SHA-256 over its UTF-8 bytes>`. */
export function hashApiKey(key) {
  if (typeof key !== 'string') {
    throw invalidOptions(`hashApiKey: expected the key as a string, got ${describe(key)}`);
  }
  return callWasm(() => wasmHash(key));
}

/**
 * Validates a key set without loading it: `{ valid, errors: [{ path, message }], warnings:
 * [{ code, path, message }] }`, every error with the JSON path of the offending value, and
 * lint warnings (judged at `now`, default the current time) for a valid set. With `sealKeys`
 * every sealed secret must open; without, sealed secrets are checked by form only (warning
 * `sealed_not_opened`).
 */
export function checkKeySet(keySet, options = {}) {
  if (options === null || typeof options !== 'object') {
    throw invalidOptions(`checkKeySet: options must be an object, got ${describe(options)}`);
  }
  const now = options.now instanceof Date ? options.now.getTime() : options.now ?? Date.now();
  if (typeof now !== 'number' || !Number.isFinite(now)) {
    throw invalidOptions('checkKeySet: options.now must be a Date or milliseconds since the epoch');
  }
  for (const k of Object.keys(options)) {
    if (k !== 'now' && k !== 'sealKeys') {
      throw invalidOptions(`checkKeySet: unknown option ${JSON.stringify(k)} (expected now, sealKeys)`);
    }
  }
  const sealKeys = sealKeysText(options.sealKeys, 'checkKeySet');
  let text;
  try {
    text = keySetText(keySet, 'checkKeySet');
  } catch (e) {
    if (e.code === 'ERR_KEYSET_INVALID') return { valid: false, errors: [...e.errors], warnings: [] };
    throw e;
  }
  return JSON.parse(callWasm(() => wasmCheckKeySet(text, now, sealKeys)));
}
