// Forwarding an allowed request to the origin behind the edge (keygate/worker).
//
// The origin learns who called from two headers the edge sets: X-Keygate-Key-Id and
// X-Keygate-Scopes. Every header whose name starts with `x-keygate-` that the client sent is
// removed first, so a client can never forge them; the origin must accept traffic only from
// the edge (docs/deployment.md, "Locking the origin"). Names are compared with `_` read as
// `-`, because CGI-style origins (CGI, FastCGI/PHP, WSGI, nginx with underscores_in_headers)
// map both to the same HTTP_* variable: `X_Keygate_Key_Id` would reach them as the identity.
//
// The edge is a proxy, so the fields of the client's own connection stop here (RFC 9110
// §7.6.1): Connection, every field it names, and the other hop-by-hop fields. And the origin
// is sent the path that was judged, so the fields through which some origins route to another
// path (X-Original-URL, X-Rewrite-URL) are removed too, and the public host is the edge's to
// say (X-Forwarded-Host; the client's Forwarded is dropped) (tests/vectors/forwarding.json).

import { KeygateError, invalidOptions } from './errors.js';
import { errorResponse } from './wire.js';

/**
 * The origin URL for a request: the origin's path prefix, then the path as the decision judged
 * it (canonical: dot segments resolved, escapes decoded, slashes merged) and the request's
 * query. Forwarding the judged spelling means the origin acts on the path that was decided on,
 * never on a spelling it might read differently. (A decision without `path`, from before it
 * existed, falls back to the request's own path.)
 */
function targetUrl(origin, url, judgedPath) {
  const base = new URL(origin);
  const target = new URL(base);
  const path = typeof judgedPath === 'string' && judgedPath.startsWith('/') ? judgedPath : url.pathname;
  target.pathname = base.pathname.replace(/\/$/, '') + path;
  target.search = url.search;
  return target;
}

/** A field name as a CGI-style origin reads it: lowercase, `_` and `-` alike. */
function cgiName(name) {
  return name.toLowerCase().replaceAll('_', '-');
}

/**
 * Client fields never forwarded (CGI-style names): the hop-by-hop fields (RFC 9110 §7.6.1;
 * Keep-Alive and Proxy-Connection by custom; Expect, which the edge has answered), and the
 * path overrides that Symfony (before CVE-2018-14773's fix), Zend Framework and applications
 * behind IIS URL Rewrite route on instead of the request line; and the client's claims of the
 * public host (X-Forwarded-Host, Forwarded), which an origin that trusts the edge as its proxy
 * would build links on or route by: the edge sets X-Forwarded-Host itself. `Upgrade` is kept:
 * workerd's fetch turns it into a WebSocket upgrade to the origin.
 */
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'expect',
  'x-original-url',
  'x-rewrite-url',
  'x-forwarded-host',
  'forwarded',
]);

/**
 * The fields a request's Connection names (RFC 9110 §7.6.1), CGI-style, but never Upgrade, nor
 * a field the decision's signature covered: no signature covers Connection, so anyone replaying
 * a signed request could otherwise strip what was signed (its Content-Type) on the way.
 */
function connectionNamed(headers, decision) {
  const value = headers.get('connection');
  if (value === null) return [];
  const signed = decision.signature?.components;
  const covered = new Set(Array.isArray(signed) ? signed.map((c) => cgiName(String(c).split(';')[0])) : []);
  return value
    .split(',')
    .map((n) => cgiName(n.trim()))
    .filter((n) => n !== '' && n !== 'upgrade' && !covered.has(n));
}

function extraHeaders(headers) {
  if (headers === undefined) return [];
  const list = headers instanceof Headers ? [...headers] : Object.entries(headers);
  for (const [name, value] of list) {
    if (typeof value !== 'string') {
      throw new KeygateError('ERR_INVALID_OPTIONS', `forwardToOrigin: options.headers[${JSON.stringify(name)}] must be a string`);
    }
  }
  return list;
}

/**
 * Forwards an allowed request to `origin` (an absolute URL; its path is a prefix): the path the
 * decision judged (`decision.path`) with the request's query, same method, headers and body, the client's `X-Keygate-*` headers removed
 * (and the client's copies of `options.headers`, both also in their `_` spellings; and the hop-by-hop fields, those
 * `Connection` names unless the signature covered them, the path overrides `X-Original-URL` and `X-Rewrite-URL`, and `Forwarded`), `X-Forwarded-Host` set to the
 * request's host, `X-Keygate-Key-Id` and
 * `X-Keygate-Scopes` set from the decision, then `options.headers` set (e.g. a secret the
 * origin checks). `options.fetch` sends it instead of the global fetch (e.g. an mTLS
 * certificate binding's `fetch`). Redirects are passed back to the client, not followed.
 * Resolves to the origin's response, or a 502 `origin_misconfigured` / `origin_unreachable`
 * error response.
 */
export async function forwardToOrigin(request, decision, origin, options = {}) {
  const extra = extraHeaders(options.headers);
  const send = options.fetch ?? fetch;
  if (typeof send !== 'function') throw invalidOptions('forwardToOrigin: options.fetch must be a function (input, init)');
  let url;
  let target;
  try {
    url = new URL(request.url);
    target = targetUrl(origin, url, decision.path);
  } catch {
    return errorResponse('origin_misconfigured', 'the origin URL is not an absolute URL');
  }
  const headers = new Headers();
  const reserved = new Set([...extra.map(([name]) => cgiName(name)), ...NOT_FORWARDED, ...connectionNamed(request.headers, decision)]);
  for (const [name, value] of request.headers) {
    const cgi = cgiName(name);
    if (!cgi.startsWith('x-keygate-') && !reserved.has(cgi)) headers.append(name, value);
  }
  // The host the request reached the edge by (the origin's own Host is the origin URL's).
  headers.set('X-Forwarded-Host', url.host);
  if (decision.keyId) headers.set('X-Keygate-Key-Id', decision.keyId);
  headers.set('X-Keygate-Scopes', decision.scopes.join(' '));
  for (const [name, value] of extra) headers.set(name, value);
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  try {
    return await send(target, {
      method: request.method,
      headers,
      body: hasBody ? request.body : undefined,
      redirect: 'manual',
      // A streamed body needs this outside Workers (Node's fetch); workerd accepts it too.
      ...(hasBody ? { duplex: 'half' } : {}),
    });
  } catch (e) {
    console.error(JSON.stringify({ event: 'keygate.origin_error', message: String(e?.message ?? e) }));
    return errorResponse('origin_unreachable', 'the origin could not be reached');
  }
}
