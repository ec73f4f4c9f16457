// Keygate: a verifier holding one key set, backed by the wasm module.

import { wasm } from './wasm/facade.js';
import { KeygateError, base64url, callWasm, describe, invalidOptions, wasmGeneration } from './errors.js';
import { NO_OPTIONS, keySetBytes, verifyInput } from './request.js';
import { bodySource, declaredLength, digestBody, isEmpty, webhookChunks } from './body.js';
import { CLAIM_KINDS, ERROR_CODES, KEYSET_WIRE_STATUS } from './codes.js';
import { BODY_TIMEOUT_SECONDS } from './deadline.js';
import { KeyTable, decisionOf } from './decision.js';
import { Ed25519Keys, externalEd25519, verifyEd25519 } from './ed25519.js';
import { FLAG, KIND, RUN, readOut, textFields, textView, writeBytes, writeRequest } from './io.js';
import { ShardReader, shardsOf } from './shards.js';
import { checkLoadOptions, checkUpdateOptions } from './load-options.js';
import { info, loadEach, release, sha256, warn } from './verifier.js';

export { audienceText, publisherKeysText, sealKeysText } from './load-options.js';

const { WasmVerifier, isDelta, isManifest } = wasm;
const CONSTRUCT = Symbol('Keygate.load');

/**
 * Package-internal: `gate[PREPARE](bytes, { maxAgeSeconds })` authenticates and judges an
 * update (a full set or a delta) against the set in use without applying it, and resolves to
 * `{ kind, revision, payloadSha256, base, changed, commit(), discard() }`: `commit()` applies
 * it (sync), `discard()` drops it.
 * The coordinator's push records the update between the two.
 */
export const PREPARE = Symbol('keygate.prepareUpdate');

/**
 * Package-internal (tests): `gate[WAITING_LIMIT](n, bytes)` sets how many of its decisions may
 * wait at once (4096 unless set) and how many bytes of module memory they may hold together
 * (16 MiB when 0 or unset), so the bounds can be tested without 4096 requests.
 */
export const WAITING_LIMIT = Symbol('keygate.waitingLimit');

/**
 * Package-internal (the coordinator's reset): `gate[RETIRE]()` retires a Keygate replaced by
 * another: its decisions still waiting, and any it is asked for, fail closed
 * (`ERR_VERIFIER_BUSY`) at their next step instead of finishing under its key set.
 */
export const RETIRE = Symbol('keygate.retire');

/** The module's delta bound (src/keyset/envelope/load.rs): `isDelta` is false past it. */
const MAX_DELTA_INPUT = Math.floor((1 << 20) / 3) * 4 + 64 * 1024;

/** Whether key set input (bare or an envelope, not verified) is a delta; past the bound, not copied to ask. */
export function isDeltaInput(bytes) {
  if (bytes.byteLength > MAX_DELTA_INPUT) return false;
  return callWasm(() => isDelta(bytes));
}

/** Whether key set input (bare or an envelope, not verified) is a sharded set's manifest. */
export function isManifestInput(bytes) {
  return callWasm(() => isManifest(bytes));
}

/**
 * Updates larger than this are read as a full set first (see PREPARE): deltas are smaller (a
 * larger one is only slower, never answered otherwise), full sets of more than a few hundred
 * keys larger.
 */
const FULL_SET_FIRST_BYTES = 64 * 1024;

/** notFullSet's refusals (otherMode). */
const OTHER_MODE = new WeakSet();

/** The refusal of a manifest given to a full set's verifier, or of a full set given to a sharded one. */
function notFullSet(sharded) {
  const message = sharded
    ? 'this verifier holds a sharded key set: update it with a manifest or a delta (load a full set with Keygate.load)'
    : "a sharded key set's manifest: load it with Keygate.load and options.shards";
  const e = new KeygateError('ERR_KEYSET_INVALID', message, { error: 'keyset_invalid', status: KEYSET_WIRE_STATUS.keyset_invalid });
  OTHER_MODE.add(e);
  return e;
}

/**
 * Package-internal (the coordinator's push): whether `gate[PREPARE]` threw `e` for an input of
 * the other mode only: a manifest where a full set is in use, or a full set where a manifest is.
 */
export function otherMode(e) {
  return OTHER_MODE.has(e);
}

/** How many deltas a Keygate applies after a full set (it keeps them to rebuild after a trap). */
export const MAX_DELTA_CHAIN = 4096;
/** How many bytes of deltas a Keygate keeps after a full set. */
export const MAX_DELTA_CHAIN_BYTES = 16 * 1024 * 1024;

/** The store's answer to a claim, checked (`ERR_NONCE_STORE` when it fails). */
async function claim(store, c) {
  let fresh;
  try {
    fresh = await store.claim(c);
  } catch (e) {
    throw new KeygateError('ERR_NONCE_STORE', `nonceStore.claim failed: ${e?.message ?? e}`, { cause: e });
  }
  if (typeof fresh !== 'boolean') {
    throw new KeygateError('ERR_NONCE_STORE', `nonceStore.claim must resolve to a boolean, got ${describe(fresh)}`);
  }
  return fresh;
}

/**
 * Releases an outer store's claim of a request that was then not decided (it failed closed),
 * so that the request may be sent again; a store without `release` keeps it used.
 */
async function releaseClaim(store, c) {
  if (typeof store.release !== 'function') return;
  try {
    await store.release(c);
  } catch (e) {
    console.error(JSON.stringify({ event: 'keygate.nonce_release_failed', message: String(e?.message ?? e).slice(0, 200) }));
  }
}

export class Keygate {
  #verifier;
  #generation;
  #retired = false;
  #bytes;
  #sha;
  #deltas = [];
  #deltaBytes = 0;
  #publisherKeys;
  #audience;
  #sealKeys;
  #info;
  #onWarning;
  #nonceStore;
  /** The deadline of a body's read (seconds) unless verify's options give one. */
  #bodyTimeoutSeconds;
  #table;
  /** Imported Ed25519 public keys by their bytes (ed25519.js), kept across key set updates. */
  #ed25519 = new Ed25519Keys();
  /** Sharded mode: reads the shards decisions need (shards.js); null for a full set. */
  #shards = null;

  /** Use `Keygate.load()`. */
  constructor(token, verifier, bytes, opts, setInfo, sha) {
    if (token !== CONSTRUCT) throw new TypeError('use `await Keygate.load(keySet)` to create a Keygate');
    this.#verifier = verifier;
    this.#generation = wasmGeneration();
    this.#bytes = bytes;
    this.#sha = sha;
    this.#publisherKeys = opts.publisherKeys;
    this.#audience = opts.audience;
    this.#sealKeys = opts.sealKeys;
    this.#info = setInfo;
    this.#onWarning = opts.onWarning;
    this.#nonceStore = opts.nonceStore;
    this.#bodyTimeoutSeconds = opts.bodyTimeoutSeconds ?? BODY_TIMEOUT_SECONDS;
    this.#table = new KeyTable(verifier);
    if (callWasm(() => verifier.isSharded())) this.#shards = new ShardReader(opts.shards);
  }

  /**
   * Validates a key set (JSON text, parsed object, UTF-8 bytes, or a signed JWS envelope when
   * `publisherKeys` are given) and returns a verifier for it. With `publisherKeys`, only
   * envelopes signed by one of them load, now and on every `update`; with `audience`, only
   * sets naming it. With `sealKeys`, the set's sealed secrets are opened (inside the wasm
   * module) now and on every update; without them a sealed secret is a load error. With `maxAgeSeconds` (this load only, as for a pushed set), the set must
   * carry an `issued_at` no older than that and not in the future. Throws KeygateError
   * (`ERR_KEYSET_INVALID` with every error and its JSON path, `ERR_ENVELOPE_INVALID`,
   * `ERR_ENVELOPE_SIGNATURE`, `ERR_AUDIENCE_MISMATCH`, `ERR_ENVELOPE_STALE`,
   * `ERR_INVALID_OPTIONS`). Lint warnings go to `onWarning`.
   */
  static async load(keySet, options) {
    const opts = checkLoadOptions(options);
    const bytes = keySetBytes(keySet, 'Keygate.load');
    // A sharded set's manifest never loads as a key set (a key set has no `kind`), so whether
    // the input is one (a scan of the whole document) is asked only when it does not.
    let verifier;
    try {
      verifier = callWasm(() => WasmVerifier.load(bytes, opts.publisherKeys, opts.audience, opts.sealKeys));
    } catch (e) {
      if (callWasm(() => isManifest(bytes))) return Keygate.#loadSharded(bytes, opts);
      throw e;
    }
    if (opts.maxAgeSeconds !== undefined) {
      try {
        callWasm(() => verifier.checkFresh(Date.now(), opts.maxAgeSeconds));
      } catch (e) {
        release(verifier);
        throw e;
      }
    }
    if (opts.onWarning) warn(verifier, opts.onWarning);
    let sha;
    try {
      // The set's payload_sha256: of the bytes themselves, or of the envelope's payload the
      // module decoded while loading it (handed over once, not decoded again).
      sha = await sha256(callWasm(() => verifier.takePayload()) ?? bytes);
      callWasm(() => verifier.setPayloadSha256(sha));
    } catch (e) {
      release(verifier);
      throw e;
    }
    return new Keygate(CONSTRUCT, verifier, bytes, opts, info(verifier, base64url(sha)), sha);
  }

  /**
   * A sharded key set's manifest (`kind: "manifest"`, cut by `keygate keyset shard`): a verifier
   * holding its header, which loads shards through `options.shards.load` as requests need them.
   */
  static async #loadSharded(bytes, opts) {
    if (!opts.shards) {
      throw invalidOptions("Keygate.load: this is a sharded key set's manifest: give options.shards ({ load })");
    }
    const { maxShards, maxKeys } = opts.shards;
    const verifier = callWasm(() => WasmVerifier.loadSharded(bytes, opts.publisherKeys, opts.audience, opts.sealKeys, maxShards, maxKeys));
    try {
      if (opts.maxAgeSeconds !== undefined) callWasm(() => verifier.checkFresh(Date.now(), opts.maxAgeSeconds));
    } catch (e) {
      release(verifier);
      throw e;
    }
    if (opts.onWarning) warn(verifier, opts.onWarning);
    return new Keygate(CONSTRUCT, verifier, bytes, opts, info(verifier, callWasm(() => verifier.statePayloadSha256())), null);
  }

  /** A verifier for the last good full set or manifest (after a trap). */
  #rebuilt() {
    if (this.#shards) {
      const { maxShards, maxKeys } = this.#shards.options;
      return callWasm(() => WasmVerifier.loadSharded(this.#bytes, this.#publisherKeys, this.#audience, this.#sealKeys, maxShards, maxKeys));
    }
    const v = callWasm(() => WasmVerifier.load(this.#bytes, this.#publisherKeys, this.#audience, this.#sealKeys));
    callWasm(() => v.takePayload()); // its digest is known: not kept in the module
    callWasm(() => v.setPayloadSha256(this.#sha));
    return v;
  }

  /**
   * The verifier of the current wasm instance: after a trap re-instantiated the module, it is
   * rebuilt from the last good key set (the set in use before the trap).
   */
  #current() {
    if (this.#generation !== wasmGeneration()) {
      const generation = wasmGeneration();
      const v = this.#rebuilt();
      // The deltas applied since: each authenticated again, none judged for age.
      for (const d of this.#deltas) callWasm(() => v.commitDelta(v.prepareDelta(d, Date.now(), undefined)));
      this.#verifier = v;
      this.#generation = generation;
      this.#table = new KeyTable(this.#verifier);
    }
    return this.#verifier;
  }

  /** Fails unless this Keygate still serves (it was not retired by a coordinator reset). */
  #live() {
    if (this.#retired) throw new KeygateError('ERR_VERIFIER_BUSY', 'the key set this request was decided under was replaced (a coordinator reset); it failed closed');
  }

  /**
   * One decision by the module of the request written into its input area (`len` bytes), at
   * `now` (ms), under `v`; `body`: the request has a body not read yet; `signed`: it carries
   * signature fields (the module then keeps every field; without, only those an unsigned
   * decision reads, every field still checked and counted). Returns its output.
   */
  #run(v, len, now, body, store, signed) {
    this.#live();
    let flags = body ? RUN.BODY : 0;
    if (signed) flags |= RUN.SIGNED;
    if (externalEd25519()) flags |= RUN.EXTERNAL_ED25519;
    if (store) flags |= RUN.CLAIM;
    // The wall clock (not `now`, which a caller may pin) says how long a decision waited:
    // a full table drops those that started over a minute ago.
    callWasm(() => v.run(len, now, flags, Date.now()));
    return readOut();
  }

  /**
   * Decides one request. Resolves to a Decision (a refusal is not an error); rejects with
   * `ERR_REQUEST_INVALID` or `ERR_INVALID_OPTIONS` when the input cannot be processed,
   * `ERR_BODY_TOO_LARGE` when a signed body that would be hashed exceeds `maxBodyBytes`,
   * `ERR_BODY_TIMEOUT` when a body it reads has not arrived whole within `bodyTimeoutSeconds`
   * of the start of its read (the read is stopped there), `ERR_NONCE_STORE` when the nonce
   * store fails, `ERR_INTERNAL` after a wasm trap.
   *
   * The wasm module decides it once: it may pause for the runtime's Ed25519, for the body's
   * digests (a signed request's body is read from a clone and hashed only once every other
   * check has passed, with only the algorithms its Content-Digest names; the caller's body is
   * left unread; a body declared larger than `maxBodyBytes` is never read, one that streams
   * past it stops being read there), for a webhook delivery's body (streamed into the
   * module's MACs once its fields, time and work bound passed, at most `maxWebhookBodyBytes`)
   * and for the nonce store's claim, then resumes where it stopped.
   */
  async verify(request, options = NO_OPTIONS) {
    const input = verifyInput(request, options);
    const store = input.nonceStore ?? this.#nonceStore;
    const v = this.#current();
    const generation = this.#generation;
    const { len, signed } = writeRequest(input.method, input.url, input.ip, input.headers);
    let source = signed ? bodySource(request, 'verify') : null;
    // Whether the body is empty is known from bytes or a declared length; only a stream
    // without one may turn out empty (then the module decides again without it).
    const declared = source?.request ? declaredLength(input.headers) : null;
    if (source?.bytes?.length === 0 || declared === 0) source = null;
    const mayBeEmpty = source?.request !== undefined && declared === null;
    const o = this.#run(v, len, input.now, source !== null, store, signed);
    // An outcome becomes a Decision at once, in the same turn as the call that wrote it: its
    // key and route indices are read in the key table of the set in use then (the module also
    // names that set's serial, which the table checks), never in a table kept across an await.
    // Most decisions end here, on the first call (nothing waited for); the rest wait in
    // #waited, a method of its own so that a first decision compiles only this one.
    if (o.kind === KIND.ALLOWED || (o.kind === KIND.REFUSED && !(o.flags & FLAG.BODY_ASSUMED && source !== null && mayBeEmpty))) {
      return decisionOf(o, input.url, this.#table);
    }
    return this.#waited(o, { input, store, v, generation, len, signed, source, declared, mayBeEmpty });
  }

  /**
   * The rest of a decision the module paused (`o`, the output of `verify`'s first call, made
   * under `s.v` in this wasm generation): waits for what it names, resumes it, until it is
   * allowed or refused.
   */
  async #waited(o, s) {
    const { input, store, len, signed, declared, mayBeEmpty } = s;
    let { v, generation, source } = s;
    // Each read of the body (whether it is empty, its digests, a delivery's MACs) has its own.
    const seconds = input.bodyTimeoutSeconds ?? this.#bodyTimeoutSeconds;
    const retired = () => this.#live();
    const run = () => this.#run(v, len, input.now, source !== null, store, signed);
    const decided = (o) => decisionOf(o, input.url, this.#table);
    let handle = null;
    const resumed = (call) => {
      if (generation !== wasmGeneration()) {
        handle = null;
        throw new KeygateError('ERR_INTERNAL', 'the wasm module trapped while this request was decided; it failed closed');
      }
      retired(); // (the handle is kept: the module's decision is abandoned below)
      const h = handle;
      handle = null;
      callWasm(() => call(h));
      return readOut();
    };
    // Decides again as a request without a body (it turned out empty), under the verifier and
    // key set in use now.
    const withoutBody = () => {
      if (handle !== null && generation === wasmGeneration()) callWasm(() => v.abandon(handle));
      handle = null;
      source = null;
      v = this.#current();
      generation = this.#generation;
      writeRequest(input.method, input.url, input.ip, input.headers);
      return run();
    };
    let shardRounds = 0;
    // The outer store's claim this request won, while it is not decided.
    let held = null;
    let decidedOk = false;
    try {
      for (;;) {
        switch (o.kind) {
          case KIND.ALLOWED: {
            const d = decided(o);
            decidedOk = true;
            return d;
          }
          case KIND.NEED_SHARDS: {
            // Sharded mode: nothing was decided; load what it names, then decide again.
            if (++shardRounds > 2) {
              throw new KeygateError('ERR_SHARD_UNAVAILABLE', 'the shards this request needs do not fit the shard cache at once (shards.maxShards, shards.maxKeys)');
            }
            await this.#loadShards(shardsOf(o));
            retired();
            v = this.#current();
            generation = this.#generation;
            writeRequest(input.method, input.url, input.ip, input.headers);
            o = run();
            break;
          }
          case KIND.REFUSED: {
            const refusal = decided(o);
            if (o.flags & FLAG.BODY_ASSUMED && source !== null && mayBeEmpty && (await isEmpty(source, seconds))) {
              o = withoutBody();
              break;
            }
            decidedOk = true;
            return refusal;
          }
          case KIND.NEED_ED25519: {
            handle = o.handle;
            const ok = await verifyEd25519(textView(o), this.#ed25519);
            o = resumed((h) => v.resumeVerify(h, ok));
            break;
          }
          case KIND.NEED_BODY: {
            handle = o.handle;
            const mask = (o.flags & FLAG.SHA256 ? 1 : 0) | (o.flags & FLAG.SHA512 ? 2 : 0);
            const d = await digestBody(source, mask, input.maxBodyBytes, declared, seconds);
            if (d.len === 0) {
              o = withoutBody();
              break;
            }
            o = resumed((h) => {
              writeBytes(0, d.digests);
              return v.resumeBody(h, d.have, d.len);
            });
            break;
          }
          case KIND.NEED_WEBHOOK_BODY: {
            // A webhook delivery whose fields, time and work bound passed: its body is part of
            // what is signed, so it streams into the module's MACs now, piece by piece, never
            // past its own bound (nor past maxBodyBytes).
            handle = o.handle;
            const max = Math.min(input.maxBodyBytes, input.maxWebhookBodyBytes);
            for await (const piece of webhookChunks(source, max, input.headers, seconds)) {
              o = resumed((h) => {
                writeBytes(0, piece);
                return v.resumeWebhookBody(h, piece.length, false);
              });
              if (o.kind !== KIND.NEED_WEBHOOK_BODY) break;
              handle = o.handle;
            }
            if (o.kind === KIND.NEED_WEBHOOK_BODY) o = resumed((h) => v.resumeWebhookBody(h, 0, true));
            break;
          }
          case KIND.NEED_CLAIM: {
            handle = o.handle;
            const [keyId, nonce] = textFields(o);
            const kind = CLAIM_KINDS[o.code];
            const c = Object.freeze({ keyId, nonce, expiresAt: o.claimExpires * 1000, kind });
            const fresh = await claim(store, c);
            if (fresh) held = c;
            o = resumed((h) => v.resumeClaim(h, fresh));
            break;
          }
          default: {
            const [message] = textFields(o);
            throw new KeygateError(ERROR_CODES[o.code] ?? 'ERR_INTERNAL', message ?? 'the wasm module failed');
          }
        }
      }
    } finally {
      // Stopped before the end (a failing store, a body that could not be read, a throw):
      // nothing is left waiting in the module.
      if (handle !== null && generation === wasmGeneration()) {
        try {
          v.abandon(handle); // (which forgets a nonce it recorded)
        } catch {
          // the instance is gone (after a trap), and its decisions with it
        }
      }
      // Not decided (it failed closed): the nonce it claimed outside is not used either. An
      // allowed or refused request keeps it.
      if (held !== null && !decidedOk) await releaseClaim(store, held);
    }
  }

  /**
   * Atomically replaces the key set with a newer revision: a full set, or a delta whose base
   * is exactly the set in use (its revision and payload digest). On any error (invalid set or
   * delta, audience, rollback, another base, staleness) it throws a KeygateError (with `error`
   * and `status`, the wire code and HTTP status a push endpoint answers with) and the current
   * set stays in use. With `maxAgeSeconds` (a push), a set or delta that would replace the
   * current one must carry an `issued_at` no older than that and not in the future
   * (`ERR_ENVELOPE_STALE`). Resolves to `{ changed, revision, kind }`: `changed` is false for
   * an identical re-push, `kind` is `'full'` or `'delta'`.
   */
  async update(next, options) {
    const { maxAgeSeconds } = checkUpdateOptions(options);
    const bytes = keySetBytes(next, 'update');
    return (await this[PREPARE](bytes, { maxAgeSeconds })).commit();
  }

  /**
   * Sharded mode: reads the shards `need` names and loads them into the verifier in use (each
   * only if it hashes to the digest the signed manifest names; one that does not is read once
   * more with `retry: true`, then the request fails closed with ERR_SHARD_UNAVAILABLE).
   */
  async #loadShards(need) {
    const state = callWasm(() => this.#current().statePayloadSha256());
    const got = await this.#shards.read(need);
    let v = this.#current();
    if (callWasm(() => v.statePayloadSha256()) !== state && callWasm(() => v.isSharded())) {
      // The set changed while they were read (a new manifest's shards have other digests, a
      // delta's do not): load those that still hash as named; the request asks for the rest.
      loadEach(v, need, got);
      this.#table = new KeyTable(v);
      return;
    }
    const failed = loadEach(v, need, got);
    if (failed.length > 0) {
      console.error(JSON.stringify({ event: 'keygate.shard_rejected', shards: failed.map((s) => s.name), message: 'a shard did not hash to the digest the signed manifest names; reading it again' }));
      const again = await this.#shards.read(failed, { retry: true });
      v = this.#current();
      failed.forEach((s, i) => callWasm(() => v.loadShard(s.name, again[i])));
    }
    this.#table = new KeyTable(v);
  }

  /**
   * Sharded mode: what the shard cache holds and did (`{ held, keys, loads, evictions,
   * refused, changed, bits, totalKeys, proven }`; `proven`: credentials remembered as seen
   * allowed, whose cold loads do not draw on the unproven budget), or null for a full key set.
   */
  get shards() {
    if (!this.#shards) return null;
    const s = JSON.parse(callWasm(() => this.#current().shardStats()));
    return Object.freeze({
      held: s.held,
      keys: s.keys,
      loads: s.loads,
      evictions: s.evictions,
      refused: s.refused,
      changed: s.changed,
      bits: s.bits,
      totalKeys: s.total_keys,
      proven: s.proven,
    });
  }

  /**
   * See PREPARE. Each look into the input (`isDelta`, `isManifest`, the set's own reading)
   * copies all of it into the module first. A full set beyond FULL_SET_FIRST_BYTES is read as
   * one at once (one copy, not three: 20 MB for 100k keys); only if that fails is it asked
   * whether it is a delta or a manifest, and judged as such. The answer is the same either
   * way: a delta or a manifest has a top-level `kind`, which no key set has, so neither ever
   * reads as a full set (tests/js/update-routing.test.mjs holds the two orders equal).
   */
  async [PREPARE](bytes, { maxAgeSeconds } = {}) {
    if (!this.#shards && bytes.byteLength > FULL_SET_FIRST_BYTES) {
      let pending;
      try {
        pending = callWasm(() => this.#current().prepare(bytes));
      } catch (e) {
        if (isDeltaInput(bytes)) return this.#prepareDelta(bytes, maxAgeSeconds);
        if (callWasm(() => isManifest(bytes))) throw notFullSet(false);
        throw e;
      }
      return this.#prepareFull(pending, bytes, maxAgeSeconds);
    }
    if (isDeltaInput(bytes)) return this.#prepareDelta(bytes, maxAgeSeconds);
    const manifest = callWasm(() => isManifest(bytes));
    if (this.#shards && manifest) return this.#prepareManifest(bytes, maxAgeSeconds);
    if (this.#shards || manifest) throw notFullSet(Boolean(this.#shards));
    return this.#prepareFull(callWasm(() => this.#current().prepare(bytes)), bytes, maxAgeSeconds);
  }

  /**
   * A full set `pending` from `bytes`: verified and validated first (nothing of an envelope is
   * decoded before its signature verified); then its payload is hashed, and the swap and the
   * new info happen together, with no await between.
   */
  async #prepareFull(pending, bytes, maxAgeSeconds) {
    let digest;
    let revision;
    try {
      digest = await sha256(callWasm(() => pending.payload()) ?? bytes);
      revision = callWasm(() => pending.revision());
      if (maxAgeSeconds !== undefined && revision > this.#info.revision) {
        callWasm(() => pending.checkFresh(Date.now(), maxAgeSeconds));
      }
    } catch (e) {
      release(pending);
      throw e;
    }
    const payloadSha256 = base64url(digest);
    const same = revision === this.#info.revision && payloadSha256 === this.#info.payloadSha256;
    return {
      kind: 'full',
      revision,
      payloadSha256,
      base: null,
      changed: !same,
      discard: () => release(pending),
      commit: () => {
        const verifier = this.#current();
        const result = callWasm(() => verifier.commit(pending, Date.now(), undefined));
        callWasm(() => verifier.setPayloadSha256(digest));
        if (result === 'replaced') {
          this.#bytes = bytes;
          this.#table = new KeyTable(verifier);
          this.#sha = digest;
          this.#deltas = [];
          this.#deltaBytes = 0;
          this.#info = info(verifier, payloadSha256);
          warn(verifier, this.#onWarning);
        }
        return Object.freeze({ changed: result === 'replaced', revision: this.#info.revision, kind: 'full' });
      },
    };
  }

  #prepareManifest(bytes, maxAgeSeconds) {
    const pending = callWasm(() => this.#current().prepareManifest(bytes));
    let m;
    try {
      m = JSON.parse(callWasm(() => pending.info()));
      if (maxAgeSeconds !== undefined && m.revision > this.#info.revision) callWasm(() => pending.checkFresh(Date.now(), maxAgeSeconds));
    } catch (e) {
      release(pending);
      throw e;
    }
    return {
      kind: 'manifest',
      revision: m.revision,
      payloadSha256: m.payload_sha256,
      base: null,
      shards: m.shards,
      changed: !(m.revision === this.#info.revision && m.payload_sha256 === this.#info.payloadSha256),
      discard: () => release(pending),
      commit: () => {
        const verifier = this.#current();
        const result = callWasm(() => verifier.commitManifest(pending));
        if (result === 'replaced') {
          this.#bytes = bytes;
          this.#table = new KeyTable(verifier);
          this.#deltas = [];
          this.#deltaBytes = 0;
          this.#info = info(verifier, m.payload_sha256);
          warn(verifier, this.#onWarning);
        }
        return Object.freeze({ changed: result === 'replaced', revision: this.#info.revision, kind: 'manifest' });
      },
    };
  }

  #prepareDelta(bytes, maxAgeSeconds) {
    const pending = callWasm(() => this.#current().prepareDelta(bytes, Date.now(), maxAgeSeconds));
    const d = JSON.parse(callWasm(() => pending.info()));
    const changed = d.result === 'replaced';
    if (changed && (this.#deltas.length >= MAX_DELTA_CHAIN || this.#deltaBytes + bytes.byteLength > MAX_DELTA_CHAIN_BYTES)) {
      release(pending);
      throw new KeygateError(
        'ERR_DELTA_CHAIN_FULL',
        `this verifier has applied ${this.#deltas.length} deltas (${this.#deltaBytes} bytes) since its last full set; update it with a full set`,
        { error: 'delta_chain_full', status: KEYSET_WIRE_STATUS.delta_chain_full },
      );
    }
    return {
      kind: 'delta',
      revision: d.revision,
      payloadSha256: d.payload_sha256,
      base: Object.freeze({ revision: d.base_revision, payloadSha256: d.base_payload_sha256 }),
      changed,
      discard: () => release(pending),
      commit: () => {
        const verifier = this.#current();
        const r = JSON.parse(callWasm(() => verifier.commitDelta(pending)));
        if (r.result === 'replaced') {
          this.#deltas.push(bytes);
          this.#deltaBytes += bytes.byteLength;
          // Keys moved and changed: a new table (a decision that waited is made again under
          // the set in use).
          this.#table = new KeyTable(verifier);
          this.#info = info(verifier, r.payload_sha256);
        }
        return Object.freeze({ changed: r.result === 'replaced', revision: this.#info.revision, kind: 'delta' });
      },
    };
  }

  /** See RETIRE. */
  [RETIRE]() {
    this.#retired = true;
  }

  /** See WAITING_LIMIT. */
  [WAITING_LIMIT](n, bytes = 0) {
    callWasm(() => this.#current().setWaitingLimit(n, bytes));
  }

  /** Revision, issue time, key count and payload digest of the set in use (no secrets). */
  get info() {
    return this.#info;
  }

  /** The revision of the key set in use. */
  get revision() {
    return this.#info.revision;
  }
}

export { KeygateError };
