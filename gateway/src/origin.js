// How the gateway reaches the origin, and proves to it that a request came through the gateway.
//
//   ORIGIN_URL          the origin (absolute URL; its path is a prefix); unset: echo mode
//   ORIGIN_AUTH_HEADER  secret: one or more header lines `Name: value` the gateway sets on
//                       every forwarded request (a shared secret the origin checks, or a
//                       Cloudflare Access service token's CF-Access-Client-Id/-Secret pair)
//   ORIGIN_MTLS         mTLS certificate binding: when bound, requests to the origin present
//                       that client certificate (the origin requires it)
//
// A malformed ORIGIN_AUTH_HEADER is never half-used: nothing is forwarded (502
// origin_misconfigured) and the log says which line is wrong, never its value.

import { errorResponse, forwardToOrigin } from 'keygate/worker';

// RFC 9110 §5.6.2 token characters.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// A field value: visible ASCII, obs-text, spaces and tabs inside; no control characters.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]+$/;
// Set by the gateway itself or by the runtime: never from configuration.
const RESERVED = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'te', 'trailer']);

/**
 * The header lines of ORIGIN_AUTH_HEADER: `{ headers: [[name, value], ...] }`, or
 * `{ error }` naming the offending line (and the header name, never the value).
 */
export function parseOriginAuth(text) {
  const headers = [];
  const lines = String(text).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    if (line.trim() === '') continue;
    const where = `ORIGIN_AUTH_HEADER line ${i + 1}`;
    const colon = line.indexOf(':');
    if (colon < 0) return { error: `${where}: expected "Name: value"` };
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (!TOKEN.test(name)) return { error: `${where}: the header name is not an HTTP token` };
    const lower = name.toLowerCase();
    if (lower.startsWith('x-keygate-') || RESERVED.has(lower)) {
      return { error: `${where}: ${name} cannot be set by configuration` };
    }
    if (value === '' || !FIELD_VALUE.test(value)) {
      return { error: `${where}: the value of ${name} is empty or holds control characters` };
    }
    if (headers.some(([n]) => n.toLowerCase() === lower)) return { error: `${where}: ${name} is given twice` };
    headers.push([name, value]);
  }
  if (headers.length === 0) return { error: 'ORIGIN_AUTH_HEADER is set but holds no header line' };
  return { headers };
}

// Parsed once per isolate and value (a new secret means a new deployment anyway).
let parsed = { text: undefined, result: { headers: [] } };

function originAuth(text) {
  if (text === undefined || text === null || text === '') return { headers: [] };
  if (parsed.text !== text) {
    const result = parseOriginAuth(text);
    if (result.error) console.error(JSON.stringify({ event: 'keygate.origin_auth_invalid', message: result.error }));
    parsed = { text, result };
  }
  return parsed.result;
}

/** Forwards an allowed request to ORIGIN_URL with the configured proof of origin. */
export function toOrigin(request, env, decision) {
  const auth = originAuth(env.ORIGIN_AUTH_HEADER);
  if (auth.error) return errorResponse('origin_misconfigured', 'ORIGIN_AUTH_HEADER is invalid; see the gateway log');
  const mtls = env.ORIGIN_MTLS;
  return forwardToOrigin(request, decision, env.ORIGIN_URL, {
    headers: Object.fromEntries(auth.headers),
    ...(mtls ? { fetch: (input, init) => mtls.fetch(input, init) } : {}),
  });
}
