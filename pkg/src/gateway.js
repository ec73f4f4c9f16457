// keygate/gateway — DEPRECATED, kept so that 0.1 Workers written as
// `export { default } from 'keygate/gateway'` keep working. The gateway application now lives
// outside the package (the repository's `gateway/`, docs/deployment.md); this module is the
// 0.1 behaviour composed from the same public exports any Worker can use:
//
//   key set: KV binding KEYGATE_KV, key `keyset`, else the KEYGATE_KEYSET var (none: 503);
//            KEYGATE_PUBLISHER_KEYS pins publisher keys (then only signed envelopes load);
//   /.well-known/keygate/keyset: worker.keySetEndpoint (GET; PUT stored in KEYGATE_KV);
//   allowed requests: echoed, or forwarded to ORIGIN_URL (forwardToOrigin).
//
// New features (the route table, origin authentication, ...) are added to the application only.

import { KEYSET_PATH, forwardToOrigin, withKeygate } from './worker.js';

function echo(request, decision) {
  const path = decision.path ?? new URL(request.url).pathname;
  const body = { allowed: true, key_id: decision.keyId, scopes: decision.scopes, method: request.method, path };
  return Response.json(body, { headers: { 'cache-control': 'no-store' } });
}

const worker = withKeygate(
  (request, env, _ctx, decision) =>
    env.ORIGIN_URL ? forwardToOrigin(request, decision, env.ORIGIN_URL) : echo(request, decision),
  {
    keySet: async (env) => (env.KEYGATE_KV ? await env.KEYGATE_KV.get('keyset') : null) ?? env.KEYGATE_KEYSET ?? null,
    publisherKeys: (env) => env.KEYGATE_PUBLISHER_KEYS || undefined,
    refreshSeconds: (env) => env.KEYSET_REFRESH_SECONDS ?? 30,
    push: (env) =>
      env.KEYGATE_KV ? { store: (envelope) => env.KEYGATE_KV.put('keyset', envelope), maxBytes: env.KEYSET_MAX_BYTES } : null,
  },
);

/** @deprecated Build your own Worker with withKeygate, or deploy the gateway application. */
export default {
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname === KEYSET_PATH) return worker.keySetEndpoint(request, env, ctx);
    return worker.fetch(request, env, ctx);
  },
};
