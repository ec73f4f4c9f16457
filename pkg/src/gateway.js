// The ready gateway Worker (wrangler.toml `main`), built from withKeygate.
//
// Key set: KV binding KEYGATE_KV, key `keyset`, when present; else the KEYGATE_KEYSET var;
// else every request gets 503 keyset_unavailable. When KEYGATE_PUBLISHER_KEYS is set, the
// set must be a JWS envelope signed by one of those keys. There is deliberately no built-in fallback:
// the demo set reaches `wrangler dev` only through the gitignored .dev.vars (`make dev`).
//
// Allowed requests: with no ORIGIN_URL, an echo of the identity; else proxied to ORIGIN_URL
// with client-sent X-Keygate-* headers removed and X-Keygate-Key-Id / X-Keygate-Scopes added.
//
// /.well-known/keygate/keyset: GET shows the set in use (revision, issue time, payload
// digest, key count); PUT takes a signed envelope when KEYGATE_PUBLISHER_KEYS is set and
// stores it in KV after it verified and moved the revision forward (push.js).

import { keygateWorker } from './worker.js';
import { errorResponse } from './edge.js';

async function keySetFromEnv(env) {
  if (env.KEYGATE_KV) {
    const stored = await env.KEYGATE_KV.get('keyset');
    if (stored !== null) return stored;
  }
  return env.KEYGATE_KEYSET ?? null;
}

function echo(request, decision) {
  return Response.json(
    {
      allowed: true,
      key_id: decision.keyId,
      scopes: decision.scopes,
      method: request.method,
      path: new URL(request.url).pathname,
    },
    { headers: { 'cache-control': 'no-store' } },
  );
}

function originUrl(origin, requestUrl) {
  const base = new URL(origin);
  const url = new URL(requestUrl);
  const target = new URL(base);
  target.pathname = base.pathname.replace(/\/$/, '') + url.pathname;
  target.search = url.search;
  return target;
}

async function proxy(request, origin, decision) {
  let target;
  try {
    target = originUrl(origin, request.url);
  } catch {
    return errorResponse(502, 'origin_misconfigured', 'ORIGIN_URL is not an absolute URL');
  }
  const headers = new Headers();
  for (const [name, value] of request.headers) {
    if (!name.startsWith('x-keygate-')) headers.append(name, value);
  }
  if (decision.keyId) headers.set('X-Keygate-Key-Id', decision.keyId);
  headers.set('X-Keygate-Scopes', decision.scopes.join(' '));
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  try {
    return await fetch(target, {
      method: request.method,
      headers,
      body: hasBody ? request.body : undefined,
      redirect: 'manual',
    });
  } catch (e) {
    console.error(JSON.stringify({ event: 'keygate.origin_error', message: String(e?.message ?? e) }));
    return errorResponse(502, 'origin_unreachable', 'the origin could not be reached');
  }
}

/**
 * Where an accepted push is stored: KV, read by every isolate on its next refresh. The body
 * bound is KEYSET_MAX_BYTES when set (up to 24 MiB), else 16 MiB.
 */
function pushTarget(env) {
  const kv = env.KEYGATE_KV;
  if (!kv) return null;
  return { store: (envelope) => kv.put('keyset', envelope), maxBytes: env.KEYSET_MAX_BYTES };
}

/**
 * `make dev` only: the demo page's starting key set and the DEMO publisher key, handed over in
 * the KEYGATE_DEMO var that scripts/dev-vars.mjs writes to the gitignored .dev.vars. A
 * deployed gateway has no such var and answers 404, so the demo files are never served in
 * production (they are not static assets either).
 */
const DEMO_PATH = '/.well-known/keygate/demo';

function demoFiles(request, env) {
  if (!env.KEYGATE_DEMO) return errorResponse(404, 'not_found', 'the demo files exist only under `make dev`');
  if (request.method !== 'GET') return errorResponse(405, 'method_not_allowed', 'use GET');
  return new Response(env.KEYGATE_DEMO, {
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  });
}

const gateway = keygateWorker(
  'gateway',
  (request, env, _ctx, decision) =>
    env.ORIGIN_URL ? proxy(request, env.ORIGIN_URL, decision) : echo(request, decision),
  {
    keySet: keySetFromEnv,
    // With publisher keys pinned, only signed envelopes load (from KV, the var and pushes).
    publisherKeys: (env) => env.KEYGATE_PUBLISHER_KEYS || undefined,
    refreshSeconds: (env) => env.KEYSET_REFRESH_SECONDS ?? 30,
  },
  pushTarget,
);

export default {
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname === DEMO_PATH) return demoFiles(request, env);
    return gateway.fetch(request, env, ctx);
  },
};
