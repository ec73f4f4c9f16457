// Layer 3: the public key set endpoint of withKeygate (`push` option, `worker.keySetEndpoint`),
// driven from Node: the store step, option checks, the body bound (the gateway's use of it
// is tested in workerd, tests/worker/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateApiKey, generateSigningKey, signKeySet } from 'keygate';
import { KEYSET_PATH, withKeygate } from 'keygate/worker';
import { keySet } from './helpers.mjs';

const publisher = generateSigningKey({ alg: 'ed25519' });
const [a, b] = ['a', 'b'].map((id) => generateApiKey({ id }));
/** A signed set issued now (a push must be fresh), or `ago` seconds ago. */
const pushed = (revision, keys, ago = 0) =>
  signKeySet(keySet(revision, keys, { issued_at: new Date(Date.now() - ago * 1000).toISOString() }), publisher.key);

function worker(store, maxBytes) {
  const lines = [];
  const w = withKeygate(() => new Response('ok'), {
    keySet: signKeySet(keySet(1, [a.entry]), publisher.key),
    publisherKeys: [publisher.signing.public_key],
    log: (l) => lines.push(l),
    push: () => ({ store, maxBytes }),
  });
  return { w, lines };
}
const put = (w, body) => w.keySetEndpoint(new Request(`https://gw.example${KEYSET_PATH}`, { method: 'PUT', body }), {}, {});
const ask = async (w, key) => (await w.fetch(new Request('https://gw.example/x', { headers: { 'x-api-key': key } }), {}, {})).status;

test('a push that verified but could not be stored: 503, in use here, and a retry stores it', async () => {
  const stored = [];
  let fail = true;
  const { w, lines } = worker(async (text) => {
    if (fail) throw new Error('KV unavailable');
    stored.push(text);
  });
  const v2 = pushed(2, [b.entry]);
  const first = await put(w, v2);
  assert.equal(first.status, 503);
  const body = await first.json();
  assert.equal(body.error, 'keyset_store_failed');
  assert.match(body.message, /revision 2/);
  assert.equal(await ask(w, b.key), 200, 'the verified set is in use in this isolate');
  assert.ok(lines.some((l) => l.event === 'keygate.keyset_store_failed' && l.revision === 2));
  fail = false;
  const retry = await put(w, v2);
  assert.equal(retry.status, 200);
  assert.deepEqual(await retry.json(), { revision: 2, keys: 1, changed: false });
  assert.deepEqual(stored, [v2], 'the identical re-push stores it');
  const again = await put(w, v2);
  assert.deepEqual(await again.json(), { revision: 2, keys: 1, changed: false });
  assert.deepEqual(stored, [v2], 'once stored, an identical push is not written again');
});

test('only what advanced is stored: an unchanged push is 200 and not written; a stale one is 409', async () => {
  const stored = [];
  const { w, lines } = worker(async (text) => stored.push(text));
  const v2 = pushed(2, [b.entry]);
  assert.deepEqual(await put(w, v2).then((r) => r.json()), { revision: 2, keys: 1, changed: true });
  assert.deepEqual(await put(w, v2).then((r) => r.json()), { revision: 2, keys: 1, changed: false });
  assert.deepEqual(stored, [v2]);
  // Not fresh: too old, in the future beyond the clock skew (30 s), or no issued_at at all.
  const cases = [
    ['issued 16 minutes ago', pushed(3, [a.entry], 16 * 60), /before now/],
    ['issued 2 minutes ahead', pushed(3, [a.entry], -120), /after now/],
    ['without issued_at', signKeySet(keySet(3, [a.entry]), publisher.key), /must carry issued_at/],
  ];
  for (const [name, body, message] of cases) {
    const r = await put(w, body);
    const j = await r.json();
    assert.deepEqual([r.status, j.error], [409, 'envelope_stale'], name);
    assert.match(j.message, message, name);
    assert.equal(await ask(w, b.key), 200, `${name}: the set in use stays`);
  }
  assert.deepEqual(stored, [v2], 'nothing refused is stored');
  assert.ok(lines.some((l) => l.event === 'keygate.keyset_rejected' && l.code === 'ERR_ENVELOPE_STALE'));
  // An older revision is a rollback before it is judged stale.
  const old = await put(w, pushed(1, [a.entry], 3600));
  assert.deepEqual([old.status, (await old.json()).error], [409, 'keyset_rollback']);
});

test('a stored copy moved back (a replay, a lagging writer) is repaired by pushing the newest set again', async () => {
  let kv = pushed(1, [a.entry]);
  const writes = [];
  const w = withKeygate(() => new Response('ok'), {
    keySet: () => kv,
    publisherKeys: [publisher.signing.public_key],
    log: false,
    push: () => ({ store: (text) => writes.push((kv = text)) }),
  });
  const v3 = pushed(3, [b.entry]);
  assert.equal((await put(w, v3)).status, 200);
  assert.equal(writes.length, 1);
  assert.equal((await put(w, v3)).status, 200);
  assert.equal(writes.length, 1, 'unchanged, and the store holds it: not written');
  kv = pushed(2, [a.entry]); // someone wrote an older (signed, fresh) set to the store
  const again = await put(w, v3);
  assert.deepEqual(await again.json(), { revision: 3, keys: 1, changed: false });
  assert.equal(writes.length, 2, 'the re-read found an older set stored: the newest is written again');
  assert.equal(kv, v3);
  assert.equal(await ask(w, b.key), 200);
});

test('the maximum push age: 15 minutes by default, as configured up to 7 days', async () => {
  for (const [configured, ok, stale] of [[undefined, 14 * 60, 16 * 60], ['60', 50, 70], [3600, 3500, 3700], ['0', 14 * 60, 16 * 60], ['abc', 14 * 60, 16 * 60]]) {
    const w = withKeygate(() => new Response('ok'), {
      keySet: signKeySet(keySet(1, [a.entry]), publisher.key),
      publisherKeys: [publisher.signing.public_key],
      log: false,
      push: () => ({ store() {}, maxAgeSeconds: configured }),
    });
    assert.equal((await put(w, pushed(3, [b.entry], stale))).status, 409, `${configured}`);
    assert.equal((await put(w, pushed(2, [b.entry], ok))).status, 200, `${configured}`);
  }
});

test('one push at a time: a concurrent push is refused (429, Retry-After) before its body is read', async () => {
  const stored = [];
  const { w } = worker(async (text) => stored.push(text));
  const v2 = new TextEncoder().encode(pushed(2, [b.entry]));
  // The first push's body arrives slowly: half now, the rest when released.
  let finish;
  const slow = new ReadableStream({
    start(c) {
      c.enqueue(v2.subarray(0, 100));
      finish = () => {
        c.enqueue(v2.subarray(100));
        c.close();
      };
    },
  });
  const first = w.keySetEndpoint(new Request(`https://gw.example${KEYSET_PATH}`, { method: 'PUT', body: slow, duplex: 'half' }), {}, {});
  await new Promise((r) => setTimeout(r, 20));
  const second = new Request(`https://gw.example${KEYSET_PATH}`, { method: 'PUT', body: v2 });
  const busy = await w.keySetEndpoint(second, {}, {});
  assert.equal(busy.status, 429);
  assert.equal(busy.headers.get('retry-after'), '1');
  assert.equal((await busy.json()).error, 'push_in_progress');
  assert.equal(second.bodyUsed, false, 'the refused push body is not read');
  assert.equal(await ask(w, a.key), 200, 'decisions are served meanwhile');
  finish();
  assert.equal((await first).status, 200);
  assert.deepEqual(stored.length, 1);
  // The slot is free again.
  assert.equal((await put(w, pushed(3, [a.entry]))).status, 200);
});

/** A worker whose pushes are stored in `stored`, with the read deadline `readTimeoutSeconds`. */
function deadlineWorker(stored, readTimeoutSeconds) {
  return withKeygate(() => new Response('ok'), {
    keySet: signKeySet(keySet(1, [a.entry]), publisher.key),
    publisherKeys: [publisher.signing.public_key],
    log: false,
    push: () => ({ store: (text) => stored.push(text), readTimeoutSeconds }),
  });
}

/** A push body whose first 100 bytes arrive and then nothing: `cancelled` once it is cancelled. */
function stalled(bytes) {
  const state = { cancelled: false };
  state.body = new ReadableStream({
    start(c) {
      c.enqueue(bytes.subarray(0, 100));
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return state;
}

const putStream = (w, body) =>
  w.keySetEndpoint(new Request(`https://gw.example${KEYSET_PATH}`, { method: 'PUT', body, duplex: 'half' }), {}, {});

test('a push body that stalls: 408 push_timeout at the read deadline, the stream cancelled, the slot free', async () => {
  const stored = [];
  const w = deadlineWorker(stored, '1');
  const v2 = new TextEncoder().encode(pushed(2, [b.entry]));
  const slow = stalled(v2);
  const started = performance.now();
  const pending = putStream(w, slow.body);
  await new Promise((r) => setTimeout(r, 100));
  // While the slow body holds the slot, real pushes are turned away...
  assert.equal((await put(w, pushed(3, [b.entry]))).status, 429);
  const res = await pending;
  const took = performance.now() - started;
  assert.equal(res.status, 408);
  const body = await res.json();
  assert.equal(body.error, 'push_timeout');
  assert.equal(body.timeout_seconds, 1);
  assert.match(body.message, /within 1 seconds/);
  assert.ok(took >= 950 && took < 10_000, `answered after ${took} ms`);
  await new Promise((r) => setImmediate(r));
  assert.equal(slow.cancelled, true, 'the rest of the body is not read');
  assert.deepEqual(stored, [], 'nothing of the stalled push was applied');
  assert.equal(await ask(w, b.key), 401);
  // ...and once it is refused the slot is free again.
  assert.equal((await put(w, pushed(3, [b.entry]))).status, 200);
  assert.equal(await ask(w, b.key), 200);
});

test('the read deadline: 30 seconds by default, as configured from 1 to 300; a body in time is unaffected', async (t) => {
  const v2 = new TextEncoder().encode(pushed(2, [b.entry]));
  for (const [configured, seconds] of [[undefined, 30], ['0', 30], ['abc', 30], ['301', 30], [300, 300], ['45', 45]]) {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const w = deadlineWorker([], configured);
      const slow = stalled(v2);
      let answer;
      putStream(w, slow.body).then((r) => (answer = r));
      // Let the read begin (its deadline is set when it starts).
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      t.mock.timers.tick(seconds * 1000 - 1);
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      assert.equal(answer, undefined, `${configured}: still reading before ${seconds} s`);
      t.mock.timers.tick(1);
      for (let i = 0; i < 20 && answer === undefined; i++) await new Promise((r) => setImmediate(r));
      assert.equal(answer?.status, 408, `${configured}: refused at ${seconds} s`);
      assert.equal((await answer.json()).timeout_seconds, seconds, `${configured}`);
    } finally {
      t.mock.timers.reset();
    }
  }
  // A body that arrives whole in time is applied.
  const stored = [];
  const w = deadlineWorker(stored, 1);
  assert.equal((await put(w, pushed(2, [b.entry]))).status, 200);
  assert.equal(stored.length, 1);
  assert.equal(await ask(w, b.key), 200);
});

test('a refused push never reaches the store', async () => {
  const stored = [];
  const { w } = worker(async (text) => stored.push(text));
  const res = await put(w, signKeySet(keySet(1, [b.entry]), publisher.key));
  assert.equal(res.status, 409);
  assert.deepEqual(await res.json().then((j) => [j.error, j.current_revision]), ['keyset_rollback', 1]);
  assert.deepEqual(stored, []);
  assert.equal(await ask(w, a.key), 200);
});

test('stale while revalidate: a slow key set source never delays a request; the re-read goes to waitUntil', async () => {
  const v1 = signKeySet(keySet(1, [a.entry]), publisher.key);
  const v2 = signKeySet(keySet(2, [b.entry]), publisher.key);
  let release;
  let reads = 0;
  const source = async () => {
    reads++;
    if (reads === 1) return v1;
    if (reads === 2) await new Promise((r) => (release = r)); // the second read hangs until released
    return v2;
  };
  const w = withKeygate(() => new Response('ok'), { keySet: source, publisherKeys: [publisher.signing.public_key], refreshSeconds: 0, log: false });
  const pending = [];
  const ctx = { waitUntil: (p) => pending.push(p) };
  const ask2 = async (key) => (await w.fetch(new Request('https://gw.example/x', { headers: { 'x-api-key': key } }), {}, ctx)).status;
  assert.equal(await ask2(a.key), 200, 'the first request waits for the first load');
  assert.equal(pending.length, 0);
  const t0 = Date.now();
  assert.equal(await ask2(a.key), 200, 'answered with the set in use while the re-read hangs');
  assert.equal(await ask2(a.key), 200);
  assert.ok(Date.now() - t0 < 1_000);
  assert.equal(pending.length, 1, 'one background re-read at a time, handed to waitUntil');
  assert.equal(reads, 2);
  release();
  await pending[0];
  assert.equal(await ask2(b.key), 200, 'the re-read result is in use for the next request');
  assert.equal(await ask2(a.key), 401);
});

test('the push body bound: 16 MiB by default, as configured up to 24 MiB, never higher', async () => {
  const MiB = 1024 * 1024;
  const cases = [[undefined, 16 * MiB], ['4096', 4096], [String(20 * MiB), 20 * MiB], ['0', 16 * MiB], ['abc', 16 * MiB], [String(25 * MiB), 16 * MiB]];
  for (const [configured, max] of cases) {
    const { w } = worker(async () => {}, configured);
    const over = await put(w, new Uint8Array(max + 1));
    assert.equal(over.status, 413, `${configured}`);
    assert.deepEqual(await over.json().then((j) => [j.error, j.max_bytes]), ['payload_too_large', max]);
    const at = await put(w, new Uint8Array(max).fill(0x20));
    assert.equal((await at.json()).error, 'envelope_invalid', `${configured}: up to the bound the body is judged`);
    assert.equal(await ask(w, a.key), 200);
  }
});

test('options.push: checked at creation; a fixed target gets env; no target or no publisher keys: 404', async () => {
  const bad = [
    [{ store: 'kv' }, /push\.store must be a function/],
    [{ store() {}, where: 'kv' }, /unknown member "where"/],
    [{ store() {}, maxBytes: 0 }, /maxBytes must be an integer/],
    [{ store() {}, maxBytes: 25 * 1024 * 1024 }, /maxBytes must be an integer/],
    [{ store() {}, maxBytes: '4096' }, /maxBytes must be an integer/],
    [{ store() {}, maxAgeSeconds: 0 }, /maxAgeSeconds must be an integer/],
    [{ store() {}, maxAgeSeconds: 8 * 24 * 3600 }, /maxAgeSeconds must be an integer/],
    [{ store() {}, readTimeoutSeconds: 0 }, /readTimeoutSeconds must be an integer/],
    [{ store() {}, readTimeoutSeconds: 301 }, /readTimeoutSeconds must be an integer/],
    [{ store() {}, readTimeoutSeconds: '30' }, /readTimeoutSeconds must be an integer/],
    ['kv', /options\.push must be an object/],
  ];
  const base = { keySet: signKeySet(keySet(1, [a.entry]), publisher.key), publisherKeys: [publisher.signing.public_key], log: false };
  for (const [push, message] of bad) {
    assert.throws(() => withKeygate(() => new Response('ok'), { ...base, push }), (e) => e.code === 'ERR_INVALID_OPTIONS' && message.test(e.message));
  }
  const stored = [];
  const options = { ...base, push: { store: (text, env) => stored.push([text, env.name]), maxBytes: 8192 } };
  const w = withKeygate(() => new Response('ok'), options);
  options.push = null; // the caller's object is not kept
  const v2 = pushed(2, [b.entry]);
  const env = { name: 'prod' };
  const ok = await w.keySetEndpoint(new Request(`https://gw.example${KEYSET_PATH}`, { method: 'PUT', body: v2 }), env, {});
  assert.deepEqual([ok.status, await ok.json()], [200, { revision: 2, keys: 1, changed: true }]);
  assert.deepEqual(stored, [[v2, 'prod']]);
  const big = await w.keySetEndpoint(new Request(`https://gw.example${KEYSET_PATH}`, { method: 'PUT', body: new Uint8Array(8193) }), env, {});
  assert.deepEqual([big.status, (await big.json()).max_bytes], [413, 8192]);

  // Pushes disabled: no push option, a push function answering null, or no publisher keys.
  for (const opts of [base, { ...base, push: () => null }, { ...base, publisherKeys: undefined, keySet: keySet(1, [a.entry]), push: { store() {} } }]) {
    const off = withKeygate(() => new Response('ok'), opts);
    const r = await off.keySetEndpoint(new Request(`https://gw.example${KEYSET_PATH}`, { method: 'PUT', body: v2 }), {}, {});
    assert.equal(r.status, 404);
    assert.equal((await r.json()).error, 'not_found');
    const info = await off.keySetEndpoint(new Request(`https://gw.example${KEYSET_PATH}`), {}, {});
    assert.equal(info.status, 200, 'GET answers whether pushes are enabled or not');
    assert.equal((await info.json()).revision, 1);
  }
});

test('the endpoint is mounted by the caller: fetch decides the key set path like any other', async () => {
  const { w } = worker(async () => {});
  const r = await w.fetch(new Request(`https://gw.example${KEYSET_PATH}`, { method: 'PUT', body: 'x' }), {}, {});
  assert.equal(r.status, 401);
  assert.equal((await r.json()).error, 'missing_credentials');
  const wrong = await w.keySetEndpoint(new Request(`https://gw.example${KEYSET_PATH}`, { method: 'POST', body: 'x' }), {}, {});
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get('allow'), 'GET, HEAD, PUT');
});
