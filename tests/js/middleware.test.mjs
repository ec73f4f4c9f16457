// Layer 3: keygate/worker and keygate/hono driven from Node (the gateway itself is tested
// inside workerd in tests/worker/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import { KeygateError, generateApiKey } from 'keygate';
import { withKeygate, getDecision } from 'keygate/worker';
import { keygate } from 'keygate/hono';
import { DEMO, DEMO_KEYSET, get, keySet } from './helpers.mjs';

const url = (p) => `https://gw.example${p}`;

test('withKeygate: refusals are answered as JSON; allowed requests reach the handler', async () => {
  const lines = [];
  const worker = withKeygate(
    (request, env, ctx, decision) => {
      assert.equal(getDecision(request), decision);
      return Response.json({ hello: decision.keyId, env: env.NAME });
    },
    // Outside workerd the client address is only what clientIp says (here: a test header).
    { keySet: DEMO_KEYSET, log: (r) => lines.push(r), clientIp: (request) => request.headers.get('x-test-ip') },
  );
  const ok = await worker.fetch(get(url('/api/hello'), DEMO.reader), { NAME: 'e' }, {});
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { hello: 'demo-reader', env: 'e' });

  const none = await worker.fetch(get(url('/api/hello')), {}, {});
  assert.equal(none.status, 401);
  assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="keygate"');
  assert.match(none.headers.get('content-type'), /^application\/json/);
  const body = await none.json();
  assert.deepEqual(Object.keys(body), ['error', 'message']);
  assert.equal(body.error, 'missing_credentials');

  const post = await worker.fetch(new Request(url('/api/orders'), { method: 'POST', headers: { 'x-api-key': DEMO.reader } }), {}, {});
  assert.equal(post.status, 403);
  assert.equal(post.headers.get('www-authenticate'), null);
  assert.equal((await post.json()).error, 'scope_missing');

  // The admin key is loopback-only: the address comes from the clientIp option.
  const local = await worker.fetch(get(url('/api/admin/x'), DEMO.admin, { 'x-test-ip': '127.0.0.1' }), {}, {});
  assert.equal(local.status, 200);
  const remote = await worker.fetch(get(url('/api/admin/x'), DEMO.admin, { 'x-test-ip': '203.0.113.5' }), {}, {});
  assert.equal((await remote.json()).error, 'ip_not_allowed');
  const garbage = await worker.fetch(get(url('/api/admin/x'), DEMO.admin, { 'x-test-ip': 'garbage' }), {}, {});
  assert.equal((await garbage.json()).error, 'ip_not_allowed', 'an unreadable address is unknown: fail closed');

  // One audit line per decision, without secrets.
  const decisions = lines.filter((l) => l.event === 'keygate.decision');
  assert.equal(decisions.length, 6);
  assert.deepEqual(Object.keys(decisions[0]).sort(), ['allowed', 'client_ip', 'event', 'key_id', 'method', 'reason', 'route', 'status', 'time']);
  assert.deepEqual(
    decisions.map((l) => [l.status, l.reason, l.key_id, l.client_ip]),
    [
      [200, null, 'demo-reader', null],
      [401, 'missing_credentials', null, null],
      [403, 'scope_missing', 'demo-reader', null],
      [200, null, 'demo-admin', '127.0.0.1'],
      [403, 'ip_not_allowed', 'demo-admin', '203.0.113.5'],
      [403, 'ip_not_allowed', 'demo-admin', null],
    ],
  );
  const all = JSON.stringify(lines);
  for (const key of Object.values(DEMO)) assert.ok(!all.includes(key.slice(8, 20)), 'no key material in logs');
});

test('withKeygate: options are checked once, at creation, and never mutated', () => {
  const options = Object.freeze({ keySet: JSON.parse(DEMO_KEYSET), refreshSeconds: 5 });
  withKeygate(() => new Response('x'), options); // a frozen object would throw on mutation
  const bad = [
    [() => {}, undefined],
    [() => {}, {}],
    [() => {}, { keySet: DEMO_KEYSET, refreshSeconds: -1 }],
    [() => {}, { keySet: DEMO_KEYSET, log: 'yes' }],
    [() => {}, { keySet: DEMO_KEYSET, keyset: DEMO_KEYSET }],
    ['not a function', { keySet: DEMO_KEYSET }],
  ];
  for (const [handler, opts] of bad) {
    assert.throws(() => withKeygate(handler, opts), { code: 'ERR_INVALID_OPTIONS' }, JSON.stringify(opts));
  }
  const err = (() => {
    try {
      withKeygate(() => new Response('x'), { keySet: { keygate: 1, revision: 1, keys: [{ id: 'x' }] } });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof KeygateError);
  assert.equal(err.code, 'ERR_KEYSET_INVALID');
  assert.equal(err.errors[0].path, '$.keys[0]');
});

test('withKeygate: a key set function is refreshed; bad pushes are logged and the old set kept', async () => {
  const a = generateApiKey({ id: 'a' });
  const b = generateApiKey({ id: 'b' });
  let current = null;
  const lines = [];
  const waits = [];
  const worker = withKeygate((_r, _e, _c, d) => new Response(d.keyId), {
    keySet: () => current,
    refreshSeconds: 0,
    log: (r) => lines.push(r),
  });
  const ctx = { waitUntil: (p) => waits.push(p) };
  const call = async (key) => {
    const res = await worker.fetch(get(url('/x'), key), {}, ctx);
    await Promise.all(waits.splice(0));
    return res.status === 200 ? await res.text() : (await res.json()).error;
  };

  assert.equal(await call(a.key), 'keyset_unavailable', 'no set yet: 503, never a fallback');
  current = keySet(1, [a.entry]);
  assert.equal(await call(a.key), 'a');
  current = keySet(2, [b.entry]);
  await call(a.key); // answered with revision 1 while revision 2 loads in the background
  assert.equal(await call(b.key), 'b');
  current = keySet(1, [a.entry]); // rollback
  await call(b.key);
  assert.equal(await call(b.key), 'b');
  current = '{"keygate": 1, "revision": 3, "keys": [}';
  await call(b.key);
  current = null;
  assert.equal(await call(b.key), 'b', 'an empty source keeps the set in use');

  const events = lines.filter((l) => l.event !== 'keygate.decision').map((l) => [l.event, l.code ?? l.revision ?? null]);
  assert.deepEqual(events, [
    ['keygate.keyset_loaded', 1],
    ['keygate.keyset_updated', 2],
    ['keygate.keyset_rejected', 'ERR_KEYSET_ROLLBACK'],
    ['keygate.keyset_rejected', 'ERR_KEYSET_INVALID'],
    ['keygate.keyset_missing', null],
  ]);
});

test('hono: keygate() refuses or sets c.get("keygate")', async () => {
  const app = new Hono();
  const lines = [];
  app.use('/api/*', keygate({ keySet: DEMO_KEYSET, log: (l) => lines.push(l), clientIp: (c) => c.req.header('x-test-ip') }));
  app.get('/api/orders/:id', (c) => c.json({ key: c.get('keygate').keyId, scopes: c.get('keygate').scopes }));
  app.post('/api/orders', (c) => c.text('created'));
  app.get('/api/admin/stats', (c) => c.text('stats'));

  const ok = await app.request('/api/orders/1', { headers: { authorization: `Bearer ${DEMO.reader}` } });
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { key: 'demo-reader', scopes: ['orders:read'] });
  const none = await app.request('/api/orders/1');
  assert.equal(none.status, 401);
  assert.ok(none.headers.get('www-authenticate'));
  assert.equal((await none.json()).error, 'missing_credentials');
  const post = await app.request('/api/orders', { method: 'POST', headers: { 'x-api-key': DEMO.reader } });
  assert.equal(post.status, 403);
  const admin = await app.request('/api/admin/stats', { headers: { 'x-api-key': DEMO.admin, 'x-test-ip': '::1' } });
  assert.equal(await admin.text(), 'stats');
  const far = await app.request('/api/admin/stats', { headers: { 'x-api-key': DEMO.admin, 'x-test-ip': '192.0.2.1' } });
  assert.equal((await far.json()).error, 'ip_not_allowed');
  assert.equal(lines.filter((l) => l.event === 'keygate.decision').length, 5);

  assert.throws(() => keygate({ keySet: DEMO_KEYSET, clientIp: 'header' }), { code: 'ERR_INVALID_OPTIONS' });
});

test('withKeygate takes a key set as bytes, fixed or from a source (e.g. KV arrayBuffer)', async () => {
  const bytes = new TextEncoder().encode(DEMO_KEYSET);
  const handler = (request, env, ctx, decision) => Response.json({ key: decision.keyId });
  const fixed = withKeygate(handler, { keySet: bytes, log: false });
  const fromSource = withKeygate(handler, { keySet: async () => bytes.buffer.slice(0), log: false });
  for (const worker of [fixed, fromSource]) {
    const r = await worker.fetch(get(url('/api/hello'), DEMO.reader), {}, {});
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { key: 'demo-reader' });
  }
});

test('a failing onWarning callback does not fail a load', async () => {
  const { Keygate } = await import('keygate');
  const gate = await Keygate.load(DEMO_KEYSET, { onWarning: () => { throw new Error('callback broke'); } });
  assert.equal(gate.info.revision, 1);
});

test('a signed envelope without publisherKeys: the 503 and the log name the missing publisher keys', async () => {
  const { generateSigningKey, signKeySet } = await import('keygate');
  const publisher = generateSigningKey({ alg: 'ed25519' });
  const envelope = signKeySet(keySet(1, [generateApiKey({ id: 'a' }).entry]), publisher.key);
  const lines = [];
  const worker = withKeygate(() => new Response('ok'), { keySet: () => envelope, log: (l) => lines.push(l) });
  const app = new Hono();
  app.use('*', keygate({ keySet: () => envelope, log: false }));
  app.get('*', () => new Response('ok'));
  for (const res of [await worker.fetch(get('https://x.example/a'), {}, {}), await app.request('https://x.example/a')]) {
    assert.equal(res.status, 503);
    const body = await res.json();
    assert.equal(body.error, 'keyset_unavailable');
    assert.match(body.message, /signed envelope, but no publisher keys are configured.*publisherKeys/);
  }
  const rejected = lines.find((l) => l.event === 'keygate.keyset_rejected');
  assert.equal(rejected.code, 'ERR_INVALID_OPTIONS');
  assert.match(rejected.hint, /KEYGATE_PUBLISHER_KEYS/);
  // Once a set loads, the fault is gone (here: the same envelope with its key pinned).
  const pinned = withKeygate(() => new Response('ok'), { keySet: () => envelope, publisherKeys: [publisher.signing.public_key], log: false });
  assert.equal((await pinned.fetch(get('https://x.example/a'), {}, {})).status, 401);
});
