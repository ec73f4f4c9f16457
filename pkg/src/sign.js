// Signing: RFC 9421 request signatures (with RFC 9530 Content-Digest), signing keys, and
// signed key set envelopes. Key bytes are signed with inside wasm; a WebCrypto CryptoKey
// (extractable or not) never enters wasm: the signature base is built there and signed with
// crypto.subtle.

import { wasm } from './wasm/facade.js';
import { KeygateError, base64, base64url, callWasm, describe, invalidOptions } from './errors.js';
import { checkRequest, headerPairs, keySetText, millis } from './request.js';
import { bodyBytes } from './body.js';

const {
  generateSigningKey: wasmGenerateSigningKey,
  signEnvelope,
  signRequest: wasmSignRequest,
  signatureBase: wasmSignatureBase,
} = wasm;
const ALGORITHMS = new Set(['hmac-sha256', 'ed25519']);
const SIGN_OPTIONS = new Set(['keyId', 'key', 'alg', 'components', 'nonce', 'created', 'expires', 'label', 'tag']);

function isCryptoKey(key) {
  if (typeof CryptoKey !== 'undefined' && key instanceof CryptoKey) return true;
  // Another realm's CryptoKey (e.g. node:crypto's webcrypto in a test runner's context).
  return Object.prototype.toString.call(key) === '[object CryptoKey]';
}

/** Checks the signing options once; returns the facade's options and the key material. */
function checkSignOptions(options, where) {
  if (options === null || typeof options !== 'object') {
    throw invalidOptions(`${where}: options must be an object with keyId and key, got ${describe(options)}`);
  }
  for (const k of Object.keys(options)) {
    if (!SIGN_OPTIONS.has(k)) {
      throw invalidOptions(`${where}: unknown option ${JSON.stringify(k)} (expected ${[...SIGN_OPTIONS].join(', ')})`);
    }
  }
  const { keyId, key, alg, components, nonce, label, tag } = options;
  if (typeof keyId !== 'string' || keyId === '') {
    throw invalidOptions(`${where}: options.keyId must be a non-empty string (the key entry's id)`);
  }
  if (alg !== undefined && !ALGORITHMS.has(alg)) {
    throw invalidOptions(`${where}: options.alg must be "hmac-sha256" or "ed25519", got ${JSON.stringify(alg)}`);
  }
  if (components !== undefined && !(Array.isArray(components) && components.every((c) => typeof c === 'string'))) {
    throw invalidOptions(`${where}: options.components must be an array of component identifiers (strings)`);
  }
  if (nonce !== undefined && typeof nonce !== 'boolean' && typeof nonce !== 'string') {
    throw invalidOptions(`${where}: options.nonce must be true (a fresh random nonce) or a string`);
  }
  for (const [name, v] of [['label', label], ['tag', tag]]) {
    if (v !== undefined && typeof v !== 'string') throw invalidOptions(`${where}: options.${name} must be a string`);
  }
  const wire = { keyid: keyId, created_ms: millis(options.created, `${where}: options.created`, Date.now()) };
  if (options.expires !== undefined) wire.expires_ms = millis(options.expires, `${where}: options.expires`);
  if (components !== undefined) wire.components = [...components];
  if (nonce !== undefined) wire.nonce = nonce;
  if (label !== undefined) wire.label = label;
  if (tag !== undefined) wire.tag = tag;
  return { wire, material: keyMaterial(key, alg, where) };
}

/** The algorithm of a WebCrypto key, or an error saying why it cannot sign. */
function cryptoKeyAlgorithm(key, where) {
  const a = key.algorithm ?? {};
  if (!Array.isArray(key.usages) || !key.usages.includes('sign')) {
    throw new KeygateError('ERR_KEY_INVALID', `${where}: the CryptoKey does not allow "sign"`);
  }
  if (a.name === 'Ed25519' || a.name === 'NODE-ED25519') {
    if (key.type !== 'private') throw new KeygateError('ERR_KEY_INVALID', `${where}: an Ed25519 CryptoKey must be the private key`);
    return 'ed25519';
  }
  if (a.name === 'HMAC') {
    if (a.hash?.name !== 'SHA-256') {
      throw new KeygateError('ERR_KEY_INVALID', `${where}: an HMAC CryptoKey must use SHA-256, not ${a.hash?.name}`);
    }
    if (typeof a.length === 'number' && a.length < 256) {
      throw new KeygateError('ERR_KEY_INVALID', `${where}: an HMAC secret must be at least 32 bytes, this one has ${a.length / 8}`);
    }
    return 'hmac-sha256';
  }
  throw new KeygateError('ERR_KEY_INVALID', `${where}: a CryptoKey for ${JSON.stringify(a.name)} cannot sign (expected Ed25519 or HMAC)`);
}

/**
 * The key as the facade reads it: `{ text, alg? }` (key text: base64url, keygen JSON or a
 * JWK) or `{ cryptoKey, alg }`. The algorithm comes from the key's form, else `alg`.
 */
function keyMaterial(key, alg, where) {
  if (typeof key === 'string') return { text: key, alg };
  if (key instanceof Uint8Array || key instanceof ArrayBuffer) {
    // Raw bytes are an HMAC secret unless `alg` says they are an Ed25519 seed.
    return { text: base64url(key), alg: alg ?? 'hmac-sha256' };
  }
  if (key !== null && typeof key === 'object' && isCryptoKey(key)) {
    const own = cryptoKeyAlgorithm(key, where);
    if (alg !== undefined && alg !== own) {
      throw new KeygateError('ERR_KEY_INVALID', `${where}: expected an ${alg} key, found an ${own} CryptoKey`);
    }
    return { cryptoKey: key, alg: own };
  }
  if (key !== null && typeof key === 'object' && !Array.isArray(key)) return { text: JSON.stringify(key), alg };
  throw invalidOptions(
    `${where}: options.key must be a base64url key, a Uint8Array, a JWK, keygen output or a CryptoKey, got ${describe(key)}`,
  );
}

async function subtleSign(cryptoKey, alg, base) {
  const data = new TextEncoder().encode(base);
  try {
    const algorithm = alg === 'hmac-sha256' ? { name: 'HMAC' } : { name: cryptoKey.algorithm.name };
    return new Uint8Array(await crypto.subtle.sign(algorithm, cryptoKey, data));
  } catch (e) {
    throw new KeygateError('ERR_SIGN_FAILED', `crypto.subtle.sign failed: ${e?.message ?? e}`, { cause: e });
  }
}

async function sign(request, options, where) {
  checkRequest(request, where);
  const { wire, material } = checkSignOptions(options, where);
  const headers = headerPairs(request.headers, where);
  const body = await bodyBytes(request, where);
  const req = JSON.stringify({ method: request.method, url: request.url, headers });
  if (material.text !== undefined) {
    const opts = material.alg === undefined ? wire : { ...wire, alg: material.alg };
    const out = JSON.parse(callWasm(() => wasmSignRequest(req, body, material.text, JSON.stringify(opts))));
    return { headers: out.headers, signatureBase: out.signature_base, body };
  }
  const out = JSON.parse(callWasm(() => wasmSignatureBase(req, body, material.alg, JSON.stringify(wire))));
  const signature = await subtleSign(material.cryptoKey, material.alg, out.signature_base);
  return {
    headers: [...out.headers, ['Signature', `${out.label}=:${base64(signature)}:`]],
    signatureBase: out.signature_base,
    body,
  };
}

/**
 * The header fields that sign `request` (RFC 9421): `Content-Digest` (when there is a body
 * and none yet), `Signature-Input` and `Signature`, each one dictionary member to append,
 * and the signature base that was signed.
 */
export async function createSignature(request, options) {
  const { headers, signatureBase } = await sign(request, options, 'createSignature');
  return Object.freeze({
    headers: Object.freeze(headers.map(([n, v]) => Object.freeze([n, v]))),
    signatureBase,
  });
}

/**
 * A new Request: `request` with the fields of `createSignature` appended. The caller's
 * request (and its body) is left as it was.
 */
export async function signRequest(request, options) {
  const { headers: added, body } = await sign(request, options, 'signRequest');
  const headers = new Headers(request.headers);
  for (const [name, value] of added) headers.append(name, value);
  if (typeof Request !== 'undefined' && request instanceof Request) {
    return new Request(request, body === undefined ? { headers } : { headers, body });
  }
  return new Request(request.url, { method: request.method, headers, body });
}

/**
 * A new signing key: `{ key, signing }`. `key` is the secret (base64url HMAC secret or
 * Ed25519 seed): keep it with the client. `signing` is the key set entry's `signing` object.
 */
export function generateSigningKey(options) {
  if (options === null || typeof options !== 'object' || !ALGORITHMS.has(options.alg)) {
    throw invalidOptions('generateSigningKey: expected { alg: "hmac-sha256" | "ed25519" }');
  }
  for (const k of Object.keys(options)) {
    if (k !== 'alg') throw invalidOptions(`generateSigningKey: unknown option ${JSON.stringify(k)} (expected alg)`);
  }
  const out = JSON.parse(callWasm(() => wasmGenerateSigningKey(options.alg)));
  return { key: out.private_key ?? out.secret, signing: out.signing };
}

/**
 * Signs a key set into a JWS envelope (flattened JSON serialization, EdDSA) for pushing.
 * `privateKey` is `keygate keygen ed25519` output (text or object), an Ed25519 JWK with
 * `d`, or a base64url seed. The key set must be valid (else `ERR_KEYSET_INVALID`).
 */
export function signKeySet(keySet, privateKey, options = {}) {
  if (options === null || typeof options !== 'object') {
    throw invalidOptions(`signKeySet: options must be an object, got ${describe(options)}`);
  }
  for (const k of Object.keys(options)) {
    if (k !== 'kid') throw invalidOptions(`signKeySet: unknown option ${JSON.stringify(k)} (expected kid)`);
  }
  if (options.kid !== undefined && (typeof options.kid !== 'string' || options.kid === '')) {
    throw invalidOptions('signKeySet: options.kid must be a non-empty string');
  }
  let keyText;
  if (typeof privateKey === 'string') keyText = privateKey;
  else if (privateKey instanceof Uint8Array) keyText = base64url(privateKey);
  else if (privateKey !== null && typeof privateKey === 'object' && !Array.isArray(privateKey)) keyText = JSON.stringify(privateKey);
  else throw invalidOptions(`signKeySet: privateKey must be keygen output, a JWK with d or a base64url seed, got ${describe(privateKey)}`);
  const text = keySetText(keySet, 'signKeySet');
  return callWasm(() => signEnvelope(text, keyText, options.kid));
}
