// keygate/hono: Hono middleware.
import type { Context, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AllowedDecision } from './index.js';
import type { EdgeOptions, EdgeRefusal } from './edge.js';
import type { CoordinatorBinding, CoordinatorNamespace } from './worker.js';

export type { DecisionLogRecord, EdgeRefusal, EdgeRefusalCode, KeySetLogRecord, LogRecord, EdgeOptions } from './edge.js';

/** Declare these in your app's Variables to type `c.get('keygate')`. */
export interface KeygateVariables {
  keygate: AllowedDecision;
}

export interface KeygateHonoOptions<Bindings> extends EdgeOptions<Bindings> {
  /**
   * The client address for IP rules (null/undefined: unknown, and allow lists fail closed).
   * Without it: CF-Connecting-IP inside workerd, no address anywhere else (Node, Bun, Deno).
   */
  clientIp?: (c: Context) => string | null | undefined | Promise<string | null | undefined>;
  /**
   * How refusals are answered. Default: the middleware responds (the decision's status, JSON
   * `{"error", "message"}`, its headers). A function: its Response is sent (an exception it
   * throws, e.g. an HTTPException, goes to `app.onError`). `'throw'`: a
   * `KeygateHTTPException` is thrown for `app.onError` (Hono's default handler answers it with
   * the default response).
   */
  onRefused?: 'throw' | ((decision: EdgeRefusal, c: Context) => Response | Promise<Response>);
  /**
   * The presented API key (null/undefined: none), instead of `Authorization: Bearer` /
   * `X-API-Key`, which then never count as credentials. The key is checked by the verifier's
   * own rules. Not together with `keyHeader`.
   */
  getKey?: (c: Context) => string | null | undefined | Promise<string | null | undefined>;
  /**
   * The URL the client used, when it differs from `c.req.url` (behind a TLS-terminating
   * proxy): the public origin (`"https://api.example.com"`; the request's path and query are
   * kept), or a function returning the whole absolute URL. Signatures over `@target-uri`,
   * `@authority` and `@scheme` are checked against it, and routes are matched on its path.
   */
  requestUrl?: string | URL | ((c: Context) => string | URL | Promise<string | URL>);
  /**
   * The KeygateCoordinator (keygate/coordinator) of this environment, or null/undefined where
   * none is bound (then the key set comes from `keySet` alone). Where bound: isolates poll it
   * every `refreshSeconds` (default 5), so a revocation pushed anywhere is enforced here within
   * that; unless `nonceStore` is given, nonces are claimed there (single use across isolates);
   * a sharded key set is read through it. Pushes go to a Worker's key set endpoint
   * (withKeygate's `keySetEndpoint`, or the gateway), not through this middleware.
   */
  coordinator?: (env: Bindings) => CoordinatorNamespace | CoordinatorBinding | null | undefined;
}

/**
 * Refuses the requests keygate refuses (status, JSON `{"error", "message"}`, headers) and sets
 * `c.get('keygate')` for the others. `Bindings` types the `env` given to a keySet function.
 *
 *   const app = new Hono<{ Bindings: Env; Variables: KeygateVariables }>();
 *   app.use('/api/*', keygate<Env>({ keySet: (env) => env.KEYGATE_KEYSET }));
 */
export declare function keygate<Bindings extends object = object>(
  options: KeygateHonoOptions<Bindings>,
): MiddlewareHandler<{ Bindings: Bindings; Variables: KeygateVariables }>;

/**
 * What `onRefused: 'throw'` throws: an HTTPException with the refusal's status, whose
 * `getResponse()` is the default refusal response, carrying the refusal (also as `cause`).
 */
export declare class KeygateHTTPException extends HTTPException {
  readonly decision: EdgeRefusal;
  constructor(decision: EdgeRefusal);
}

/** The default bound of a signed body the middleware hashes (`maxBodyBytes`): 8 MiB. */
export declare const MAX_BODY_BYTES: number;
/** The default bound of a webhook delivery's body (`maxWebhookBodyBytes`): 1 MiB. */
export declare const MAX_WEBHOOK_BODY_BYTES: number;

/** The default response to a refusal (status, JSON `{"error", "message"}`, headers, no-store). */
export declare function refusalResponse(decision: EdgeRefusal): Response;

/**
 * After `keygate()`: answers 403 `scope_missing` (JSON `{"error", "message"}`) for a request
 * whose key lacks one of `scopes` (`orders:*` grants `orders:write`):
 * `app.post('/api/orders', requireScopes('orders:write'), handler)`.
 */
export declare function requireScopes(...scopes: [string, ...string[]]): MiddlewareHandler<{ Variables: KeygateVariables }>;

export { hasScope } from './index.js';
