// Sharded mode: decisions that wait (for a body, here) while other requests load shards and the
// shard a waiting decision needed is dropped from the cache. Loading a shard copies the key set
// a waiting decision holds, so the decision finishes under another set than it started with;
// it must still be the full-mode decision, never a refusal because its key's shard was dropped
// meanwhile. The manifest and shards are cut here as `keygate keyset shard` cuts them
// (docs/deployment.md, "Sharded mode"). Also: a new manifest committed while shards are read.
// tests/vectors/README.md ("Holes that are not data") says why this is not a vector file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Keygate, generateSigningKey, signRequest } from '../../pkg/src/index.js';
import { wasm } from '../../pkg/src/wasm/facade.js';
import { openStream } from './helpers.mjs';
import { b64, bucket, cut, sha, spread } from './sharded-fixture.mjs';

/** The tests; none in the child process the memory test measures in (see `growth`). */
const check = process.env.SHARDED_GROWTH ? () => {} : test;

const NOW = Date.parse('2026-11-29T12:00:00Z');
const BITS = 4;

/** Lets a verify() that read its body's first bytes reach the decision that waits for it. */
const settle = () => new Promise((r) => setTimeout(r, 20));

/** API keys whose digests fall in `n` different `d` shards. */
const spreadKeys = (n) => spread(n);

/**
 * One HMAC signing key `writer` (scope `write` on `/v1/**`) as a whole set and cut into shards,
 * and the headers of a signed POST of `body` to `url` (`nonce` when given).
 */
async function writerSet({ nonce } = {}) {
  const K = generateSigningKey({ alg: 'hmac-sha256' });
  const routes = [{ path: '/v1/**', scopes: ['write'] }];
  const full = { keygate: 1, revision: 1, routes, keys: [{ id: 'writer', scopes: ['write'], signing: K.signing }] };
  const { manifest, shards } = cut(full);
  const url = 'https://api.example.com/v1/orders';
  const body = new TextEncoder().encode('{"order":1}');
  const params = { keyId: 'writer', key: K.key, alg: 'hmac-sha256', created: NOW, ...(nonce ? { nonce } : {}) };
  const signed = await signRequest(new Request(url, { method: 'POST', body }), params);
  const headers = new Headers(signed.headers);
  headers.delete('content-length');
  return { full, manifest, shards, url, body, headers };
}

check('a decision waiting for its body while other requests evict its shard is the full-mode decision', async () => {
  const { full, manifest, shards, url, body, headers } = await writerSet({ nonce: 'n-1' });
  // Full mode: allowed.
  const whole = await Keygate.load(full);
  assert.equal((await whole.verify(new Request(url, { method: 'POST', headers, body }), { now: NOW })).allowed, true);

  const load = async ({ name }) => shards.get(name);
  const gate = await Keygate.load(manifest, { shards: { load, maxShards: 9 } });
  const { stream, pulling, end } = openStream();
  const pending = gate.verify(new Request(url, { method: 'POST', headers, body: stream, duplex: 'half' }), { now: NOW });
  await pulling;
  await settle(); // its `i` shard is loaded; the decision waits for the body's digests
  // Requests with API keys of 9 other `d` shards fill the 9-shard cache: the writer's shard goes.
  for (const k of spreadKeys(9)) {
    const d = await gate.verify(new Request(url, { headers: { authorization: `Bearer ${k}` } }), { now: NOW });
    assert.equal(d.reason, 'unknown_key');
  }
  assert.ok(gate.shards.evictions >= 1, JSON.stringify(gate.shards));
  end(body);
  const d = await pending;
  assert.deepEqual([d.allowed, d.keyId, d.reason], [true, 'writer', undefined], JSON.stringify(d));
  // Its nonce was held once: the same request again is a replay, as in full mode.
  const again = await gate.verify(new Request(url, { method: 'POST', headers, body }), { now: NOW });
  assert.equal(again.reason, 'nonce_replayed');
});

check('a decision waiting while the set changes is decided again with its shards, or fails closed without them', async () => {
  const { manifest, shards, url, body, headers } = await writerSet();
  const revoke = (gate, evict) => ({
    keygate: 1,
    kind: 'delta',
    base: { revision: 1, payload_sha256: gate.info.payloadSha256 },
    revision: 2,
    payload_sha256: b64(sha(`revision 2 ${evict}`)),
    changes: [{ op: 'revoke', id: 'writer' }],
  });
  for (const evict of [false, true]) {
    const gate = await Keygate.load(manifest, { shards: { load: async ({ name }) => shards.get(name), maxShards: 9 } });
    const { stream, pulling, end } = openStream();
    const pending = gate.verify(new Request(url, { method: 'POST', headers, body: stream, duplex: 'half' }), { now: NOW });
    await pulling;
    await settle();
    if (evict) for (const k of spreadKeys(9)) await gate.verify(new Request(url, { headers: { authorization: `Bearer ${k}` } }), { now: NOW });
    await gate.update(revoke(gate, evict));
    end(body);
    if (evict) {
      // Its shard is gone and the set changed: not decided (503), never a wrong 401.
      await assert.rejects(pending, (e) => e.code === 'ERR_SHARD_UNAVAILABLE');
    } else {
      const d = await pending;
      assert.deepEqual([d.allowed, d.reason], [false, 'key_revoked'], JSON.stringify(d));
    }
  }
});

check('a request that failed closed after the set changed while it waited does not use its nonce; an allowed one does', async () => {
  const K = generateSigningKey({ alg: 'hmac-sha256' });
  const routes = [{ path: '/v1/**', scopes: ['write'] }];
  const other = { id: 'other', api_key_hash: `sha256:${b64(sha('other-key'))}` };
  const full = { keygate: 1, revision: 1, routes, keys: [{ id: 'writer', scopes: ['write'], signing: K.signing }, other] };
  const { manifest, shards } = cut(full);
  const url = 'https://api.example.com/v1/orders';
  const body = new TextEncoder().encode('{"order":1}');
  const signed = await signRequest(new Request(url, { method: 'POST', body }), { keyId: 'writer', key: K.key, alg: 'hmac-sha256', created: NOW, nonce: 'n-1' });
  const headers = new Headers(signed.headers);
  headers.delete('content-length');
  for (const outer of [false, true]) {
    // An outer store (as the coordinator's global one) that can release a claim.
    const claims = new Set();
    const nonceStore = {
      async claim({ keyId, nonce }) {
        const k = `${keyId} ${nonce}`;
        if (claims.has(k)) return false;
        claims.add(k);
        return true;
      },
      async release({ keyId, nonce }) {
        claims.delete(`${keyId} ${nonce}`);
      },
    };
    const gate = await Keygate.load(manifest, { shards: { load: async ({ name }) => shards.get(name), maxShards: 9 }, ...(outer ? { nonceStore } : {}) });
    const { stream, pulling, end } = openStream();
    const pending = gate.verify(new Request(url, { method: 'POST', headers, body: stream, duplex: 'half' }), { now: NOW });
    await pulling;
    await settle();
    for (const k of spreadKeys(9)) await gate.verify(new Request(url, { headers: { authorization: `Bearer ${k}` } }), { now: NOW });
    // A real change that leaves the writer alone: the waiting decision is made again, but its
    // shard is gone: 503, not decided.
    await gate.update({
      keygate: 1,
      kind: 'delta',
      base: { revision: 1, payload_sha256: gate.info.payloadSha256 },
      revision: 2,
      payload_sha256: b64(sha(`revision 2 ${outer}`)),
      changes: [{ op: 'revoke', id: 'other' }],
    });
    end(body);
    await assert.rejects(pending, (e) => e.code === 'ERR_SHARD_UNAVAILABLE');
    assert.equal(claims.size, 0, 'the outer claim was released');
    // The client sends it again: decided (it used to be nonce_replayed), and then single use.
    const d = await gate.verify(new Request(url, { method: 'POST', headers, body }), { now: NOW });
    assert.deepEqual([d.allowed, d.keyId, d.reason], [true, 'writer', undefined], `outer store ${outer}: ${JSON.stringify(d)}`);
    const again = await gate.verify(new Request(url, { method: 'POST', headers, body }), { now: NOW });
    assert.equal(again.reason, 'nonce_replayed');
    assert.equal(claims.size, outer ? 1 : 0);
  }
});

check('a new manifest committed while a request reads its shards: the request is decided under the new one', async () => {
  const K = generateSigningKey({ alg: 'hmac-sha256' });
  const routes = [{ path: '/v1/**', scopes: ['write'] }];
  const key = { id: 'writer', api_key_hash: `sha256:${b64(sha('writer-api-key'))}`, scopes: ['write'], signing: K.signing, require_signature: false };
  const one = cut({ keygate: 1, revision: 1, routes, keys: [key] });
  // Revision 2: the same key, with a name: its shards have other digests.
  const two = cut({ keygate: 1, revision: 2, routes, keys: [{ ...key, name: 'writer' }] });
  let release;
  const held = new Promise((r) => (release = r));
  let reads = 0;
  const load = async ({ name, sha256 }) => {
    reads++;
    if (reads === 1) await held; // the first read waits until revision 2 is in use
    const m = [one, two].find((c) => [...c.manifest.shards.d, ...c.manifest.shards.i].includes(sha256));
    return m.shards.get(name);
  };
  const gate = await Keygate.load(one.manifest, { shards: { load } });
  const url = 'https://api.example.com/v1/orders';
  const pending = gate.verify(new Request(url, { headers: { authorization: 'Bearer writer-api-key' } }), { now: NOW });
  while (reads === 0) await new Promise((r) => setTimeout(r, 1));
  assert.equal((await gate.update(two.manifest)).changed, true);
  release();
  const d = await pending;
  assert.deepEqual([d.allowed, d.keyId, d.name], [true, 'writer', 'writer'], JSON.stringify(d));
  assert.equal(gate.shards.refused, 1, 'the shard of revision 1 was refused under revision 2');
});

/**
 * In a fresh module: 20,000 keys held, then 8 shards of 2,500 keys loaded, each while one more
 * decision waits (`wait`) or with none waiting. Resolves to how much module memory grew.
 */
async function growth(wait) {
  const K = generateSigningKey({ alg: 'hmac-sha256' });
  const routes = [{ path: '/v1/**', scopes: ['write'] }];
  const keys = Array.from({ length: 40_000 }, (_, i) => ({ id: `k${i}`, api_key_hash: `sha256:${b64(sha(`key-${i}`))}`, scopes: ['write'] }));
  Object.assign(keys[0], { signing: K.signing, require_signature: false });
  const { manifest, shards } = cut({ keygate: 1, revision: 1, routes, keys });
  const gate = await Keygate.load(manifest, { shards: { load: async ({ name }) => shards.get(name), loadsPerSecond: 1000, burst: 1000 } });
  const url = 'https://api.example.com/v1/orders';
  const dShard = (i) => bucket(Buffer.from(keys[i].api_key_hash.slice(7), 'base64url'));
  const byShard = Array.from({ length: 1 << BITS }, (_, s) => keys.findIndex((_, i) => dShard(i) === s));
  for (const i of byShard.slice(0, 8)) await gate.verify(new Request(url, { headers: { authorization: `Bearer key-${i}` } }), { now: NOW });
  const body = new TextEncoder().encode('x');
  const signed = await signRequest(new Request(url, { method: 'POST', body }), { keyId: 'k0', key: K.key, alg: 'hmac-sha256', created: NOW });
  const headers = new Headers(signed.headers);
  headers.delete('content-length');
  const memory = () => wasm.ioMemory().buffer.byteLength;
  const before = memory();
  const ends = [];
  const pending = [];
  for (const i of byShard.slice(8)) {
    if (wait) {
      const { stream, pulling, end } = openStream();
      pending.push(gate.verify(new Request(url, { method: 'POST', headers, body: stream, duplex: 'half' }), { now: NOW }));
      await pulling;
      await settle();
      ends.push(end);
    }
    const loads = gate.shards.loads;
    assert.equal((await gate.verify(new Request(url, { headers: { authorization: `Bearer key-${i}` } }), { now: NOW })).allowed, true);
    assert.equal(gate.shards.loads, loads + 1, JSON.stringify(gate.shards));
  }
  const grown = memory() - before;
  ends.forEach((end) => end(body));
  for (const d of await Promise.all(pending)) assert.equal(d.allowed, true, JSON.stringify(d));
  return grown;
}

if (process.env.SHARDED_GROWTH) {
  // The child of the test below: one measure in a fresh module.
  process.stdout.write(`${await growth(process.env.SHARDED_GROWTH === 'wait')}\n`);
  process.exit(0);
}

check('waiting decisions hold the keys they can look up, not a version of every key held for each shard loaded meanwhile', async (t) => {
  const run = (mode) => Number(execFileSync(process.execPath, [fileURLToPath(import.meta.url)], { env: { ...process.env, SHARDED_GROWTH: mode } }).toString().trim());
  const [control, waiting] = [run('none'), run('wait')];
  t.diagnostic(`module memory grew by ${control} B loading 8 shards, ${waiting} B with a decision more waiting at each`);
  // Each waiting decision used to hold its own version of the set (the index parts every load
  // writes to, and before shared chunks every key held): about 0.6 MiB a wait at 50,000 keys.
  assert.ok(waiting - control < 512 * 1024, `waiting decisions grew module memory by ${waiting - control} B more`);
});
