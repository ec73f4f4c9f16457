// Bounded waits for the key set's storage (KV, the coordinator, a nonce store, a shard
// source), reads and the writes of a push alike: a call that never answers must not hold a
// request, a push slot, nor a promise other requests share, for longer than its bound. The
// timer is cleared as soon as either side settles, so nothing is left scheduled in the isolate
// (workerd keeps a request alive while a timer of it is pending).

/** The default bound of one storage read on a request's path, in seconds. */
export const STORAGE_TIMEOUT_SECONDS = 5;
/** The largest bound accepted, in seconds. */
export const STORAGE_TIMEOUT_SECONDS_LIMIT = 60;

/**
 * The default deadline of a request body keygate reads before it decides (a webhook
 * delivery's, a signed request's), in seconds from the start of its read (body.js).
 */
export const BODY_TIMEOUT_SECONDS = 30;
/** The longest body deadline accepted, in seconds (as a push body's). */
export const BODY_TIMEOUT_SECONDS_LIMIT = 300;

/** A read that did not answer within its bound. */
export class ReadTimeout extends Error {
  constructor(what, ms) {
    super(`${what} did not answer within ${ms / 1000} s`);
    this.name = 'ReadTimeout';
    this.timeoutMs = ms;
  }
}

/** Whether `v` is a bound in seconds: a finite number > 0 and at most `limit` (the storage bound's unless given). */
export function isTimeoutSeconds(v, limit = STORAGE_TIMEOUT_SECONDS_LIMIT) {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= limit;
}

/**
 * A bound in seconds from configuration text or a number (an environment variable): the value
 * when it is one (at most `limit`), else `fallback`.
 */
export function timeoutSecondsOf(v, fallback = STORAGE_TIMEOUT_SECONDS, limit = STORAGE_TIMEOUT_SECONDS_LIMIT) {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v.trim()) : v;
  return isTimeoutSeconds(n, limit) ? n : fallback;
}

/**
 * Settles as `promise` does, or rejects with a ReadTimeout after `ms`, whichever comes first;
 * what the promise does later is dropped. `controller` (an AbortController) is aborted at the
 * bound, so the read itself may stop.
 */
export function bounded(promise, ms, what, { controller } = {}) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      const e = new ReadTimeout(what, ms);
      controller?.abort(e);
      reject(e);
    }, ms);
  });
  // A late rejection is handled here (never an unhandled rejection).
  const read = Promise.resolve(promise);
  read.catch(() => {});
  return Promise.race([read, timeout]).finally(() => clearTimeout(timer));
}

/**
 * After a nonce claim timed out: waits (kept alive by `waitUntil`, when given) for the late
 * answer of `call` and releases `claim` through `release` only if it was won (`true`). One whose
 * answer never comes, or is not `true`, is never released: it may be another request's win.
 */
export function releaseIfWonLate(call, claim, release, waitUntil) {
  const late = Promise.resolve(call)
    .then(
      (won) => (won === true ? release(claim) : undefined),
      () => undefined,
    )
    .catch((err) => console.error(JSON.stringify({ event: 'keygate.nonce_release_failed', message: String(err?.message ?? err).slice(0, 200) })));
  waitUntil?.(late);
}

/**
 * A middleware user's nonce store (`claim`, and `release` when it has one) with every call
 * bounded by `ms`: one that does not answer fails the request closed (503
 * verifier_unavailable), like the coordinator's store. A claim answered `true` after its
 * bound was recorded for a request that was not decided: it is released then (kept alive by
 * `waitUntil`), so the client's retry of the same signature is decided, not refused as a
 * replay. (Only a claim seen won is released: one whose answer is unknown may be the claim of
 * the request that did win it.)
 */
export function boundedNonceStore(store, ms, waitUntil) {
  const own = typeof store.release === 'function' ? store.release.bind(store) : null;
  const release = own && ((claim) => bounded(Promise.resolve().then(() => own(claim)), ms, 'the nonce store'));
  return Object.freeze({
    async claim(claim) {
      const call = Promise.resolve().then(() => store.claim(claim));
      try {
        return await bounded(call, ms, 'the nonce store');
      } catch (e) {
        if (e instanceof ReadTimeout && release) releaseIfWonLate(call, claim, release, waitUntil);
        throw e;
      }
    },
    ...(release ? { release } : {}),
  });
}
