// keygate/hono: Hono middleware.
import type { Context, MiddlewareHandler } from 'hono';
import type { AllowedDecision } from './index.js';
import type { EdgeOptions } from './edge.js';

export type { DecisionLogRecord, KeySetLogRecord, LogRecord, EdgeOptions } from './edge.js';

/** Declare these in your app's Variables to type `c.get('keygate')`. */
export interface KeygateVariables {
  keygate: AllowedDecision;
}

export interface KeygateHonoOptions<Bindings> extends EdgeOptions<Bindings> {
  /** The client address (default: the CF-Connecting-IP header). */
  clientIp?: (c: Context) => string | null | undefined;
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
