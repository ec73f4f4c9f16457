// keygate/gateway: the ready gateway Worker (KV `KEYGATE_KV` key `keyset`, else the
// KEYGATE_KEYSET var; echo mode, or a proxy to ORIGIN_URL).
import type { KeygateWorker, WaitUntilContext } from './worker.js';

export interface GatewayEnv {
  KEYGATE_KV?: { get(key: string): Promise<string | null> };
  KEYGATE_KEYSET?: string;
  ORIGIN_URL?: string;
  KEYSET_REFRESH_SECONDS?: string;
  KEYGATE_PUBLISHER_KEYS?: string;
}

declare const gateway: KeygateWorker<GatewayEnv, WaitUntilContext>;
export default gateway;
