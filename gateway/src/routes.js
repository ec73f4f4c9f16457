// The gateway's own endpoints: everything under /.well-known/keygate/ is answered by this
// table and never reaches the key check or the origin. A path in the table answers its
// methods (405 with `Allow` otherwise); a path not in it, or a route not enabled in this
// environment, answers 404. Paths are compared exactly, as the URL parser leaves them (dot
// segments resolved, percent-escapes kept), so `/.well-known/keygate/%6beyset` is a 404 here,
// not the key set endpoint, and not a request for the origin either.

import { errorResponse } from 'keygate/worker';

export const WELL_KNOWN_PREFIX = '/.well-known/keygate/';

/**
 * A router for `routes`: `{ [path]: { methods, handle(request, env, ctx), enabled?(env) } }`.
 * It resolves to the endpoint's response, or returns null for a path outside the prefix (the
 * caller then decides the request). The table is checked here, once.
 */
export function wellKnownRouter(routes) {
  const table = new Map();
  for (const [path, route] of Object.entries(routes)) {
    if (!path.startsWith(WELL_KNOWN_PREFIX)) throw new TypeError(`route ${path} is not under ${WELL_KNOWN_PREFIX}`);
    if (!Array.isArray(route.methods) || route.methods.length === 0 || typeof route.handle !== 'function') {
      throw new TypeError(`route ${path} needs methods and handle(request, env, ctx)`);
    }
    table.set(path, Object.freeze({ ...route, methods: Object.freeze([...route.methods]) }));
  }
  const known = [...table.keys()];

  return function route(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (!pathname.startsWith(WELL_KNOWN_PREFIX)) return null;
    const r = table.get(pathname);
    if (!r || (r.enabled && !r.enabled(env))) {
      const listed = known.filter((p) => !table.get(p).enabled || table.get(p).enabled(env));
      return errorResponse('not_found', `no keygate endpoint at this path; the endpoints here: ${listed.join(', ')}`);
    }
    if (!r.methods.includes(request.method)) {
      return errorResponse('method_not_allowed', `${pathname} takes ${r.methods.join(', ')}`, {
        headers: { allow: r.methods.join(', ') },
      });
    }
    return r.handle(request, env, ctx);
  };
}
