// The keygate gateway: a Cloudflare Worker in front of an origin (wrangler.toml `main`). Built
// only on the keygate package's public exports, as any user's Worker would be.
//
// Key set: KV binding KEYGATE_KV, key `keyset`, when present; else the KEYGATE_KEYSET var;
// else every request gets 503 keyset_unavailable. When KEYGATE_PUBLISHER_KEYS is set, the
// set must be a JWS envelope signed by one of those keys; when KEYGATE_AUDIENCE is set, the
// set must name it in its `audience`; KEYGATE_SEAL_KEYS (a secret) opens its sealed secrets.
// There is deliberately no built-in
// fallback: the demo set reaches `wrangler dev` only through the gitignored .dev.vars
// (`make dev`).
//
// Allowed requests: with no ORIGIN_URL, an echo of the identity; else forwarded to ORIGIN_URL
// with client-sent X-Keygate-* headers removed, X-Keygate-Key-Id / X-Keygate-Scopes added, and
// the proof of origin configured in origin.js (ORIGIN_AUTH_HEADER, ORIGIN_MTLS).
//
// With the KEYGATE_COORDINATOR binding (a KeygateCoordinator Durable Object, exported below),
// pushes are ordered by the coordinator: rollback-proof, revocations everywhere within
// KEYSET_REFRESH_SECONDS (default 5 there) + one round trip, deltas accepted, nonces single-use
// across isolates. Without it: KV only, as before (docs/deployment.md, "Modes and guarantees").
//
// The gateway's own endpoints (routes.js) live under /.well-known/keygate/:
//   keyset  GET/HEAD the set in use; PUT a signed envelope, stored in KV (docs/deployment.md)
//   demo    GET/HEAD the demo page's starting files, only under `make dev` (404 elsewhere)

import { KEYSET_PATH, KEYSET_SHARDS_PATH, withKeygate } from 'keygate/worker';
// wrangler binds only Durable Object classes the main module exports.
export { KeygateCoordinator } from 'keygate/coordinator';
import { toOrigin } from './origin.js';
import { WELL_KNOWN_PREFIX, wellKnownRouter } from './routes.js';

async function keySetFromEnv(env) {
  if (env.KEYGATE_KV) {
    const stored = await env.KEYGATE_KV.get('keyset');
    if (stored !== null) return stored;
  }
  return env.KEYGATE_KEYSET ?? null;
}

function echo(request, decision) {
  // The path as judged: what the proxy would forward.
  const path = decision.path ?? new URL(request.url).pathname;
  const body = { allowed: true, key_id: decision.keyId, scopes: decision.scopes, method: request.method, path };
  return Response.json(body, { headers: { 'cache-control': 'no-store' } });
}

const worker = withKeygate(
  (request, env, _ctx, decision) => (env.ORIGIN_URL ? toOrigin(request, env, decision) : echo(request, decision)),
  {
    keySet: keySetFromEnv,
    // With publisher keys pinned, only signed envelopes load (from KV, the var and pushes).
    publisherKeys: (env) => env.KEYGATE_PUBLISHER_KEYS || undefined,
    // With an audience, only sets naming this gateway in their `audience` load.
    audience: (env) => env.KEYGATE_AUDIENCE || undefined,
    // Seal keys (a wrangler secret: a JWK or a JWKS) open the set's sealed secrets.
    sealKeys: (env) => env.KEYGATE_SEAL_KEYS || undefined,
    // Seconds between polls of the coordinator (5), or re-reads of KV without one (30).
    refreshSeconds: (env) => env.KEYSET_REFRESH_SECONDS ?? (env.KEYGATE_COORDINATOR ? 5 : 30),
    // A signed body is hashed before it is forwarded, and held (once) meanwhile: at most
    // KEYGATE_MAX_BODY_BYTES bytes when set, else 8 MiB (413 body_too_large beyond it).
    maxBodyBytes: (env) => env.KEYGATE_MAX_BODY_BYTES,
    // A Standard Webhooks delivery's body is verified before any proof: at most
    // KEYGATE_MAX_WEBHOOK_BODY_BYTES when set, else 1 MiB (never more than the bound above).
    maxWebhookBodyBytes: (env) => env.KEYGATE_MAX_WEBHOOK_BODY_BYTES,
    // A body read before the decision (a webhook delivery's, a signed one's) must arrive whole
    // within KEYGATE_BODY_TIMEOUT_SECONDS when set (more than 0, at most 300), else 30 s, from
    // the start of its read: past it 408 body_timeout, and the rest is not read.
    bodyTimeoutSeconds: (env) => env.KEYGATE_BODY_TIMEOUT_SECONDS,
    // How long a request waits for one read of the key set's storage (KV, the coordinator, its
    // nonce shards, a shard): KEYGATE_STORAGE_TIMEOUT_SECONDS when set (more than 0, at most
    // 60), else 5 s. Past it the request fails closed (503) and the next one reads again. A
    // push waits as long for one write (the KV write, the coordinator's commit, a shard
    // upload): past it, 504 keyset_store_timeout (the outcome is unknown) and the slot is free.
    storageTimeoutSeconds: (env) => env.KEYGATE_STORAGE_TIMEOUT_SECONDS,
    // The coordinator, when bound: its instance KEYGATE_COORDINATOR_NAME ("keyset"; a new name
    // starts a new high-water mark), the KV namespace it publishes to (cold starts read the
    // base there), and whether a cold isolate may fall back to KV while it is unreachable.
    coordinator: (env) =>
      env.KEYGATE_COORDINATOR
        ? {
            namespace: env.KEYGATE_COORDINATOR,
            name: env.KEYGATE_COORDINATOR_NAME || 'keyset',
            kv: env.KEYGATE_KV ?? null,
            require: env.KEYGATE_REQUIRE_COORDINATOR === 'true',
            nonceShards: env.KEYGATE_NONCE_SHARDS,
          }
        : null,
    // Accepted pushes that moved the revision forward go to the coordinator when it is bound,
    // else to KV, read by every isolate on its next refresh. The body bound is
    // KEYSET_MAX_BYTES when set (up to 24 MiB), else 16 MiB; a pushed set's issued_at may be
    // KEYSET_MAX_AGE_SECONDS old (up to 7 days), else 15 min; the body must arrive within
    // KEYSET_PUSH_TIMEOUT_SECONDS (up to 300), else 30 s.
    push: (env) =>
      env.KEYGATE_COORDINATOR || env.KEYGATE_KV
        ? {
            store: env.KEYGATE_COORDINATOR ? undefined : (envelope) => env.KEYGATE_KV.put('keyset', envelope),
            maxBytes: env.KEYSET_MAX_BYTES,
            maxAgeSeconds: env.KEYSET_MAX_AGE_SECONDS,
            readTimeoutSeconds: env.KEYSET_PUSH_TIMEOUT_SECONDS,
          }
        : null,
  },
);

/**
 * `make dev` only: the demo page's starting key set and the DEMO publisher key, handed over in
 * the KEYGATE_DEMO var that scripts/dev-vars.mjs writes to the gitignored .dev.vars. A
 * deployed gateway has no such var, so the route is not enabled there (404), and the demo
 * files are not static assets either.
 */
const DEMO_PATH = `${WELL_KNOWN_PREFIX}demo`;

function demoFiles(_request, env) {
  return new Response(env.KEYGATE_DEMO, {
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  });
}

const route = wellKnownRouter({
  [KEYSET_PATH]: { methods: ['GET', 'HEAD', 'PUT'], handle: (request, env, ctx) => worker.keySetEndpoint(request, env, ctx) },
  [KEYSET_SHARDS_PATH]: { methods: ['PUT'], handle: (request, env) => worker.shardEndpoint(request, env) },
  [DEMO_PATH]: { methods: ['GET', 'HEAD'], enabled: (env) => Boolean(env.KEYGATE_DEMO), handle: demoFiles },
});

export default {
  fetch(request, env, ctx) {
    return route(request, env, ctx) ?? worker.fetch(request, env, ctx);
  },
};
