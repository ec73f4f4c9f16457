// The global nonce store of a bound coordinator: a signature's nonce, once accepted anywhere,
// is refused everywhere (other isolates, restarts, traps) until its window ends. The claims
// live in instances of KeygateCoordinator named `<name>:nonce:<n>`, sharded by key id, so
// every replay of a (key id, nonce) meets the one shard that saw it first. A shard stores a
// 16-byte fingerprint per claim (SHA-256 of the key id's length, the key id and the nonce;
// a webhook delivery's claim, kind "webhook", is prefixed with 0xffffffff, a length no key id
// has, so it never meets a signature's nonce of the same text), never the nonce, and forgets
// it when its window has ended. A webhook delivery's claim names no key (its key id is empty:
// it is claimed by webhook-id and timestamp alone), so it is sharded by its nonce.

import { KeygateError } from './errors.js';
import { ReadTimeout, STORAGE_TIMEOUT_SECONDS, bounded, releaseIfWonLate } from './deadline.js';

const encoder = new TextEncoder();

/** FNV-1a of the key id: which shard holds its nonces. */
function shardOf(keyId, shards) {
  let h = 0x811c9dc5;
  for (const b of encoder.encode(keyId)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h % shards;
}

const WEBHOOK = 0xffffffff;

async function fingerprint(keyId, nonce, kind) {
  const id = encoder.encode(keyId);
  const n = encoder.encode(nonce);
  const at = kind === 'webhook' ? 4 : 0;
  const input = new Uint8Array(at + 4 + id.byteLength + n.byteLength);
  const view = new DataView(input.buffer);
  if (at) view.setUint32(0, WEBHOOK);
  view.setUint32(at, id.byteLength);
  input.set(id, at + 4);
  input.set(n, at + 4 + id.byteLength);
  return new Uint8Array(await crypto.subtle.digest('SHA-256', input)).slice(0, 16);
}

/**
 * A nonce store (`claim({ keyId, nonce, expiresAt, kind })` → boolean, `release(claim)`) over
 * the namespace's shards. A claim or release the shard does not answer within `timeoutMs`
 * fails (the request fails closed: 503 verifier_unavailable). A claim answered `true` after
 * that was recorded for a request that was not decided: it is released then, so the client's
 * retry with the same signature is decided. (A claim is released only when this store saw it
 * won: releasing one whose answer is unknown could free the nonce of the request that did
 * win it, for a replay.)
 */
export function coordinatorNonceStore(namespace, name, shards, timeoutMs = STORAGE_TIMEOUT_SECONDS * 1000) {
  const stubOf = (keyId, nonce, kind) => namespace.getByName(`${name}:nonce:${shardOf(kind === 'webhook' ? nonce : keyId, shards)}`);
  const release = async ({ keyId, nonce, expiresAt, kind }) => {
    const fp = await fingerprint(keyId, nonce, kind);
    await bounded(stubOf(keyId, nonce, kind).releaseNonce(fp, expiresAt), timeoutMs, 'the nonce shard');
  };
  return Object.freeze({
    /**
     * `waitUntil` (the request's, when given) keeps the isolate waiting, past the response, for
     * the answer of a claim that timed out, to release it if it was won.
     */
    async claim(claim, waitUntil) {
      const { keyId, nonce, expiresAt, kind } = claim;
      const fp = await fingerprint(keyId, nonce, kind);
      const call = stubOf(keyId, nonce, kind).claimNonce(fp, expiresAt);
      let fresh;
      try {
        fresh = await bounded(call, timeoutMs, 'the nonce shard');
      } catch (e) {
        if (e instanceof ReadTimeout) releaseIfWonLate(call, claim, release, waitUntil);
        throw e;
      }
      if (typeof fresh !== 'boolean') throw new KeygateError('ERR_NONCE_STORE', 'the coordinator answered a nonce claim without a verdict');
      return fresh;
    },
    /** Forgets a claim this store answered `true` to, for a request that was then not decided. */
    release,
  });
}
