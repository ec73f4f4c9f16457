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
 * the namespace's shards.
 */
export function coordinatorNonceStore(namespace, name, shards) {
  const stubOf = (keyId, nonce, kind) => namespace.getByName(`${name}:nonce:${shardOf(kind === 'webhook' ? nonce : keyId, shards)}`);
  return Object.freeze({
    async claim({ keyId, nonce, expiresAt, kind }) {
      const fresh = await stubOf(keyId, nonce, kind).claimNonce(await fingerprint(keyId, nonce, kind), expiresAt);
      if (typeof fresh !== 'boolean') throw new KeygateError('ERR_NONCE_STORE', 'the coordinator answered a nonce claim without a verdict');
      return fresh;
    },
    /** Forgets a claim this store answered `true` to, for a request that was then not decided. */
    async release({ keyId, nonce, expiresAt, kind }) {
      await stubOf(keyId, nonce, kind).releaseNonce(await fingerprint(keyId, nonce, kind), expiresAt);
    },
  });
}
