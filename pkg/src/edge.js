// Shared by the Workers and Hono middleware: option checks, the per-isolate key set source
// (load once, refresh in the background), judging one request (edge-request.js), the audit
// log line and the refusal response.

import { Keygate, audienceText, publisherKeysText, sealKeysText } from './keygate.js';
import { checkKeySet } from './keys.js';
import { KeygateError, describe, invalidOptions } from './errors.js';
import { checkNonceStore } from './request.js';
import { WIRE_STATUS, errorResponse, refusalResponse } from './wire.js';
import { REQUEST_OPTIONS, requestOptions, secondsOption } from './edge-options.js';
import { OptionFault, asKeySource, clientAddress, recordJudged, verifiable } from './edge-request.js';
import { WriteLedger } from './write-ledger.js';
import { ReadTimeout, STORAGE_TIMEOUT_SECONDS, STORAGE_TIMEOUT_SECONDS_LIMIT, bounded, boundedNonceStore } from './deadline.js';

const DEFAULT_REFRESH_SECONDS = 30;

/**
 * Checks middleware options once, at creation, and returns a private copy (the caller's
 * object is never mutated or kept). `extra` names options specific to one middleware;
 * `onRefusedWords` the values besides a function that its `onRefused` takes.
 */
export function checkEdgeOptions(where, options, extra = {}, onRefusedWords = []) {
  if (options === null || typeof options !== 'object') {
    throw invalidOptions(`${where}: options must be an object with a keySet, got ${describe(options)}`);
  }
  const known = new Set([
    'keySet',
    'publisherKeys',
    'audience',
    'sealKeys',
    'refreshSeconds',
    'log',
    'onWarning',
    'nonceStore',
    'storageTimeoutSeconds',
    ...REQUEST_OPTIONS,
    ...Object.keys(extra),
  ]);
  for (const k of Object.keys(options)) {
    if (!known.has(k)) throw invalidOptions(`${where}: unknown option ${JSON.stringify(k)}`);
  }
  const { keySet, publisherKeys, audience, sealKeys, refreshSeconds, onWarning, nonceStore } = options;
  if (keySet === undefined || keySet === null) {
    throw invalidOptions(`${where}: options.keySet is required (key set JSON, object, or a function of env)`);
  }
  const pinned = typeof publisherKeys === 'function' ? publisherKeys : publisherKeysText(publisherKeys, where);
  const served = typeof audience === 'function' ? audience : audienceText(audience, where);
  const sealed = typeof sealKeys === 'function' ? sealKeys : sealKeysText(sealKeys, where);
  if (typeof keySet !== 'function' && pinned === undefined) {
    // A fixed key set is validated now, so a bad one fails at deploy time, not per request.
    // (A signed envelope is checked on first use, with its publisher keys.)
    const check = checkKeySet(keySet, typeof sealed === 'string' ? { sealKeys: sealed } : {});
    if (!check.valid) {
      const first = check.errors[0];
      throw new KeygateError('ERR_KEYSET_INVALID', `${where}: invalid key set: ${first.path}: ${first.message}`, {
        errors: check.errors,
      });
    }
  }
  if (
    refreshSeconds !== undefined &&
    typeof refreshSeconds !== 'function' &&
    !(typeof refreshSeconds === 'number' && refreshSeconds >= 0 && Number.isFinite(refreshSeconds))
  ) {
    throw invalidOptions(`${where}: options.refreshSeconds must be a number >= 0 or a function of env`);
  }
  if (onWarning !== undefined && typeof onWarning !== 'function') {
    throw invalidOptions(`${where}: options.onWarning must be a function`);
  }
  if (typeof nonceStore !== 'function') checkNonceStore(nonceStore, `${where}: options.nonceStore`);
  for (const [k, type] of Object.entries(extra)) {
    if (options[k] !== undefined && typeof options[k] !== type) {
      throw invalidOptions(`${where}: options.${k} must be a ${type}`);
    }
  }
  const copy = {
    storageTimeoutSeconds: secondsOption(where, 'storageTimeoutSeconds', options.storageTimeoutSeconds, STORAGE_TIMEOUT_SECONDS, STORAGE_TIMEOUT_SECONDS_LIMIT),
    publisherKeys: pinned,
    audience: served,
    sealKeys: sealed,
    keySet: typeof keySet === 'function' ? keySet : keySetText(keySet),
    refreshSeconds: refreshSeconds ?? DEFAULT_REFRESH_SECONDS,
    ...requestOptions(where, options, { onRefusedWords, logLine }),
    onWarning,
    nonceStore: typeof nonceStore === 'function' ? nonceStore : () => nonceStore,
  };
  for (const k of Object.keys(extra)) copy[k] = options[k];
  return Object.freeze(copy);
}

/** A key set source's value as text: text as is, bytes decoded (KV `arrayBuffer`), objects as JSON. */
function keySetText(input) {
  if (typeof input === 'string') return input;
  if (input instanceof Uint8Array || input instanceof ArrayBuffer) return new TextDecoder().decode(input);
  return JSON.stringify(input);
}

function logLine(record) {
  console.log(JSON.stringify(record));
}

function seconds(refresh, env) {
  const v = Number(typeof refresh === 'function' ? refresh(env) : refresh);
  return Number.isFinite(v) && v >= 0 ? v : DEFAULT_REFRESH_SECONDS;
}

/**
 * The key set of one isolate. A fixed set is loaded once. A function of env is called on the
 * first request and then again every `refreshSeconds`, in the background (the request is
 * answered with the set in use: stale while revalidate). A new set replaces the old one
 * atomically through `Keygate.update`, so an invalid, unsigned, foreign (audience) or older
 * set is refused, logged, and the old one stays. `push` applies a set given directly (the push
 * endpoint), which must also be fresh.
 */
export class KeySetSource {
  #opts;
  #gate = null;
  #fault = null;
  #lastText = null;
  #checkedAt = -Infinity;
  #pending = null;
  #gen = 0;
  #pushing = Promise.resolve();
  #pushBusy = false;
  #unstored = false;
  #writes = new WriteLedger();

  constructor(opts) {
    this.#opts = opts;
  }

  /** The verifier to use now, or null when no key set could be loaded (answer 503). */
  async get(env, waitUntil) {
    const fixed = typeof this.#opts.keySet !== 'function';
    if (this.#gate && fixed) return this.#gate;
    const due = Date.now() - this.#checkedAt >= seconds(this.#opts.refreshSeconds, env) * 1000;
    const pending = this.#live();
    if (this.#gate) {
      if (due && !pending) waitUntil?.(this.#start(env).promise);
      return this.#gate;
    }
    if (due || this.#pending) {
      // A read past its deadline never ended (its request did, and in workerd its promises
      // with it): a new one replaces it. Each request waits at most until the read's deadline,
      // by its own timer.
      const read = pending ?? this.#start(env);
      await bounded(read.promise, Math.max(1, read.deadline - Date.now()), 'the key set source').catch(() => {});
    }
    return this.#gate;
  }

  /** The refresh under way, unless it is past its deadline (then it no longer counts). */
  #live() {
    const p = this.#pending;
    return p && Date.now() < p.deadline ? p : null;
  }

  /**
   * A new refresh: it replaces one past its deadline (one read, bounded, and the load: twice
   * the storage bound), whose late answer is then dropped.
   */
  #start(env) {
    const bound = (this.#opts.storageTimeoutSeconds?.(env) ?? STORAGE_TIMEOUT_SECONDS) * 1000;
    const gen = ++this.#gen;
    const entry = { deadline: Date.now() + 2 * bound, promise: null };
    entry.promise = this.#refresh(env, gen).finally(() => {
      if (this.#pending === entry) this.#pending = null;
    });
    this.#pending = entry;
    return entry;
  }

  /** The pinned publisher keys for this environment (undefined: none). */
  publisherKeys(env) {
    const { publisherKeys } = this.#opts;
    return (typeof publisherKeys === 'function' ? publisherKeys(env) : publisherKeys) || undefined;
  }

  /** The seal keys of this environment, as configuration text (undefined: none). */
  sealKeys(env) {
    const { sealKeys } = this.#opts;
    const keys = typeof sealKeys === 'function' ? sealKeys(env) : sealKeys;
    return keys ? sealKeysText(keys, 'sealKeys') : undefined;
  }

  /** The audience this environment serves (undefined: none). */
  audience(env) {
    const { audience } = this.#opts;
    return (typeof audience === 'function' ? audience(env) : audience) || undefined;
  }

  async #refresh(env, gen) {
    this.#checkedAt = Date.now();
    let input;
    try {
      // A source that does not answer within the storage bound fails this refresh (its late
      // answer is dropped): a cold isolate answers 503 keyset_unavailable, and reads again a
      // second later instead of a whole interval later.
      input =
        typeof this.#opts.keySet === 'function'
          ? await bounded(this.#opts.keySet(env), (this.#opts.storageTimeoutSeconds?.(env) ?? STORAGE_TIMEOUT_SECONDS) * 1000, 'the key set source')
          : this.#opts.keySet;
      if (gen !== this.#gen) return; // a newer refresh replaced this one: its answer is dropped
    } catch (e) {
      if (gen !== this.#gen) return;
      if (e instanceof ReadTimeout && !this.#gate) this.#checkedAt = Date.now() + 1000 - seconds(this.#opts.refreshSeconds, env) * 1000;
      this.log('keyset_source_error', { message: String(e?.message ?? e) });
      return;
    }
    if (input === undefined || input === null) {
      if (this.#gate) this.log('keyset_missing', { message: 'the key set source is empty; keeping the set in use' });
      else this.#fault = null;
      return;
    }
    const text = keySetText(input);
    if (text === this.#lastText) return;
    this.#lastText = text;
    try {
      await this.#apply(env, text, 'refresh');
    } catch {
      // logged by #apply; the set in use stays
    }
  }

  /**
   * Loads or updates to `input`; logs the outcome; throws the KeygateError of a refusal.
   * `maxAgeSeconds` (pushes only) is the freshness a set must have to replace the current one.
   */
  async #apply(env, input, origin, maxAgeSeconds) {
    try {
      let gate = null;
      if (!this.#gate) {
        const { onWarning } = this.#opts;
        const audience = this.audience(env);
        gate = await Keygate.load(input, {
          publisherKeys: this.publisherKeys(env),
          audience,
          sealKeys: this.sealKeys(env),
          maxAgeSeconds,
          onWarning,
        });
      }
      // A set in use (or one another load installed meanwhile: a push, a refresh): updated,
      // an older one refused, never replaced.
      if (this.#gate) {
        const r = await this.#gate.update(input, { maxAgeSeconds });
        if (r.changed) this.log('keyset_updated', { revision: r.revision, keys: this.#gate.info.keys, origin });
        if (r.changed && origin === 'refresh') {
          this.#unstored = false;
          this.#writes.serving(r.revision);
        }
        return r;
      }
      this.#gate = gate;
      this.log('keyset_loaded', { revision: this.#gate.revision, keys: this.#gate.info.keys, origin });
      this.#fault = null;
      return { changed: true, revision: this.#gate.revision };
    } catch (e) {
      // The source holds a set older than the one in use (a lagging replica, or a replayed
      // envelope written there): the next push writes the set in use again, even unchanged.
      if (origin === 'refresh' && e?.code === 'ERR_KEYSET_ROLLBACK') this.#unstored = true;
      const fault = configurationFault(e, this.publisherKeys(env));
      if (!this.#gate) this.#fault = fault;
      this.log('keyset_rejected', {
        code: e?.code ?? 'ERR_UNKNOWN',
        message: String(e?.message ?? e),
        ...(fault ? { hint: fault } : {}),
        current_revision: this.#gate?.revision ?? null,
        origin,
      });
      throw e;
    }
  }

  /**
   * Why no set could be loaded, when the cause is this edge's configuration rather than the
   * set (a signed envelope with no publisher keys to check it, unreadable publisher keys), else
   * null. It names no data of the set, so it may be told to clients in the 503.
   */
  get fault() {
    return this.#gate ? null : this.#fault;
  }

  /**
   * Claims the push slot of this isolate: a release function, or null while another push is
   * being read or applied (the caller then refuses without reading its body).
   */
  beginPush() {
    if (this.#pushBusy) return null;
    this.#pushBusy = true;
    let held = true;
    return () => {
      if (held) {
        held = false;
        this.#pushBusy = false;
      }
    };
  }

  /**
   * Applies a pushed set (bytes), one push at a time. It first re-reads the source, so a
   * newer set another isolate already stored is in use before the push is judged (a push
   * can then never move the stored set backwards from what this isolate could see). A set
   * that would replace the one in use must be fresh: `issued_at` at most `maxAgeSeconds` old
   * (`envelope_stale` otherwise). Resolves to `{ changed, store, revision, keys, text }`: `store`
   * is true when the set in use should be written for the other isolates (it changed, or an
   * earlier write of it failed; see `stored`), `text` is what to write (the envelope as text,
   * the string this source keeps to recognise an unchanged read); throws the KeygateError of a
   * refusal.
   */
  push(env, bytes, { maxAgeSeconds } = {}) {
    const run = async () => {
      if (typeof this.#opts.keySet === 'function') {
        const pending = this.#live();
        if (pending) await bounded(pending.promise, Math.max(1, pending.deadline - Date.now()), 'the key set source').catch(() => {});
        const read = this.#start(env);
        await bounded(read.promise, Math.max(1, read.deadline - Date.now()), 'the key set source').catch(() => {});
      } else if (!this.#gate) {
        await this.get(env);
      }
      const r = await this.#apply(env, bytes, 'push', maxAgeSeconds);
      this.#lastText = new TextDecoder().decode(bytes);
      if (r.changed) this.#unstored = true;
      return { changed: r.changed, store: this.#unstored, revision: r.revision, keys: this.#gate.info.keys, text: this.#lastText };
    };
    const result = this.#pushing.then(run, run);
    this.#pushing = result.then(
      () => {},
      () => {},
    ); // (not the result: it holds the set's text)
    return result;
  }

  /** What this isolate remembers of its writes of pushed sets (write-ledger.js). */
  get writes() {
    return this.#writes;
  }

  /** Records that the set in use was written for the other isolates. */
  stored() {
    this.#unstored = false;
  }

  /** Records that the set in use may not be stored (a write failed or did not answer): the next push of it writes it. */
  notStored() {
    this.#unstored = true;
  }

  /** The bound of one wait on the key set's storage (a read or a write), in seconds. */
  storageTimeoutSeconds(env) {
    return this.#opts.storageTimeoutSeconds?.(env) ?? STORAGE_TIMEOUT_SECONDS;
  }

  /** One key set lifecycle log record (`keygate.<event>`). */
  log(event, fields) {
    this.#opts.log?.({ time: new Date().toISOString(), event: `keygate.${event}`, ...fields });
  }
}

/**
 * One audit line per decision: never a secret, a key, a message or a query string. Every
 * refusal is logged; an allowed decision with the probability `logSample` (its line then
 * carries `sample_rate`, so counts can be scaled back up).
 */
function logDecision(opts, decision, method, clientIp) {
  if (!opts.log) return;
  const rate = opts.logAllowed;
  if (decision.allowed && rate < 1 && !(Math.random() < rate)) return;
  const record = {
    time: new Date().toISOString(),
    event: 'keygate.decision',
    allowed: decision.allowed,
    status: decision.status,
    reason: decision.reason ?? null,
    key_id: decision.keyId ?? null,
    client_ip: clientIp ?? null,
    method,
    route: decision.route ?? null,
  };
  if (decision.allowed && rate < 1) record.sample_rate = rate;
  opts.log(record);
}

const PUBLISHER_KEYS_WHERE = 'KEYGATE_PUBLISHER_KEYS on the gateway, the publisherKeys option in code';

/** A configuration fault behind a refused key set (see KeySetSource#fault), or null. */
function configurationFault(e, publisherKeys) {
  if (e?.code !== 'ERR_INVALID_OPTIONS') return null;
  if (/^sealKeys:/.test(e.message)) {
    return 'the configured seal keys cannot be read (KEYGATE_SEAL_KEYS on the gateway, the sealKeys option in code)';
  }
  if (/^audience:/.test(e.message)) {
    return 'the configured audience is not a valid audience name (KEYGATE_AUDIENCE on the gateway, the audience option in code)';
  }
  return publisherKeys === undefined
    ? `the key set is a signed envelope, but no publisher keys are configured to verify it: set the publisher's public key (${PUBLISHER_KEYS_WHERE})`
    : `the configured publisher keys cannot be read (${PUBLISHER_KEYS_WHERE}); see the log`;
}

/** The message of 503 keyset_unavailable: with the source's configuration fault when it has one. */
function unavailableMessage(source) {
  const fault = source?.fault;
  return `no valid key set is loaded; requests are refused until one is${fault ? `: ${fault}` : ''}`;
}

/** 503 keyset_unavailable; with the source's configuration fault in the message when it has one. */
export function unavailable(source) {
  return errorResponse('keyset_unavailable', unavailableMessage(source));
}

/** A refusal the edge makes itself, shaped as a decision; its status comes from WIRE_STATUS. */
function edgeRefusal(reason, message, headers = {}) {
  return Object.freeze({ allowed: false, status: WIRE_STATUS[reason], reason, message, headers: Object.freeze(headers) });
}

/**
 * Judges one request for a middleware and logs the decision. `args` are what the option
 * callbacks receive (`[request, env, ctx]` for Workers, `[c]` for Hono). Resolves to the
 * verifier's decision, or to a refusal the edge makes itself, of the same shape with a
 * WIRE_STATUS code as its reason: `keyset_unavailable` (no key set loaded),
 * `malformed_request` (a request the verifier cannot read), `body_too_large` (a signed body
 * over `maxBodyBytes`), `body_timeout` (a body read before the decision that did not arrive
 * whole within `bodyTimeoutSeconds`), `verifier_unavailable` (anything else: a failing nonce
 * store or option callback, a wasm trap; the cause is logged, never sent, and the next
 * request is decided normally).
 */
export async function judge(opts, source, request, env, waitUntil, args) {
  const gate = await source.get(env, waitUntil);
  let decision;
  let clientIp;
  if (!gate) {
    decision = edgeRefusal('keyset_unavailable', unavailableMessage(source));
  } else {
    try {
      clientIp = await clientAddress(opts, request, args);
      const seen = await verifiable(opts, request, args);
      // A bound coordinator's global store unless the options give one (coordination.js);
      // the options' own is bounded by the storage bound too.
      const own = opts.nonceStore(env);
      const nonceStore = own ? boundedStore(own, opts.storageTimeoutSeconds(env) * 1000, waitUntil) : source.nonceStore?.(env, waitUntil);
      const bounds = {
        maxBodyBytes: opts.maxBodyBytes(env),
        maxWebhookBodyBytes: opts.maxWebhookBodyBytes(env),
        bodyTimeoutSeconds: opts.bodyTimeoutSeconds(env),
      };
      ({ decision, clientIp } = await decide(gate, seen, clientIp, nonceStore, bounds));
      decision = asKeySource(decision, opts.keySource);
      if (decision.allowed) recordJudged(request, decision, clientIp, seen.url);
      // A body that came too late is not read for the handler either (it does not run): its
      // branch is cancelled too, so the runtime drops what the tee kept for it and stops reading.
      else if (decision.reason === 'body_timeout' && typeof request.body?.cancel === 'function') {
        request.body.cancel().catch(() => {});
      }
    } catch (e) {
      // A request that cannot be judged as sent (the key header's `_` twin, edge-request.js).
      decision = e?.code === 'ERR_REQUEST_INVALID' ? edgeRefusal('malformed_request', e.message) : undecided(e);
    }
  }
  logDecision(opts, decision, request.method, clientIp);
  return decision;
}

/**
 * 503 verifier_unavailable for a request that was not decided. The cause (a nonce store's
 * connection string, a trap, an option callback's error) stays in the server's log; the
 * client is told only that the request was not decided.
 */
function undecided(e) {
  const event = e instanceof OptionFault ? 'keygate.option_error' : 'keygate.verifier_error';
  const fields = e instanceof OptionFault ? { option: e.option } : { code: e?.code ?? null };
  console.error(JSON.stringify({ event, ...fields, message: String(e?.message ?? e) }));
  return edgeRefusal('verifier_unavailable', 'the request could not be verified right now; try again');
}

/** A nonce store with its calls bounded; anything else as given (`verify` refuses it). */
function boundedStore(store, ms, waitUntil) {
  const valid = typeof store === 'object' && typeof store.claim === 'function' && (store.release === undefined || typeof store.release === 'function');
  return valid ? boundedNonceStore(store, ms, waitUntil) : store;
}

/**
 * `gate.verify` with the middleware's options: `{ decision, clientIp }` with the client
 * address actually used (an address the verifier cannot parse counts as unknown: allow lists
 * then fail closed). Errors other than an unreadable request, an oversized or a late body are
 * thrown.
 */
async function decide(gate, request, clientIp, nonceStore, bounds) {
  const options = nonceStore ? { clientIp, nonceStore, ...bounds } : { clientIp, ...bounds };
  try {
    return { decision: await gate.verify(request, options), clientIp };
  } catch (e) {
    if (e?.code === 'ERR_INVALID_OPTIONS' && clientIp) return decide(gate, request, undefined, nonceStore, bounds);
    if (e?.code === 'ERR_REQUEST_INVALID') return { decision: edgeRefusal('malformed_request', e.message), clientIp };
    if (e?.code === 'ERR_SHARD_UNAVAILABLE') {
      // Sharded mode: what failed (a store's error, a digest) stays in the log.
      console.error(JSON.stringify({ event: 'keygate.shard_unavailable', message: String(e.message).slice(0, 300) }));
      const message = 'a part of the key set this request needs could not be loaded right now; try again';
      return { decision: edgeRefusal('shard_unavailable', message, { 'retry-after': '1' }), clientIp };
    }
    if (e?.code === 'ERR_BODY_TOO_LARGE') {
      const what = e.limit < bounds.maxBodyBytes ? 'a webhook delivery' : 'a signed request body';
      const message = `${what} may carry at most ${e.limit ?? bounds.maxBodyBytes} bytes here`;
      return { decision: edgeRefusal('body_too_large', message), clientIp };
    }
    if (e?.code === 'ERR_BODY_TIMEOUT') {
      const seconds = e.timeoutSeconds ?? bounds.bodyTimeoutSeconds;
      const message = `the request body did not arrive whole within ${seconds} s; the rest was not read`;
      return { decision: edgeRefusal('body_timeout', message), clientIp };
    }
    throw e;
  }
}

/**
 * The response to a refusal: what `onRefused(decision, context)` returns, else (no callback,
 * or one that returned no Response: logged) the decision's status, `{"error", "message"}` and
 * its headers. An exception thrown by the callback propagates (Hono: to `app.onError`).
 */
export async function refusalFor(opts, decision, context) {
  if (typeof opts.onRefused !== 'function') return refusalResponse(decision);
  const r = await opts.onRefused(decision, context);
  if (r instanceof Response) return r;
  console.error(
    JSON.stringify({ event: 'keygate.option_error', option: 'onRefused', message: `options.onRefused returned ${describe(r)}; expected a Response` }),
  );
  return refusalResponse(decision);
}
