// The isolate's side of the coordinator (coordinator/workerd.js): the key set source of withKeygate
// when a KeygateCoordinator is bound. Same interface as edge.js's KeySetSource, which it uses
// unchanged when the binding is absent (KV-only mode).
//
// Every byte loaded is verified here (publisher keys, audience, then the payload digest the
// coordinator names): the coordinator orders updates, it never vouches for them.
//
// - get(): the first request loads the coordinator's state (its base from KV by digest, or
//   from the coordinator, plus the deltas since). Later, once 0.8 × the refresh interval has
//   passed since the last poll began, a poll runs in the background; once the whole interval
//   has passed, the request waits for it (at most POLL_WAIT_MS). So a request at time t is
//   decided by a state the coordinator held at t − interval or later.
// - Cold start with the coordinator unreachable: the set from the key set source (KV, the
//   variable) under KV-mode guarantees ("kv_fallback", logged as an error), unless required
//   (`require`), then 503 keyset_unavailable until it answers.
// - Every read of a poll (the coordinator's answer, the base from KV or the coordinator, the
//   key set source, the published chain) is bounded by `storageTimeoutSeconds`
//   (KEYGATE_STORAGE_TIMEOUT_SECONDS, 5 s): one that does not answer counts as the coordinator
//   being unreachable, so a poll always ends and the next one can run; its late answer is
//   dropped, never applied. A poll's reads together have one deadline (POLL_READS bounds, at
//   most POLL_DEADLINE_LIMIT_MS): one cut off (its request ended, and in workerd its promises
//   with it) no longer holds polling past it, and applies nothing once a newer poll began.
// - push(): verified and judged here against the coordinator's state, then committed there
//   (compare-and-swap), then applied here. The commit is bounded by the storage bound too: one
//   that does not answer fails the push with 504 keyset_store_timeout (outcome unknown) and
//   the set in use here is left as it was; the next poll follows whatever the commit did.

import { Keygate, PREPARE, RETIRE, isManifestInput, otherMode } from './keygate.js';
import { shardSource, uploadShards } from './coordinated-shards.js';
import { KeygateError } from './errors.js';
import { KeySetSource, checkEdgeOptions } from './edge.js';
import { coordinatorNonceStore } from './coordinated-nonces.js';
import { coordinatorOption, payloadDigest, refusalOf, storeTimedOut, unavailable } from './coordinator-binding.js';
import { WireRefusal } from './wire.js';
import { ReadTimeout, STORAGE_TIMEOUT_SECONDS, bounded } from './deadline.js';

/** The default refresh interval with a coordinator (a poll is one tiny request). */
export const COORDINATED_REFRESH_SECONDS = 5;
/** How long a request waits for a due poll before it is decided by the state in use. */
export const POLL_WAIT_MS = 1000;
/**
 * A poll's reads, one after another, may take at most this many storage bounds in all, and
 * never more than POLL_DEADLINE_LIMIT_MS: past that deadline the poll no longer holds back a
 * new one, and nothing it reads later is applied.
 */
export const POLL_READS = 3;
/**
 * The longest a poll may take, whatever the storage bound: a poll that outlives its request
 * runs as that request's waitUntil, which Workers ends about 30 s after the response.
 */
export const POLL_DEADLINE_LIMIT_MS = 25_000;
/** How long a base read from KV may be cached (it is immutable: addressed by its digest). */
const BLOB_CACHE_TTL = 86400;

/**
 * Whether `bytes`, read from KV under the base's digest, may be that base: its payload has the
 * digest (asked first: a large full set is then never scanned as a manifest, about 180 ms on
 * a 24 MB set), or it is a manifest (a manifest names the full set it was cut from: checked
 * once it verified, #follow). Either answer is the one the other order gives; when the
 * payload cannot be read and it is no manifest, the error goes on as before.
 */
async function mayBeBase(bytes, payloadSha256) {
  let digest = null;
  let failed = null;
  try {
    digest = await payloadDigest(bytes);
  } catch (e) {
    failed = e;
  }
  if (digest === payloadSha256 || isManifestInput(bytes)) return true;
  if (failed) throw failed;
  return false;
}

/**
 * A middleware's checked options and key set source, made once at creation: with
 * `options.coordinator` (a function of env) a CoordinatedSource, polled every
 * COORDINATED_REFRESH_SECONDS unless `refreshSeconds` is given; else a KeySetSource. The
 * other options are the edge options (`extra` and `onRefusedWords` as checkEdgeOptions takes).
 */
export function edgeSource(where, options, extra, onRefusedWords) {
  const isObject = options !== null && typeof options === 'object';
  const { coordinator, ...edgeOptions } = isObject ? options : {};
  const coordinated = coordinatorOption(coordinator, where);
  if (coordinator !== undefined && edgeOptions.refreshSeconds === undefined) {
    edgeOptions.refreshSeconds = (env) => (coordinated(env) ? COORDINATED_REFRESH_SECONDS : undefined);
  }
  const opts = checkEdgeOptions(where, isObject ? edgeOptions : options, extra, onRefusedWords);
  const source = coordinator === undefined ? new KeySetSource(opts) : new CoordinatedSource(opts, coordinated);
  return { opts, source };
}

/** The coordinator answered, but what it named does not match what was read (never trusted). */
class Mismatch extends Error {}

/** A poll past its deadline, replaced by a newer one: it stops and applies nothing. */
class Stale extends Error {}

export class CoordinatedSource {
  #opts;
  #binding;
  #kv;
  #gate = null;
  #mode = null;
  #syncedAt = -Infinity;
  #polling = null;
  #gen = 0;
  #retryAt = 0;
  #fault = null;
  #pushing = Promise.resolve();
  #nonces = new WeakMap();

  constructor(opts, coordinator) {
    this.#opts = opts;
    // The binding with the bound of one storage read (seconds) this environment gives.
    this.#binding = (env) => {
      const c = coordinator(env);
      return c && { ...c, timeoutSeconds: opts.storageTimeoutSeconds?.(env) ?? STORAGE_TIMEOUT_SECONDS };
    };
    this.#kv = new KeySetSource(opts);
  }

  /**
   * `promise` (a read of the coordinator, KV or the source), bounded by the storage bound and
   * by the deadline of the poll `c` belongs to; throws Stale once a newer poll replaced it.
   */
  async #bounded(c, promise, what) {
    const ms = Math.min(c.timeoutSeconds * 1000, c.deadline - Date.now());
    const v = await bounded(promise, Math.max(1, ms), what);
    this.#live(c);
    return v;
  }

  /** Throws Stale when the poll `c` was replaced by a newer one (checked before it applies). */
  #live(c) {
    if (c.gen !== this.#gen) throw new Stale('a newer poll replaced this one');
  }

  #interval(env) {
    const r = this.#opts.refreshSeconds;
    const v = Number(typeof r === 'function' ? r(env) : r);
    return (Number.isFinite(v) && v >= 0 ? v : COORDINATED_REFRESH_SECONDS) * 1000;
  }

  /** The verifier to use now, or null (answer 503). */
  async get(env, waitUntil) {
    const c = this.#binding(env);
    if (!c) return this.#kv.get(env, waitUntil);
    if (!this.#gate) {
      // A cold isolate asks at most once per interval while the coordinator fails.
      if (Date.now() >= this.#retryAt) await this.#within(this.#sync(env, c));
      return this.#gate;
    }
    const age = Date.now() - this.#syncedAt;
    const interval = this.#interval(env);
    if (age >= interval && this.#mode === 'coordinator' && Date.now() >= this.#retryAt) {
      // The poll goes on past the wait (its own reads are bounded), kept by this request's
      // waitUntil: a promise of a request that has ended never settles in workerd, and one
      // that never settled would hold #polling, and so every later poll, for good.
      const poll = this.#sync(env, c);
      waitUntil?.(poll);
      await bounded(poll, POLL_WAIT_MS, 'a poll').catch(() => {});
    } else if (age >= 0.8 * interval && Date.now() >= this.#retryAt) {
      waitUntil?.(this.#sync(env, c));
    }
    return this.#gate;
  }

  publisherKeys(env) {
    return this.#kv.publisherKeys(env);
  }

  audience(env) {
    return this.#kv.audience(env);
  }

  sealKeys(env) {
    return this.#kv.sealKeys(env);
  }

  get fault() {
    return this.#gate ? null : (this.#fault ?? this.#kv.fault);
  }

  /** `{ mode, synced_at }` for the GET endpoint: "kv", "coordinator" or "kv_fallback". */
  status(env) {
    if (!this.#binding(env)) return { mode: 'kv' };
    const synced = Number.isFinite(this.#syncedAt) ? new Date(this.#syncedAt).toISOString() : null;
    return { mode: this.#mode ?? 'coordinator', synced_at: synced };
  }

  /** Whether pushes go to the coordinator here (they are stored there, not through `store`). */
  coordinated(env) {
    return Boolean(this.#binding(env));
  }

  /**
   * The global nonce store when the coordinator is bound (one per namespace), else undefined;
   * with the request's `waitUntil`, a claim that timed out is released if it turns out won.
   */
  nonceStore(env, waitUntil) {
    const c = this.#binding(env);
    if (!c) return undefined;
    let store = this.#nonces.get(c.namespace);
    if (!store) this.#nonces.set(c.namespace, (store = coordinatorNonceStore(c.namespace, c.name, c.nonceShards, c.timeoutSeconds * 1000)));
    return waitUntil ? Object.freeze({ claim: (claim) => store.claim(claim, waitUntil), release: store.release }) : store;
  }

  beginPush() {
    return this.#kv.beginPush();
  }

  /** Shard files (one per line) for the coordinator: see coordinated-shards.js. */
  async uploadShards(env, bytes) {
    const c = this.#binding(env);
    try {
      return await uploadShards(c, bytes);
    } catch (e) {
      if (e instanceof WireRefusal) throw e;
      throw unavailable(e);
    }
  }

  get writes() {
    return this.#kv.writes;
  }

  stored() {
    this.#kv.stored();
  }

  notStored() {
    this.#kv.notStored();
  }

  storageTimeoutSeconds(env) {
    return this.#kv.storageTimeoutSeconds(env);
  }

  log(event, fields) {
    this.#kv.log(event, fields);
  }

  /**
   * One poll at a time: resolves when it is done and never rejects, except the `strict` one
   * of a push, which rejects when the coordinator cannot be reached.
   */
  #sync(env, c, strict = false) {
    const now = Date.now();
    // A poll past its deadline (its request ended, and its promises with it) is not waited
    // for: a new one replaces it.
    if (this.#polling && now < this.#polling.deadline) return this.#polling.promise;
    const poll = { ...c, gen: ++this.#gen, deadline: now + Math.min(POLL_READS * c.timeoutSeconds * 1000, POLL_DEADLINE_LIMIT_MS) };
    const run = this.#poll(env, poll, { strict });
    const entry = { deadline: poll.deadline, promise: null };
    entry.promise = run.catch(() => {}).finally(() => {
      if (this.#polling === entry) this.#polling = null;
    });
    this.#polling = entry;
    return strict ? run : entry.promise;
  }

  /**
   * `promise` (a poll's), waited for at most until the deadline of the poll under way, by this
   * request's own timer: the poll may belong to a request that has ended.
   */
  #within(promise) {
    const ms = this.#polling ? this.#polling.deadline - Date.now() : 0;
    return bounded(promise, Math.max(1, ms), 'a poll').catch(() => {});
  }

  async #poll(env, c, { strict = false } = {}) {
    const started = Date.now();
    const stub = c.namespace.getByName(c.name);
    const state = this.#gate ? { revision: this.#gate.revision, payloadSha256: this.#gate.info.payloadSha256 } : null;
    try {
      await this.#follow(env, c, await this.#bounded(c, stub.poll(state), 'the coordinator'), stub);
      this.#live(c);
    } catch (e) {
      if (e instanceof Stale) {
        if (strict) throw unavailable(e);
        return;
      }
      this.#retryAt = Date.now() + Math.max(this.#interval(env), 1000);
      if (e instanceof KeygateError || e instanceof Mismatch) {
        // What the coordinator named did not verify here, or did not lead where it said: keep
        // the set in use (this is not an outage: no fallback).
        const code = e instanceof Mismatch ? 'coordinator_mismatch' : e.code;
        this.log('keyset_rejected', { code, message: e.message, current_revision: this.#gate?.revision ?? null, origin: 'coordinator' });
        if (strict) throw e instanceof Mismatch ? unavailable(e) : e;
        return;
      }
      if (strict) throw unavailable(e);
      console.error(JSON.stringify({ event: 'keygate.coordinator_unreachable', message: String(e?.message ?? e).slice(0, 300), revision: this.#gate?.revision ?? null }));
      await this.#fallback(env, c, e).catch(() => {});
      return;
    }
    this.#syncedAt = started;
    this.#retryAt = 0;
    if (this.#mode !== 'coordinator' && this.#gate) this.log('coordinator_synced', { revision: this.#gate.revision });
    if (this.#gate) this.#mode = 'coordinator';
  }

  /** Brings this isolate to the coordinator's answer `r` (see KeygateCoordinator#poll). */
  async #follow(env, c, r, stub) {
    if (r.status === 'current') return;
    if (r.status === 'empty') return this.#seed(env, c, stub);
    if (r.status === 'deltas') {
      try {
        for (const d of r.deltas) {
          this.#live(c);
          await this.#apply(env, d, 'coordinator');
        }
        if (this.#at(r.head)) return;
      } catch (e) {
        if (e instanceof Stale) throw e;
        // logged by #apply: load the base instead
      }
      r = await this.#bounded(c, stub.poll(null), 'the coordinator');
    }
    if (r.status !== 'base') throw new Mismatch(`unexpected coordinator answer ${JSON.stringify(r.status)}`);
    let read = await this.#base(c, r.base, stub);
    if (read === null) {
      r = await this.#bounded(c, stub.poll(null), 'the coordinator');
      read = r.status === 'base' ? await this.#base(c, r.base, stub) : null;
      if (read === null) throw new Mismatch('the coordinator no longer holds the base it named');
    }
    const base = read.bytes;
    this.#live(c);
    if (this.#gate && (await this.#tryUpdate(c, base, r.base)) && (await this.#tryChain(c, r.deltas)) && this.#at(r.head)) return;
    // Not reachable from the state in use (this isolate was ahead or forked, e.g. loaded from
    // KV during an outage): the coordinator's state replaces it.
    let fresh;
    try {
      fresh = await this.#loadBase(env, base, r.base);
    } catch (e) {
      // A copy from KV that does not load, or is another set than the one named (a manifest
      // is checked only now, by the full set's digest it signs: an older manifest put under
      // the newer one's name, a corrupted copy): never used; the coordinator's own copy is.
      if (!read.kv) throw e;
      this.log('coordinator_blob_mismatch', { payload_sha256: r.base.payloadSha256, message: `the KV copy of the base was refused (${String(e?.message ?? e).slice(0, 200)}); reading it from the coordinator` });
      const own = await this.#bounded(c, stub.readBlob(r.base.payloadSha256), 'the coordinator');
      if (!own) throw new Mismatch('the coordinator no longer holds the base it named');
      fresh = await this.#loadBase(env, new Uint8Array(own), r.base);
    }
    for (const d of r.deltas) await fresh.update(d);
    if (!(fresh.revision === r.head.revision && fresh.info.payloadSha256 === r.head.payloadSha256)) {
      throw new Mismatch(`the coordinator's chain did not lead to its head (revision ${r.head.revision})`);
    }
    this.#live(c);
    const from = this.#gate?.revision ?? null;
    // The replaced gate is retired: decisions still waiting on it (a body streaming, a nonce
    // claim) fail closed when they resume, instead of finishing under the set replaced (where
    // a key revoked at the coordinator's head may still be active).
    this.#gate?.[RETIRE]();
    this.#gate = fresh;
    this.#fault = null;
    this.log(from === null ? 'keyset_loaded' : 'keyset_reset', { revision: fresh.revision, keys: fresh.info.keys, origin: 'coordinator', ...(from === null ? {} : { from }) });
  }

  #at(head) {
    return this.#gate.revision === head.revision && this.#gate.info.payloadSha256 === head.payloadSha256;
  }

  async #tryUpdate(c, bytes, base) {
    if (this.#gate.revision > base.revision) return true; // already past the base: the chain decides
    try {
      const p = await this.#gate[PREPARE](bytes);
      if (p.payloadSha256 !== base.payloadSha256 || c.gen !== this.#gen) {
        p.discard();
        return false;
      }
      const r = p.commit();
      if (r.changed) this.log('keyset_updated', { revision: r.revision, keys: this.#gate.info.keys, origin: 'coordinator' });
      return true;
    } catch {
      return false;
    }
  }

  async #tryChain(c, deltas) {
    try {
      for (const d of deltas) {
        this.#live(c);
        const r = await this.#gate.update(d);
        if (r.changed) this.log('keyset_updated', { revision: r.revision, keys: this.#gate.info.keys, origin: 'coordinator' });
      }
      return true;
    } catch {
      return false;
    }
  }

  async #apply(env, text, origin) {
    try {
      const r = await this.#gate.update(text);
      if (r.changed) this.log('keyset_updated', { revision: r.revision, keys: this.#gate.info.keys, origin, kind: r.kind });
      return r;
    } catch (e) {
      this.log('keyset_rejected', { code: e?.code ?? 'ERR_UNKNOWN', message: String(e?.message ?? e), current_revision: this.#gate?.revision ?? null, origin });
      throw e;
    }
  }

  /**
   * The base envelope named `base`, as `{ bytes, kv }`: from KV by digest (checked when
   * loaded; `kv` true), else the coordinator; null when the coordinator no longer holds it.
   */
  async #base(c, base, stub) {
    if (c.kv) {
      try {
        const v = await this.#bounded(c, c.kv.get(`keyset/blob/${base.payloadSha256}`, { type: 'arrayBuffer', cacheTtl: BLOB_CACHE_TTL }), 'KV');
        if (v !== null) {
          const bytes = new Uint8Array(v);
          if (await mayBeBase(bytes, base.payloadSha256)) return { bytes, kv: true };
          this.log('coordinator_blob_mismatch', { payload_sha256: base.payloadSha256, message: 'the KV copy of the base has another digest; reading it from the coordinator' });
        }
      } catch (e) {
        if (e instanceof Stale) throw e;
        // not in KV (yet), or KV did not answer: the coordinator has it
      }
    }
    const bytes = await this.#bounded(c, stub.readBlob(base.payloadSha256), 'the coordinator');
    return bytes ? { bytes: new Uint8Array(bytes), kv: false } : null; // a newer base was committed since the poll
  }

  /** A Keygate of the base `bytes`, which must be the state `base` names. */
  async #loadBase(env, bytes, base) {
    const gate = await Keygate.load(bytes, this.#loadOptions(env));
    if (gate.info.payloadSha256 !== base.payloadSha256) throw new Mismatch('the base does not have the digest the coordinator names');
    return gate;
  }

  #loadOptions(env) {
    return {
      publisherKeys: this.publisherKeys(env),
      audience: this.audience(env),
      sealKeys: this.sealKeys(env),
      onWarning: this.#opts.onWarning,
      shards: shardSource(env, this.#binding(env), BLOB_CACHE_TTL),
    };
  }

  /** The set of the key set source (KV, the variable), verified; null when there is none. */
  async #fromSource(env, c) {
    const input = typeof this.#opts.keySet === 'function' ? await this.#bounded(c, this.#opts.keySet(env), 'the key set source') : this.#opts.keySet;
    if (input === undefined || input === null) return null;
    const text = typeof input === 'string' ? input : input instanceof Uint8Array || input instanceof ArrayBuffer ? new TextDecoder().decode(input) : JSON.stringify(input);
    return { text, gate: await Keygate.load(text, this.#loadOptions(env)) };
  }

  /**
   * The coordinator holds nothing yet: the set of the key set source becomes its first state,
   * as what it is: a full set, or a sharded set's manifest with the shards it names (which the
   * coordinator then serves and takes uploads of; those it does not hold yet are read from KV,
   * where a former coordinator published them). The set is read from the source again, so the
   * state named is the one of the bytes sent (the set in use may have moved past them by deltas).
   */
  async #seed(env, c, stub) {
    const loaded = await this.#fromSource(env, c).catch((e) => {
      if (e instanceof Stale) throw e;
      return this.#rejected(env, e);
    });
    if (!loaded?.text) return;
    const { gate, text } = loaded;
    const bytes = new TextEncoder().encode(text);
    let shards;
    if (gate.shards !== null) {
      const p = await gate[PREPARE](bytes);
      shards = p.shards;
      p.discard();
    }
    const kind = shards ? 'manifest' : 'full';
    const seed = { kind, revision: gate.revision, payloadSha256: gate.info.payloadSha256, base: null, shards, bytes };
    // The deltas a former coordinator published on top of that set (KV `keyset/deltas`), each
    // verified here (applied to this gate, not in use yet), are committed with it, in one
    // commit: the coordinator never holds the set without them (a revocation pushed as a
    // delta rolled back, then dropped from KV by its own publication), even when this commit
    // is cut short. Read before anything is committed, and when unreadable nothing is.
    const deltas = await this.#publishedChain(c, gate, 'seed', { strict: true });
    const r = await this.#bounded(c, stub.commit(seed, { seed: true, deltas }), 'the coordinator');
    if (r.error) {
      const now = await this.#bounded(c, stub.poll(null), 'the coordinator');
      if (now.status !== 'empty') return this.#follow(env, c, now, stub); // another isolate seeded first
      throw new Error(`the coordinator refused to be seeded with revision ${gate.revision} (${r.error}: ${String(r.message).slice(0, 200)}); push a full set`);
    }
    if (!this.#gate && c.gen === this.#gen) {
      this.#gate = gate;
      this.log('keyset_loaded', { revision: gate.revision, keys: gate.info.keys, origin: 'seed' });
    }
  }

  #rejected(env, e) {
    this.#fault = e?.code === 'ERR_INVALID_OPTIONS' ? `the key set cannot be checked with this configuration (${e.message})` : null;
    this.log('keyset_rejected', { code: e?.code ?? 'ERR_UNKNOWN', message: String(e?.message ?? e), current_revision: null, origin: 'refresh' });
    return null;
  }

  /** The coordinator is unreachable: a cold isolate loads the source's set unless required. */
  async #fallback(env, c, cause) {
    if (c.require) {
      if (!this.#gate) this.#fault = 'the key set coordinator is unreachable, and this gateway requires it (KEYGATE_REQUIRE_COORDINATOR)';
      return;
    }
    try {
      const loaded = await this.#fromSource(env, c);
      if (!loaded) return;
      this.#live(c);
      if (!this.#gate) {
        await this.#publishedChain(c, loaded.gate);
        this.#live(c);
        this.#gate = loaded.gate;
        this.#mode = 'kv_fallback';
        console.error(JSON.stringify({
          event: 'keygate.coordinator_fallback',
          message: `the key set coordinator is unreachable: serving revision ${loaded.gate.revision} from the key set source under KV-only guarantees until it answers`,
          cause: String(cause?.message ?? cause).slice(0, 200),
        }));
        this.log('keyset_loaded', { revision: loaded.gate.revision, keys: loaded.gate.info.keys, origin: 'kv_fallback' });
      } else if (this.#mode === 'kv_fallback') {
        await this.#apply(env, loaded.text, 'kv_fallback').catch(() => {});
        await this.#publishedChain(c, this.#gate);
      }
    } catch (e) {
      if (e instanceof Stale) return;
      this.#rejected(env, e);
    }
  }

  /**
   * The deltas the coordinator published to KV (`keyset/deltas`) on top of the full set `gate`
   * holds, applied (each verified) when they start from it: a revocation pushed as a delta is
   * kept by a cold isolate that cannot reach the coordinator too. Resolves to the updates
   * applied, as the coordinator takes them. `strict` (seeding): a chain that cannot be read
   * fails (rather than be taken as none).
   */
  async #publishedChain(c, gate, origin = 'kv_fallback', { strict = false } = {}) {
    const applied = [];
    let chain = null;
    try {
      chain = c.kv ? await this.#bounded(c, c.kv.get('keyset/deltas', { type: 'json' }), 'KV') : null;
    } catch (e) {
      if (strict) throw e;
      return applied;
    }
    const base = chain?.base;
    if (!Array.isArray(chain?.deltas) || base?.payloadSha256 !== gate.info.payloadSha256 || base?.revision !== gate.revision) return applied;
    for (const d of chain.deltas) {
      this.#live(c);
      const from = { revision: gate.revision, payloadSha256: gate.info.payloadSha256 };
      try {
        const r = await gate.update(d);
        if (r.changed) applied.push({ kind: 'delta', revision: gate.revision, payloadSha256: gate.info.payloadSha256, base: from, bytes: new TextEncoder().encode(d) });
      } catch (e) {
        this.log('keyset_rejected', { code: e?.code ?? 'ERR_UNKNOWN', message: String(e?.message ?? e), current_revision: gate.revision, origin });
        break;
      }
    }
    return applied;
  }

  /**
   * A push: authenticated and judged here first (a forged or invalid push never reaches the
   * coordinator), judged again if a poll moved the set in use, committed there
   * (compare-and-swap), then applied here. Resolves to `{ changed, store: false, revision,
   * keys }`; throws the KeygateError of a refusal, or a WireRefusal (coordinator_unavailable).
   */
  push(env, bytes, { maxAgeSeconds } = {}) {
    const c = this.#binding(env);
    if (!c) return this.#kv.push(env, bytes, { maxAgeSeconds });
    const run = async () => {
      if (!this.#gate) await this.get(env);
      const judge = async () => {
        const gate = this.#gate;
        if (gate) {
          try {
            return { gate, ...(await gate[PREPARE](bytes, { maxAgeSeconds })) };
          } catch (e) {
            // A manifest where a full set is in use, or a full set where a manifest is: judged
            // as a first set (the coordinator's high-water mark still refuses an older one).
            if (!otherMode(e)) throw e;
          }
        }
        // Nothing anywhere yet, or a switch: the first set (validated as it loads).
        const first = await Keygate.load(bytes, { ...this.#loadOptions(env), maxAgeSeconds });
        let shards;
        if (first.shards !== null) {
          const q = await first[PREPARE](bytes); // only to read the manifest's shards
          shards = q.shards;
          q.discard();
        }
        const kind = shards ? 'manifest' : 'full';
        return { gate: null, first, kind, shards, revision: first.revision, payloadSha256: first.info.payloadSha256, base: null, discard() {} };
      };
      const state = () => (this.#gate ? `${this.#gate.revision}:${this.#gate.info.payloadSha256}` : null);
      let p = null;
      let refusal = null;
      try {
        p = await judge();
      } catch (e) {
        // Only a refusal by the state in use may change once it follows the coordinator.
        if (e?.code !== 'ERR_KEYSET_ROLLBACK' && e?.code !== 'ERR_DELTA_BASE') throw e;
        refusal = e;
      }
      const seen = state();
      const gateSeen = this.#gate;
      await this.#within(this.#polling?.promise);
      try {
        await this.#sync(env, c, true);
      } catch (e) {
        // The coordinator's state does not verify here (the publisher key was replaced, say):
        // a full set above its mark may still replace it, so the push goes on.
        if (!(e instanceof KeygateError)) {
          p?.discard();
          throw e;
        }
      }
      if (state() !== seen || this.#gate !== gateSeen) {
        p?.discard();
        p = await judge();
      } else if (refusal) {
        throw refusal;
      }
      let r;
      try {
        // Bounded: a commit that never answers must not hold this push (and every later one
        // queued behind it) for good. Its late answer is dropped: this isolate follows the
        // coordinator's state on its next poll, whatever the commit did.
        const commit = c.namespace.getByName(c.name).commit({ kind: p.kind, revision: p.revision, payloadSha256: p.payloadSha256, base: p.base, shards: p.shards, bytes });
        r = await bounded(commit, c.timeoutSeconds * 1000, 'the coordinator');
      } catch (e) {
        p.discard();
        if (e instanceof ReadTimeout) {
          this.log('keyset_store_timeout', { revision: p.revision, timeout_seconds: c.timeoutSeconds, origin: 'coordinator' });
          throw storeTimedOut(`the commit of revision ${p.revision}`, c.timeoutSeconds, { revision: p.revision });
        }
        throw unavailable(e);
      }
      if (r.error) {
        p.discard();
        throw refusalOf(r);
      }
      if (p.first && (!this.#gate || p.gate === null)) {
        // A first set, or a switch between a full set and a manifest: the set in use is retired.
        this.#gate?.[RETIRE]();
        this.#gate = p.first;
        this.#mode = 'coordinator';
        this.log('keyset_loaded', { revision: p.first.revision, keys: p.first.info.keys, origin: 'push' });
      } else {
        try {
          if (p.first || p.gate !== this.#gate) throw new Error('the set in use moved');
          const local = p.commit();
          if (local.changed) this.log('keyset_updated', { revision: local.revision, keys: p.gate.info.keys, origin: 'push', kind: local.kind });
        } catch {
          await this.#within(this.#polling?.promise); // the coordinator holds it: follow it
          await this.#within(this.#sync(env, c));
        }
      }
      return { changed: r.changed, store: false, revision: this.#gate.revision, keys: this.#gate.info.keys };
    };
    const result = this.#pushing.then(run, run);
    this.#pushing = result.catch(() => {});
    return result;
  }
}
