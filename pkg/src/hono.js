// keygate/hono: `keygate(options)` middleware for Hono.
//
//   app.use('/api/*', keygate({ keySet }));
//   app.get('/api/hello', (c) => c.json({ key: c.get('keygate').keyId }));
//
// A refusal is answered by the middleware (status, JSON `{"error", "message"}`, its headers),
// or by `onRefused(decision, c)`, or thrown as a KeygateHTTPException (`onRefused: 'throw'`)
// for `app.onError`; an allowed request continues with the decision at `c.get('keygate')`.
// The client address comes from `options.clientIp(c)` when given, else from
// CF-Connecting-IP inside workerd only (edge-request.js).

import '#wasm'; // instantiates the wasm module at import (see index.js)
import { HTTPException } from 'hono/http-exception';
import { judge, refusalFor } from './edge.js';
import { edgeSource } from './coordination.js';
import { checkScopes, scopeRefusal } from './decision.js';
import { refusalResponse } from './wire.js';

export { MAX_BODY_BYTES, MAX_WEBHOOK_BODY_BYTES } from './edge-options.js';
export { hasScope } from './decision.js';
export { refusalResponse } from './wire.js';

/**
 * A refusal thrown to Hono's error handling (`onRefused: 'throw'`): an HTTPException whose
 * status is the decision's, whose `getResponse()` is the default refusal response, and which
 * carries the decision (`decision`, also as `cause`).
 */
export class KeygateHTTPException extends HTTPException {
  constructor(decision) {
    super(decision.status, { res: refusalResponse(decision), message: decision.message, cause: decision });
    this.name = 'KeygateHTTPException';
    this.decision = decision;
  }
}

function executionWaitUntil(c) {
  try {
    const ctx = c.executionCtx;
    return (p) => ctx.waitUntil(p);
  } catch {
    return undefined; // not on a Workers runtime (Node, Bun): refresh without waitUntil
  }
}

export function keygate(options) {
  const { opts, source } = edgeSource('keygate', options, {}, ['throw']);

  return async function keygateMiddleware(c, next) {
    const decision = await judge(opts, source, c.req.raw, c.env, executionWaitUntil(c), [c]);
    if (!decision.allowed) {
      if (opts.onRefused === 'throw') throw new KeygateHTTPException(decision);
      return refusalFor(opts, decision, c);
    }
    c.set('keygate', decision);
    await next();
  };
}

/**
 * After `keygate()`: answers 403 `scope_missing` (JSON `{"error", "message"}`, as a route
 * rule's refusal) for a request whose key lacks one of `scopes`, granted by the rule route
 * scopes are checked with (`orders:*` grants `orders:write`). Its arguments are checked once,
 * at creation.
 *
 *   app.post('/api/orders', requireScopes('orders:write'), (c) => ...);
 */
export function requireScopes(...scopes) {
  const wanted = checkScopes('requireScopes', scopes);
  return async function requireScopesMiddleware(c, next) {
    const decision = c.get('keygate');
    if (decision === undefined) {
      throw new Error('requireScopes: no keygate decision on this request (use keygate() before it)');
    }
    const refusal = scopeRefusal(decision, wanted);
    if (refusal !== null) return refusalResponse(refusal);
    await next();
  };
}
