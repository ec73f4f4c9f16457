// keygate/worker: `withKeygate(handler, options)` for module Workers.
//
//   export default withKeygate(async (request, env, ctx, decision) => {
//     return Response.json({ hello: decision.keyId });
//   }, { keySet: (env) => env.KEYGATE_KEYSET });
//
// Every request is decided before the handler runs. A refusal is answered here (status, JSON
// `{"error", "message"}`, WWW-Authenticate on 401s; or what `onRefused` returns); an allowed
// request reaches the handler with its decision as the fourth argument (and through
// `getDecision(request)`). Decisions are logged as JSON lines (`log`, `logSample`). The
// client address comes from `clientIp(request, env, ctx)` when given, else from
// CF-Connecting-IP inside workerd only (edge-request.js).
//
// The returned Worker also answers the key set endpoint for the same key set:
// `worker.keySetEndpoint(request, env, ctx)` (GET: the set in use; PUT: a signed push, stored
// through `options.push`). Mount it where you route, usually at KEYSET_PATH.

import '#wasm'; // instantiates the wasm module at import (see index.js)
import { KeygateError, describe, invalidOptions } from './errors.js';
import { judge, refusalFor } from './edge.js';
import { checkScopes, scopeRefusal } from './decision.js';
import { edgeSource } from './coordination.js';
import {
  MAX_PUSH_AGE_SECONDS_LIMIT,
  MAX_PUSH_BYTES_LIMIT,
  PUSH_READ_TIMEOUT_SECONDS_LIMIT,
  keySetEndpoint,
  shardEndpoint,
} from './push.js';
import { refusalResponse } from './wire.js';

export {
  KEYSET_PATH,
  KEYSET_SHARDS_PATH,
  MAX_PUSH_AGE_SECONDS,
  MAX_PUSH_AGE_SECONDS_LIMIT,
  MAX_PUSH_BYTES,
  MAX_PUSH_BYTES_LIMIT,
  PUSH_READ_TIMEOUT_SECONDS,
  PUSH_READ_TIMEOUT_SECONDS_LIMIT,
} from './push.js';
export { MAX_BODY_BYTES, MAX_WEBHOOK_BODY_BYTES } from './edge-options.js';
export { WIRE_STATUS, errorResponse, refusalResponse } from './wire.js';
export { forwardToOrigin } from './forward.js';
export { hasScope } from './decision.js';

const decisions = new WeakMap();

/** The decision for a request that `withKeygate` let through (undefined otherwise). */
export function getDecision(request) {
  return decisions.get(request);
}

const TARGET_MEMBERS = new Set(['store', 'maxBytes', 'maxAgeSeconds', 'readTimeoutSeconds']);

/** A `{ store, maxBytes, maxAgeSeconds, readTimeoutSeconds }` push target, checked; `where` names it in errors. */
function checkTarget(target, where) {
  if (target === null || typeof target !== 'object') {
    throw invalidOptions(
      `${where} must be an object { store(envelope, env), maxBytes?, maxAgeSeconds?, readTimeoutSeconds? }, got ${describe(target)}`,
    );
  }
  for (const k of Object.keys(target)) {
    if (!TARGET_MEMBERS.has(k)) throw invalidOptions(`${where}: unknown member ${JSON.stringify(k)}`);
  }
  if (target.store !== undefined && typeof target.store !== 'function') {
    throw invalidOptions(`${where}.store must be a function (envelope, env)`);
  }
  return target;
}

/**
 * `options.push` as the endpoint's `pushTarget(env)`: `{ store(text), maxBytes, maxAgeSeconds,
 * readTimeoutSeconds }` or null (pushes disabled). A fixed object is checked now; a function of env when it is
 * called (where numbers may come as strings, from environment variables).
 */
function pushTargetOf(push) {
  if (push === undefined || push === null) return () => null;
  if (typeof push === 'function') {
    return (env) => {
      const t = push(env);
      if (t === undefined || t === null) return null;
      checkTarget(t, 'withKeygate: options.push(env)');
      return {
        store: t.store && ((text) => t.store(text, env)),
        maxBytes: t.maxBytes,
        maxAgeSeconds: t.maxAgeSeconds,
        readTimeoutSeconds: t.readTimeoutSeconds,
      };
    };
  }
  const t = checkTarget(push, 'withKeygate: options.push');
  const { maxBytes, maxAgeSeconds, readTimeoutSeconds } = t;
  if (maxBytes !== undefined && !(Number.isInteger(maxBytes) && maxBytes > 0 && maxBytes <= MAX_PUSH_BYTES_LIMIT)) {
    throw invalidOptions(`withKeygate: options.push.maxBytes must be an integer from 1 to ${MAX_PUSH_BYTES_LIMIT}`);
  }
  if (
    maxAgeSeconds !== undefined &&
    !(Number.isInteger(maxAgeSeconds) && maxAgeSeconds > 0 && maxAgeSeconds <= MAX_PUSH_AGE_SECONDS_LIMIT)
  ) {
    throw invalidOptions(
      `withKeygate: options.push.maxAgeSeconds must be an integer from 1 to ${MAX_PUSH_AGE_SECONDS_LIMIT}`,
    );
  }
  if (
    readTimeoutSeconds !== undefined &&
    !(
      Number.isInteger(readTimeoutSeconds) &&
      readTimeoutSeconds > 0 &&
      readTimeoutSeconds <= PUSH_READ_TIMEOUT_SECONDS_LIMIT
    )
  ) {
    throw invalidOptions(
      `withKeygate: options.push.readTimeoutSeconds must be an integer from 1 to ${PUSH_READ_TIMEOUT_SECONDS_LIMIT}`,
    );
  }
  return (env) => ({ store: t.store && ((text) => t.store(text, env)), maxBytes, maxAgeSeconds, readTimeoutSeconds });
}

function waitUntilOf(ctx) {
  return ctx && typeof ctx.waitUntil === 'function' ? (p) => ctx.waitUntil(p) : undefined;
}

/**
 * Wraps a fetch handler: `{ fetch, keySetEndpoint }`. Options (those of every keygate
 * middleware, plus `push`) are checked here, once; the caller's object is not kept.
 */
export function withKeygate(handler, options) {
  if (typeof handler !== 'function') {
    throw new KeygateError('ERR_INVALID_OPTIONS', `withKeygate: handler must be a function (request, env, ctx, decision)`);
  }
  const isObject = options !== null && typeof options === 'object';
  const { push, ...rest } = isObject ? options : {};
  const { opts, source } = edgeSource('withKeygate', isObject ? rest : options);
  const pushTarget = pushTargetOf(push);

  return {
    async fetch(request, env, ctx) {
      const decision = await judge(opts, source, request, env, waitUntilOf(ctx), [request, env, ctx]);
      if (!decision.allowed) return refusalFor(opts, decision, { request, env, ctx });
      decisions.set(request, decision);
      return handler(request, env, ctx, decision);
    },

    /**
     * The key set endpoint for this Worker's key set, at whatever path the caller routes to
     * it: GET/HEAD → the set in use; PUT → a signed push (needs pinned publisher keys and
     * `options.push`, else 404); other methods → 405. Not decided by an API key: a push is
     * authenticated by its publisher signature.
     */
    keySetEndpoint(request, env, ctx) {
      return keySetEndpoint(request, env, waitUntilOf(ctx), source, pushTarget);
    },

    /**
     * The shard upload endpoint of a sharded key set (KEYSET_SHARDS_PATH): PUT shard files,
     * one per line, stored by the coordinator when a pushed manifest names them (needs the
     * coordinator and pinned publisher keys, else 404).
     */
    shardEndpoint(request, env) {
      return shardEndpoint(request, env, source, pushTarget);
    },
  };
}

/**
 * A `withKeygate` handler that answers 403 `scope_missing` (JSON `{"error", "message"}`, as a
 * route rule's refusal) when the request's key lacks one of `scopes`, granted by the rule
 * route scopes are checked with (`orders:*` grants `orders:write`), and runs `handler`
 * otherwise. Its arguments are checked once, at creation.
 *
 *   export default withKeygate(requireScopes('orders:write')(handler), options);
 */
export function requireScopes(...scopes) {
  const wanted = checkScopes('requireScopes', scopes);
  return (handler) => {
    if (typeof handler !== 'function') {
      throw invalidOptions('requireScopes(...)(handler): handler must be a function (request, env, ctx, decision)');
    }
    return (request, env, ctx, decision) => {
      const refusal = scopeRefusal(decision, wanted);
      return refusal === null ? handler(request, env, ctx, decision) : refusalResponse(refusal);
    };
  };
}
