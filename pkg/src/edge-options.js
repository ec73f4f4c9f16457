// The middleware options of how a request is judged, answered and logged (the key set
// options are checked in edge.js): checked once, when the middleware is created, so a mistake
// fails at deploy time with ERR_INVALID_OPTIONS naming the option, never per request.

import { describe, invalidOptions } from './errors.js';
import { MAX_WEBHOOK_BODY_BYTES } from './body.js';
import { BODY_TIMEOUT_SECONDS, BODY_TIMEOUT_SECONDS_LIMIT, isTimeoutSeconds, timeoutSecondsOf } from './deadline.js';

export { MAX_WEBHOOK_BODY_BYTES };

/** The default bound of a signed body the middleware hashes (8 MiB). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** The options this module checks, beside the key set options of checkEdgeOptions (edge.js). */
export const REQUEST_OPTIONS = Object.freeze([
  'logSample', 'onRefused', 'getKey', 'keyHeader', 'keyPrefix', 'requestUrl', 'clientIp', 'maxBodyBytes',
  'maxWebhookBodyBytes', 'bodyTimeoutSeconds',
]);

// An HTTP field name (RFC 9110 token) and an authentication scheme (a token too).
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const constant = (v) => () => v;

/**
 * Checks the options of how requests are judged, answered and logged; returns their private
 * form. `onRefusedWords` lists the values `onRefused` may take besides a function (Hono: 'throw').
 */
export function requestOptions(where, options, { onRefusedWords = [], logLine }) {
  const fn = (name) => {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw invalidOptions(`${where}: options.${name} must be a function, got ${describe(options[name])}`);
    }
    return options[name];
  };
  return {
    ...logOptions(where, options, logLine),
    onRefused: onRefusedOption(where, options.onRefused, onRefusedWords),
    keySource: keySourceOption(where, options, fn('getKey')),
    requestUrl: requestUrlOption(where, options.requestUrl),
    clientIp: fn('clientIp'),
    maxBodyBytes: maxBodyBytesOption(where, options.maxBodyBytes),
    maxWebhookBodyBytes: maxBodyBytesOption(where, options.maxWebhookBodyBytes, 'maxWebhookBodyBytes', MAX_WEBHOOK_BODY_BYTES),
    bodyTimeoutSeconds: secondsOption(where, 'bodyTimeoutSeconds', options.bodyTimeoutSeconds, BODY_TIMEOUT_SECONDS, BODY_TIMEOUT_SECONDS_LIMIT),
  };
}

/**
 * `log` and `logSample` as `{ log, logAllowed }`: the sink of every record (null: silent) and
 * the share of allowed decisions it receives (refusals and key set events always reach it).
 */
function logOptions(where, { log, logSample }, logLine) {
  const modes = "true, false, 'all', 'refusals' or a function";
  if (log !== undefined && typeof log !== 'boolean' && typeof log !== 'function' && log !== 'all' && log !== 'refusals') {
    throw invalidOptions(`${where}: options.log must be ${modes}, got ${typeof log === 'string' ? JSON.stringify(log) : describe(log)}`);
  }
  if (logSample !== undefined) {
    if (!(typeof logSample === 'number' && logSample >= 0 && logSample <= 1)) {
      throw invalidOptions(`${where}: options.logSample must be a number from 0 to 1 (the share of allowed decisions logged)`);
    }
    if (log === false || log === 'refusals') {
      throw invalidOptions(`${where}: options.logSample has no effect with log: ${JSON.stringify(log)} (no allowed decision is logged)`);
    }
  }
  if (log === false) return { log: null, logAllowed: 0 };
  return {
    log: typeof log === 'function' ? log : logLine,
    logAllowed: log === 'refusals' ? 0 : (logSample ?? 1),
  };
}

function onRefusedOption(where, onRefused, words) {
  if (onRefused === undefined || typeof onRefused === 'function' || words.includes(onRefused)) return onRefused;
  const allowed = ['a function (decision, context) returning a Response', ...words.map((w) => JSON.stringify(w))];
  throw invalidOptions(`${where}: options.onRefused must be ${allowed.join(' or ')}, got ${describe(onRefused)}`);
}

/**
 * Where the API key comes from: null for the default (the core reads `Authorization: Bearer`
 * and `X-API-Key`), else `{ header, name, prefix, scheme }` (`name` and `scheme` as given, for
 * messages) or `{ get }` (edge-request.js applies it).
 */
function keySourceOption(where, { keyHeader, keyPrefix }, getKey) {
  if (keyHeader === undefined) {
    if (keyPrefix !== undefined) throw invalidOptions(`${where}: options.keyPrefix needs options.keyHeader`);
    return getKey ? Object.freeze({ get: getKey }) : null;
  }
  if (getKey) throw invalidOptions(`${where}: give options.getKey or options.keyHeader, not both`);
  if (typeof keyHeader !== 'string' || !TOKEN.test(keyHeader)) {
    throw invalidOptions(`${where}: options.keyHeader must be a header name, got ${typeof keyHeader === 'string' ? JSON.stringify(keyHeader) : describe(keyHeader)}`);
  }
  if (keyPrefix !== undefined && (typeof keyPrefix !== 'string' || !TOKEN.test(keyPrefix))) {
    throw invalidOptions(`${where}: options.keyPrefix must be an authentication scheme such as "Token" (one word, no space), got ${typeof keyPrefix === 'string' ? JSON.stringify(keyPrefix) : describe(keyPrefix)}`);
  }
  return Object.freeze({ header: keyHeader.toLowerCase(), name: keyHeader, prefix: keyPrefix?.toLowerCase(), scheme: keyPrefix });
}

/** `requestUrl`: undefined, a function, or a public origin (`https://api.example.com`) checked now. */
function requestUrlOption(where, requestUrl) {
  if (requestUrl === undefined || typeof requestUrl === 'function') return requestUrl;
  const expected = `${where}: options.requestUrl must be a function or the public origin, such as "https://api.example.com"`;
  if (typeof requestUrl !== 'string' && !(requestUrl instanceof URL)) throw invalidOptions(`${expected}, got ${describe(requestUrl)}`);
  let u;
  try {
    u = new URL(String(requestUrl));
  } catch {
    throw invalidOptions(`${expected}, got ${JSON.stringify(String(requestUrl))}`);
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password || u.pathname !== '/' || u.search || u.hash) {
    throw invalidOptions(`${expected} (scheme, host and port only), got ${JSON.stringify(String(requestUrl))}`);
  }
  return u.origin;
}

/** A bound in bytes: a non-negative safe integer. */
export function isByteBound(n) {
  return Number.isSafeInteger(n) && n >= 0;
}

/**
 * `maxBodyBytes` as a function of env. A fixed number is checked now; a function's value (a
 * number or a decimal string, e.g. an environment variable) when it is called, and anything
 * but a non-negative integer there means the default.
 */
function maxBodyBytesOption(where, maxBodyBytes, name = 'maxBodyBytes', fallback = MAX_BODY_BYTES) {
  if (maxBodyBytes === undefined) return constant(fallback);
  if (typeof maxBodyBytes === 'function') {
    return (env) => {
      const v = maxBodyBytes(env);
      const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v.trim()) : v;
      return isByteBound(n) ? n : fallback;
    };
  }
  if (!isByteBound(maxBodyBytes)) {
    throw invalidOptions(`${where}: options.${name} must be an integer number of bytes >= 0 or a function of env, got ${describe(maxBodyBytes)}`);
  }
  return constant(maxBodyBytes);
}

/**
 * A bound in seconds (`name`: `bodyTimeoutSeconds`, `storageTimeoutSeconds`) as a function of
 * env. A fixed number is checked now; a function's value (a number or decimal text, e.g. an
 * environment variable) when it is called, and anything but a number from 0 (excluded) to
 * `limit` means `fallback`.
 */
export function secondsOption(where, name, v, fallback, limit) {
  if (v === undefined) return constant(fallback);
  if (typeof v === 'function') return (env) => timeoutSecondsOf(v(env), fallback, limit);
  if (!isTimeoutSeconds(v, limit)) {
    throw invalidOptions(`${where}: options.${name} must be a number of seconds > 0 and at most ${limit}, or a function of env, got ${describe(v)}`);
  }
  return constant(v);
}
