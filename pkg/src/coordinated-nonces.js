// The global nonce store of a bound coordinator: a signature's nonce, once accepted anywhere,
// is refused everywhere (other isolates, restarts, traps) until its window ends. The claims
// live in instances of KeygateCoordinator named `<name>:nonce:<n>`, sharded by key id, so
// every replay of a (key id, nonce) meets the one shard that saw it first. A shard stores a
// 16-byte fingerprint per claim (SHA-256 of the key id's length, the key id and the nonce),
// never the nonce, and forgets it when its window has ended.

import { KeygateError } from './errors.js';

const encoder = new TextEncoder();

/** FNV-1a of the key id: which shard holds its nonces. */
function shardOf(keyId, shards) {
  let h = 0x811c9dc5;
  for (const b of encoder.encode(keyId)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h % shards;
}

async function fingerprint(keyId, nonce) {
  const id = encoder.encode(keyId);
  const n = encoder.encode(nonce);
  const input = new Uint8Array(4 + id.byteLength + n.byteLength);
  new DataView(input.buffer).setUint32(0, id.byteLength);
  input.set(id, 4);
  input.set(n, 4 + id.byteLength);
  return new Uint8Array(await crypto.subtle.digest('SHA-256', input)).slice(0, 16);
}

/** A nonce store (`claim({ keyId, nonce, expiresAt })` → boolean) over the namespace's shards. */
export function coordinatorNonceStore(namespace, name, shards) {
  return Object.freeze({
    async claim({ keyId, nonce, expiresAt }) {
      const stub = namespace.getByName(`${name}:nonce:${shardOf(keyId, shards)}`);
      const fresh = await stub.claimNonce(await fingerprint(keyId, nonce), expiresAt);
      if (typeof fresh !== 'boolean') throw new KeygateError('ERR_NONCE_STORE', 'the coordinator answered a nonce claim without a verdict');
      return fresh;
    },
  });
}
