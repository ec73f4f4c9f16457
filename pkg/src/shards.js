// Sharded mode in JS (src/sharded/ in the core): reading the shards a decision needs, within a
// cold-load budget. The wasm module names what it needs (kind NEED_SHARDS: each shard's name
// and the SHA-256 the signed manifest gives it) and uses a shard only when it hashes to that
// digest; this side only fetches bytes and bounds how many fetches requests can cause.
//
// An attacker choosing API keys and `keyid`s can make one request need up to 9 cold shards (one
// per credential): the budget (a token bucket, `loadsPerSecond` with `burst`) turns a flood of
// such requests into 503 shard_unavailable for the requests past it, never into a decision
// made without the shards (tests/vectors/sharded/attacker_keyids.json). Nothing tells a valid
// credential from a made-up one before its shard is read, but the module remembers the
// credentials it saw allowed (src/sharded/proven.rs) and marks the shards only other ones
// want: those draw on a second, smaller bucket as well (`unprovenLoadsPerSecond` with
// `unprovenBurst`, half of the whole by default), so a flood of unknown credentials spends at
// most that much of the whole and the credentials proven on this isolate keep the rest
// (tests/vectors/sharded/unproven_flood.json).

//
// A read that does not answer within `readTimeoutSeconds` (default 5) fails the requests
// waiting for it closed (503 shard_unavailable) and is forgotten, so the next request that
// needs the shard reads it again; its late answer is dropped, never loaded
// (tests/vectors/sharded/hung_reads.json).

import { KeygateError, describe, invalidOptions } from './errors.js';
import { outWord, textFields } from './io.js';
import { ReadTimeout, STORAGE_TIMEOUT_SECONDS, STORAGE_TIMEOUT_SECONDS_LIMIT, bounded, isTimeoutSeconds } from './deadline.js';

const SHARD_OPTIONS = new Set(['load', 'maxShards', 'maxKeys', 'loadsPerSecond', 'burst', 'unprovenLoadsPerSecond', 'unprovenBurst', 'readTimeoutSeconds']);

/**
 * Defaults: about 24 MiB of keys held, 50 cold loads a second with bursts of 100; of those, at
 * most half (rounded up) for credentials not seen proven (`unprovenLoadsPerSecond`,
 * `unprovenBurst`).
 */
export const SHARD_DEFAULTS = Object.freeze({ maxShards: 512, maxKeys: 100_000, loadsPerSecond: 50, burst: 100 });

function count(v, name, where, min) {
  if (v === undefined) return SHARD_DEFAULTS[name];
  if (!(Number.isInteger(v) && v >= min && v <= 2 ** 31)) {
    throw invalidOptions(`${where}: shards.${name} must be a whole number >= ${min}, got ${describe(v)}`);
  }
  return v;
}

/** The `shards` option of Keygate.load, checked once. */
export function checkShardOptions(o, where) {
  if (o === undefined || o === null) return undefined;
  if (typeof o !== 'object' || Array.isArray(o)) throw invalidOptions(`${where}: shards must be an object, got ${describe(o)}`);
  for (const k of Object.keys(o)) {
    if (!SHARD_OPTIONS.has(k)) {
      throw invalidOptions(`${where}: unknown option shards.${k} (expected load, maxShards, maxKeys, loadsPerSecond, burst, unprovenLoadsPerSecond, unprovenBurst, readTimeoutSeconds)`);
    }
  }
  if (typeof o.load !== 'function') throw invalidOptions(`${where}: shards.load must be a function ({ name, sha256, retry }) => bytes`);
  if (o.readTimeoutSeconds !== undefined && !isTimeoutSeconds(o.readTimeoutSeconds)) {
    throw invalidOptions(`${where}: shards.readTimeoutSeconds must be a number of seconds > 0 and at most ${STORAGE_TIMEOUT_SECONDS_LIMIT}, got ${describe(o.readTimeoutSeconds)}`);
  }
  const loadsPerSecond = count(o.loadsPerSecond, 'loadsPerSecond', where, 0);
  const burst = count(o.burst, 'burst', where, 1);
  return Object.freeze({
    load: o.load,
    maxShards: count(o.maxShards, 'maxShards', where, 9),
    maxKeys: count(o.maxKeys, 'maxKeys', where, 1),
    loadsPerSecond,
    burst,
    unprovenLoadsPerSecond: o.unprovenLoadsPerSecond === undefined ? Math.ceil(loadsPerSecond / 2) : count(o.unprovenLoadsPerSecond, 'unprovenLoadsPerSecond', where, 0),
    unprovenBurst: o.unprovenBurst === undefined ? Math.ceil(burst / 2) : count(o.unprovenBurst, 'unprovenBurst', where, 1),
    readTimeoutSeconds: o.readTimeoutSeconds ?? STORAGE_TIMEOUT_SECONDS,
  });
}

/** A token bucket of `rate` a second holding at most `size`. */
class Bucket {
  #rate;
  #size;
  #tokens;
  #at = Date.now();

  constructor(rate, size) {
    this.#rate = rate;
    this.#size = size;
    this.#tokens = size;
  }

  /** Whether it holds `n` now (refilled first). */
  holds(n) {
    const now = Date.now();
    this.#tokens = Math.min(this.#size, this.#tokens + ((now - this.#at) / 1000) * this.#rate);
    this.#at = now;
    return this.#tokens >= n;
  }

  take(n) {
    this.#tokens -= n;
  }
}

/**
 * The shards a NEED_SHARDS output names: `[{ name, sha256, unproven }]` (read before any
 * await); `unproven`: only credentials the module has not seen allowed want it.
 */
export function shardsOf(o) {
  const f = textFields(o);
  const mask = outWord(5);
  const out = [];
  for (let i = 0; i + 1 < f.length; i += 2) out.push(Object.freeze({ name: f[i], sha256: f[i + 1], unproven: (mask & (1 << (i >> 1))) !== 0 }));
  return out;
}

function unavailable(message, cause) {
  return new KeygateError('ERR_SHARD_UNAVAILABLE', message, cause === undefined ? {} : { cause });
}

/**
 * Reads shards through `shards.load`, one read per shard at a time, within the budget: every
 * cold load draws on the whole (`loadsPerSecond`, `burst`), one only unproven credentials want
 * also on theirs (`unprovenLoadsPerSecond`, `unprovenBurst`).
 */
export class ShardReader {
  #opts;
  #all;
  #unproven;
  #inflight = new Map();

  constructor(opts) {
    this.#opts = opts;
    this.#all = new Bucket(opts.loadsPerSecond, opts.burst);
    this.#unproven = new Bucket(opts.unprovenLoadsPerSecond, opts.unprovenBurst);
  }

  get options() {
    return this.#opts;
  }

  /**
   * The bytes of each shard of `need` (`[{ name, sha256, unproven }]`), in order. A shard
   * already being read for another request is shared and costs no budget. Throws
   * ERR_SHARD_UNAVAILABLE when a budget is spent (nothing is taken from either then) or a read
   * fails (its cause is kept, never sent to a client).
   */
  async read(need, { retry = false } = {}) {
    const now = Date.now();
    const live = (s) => {
      const e = this.#inflight.get(s.sha256);
      return e && now < e.deadline ? e : null;
    };
    const fresh = need.filter((s) => !live(s));
    const unproven = fresh.filter((s) => s.unproven).length;
    const o = this.#opts;
    if (unproven > 0 && !this.#unproven.holds(unproven)) {
      throw unavailable(`the cold shard load budget for credentials not seen proven on this isolate (${o.unprovenLoadsPerSecond}/s, burst ${o.unprovenBurst}) is spent; try again`);
    }
    if (!this.#all.holds(fresh.length)) {
      throw unavailable(`the cold shard load budget (${o.loadsPerSecond}/s, burst ${o.burst}) is spent; try again`);
    }
    this.#all.take(fresh.length);
    this.#unproven.take(unproven);
    return Promise.all(
      need.map((s) => {
        const shared = live(s);
        if (shared) {
          // Another request's read: waited for until its deadline by this request's own timer
          // (that request may have ended, and in workerd its timers then never fire).
          return bounded(shared.promise, Math.max(1, shared.deadline - Date.now()), `shards.load of shard ${s.name}`).catch((e) => {
            throw e instanceof ReadTimeout ? unavailable(`shard ${s.name} could not be read: ${e.message}`, e) : e;
          });
        }
        // Settled (answered, failed or timed out), or past its deadline: forgotten, so a later
        // request reads again (the late answer of one past its deadline is never used).
        const entry = { deadline: now + this.#opts.readTimeoutSeconds * 1000, promise: null };
        entry.promise = this.#fetch(s, retry).finally(() => {
          if (this.#inflight.get(s.sha256) === entry) this.#inflight.delete(s.sha256);
        });
        this.#inflight.set(s.sha256, entry);
        return entry.promise;
      }),
    );
  }

  /**
   * One read through `shards.load`, bounded by `readTimeoutSeconds`: past it the read's
   * `signal` is aborted and the requests waiting for it fail closed; what it answers later is
   * dropped (the next request that needs the shard reads it again).
   */
  async #fetch(s, retry) {
    let v;
    const ms = this.#opts.readTimeoutSeconds * 1000;
    const controller = new AbortController();
    try {
      const read = (async () => this.#opts.load(Object.freeze({ name: s.name, sha256: s.sha256, retry, signal: controller.signal })))();
      v = await bounded(read, ms, `shards.load of shard ${s.name}`, { controller });
    } catch (e) {
      if (e instanceof ReadTimeout) throw unavailable(`shard ${s.name} could not be read: ${e.message}`, e);
      throw unavailable(`shard ${s.name} could not be read: ${String(e?.message ?? e).slice(0, 200)}`, e);
    }
    if (v instanceof ArrayBuffer) return new Uint8Array(v);
    if (v instanceof Uint8Array) return v;
    throw unavailable(`shard ${s.name} could not be read: shards.load resolved to ${describe(v)}, expected bytes`);
  }
}
