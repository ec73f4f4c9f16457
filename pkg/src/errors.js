// KeygateError: the one error type the package throws. A refusal is never an error (it is a
// Decision); an error means the input could not be processed at all.

/** The closed set of error codes (see index.d.ts `KeygateErrorCode`). */
export const ERROR_CODES = Object.freeze([
  'ERR_KEYSET_INVALID',
  'ERR_ENVELOPE_INVALID',
  'ERR_ENVELOPE_SIGNATURE',
  'ERR_KEYSET_ROLLBACK',
  'ERR_INVALID_OPTIONS',
  'ERR_REQUEST_INVALID',
]);

const KNOWN = new Set(ERROR_CODES);

export class KeygateError extends Error {
  /**
   * @param {string} code one of ERROR_CODES
   * @param {string} message lowercase, says what was expected and where
   * @param {{errors?: {path: string, message: string}[], currentRevision?: number, cause?: unknown}} [extra]
   */
  constructor(code, message, extra = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    if (!KNOWN.has(code)) throw new TypeError(`unknown KeygateError code ${code}`);
    this.name = 'KeygateError';
    this.code = code;
    this.errors = Object.freeze(
      (extra.errors ?? []).map((e) => Object.freeze({ path: String(e.path), message: String(e.message) })),
    );
    if (extra.currentRevision !== undefined) this.currentRevision = extra.currentRevision;
  }
}

/** An `ERR_INVALID_OPTIONS` error. */
export function invalidOptions(message) {
  return new KeygateError('ERR_INVALID_OPTIONS', message);
}

/**
 * Calls into the wasm facade, turning the JSON text it throws
 * (`{"code", "message", "errors"?, "current_revision"?}`) into a KeygateError.
 * Anything else (a trap from a Rust panic, which must never happen) is rethrown unchanged.
 */
export function callWasm(fn) {
  try {
    return fn();
  } catch (thrown) {
    throw fromWasm(thrown);
  }
}

function fromWasm(thrown) {
  if (typeof thrown !== 'string') return thrown;
  let v;
  try {
    v = JSON.parse(thrown);
  } catch {
    return new Error(`keygate: unexpected error from the wasm module: ${thrown.slice(0, 200)}`);
  }
  if (!v || !KNOWN.has(v.code)) {
    return new Error(`keygate: unexpected error from the wasm module: ${thrown.slice(0, 200)}`);
  }
  return new KeygateError(v.code, String(v.message), {
    errors: Array.isArray(v.errors) ? v.errors : [],
    currentRevision: typeof v.current_revision === 'number' ? v.current_revision : undefined,
  });
}

/** A short description of a value's type for error messages (never the value itself). */
export function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'Object'})`;
  return `a ${typeof value}`;
}
