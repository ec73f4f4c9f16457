// Sharded mode in tests: a full key set cut into a manifest and shards as `keygate keyset
// shard` cuts them (docs/deployment.md, "Sharded mode"), and API keys spread over shards.
import { createHash } from 'node:crypto';

export const sha = (b) => createHash('sha256').update(b).digest();
export const b64 = (b) => Buffer.from(b).toString('base64url');

/** The shard of a digest at `bits`. */
export const bucket = (digest, bits = 4) => digest.readUInt32BE(0) >>> (32 - bits);

/** A manifest (bare) and its shards by name (`d/3`, `i/12`), for the full set `full`. */
export function cut(full, bits = 4) {
  const d = Array.from({ length: 1 << bits }, () => []);
  const i = Array.from({ length: 1 << bits }, () => []);
  for (const k of full.keys) {
    if (k.api_key_hash) d[bucket(Buffer.from(k.api_key_hash.slice('sha256:'.length), 'base64url'), bits)].push(k);
    i[bucket(sha(k.id), bits)].push(k);
  }
  const shards = new Map();
  const table = (kind, list) =>
    list.map((keys, n) => {
      const bytes = Buffer.from(JSON.stringify({ keygate: 1, revision: 1, keys }));
      shards.set(`${kind}/${n}`, bytes);
      return b64(sha(bytes));
    });
  const { keys, ...header } = full;
  const manifest = {
    keygate: 1,
    kind: 'manifest',
    payload_sha256: b64(sha(JSON.stringify(full))),
    keys: keys.length,
    shards: { bits, d: table('d', d), i: table('i', i) },
    set: { ...header, keys: [] },
  };
  return { manifest, shards };
}

/** `n` texts `${prefix}${j}` whose digests fall in `n` different shards, none in `avoid`. */
export function spread(n, prefix = 'probe-', bits = 4, avoid = []) {
  const out = new Map();
  for (let j = 0; out.size < n; j++) {
    const k = `${prefix}${j}`;
    const s = bucket(sha(k), bits);
    if (!out.has(s) && !avoid.includes(s)) out.set(s, k);
  }
  return [...out.values()];
}
