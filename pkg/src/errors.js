// KeygateError: the one error type the package throws. A refusal is never an error (it is a
// Decision); an error means the input could not be processed at all. Every call into the
// wasm module goes through callWasm, which also recovers from a trap (see below).

import { wasm, wasmReady } from './wasm/facade.js';
import { ERROR_CODES, KEYSET_WIRE_STATUS } from './codes.js';

const { resetWasm } = wasm;

export { ERROR_CODES };

const KNOWN = new Set(ERROR_CODES);

export class KeygateError extends Error {
  /**
   * @param {string} code one of ERROR_CODES
   * @param {string} message lowercase, says what was expected and where
   * @param {{errors?: {path: string, message: string}[], currentRevision?: number, currentPayloadSha256?: string,
   *          error?: string, status?: number, cause?: unknown}} [extra]
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
    if (extra.currentPayloadSha256 !== undefined) this.currentPayloadSha256 = extra.currentPayloadSha256;
    if (extra.error !== undefined) this.error = extra.error;
    if (extra.status !== undefined) this.status = extra.status;
  }
}

/** An `ERR_INVALID_OPTIONS` error. */
export function invalidOptions(message) {
  return new KeygateError('ERR_INVALID_OPTIONS', message);
}

// A Rust panic in the wasm module aborts: the call throws a WebAssembly.RuntimeError and the
// instance may be left inconsistent (a lock held, a half-updated structure). keygate never
// uses such an instance again: the module is re-instantiated (wasm-bindgen's
// `--experimental-reset-state-function`), the generation counter moves, and every Keygate
// rebuilds its verifier from its last good key set before its next call. Objects of the old
// instance refuse to be used ("stale object"), which also fails closed.
let generation = 0;

/** Increases each time the wasm module is re-instantiated after a trap. */
export function wasmGeneration() {
  return generation;
}

function isTrap(e) {
  return typeof WebAssembly !== 'undefined' && e instanceof WebAssembly.RuntimeError;
}

function isStale(e) {
  return e instanceof Error && /stale object from previous Wasm instance/.test(e.message);
}

function recover(cause) {
  generation++;
  try {
    resetWasm();
  } catch (e) {
    return new KeygateError('ERR_INTERNAL', 'the wasm module trapped and could not be re-instantiated', { cause: e });
  }
  return new KeygateError(
    'ERR_INTERNAL',
    'the wasm module trapped; it was re-instantiated and this call failed closed',
    { cause },
  );
}

/**
 * Calls into the wasm facade, turning the JSON text it throws
 * (`{"code", "message", "errors"?, "current_revision"?, "error"?, "status"?}`) into a
 * KeygateError, and a trap into `ERR_INTERNAL` after re-instantiating the module.
 */
export function callWasm(fn) {
  if (!wasmReady()) {
    throw new KeygateError(
      'ERR_WASM_NOT_INITIALIZED',
      "the wasm module is not instantiated yet: with 'keygate/init', await initWasm(source) first " +
        "(from 'keygate' this means a bundler left out its loader, which package.json \"sideEffects\" lists)",
    );
  }
  try {
    return fn();
  } catch (thrown) {
    if (isTrap(thrown)) throw recover(thrown);
    if (isStale(thrown)) {
      throw new KeygateError('ERR_INTERNAL', 'a wasm object outlived its module instance (after a trap)', { cause: thrown });
    }
    throw fromWasm(thrown);
  }
}

function fromWasm(thrown) {
  if (typeof thrown !== 'string') return thrown;
  let v;
  try {
    v = JSON.parse(thrown);
  } catch {
    return new KeygateError('ERR_INTERNAL', `unexpected error from the wasm module: ${thrown.slice(0, 200)}`);
  }
  if (!v || !KNOWN.has(v.code)) {
    return new KeygateError('ERR_INTERNAL', `unexpected error from the wasm module: ${thrown.slice(0, 200)}`);
  }
  return new KeygateError(v.code, String(v.message), {
    errors: Array.isArray(v.errors) ? v.errors : [],
    currentRevision: typeof v.current_revision === 'number' ? v.current_revision : undefined,
    currentPayloadSha256: typeof v.current_payload_sha256 === 'string' ? v.current_payload_sha256 : undefined,
    error: Object.hasOwn(KEYSET_WIRE_STATUS, v.error) ? v.error : undefined,
    status: Object.hasOwn(KEYSET_WIRE_STATUS, v.error) ? KEYSET_WIRE_STATUS[v.error] : undefined,
  });
}

/** A short description of a value's type for error messages (never the value itself). */
export function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'Object'})`;
  return `a ${typeof value}`;
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * base64url (no padding) of bytes. Written out rather than rewritten from `btoa` with three
 * regular expressions, which V8 compiled on a Keygate's first load (a cold start cost).
 */
export function base64url(bytes) {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const n = view.length;
  let out = '';
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const w = (view[i] << 16) | (view[i + 1] << 8) | view[i + 2];
    out += BASE64URL[w >> 18] + BASE64URL[(w >> 12) & 63] + BASE64URL[(w >> 6) & 63] + BASE64URL[w & 63];
  }
  if (i < n) {
    const w = (view[i] << 16) | (i + 1 < n ? view[i + 1] << 8 : 0);
    out += BASE64URL[w >> 18] + BASE64URL[(w >> 12) & 63];
    if (i + 1 < n) out += BASE64URL[(w >> 6) & 63];
  }
  return out;
}

/** Standard base64 (with padding) of bytes, as Structured Field byte sequences carry it. */
export function base64(bytes) {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let bin = '';
  for (let i = 0; i < view.length; i += 0x8000) {
    bin += String.fromCharCode(...view.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

/**
 * Seconds since the epoch as the crate writes an instant (`UnixTime::to_rfc3339`,
 * `YYYY-MM-DDTHH:MM:SSZ`); the module sends them clamped to the years 0000..=9999. NaN (no
 * such time) is null. Computed as the crate computes it (days to a proleptic Gregorian
 * date, H. Hinnant's `civil_from_days`), not with a `Date`: a first `Date` costs workerd
 * more than the arithmetic (it showed in the profile of a cold start).
 */
export function rfc3339(secs) {
  if (Number.isNaN(secs)) return null;
  const days = Math.floor(secs / 86_400);
  const rem = secs - days * 86_400;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return `${String(year).padStart(4, '0')}-${two(month)}-${two(day)}T${two(Math.floor(rem / 3600))}:${two(Math.floor((rem % 3600) / 60))}:${two(rem % 60)}Z`;
}

const two = (n) => (n < 10 ? `0${n}` : `${n}`);
