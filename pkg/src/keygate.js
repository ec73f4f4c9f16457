// Keygate: a verifier holding one key set, backed by the wasm module.

import { WasmVerifier } from '#wasm';
import { KeygateError, callWasm, describe, invalidOptions } from './errors.js';
import { keySetText, toDecision, wireRequest } from './request.js';

const LOAD_OPTIONS = new Set(['onWarning']);
const CONSTRUCT = Symbol('Keygate.load');

function checkLoadOptions(options) {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') {
    throw invalidOptions(`Keygate.load: options must be an object, got ${describe(options)}`);
  }
  for (const k of Object.keys(options)) {
    if (!LOAD_OPTIONS.has(k)) {
      throw invalidOptions(`Keygate.load: unknown option ${JSON.stringify(k)} (expected onWarning)`);
    }
  }
  if (options.onWarning !== undefined && typeof options.onWarning !== 'function') {
    throw invalidOptions('Keygate.load: options.onWarning must be a function');
  }
  return { onWarning: options.onWarning };
}

function info(verifier) {
  const v = JSON.parse(verifier.info());
  return Object.freeze({
    revision: v.revision,
    issuedAt: v.issued_at ?? null,
    keys: v.keys,
    payloadSha256: v.payload_sha256,
  });
}

export class Keygate {
  #verifier;
  #info;

  /** Use `Keygate.load()`. */
  constructor(token, verifier) {
    if (token !== CONSTRUCT) throw new TypeError('use `await Keygate.load(keySet)` to create a Keygate');
    this.#verifier = verifier;
    this.#info = info(verifier);
  }

  /**
   * Validates a key set (JSON text, parsed object or UTF-8 bytes) and returns a verifier for
   * it. Throws KeygateError `ERR_KEYSET_INVALID` with every error and its JSON path.
   */
  static async load(keySet, options) {
    checkLoadOptions(options);
    const text = keySetText(keySet, 'Keygate.load');
    const verifier = callWasm(() => new WasmVerifier(text));
    // Lints (warnings that do not stop a load) come with the key set lifecycle work; the
    // option is accepted and checked now so callers can wire it up.
    return new Keygate(CONSTRUCT, verifier);
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
    const text = keySetText(next, 'update');
    const result = callWasm(() => this.#verifier.update(text));
    this.#info = info(this.#verifier);
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
