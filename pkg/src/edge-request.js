// What the middleware shows the verifier of a request, from its options: the public URL
// (`requestUrl`), the API key where the core reads it (`getKey`, `keyHeader`/`keyPrefix`), and
// the client address (`clientIp`, else CF-Connecting-IP inside workerd only).
//
// The core reads an API key from `Authorization: Bearer` and `X-API-Key`, with its own rules
// (one of each at most, the same key in both, visible ASCII, at most 512 bytes). A custom key
// source must not weaken them, nor let those headers count beside it. So with one, the
// verifier is handed a view of the request whose headers are the request's own minus every
// `X-API-Key` and every `Authorization` of the Bearer scheme, plus `X-API-Key: <the presented
// key>` when the source yields one; the core then checks that key exactly as any other. The
// view shares the request's body (a signed body is still read from a clone) and the caller's
// Request is never changed.

import { BUILT_FOR_WORKERD } from '#runtime';
import { KeygateError, describe } from './errors.js';

/**
 * Whether this code runs inside workerd: the package was resolved with the `workerd` condition
 * (a build-time fact) and the runtime says it is Cloudflare Workers. Only then is
 * `CF-Connecting-IP` set by the platform rather than by whoever sent the request.
 */
export const INSIDE_WORKERD =
  BUILT_FOR_WORKERD === true && globalThis.navigator?.userAgent === 'Cloudflare-Workers';

/** A middleware option's callback failed or answered nonsense: the request is not decided. */
export class OptionFault extends Error {
  constructor(option, message, cause) {
    super(`options.${option} ${message}`, cause === undefined ? undefined : { cause });
    this.option = option;
  }
}

async function call(option, fn) {
  try {
    return await fn();
  } catch (e) {
    throw new OptionFault(option, `threw: ${e?.message ?? e}`, e);
  }
}

// What the middleware judged each request it let through with, for forwardToOrigin: the client
// address the decision used (null: none) and the URL it judged (the public one with
// `requestUrl`). Keyed by the decision and by the caller's Request, so it is gone with them:
// the decision is what a handler passes on, even when it forwards a Request re-created from
// the one judged (`new Request(request, init)`), which is another object.
const judged = new WeakMap();

const isObject = (v) => v !== null && typeof v === 'object';

/** Records how `request` was judged into `decision` (`url`: the URL the verifier saw). */
export function recordJudged(request, decision, clientIp, url) {
  const record = Object.freeze({ clientIp: clientIp ?? null, url });
  if (isObject(decision)) judged.set(decision, record);
  if (isObject(request)) judged.set(request, record);
}

/** `{ clientIp, url }` for a decision (else a request) the middleware let through, else undefined. */
export function judgedAs(request, decision) {
  return (isObject(decision) ? judged.get(decision) : undefined) ?? (isObject(request) ? judged.get(request) : undefined);
}

/** The client address for the verifier, or undefined when none is known. */
export async function clientAddress(opts, request, args) {
  if (opts.clientIp) {
    const v = await call('clientIp', () => opts.clientIp(...args));
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw new OptionFault('clientIp', `returned ${describe(v)}; expected a string, null or undefined`);
    return v;
  }
  return INSIDE_WORKERD ? (request.headers.get('cf-connecting-ip') ?? undefined) : undefined;
}

/** The request `gate.verify` judges: `request` itself unless an option changes what it sees. */
export async function verifiable(opts, request, args) {
  const url = opts.requestUrl === undefined ? request.url : await publicUrl(opts.requestUrl, request, args);
  const source = opts.keySource;
  if (source === null) return url === request.url ? request : view(request, url, request.headers);
  let key;
  if (source.get) {
    key = await call('getKey', () => source.get(...args));
    if (key === null) key = undefined;
    if (key !== undefined && typeof key !== 'string') {
      throw new OptionFault('getKey', `returned ${describe(key)}; expected a string, null or undefined`);
    }
  } else {
    refuseTwin(request.headers, source);
    key = keyInHeader(request.headers.get(source.header), source.prefix);
  }
  return view(request, url, keyHeaders(request.headers, key));
}

const CREDENTIAL_REASONS = new Set(['missing_credentials', 'malformed_credentials']);

/**
 * A refusal of the credentials as the client of a custom key source must read it. The
 * verifier was shown the key as `X-API-Key`, and neither that field nor `Authorization:
 * Bearer` is read here: a message naming them, or a Bearer challenge where `keyPrefix` names
 * the scheme, would send the client the wrong way. Other decisions are returned as they are.
 */
export function asKeySource(decision, source) {
  if (decision.allowed || source === null || !CREDENTIAL_REASONS.has(decision.reason)) return decision;
  let message;
  if (source.get) {
    message = decision.reason === 'missing_credentials' ? 'no credentials: no API key was presented and the request is not signed' : decision.message.replaceAll(' in X-API-Key', '');
  } else {
    const where = source.scheme === undefined ? source.name : `${source.name}: ${source.scheme}`;
    message = decision.reason === 'missing_credentials' ? `no credentials: send ${source.scheme === undefined ? `${where}:` : where} <key>, or a signed request` : decision.message.replaceAll('X-API-Key', where);
  }
  let headers = decision.headers;
  const challenge = headers?.['WWW-Authenticate'];
  if (source.scheme !== undefined && typeof challenge === 'string' && challenge.startsWith('Bearer ')) {
    headers = Object.freeze({ ...headers, 'WWW-Authenticate': `${source.scheme}${challenge.slice('Bearer'.length)}` });
  }
  return Object.freeze({ ...decision, message, headers });
}

/** A field name as a CGI-style origin reads it: lowercase, `_` and `-` alike. */
export const cgiName = (name) => name.toLowerCase().replaceAll('_', '-');

/**
 * Refuses (ERR_REQUEST_INVALID: 400 malformed_request) a request carrying the `keyHeader`
 * field spelled with `_` for some `-` (or `-` for `_`), as the core refuses the twins of the
 * fields it reads: CGI-style origins (CGI, FastCGI/PHP, WSGI, nginx with
 * `underscores_in_headers on`) read both as one HTTP_* variable, so the origin could act on a
 * key the decision never saw (tests/vectors/middleware/key_header_spellings.json).
 */
function refuseTwin(headers, source) {
  if (!/[-_]/.test(source.header)) return;
  const want = cgiName(source.header);
  headers.forEach((_, name) => {
    const lower = name.toLowerCase();
    if (lower !== source.header && cgiName(lower) === want) {
      throw new KeygateError(
        'ERR_REQUEST_INVALID',
        `header name ${JSON.stringify(name)} is ${source.name} spelled with '${lower.includes('_') ? '_' : '-'}': CGI-style origins read both as one field`,
      );
    }
  });
}

/**
 * The key in a `keyHeader` value: the whole value, or with `keyPrefix` the part after that
 * scheme word (ASCII case-insensitive) and its spaces. A value of another scheme holds no
 * key, as the core ignores `Authorization` schemes other than Bearer.
 */
function keyInHeader(value, prefix) {
  if (value === null) return undefined;
  if (prefix === undefined) return value;
  const at = value.search(/[ \t]/);
  const scheme = at < 0 ? value : value.slice(0, at);
  if (scheme.toLowerCase() !== prefix) return undefined;
  return at < 0 ? '' : value.slice(at).replace(/^[ \t]+|[ \t]+$/g, '');
}

const isBearer = (value) => value.split(/[ \t]/, 1)[0].toLowerCase() === 'bearer';

/** The request's headers without the core's own key headers, plus `X-API-Key: key` when given. */
function keyHeaders(headers, key) {
  const pairs = [];
  headers.forEach((value, name) => {
    if (name === 'x-api-key' || (name === 'authorization' && isBearer(value))) return;
    pairs.push([name, value]);
  });
  if (key !== undefined) pairs.push(['x-api-key', key]);
  // Raw pairs rather than a Headers object: the presented key reaches the core unaltered
  // (Headers would refuse or trim some values), so the core's own rules judge it.
  return Object.freeze({
    forEach(fn) {
      for (const [name, value] of pairs) fn(value, name);
    },
    get(name) {
      const n = String(name).toLowerCase();
      const values = pairs.filter(([k]) => k === n).map(([, v]) => v);
      return values.length === 0 ? null : values.join(', ');
    },
  });
}

/** A view of `request` with another URL and headers, sharing its body. */
function view(request, url, headers) {
  return Object.freeze({
    method: request.method,
    url,
    headers,
    get body() {
      return request.body;
    },
    get bodyUsed() {
      return request.bodyUsed;
    },
    clone: () => request.clone(),
  });
}

/** The request's path and query, spelled as in its URL. */
function target(url) {
  const { origin, pathname, search } = new URL(url);
  return url.startsWith(origin) ? url.slice(origin.length) : pathname + search;
}

async function publicUrl(requestUrl, request, args) {
  if (typeof requestUrl === 'string') return requestUrl + target(request.url);
  const v = await call('requestUrl', () => requestUrl(...args));
  const text = v instanceof URL ? v.href : v;
  let u = null;
  try {
    u = typeof text === 'string' ? new URL(text) : null;
  } catch {
    // reported below
  }
  if (u === null || (u.protocol !== 'https:' && u.protocol !== 'http:')) {
    throw new OptionFault('requestUrl', `returned ${typeof text === 'string' ? 'a string that is not an absolute http(s) URL' : describe(v)}; expected an absolute http(s) URL`);
  }
  return text;
}
