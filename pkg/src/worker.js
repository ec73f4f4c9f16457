// keygate/worker: `withKeygate(handler, options)` for module Workers.
//
//   export default withKeygate(async (request, env, ctx, decision) => {
//     return Response.json({ hello: decision.keyId });
//   }, { keySet: (env) => env.KEYGATE_KEYSET });
//
// Every request is decided before the handler runs. A refusal is answered here (status, JSON
// `{"error", "message"}`, WWW-Authenticate on 401s); an allowed request reaches the handler
// with its decision as the fourth argument (and through `getDecision(request)`). Every
// decision is logged as one JSON line. The client address comes from CF-Connecting-IP.

import '#wasm'; // instantiates the wasm module at import (see index.js)
import { KeygateError } from './errors.js';
import { KeySetSource, checkEdgeOptions, decide, errorResponse, logDecision, unavailable } from './edge.js';
import { KEYSET_PATH, keySetEndpoint } from './push.js';

const decisions = new WeakMap();

/** The decision for a request that `withKeygate` let through (undefined otherwise). */
export function getDecision(request) {
  return decisions.get(request);
}

export function withKeygate(handler, options) {
  return keygateWorker('withKeygate', handler, options);
}

/**
 * withKeygate, plus (for the ready gateway) the key set endpoint at KEYSET_PATH when
 * `pushTarget` is given: a function of env returning `{ store(envelopeText), maxBytes? }`,
 * or null (pushes disabled).
 */
export function keygateWorker(where, handler, options, pushTarget) {
  if (typeof handler !== 'function') {
    throw new KeygateError('ERR_INVALID_OPTIONS', `${where}: handler must be a function (request, env, ctx, decision)`);
  }
  const opts = checkEdgeOptions(where, options);
  const source = new KeySetSource(opts);

  return {
    async fetch(request, env, ctx) {
      const waitUntil = ctx && typeof ctx.waitUntil === 'function' ? (p) => ctx.waitUntil(p) : undefined;
      if (pushTarget && new URL(request.url).pathname === KEYSET_PATH) {
        return keySetEndpoint(request, env, waitUntil, source, pushTarget);
      }
      const gate = await source.get(env, waitUntil);
      if (!gate) return unavailable();
      const header = request.headers.get('cf-connecting-ip') ?? undefined;
      const { decision, clientIp } = await decide(gate, request, header, opts.nonceStore(env));
      logDecision(opts, decision, request.method, clientIp);
      if (!decision.allowed) {
        return errorResponse(decision.status, decision.reason, decision.message, decision.headers);
      }
      decisions.set(request, decision);
      return handler(request, env, ctx, decision);
    },
  };
}
