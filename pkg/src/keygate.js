// Keygate: a verifier holding one key set, backed by the wasm module.

import { WasmVerifier, envelopePayload } from '#wasm';
import { KeygateError, callWasm, describe, invalidOptions } from './errors.js';
import { keySetBytes, toDecision, wireRequest } from './request.js';

const LOAD_OPTIONS = new Set(['publisherKeys', 'onWarning']);
const CONSTRUCT = Symbol('Keygate.load');

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

function checkLoadOptions(options) {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') {
    throw invalidOptions(`Keygate.load: options must be an object, got ${describe(options)}`);
  }
  for (const k of Object.keys(options)) {
    if (!LOAD_OPTIONS.has(k)) {
      throw invalidOptions(`Keygate.load: unknown option ${JSON.stringify(k)} (expected publisherKeys, onWarning)`);
    }
  }
  if (options.onWarning !== undefined && typeof options.onWarning !== 'function') {
    throw invalidOptions('Keygate.load: options.onWarning must be a function');
  }
  return {
    onWarning: options.onWarning,
    publisherKeys: publisherKeysText(options.publisherKeys, 'Keygate.load'),
  };
}

/** Reports the set's lint warnings (judged now) to onWarning. */
function warn(verifier, onWarning) {
  if (!onWarning) return;
  for (const w of JSON.parse(verifier.lint(Date.now()))) {
    onWarning(Object.freeze({ code: w.code, path: w.path, message: w.message }));
  }
}

function base64url(bytes) {
  let bin = '';
  for (const b of new Uint8Array(bytes)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** base64url SHA-256 of the key set bytes (or of an envelope's decoded payload), by WebCrypto. */
async function payloadDigest(bytes) {
  return base64url(await crypto.subtle.digest('SHA-256', envelopePayload(bytes)));
}

/** What `gate.info` shows about the set in use (no secrets). */
function info(verifier, payloadSha256) {
  const v = JSON.parse(verifier.info());
  return Object.freeze({
    revision: v.revision,
    issuedAt: v.issued_at ?? null,
    expiresAt: v.expires_at ?? null,
    keys: v.keys,
    payloadSha256,
  });
}

export class Keygate {
  #verifier;
  #info;
  #onWarning;

  /** Use `Keygate.load()`. */
  constructor(token, verifier, setInfo, onWarning) {
    if (token !== CONSTRUCT) throw new TypeError('use `await Keygate.load(keySet)` to create a Keygate');
    this.#verifier = verifier;
    this.#info = setInfo;
    this.#onWarning = onWarning;
  }

  /**
   * Validates a key set (JSON text, parsed object, UTF-8 bytes, or a signed JWS envelope when
   * `publisherKeys` are given) and returns a verifier for it. With `publisherKeys`, only
   * envelopes signed by one of them load, now and on every `update`. Throws KeygateError
   * (`ERR_KEYSET_INVALID` with every error and its JSON path, `ERR_ENVELOPE_INVALID`,
   * `ERR_ENVELOPE_SIGNATURE`, `ERR_INVALID_OPTIONS`). Lint warnings go to `onWarning`.
   */
  static async load(keySet, options) {
    const opts = checkLoadOptions(options);
    const bytes = keySetBytes(keySet, 'Keygate.load');
    const verifier = callWasm(() => new WasmVerifier(bytes, opts.publisherKeys));
    warn(verifier, opts.onWarning);
    return new Keygate(CONSTRUCT, verifier, info(verifier, await payloadDigest(bytes)), opts.onWarning);
  }

  /**
   * Decides one request. Resolves to a Decision (a refusal is not an error); rejects with
   * `ERR_REQUEST_INVALID` or `ERR_INVALID_OPTIONS` when the input cannot be processed.
   */
  async verify(request, options = {}) {
    const wire = wireRequest(request, options);
    const out = callWasm(() => this.#verifier.decide(wire));
    return toDecision(JSON.parse(out));
  }

  /**
   * Atomically replaces the key set with a newer revision. On any error (invalid set,
   * rollback) it throws a KeygateError and the current set stays in use.
   * Resolves to `{ changed, revision }`: `changed` is false for an identical re-push.
   */
  async update(next) {
    const bytes = keySetBytes(next, 'update');
    // Digest first, so the swap and the new info happen together, with no await between.
    const digest = await payloadDigest(bytes);
    const result = callWasm(() => this.#verifier.update(bytes));
    if (result === 'replaced') {
      this.#info = info(this.#verifier, digest);
      warn(this.#verifier, this.#onWarning);
    }
    return Object.freeze({ changed: result === 'replaced', revision: this.#info.revision });
  }

  /** Revision, issue time, key count and payload digest of the set in use (no secrets). */
  get info() {
    return this.#info;
  }

  /** The revision of the key set in use. */
  get revision() {
    return this.#info.revision;
  }
}

export { KeygateError };
