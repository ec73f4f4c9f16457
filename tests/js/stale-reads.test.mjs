// Reads that outlive the request that started them. In workerd a request's promises (its I/O,
// its timers) never settle once it has ended, unless they were handed to waitUntil, which
// Workers also ends about 30 s after the response. Here such a request is modelled by running
// its start with a setTimeout whose timers never fire (what workerd does to them), and a read
// that does not answer: a poll, a key set read or a shard read it shares with later requests
// must not hold them, nor stop the set from moving, and its late answer is never applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Keygate } from '../../pkg/src/index.js';
import { CoordinatedSource } from '../../pkg/src/coordination.js';
import { coordinatorOption } from '../../pkg/src/coordinator-binding.js';
import { KeySetSource } from '../../pkg/src/edge.js';
import { ShardReader } from '../../pkg/src/shards.js';

const hash = (k) => `sha256:${createHash('sha256').update(k).digest('base64url')}`;
const text = (revision, ids) => JSON.stringify({ keygate: 1, revision, keys: ids.map((id) => ({ id, api_key_hash: hash(`${id}-key`) })) });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` as a request that ends at once: the timers it sets meanwhile never fire. */
function endedRequest(fn) {
  const real = globalThis.setTimeout;
  globalThis.setTimeout = () => 0;
  try {
    const p = fn();
    p.catch?.(() => {});
    return p;
  } finally {
    globalThis.setTimeout = real;
  }
}

/** `promise`, or 'still waiting' after `ms`. */
function within(promise, ms) {
  let timer;
  const wait = new Promise((r) => (timer = setTimeout(() => r('still waiting'), ms)));
  return Promise.race([promise, wait]).finally(() => clearTimeout(timer));
}

test('a poll whose request ended does not block later polls past its deadline; its late answer is never applied', async () => {
  const v1 = text(1, ['a', 'b']);
  const v2 = text(2, ['a']); // b revoked
  const info = async (t) => {
    const g = await Keygate.load(t);
    return { revision: g.revision, payloadSha256: g.info.payloadSha256 };
  };
  const states = { 1: await info(v1), 2: await info(v2) };
  const blobs = new Map([[states[1].payloadSha256, v1], [states[2].payloadSha256, v2]].map(([k, t]) => [k, new TextEncoder().encode(t)]));
  let serving = states[1];
  let hang = false;
  const held = [];
  const stub = {
    poll: () => {
      const answer = { status: 'base', base: serving, deltas: [], head: serving };
      return hang ? new Promise((r) => held.push(() => r(answer))) : Promise.resolve(answer);
    },
    readBlob: async (sha) => blobs.get(sha) ?? null,
  };
  const logs = [];
  const source = new CoordinatedSource(
    { refreshSeconds: 0, storageTimeoutSeconds: () => 0.1, log: (e) => logs.push(e) },
    coordinatorOption(() => ({ namespace: { getByName: () => stub } })),
  );
  assert.equal((await source.get({})).revision, 1);

  hang = true;
  endedRequest(() => source.get({}, () => {})); // its poll never answers, and its timers are dead
  assert.equal(held.length, 1);
  hang = false;
  serving = states[2]; // the coordinator takes the revocation
  await sleep(350); // past the poll's deadline (3 × 0.1 s)
  const started = Date.now();
  const gate = await within(source.get({}), 3000);
  assert.equal(gate?.revision, 2, 'a new poll ran and brought the revocation');
  assert.ok(Date.now() - started < 900, `no wait for the stale poll: ${Date.now() - started} ms`);

  const seen = logs.length;
  held[0](); // the stale poll wakes, with the coordinator's old answer (revision 1)
  await sleep(50);
  assert.deepEqual(logs.slice(seen), [], 'nothing applied by the stale poll');
  assert.equal((await source.get({})).revision, 2, 'no rollback to revision 1');
});

test('a cold key set read whose request ended: a waiting request gives up at its deadline, the next one reads again', async () => {
  const late = [];
  let calls = 0;
  const logs = [];
  const source = new KeySetSource({
    refreshSeconds: 60,
    storageTimeoutSeconds: () => 0.1,
    log: (e) => logs.push(e),
    keySet: () => (++calls === 1 ? new Promise((r) => late.push(r)) : text(2, ['a'])),
  });
  endedRequest(() => source.get({}));
  assert.equal(calls, 1);
  const started = Date.now();
  assert.equal(await within(source.get({}), 2000), null, 'the waiter gave up (503), it did not wait for good');
  assert.ok(Date.now() - started < 900, `${Date.now() - started} ms`);
  const gate = await within(source.get({}), 2000);
  assert.equal(gate?.revision, 2, 'a fresh read replaced the stale one');
  assert.equal(calls, 2);
  const seen = logs.length;
  late[0](text(1, ['a', 'b'])); // the stale read's late answer
  await sleep(50);
  assert.deepEqual(logs.slice(seen), [], 'the late answer is dropped, not even judged');
  assert.equal((await source.get({})).revision, 2);
});

test('a shard read whose request ended: waiters fail closed at its deadline, the next request reads again', async () => {
  const late = [];
  let calls = 0;
  const bytes = new TextEncoder().encode('shard');
  const reader = new ShardReader({
    readTimeoutSeconds: 0.15,
    loadsPerSecond: 100,
    burst: 100,
    unprovenLoadsPerSecond: 100,
    unprovenBurst: 100,
    load: () => (++calls === 1 ? new Promise((r) => late.push(r)) : bytes),
  });
  const need = [{ name: 'x', sha256: 'abc', unproven: false }];
  endedRequest(() => reader.read(need));
  const started = Date.now();
  const waiter = await within(reader.read(need).catch((e) => e), 2000);
  assert.equal(waiter?.code, 'ERR_SHARD_UNAVAILABLE', 'the waiter failed closed, it did not wait for good');
  assert.match(waiter.message, /did not answer within/);
  assert.ok(Date.now() - started < 900, `${Date.now() - started} ms`);
  assert.deepEqual(await within(reader.read(need), 2000), [bytes], 'read again');
  assert.equal(calls, 2);
  late[0](new TextEncoder().encode('late'));
  await sleep(20);
  assert.deepEqual(await reader.read(need), [bytes]);
  assert.equal(calls, 3, 'a settled read is not kept');
});
