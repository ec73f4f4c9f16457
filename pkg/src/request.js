// Conversions between the JS API and the wasm facade's JSON wire format.

import { KeygateError, describe, invalidOptions } from './errors.js';
import { MAX_WEBHOOK_BODY_BYTES } from './body.js';
import { BODY_TIMEOUT_SECONDS_LIMIT, isTimeoutSeconds } from './deadline.js';

const VERIFY_OPTIONS = new Set(['clientIp', 'now', 'nonceStore', 'maxBodyBytes', 'maxWebhookBodyBytes', 'bodyTimeoutSeconds']);

/**
 * A `bodyTimeoutSeconds` option (Keygate.load's, verify's): a number of seconds > 0 and at
 * most 300, or none (undefined).
 */
export function checkBodyTimeout(v, where) {
  if (v === undefined || isTimeoutSeconds(v, BODY_TIMEOUT_SECONDS_LIMIT)) return v;
  throw invalidOptions(`${where}: options.bodyTimeoutSeconds must be a number of seconds > 0 and at most ${BODY_TIMEOUT_SECONDS_LIMIT}, got ${describe(v)}`);
}

/** `verify`'s options when none are given. */
export const NO_OPTIONS = Object.freeze({});

/**
 * Key set input as JSON text: a string, a parsed object, or UTF-8 bytes.
 * @returns {string}
 */
export function keySetText(input, where) {
  if (typeof input === 'string') return input;
  if (input instanceof Uint8Array || input instanceof ArrayBuffer) {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      throw new KeygateError('ERR_KEYSET_INVALID', '$: key set bytes are not valid UTF-8', {
        errors: [{ path: '$', message: 'key set bytes are not valid UTF-8' }],
      });
    }
  }
  if (input !== null && typeof input === 'object' && !Array.isArray(input)) {
    let text;
    try {
      text = JSON.stringify(input);
    } catch (e) {
      const message = `the key set object cannot be written as JSON (${e?.message ?? e})`;
      throw new KeygateError('ERR_KEYSET_INVALID', `$: ${message}`, {
        errors: [{ path: '$', message }],
      });
    }
    return text;
  }
  throw invalidOptions(
    `${where}: expected the key set as JSON text, an object or UTF-8 bytes, got ${describe(input)}`,
  );
}

/**
 * Key set input as the bytes the facade reads: JSON text or a JWS envelope (string, object,
 * or UTF-8 bytes). The bytes are validated by the verifier, not here.
 * @returns {Uint8Array}
 */
export function keySetBytes(input, where) {
  // A copy: the verifier keeps the bytes of its last good set (to rebuild after a trap), and
  // the caller may reuse its buffer.
  if (input instanceof Uint8Array) return input.slice();
  if (input instanceof ArrayBuffer) return new Uint8Array(input.slice(0));
  return new TextEncoder().encode(keySetText(input, where));
}

/** A time option (`Date` or milliseconds since the epoch) as milliseconds; `fallback` when absent. */
export function millis(value, where, fallback) {
  if (value === undefined) return fallback;
  if (value instanceof Date) {
    const t = value.getTime();
    if (Number.isFinite(t)) return t;
    throw invalidOptions(`${where} is an invalid Date`);
  }
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw invalidOptions(`${where} must be a Date or milliseconds since the epoch, got ${describe(value)}`);
}

/** A nonce store option: an object with a `claim` method (checked once). */
export function checkNonceStore(store, where) {
  if (store === undefined || store === null) return undefined;
  if (typeof store !== 'object' || typeof store.claim !== 'function') {
    throw invalidOptions(`${where} must be an object with a claim({ keyId, nonce, expiresAt }) method`);
  }
  if (store.release !== undefined && typeof store.release !== 'function') {
    throw invalidOptions(`${where}.release must be a function (claim) => Promise, when given`);
  }
  return store;
}

export function headerPairs(headers, where) {
  const pairs = [];
  if (headers && typeof headers.forEach === 'function' && typeof headers.get === 'function') {
    headers.forEach((value, name) => pairs.push([name, value]));
    return pairs;
  }
  try {
    new Headers(headers ?? undefined).forEach((value, name) => pairs.push([name, value]));
  } catch (e) {
    throw new KeygateError('ERR_REQUEST_INVALID', `${where}: request.headers: ${e?.message ?? e}`);
  }
  return pairs;
}

/** Checks that `request` is a Request or an object with `method`, `url` and `headers`. */
export function checkRequest(request, where) {
  if (request === null || typeof request !== 'object') {
    throw new KeygateError('ERR_REQUEST_INVALID', `${where}: expected a Request, got ${describe(request)}`);
  }
  const { method, url } = request;
  if (typeof method !== 'string' || method === '') {
    throw new KeygateError('ERR_REQUEST_INVALID', `${where}: request.method must be a non-empty string`);
  }
  if (typeof url !== 'string') {
    throw new KeygateError('ERR_REQUEST_INVALID', `${where}: request.url must be an absolute URL string`);
  }
}

/**
 * The headers to read: a `Headers`, or a headers-like object (`forEach` and `get`, taken as it
 * is, so that the core's own rules judge what it holds), else a `Headers` made of a record or
 * pairs (the Fetch standard's checks apply).
 */
function fetchHeaders(headers, where) {
  if (headers && typeof headers.forEach === 'function' && typeof headers.get === 'function') return headers;
  try {
    return new Headers(headers ?? undefined);
  } catch (e) {
    throw new KeygateError('ERR_REQUEST_INVALID', `${where}: request.headers: ${e?.message ?? e}`);
  }
}

/**
 * Reads `verify`'s request and options: `{ method, url, ip, headers, now, nonceStore,
 * maxBodyBytes, maxWebhookBodyBytes, bodyTimeoutSeconds }` with a genuine `Headers`, the
 * client address (`''` when unknown), the time in milliseconds, the nonce store given for this
 * call (if any), the bound of a signed body to hash (Infinity when not given), of a webhook
 * delivery's body (1 MiB) and the deadline of a body's read given for this call (if any).
 */
export function verifyInput(request, options) {
  // A genuine Request: its method is a token, its URL serialized (no NUL), its headers a
  // genuine Headers. Each of its getters is read once.
  const genuine = typeof Request === 'function' && request instanceof Request;
  if (genuine && options === NO_OPTIONS) {
    return {
      method: request.method,
      url: request.url,
      ip: '',
      headers: request.headers,
      now: Date.now(),
      nonceStore: undefined,
      maxBodyBytes: Infinity,
      maxWebhookBodyBytes: MAX_WEBHOOK_BODY_BYTES,
      bodyTimeoutSeconds: undefined,
    };
  }
  return checkedInput(request, options, genuine);
}

/**
 * `verifyInput` for anything but a genuine Request without options: the request's fields and
 * the options checked (a function of its own, so that the common case compiles only the
 * lines above).
 */
function checkedInput(request, options, genuine) {
  if (!genuine) checkRequest(request, 'verify');
  if (options === null || typeof options !== 'object') {
    throw invalidOptions(`verify: options must be an object, got ${describe(options)}`);
  }
  for (const k of Object.keys(options)) {
    if (!VERIFY_OPTIONS.has(k)) {
      throw invalidOptions(`verify: unknown option ${JSON.stringify(k)} (expected clientIp, now, nonceStore, maxBodyBytes, maxWebhookBodyBytes, bodyTimeoutSeconds)`);
    }
  }
  const { clientIp } = options;
  if (clientIp !== undefined && clientIp !== null && typeof clientIp !== 'string') {
    throw invalidOptions(`verify: options.clientIp must be a string, got ${describe(clientIp)}`);
  }
  const { maxBodyBytes = Infinity, maxWebhookBodyBytes = MAX_WEBHOOK_BODY_BYTES } = options;
  for (const [name, v] of [['maxBodyBytes', maxBodyBytes], ['maxWebhookBodyBytes', maxWebhookBodyBytes]]) {
    if (v !== Infinity && !(Number.isSafeInteger(v) && v >= 0)) {
      throw invalidOptions(`verify: options.${name} must be an integer number of bytes >= 0, got ${describe(v)}`);
    }
  }
  const bodyTimeoutSeconds = checkBodyTimeout(options.bodyTimeoutSeconds, 'verify');
  const { method, url } = request;
  const ip = clientIp ?? '';
  // The module reads NUL as a separator.
  if (ip.includes('\0') || (!genuine && (method.includes('\0') || url.includes('\0')))) {
    throw new KeygateError('ERR_REQUEST_INVALID', 'verify: the request method, URL or client address contains NUL');
  }
  return {
    method,
    url,
    ip,
    headers: genuine ? request.headers : fetchHeaders(request.headers, 'verify'),
    now: millis(options.now, 'verify: options.now', Date.now()),
    nonceStore: checkNonceStore(options.nonceStore, 'verify: options.nonceStore'),
    maxBodyBytes,
    maxWebhookBodyBytes,
    bodyTimeoutSeconds,
  };
}
