// keygate/worker: withKeygate for module Workers.
import type { AllowedDecision } from './index.js';
import type { EdgeOptions } from './edge.js';

export type { DecisionLogRecord, KeySetLogRecord, LogRecord, EdgeOptions } from './edge.js';

/** The part of a Workers ExecutionContext that keygate uses. */
export interface WaitUntilContext {
  waitUntil(promise: Promise<unknown>): void;
}

export type KeygateHandler<Env, Ctx> = (
  request: Request,
  env: Env,
  ctx: Ctx,
  decision: AllowedDecision,
) => Response | Promise<Response>;

export interface KeygateWorker<Env, Ctx> {
  fetch(request: Request, env: Env, ctx: Ctx): Promise<Response>;
}

/**
 * Wraps a fetch handler: refusals are answered (status, JSON `{"error", "message"}`, headers),
 * allowed requests reach `handler` with their decision. Options are checked here, once.
 */
export declare function withKeygate<Env = unknown, Ctx extends WaitUntilContext = WaitUntilContext>(
  handler: KeygateHandler<Env, Ctx>,
  options: EdgeOptions<Env>,
): KeygateWorker<Env, Ctx>;

/** The decision of a request that withKeygate let through. */
export declare function getDecision(request: Request): AllowedDecision | undefined;
