// Storage writes of a push that never answer (the workerd side: tests/worker/hung_writes.test.mjs):
// the store's write of an accepted push is bounded by `storageTimeoutSeconds`; past it the push
// answers 504 keyset_store_timeout (the outcome is unknown), the push slot is free, the same
// envelope pushed again is written, and a write that lands late, after a newer set was written,
// is undone by writing the newer set again. A user's nonce store in the middleware is bounded
// likewise (503 verifier_unavailable), and a claim it won late is released.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateApiKey, generateSigningKey, signKeySet, signRequest } from 'keygate';
import { KEYSET_PATH, withKeygate } from 'keygate/worker';
import { keySet } from './helpers.mjs';
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const publisher = generateSigningKey({ alg: 'ed25519' });
const [a, b, c] = ['a', 'b', 'c'].map((id) => generateApiKey({ id }));
const pushed = (revision, keys) => signKeySet(keySet(revision, keys, { issued_at: new Date().toISOString() }), publisher.key);
const BOUND = 0.2;

/**
 * A Worker whose store behaves as `write(text)` says (see `heldStore` below for a KV-like one);
 * `pending` collects what its requests left to `waitUntil`.
 */
function worker(write) {
  const lines = [];
  const pending = [];
  const w = withKeygate(() => new Response('ok'), {
    keySet: pushed(1, [a.entry]),
    publisherKeys: [publisher.signing.public_key],
    storageTimeoutSeconds: BOUND,
    log: (l) => lines.push(l),
    push: () => ({ store: write }),
  });
  const ctx = { waitUntil: (p) => pending.push(p) };
  const put = async (body) => {
    const started = Date.now();
    const r = await w.keySetEndpoint(new Request(`https://gw.example${KEYSET_PATH}`, { method: 'PUT', body }), {}, ctx);
    return { status: r.status, body: await r.json(), took: Date.now() - started };
  };
  const ask = async (key) => (await w.fetch(new Request('https://gw.example/x', { headers: { 'x-api-key': key } }), {}, ctx)).status;
  return { put, ask, lines, pending };
}

/**
 * A KV-like store whose writes are held, unanswered, while `hold` is set (`held` lands them in
 * turn: `land()`, or `land(false)` to fail); `kv` is the last write that landed, `writes` every
 * write begun.
 */
function heldStore() {
  const s = { kv: null, held: [], hold: true, writes: [] };
  s.write = (text) =>
    new Promise((resolve, reject) => {
      s.writes.push(text);
      const land = (ok = true) => (ok ? resolve((s.kv = text)) : reject(new Error('KV write failed late')));
      if (s.hold) s.held.push(land);
      else land();
    });
  return s;
}

test('a store write that never answers: 504 keyset_store_timeout within the bound, the slot free, the same envelope pushed again is written', { timeout: 10_000 }, async () => {
  const written = [];
  let hang = true;
  const { put, ask, lines, pending } = worker((text) => (hang ? new Promise(() => {}) : written.push(text)));
  const v2 = pushed(2, [b.entry]);
  const first = await put(v2);
  assert.equal(first.status, 504);
  assert.equal(first.body.error, 'keyset_store_timeout');
  assert.equal(first.body.revision, 2);
  assert.equal(first.body.timeout_seconds, BOUND);
  assert.match(first.body.message, /revision 2 is in use here.*did not answer within 0\.2 s.*unknown.*may still land/);
  assert.ok(first.took >= BOUND * 1000 - 20 && first.took < 2000, `answered after ${first.took} ms`);
  assert.equal(await ask(b.key), 200, 'the verified set is in use here');
  assert.ok(lines.some((l) => l.event === 'keygate.keyset_store_timeout' && l.revision === 2 && l.timeout_seconds === BOUND));
  assert.equal(pending.length, 1, 'the late answer is waited for in waitUntil');
  // The slot is free: the next push is judged (not 429), and its write is bounded too.
  const again = await put(v2);
  assert.deepEqual([again.status, again.body.error], [504, 'keyset_store_timeout'], 'not push_in_progress');
  hang = false;
  // The same envelope once more: "unchanged" here, but not known to be stored, so written.
  const retry = await put(v2);
  assert.deepEqual([retry.status, retry.body], [200, { revision: 2, keys: 1, changed: false }]);
  assert.deepEqual(written, [v2]);
  assert.deepEqual((await put(v2)).body, { revision: 2, keys: 1, changed: false });
  assert.deepEqual(written, [v2], 'once written, an identical push is not written again');
});

test('a write that lands late, after a newer set was written here, is undone: the newer set is written again', { timeout: 10_000 }, async () => {
  const s = heldStore();
  const { put, lines, pending } = worker(s.write);
  const v2 = pushed(2, [b.entry]);
  const v3 = pushed(3, [b.entry, c.entry]);
  assert.equal((await put(v2)).status, 504);
  s.hold = false;
  assert.deepEqual((await put(v3)).body, { revision: 3, keys: 2, changed: true });
  assert.equal(s.kv, v3);
  s.held.shift()(); // revision 2's write lands now, over revision 3
  assert.equal(s.kv, v2);
  await Promise.all(pending);
  assert.equal(s.kv, v3, 'revision 3 was written again');
  assert.ok(lines.some((l) => l.event === 'keygate.keyset_store_late' && l.revision === 2 && l.landed === true && l.newest_revision === 3));

  // A late write of the newest set itself, or one that fails late, changes nothing (and
  // rejects nothing unhandled).
  s.hold = true;
  const v4 = pushed(4, [c.entry]);
  assert.equal((await put(v4)).status, 504);
  assert.equal((await put(v4)).status, 504);
  s.held.shift()(false);
  s.held.shift()();
  await Promise.all(pending);
  assert.equal(s.kv, v4);
});

test('a late write is not undone by writing back a set this isolate has since replaced', { timeout: 10_000 }, async () => {
  const s = heldStore();
  let source = pushed(1, [a.entry]);
  const lines = [];
  const pending = [];
  const w = withKeygate(() => new Response('ok'), {
    keySet: () => source,
    publisherKeys: [publisher.signing.public_key],
    storageTimeoutSeconds: BOUND,
    refreshSeconds: 0,
    log: (l) => lines.push(l),
    push: () => ({ store: s.write }),
  });
  const ctx = { waitUntil: (p) => pending.push(p) };
  const put = async (body) => (await w.keySetEndpoint(new Request(`https://gw.example${KEYSET_PATH}`, { method: 'PUT', body }), {}, ctx)).status;
  assert.equal(await put(pushed(2, [b.entry])), 504);
  s.hold = false;
  const v3 = pushed(3, [c.entry]);
  assert.equal(await put(v3), 200);
  // Another publisher stored revision 5 through another isolate; this one read it.
  source = pushed(5, [a.entry, c.entry]);
  const n = pending.length; // (revision 2's late answer is among the first: not waited for here)
  await w.fetch(new Request('https://gw.example/x'), {}, ctx);
  await Promise.all(pending.slice(n));
  assert.equal((await w.fetch(new Request('https://gw.example/x', { headers: { 'x-api-key': a.key } }), {}, ctx)).status, 200);
  const before = s.writes.length;
  s.held.shift()();
  await Promise.all(pending);
  assert.equal(s.writes.length, before, 'revision 3 is not written over what may be revision 5');
});

test('middleware: a nonce store that never answers fails closed within the bound; a claim it won late is released', { timeout: 10_000 }, async () => {
  const key = generateSigningKey({ alg: 'hmac-sha256' });
  const ks = { keygate: 1, revision: 1, keys: [{ id: 'p', signing: key.signing }] };
  const claims = new Map();
  const released = [];
  const late = [];
  let hang = true;
  const store = {
    claim(c) {
      const decide = () => {
        const id = `${c.keyId}/${c.nonce}`;
        if (claims.has(id)) return false;
        claims.set(id, c.expiresAt);
        return true;
      };
      return hang ? new Promise((resolve) => late.push(() => resolve(decide()))) : decide();
    },
    release(c) {
      released.push(c.nonce);
      claims.delete(`${c.keyId}/${c.nonce}`);
    },
  };
  const pending = [];
  const ctx = { waitUntil: (p) => pending.push(p) };
  const w = withKeygate(() => new Response('ok'), { keySet: ks, log: false, storageTimeoutSeconds: BOUND, nonceStore: () => store });
  const req = await signRequest(new Request('https://api.example.com/v1/x'), { keyId: 'p', key: key.key, alg: 'hmac-sha256', nonce: true });
  const started = Date.now();
  const res = await w.fetch(req.clone(), {}, ctx);
  const took = Date.now() - started;
  assert.deepEqual([res.status, (await res.json()).error], [503, 'verifier_unavailable']);
  assert.ok(took >= BOUND * 1000 - 20 && took < 2000, `answered after ${took} ms`);
  hang = false;
  late.shift()(); // the claim lands and is won: it belonged to a request that was not decided
  await Promise.all(pending);
  assert.equal(released.length, 1, 'the late claim was released');
  assert.equal((await w.fetch(req.clone(), {}, ctx)).status, 200, 'the same signature, sent again, is decided');
  assert.equal((await w.fetch(req.clone(), {}, ctx)).status, 401, 'and then single use');
});

test('a shard upload the coordinator never answers: keyset_store_timeout within the bound, then uploaded again', { timeout: 10_000 }, async () => {
  const { uploadShards } = await import('../../pkg/src/coordinated-shards.js');
  let hang = true;
  const got = [];
  const c = {
    name: 'keyset',
    timeoutSeconds: BOUND,
    namespace: { getByName: () => ({ putShards: (list) => (hang ? new Promise(() => {}) : (got.push(...list), { stored: list.length, known: 0 })) }) },
  };
  const body = new TextEncoder().encode('{"shard":1}\n{"shard":2}\n');
  const started = Date.now();
  const e = await uploadShards(c, body).catch((x) => x);
  const took = Date.now() - started;
  assert.equal(e.name, 'WireRefusal');
  assert.equal(e.error, 'keyset_store_timeout');
  assert.deepEqual(e.fields, { timeout_seconds: BOUND });
  assert.match(e.message, /did not answer the upload of 2 shards within 0\.2 s: whether it was stored is unknown/);
  assert.ok(took >= BOUND * 1000 - 20 && took < 2000, `answered after ${took} ms`);
  hang = false;
  assert.deepEqual(await uploadShards(c, body), { stored: 2, known: 0 });
  assert.equal(got.length, 2);
});

/**
 * Revision 2's write times out, revision 3 is written, then revision 2's write lands late over
 * it: the re-write of revision 3 that undoes it is begun and held.
 */
async function lateOverNewer() {
  const s = heldStore();
  const { put, pending } = worker(s.write);
  const [v2, v3, v4] = [2, 3, 4].map((r) => pushed(r, [b.entry]));
  assert.equal((await put(v2)).status, 504);
  s.hold = false;
  assert.equal((await put(v3)).status, 200);
  s.hold = true;
  s.held.shift()();
  return { s, put, pending, v2, v4 };
}

test('a late write undone by a re-write that itself times out: the re-write landing late is undone too', { timeout: 10_000 }, async () => {
  const { s, put, pending, v2, v4 } = await lateOverNewer();
  assert.equal(s.kv, v2);
  while (s.held.length === 0) await new Promise((r) => setTimeout(r, 10));
  s.hold = false;
  assert.equal((await put(v4)).status, 200);
  assert.equal(s.kv, v4);
  await new Promise((r) => setTimeout(r, BOUND * 1000 + 100)); // the re-write is past its bound
  s.held.shift()(); // the re-write of revision 3 lands late, over revision 4
  for (let n = 0; n < pending.length; n++) await pending[n];
  assert.equal(s.kv, v4, 'revision 4 was written again');
});

test('without waitUntil, a late write is still undone', { timeout: 10_000 }, async () => {
  const s = heldStore();
  const w = withKeygate(() => new Response('ok'), {
    keySet: pushed(1, [a.entry]),
    publisherKeys: [publisher.signing.public_key],
    storageTimeoutSeconds: BOUND,
    log: false,
    push: () => ({ store: s.write }),
  });
  const put = async (body) => (await w.keySetEndpoint(new Request(`https://gw.example${KEYSET_PATH}`, { method: 'PUT', body }), {}, {})).status;
  const [v2, v3] = [2, 3].map((r) => pushed(r, [b.entry]));
  assert.equal(await put(v2), 504);
  s.hold = false;
  assert.equal(await put(v3), 200);
  s.held.shift()();
  for (let i = 0; i < 20 && s.kv !== v3; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(s.kv, v3, 'revision 3 was written again');
});

test('a push written while a late write is being undone: the newest set is what stays stored', { timeout: 10_000 }, async () => {
  const { s, put, pending, v4 } = await lateOverNewer();
  while (s.held.length === 0) await new Promise((r) => setTimeout(r, 5));
  s.hold = false;
  assert.equal((await put(v4)).status, 200);
  assert.equal(s.kv, v4);
  s.held.shift()(); // the re-write of revision 3 answers in time, but after revision 4 landed
  for (let n = 0; n < pending.length; n++) await pending[n];
  assert.equal(s.kv, v4, 'revision 4 was written again');
});

/** The bytes the heap and array buffers hold after forced collections (a test-only switch of V8). */
function held() {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc');
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Key entries for about 7 MB of envelope: a set whose copies the tests below look for. */
const manyKeys = () => Array.from({ length: 60_000 }, (_, i) => ({ id: `k${i}`, api_key_hash: `sha256:${randomBytes(32).toString('base64url')}` }));

test('while a write is in doubt, the newest set kept to undo it is no second copy of the set in use', { timeout: 30_000 }, async () => {
  // A store that keeps only its last write (as KV does); revision 2's write is held.
  const kv = { text: null, land: null };
  const { put, pending } = worker((text) => (kv.land ? (kv.text = text) : new Promise((resolve) => (kv.land = () => resolve((kv.text = text))))));
  assert.equal((await put(pushed(2, [b.entry]))).status, 504);
  let big = pushed(3, [a.entry, ...manyKeys()]);
  assert.ok(big.length > 6e6, `${big.length} bytes`);
  assert.equal((await put(big)).status, 200);
  const inDoubt = held();
  kv.land(); // revision 2's write lands late: revision 3 is written again, nothing is in doubt
  await Promise.all(pending);
  assert.equal(kv.text, big, 'revision 3 was written again');
  big = null;
  const settled = held();
  assert.ok(inDoubt - settled < 2e6, `${((inDoubt - settled) / 1e6).toFixed(1)} MB more was kept while a write was in doubt`);
});

test('a write that never answers keeps no copy of a set this isolate no longer serves', { timeout: 30_000 }, async () => {
  const many = manyKeys();
  let source = pushed(1, [a.entry]);
  const pending = [];
  let hang = true;
  const w = withKeygate(() => new Response('ok'), {
    keySet: () => source,
    publisherKeys: [publisher.signing.public_key],
    storageTimeoutSeconds: BOUND,
    refreshSeconds: 0,
    log: false,
    push: () => ({ store: () => (hang ? new Promise(() => {}) : undefined) }),
  });
  const ctx = { waitUntil: (p) => pending.push(p) };
  const put = async (body) => (await w.keySetEndpoint(new Request(`https://gw.example${KEYSET_PATH}`, { method: 'PUT', body }), {}, ctx)).status;
  const refresh = async () => {
    const n = pending.length;
    await w.fetch(new Request('https://gw.example/x'), {}, ctx);
    await Promise.all(pending.slice(n));
  };
  assert.equal(await put(pushed(2, [b.entry])), 504, 'revision 2 is in doubt, and stays so');
  hang = false;
  let big = pushed(3, [a.entry, ...many]);
  assert.ok(big.length > 6e6, `${big.length} bytes`);
  assert.equal(await put(big), 200);
  big = null;
  // Another isolate stored revision 4; this one reads it and serves it.
  source = pushed(4, [c.entry]);
  await refresh();
  assert.equal((await w.fetch(new Request('https://gw.example/x', { headers: { 'x-api-key': c.key } }), {}, ctx)).status, 200);
  const withDoubt = held();
  // A small push replaces whatever was kept for revision 3 (before and after this change alike).
  assert.equal(await put(pushed(5, [c.entry])), 200);
  const after = held();
  assert.ok(withDoubt - after < 2e6, `${((withDoubt - after) / 1e6).toFixed(1)} MB more was kept for revision 3, a set no longer served`);
});
