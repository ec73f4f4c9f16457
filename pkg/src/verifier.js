// Helpers of a Keygate over its wasm verifier, outside the class: what `gate.info` shows,
// lint warnings, the payload digest, releasing wasm objects, loading shards.

import { callWasm, rfc3339 } from './errors.js';

/** Reports the set's lint warnings (judged now) to onWarning. */
export function warn(verifier, onWarning) {
  if (!onWarning) return;
  for (const w of JSON.parse(callWasm(() => verifier.lint(Date.now())))) {
    try {
      onWarning(Object.freeze({ code: w.code, path: w.path, message: w.message }));
    } catch (e) {
      // A failing callback must not turn a completed load or swap into an error.
      console.error(JSON.stringify({ event: 'keygate.on_warning_error', message: String(e?.message ?? e) }));
    }
  }
}

/** Frees a wasm object now (one of an instance replaced after a trap is already gone). */
export function release(object) {
  try {
    object.free();
  } catch {
    // stale: its instance was replaced, and its memory with it
  }
}

/** SHA-256 of bytes, by WebCrypto. */
export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

/**
 * Loads each shard of `need` from its bytes in `got` into `v`; returns those refused (they did
 * not hash to the digest the signed manifest names), which are not loaded.
 */
export function loadEach(v, need, got) {
  const refused = [];
  need.forEach((s, i) => {
    try {
      callWasm(() => v.loadShard(s.name, got[i]));
    } catch (e) {
      if (e?.code !== 'ERR_SHARD_UNAVAILABLE') throw e;
      refused.push(s);
    }
  });
  return refused;
}

/**
 * What `gate.info` shows about the set in use (no secrets). Read as numbers (`infoNumbers`),
 * not as JSON: the module then formats and serialises nothing, and a first load compiles none
 * of that code; the seal key ids are asked only when there are some.
 */
export function info(verifier, payloadSha256) {
  const [revision, issuedAt, expiresAt, keys, sealed, sealKeys] = callWasm(() => verifier.infoNumbers());
  return Object.freeze({
    revision,
    issuedAt: rfc3339(issuedAt),
    expiresAt: rfc3339(expiresAt),
    keys,
    sealed,
    sealKeyIds: Object.freeze(sealKeys === 0 ? [] : JSON.parse(callWasm(() => verifier.sealKeyIds()))),
    payloadSha256,
  });
}
