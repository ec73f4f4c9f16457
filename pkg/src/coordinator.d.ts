// keygate/coordinator: the KeygateCoordinator Durable Object class (workerd only).
//
// Export it from your Worker's main module, bind it (a `durable_objects` binding plus a
// `new_sqlite_classes` migration), and give withKeygate `coordinator: (env) => env.BINDING`:
// pushes are then ordered by it (a high-water mark that never decreases), every isolate follows
// it within the refresh interval, deltas are accepted, and nonces are single-use across
// isolates. docs/deployment.md, "Modes and guarantees".

/** A key set state: its revision and the base64url SHA-256 of its key set JSON. */
export interface KeySetState {
  readonly revision: number;
  readonly payloadSha256: string;
}

/** The coordinator's high-water mark. */
export interface CoordinatorHead extends KeySetState {
  /** The newest full set (the chain's start). */
  readonly base: KeySetState;
  /** How many deltas were pushed since the base, and their bytes. */
  readonly deltas: number;
  readonly chainBytes: number;
  /** The newest revision published to Workers KV. */
  readonly published: number;
}

export type PollAnswer =
  | { readonly status: 'empty' }
  | { readonly status: 'current'; readonly head: CoordinatorHead }
  | { readonly status: 'deltas'; readonly head: CoordinatorHead; readonly deltas: readonly string[] }
  | { readonly status: 'base'; readonly head: CoordinatorHead; readonly base: KeySetState; readonly deltas: readonly string[] };

/** An update an isolate verified, as it is committed. */
export interface CoordinatorUpdate extends KeySetState {
  readonly kind: 'full' | 'delta';
  /** A delta's base; null for a full set. */
  readonly base: KeySetState | null;
  /** The envelope as pushed. */
  readonly bytes: Uint8Array;
}

export type CommitAnswer =
  | { readonly changed: boolean; readonly revision: number; readonly payloadSha256: string }
  | {
      readonly error: 'keyset_rollback' | 'delta_base_mismatch' | 'delta_chain_full';
      readonly message: string;
      readonly current_revision?: number;
      readonly current_payload_sha256?: string;
    };

/**
 * The single writer of a gateway's key set (one instance per name), and the shards of its
 * global nonce store (instances named `<name>:nonce:<n>`). Its methods are called over RPC by
 * keygate/worker; they are listed for monitoring and custom Workers.
 */
export declare class KeygateCoordinator {
  constructor(ctx: unknown, env: unknown);
  /** The Workers KV namespace accepted updates are published to (default `env.KEYGATE_KV`). */
  kv(): unknown;
  head(): CoordinatorHead | null;
  poll(state: KeySetState | null): PollAnswer;
  readBlob(payloadSha256: string): Uint8Array | null;
  /**
   * With `seed`, only an empty coordinator takes it; a seed's `deltas` (each on top of the one
   * before, the first on top of `update`) are committed with it, all or nothing.
   */
  commit(update: CoordinatorUpdate, options?: { seed?: boolean; deltas?: readonly CoordinatorUpdate[] }): Promise<CommitAnswer>;
  claimNonce(fingerprint: Uint8Array, expiresAtMs: number): Promise<boolean>;
  alarm(): Promise<void>;
}
