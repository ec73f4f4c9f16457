// Bounded storage reads from JS (the workerd side: tests/worker/hung_reads.test.mjs): a
// shards.load that never answers fails the requests waiting for it with ERR_SHARD_UNAVAILABLE
// at readTimeoutSeconds, its signal is aborted, the next request reads again and a late
// answer is not used; a middleware key set source that never answers gives 503
// keyset_unavailable within storageTimeoutSeconds; both options are checked at creation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Keygate } from 'keygate';
import { withKeygate } from 'keygate/worker';
import { cut } from './sharded-fixture.mjs';

const hash = (k) => `sha256:${createHash('sha256').update(k).digest('base64url')}`;
const FULL = { keygate: 1, revision: 1, keys: [{ id: 'alice', api_key_hash: hash('alice-key') }] };
const { manifest, shards } = cut(FULL);
const byDigest = new Map([...shards.values()].map((b) => [createHash('sha256').update(b).digest('base64url'), b]));
const request = () => new Request('https://api.test/x', { headers: { authorization: 'Bearer alice-key' } });

test('a shard read that never answers fails closed at readTimeoutSeconds; the next request reads again', async () => {
  let hang = true;
  const signals = [];
  const late = [];
  const gate = await Keygate.load(manifest, {
    shards: {
      readTimeoutSeconds: 0.2,
      load: ({ sha256, signal }) => {
        signals.push(signal);
        if (!hang) return byDigest.get(sha256);
        // Answers only long after the bound (a wrong shard then: it must never be used).
        return new Promise((resolve) => late.push(() => resolve(new TextEncoder().encode('{"keygate":1,"revision":1,"keys":[]}'))));
      },
    },
  });
  const started = Date.now();
  const both = await Promise.allSettled([gate.verify(request()), gate.verify(request())]);
  const took = Date.now() - started;
  for (const r of both) assert.equal(r.reason?.code, 'ERR_SHARD_UNAVAILABLE');
  assert.match(both[0].reason.message, /did not answer within 0\.2 s/);
  assert.ok(took >= 190 && took < 2000, `${took} ms`);
  assert.equal(signals.length, 1, 'the two requests shared one read');
  assert.equal(signals[0].aborted, true, 'its signal was aborted at the bound');
  for (const go of late.splice(0)) go(); // the late answer
  hang = false;
  const d = await gate.verify(request());
  assert.deepEqual([d.allowed, d.keyId], [true, 'alice'], 'read again and decided');
  assert.equal(signals.length, 2);
  assert.equal(gate.shards.refused, 0, 'the late answer was never offered to the module');
});

test('storage bounds are checked when the verifier or middleware is made', async () => {
  for (const bad of [0, -1, 61, Number.NaN, '5']) {
    await assert.rejects(Keygate.load(manifest, { shards: { load: () => null, readTimeoutSeconds: bad } }), { code: 'ERR_INVALID_OPTIONS' });
    assert.throws(() => withKeygate(() => new Response('ok'), { keySet: () => null, storageTimeoutSeconds: bad }), (e) => e.code === 'ERR_INVALID_OPTIONS' && /storageTimeoutSeconds/.test(e.message));
  }
});

test('a key set source that never answers: 503 keyset_unavailable within storageTimeoutSeconds, read again a second later', async () => {
  let calls = 0;
  let hang = true;
  const worker = withKeygate(() => new Response('ok'), {
    log: false,
    storageTimeoutSeconds: (env) => env.TIMEOUT,
    keySet: () => {
      calls++;
      return hang ? new Promise(() => {}) : FULL;
    },
  });
  const env = { TIMEOUT: '0.2' };
  const started = Date.now();
  const res = await worker.fetch(request(), env, {});
  assert.equal(res.status, 503);
  assert.equal((await res.json()).error, 'keyset_unavailable');
  assert.ok(Date.now() - started < 2000);
  hang = false;
  await new Promise((r) => setTimeout(r, 1050));
  assert.equal((await worker.fetch(request(), env, {})).status, 200);
  assert.equal(calls, 2);
});

test('with a coordinator, a KV shard read that hangs gives way to the coordinator within the bound', async () => {
  const { shardSource } = await import('../../pkg/src/coordinated-shards.js');
  const bytes = new TextEncoder().encode('shard bytes');
  const asked = [];
  const c = {
    name: 'keyset',
    timeoutSeconds: 0.4,
    kv: { get: () => new Promise(() => {}) },
    namespace: { getByName: () => ({ readShard: async (sha) => (asked.push(sha), bytes) }) },
  };
  const source = shardSource({}, c, 60);
  assert.equal(source.readTimeoutSeconds, 0.4);
  const started = Date.now();
  const got = await source.load({ sha256: 'abc', retry: false });
  const took = Date.now() - started;
  assert.equal(got, bytes);
  assert.deepEqual(asked, ['abc']);
  assert.ok(took >= 190 && took < 400, `KV had half the bound: ${took} ms`);
});
