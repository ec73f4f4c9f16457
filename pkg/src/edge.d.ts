// Options shared by keygate/worker and keygate/hono.
import type { KeySetInput, LoadOptions, NonceStore, PublisherKeys, ReasonCode, RefusedDecision, SealKeys } from './index.js';

/** The codes of the refusals a middleware makes itself, without a decision of the verifier. */
export type EdgeRefusalCode = 'keyset_unavailable' | 'malformed_request' | 'body_too_large' | 'body_timeout' | 'verifier_unavailable' | 'shard_unavailable';

/**
 * A refusal as `onRefused` sees it: the verifier's refused decision, or one the middleware
 * made itself (`reason` from EdgeRefusalCode, `status` from WIRE_STATUS: 503, 400, 413, 408, 503, 503).
 */
export interface EdgeRefusal extends Omit<RefusedDecision, 'reason'> {
  readonly reason: ReasonCode | EdgeRefusalCode;
}

/** One JSON line per decision (never a secret, a key or a query string). */
export interface DecisionLogRecord {
  readonly time: string;
  readonly event: 'keygate.decision';
  readonly allowed: boolean;
  readonly status: number;
  readonly reason: ReasonCode | EdgeRefusalCode | null;
  readonly key_id: string | null;
  readonly client_ip: string | null;
  readonly method: string;
  readonly route: string | null;
  /** On allowed decisions when `logSample` is below 1: the share of them that is logged. */
  readonly sample_rate?: number;
}

/** Key set lifecycle events: loaded, updated, rejected (kept the old set), source and store errors. */
export interface KeySetLogRecord {
  readonly time: string;
  readonly event:
    | 'keygate.keyset_loaded'
    | 'keygate.keyset_updated'
    | 'keygate.keyset_rejected'
    | 'keygate.keyset_missing'
    | 'keygate.keyset_source_error'
    | 'keygate.keyset_store_failed'
    | 'keygate.keyset_store_timeout'
    | 'keygate.keyset_store_late';
  readonly [field: string]: string | number | null;
}

export type LogRecord = DecisionLogRecord | KeySetLogRecord;

export interface EdgeOptions<Env> {
  /**
   * The key set, or a function of the environment returning it (null/undefined: none).
   * A function is called on the first request and again every `refreshSeconds`.
   */
  keySet: KeySetInput | ((env: Env) => KeySetInput | null | undefined | Promise<KeySetInput | null | undefined>);
  /** Pinned publisher keys (or a function of env): then only signed envelopes load. */
  publisherKeys?: PublisherKeys | ((env: Env) => PublisherKeys | null | undefined);
  /**
   * The gateway this is (or a function of env, e.g. `env.KEYGATE_AUDIENCE`): then only sets
   * whose `audience` names it load, from the source and from pushes (`audience_mismatch`).
   */
  audience?: string | ((env: Env) => string | null | undefined);
  /**
   * Seal keys (or a function of env, e.g. `env.KEYGATE_SEAL_KEYS`) that open the set's
   * sealed secrets, from the source and from pushes; they never leave the wasm module.
   */
  sealKeys?: SealKeys | ((env: Env) => SealKeys | null | undefined);
  /** How often a key set function is re-read, in the background (default 30). */
  refreshSeconds?: number | ((env: Env) => number | string);
  /**
   * How long a request waits for one read of the key set's storage, in seconds (more than 0,
   * at most 60; default 5): the key set function, and with a coordinator its polls, base
   * reads, nonce claims and shard reads (the reads of one poll together: 3 × this, at most
   * 25 s). Past it the request fails closed (503
   * `keyset_unavailable` on a cold isolate, `verifier_unavailable` for a nonce claim,
   * `shard_unavailable` for a shard) and the next request reads again. The calls of your own
   * `nonceStore` are bounded by it too (503 `verifier_unavailable`; a claim it answers `true`
   * after the bound is released through its `release`, when it has one). So are the storage
   * writes of the key set endpoint (the push target's `store`, the coordinator's commit, a
   * shard upload): past it a push answers 504 `keyset_store_timeout` (the outcome is unknown)
   * and the push slot is free again. A function of env may return text (e.g.
   * `env.KEYGATE_STORAGE_TIMEOUT_SECONDS`); a value out of range there means the default.
   */
  storageTimeoutSeconds?: number | ((env: Env) => number | string | null | undefined);
  /**
   * Where records go: `true` or `'all'` (default): console.log, one JSON line each;
   * `'refusals'`: the same without allowed decisions; a function: your sink; `false`: none.
   * Refusals and key set events are always logged unless `log` is false.
   */
  log?: boolean | 'all' | 'refusals' | ((record: LogRecord) => void);
  /**
   * The share of allowed decisions logged, from 0 to 1 (default 1), chosen at random per
   * request; a logged one carries `sample_rate`. Not with `log: false` or `'refusals'`.
   */
  logSample?: number;
  onWarning?: LoadOptions['onWarning'];
  /**
   * A shared replay store (or a function of env returning one, e.g. a Durable Object stub
   * wrapper): nonces of allowed signed requests are claimed there, so a replay routed to
   * another isolate is refused too. A failing store answers 503 (fail closed).
   */
  nonceStore?: NonceStore | ((env: Env) => NonceStore | null | undefined);
  /**
   * Take the API key from this header instead of `Authorization: Bearer` / `X-API-Key`
   * (then those two never count as credentials). Not together with `getKey`.
   */
  keyHeader?: string;
  /**
   * With `keyHeader`: the authentication scheme before the key (`"Token"` for
   * `Authorization: Token <key>`), matched ignoring case; a value of another scheme holds no key.
   */
  keyPrefix?: string;
  /**
   * The largest signed body hashed, in bytes (default `MAX_BODY_BYTES`, 8 MiB), or a function
   * of env (a decimal string is accepted there; anything but an integer >= 0 means the default).
   * A signed request whose body is larger is refused 413 `body_too_large`: by Content-Length
   * before any of it is read, else at the chunk that crosses the bound.
   */
  maxBodyBytes?: number | ((env: Env) => number | string | null | undefined);
  /**
   * The largest Standard Webhooks delivery body verified, in bytes (default
   * `MAX_WEBHOOK_BODY_BYTES`, 1 MiB; never more than `maxBodyBytes`), or a function of env.
   * A delivery's body is verified before any proof (it is part of what is signed), hence its
   * own, smaller bound. Larger: 413 `body_too_large`.
   */
  maxWebhookBodyBytes?: number | ((env: Env) => number | string | null | undefined);
  /**
   * How long a body read before the decision (a webhook delivery's, a signed body's when it
   * is hashed) may take to arrive whole, in seconds from the start of that read (default 30;
   * more than 0, at most 300), or a function of env (decimal text is accepted there; a value
   * out of range means the default). Past it: 408 `body_timeout`, and the rest is not read.
   */
  bodyTimeoutSeconds?: number | ((env: Env) => number | string | null | undefined);
}
