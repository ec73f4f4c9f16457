// keygate/hono: Hono middleware.
import type { Context, Env as HonoEnv, MiddlewareHandler } from 'hono';
import type { AllowedDecision } from './index.js';
import type { EdgeOptions } from './edge.js';

export type { DecisionLogRecord, KeySetLogRecord, LogRecord, EdgeOptions } from './edge.js';

export interface KeygateVariables {
  keygate: AllowedDecision;
}

export interface KeygateHonoOptions<E extends HonoEnv> extends EdgeOptions<E['Bindings']> {
  /** The client address (default: the CF-Connecting-IP header). */
  clientIp?: (c: Context<E>) => string | null | undefined;
}

/** Refuses requests keygate refuses; sets `c.get('keygate')` for the others. */
export declare function keygate<E extends HonoEnv = HonoEnv>(
  options: KeygateHonoOptions<E>,
): MiddlewareHandler<E & { Variables: KeygateVariables }>;
