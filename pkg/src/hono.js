// keygate/hono: `keygate(options)` middleware for Hono.
//
//   app.use('/api/*', keygate({ keySet }));
//   app.get('/api/hello', (c) => c.json({ key: c.get('keygate').keyId }));
//
// A refusal is answered by the middleware (status, JSON `{"error", "message"}`, its headers);
// an allowed request continues with the decision at `c.get('keygate')`. The client address
// comes from `options.clientIp(c)` when given, else from CF-Connecting-IP.

import '#wasm'; // instantiates the wasm module at import (see index.js)
import { KeySetSource, checkEdgeOptions, decide, logDecision, unavailable } from './edge.js';
import { refusalResponse } from './wire.js';

function executionWaitUntil(c) {
  try {
    const ctx = c.executionCtx;
    return (p) => ctx.waitUntil(p);
  } catch {
    return undefined; // not on a Workers runtime (Node, Bun): refresh without waitUntil
  }
}

export function keygate(options) {
  const opts = checkEdgeOptions('keygate', options, { clientIp: 'function' });
  const source = new KeySetSource(opts);
  const clientIpOf = opts.clientIp ?? ((c) => c.req.header('cf-connecting-ip'));

  return async function keygateMiddleware(c, next) {
    const gate = await source.get(c.env, executionWaitUntil(c));
    if (!gate) return unavailable(source);
    const { decision, clientIp } = await decide(gate, c.req.raw, clientIpOf(c) ?? undefined, opts.nonceStore(c.env));
    logDecision(opts, decision, c.req.method, clientIp);
    if (!decision.allowed) return refusalResponse(decision);
    c.set('keygate', decision);
    await next();
  };
}
