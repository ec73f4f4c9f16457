// Options shared by keygate/worker and keygate/hono.
import type { KeySetInput, LoadOptions, NonceStore, PublisherKeys, SealKeys } from './index.js';

/** One JSON line per decision (never a secret, a key or a query string). */
export interface DecisionLogRecord {
  readonly time: string;
  readonly event: 'keygate.decision';
  readonly allowed: boolean;
  readonly status: number;
  readonly reason: string | null;
  readonly key_id: string | null;
  readonly client_ip: string | null;
  readonly method: string;
  readonly route: string | null;
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
    | 'keygate.keyset_store_failed';
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
  /** true (default): console.log one JSON line per record; false: silent; or your sink. */
  log?: boolean | ((record: LogRecord) => void);
  onWarning?: LoadOptions['onWarning'];
  /**
   * A shared replay store (or a function of env returning one, e.g. a Durable Object stub
   * wrapper): nonces of allowed signed requests are claimed there, so a replay routed to
   * another isolate is refused too. A failing store answers 503 (fail closed).
   */
  nonceStore?: NonceStore | ((env: Env) => NonceStore | null | undefined);
}
