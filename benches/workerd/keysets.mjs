// Key sets for the workerd benchmark: the shape of benches/keyset_scale.rs (an id, an API key
// digest, two scopes, a validity window; one key in ten with a two-network allow list, about
// 200 bytes of JSON a key), with times relative to now so that the set never goes stale.
import { createHash } from 'node:crypto';

const DAY = 86_400_000;
const iso = (ms) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** `n` key entries `key-<i>` whose API key is the text `key-<i>`. */
export function fillerKeys(n, now) {
  const notBefore = iso(now - 30 * DAY);
  const expiresAt = iso(now + 60 * DAY);
  const keys = [];
  for (let i = 0; i < n; i++) {
    const digest = createHash('sha256').update(`key-${i}`).digest('base64url');
    const key = { id: `key-${i}`, api_key_hash: `sha256:${digest}`, not_before: notBefore, expires_at: expiresAt, scopes: ['orders:read', 'orders:write'] };
    if (i % 10 === 0) key.allow_cidrs = ['203.0.113.0/24', '2001:db8::/32'];
    keys.push(key);
  }
  return keys;
}

/** The UTF-8 bytes of a key set holding `keys`, with one GET route (revision 1 unless given). */
export function keySetBytes(keys, now, revision = 1) {
  const set = {
    keygate: 1,
    revision,
    issued_at: iso(now - 60_000),
    routes: [{ methods: ['GET'], path: '/v1/orders/**', scopes: ['orders:read'] }],
    keys,
  };
  return new TextEncoder().encode(JSON.stringify(set));
}
