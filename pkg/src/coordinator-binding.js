// The coordinator as withKeygate and the Hono middleware see it: the `coordinator` option, read per environment,
// and the coordinator's answers as the refusals the key set endpoint gives (coordination.js).

import { KeygateError, base64url, callWasm } from './errors.js';
import { wasm } from './wasm/facade.js';
import { WIRE_STATUS, WireRefusal } from './wire.js';

/**
 * `options.coordinator` (withKeygate, Hono's keygate()) as a function of env returning the
 * binding in use: `{ namespace, name, kv, require, nonceShards }` or null (KV-only). `where`
 * names the middleware in errors.
 */
export function coordinatorOption(option, where = 'withKeygate') {
  if (option === undefined || option === null) return () => null;
  if (typeof option !== 'function') {
    throw new KeygateError('ERR_INVALID_OPTIONS', `${where}: options.coordinator must be a function of env`);
  }
  return (env) => {
    const c = option(env);
    if (c === undefined || c === null || c === false) return null;
    const binding = typeof c.getByName === 'function' || typeof c.idFromName === 'function' ? { namespace: c } : c;
    if (!binding.namespace || typeof binding.namespace.getByName !== 'function') {
      throw new KeygateError('ERR_INVALID_OPTIONS', `${where}: options.coordinator(env) must give a Durable Object namespace or { namespace, ... }`);
    }
    return {
      namespace: binding.namespace,
      name: binding.name || 'keyset',
      kv: binding.kv ?? null,
      require: binding.require === true || binding.require === 'true',
      nonceShards: Number.isSafeInteger(Number(binding.nonceShards)) && Number(binding.nonceShards) > 0 ? Number(binding.nonceShards) : 16,
    };
  };
}

/** A coordinator's refusal of a commit as the KeygateError the endpoint answers with. */
export function refusalOf(r) {
  if (r.error === 'shards_missing') {
    return new WireRefusal('shards_missing', r.message, { fields: { missing: r.missing, missing_count: r.missing_count, current_revision: r.current_revision } });
  }
  if (r.error === 'shard_not_staged' || r.error === 'shard_mismatch') return new WireRefusal(r.error, r.message);
  const code = { keyset_rollback: 'ERR_KEYSET_ROLLBACK', delta_base_mismatch: 'ERR_DELTA_BASE', delta_chain_full: 'ERR_DELTA_CHAIN_FULL' }[r.error];
  if (!code) return new WireRefusal('internal_error', `the coordinator answered ${JSON.stringify(r.error)}: ${r.message}`);
  return new KeygateError(code, r.message, {
    error: r.error,
    status: WIRE_STATUS[r.error],
    currentRevision: r.current_revision,
    currentPayloadSha256: r.current_payload_sha256,
  });
}

/** The refusal of a push while the coordinator cannot be reached. */
export const unavailable = (e) =>
  new WireRefusal('coordinator_unavailable', `the key set coordinator could not be reached; nothing was changed, push again (${String(e?.message ?? e).slice(0, 200)})`, {
    headers: { 'retry-after': '5' },
  });

/**
 * The refusal of a push whose write to the coordinator (`what`: its commit, a shard upload)
 * did not answer within the storage bound: its outcome is unknown, it may still land.
 */
export const storeTimedOut = (what, seconds, extra = {}) =>
  new WireRefusal(
    'keyset_store_timeout',
    `the coordinator did not answer ${what} within ${seconds} s: whether it was stored is unknown (it may still land, and is judged there by revision: a late write never moves the set back); push it again`,
    { fields: { ...extra, timeout_seconds: seconds } },
  );

/** base64url SHA-256 of an envelope's payload (not verified: loading verifies). */
export async function payloadDigest(bytes) {
  return base64url(await crypto.subtle.digest('SHA-256', callWasm(() => wasm.envelopePayload(bytes))));
}
