// Sharded mode in JS (src/sharded/ in the core): reading the shards a decision needs, within a
// cold-load budget. The wasm module names what it needs (kind NEED_SHARDS: each shard's name
// and the SHA-256 the signed manifest gives it) and uses a shard only when it hashes to that
// digest; this side only fetches bytes and bounds how many fetches requests can cause.
//
// An attacker choosing API keys and `keyid`s can make one request need up to 9 cold shards (one
// per credential): the budget (a token bucket, `loadsPerSecond` with `burst`) turns a flood of
// such requests into 503 shard_unavailable for the requests past it, never into a decision
// made without the shards (tests/vectors/attacks/sharded_keyids.json).

import { KeygateError, describe, invalidOptions } from './errors.js';
import { textFields } from './io.js';

const SHARD_OPTIONS = new Set(['load', 'maxShards', 'maxKeys', 'loadsPerSecond', 'burst']);

/** Defaults: about 24 MiB of keys held, 50 cold loads a second with bursts of 100. */
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
      throw invalidOptions(`${where}: unknown option shards.${k} (expected load, maxShards, maxKeys, loadsPerSecond, burst)`);
    }
  }
  if (typeof o.load !== 'function') throw invalidOptions(`${where}: shards.load must be a function ({ name, sha256, retry }) => bytes`);
  return Object.freeze({
    load: o.load,
    maxShards: count(o.maxShards, 'maxShards', where, 9),
    maxKeys: count(o.maxKeys, 'maxKeys', where, 1),
    loadsPerSecond: count(o.loadsPerSecond, 'loadsPerSecond', where, 0),
    burst: count(o.burst, 'burst', where, 1),
  });
}

/** The shards a NEED_SHARDS output names: `[{ name, sha256 }]` (read before any await). */
export function shardsOf(o) {
  const f = textFields(o);
  const out = [];
  for (let i = 0; i + 1 < f.length; i += 2) out.push(Object.freeze({ name: f[i], sha256: f[i + 1] }));
  return out;
}

function unavailable(message, cause) {
  return new KeygateError('ERR_SHARD_UNAVAILABLE', message, cause === undefined ? {} : { cause });
}

/** Reads shards through `shards.load`, one read per shard at a time, within the budget. */
export class ShardReader {
  #opts;
  #tokens;
  #at = Date.now();
  #inflight = new Map();

  constructor(opts) {
    this.#opts = opts;
    this.#tokens = opts.burst;
  }

  get options() {
    return this.#opts;
  }

  /** Takes `n` cold loads from the budget; false when it does not hold them. */
  #take(n) {
    const now = Date.now();
    this.#tokens = Math.min(this.#opts.burst, this.#tokens + ((now - this.#at) / 1000) * this.#opts.loadsPerSecond);
    this.#at = now;
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }

  /**
   * The bytes of each shard of `need` (`[{ name, sha256 }]`), in order. A shard already being
   * read for another request is shared and costs no budget. Throws ERR_SHARD_UNAVAILABLE when
   * the budget is spent or a read fails (its cause is kept, never sent to a client).
   */
  async read(need, { retry = false } = {}) {
    const fresh = need.filter((s) => !this.#inflight.has(s.sha256));
    if (!this.#take(fresh.length)) {
      throw unavailable(`the cold shard load budget (${this.#opts.loadsPerSecond}/s, burst ${this.#opts.burst}) is spent; try again`);
    }
    return Promise.all(
      need.map((s) => {
        let p = this.#inflight.get(s.sha256);
        if (!p) {
          p = this.#fetch(s, retry).finally(() => this.#inflight.delete(s.sha256));
          this.#inflight.set(s.sha256, p);
        }
        return p;
      }),
    );
  }

  async #fetch(s, retry) {
    let v;
    try {
      v = await this.#opts.load(Object.freeze({ name: s.name, sha256: s.sha256, retry }));
    } catch (e) {
      throw unavailable(`shard ${s.name} could not be read: ${String(e?.message ?? e).slice(0, 200)}`, e);
    }
    if (v instanceof ArrayBuffer) return new Uint8Array(v);
    if (v instanceof Uint8Array) return v;
    throw unavailable(`shard ${s.name} could not be read: shards.load resolved to ${describe(v)}, expected bytes`);
  }
}
