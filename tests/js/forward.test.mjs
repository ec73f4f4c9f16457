// Layer 3: forwardToOrigin (keygate/worker) against a real HTTP origin on 127.0.0.1: the path
// joined under the origin's prefix, client X-Keygate-* headers removed, the identity and the
// caller's extra headers set, the client address, host and scheme as keygate judged them,
// redirects passed back, and the 502 answers.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { forwardToOrigin, withKeygate } from 'keygate/worker';
import { Hono } from 'hono';
import { keygate } from 'keygate/hono';
import { DEMO, DEMO_KEYSET } from './helpers.mjs';

const seen = [];
const origin = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    seen.push({ method: req.method, url: req.url, headers: req.headers, body });
    if (req.url.startsWith('/base/moved')) return res.writeHead(302, { location: '/elsewhere' }).end();
    res.writeHead(200, { 'content-type': 'text/plain' }).end('from origin');
  });
});
await new Promise((r) => origin.listen(0, '127.0.0.1', r));
after(() => origin.close());
const ORIGIN = `http://127.0.0.1:${origin.address().port}/base/`;
const decision = Object.freeze({ allowed: true, status: 200, keyId: 'reader', scopes: ['orders:read', 'x'] });

test('forwarded with the identity; forged identity and auth headers replaced', async () => {
  const request = new Request('https://api.example/v1/orders/7?full=1', {
    method: 'POST',
    headers: { 'x-keygate-key-id': 'admin', 'X-Keygate-Anything': '1', 'x-origin-auth': 'guess', accept: 'text/plain' },
    body: '{"n":1}',
  });
  const res = await forwardToOrigin(request, decision, ORIGIN, { headers: { 'X-Origin-Auth': 's3cret' } });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'from origin');
  const got = seen.at(-1);
  assert.equal(got.url, '/base/v1/orders/7?full=1');
  assert.equal(got.method, 'POST');
  assert.equal(got.body, '{"n":1}');
  assert.equal(got.headers['x-keygate-key-id'], 'reader');
  assert.equal(got.headers['x-keygate-scopes'], 'orders:read x');
  assert.equal(got.headers['x-keygate-anything'], undefined);
  assert.equal(got.headers['x-origin-auth'], 's3cret', 'the caller\'s header replaces the client\'s copy');
  assert.equal(got.headers.accept, 'text/plain');
});

test('the judged path is forwarded, not the spelling the client sent', async () => {
  // A spelling an origin could read differently: merged slashes, an encoded letter. The
  // decision's canonical path goes to the origin, with the request's own query.
  const request = new Request('https://api.example//v1//%6Frders/7?x=%2F&y=1');
  const res = await forwardToOrigin(request, { ...decision, path: '/v1/orders/7' }, ORIGIN);
  assert.equal(res.status, 200);
  assert.equal(seen.at(-1).url, '/base/v1/orders/7?x=%2F&y=1');
  // A decision from before `path` existed: the request's own path, as before.
  await forwardToOrigin(new Request('https://api.example/v1/a'), decision, ORIGIN);
  assert.equal(seen.at(-1).url, '/base/v1/a');
});

test('a public route (no key) forwards no key id; redirects are passed back, not followed', async () => {
  const res = await forwardToOrigin(new Request('https://api.example/moved'), { ...decision, keyId: null, scopes: [] }, new URL(ORIGIN));
  assert.equal(res.status, 302);
  assert.equal(res.headers.get('location'), '/elsewhere');
  const got = seen.at(-1);
  assert.equal(got.headers['x-keygate-key-id'], undefined);
  assert.equal(got.headers['x-keygate-scopes'], '');
});

test('502 with a code when the origin cannot be used; extra headers must be strings', async () => {
  const bad = await forwardToOrigin(new Request('https://api.example/x'), decision, 'origin.example');
  assert.deepEqual([bad.status, (await bad.json()).error], [502, 'origin_misconfigured']);
  const closed = createServer();
  await new Promise((r) => closed.listen(0, '127.0.0.1', r));
  const port = closed.address().port;
  await new Promise((r) => closed.close(r));
  const errors = [];
  const orig = console.error;
  console.error = (line) => errors.push(line);
  try {
    const down = await forwardToOrigin(new Request('https://api.example/x'), decision, `http://127.0.0.1:${port}`);
    assert.deepEqual([down.status, (await down.json()).error], [502, 'origin_unreachable']);
  } finally {
    console.error = orig;
  }
  assert.equal(JSON.parse(errors[0]).event, 'keygate.origin_error');
  await assert.rejects(
    forwardToOrigin(new Request('https://api.example/x'), decision, ORIGIN, { headers: { 'x-n': 1 } }),
    (e) => e.code === 'ERR_INVALID_OPTIONS' && /x-n/.test(e.message),
  );
});

test('behind the middleware: the origin is told the address, host and scheme keygate judged, never the client\'s claims', async () => {
  // A Node gateway behind a TLS-terminating proxy: the public URL and the client address come
  // from the middleware's options, and the client's own claims of both are dropped.
  const claims = { 'x-forwarded-for': '127.0.0.1', 'x-real-ip': '127.0.0.1', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'admin.example', 'cf-connecting-ip': '127.0.0.1' };
  const options = { keySet: DEMO_KEYSET, log: false, requestUrl: 'https://api.example.com' };
  const worker = withKeygate((request, env, ctx, decision) => forwardToOrigin(request, decision, ORIGIN), {
    ...options,
    clientIp: (request) => request.headers.get('x-test-peer'),
  });
  const app = new Hono();
  app.use('*', keygate({ ...options, clientIp: (c) => c.req.header('x-test-peer') }));
  app.all('*', (c) => forwardToOrigin(c.req.raw, c.get('keygate'), ORIGIN));
  for (const [who, send] of [['withKeygate', (q) => worker.fetch(q, {}, {})], ['hono', (q) => app.fetch(q)]]) {
    const ask = async (peer) => {
      const headers = { authorization: `Bearer ${DEMO.reader}`, ...claims, ...(peer ? { 'x-test-peer': peer } : {}) };
      const res = await send(new Request('http://10.0.0.5:8080/api/orders/1', { headers }));
      assert.equal(res.status, 200, who);
      const got = seen.at(-1).headers;
      assert.equal(got['x-forwarded-host'], 'api.example.com', `${who}: the public host judged (requestUrl)`);
      assert.equal(got['x-forwarded-proto'], 'https', `${who}: the public scheme judged (requestUrl)`);
      assert.equal(got['cf-connecting-ip'], undefined, who);
      return [got['x-forwarded-for'] ?? null, got['x-real-ip'] ?? null];
    };
    assert.deepEqual(await ask('203.0.113.9'), ['203.0.113.9', '203.0.113.9'], `${who}: the address the decision used`);
    assert.deepEqual(await ask(null), [null, null], `${who}: no address known: none invented, the client's dropped`);
    assert.deepEqual(await ask('not-an-address'), [null, null], `${who}: an address the verifier could not read counts as none`);
  }
});

test('a Request re-created between the middleware and forwardToOrigin keeps what keygate judged', async () => {
  // A handler that forwards a copy (new Request(request, init) to add a header or change the
  // body, Hono's mount) hands forwardToOrigin another object than the one judged; the
  // decision it passes is the one judged, and says the address, host and scheme.
  const options = { keySet: DEMO_KEYSET, log: false, requestUrl: 'https://api.example.com' };
  const copy = (request) => new Request(request, { headers: [...request.headers, ['x-added', '1']] });
  const worker = withKeygate((request, env, ctx, decision) => forwardToOrigin(copy(request), decision, ORIGIN), {
    ...options,
    clientIp: (request) => request.headers.get('x-test-peer'),
  });
  const app = new Hono();
  app.use('*', keygate({ ...options, clientIp: (c) => c.req.header('x-test-peer') }));
  app.all('*', (c) => forwardToOrigin(copy(c.req.raw), c.get('keygate'), ORIGIN));
  for (const [who, send] of [['withKeygate', (q) => worker.fetch(q, {}, {})], ['hono', (q) => app.fetch(q)]]) {
    const headers = { authorization: `Bearer ${DEMO.reader}`, 'x-test-peer': '203.0.113.9', 'x-forwarded-for': '127.0.0.1' };
    const res = await send(new Request('http://10.0.0.5:8080/api/orders/1', { headers }));
    assert.equal(res.status, 200, who);
    const got = seen.at(-1).headers;
    assert.equal(got['x-added'], '1', `${who}: the copy was forwarded`);
    assert.equal(got['x-forwarded-for'], '203.0.113.9', `${who}: the address the decision used`);
    assert.equal(got['x-real-ip'], '203.0.113.9', who);
    assert.equal(got['x-forwarded-host'], 'api.example.com', `${who}: the public host judged (requestUrl)`);
    assert.equal(got['x-forwarded-proto'], 'https', `${who}: the public scheme judged (requestUrl)`);
  }
});

test('options.clientIp: the caller names the address (null: none); anything else is refused at the call', async () => {
  const request = new Request('https://api.example/v1/x', { headers: { 'x-forwarded-for': '10.0.0.1' } });
  await forwardToOrigin(request, decision, ORIGIN, { clientIp: '198.51.100.4' });
  assert.equal(seen.at(-1).headers['x-forwarded-for'], '198.51.100.4');
  assert.equal(seen.at(-1).headers['x-real-ip'], '198.51.100.4');
  assert.equal(seen.at(-1).headers['x-forwarded-proto'], 'https');
  await forwardToOrigin(request, decision, ORIGIN, { clientIp: null });
  assert.equal(seen.at(-1).headers['x-forwarded-for'], undefined);
  for (const bad of [5, {}, '10.0.0.1\r\nx-a: b', ' 10.0.0.1']) {
    await assert.rejects(
      forwardToOrigin(request, decision, ORIGIN, { clientIp: bad }),
      (e) => e.code === 'ERR_INVALID_OPTIONS' && /clientIp/.test(e.message),
      JSON.stringify(bad),
    );
  }
});

// tests/vectors/forwarding.json: client fields an origin may read as the edge's own headers.
const FORWARDING = JSON.parse(readFileSync(new URL('../vectors/forwarding.json', import.meta.url), 'utf8'));
for (const c of FORWARDING.cases) {
  test(`forwarding vector: ${c.models}`, async () => {
    const request = new Request(c.url ?? 'https://api.example/v1/x', { headers: c.client });
    // `client_ip`: the address keygate judged, handed over as the middleware would have it.
    const options = { headers: c.extra, ...('client_ip' in c ? { clientIp: c.client_ip } : {}) };
    const res = await forwardToOrigin(request, { allowed: true, status: 200, ...(c.decision ?? FORWARDING.decision) }, ORIGIN, options);
    assert.equal(res.status, 200);
    const got = seen.at(-1).headers;
    for (const [name, want] of Object.entries(c.expect)) assert.equal(got[name] ?? null, want, name);
  });
}
