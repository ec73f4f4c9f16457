// keygate/gateway: the ready gateway Worker (KV `KEYGATE_KV` key `keyset`, else the
// KEYGATE_KEYSET var; echo mode, or a proxy to ORIGIN_URL; GET/PUT of signed key sets at
// /.well-known/keygate/keyset when KEYGATE_PUBLISHER_KEYS is set).
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

declare const gateway: KeygateWorker<GatewayEnv, WaitUntilContext>;
export default gateway;
