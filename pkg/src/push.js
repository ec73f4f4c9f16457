// The key set endpoint of a Worker built with withKeygate (the gateway mounts it at
// `/.well-known/keygate/keyset`).
//
//   GET  → 200 {"revision", "issued_at", "payload_sha256", "keys"} (never a secret or a
//          digest of one), or 503 keyset_unavailable when no set is loaded.
//   PUT  → a signed JWS envelope. 200 {"revision", "keys", "changed"}; else, checked in this
//          order, 400 envelope_invalid, 401 envelope_signature_invalid, 400 keyset_invalid
//          (with every error and its path), 400 audience_mismatch, 409 keyset_rollback (with
//          current_revision), 409 envelope_stale (no issued_at, or older than the maximum
//          age, or in the future). 404 when pushes are disabled (no publisher key, or nowhere
//          to store the set); 429 push_in_progress (Retry-After) while this isolate is
//          reading or applying another push, before this one's body is read; 413 beyond the
//          body bound (MAX_PUSH_BYTES unless configured lower); 408 push_timeout when the body
//          has not arrived whole within the read deadline (PUSH_READ_TIMEOUT_SECONDS unless
//          configured), so a client trickling its body cannot hold the push slot.
//
// An accepted envelope that moved the revision forward replaces this isolate's set
// atomically (Keygate.update) and is then stored (Workers KV), from where every other isolate
// picks it up on its next refresh. The same envelope again answers 200 and is not stored
// (unless its first write failed or timed out): only what advanced is ever written. The
// signature is checked over the envelope's text before its payload is decoded or parsed, so a
// forged push costs about its own size in memory, and only one push body is held at a time,
// for at most the read deadline.
//
// Every storage write of a push (the store's write, the coordinator's commit, a shard upload)
// is bounded by the storage bound (`storageTimeoutSeconds`, KEYGATE_STORAGE_TIMEOUT_SECONDS,
// 5 s): past it the push answers 504 keyset_store_timeout (the outcome is unknown: the write
// may still land) and the push slot is free again. A store's write that lands late, after a
// newer set was written here, is undone by writing the newer set again (KV has no
// compare-and-swap); a late commit of the coordinator is judged by revision there and can
// never move it back.

import { KeygateError, callWasm } from './errors.js';
import { unavailable } from './edge.js';
import { PREPARE } from './keygate.js';
import { wasm } from './wasm/facade.js';
import { WireRefusal, errorResponse, jsonResponse } from './wire.js';
import { ReadTimeout, bounded } from './deadline.js';

export const KEYSET_PATH = '/.well-known/keygate/keyset';

/** Where a sharded set's shards are uploaded (PUT, one shard file per line; coordinator only). */
export const KEYSET_SHARDS_PATH = '/.well-known/keygate/keyset/shards';

/** The largest envelope a push may carry by default: 16 MiB. */
export const MAX_PUSH_BYTES = 16 * 1024 * 1024;

/** The highest bound that may be configured: 24 MiB (a Workers KV value holds 25 MiB). */
export const MAX_PUSH_BYTES_LIMIT = 24 * 1024 * 1024;

/** A configured bound (bytes) if it is a positive integer up to the limit, else the default. */
export function pushBound(value) {
  const n = Number(value);
  return value !== undefined && Number.isInteger(n) && n > 0 && n <= MAX_PUSH_BYTES_LIMIT ? n : MAX_PUSH_BYTES;
}

/** How old a pushed set's `issued_at` may be by default: 15 minutes. */
export const MAX_PUSH_AGE_SECONDS = 15 * 60;

/** The highest maximum age that may be configured: 7 days. */
export const MAX_PUSH_AGE_SECONDS_LIMIT = 7 * 24 * 3600;

/** A configured maximum age (seconds) if it is an integer from 1 to the limit, else the default. */
export function pushMaxAge(value) {
  const n = Number(value);
  return value !== undefined && value !== '' && Number.isInteger(n) && n > 0 && n <= MAX_PUSH_AGE_SECONDS_LIMIT
    ? n
    : MAX_PUSH_AGE_SECONDS;
}

/** How long a push body may take to arrive, by default: 30 seconds from the start of its read. */
export const PUSH_READ_TIMEOUT_SECONDS = 30;

/** The longest read deadline that may be configured: 5 minutes. */
export const PUSH_READ_TIMEOUT_SECONDS_LIMIT = 300;

/** A configured read deadline (seconds) if it is an integer from 1 to the limit, else the default. */
export function pushReadTimeout(value) {
  const n = Number(value);
  return value !== undefined && value !== '' && Number.isInteger(n) && n > 0 && n <= PUSH_READ_TIMEOUT_SECONDS_LIMIT
    ? n
    : PUSH_READ_TIMEOUT_SECONDS;
}

/** Seconds a client is asked to wait before pushing again while another push is applied. */
const PUSH_RETRY_AFTER_SECONDS = 1;

function busy() {
  return errorResponse(
    'push_in_progress',
    'another key set push is being applied here; push again in a moment (the body was not read)',
    { headers: { 'retry-after': String(PUSH_RETRY_AFTER_SECONDS) } },
  );
}

function tooLarge(max) {
  return errorResponse('payload_too_large', `a key set push may carry at most ${max} bytes`, { fields: { max_bytes: max } });
}

function timedOut(seconds) {
  return errorResponse(
    'push_timeout',
    `a key set push body must arrive whole within ${seconds} seconds; it did not, and the rest was not read`,
    { fields: { timeout_seconds: seconds } },
  );
}

/** What boundedBody answers instead of bytes: the body grew past the bound, or came too slowly. */
const TOO_LARGE = Symbol('too large');
const TIMED_OUT = Symbol('timed out');

/**
 * The body's bytes; TOO_LARGE once it grows past `max`, TIMED_OUT when it has not ended
 * `seconds` after the read began. Either way the rest is not read: the stream is cancelled.
 */
async function boundedBody(request, max, seconds) {
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > max) return TOO_LARGE;
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  let timer;
  const deadline = new Promise((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), seconds * 1000);
  });
  const chunks = [];
  let size = 0;
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), deadline]);
      if (next === TIMED_OUT) {
        // Not awaited: a stalled stream need not settle its cancellation either.
        reader.cancel().catch(() => {});
        return TIMED_OUT;
      }
      const { done, value } = next;
      if (done) break;
      size += value.byteLength;
      if (size > max) {
        await reader.cancel().catch(() => {});
        return TOO_LARGE;
      }
      chunks.push(value);
    }
  } catch (e) {
    reader.cancel().catch(() => {});
    throw e;
  } finally {
    clearTimeout(timer);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** The refusal of a push, answered from the KeygateError the verifier threw. */
function refused(e) {
  if (e instanceof WireRefusal) return errorResponse(e.error, e.message, { fields: e.fields, headers: e.headers });
  if (!(e instanceof KeygateError) || e.error === undefined) {
    // Not a refusal of the envelope (a configuration fault, a trap): fail with a code, and
    // keep the cause in the server's log rather than in the answer.
    console.error(JSON.stringify({ event: 'keygate.push_error', code: e?.code ?? null, message: String(e?.message ?? e) }));
    return errorResponse('internal_error', 'the key set could not be applied; see the gateway log');
  }
  const fields = {};
  if (e.error === 'keyset_invalid') fields.errors = e.errors.map((x) => ({ path: x.path, message: x.message }));
  if (e.error === 'keyset_rollback' || e.error === 'delta_base_mismatch') fields.current_revision = e.currentRevision;
  if (e.error === 'delta_base_mismatch') fields.current_payload_sha256 = e.currentPayloadSha256 ?? null;
  return errorResponse(e.error, e.message, { fields });
}

/**
 * Answers a request to KEYSET_PATH (public as `worker.keySetEndpoint`, keygate/worker).
 * `pushTarget(env)` returns `{ store, maxBytes?, maxAgeSeconds?, readTimeoutSeconds? }`
 * (`store` keeps an accepted envelope, as text, for the other isolates), or null: pushes
 * disabled.
 */
export async function keySetEndpoint(request, env, waitUntil, source, pushTarget) {
  if (request.method === 'GET' || request.method === 'HEAD') {
    const gate = await source.get(env, waitUntil);
    if (!gate) return unavailable(source);
    const { revision, issuedAt, payloadSha256, keys } = gate.info;
    const status = source.status?.(env) ?? { mode: 'kv' };
    const s = gate.shards;
    // Sharded mode: what this isolate's shard cache holds and did.
    const shards = s && { held: s.held, keys: s.keys, loads: s.loads, evictions: s.evictions, refused: s.refused, changed: s.changed, bits: s.bits, proven: s.proven };
    return jsonResponse(200, { revision, issued_at: issuedAt, payload_sha256: payloadSha256, keys, ...status, ...(shards ? { shards } : {}) });
  }
  if (request.method !== 'PUT') {
    return errorResponse('method_not_allowed', `${KEYSET_PATH} takes GET or PUT`, { headers: { allow: 'GET, HEAD, PUT' } });
  }
  const target = source.publisherKeys(env) ? pushTarget(env) : null;
  if (!target || !(target.store || source.coordinated?.(env))) {
    return errorResponse(
      'not_found',
      'key set pushes are disabled: they need pinned publisher keys (KEYGATE_PUBLISHER_KEYS) and somewhere to keep them (the KEYGATE_COORDINATOR or KEYGATE_KV binding)',
    );
  }
  // One push at a time per isolate, refused before its body is read: concurrent pushes
  // cannot each buffer up to the bound.
  const release = source.beginPush();
  if (!release) return busy();
  try {
    return await applyPush(request, env, waitUntil, source, target);
  } finally {
    release();
  }
}

/**
 * Answers a request to KEYSET_SHARDS_PATH (public as `worker.shardEndpoint`): PUT uploads
 * shards of a sharded key set (shard files, one per line, within the push bound) to the
 * coordinator, which keeps only those a pushed manifest names; 200 `{"stored", "known"}`.
 * 404 without publisher keys or a coordinator; 429 while this isolate handles another push.
 * Publishing a sharded set: push the signed manifest (409 shards_missing lists what is not
 * uploaded), upload those shards here, push the manifest again.
 */
export async function shardEndpoint(request, env, source, pushTarget) {
  if (request.method !== 'PUT') {
    return errorResponse('method_not_allowed', `${KEYSET_SHARDS_PATH} takes PUT`, { headers: { allow: 'PUT' } });
  }
  const target = source.publisherKeys(env) ? pushTarget(env) : null;
  if (!target || !source.coordinated?.(env)) {
    return errorResponse('not_found', 'shard uploads need pinned publisher keys (KEYGATE_PUBLISHER_KEYS) and the coordinator (KEYGATE_COORDINATOR)');
  }
  const release = source.beginPush();
  if (!release) return busy();
  try {
    const max = pushBound(target.maxBytes);
    const seconds = pushReadTimeout(target.readTimeoutSeconds);
    const bytes = await boundedBody(request, max, seconds);
    if (bytes === TOO_LARGE) return tooLarge(max);
    if (bytes === TIMED_OUT) return timedOut(seconds);
    const r = await source.uploadShards(env, bytes);
    return jsonResponse(200, { stored: r.stored, known: r.known });
  } catch (e) {
    return refused(e);
  } finally {
    release();
  }
}

/**
 * Without a coordinator there is no strongly consistent place to chain deltas (KV is eventually
 * consistent): a delta is judged like any push (envelope, signature, content, revision, base,
 * freshness), then refused with delta_requires_coordinator.
 */
async function refuseDelta(source, env, bytes, maxAgeSeconds) {
  const gate = await source.get(env);
  if (gate) (await gate[PREPARE](bytes, { maxAgeSeconds })).discard();
  throw new WireRefusal(
    'delta_requires_coordinator',
    'this gateway keeps its key set in Workers KV only, where deltas cannot be chained safely: push the full set, or bind the coordinator (docs/deployment.md)',
  );
}

async function applyPush(request, env, waitUntil, source, target) {
  const max = pushBound(target.maxBytes);
  const seconds = pushReadTimeout(target.readTimeoutSeconds);
  const bytes = await boundedBody(request, max, seconds);
  if (bytes === TOO_LARGE) return tooLarge(max);
  if (bytes === TIMED_OUT) return timedOut(seconds);
  const maxAgeSeconds = pushMaxAge(target.maxAgeSeconds);
  let result;
  try {
    if (!source.coordinated?.(env) && callWasm(() => wasm.isDelta(bytes))) await refuseDelta(source, env, bytes, maxAgeSeconds);
    result = await source.push(env, bytes, { maxAgeSeconds });
  } catch (e) {
    return refused(e);
  }
  if (result.store && target.store) {
    const failed = await store(env, source, target, { revision: result.revision, text: result.text }, waitUntil);
    if (failed) return failed;
  }
  return jsonResponse(200, { revision: result.revision, keys: result.keys, changed: result.changed });
}

/**
 * Writes `set` (`{ revision, text }`, the set in use here) through `target.store`, bounded by
 * the storage bound. Resolves to null once written, else to the answer of the push: 503
 * keyset_store_failed (the write failed), 504 keyset_store_timeout (no answer within the bound:
 * the write may still land; its late answer is handled by `lateWrite`, kept alive by
 * `waitUntil`). Either way the set stays to be written: the same envelope pushed again is.
 */
async function store(env, source, target, set, waitUntil) {
  const seconds = source.storageTimeoutSeconds(env);
  const l = source.writes;
  l.begin(set);
  const write = Promise.resolve().then(() => target.store(set.text));
  try {
    await bounded(write, seconds * 1000, 'the key set store');
    source.stored();
    return null;
  } catch (e) {
    source.notStored();
    if (e instanceof ReadTimeout) {
      l.doubt();
      source.log('keyset_store_timeout', { revision: set.revision, timeout_seconds: seconds });
      // Run whether or not there is a waitUntil to keep it alive: it settles the ledger.
      const late = lateWrite(env, source, target, set.revision, write);
      waitUntil?.(late);
      return errorResponse(
        'keyset_store_timeout',
        `revision ${set.revision} is in use here, but the key set store did not answer within ${seconds} s: whether it was stored for the other isolates is unknown (the write may still land); push the same envelope again (that retry is written)`,
        { fields: { revision: set.revision, timeout_seconds: seconds } },
      );
    }
    source.log('keyset_store_failed', { revision: set.revision, message: String(e?.message ?? e) });
    return errorResponse(
      'keyset_store_failed',
      `revision ${set.revision} is in use here but could not be stored for the other isolates; push it again`,
    );
  }
}

/**
 * The late answer of a write of `revision` that timed out (never rejects). When a newer set
 * was written here meanwhile, the late write may have overwritten it (a store such as Workers
 * KV keeps the last write it received): the newer set is written again, if it is still the set
 * in use here (one this isolate has since replaced by reading the store is not written back).
 * That write is followed the same way: one that times out too has its own late answer waited
 * for here, and one of a set that a push overtook while it was in flight (its order against
 * the push's own write is unknown) is followed by the newest set again. Only then is the
 * write no longer in doubt (and the newest set's bytes released once none is).
 */
async function lateWrite(env, source, target, revision, write) {
  const landed = await write.then(
    () => true,
    () => false,
  );
  const l = source.writes;
  try {
    source.log('keyset_store_late', { revision, landed, newest_revision: l.newest?.revision ?? null });
    let last = revision;
    for (;;) {
      const now = l.newest;
      if (!now?.text || now.revision <= last) return;
      const gate = await source.get(env);
      if (gate?.revision !== now.revision) return;
      const later = [];
      await store(env, source, target, now, (p) => later.push(p));
      await Promise.all(later);
      last = now.revision;
    }
  } catch {
    // (a failing log sink); a failed write is logged by store, and the set stays to be
    // written by the next push of it
  } finally {
    l.settled();
  }
}
