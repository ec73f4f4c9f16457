// Sharded mode with a coordinator (coordinator/shards.js): where an isolate reads a shard,
// and how shards are uploaded through the key set endpoint.
//
// A shard is read from Workers KV (`keyset/blob/<sha256>`, published by the coordinator's
// alarm) and, when KV does not have it yet or its copy did not hash to the digest the signed
// manifest names (`retry`), from the coordinator: one storage read per cold shard either way.

import { WireRefusal } from './wire.js';
import { base64url } from './errors.js';
import { refusalOf, storeTimedOut } from './coordinator-binding.js';
import { ReadTimeout, bounded } from './deadline.js';

/** The largest shard (coordinator/shards.js MAX_SHARD_BYTES). */
export const MAX_SHARD_BYTES = 1024 * 1024;

/** A whole number from env, or the default. */
function envCount(v, dflt, min) {
  const n = Number(v);
  return v !== undefined && v !== '' && Number.isSafeInteger(n) && n >= min ? n : dflt;
}

/**
 * The `shards` option of Keygate.load for this environment, or undefined without a
 * coordinator: KEYGATE_SHARD_CACHE_KEYS (100,000), KEYGATE_SHARD_CACHE_SHARDS (512) and
 * KEYGATE_SHARD_LOADS_PER_SECOND (50, bursts of twice that) bound what one isolate holds and
 * reads; KEYGATE_SHARD_UNPROVEN_LOADS_PER_SECOND (half of that, rounded up; bursts of twice
 * it) how much of it credentials not seen proven on the isolate may take. A read is bounded by
 * the binding's `timeoutSeconds` (KEYGATE_STORAGE_TIMEOUT_SECONDS, 5 s): KV gets half of it
 * (then the coordinator is asked), the whole read the rest; past it the request fails closed
 * with 503 shard_unavailable and the next one reads the shard again.
 */
export function shardSource(env, c, cacheTtl) {
  if (!c) return undefined;
  const perSecond = envCount(env?.KEYGATE_SHARD_LOADS_PER_SECOND, 50, 0);
  const unproven = envCount(env?.KEYGATE_SHARD_UNPROVEN_LOADS_PER_SECOND, Math.ceil(perSecond / 2), 0);
  return {
    maxKeys: envCount(env?.KEYGATE_SHARD_CACHE_KEYS, 100_000, 1),
    maxShards: envCount(env?.KEYGATE_SHARD_CACHE_SHARDS, 512, 9),
    loadsPerSecond: perSecond,
    burst: Math.max(1, 2 * perSecond),
    unprovenLoadsPerSecond: unproven,
    unprovenBurst: Math.max(1, 2 * unproven),
    readTimeoutSeconds: c.timeoutSeconds,
    async load({ sha256, retry }) {
      if (c.kv && !retry) {
        // A KV read that hangs leaves the rest of the bound to the coordinator.
        const read = c.kv.get(`keyset/blob/${sha256}`, { type: 'arrayBuffer', cacheTtl });
        const v = await bounded(read, (c.timeoutSeconds * 1000) / 2, 'KV').catch(() => null);
        if (v !== null && v !== undefined) return v;
      }
      const bytes = await c.namespace.getByName(c.name).readShard(sha256);
      if (!bytes) throw new Error(`the coordinator holds no shard ${sha256} in use`);
      return bytes;
    },
  };
}

/**
 * Uploads shards: `body` holds shard files (as `keygate keyset shard` writes them), one per
 * line. Each is hashed here and stored by the coordinator only when a manifest pushed there
 * names it. Resolves to `{ stored, known }`; throws a WireRefusal (`shard_not_staged`,
 * `payload_too_large` for a shard over MAX_SHARD_BYTES, `shard_mismatch` for an empty body,
 * `keyset_store_timeout` when the coordinator does not answer within the storage bound).
 */
export async function uploadShards(c, body) {
  const list = [];
  let at = 0;
  while (at < body.byteLength) {
    let end = body.indexOf(0x0a, at);
    if (end === -1) end = body.byteLength;
    const bytes = body.subarray(at, end);
    at = end + 1;
    if (bytes.byteLength === 0) continue;
    if (bytes.byteLength > MAX_SHARD_BYTES) {
      throw new WireRefusal('payload_too_large', `a shard is at most ${MAX_SHARD_BYTES} bytes (cut the set with more --bits)`);
    }
    list.push({ sha: base64url(await crypto.subtle.digest('SHA-256', bytes)), bytes: bytes.slice() });
  }
  if (list.length === 0) throw new WireRefusal('shard_mismatch', 'no shard in the body (one shard file per line)');
  let r;
  try {
    r = await bounded(c.namespace.getByName(c.name).putShards(list), c.timeoutSeconds * 1000, 'the coordinator');
  } catch (e) {
    // Shards are content-addressed: one stored late is the same bytes an upload again sends.
    if (e instanceof ReadTimeout) throw storeTimedOut(`the upload of ${list.length} shards`, c.timeoutSeconds);
    throw e;
  }
  if (r.error) throw refusalOf(r);
  return r;
}
