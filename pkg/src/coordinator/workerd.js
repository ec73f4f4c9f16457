// keygate/coordinator: `KeygateCoordinator`, a Durable Object class (workerd only) that orders
// key set updates for every isolate of a gateway. Export it from your Worker's main module and
// bind it (docs/deployment.md, "Modes and guarantees"):
//
//   export { KeygateCoordinator } from 'keygate/coordinator';
//
// One instance (by name, "keyset" unless configured) is the single writer of the key set: it
// keeps the high-water mark (the newest revision and its payload digest; it never decreases),
// the newest full envelope (the base) and the signed deltas since (the chain), and judges an
// update by compare-and-swap alone: a full set must be above the mark (or be the same state
// again), a delta must name the current state as its base. It never parses or vouches for a
// key set: isolates verify every byte against the publisher keys themselves, and only send
// what verified. Accepted updates are published to Workers KV (`env.KEYGATE_KV`, when bound)
// by an alarm: `keyset` (the newest full envelope), `keyset/blob/<sha>` (the same, by payload
// digest, immutable) and `keyset/deltas` (the chain), for cold starts.
//
// Other instances of the class, named `<name>:nonce:<n>`, are shards of the global nonce
// store (coordination.js): a nonce claimed once is refused everywhere until its window ends.
//
// Its own storage calls outside a transaction — the alarm's KV writes and every setAlarm — wait
// at most the storage bound (KEYGATE_STORAGE_TIMEOUT_SECONDS, 5 s), as the isolates' reads and
// writes do: a KV write that never answered held the alarm, and with it every later
// publication, for good; a setAlarm that never answered held a commit's answer past the push's
// own bound (504 for a commit that had landed). Past the bound the alarm fails (the platform
// runs it again; what was published is recorded only once all of it was written), and a commit
// or claim is answered without waiting for its alarm to be set. A write of a key that changes
// (`keyset`, `keyset/deltas`) that answers after its bound may have landed over a newer
// publication (KV keeps the last write it received): the head is then published again.

import { DurableObject } from 'cloudflare:workers';
import { MAX_CHAIN_BYTES, MAX_CHAIN_DELTAS, Storage } from './storage.js';
import { MAX_SHARD_BYTES, PUBLISH_BATCH, ShardStore } from './shards.js';
import { ReadTimeout, bounded, timeoutSecondsOf } from '../deadline.js';

/** A storage call of the coordinator that failed or did not answer, outside a request's answer. */
function storageFault(call, e) {
  console.error(JSON.stringify({ event: 'keygate.coordinator_storage_error', call, timed_out: e instanceof ReadTimeout, message: String(e?.message ?? e).slice(0, 300) }));
}

/**
 * How many KV writes of one key the alarm leaves unanswered at most (each holds its value): the
 * first that hung and one retry of it.
 */
const WRITES_IN_FLIGHT = 2;

/** How many expired nonces one claim deletes on its way (the alarm sweeps the rest). */
const SWEEP_PER_CLAIM = 64;

const SHA = /^[A-Za-z0-9_-]{43}$/;

function base64url(buf) {
  let s = '';
  for (const b of new Uint8Array(buf)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function refusal(error, message, fields = {}) {
  return { error, message, ...fields };
}

/** A refusal that rolls back the transaction it is thrown in. */
class Refused extends Error {
  constructor(refusal) {
    super(refusal.message);
    this.refusal = refusal;
  }
}

/** The most shards a manifest may name here (2 × 2^14: `--bits 14`). */
const MAX_MANIFEST_SHARDS = 2 * 2 ** 14;

/** How many missing shards a refusal lists (the count is always given). */
const MISSING_LISTED = 1000;

const shardList = (x) => Array.isArray(x) && x.length <= MAX_MANIFEST_SHARDS && x.every((s) => typeof s === 'string' && SHA.test(s));

/** An update as an isolate sends it, checked for shape (never for content: isolates verify). */
function checkUpdate(u) {
  const ok =
    u !== null &&
    typeof u === 'object' &&
    (u.kind === 'full' || u.kind === 'delta' || (u.kind === 'manifest' && shardList(u.shards))) &&
    Number.isSafeInteger(u.revision) &&
    u.revision >= 1 &&
    typeof u.payloadSha256 === 'string' &&
    SHA.test(u.payloadSha256) &&
    u.bytes instanceof Uint8Array &&
    (u.kind !== 'delta' ||
      (u.base !== null &&
        typeof u.base === 'object' &&
        Number.isSafeInteger(u.base.revision) &&
        typeof u.base.payloadSha256 === 'string' &&
        SHA.test(u.base.payloadSha256)));
  if (!ok) throw new TypeError('KeygateCoordinator: malformed update');
  return u;
}

/** KEYGATE_DELTA_CHAIN_MAX: fewer deltas kept after a full set than the default (1 to 1000). */
function chainMax(env) {
  const n = Number(env?.KEYGATE_DELTA_CHAIN_MAX);
  return Number.isSafeInteger(n) && n >= 1 && n <= MAX_CHAIN_DELTAS ? n : MAX_CHAIN_DELTAS;
}

export class KeygateCoordinator extends DurableObject {
  #store;
  #shards;
  #scheduledAt = 0;
  /** The alarm's KV writes, by key: `{ issued, open, holds }` (see #put). */
  #writes = new Map();

  constructor(ctx, env) {
    super(ctx, env);
    this.#store = new Storage(ctx.storage);
    this.#shards = new ShardStore(ctx.storage.sql);
  }

  /** The Workers KV namespace accepted updates are published to (override to use another). */
  kv() {
    return this.env?.KEYGATE_KV;
  }

  /**
   * The high-water mark: `{ revision, payloadSha256, base: { revision, payloadSha256 }, deltas,
   * published }`, or null when nothing was ever committed.
   */
  head() {
    return this.#store.head();
  }

  /**
   * What an isolate holding `state` (`{ revision, payloadSha256 }` or null) needs to reach the
   * head, in one answer:
   * - `{ status: 'empty' }`: nothing was ever committed (an isolate may seed, see commit);
   * - `{ status: 'current', head }`;
   * - `{ status: 'deltas', head, deltas: [envelope text, ...] }`: its state is on the chain;
   * - `{ status: 'base', head, base: { revision, payloadSha256 }, deltas }`: load the base
   *   (KV `keyset/blob/<sha>` or readBlob), then apply the deltas.
   */
  poll(state) {
    const head = this.#store.head();
    if (!head) return { status: 'empty' };
    // A publication that failed every retry of its alarm is tried again, at most once a minute.
    if (this.#store.publishPending() && Date.now() - this.#scheduledAt > 60_000) this.ctx.waitUntil(this.#schedule());
    const known = state && typeof state === 'object' && Number.isSafeInteger(state.revision) ? state : null;
    if (known && known.revision === head.revision && known.payloadSha256 === head.payloadSha256) {
      return { status: 'current', head };
    }
    if (known && this.#store.onChain(known)) {
      return { status: 'deltas', head, deltas: this.#store.deltasAfter(known.revision) };
    }
    return { status: 'base', head, base: head.base, deltas: this.#store.deltasAfter(head.base.revision) };
  }

  /** The full envelope whose payload digest is `sha`, if it is the base; else null. */
  readBlob(sha) {
    return typeof sha === 'string' ? this.#store.readBlob(sha) : null;
  }

  /** A shard of the manifest in use by its SHA-256, or null. */
  readShard(sha) {
    return typeof sha === 'string' && SHA.test(sha) ? this.#shards.read(sha) : null;
  }

  /**
   * Stores shards (`[{ sha, bytes }]`, each hashed again here) that the manifest in use or a
   * staged one names. Resolves to `{ stored, known }` (new, already held), or a refusal
   * `shard_not_staged` naming the first shard no manifest names (nothing of the call stored).
   */
  async putShards(list) {
    if (!Array.isArray(list) || list.length > 4096) throw new TypeError('KeygateCoordinator: putShards([{ sha, bytes }])');
    const checked = [];
    for (const s of list) {
      if (!(s?.bytes instanceof Uint8Array) || s.bytes.byteLength > MAX_SHARD_BYTES || typeof s.sha !== 'string') {
        throw new TypeError(`KeygateCoordinator: a shard is at most ${MAX_SHARD_BYTES} bytes`);
      }
      const sha = base64url(await crypto.subtle.digest('SHA-256', s.bytes));
      if (sha !== s.sha) return refusal('shard_mismatch', `a shard's bytes hash to ${sha}, not ${s.sha}`);
      checked.push({ sha, bytes: s.bytes });
    }
    return this.#store.transaction(() => {
      const stranger = checked.find((s) => !this.#shards.named(s.sha));
      if (stranger) {
        return refusal('shard_not_staged', `no manifest pushed here names shard ${stranger.sha}: push the signed manifest first, then its shards`);
      }
      let stored = 0;
      for (const s of checked) stored += this.#shards.put(s.sha, s.bytes) ? 1 : 0;
      return { stored, known: checked.length - stored };
    });
  }

  /**
   * Records an update an isolate verified: `{ kind: 'full'|'delta', revision, payloadSha256,
   * base?: { revision, payloadSha256 }, bytes }` (`bytes`: the envelope as pushed). One
   * synchronous transaction judges and writes, so concurrent pushes from many isolates are
   * serialized here. Resolves to `{ changed, revision, payloadSha256 }` or a refusal
   * `{ error, message, current_revision?, current_payload_sha256? }` (keyset_rollback,
   * delta_base_mismatch, delta_chain_full). With `seed`, only an empty coordinator accepts it
   * (an isolate that loaded a set from KV or a variable before anything was pushed here); a
   * seeded manifest is committed before its shards are stored (see #base). A seed's `deltas`
   * (the chain a former coordinator published on top of it, each verified by the isolate) are
   * committed with it, in the same transaction: the coordinator holds the set and all of its
   * deltas, or nothing (a refused delta refuses the seed), never the set without a revocation
   * pushed as a delta.
   */
  async commit(update, { seed = false, deltas = [] } = {}) {
    const u = checkUpdate(update);
    if (!Array.isArray(deltas) || deltas.length > MAX_CHAIN_DELTAS || (deltas.length > 0 && !seed)) {
      throw new TypeError('KeygateCoordinator: commit(update, { seed: true, deltas: [delta, ...] })');
    }
    const chain = deltas.map((d) => (checkUpdate(d).kind === 'delta' ? d : checkUpdate(null)));
    let result;
    try {
      result = this.#store.transaction(() => {
        const r = this.#judge(u, seed);
        if (r.error || chain.length === 0) return r;
        let last = r;
        for (const d of chain) {
          last = this.#judge(d, false);
          if (last.error) throw new Refused(last); // (the transaction is rolled back: nothing seeded)
        }
        return { ...last, changed: true };
      });
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      result = e.refusal;
    }
    // (the alarm is set now, its answer not waited for: see #schedule)
    if (result.changed) this.ctx.waitUntil(this.#schedule());
    return result;
  }

  #judge(u, seed) {
    const head = this.#store.head();
    const current = head ? { current_revision: head.revision, current_payload_sha256: head.payloadSha256 } : {};
    if (seed && head) return refusal('keyset_rollback', 'the coordinator already holds a key set', current);
    if (head && u.revision === head.revision && u.payloadSha256 === head.payloadSha256) {
      // The same state again; a full set equal to a state reached by deltas becomes the new
      // base (compaction: the chain is dropped).
      if (u.kind !== 'delta' && head.base.payloadSha256 !== u.payloadSha256 && this.#base(u) !== null) return this.#missing(u, current);
      // The manifest in use again, while shards it names are not stored here (it was seeded):
      // what to upload, as for a new manifest.
      if (u.kind === 'manifest' && this.#shards.missing(u.shards).length > 0) return this.#missing(u, current);
      return { changed: false, revision: head.revision, payloadSha256: head.payloadSha256 };
    }
    if (head && u.revision <= head.revision) {
      return refusal(
        'keyset_rollback',
        u.revision === head.revision
          ? `revision ${u.revision} is already in use with different content; publish revision ${head.revision + 1} or later`
          : `revision ${u.revision} is older than the revision in use (${head.revision})`,
        current,
      );
    }
    if (u.kind !== 'delta') {
      if (this.#base(u, seed) !== null) return this.#missing(u, current);
    } else {
      if (!head || u.base.revision !== head.revision || u.base.payloadSha256 !== head.payloadSha256) {
        return refusal(
          'delta_base_mismatch',
          `the delta applies to revision ${u.base.revision} (${u.base.payloadSha256}), but the coordinator holds ${head ? `revision ${head.revision} (${head.payloadSha256})` : 'no key set'}: make the delta against that state, or push the full set`,
          current,
        );
      }
      const max = chainMax(this.env);
      if (head.deltas >= max || head.chainBytes + u.bytes.byteLength > MAX_CHAIN_BYTES) {
        return refusal(
          'delta_chain_full',
          `${head.deltas} deltas (${head.chainBytes} bytes) were pushed since the last full set, the most the coordinator keeps (${max} deltas, ${MAX_CHAIN_BYTES} bytes): push the full set`,
          current,
        );
      }
      this.#store.appendDelta(u);
    }
    return { changed: true, revision: u.revision, payloadSha256: u.payloadSha256 };
  }

  /**
   * A new base: a full set (then no shard is in use), or a manifest whose shards are all
   * stored. Returns null when committed; else the missing shards, and the manifest is staged.
   * A `seed` manifest (the set isolates already serve from KV, where a former coordinator
   * published its shards) is committed with its shards in use even when they are not stored
   * here yet: they are taken as uploads, and pushing the manifest again lists the missing ones.
   */
  #base(u, seed = false) {
    if (u.kind === 'manifest') {
      const missing = this.#shards.missing(u.shards);
      if (missing.length > 0 && !seed) {
        this.#shards.stage(u.shards);
        return missing;
      }
      this.#shards.activate(u.shards);
    } else {
      this.#shards.clear();
    }
    this.#store.setBase(u);
    return null;
  }

  #missing(u, current) {
    const missing = this.#shards.missing(u.shards);
    return refusal(
      'shards_missing',
      `${missing.length} of the ${u.shards.length} shards this manifest names are not uploaded yet: upload them (PUT .well-known/keygate/keyset/shards), then push the manifest again`,
      { ...current, missing: missing.slice(0, MISSING_LISTED), missing_count: missing.length },
    );
  }

  /**
   * A nonce shard: claims `fp` (bytes, a fingerprint of key id and nonce) until `expiresAtMs`.
   * True the first time (or once an earlier claim expired), false for a replay.
   */
  async claimNonce(fp, expiresAtMs) {
    if (!(fp instanceof Uint8Array) || fp.byteLength !== 16 || !Number.isFinite(expiresAtMs)) {
      throw new TypeError('KeygateCoordinator: claimNonce(fp: 16 bytes, expiresAtMs)');
    }
    const now = Date.now();
    const fresh = this.#store.transaction(() => {
      this.#store.sweepNonces(now, SWEEP_PER_CLAIM);
      return this.#store.claimNonce(fp, Math.ceil(expiresAtMs), now);
    });
    // The sweep's alarm is set after the answer: a claim is never held by it.
    if (fresh) this.ctx.waitUntil(this.#sweepBy(Math.ceil(expiresAtMs) + 1000));
    return fresh;
  }

  /**
   * A nonce shard: forgets the claim of `fp` made until `expiresAtMs` (a request that claimed
   * it was then not decided: it failed closed); a claim with another expiry stays.
   */
  async releaseNonce(fp, expiresAtMs) {
    if (!(fp instanceof Uint8Array) || fp.byteLength !== 16 || !Number.isFinite(expiresAtMs)) {
      throw new TypeError('KeygateCoordinator: releaseNonce(fp: 16 bytes, expiresAtMs)');
    }
    this.#store.transaction(() => this.#store.releaseNonce(fp, Math.ceil(expiresAtMs)));
  }

  /** Publishes what KV lacks, and forgets expired nonces. Retried by the platform on failure. */
  async alarm() {
    const next = this.#store.transaction(() => {
      this.#store.sweepNonces(Date.now(), Infinity);
      return this.#store.nextNonceExpiry();
    });
    const kv = this.kv();
    const todo = kv ? this.#store.publishPending() : null;
    if (todo) {
      const head = this.#store.head();
      if (todo.base) {
        const envelope = this.#store.readBlob(head.base.payloadSha256);
        await this.#put(kv, `keyset/blob/${head.base.payloadSha256}`, envelope, head.base.payloadSha256);
        await this.#put(kv, 'keyset', envelope, head.base.payloadSha256);
      }
      const deltas = JSON.stringify({ base: head.base, deltas: this.#store.deltasAfter(head.base.revision) });
      await this.#put(kv, 'keyset/deltas', deltas, deltas);
      this.#store.transaction(() => this.#store.published(head));
    }
    // The shards of the manifest in use, a batch per run (KV allows 1000 operations each).
    const batch = kv ? this.#shards.unpublished(PUBLISH_BATCH) : [];
    for (const s of batch) await this.#put(kv, `keyset/blob/${s.sha}`, s.bytes, s.sha);
    if (batch.length > 0) this.#store.transaction(() => this.#shards.markPublished(batch.map((s) => s.sha)));
    if (batch.length === PUBLISH_BATCH) await this.#setAlarm(Date.now() + 1000);
    else if (next !== null) await this.#setAlarm(next + 1000);
  }

  /** The storage bound in milliseconds (KEYGATE_STORAGE_TIMEOUT_SECONDS, else 5 s). */
  #boundMs() {
    return timeoutSecondsOf(this.env?.KEYGATE_STORAGE_TIMEOUT_SECONDS) * 1000;
  }

  /**
   * One KV write of the alarm, `value` under `key`, bounded: past the bound it throws (the alarm
   * fails and runs again). `tag` names the value (its digest, or the value itself).
   * - A write that answers late has still landed: once the last write issued of a key, and
   *   every one before it, answered and the last landed, KV holds its value for sure (`holds`),
   *   and the same value is not written again. (Without this, a set whose write always takes
   *   longer than the bound was written again and again, each landing late, and never recorded
   *   as published.) An earlier write landing after a later one leaves what KV holds unknown.
   * - A timed-out write of `keyset` or `keyset/deltas` is followed: once it answers (landed or
   *   not), everything is marked unpublished and the alarm set, so the head is written after it
   *   unless KV holds it. (A shard or base blob is stored by its digest: a late one is harmless.)
   * - A write that never answers keeps its value (up to the whole set) in memory, and the alarm
   *   runs again in a burst: at most WRITES_IN_FLIGHT of one key are left unanswered; past that
   *   the alarm fails without writing, until one of them answers.
   */
  async #put(kv, key, value, tag) {
    let w = this.#writes.get(key);
    if (!w) this.#writes.set(key, (w = { issued: 0, open: 0, holds: null }));
    if (w.open === 0 && w.holds === tag) return;
    if (w.open >= WRITES_IN_FLIGHT) {
      const e = new Error(`KV has not answered ${w.open} earlier writes of ${key}: not written again until one does`);
      storageFault('publish', e);
      throw e;
    }
    const seq = ++w.issued;
    w.open++;
    w.holds = null;
    const write = Promise.resolve().then(() => kv.put(key, value));
    write.then(
      () => {
        w.open--;
        w.holds = seq === w.issued ? tag : null;
      },
      () => {
        w.open--;
        w.holds = null;
      },
    );
    try {
      await bounded(write, this.#boundMs(), `KV's write of ${key}`);
    } catch (e) {
      storageFault('publish', e);
      if (e instanceof ReadTimeout && !key.startsWith('keyset/blob/')) {
        const again = () => {
          this.#store.transaction(() => this.#store.unpublished());
          return this.#schedule();
        };
        this.ctx.waitUntil(write.then(again, again));
      }
      throw e;
    }
  }

  /** setAlarm(at), called at once (a write of this event), its answer bounded. */
  #setAlarm(at) {
    let set;
    try {
      set = this.ctx.storage.setAlarm(at);
    } catch (e) {
      set = Promise.reject(e);
    }
    return bounded(set, this.#boundMs(), "the coordinator's setAlarm");
  }

  /** Sets the alarm to publish now; one that does not answer is logged (a poll sets it again). */
  async #schedule() {
    if (!this.kv()) return;
    this.#scheduledAt = Date.now();
    await this.#setAlarm(Date.now()).catch((e) => storageFault('schedule', e));
  }

  /** A nonce shard: the alarm that sweeps expired claims, unless one is set. */
  async #sweepBy(at) {
    try {
      const current = await bounded(Promise.resolve().then(() => this.ctx.storage.getAlarm()), this.#boundMs(), "the coordinator's getAlarm");
      if (current === null) await this.#setAlarm(at);
    } catch (e) {
      storageFault('nonce_sweep', e);
    }
  }
}
