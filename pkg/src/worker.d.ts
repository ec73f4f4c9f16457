// keygate/worker: withKeygate for module Workers.
import type { AllowedDecision } from './index.js';
import type { EdgeOptions, EdgeRefusal } from './edge.js';

export type { DecisionLogRecord, EdgeRefusal, EdgeRefusalCode, KeySetLogRecord, LogRecord, EdgeOptions } from './edge.js';

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
  /** Decides the request; a refusal is answered here, an allowed request reaches the handler. */
  fetch(request: Request, env: Env, ctx: Ctx): Promise<Response>;
  /**
   * The key set endpoint for this Worker's key set, wherever you route it (usually
   * `KEYSET_PATH`): GET/HEAD → 200 `{revision, issued_at, payload_sha256, keys, mode}` (`mode`:
   * "kv", "coordinator" or "kv_fallback", with `synced_at` where a coordinator is bound; 503
   * `keyset_unavailable` when none is loaded); PUT → a signed envelope, applied and, when it
   * moved the revision forward, stored through `options.push` (200 `{revision, keys,
   * changed}`; 404 `not_found` unless publisher keys are pinned and `push` gives a target;
   * 429 `push_in_progress` with `Retry-After` while another push is applied; 408
   * `push_timeout` when the body does not arrive within the read deadline; 504
   * `keyset_store_timeout` when its storage write does not answer within
   * `storageTimeoutSeconds` (outcome unknown; push it again); refusals:
   * docs/deployment.md); other methods → 405. No API key is checked: a push is
   * authenticated by its publisher signature.
   */
  keySetEndpoint(request: Request, env: Env, ctx: Ctx): Promise<Response>;
  /**
   * The shard upload endpoint of a sharded key set (mount it at `KEYSET_SHARDS_PATH`): PUT shard
   * files, one per line, within the push bound; the coordinator stores those a pushed manifest
   * names → 200 `{stored, known}`; 409 `shard_not_staged`, 400 `shard_mismatch`, 504
   * `keyset_store_timeout` when the coordinator does not answer within `storageTimeoutSeconds`
   * (upload the same again). 404 without the coordinator and pinned publisher keys.
   */
  shardEndpoint(request: Request, env: Env): Promise<Response>;
}

/** Where an accepted key set push is kept for the other isolates (e.g. Workers KV). */
export interface PushTarget<Env> {
  /**
   * Stores the accepted envelope (JSON text). A rejection answers 503 `keyset_store_failed`;
   * no answer within the middleware's `storageTimeoutSeconds` (default 5) answers 504
   * `keyset_store_timeout` (the write may still land; a late one that landed over a newer set
   * written since through this isolate is undone by writing that set again, kept alive by
   * `ctx.waitUntil`). Either way the same envelope pushed again is written.
   * Not used (and may be left out) where a coordinator is bound: it stores pushes itself.
   */
  store?(envelope: string, env: Env): unknown;
  /**
   * The largest push body accepted, in bytes: default `MAX_PUSH_BYTES` (16 MiB), at most
   * `MAX_PUSH_BYTES_LIMIT` (24 MiB). A fixed `push` object must give an integer in that range
   * (checked at creation); from `push(env)` a string is accepted too (an environment variable)
   * and anything out of range means the default.
   */
  maxBytes?: number | string | undefined;
  /**
   * How old a pushed set's `issued_at` may be, in seconds: default `MAX_PUSH_AGE_SECONDS` (15
   * minutes), at most `MAX_PUSH_AGE_SECONDS_LIMIT` (7 days). A set without `issued_at`, older,
   * or in the future beyond its clock skew is refused with 409 `envelope_stale`. A fixed `push`
   * object must give an integer in that range; from `push(env)` a string is accepted too and
   * anything out of range means the default.
   */
  maxAgeSeconds?: number | string | undefined;
  /**
   * How long a push body may take to arrive, in seconds from the start of its read: default
   * `PUSH_READ_TIMEOUT_SECONDS` (30), at most `PUSH_READ_TIMEOUT_SECONDS_LIMIT` (300). A body
   * not whole by then is refused with 408 `push_timeout`, its stream cancelled and the push slot
   * freed. A fixed `push` object must give an integer in that range; from `push(env)` a string
   * is accepted too and anything out of range means the default.
   */
  readTimeoutSeconds?: number | string | undefined;
}

/** A Durable Object namespace bound to the KeygateCoordinator class (keygate/coordinator). */
export interface CoordinatorNamespace {
  getByName(name: string): unknown;
}

/** A bound coordinator and how to use it. */
export interface CoordinatorBinding {
  namespace: CoordinatorNamespace;
  /** The instance holding the key set: default "keyset". A new name starts a new high-water mark. */
  name?: string;
  /** The KV namespace the coordinator publishes to (cold starts read the base there by digest). */
  kv?: { get(key: string, options: { type: 'arrayBuffer'; cacheTtl?: number }): Promise<ArrayBuffer | null> } | null;
  /**
   * A cold isolate that cannot reach the coordinator answers 503 `keyset_unavailable` instead
   * of loading `keySet` (KV, the variable) under KV-only guarantees. Default false.
   */
  require?: boolean | string;
  /** How many instances hold the global nonce store's claims: default 16. */
  nonceShards?: number | string;
}

/** What `onRefused` gets besides the refusal: the fetch handler's arguments. */
export interface RefusalContext<Env, Ctx> {
  readonly request: Request;
  readonly env: Env;
  readonly ctx: Ctx;
}

export interface WorkerOptions<Env, Ctx = WaitUntilContext> extends EdgeOptions<Env> {
  /**
   * Answers refusals instead of the default (the decision's status, JSON
   * `{"error", "message"}` and its headers; `refusalResponse(decision)` builds that). Must
   * return a Response; an exception it throws propagates out of `fetch`.
   */
  onRefused?: (decision: EdgeRefusal, context: RefusalContext<Env, Ctx>) => Response | Promise<Response>;
  /**
   * The presented API key (null/undefined: none), instead of `Authorization: Bearer` /
   * `X-API-Key`, which then never count as credentials. The key is checked by the verifier's
   * own rules. Not together with `keyHeader`.
   */
  getKey?: (request: Request, env: Env, ctx: Ctx) => string | null | undefined | Promise<string | null | undefined>;
  /**
   * The client address for IP rules (null/undefined: unknown, and allow lists fail closed).
   * Without it: CF-Connecting-IP inside workerd, no address anywhere else.
   */
  clientIp?: (request: Request, env: Env, ctx: Ctx) => string | null | undefined | Promise<string | null | undefined>;
  /**
   * The URL the client used, when it differs from `request.url` (behind a TLS-terminating
   * proxy): the public origin (`"https://api.example.com"`; the request's path and query are
   * kept), or a function returning the whole absolute URL. Signatures over `@target-uri`,
   * `@authority` and `@scheme` are checked against it, and routes are matched on its path.
   */
  requestUrl?: string | URL | ((request: Request, env: Env, ctx: Ctx) => string | URL | Promise<string | URL>);
  /**
   * Enables `PUT` on `keySetEndpoint` (with `publisherKeys` pinned): a target, or a function of
   * env returning one (null/undefined: pushes disabled in that environment).
   */
  push?: PushTarget<Env> | ((env: Env) => PushTarget<Env> | null | undefined);
  /**
   * The KeygateCoordinator of this environment, or null/undefined where none is bound (then
   * the key set comes from `keySet` alone, as without this option). Where bound: isolates
   * poll it every `refreshSeconds` (default 5), pushes are committed there (deltas too), and
   * unless `nonceStore` is given, nonces are claimed there (single use across isolates).
   */
  coordinator?: (env: Env) => CoordinatorNamespace | CoordinatorBinding | null | undefined;
}

/**
 * Wraps a fetch handler: refusals are answered (status, JSON `{"error", "message"}`, headers),
 * allowed requests reach `handler` with their decision. Options are checked here, once.
 */
export declare function withKeygate<Env = unknown, Ctx extends WaitUntilContext = WaitUntilContext>(
  handler: KeygateHandler<Env, Ctx>,
  options: WorkerOptions<Env, Ctx>,
): KeygateWorker<Env, Ctx>;

/**
 * A handler that answers 403 `scope_missing` (JSON `{"error", "message"}`) when the request's
 * key lacks one of `scopes` (`orders:*` grants `orders:write`), and runs `handler` otherwise:
 * `withKeygate(requireScopes('orders:write')(handler), options)`.
 */
export declare function requireScopes(
  ...scopes: [string, ...string[]]
): <Env, Ctx>(handler: KeygateHandler<Env, Ctx>) => KeygateHandler<Env, Ctx>;

export { hasScope } from './index.js';

/** The default bound of a signed body the middleware hashes (`maxBodyBytes`): 8 MiB. */
export declare const MAX_BODY_BYTES: number;
/** The default bound of a webhook delivery's body (`maxWebhookBodyBytes`): 1 MiB. */
export declare const MAX_WEBHOOK_BODY_BYTES: number;

/**
 * The default response to a refusal: its status, JSON `{"error", "message"}`, its headers
 * (`WWW-Authenticate` on 401s), `cache-control: no-store`. For `onRefused` to start from.
 */
export declare function refusalResponse(decision: EdgeRefusal): Response;

/** `/.well-known/keygate/keyset`: where the gateway mounts `keySetEndpoint`. */
export declare const KEYSET_PATH: '/.well-known/keygate/keyset';
/** `/.well-known/keygate/keyset/shards`: where the gateway mounts `shardEndpoint`. */
export declare const KEYSET_SHARDS_PATH: '/.well-known/keygate/keyset/shards';
/** The default push body bound: 16 MiB. */
export declare const MAX_PUSH_BYTES: number;
/** The highest push body bound that may be configured: 24 MiB (a Workers KV value holds 25 MiB). */
export declare const MAX_PUSH_BYTES_LIMIT: number;
/** How old a pushed set's `issued_at` may be by default: 900 seconds. */
export declare const MAX_PUSH_AGE_SECONDS: number;
/** The highest maximum push age that may be configured: 7 days. */
export declare const MAX_PUSH_AGE_SECONDS_LIMIT: number;
/** How long a push body may take to arrive by default: 30 seconds. */
export declare const PUSH_READ_TIMEOUT_SECONDS: number;
/** The longest push read deadline that may be configured: 300 seconds. */
export declare const PUSH_READ_TIMEOUT_SECONDS_LIMIT: number;

/** Every error code a keygate edge answers with itself (docs/reasons.md). */
export type WireErrorCode =
  | 'envelope_invalid'
  | 'envelope_signature_invalid'
  | 'keyset_invalid'
  | 'audience_mismatch'
  | 'keyset_rollback'
  | 'envelope_stale'
  | 'malformed_request'
  | 'keyset_unavailable'
  | 'verifier_unavailable'
  | 'body_too_large'
  | 'body_timeout'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'push_in_progress'
  | 'push_timeout'
  | 'keyset_store_failed'
  | 'keyset_store_timeout'
  | 'delta_base_mismatch'
  | 'delta_chain_full'
  | 'delta_requires_coordinator'
  | 'coordinator_unavailable'
  | 'shard_unavailable'
  | 'shards_missing'
  | 'shard_not_staged'
  | 'shard_mismatch'
  | 'internal_error'
  | 'origin_misconfigured'
  | 'origin_unreachable';

/** The HTTP status of every wire error code: the one table the middleware and the gateway use. */
export declare const WIRE_STATUS: Readonly<Record<WireErrorCode, number>>;

/**
 * The error response of a wire code: its status from WIRE_STATUS, body
 * `{"error": code, "message", ...fields}`, `cache-control: no-store`, plus `headers`.
 */
export declare function errorResponse(
  code: WireErrorCode,
  message: string,
  options?: { headers?: Record<string, string>; fields?: Record<string, unknown> },
): Response;

export interface ForwardOptions {
  /** Set on the forwarded request after the identity headers, e.g. a secret the origin checks. */
  headers?: Record<string, string> | Headers;
  /** Sends the request instead of the global fetch, e.g. an mTLS certificate binding's `fetch`. */
  fetch?: (input: URL, init: RequestInit) => Promise<Response>;
  /**
   * The client address the origin is told (`X-Forwarded-For`, `X-Real-IP`); null: none. Default:
   * the address the keygate middleware judged the decision's request with (also when `request`
   * is re-created from that one), else `CF-Connecting-IP` inside workerd, else none.
   */
  clientIp?: string | null;
}

/**
 * Forwards an allowed request to `origin` (absolute URL; its path is a prefix of the request's):
 * the path as the decision judged it (`decision.path`, canonical) with the request's query, so
 * the origin acts on the path that was decided on; method, headers and body kept, the client's `X-Keygate-*` headers removed
 * (and the hop-by-hop fields, those its `Connection` names, the path overrides `X-Original-URL` and `X-Rewrite-URL`, and
 * the client's claims of its address, host, port, prefix and scheme: `X-Forwarded-*`, `Forwarded`, `X-Real-IP`,
 * `True-Client-IP`, ...), `X-Forwarded-Host` and `X-Forwarded-Proto` set to the host and scheme keygate judged,
 * `X-Forwarded-For` and `X-Real-IP` to the client address (`options.clientIp`; absent when none is known),
 * `X-Keygate-Key-Id` and `X-Keygate-Scopes` set from the decision, then `options.headers`. Redirects are returned,
 * not followed. 502 `origin_misconfigured` / `origin_unreachable` when it cannot be forwarded.
 */
export declare function forwardToOrigin(
  request: Request,
  decision: AllowedDecision,
  origin: string | URL,
  options?: ForwardOptions,
): Promise<Response>;

/** The decision of a request that withKeygate let through. */
export declare function getDecision(request: Request): AllowedDecision | undefined;
