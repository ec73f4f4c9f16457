// Layer 4: the gateway Worker inside workerd (Miniflare), exactly as `wrangler deploy` bundles
// it (dist/, from `make bundle`): echo, refusals, public routes, the key set sources (KV
// preferred over the var, none: 503), CF-Connecting-IP, audit lines, proxy mode, refresh.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { generateApiKey, generateSigningKey, signRequest } from 'keygate';
import { DEMO, DEMO_KEYSET, VECTORS, keySet, readJson } from '../js/helpers.mjs';
import { bearer, gateway } from './helpers.mjs';

test('echo mode: 200 with the identity, 401 and 403 as JSON, public routes', async () => {
  const gw = await gateway({ KEYGATE_KEYSET: DEMO_KEYSET });
  const ok = await gw.fetch('/api/hello?x=1', bearer(DEMO.reader));
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), {
    allowed: true, key_id: 'demo-reader', scopes: ['orders:read'], method: 'GET', path: '/api/hello',
  });

  const none = await gw.fetch('/api/hello');
  assert.equal(none.status, 401);
  assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="keygate"');
  const body = await none.json();
  assert.equal(body.error, 'missing_credentials');
  assert.match(body.message, /Authorization: Bearer/);

  const post = await gw.fetch('/api/orders', { method: 'POST', ...bearer(DEMO.reader) });
  assert.equal(post.status, 403);
  assert.equal(post.headers.get('www-authenticate'), null);
  assert.equal((await post.json()).error, 'scope_missing');

  const expired = await gw.fetch('/api/orders/1', bearer(DEMO.expired));
  assert.equal(expired.status, 401);
  assert.match(expired.headers.get('www-authenticate'), /error="invalid_token"/);
  assert.equal((await expired.json()).error, 'key_expired');

  const pub = await gw.fetch('/api/public/status');
  assert.equal(pub.status, 200);
  assert.deepEqual(await pub.json(), { allowed: true, key_id: null, scopes: [], method: 'GET', path: '/api/public/status' });
});

test('the client address comes from CF-Connecting-IP; each decision is one JSON log line', async () => {
  const gw = await gateway({ KEYGATE_KEYSET: DEMO_KEYSET });
  const local = await gw.fetch('/api/admin/x', bearer(DEMO.admin, { 'cf-connecting-ip': '::1' }));
  assert.equal(local.status, 200);
  const remote = await gw.fetch('/api/admin/x', bearer(DEMO.admin, { 'cf-connecting-ip': '203.0.113.4' }));
  assert.equal((await remote.json()).error, 'ip_not_allowed');
  // Like wrangler dev, workerd's local entry sets CF-Connecting-IP to the loopback peer when
  // the client sent none (in production Cloudflare's edge sets it).
  const peer = await gw.fetch('/api/admin/x', bearer(DEMO.admin));
  assert.equal(peer.status, 200);
  const unreadable = await gw.fetch('/api/admin/x', bearer(DEMO.admin, { 'cf-connecting-ip': 'garbage' }));
  assert.equal(unreadable.status, 403, 'an allow-listed key with no usable address fails closed');
  const denied = await gw.fetch('/api/hello', bearer(DEMO.reader, { 'cf-connecting-ip': '198.51.100.9' }));
  assert.equal((await denied.json()).error, 'ip_denied');

  const lines = gw.logs.filter((m) => m.includes('"keygate.decision"')).map((m) => JSON.parse(m));
  assert.deepEqual(
    lines.map((l) => [l.status, l.reason, l.key_id, l.client_ip, l.method, l.route]),
    [
      [200, null, 'demo-admin', '::1', 'GET', '/api/admin/**'],
      [403, 'ip_not_allowed', 'demo-admin', '203.0.113.4', 'GET', '/api/admin/**'],
      [200, null, 'demo-admin', '127.0.0.1', 'GET', '/api/admin/**'],
      [403, 'ip_not_allowed', 'demo-admin', null, 'GET', '/api/admin/**'],
      [403, 'ip_denied', null, '198.51.100.9', 'GET', null],
    ],
  );
  for (const l of lines) assert.ok(!Number.isNaN(Date.parse(l.time)));
  const all = gw.logs.join('\n');
  for (const key of Object.values(DEMO)) assert.ok(!all.includes(key.slice(8, 24)), 'no key material in logs');
});

test('no key set at all: 503 keyset_unavailable, never a built-in fallback', async () => {
  const gw = await gateway();
  for (const init of [bearer(DEMO.reader), {}]) {
    const res = await gw.fetch('/api/hello', init);
    assert.equal(res.status, 503);
    const body = await res.json();
    assert.equal(body.error, 'keyset_unavailable');
    assert.ok(body.message.length > 0);
  }
});

test('a key set in KV is preferred over the KEYGATE_KEYSET var', async () => {
  const own = generateApiKey({ prefix: 'kg_test', id: 'from-kv' });
  const gw = await gateway({ KEYGATE_KEYSET: DEMO_KEYSET });
  await (await gw.kv()).put('keyset', JSON.stringify(keySet(5, [{ ...own.entry, scopes: ['s'] }])));
  const mine = await gw.fetch('/api/hello', bearer(own.key));
  assert.deepEqual(await mine.json(), { allowed: true, key_id: 'from-kv', scopes: ['s'], method: 'GET', path: '/api/hello' });
  const demo = await gw.fetch('/api/hello', bearer(DEMO.reader));
  assert.equal((await demo.json()).error, 'unknown_key', 'the demo set in the var is not used');
});

test('an invalid KV set is refused and logged: 503 rather than a guess', async () => {
  const gw = await gateway({ KEYGATE_KEYSET: DEMO_KEYSET });
  await (await gw.kv()).put('keyset', '{"keygate": 1, "revision": 2, "keys": [{"id": "x"}]}');
  const res = await gw.fetch('/api/hello', bearer(DEMO.reader));
  assert.equal(res.status, 503);
  const rejected = gw.logs.map((m) => JSON.parse(m)).find((l) => l.event === 'keygate.keyset_rejected');
  assert.equal(rejected.code, 'ERR_KEYSET_INVALID');
  assert.match(rejected.message, /\$\.keys\[0\]/);
});

test('KV pushes are picked up after KEYSET_REFRESH_SECONDS; rollbacks are refused', async () => {
  const a = generateApiKey({ id: 'a' });
  const b = generateApiKey({ id: 'b' });
  const gw = await gateway({ KEYSET_REFRESH_SECONDS: '0' });
  const kv = await gw.kv();
  await kv.put('keyset', JSON.stringify(keySet(1, [a.entry])));
  assert.equal((await gw.fetch('/x', bearer(a.key))).status, 200);
  await kv.put('keyset', JSON.stringify(keySet(2, [b.entry])));
  const until = async (key, status) => {
    for (let i = 0; i < 40; i++) {
      if ((await gw.fetch('/x', bearer(key))).status === status) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  };
  assert.ok(await until(b.key, 200), 'revision 2 is served after a background refresh');
  assert.equal((await gw.fetch('/x', bearer(a.key))).status, 401);
  await kv.put('keyset', JSON.stringify(keySet(1, [a.entry])));
  for (let i = 0; i < 5; i++) await gw.fetch('/x', bearer(b.key));
  assert.equal((await gw.fetch('/x', bearer(b.key))).status, 200, 'an older revision never replaces a newer one');
  assert.ok(gw.logs.some((m) => m.includes('"ERR_KEYSET_ROLLBACK"')));
});

test('proxy mode: forwards to ORIGIN_URL with the identity, strips client X-Keygate-*', async () => {
  const seen = [];
  const origin = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(201, { 'content-type': 'text/plain', 'x-origin': 'yes' }).end('from origin');
    });
  });
  await new Promise((r) => origin.listen(0, '127.0.0.1', r));
  after(() => origin.close());
  const gw = await gateway({ KEYGATE_KEYSET: DEMO_KEYSET, ORIGIN_URL: `http://127.0.0.1:${origin.address().port}/base/` });

  const res = await gw.fetch('/api/orders/9?full=1', bearer(DEMO.reader, { 'x-keygate-key-id': 'forged', 'x-keygate-extra': '1' }));
  assert.equal(res.status, 201);
  assert.equal(res.headers.get('x-origin'), 'yes');
  assert.equal(await res.text(), 'from origin');
  assert.equal(seen.length, 1);
  assert.equal(seen[0].url, '/base/api/orders/9?full=1');
  assert.equal(seen[0].headers['x-keygate-key-id'], 'demo-reader');
  assert.equal(seen[0].headers['x-keygate-scopes'], 'orders:read');
  assert.equal(seen[0].headers['x-keygate-extra'], undefined);

  const refused = await gw.fetch('/api/orders', { method: 'POST', body: 'x', ...bearer(DEMO.reader) });
  assert.equal(refused.status, 403);
  assert.equal(seen.length, 1, 'a refused request never reaches the origin');

  const admin = await gw.fetch('/api/orders', { method: 'POST', body: '{"n":1}', ...bearer(DEMO.admin, { 'cf-connecting-ip': '127.0.0.1' }) });
  assert.equal(admin.status, 201);
  assert.equal(seen[1].method, 'POST');
  assert.equal(seen[1].body, '{"n":1}');
  assert.equal(seen[1].headers['x-keygate-scopes'], 'orders:* admin');
});

test('with KEYGATE_PUBLISHER_KEYS only a signed envelope loads (KV or var)', async () => {
  const doc = readJson(join(VECTORS, 'envelopes/envelopes.json'));
  const signed = doc.cases.find((c) => c.expect.revision === 7 && !c.publisher_keys.includes(','));
  const forged = doc.cases.find((c) => c.expect.error === 'envelope_signature_invalid');
  const ci = 'kg_test_bPijq91RPbfRtA5Qy1czPSvOMI4MURgMcQruc9wBVXf1bbad1'; // valid_full.json's ci-pipeline
  const request = bearer(ci, { 'cf-connecting-ip': '203.0.113.10' });

  const unsigned = await gateway({ KEYGATE_KEYSET: DEMO_KEYSET, KEYGATE_PUBLISHER_KEYS: signed.publisher_keys });
  assert.equal((await unsigned.fetch('/api/hello', bearer(DEMO.reader))).status, 503, 'an unsigned set is not trusted');
  const rejected = unsigned.logs.map((m) => JSON.parse(m)).find((l) => l.event === 'keygate.keyset_rejected');
  assert.equal(rejected.code, 'ERR_ENVELOPE_INVALID');

  const gw = await gateway({ KEYGATE_KEYSET: DEMO_KEYSET, KEYGATE_PUBLISHER_KEYS: signed.publisher_keys });
  await (await gw.kv()).put('keyset', JSON.stringify(signed.envelope));
  const ok = await gw.fetch('/v1/orders/42', request);
  assert.equal(ok.status, 200);
  assert.equal((await ok.json()).key_id, 'ci-pipeline');

  const bad = await gateway({ KEYGATE_PUBLISHER_KEYS: forged.publisher_keys });
  await (await bad.kv()).put('keyset', JSON.stringify(forged.envelope));
  assert.equal((await bad.fetch('/v1/orders/42', request)).status, 503, 'a forged envelope is refused');
  assert.ok(bad.logs.some((m) => m.includes('"ERR_ENVELOPE_SIGNATURE"')));
});

test('signed requests with bodies: verified by streaming, then proxied with the body intact', async () => {
  const seen = [];
  const origin = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      seen.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('stored');
    });
  });
  await new Promise((r) => origin.listen(0, '127.0.0.1', r));
  after(() => origin.close());
  const key = generateSigningKey({ alg: 'ed25519' });
  const gw = await gateway({
    KEYGATE_KEYSET: JSON.stringify(keySet(1, [{ id: 'client', signing: key.signing, scopes: ['files:write'] }])),
    ORIGIN_URL: `http://127.0.0.1:${origin.address().port}`,
  });
  const body = new Uint8Array(2 * 1024 * 1024 + 3).map((_, i) => (i * 7) % 256);
  const signed = await signRequest(new Request('http://gw.test/files/1', { method: 'PUT', body }), { keyId: 'client', key: key.key, alg: 'ed25519' });
  const res = await gw.fetch('/files/1', { method: 'PUT', headers: signed.headers, body });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(seen.length, 1);
  assert.equal(seen[0].headers['x-keygate-key-id'], 'client');
  assert.ok(Buffer.from(body).equals(seen[0].body), 'the origin received the verified body, byte for byte');

  const tampered = body.slice();
  tampered[0] ^= 1;
  const refused = await gw.fetch('/files/1', { method: 'PUT', headers: signed.headers, body: tampered });
  assert.equal(refused.status, 401);
  assert.equal((await refused.json()).error, 'digest_mismatch');
  assert.match(refused.headers.get('accept-signature'), /"content-digest"/);
  assert.equal(seen.length, 1, 'a refused request never reaches the origin');
});

test('an envelope without KEYGATE_PUBLISHER_KEYS: the 503 and the log say exactly that', async () => {
  const doc = readJson(join(VECTORS, 'envelopes/envelopes.json'));
  const signed = doc.cases.find((c) => c.expect.revision === 7 && !c.publisher_keys.includes(','));
  for (const where of ['var', 'kv']) {
    const gw = await gateway(where === 'var' ? { KEYGATE_KEYSET: JSON.stringify(signed.envelope) } : {});
    if (where === 'kv') await (await gw.kv()).put('keyset', JSON.stringify(signed.envelope));
    const res = await gw.fetch('/api/hello', bearer(DEMO.reader));
    assert.equal(res.status, 503, where);
    const body = await res.json();
    assert.equal(body.error, 'keyset_unavailable');
    assert.match(body.message, /signed envelope, but no publisher keys are configured.*KEYGATE_PUBLISHER_KEYS/, where);
    const [rejected] = gw.events('keyset_rejected');
    assert.match(rejected.hint, /KEYGATE_PUBLISHER_KEYS/, where);
    // The key set endpoint answers the same.
    assert.match((await (await gw.fetch('/.well-known/keygate/keyset')).json()).message, /KEYGATE_PUBLISHER_KEYS/);
  }
  const unreadable = await gateway({ KEYGATE_KEYSET: JSON.stringify(signed.envelope), KEYGATE_PUBLISHER_KEYS: 'not-a-key' });
  assert.match((await (await unreadable.fetch('/api/hello')).json()).message, /publisher keys cannot be read \(KEYGATE_PUBLISHER_KEYS/);
  // A fault of the set itself is logged, never told to the client.
  const invalid = await gateway({ KEYGATE_KEYSET: '{"keygate": 1, "revision": 2, "keys": [{"id": "x"}]}' });
  const message = (await (await invalid.fetch('/api/hello')).json()).message;
  assert.equal(message, 'no valid key set is loaded; requests are refused until one is');
  assert.equal(invalid.events('keyset_rejected')[0].hint, undefined);
});
