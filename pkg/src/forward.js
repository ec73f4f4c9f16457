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
// path (X-Original-URL, X-Rewrite-URL) are removed too. An origin that trusts the edge as its
// proxy also believes what the edge says of the client: its address, the host and the scheme
// it reached the edge by. Those are the edge's to say: X-Forwarded-For and X-Real-IP carry the
// address keygate judged (nothing when none is known), X-Forwarded-Host and X-Forwarded-Proto
// the public host and scheme, and the client's own claims of them are dropped in every
// spelling (tests/vectors/forwarding.json).

import { KeygateError, describe, invalidOptions } from './errors.js';
import { INSIDE_WORKERD, cgiName, judgedAs } from './edge-request.js';
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

/**
 * Client fields never forwarded (CGI-style names): the hop-by-hop fields (RFC 9110 §7.6.1;
 * Keep-Alive and Proxy-Connection by custom; Expect, which the edge has answered), and the
 * path overrides that Symfony (before CVE-2018-14773's fix), Zend Framework and applications
 * behind IIS URL Rewrite route on instead of the request line. `Upgrade` is kept: workerd's
 * fetch turns it into a WebSocket upgrade to the origin.
 *
 * Then the client's claims about itself, which an origin that trusts the edge as its proxy
 * would log, rate-limit or allow by, or build links and redirects on; the edge states what it
 * knows in X-Forwarded-For, X-Real-IP, X-Forwarded-Host and X-Forwarded-Proto:
 * - its address: X-Forwarded-For (Express `trust proxy`, Rack/Rails, Symfony and Laravel
 *   trusted proxies, Spring, ASP.NET, nginx realip), X-Real-IP (nginx realip, go-chi,
 *   Tornado), True-Client-IP (go-chi, Akamai and Cloudflare Enterprise origins), Client-IP
 *   (Rails), X-Client-IP, X-Cluster-Client-IP, Fastly-Client-IP, X-Forwarded, Forwarded-For
 *   (the request-ip npm package), CF-Connecting-IP (origins written for Cloudflare; inside
 *   workerd Cloudflare sets it on the subrequest itself), CF-Connecting-IPv6 and
 *   CF-Pseudo-IPv4 (Cloudflare's Pseudo IPv4), and those read when X-Forwarded-For is absent:
 *   X-AppEngine-User-IP (request-ip), Proxy-Client-IP and WL-Proxy-Client-IP (WebLogic's
 *   plug-in, Java applications);
 * - the public host, port and path prefix: X-Forwarded-Host, X-Forwarded-Port,
 *   X-Forwarded-Prefix (Spring, Symfony, Laravel, Werkzeug ProxyFix, ASP.NET), Forwarded,
 *   X-Host (PHP applications, WordPress hosts' setups that copy it into HTTP_HOST);
 * - the scheme: X-Forwarded-Proto, X-Forwarded-Protocol and X-Forwarded-Ssl (gunicorn, Rack),
 *   X-Forwarded-Scheme (Rack), X-Scheme (Tornado), Front-End-Https (CodeIgniter), X-Url-Scheme
 *   and CF-Visitor (PHP and WSGI applications).
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
  // the client's address
  'x-forwarded-for',
  'x-real-ip',
  'true-client-ip',
  'client-ip',
  'x-client-ip',
  'x-cluster-client-ip',
  'fastly-client-ip',
  'x-forwarded',
  'forwarded-for',
  'cf-connecting-ip',
  'cf-connecting-ipv6',
  'cf-pseudo-ipv4',
  'x-appengine-user-ip',
  'proxy-client-ip',
  'wl-proxy-client-ip',
  // the public host, port and prefix
  'x-forwarded-host',
  'x-host',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'forwarded',
  // the scheme
  'x-forwarded-proto',
  'x-forwarded-protocol',
  'x-forwarded-scheme',
  'x-forwarded-ssl',
  'x-scheme',
  'front-end-https',
  'x-url-scheme',
  'cf-visitor',
]);

/**
 * The client address the origin is told: `options.clientIp` when given (null: none), else the
 * address the keygate middleware judged `decision`'s request with (none when it had none, or
 * one the verifier could not read; also for a Request re-created from the one judged), else
 * CF-Connecting-IP inside workerd only (set by the platform).
 * Never a field the client sent elsewhere: when nothing is known, nothing is said.
 */
function clientAddress(request, judged, options) {
  if (options.clientIp !== undefined) {
    const ip = options.clientIp;
    if (ip === null || ip === '') return null;
    if (typeof ip !== 'string' || !FIELD_VALUE.test(ip)) {
      throw invalidOptions(`forwardToOrigin: options.clientIp must be an address (a string) or null, got ${describe(ip)}`);
    }
    return ip;
  }
  if (judged !== undefined) return judged.clientIp;
  return INSIDE_WORKERD ? request.headers.get('cf-connecting-ip') : null;
}

// A field value without control characters, not starting or ending with a space.
const FIELD_VALUE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

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
 * `Connection` names unless the signature covered them, the path overrides `X-Original-URL` and `X-Rewrite-URL`, and the
 * client's claims of its address, public host, port, prefix and scheme, NOT_FORWARDED), `X-Forwarded-Host` and
 * `X-Forwarded-Proto` set to the host and scheme keygate judged (the middleware's `requestUrl`, else the request's),
 * `X-Forwarded-For` and `X-Real-IP` to the client address (`clientAddress`; absent when none is known),
 * `X-Keygate-Key-Id` and `X-Keygate-Scopes` set from the decision, then `options.headers` set (e.g. a secret the
 * origin checks, or the client's own X-Forwarded-For chain for an origin that wants it).
 * `options.fetch` sends it instead of the global fetch (e.g. an mTLS certificate binding's
 * `fetch`). Redirects are passed back to the client, not followed. Resolves to the origin's
 * response, or a 502 `origin_misconfigured` / `origin_unreachable` error response.
 */
export async function forwardToOrigin(request, decision, origin, options = {}) {
  const extra = extraHeaders(options.headers);
  const send = options.fetch ?? fetch;
  if (typeof send !== 'function') throw invalidOptions('forwardToOrigin: options.fetch must be a function (input, init)');
  const judged = judgedAs(request, decision);
  const address = clientAddress(request, judged, options);
  let url;
  let target;
  try {
    url = new URL(request.url);
    target = targetUrl(origin, url, decision.path);
  } catch {
    return errorResponse('origin_misconfigured', 'the origin URL is not an absolute URL');
  }
  // The host and scheme the request reached the edge by, as keygate judged them.
  const reached = judged === undefined ? url : new URL(judged.url);
  const headers = new Headers();
  const reserved = new Set([...extra.map(([name]) => cgiName(name)), ...NOT_FORWARDED, ...connectionNamed(request.headers, decision)]);
  for (const [name, value] of request.headers) {
    const cgi = cgiName(name);
    if (!cgi.startsWith('x-keygate-') && !reserved.has(cgi)) headers.append(name, value);
  }
  // The origin's own Host is the origin URL's.
  headers.set('X-Forwarded-Host', reached.host);
  headers.set('X-Forwarded-Proto', reached.protocol.slice(0, -1));
  if (address !== null) {
    headers.set('X-Forwarded-For', address);
    headers.set('X-Real-IP', address);
  }
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
