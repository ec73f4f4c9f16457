// keygate/gateway — deprecated: the 0.1 gateway Worker (KV `KEYGATE_KV` key `keyset`, else the
// KEYGATE_KEYSET var; echo mode, or forwarding to ORIGIN_URL; GET/PUT of signed key sets at
// /.well-known/keygate/keyset when KEYGATE_PUBLISHER_KEYS is set). Kept for Workers that
// re-export it; build your own with withKeygate (keygate/worker) or deploy the gateway
// application (docs/deployment.md).
import type { KeygateWorker, WaitUntilContext } from './worker.js';

export interface GatewayEnv {
  KEYGATE_KV?: { get(key: string): Promise<string | null>; put(key: string, value: string): Promise<void> };
  KEYGATE_KEYSET?: string;
  ORIGIN_URL?: string;
  KEYSET_REFRESH_SECONDS?: string;
  /** The largest key set push accepted, in bytes (default 16 MiB, at most 24 MiB). */
  KEYSET_MAX_BYTES?: string;
  KEYGATE_PUBLISHER_KEYS?: string;
}

/** @deprecated Build your Worker with `withKeygate` (keygate/worker), or deploy the gateway application. */
declare const gateway: Pick<KeygateWorker<GatewayEnv, WaitUntilContext>, 'fetch'>;
export default gateway;
