// Layer 3: the options that make the middleware bend (issue 12 item 4) and the client address
// outside workerd (issue 9 item 6), for keygate/worker and keygate/hono under Node:
// onRefused (and Hono's app.onError through KeygateHTTPException), where keys come from
// (getKey, keyHeader/keyPrefix) without weakening the core's rules, requestUrl behind a
// TLS-terminating proxy, log modes and sampling, and options checked once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { generateApiKey, generateSigningKey, signRequest } from 'keygate';
import { refusalResponse, withKeygate } from 'keygate/worker';
import { KeygateHTTPException, keygate } from 'keygate/hono';
import { DEMO, DEMO_KEYSET, VECTORS, get, readJson, readText } from './helpers.mjs';
import { dirname, join } from 'node:path';

const url = (p) => `https://gw.example${p}`;
const echo = (request, env, ctx, decision) => Response.json({ key: decision.keyId, url: request.url });

/** Runs `fn` with console.log and console.error captured; resolves to `{ out, err }` (parsed JSON lines). */
async function captureConsole(fn) {
  const { log, error } = console;
  const out = [];
  const err = [];
  console.log = (line) => out.push(JSON.parse(line));
  console.error = (line) => err.push(JSON.parse(line));
  try {
    await fn();
  } finally {
    Object.assign(console, { log, error });
  }
  return { out, err };
}

test('outside workerd CF-Connecting-IP is never used: allow lists fail closed unless clientIp is given', async () => {
  const { INSIDE_WORKERD } = await import('../../pkg/src/edge-request.js');
  assert.equal(INSIDE_WORKERD, false);
  const lines = [];
  const worker = withKeygate(echo, { keySet: DEMO_KEYSET, log: (l) => lines.push(l) });
  // The demo admin key is loopback-only: a client that claims a loopback address is ignored.
  const spoofed = await worker.fetch(get(url('/api/admin/x'), DEMO.admin, { 'cf-connecting-ip': '127.0.0.1' }), {}, {});
  assert.equal((await spoofed.json()).error, 'ip_not_allowed');
  // A deny list cannot be walked around either way: with no address nothing matches it, and
  // the header a client sends changes nothing.
  const denied = await worker.fetch(get(url('/api/hello'), DEMO.reader, { 'cf-connecting-ip': '198.51.100.9' }), {}, {});
  assert.equal(denied.status, 200);
  assert.deepEqual(lines.filter((l) => l.event === 'keygate.decision').map((l) => l.client_ip), [null, null]);

  const given = withKeygate(echo, { keySet: DEMO_KEYSET, log: false, clientIp: (request, env) => env.PEER });
  assert.equal((await given.fetch(get(url('/api/admin/x'), DEMO.admin), { PEER: '::1' }, {})).status, 200);
  const far = await given.fetch(get(url('/api/admin/x'), DEMO.admin, { 'cf-connecting-ip': '::1' }), { PEER: '203.0.113.9' }, {});
  assert.equal((await far.json()).error, 'ip_not_allowed');
  assert.equal((await given.fetch(get(url('/api/hello'), DEMO.reader), { PEER: '198.51.100.9' }, {})).status, 403);

  const app = new Hono();
  app.use('*', keygate({ keySet: DEMO_KEYSET, log: false }));
  app.get('*', (c) => c.text('in'));
  const honoSpoofed = await app.request('/api/admin/x', { headers: { 'x-api-key': DEMO.admin, 'cf-connecting-ip': '::1' } });
  assert.equal((await honoSpoofed.json()).error, 'ip_not_allowed');
});

test('the runtime check cannot be talked into workerd by navigator.userAgent alone', async () => {
  const had = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  Object.defineProperty(globalThis, 'navigator', { value: { userAgent: 'Cloudflare-Workers' }, configurable: true });
  try {
    const fresh = await import('../../pkg/src/edge-request.js?ua-spoofed');
    assert.equal(fresh.INSIDE_WORKERD, false, 'built for Node: the workerd condition was not resolved');
  } finally {
    if (had) Object.defineProperty(globalThis, 'navigator', had);
    else delete globalThis.navigator;
  }
});

test('withKeygate onRefused: its Response is sent, with the request, env and ctx; every edge refusal reaches it', async () => {
  const calls = [];
  const ctx = { waitUntil() {} };
  const options = {
    keySet: DEMO_KEYSET,
    log: false,
    onRefused: async (decision, context) => {
      calls.push([decision, context]);
      const res = refusalResponse(decision);
      res.headers.set('x-refused', decision.reason);
      return res;
    },
  };
  const worker = withKeygate(echo, options);
  const res = await worker.fetch(get(url('/api/hello')), { E: 1 }, ctx);
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('x-refused'), 'missing_credentials');
  assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="keygate"', 'the default response keeps its challenge');
  assert.equal((await res.json()).error, 'missing_credentials');
  const [decision, context] = calls[0];
  assert.deepEqual([decision.allowed, decision.status, decision.reason], [false, 401, 'missing_credentials']);
  assert.ok(Object.isFrozen(decision));
  assert.deepEqual(Object.keys(context).sort(), ['ctx', 'env', 'request']);
  assert.equal(context.env.E, 1);
  assert.equal(context.ctx, ctx);
  assert.equal(new URL(context.request.url).pathname, '/api/hello');

  // Allowed requests never reach it; a refusal the edge makes itself (no key set) does.
  assert.equal((await worker.fetch(get(url('/api/hello'), DEMO.reader), {}, ctx)).status, 200);
  const empty = withKeygate(echo, { ...options, keySet: () => null });
  const none = await empty.fetch(get(url('/x'), DEMO.reader), {}, ctx);
  assert.deepEqual([none.status, none.headers.get('x-refused')], [503, 'keyset_unavailable']);
  assert.equal(calls.length, 2);

  // A callback that answers no Response: the default refusal, and the fault is logged.
  const sloppy = withKeygate(echo, { keySet: DEMO_KEYSET, log: false, onRefused: () => 'nope' });
  const { err } = await captureConsole(async () => {
    const r = await sloppy.fetch(get(url('/api/hello')), {}, ctx);
    assert.deepEqual([r.status, (await r.json()).error], [401, 'missing_credentials']);
  });
  assert.deepEqual(err.map((e) => [e.event, e.option]), [['keygate.option_error', 'onRefused']]);
  // One that throws: the exception is the caller's (as a handler's would be).
  const throwing = withKeygate(echo, { keySet: DEMO_KEYSET, log: false, onRefused: () => { throw new Error('boom'); } });
  await assert.rejects(throwing.fetch(get(url('/api/hello')), {}, ctx), /boom/);
});

test("hono onRefused: a function's Response, or 'throw' to app.onError as a KeygateHTTPException", async () => {
  const shaped = new Hono();
  shaped.use('*', keygate({ keySet: DEMO_KEYSET, log: false, onRefused: (d, c) => c.json({ problem: d.reason }, d.status) }));
  shaped.get('*', (c) => c.text('in'));
  const a = await shaped.request('/api/hello');
  assert.deepEqual([a.status, await a.json()], [401, { problem: 'missing_credentials' }]);

  const app = new Hono();
  const caught = [];
  app.use('*', keygate({ keySet: DEMO_KEYSET, log: false, onRefused: 'throw' }));
  app.get('*', (c) => c.text('in'));
  app.onError((err, c) => {
    caught.push(err);
    if (err instanceof KeygateHTTPException) return c.json({ why: err.decision.reason }, err.status, { 'x-kind': 'keygate' });
    return c.text('other', 500);
  });
  const none = await app.request('/api/hello');
  assert.deepEqual([none.status, none.headers.get('x-kind'), await none.json()], [401, 'keygate', { why: 'missing_credentials' }]);
  const allowed = await app.request('/api/orders/1', { headers: { 'x-api-key': DEMO.reader } });
  assert.equal(allowed.status, 200);
  const err = caught[0];
  assert.ok(err instanceof HTTPException, 'a plain HTTPException to code that knows only Hono');
  assert.equal(err.cause, err.decision);
  assert.equal(err.message, err.decision.message);
  // getResponse() is the default refusal, challenge included.
  const res = err.getResponse();
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="keygate"');
  assert.equal((await res.json()).error, 'missing_credentials');

  // Without app.onError, Hono's own handler answers an HTTPException with getResponse().
  const plain = new Hono();
  plain.use('*', keygate({ keySet: DEMO_KEYSET, log: false, onRefused: 'throw' }));
  plain.get('*', (c) => c.text('in'));
  const p = await plain.request('/api/orders/1', { method: 'POST', headers: { 'x-api-key': DEMO.reader } });
  assert.deepEqual([p.status, (await p.json()).error], [403, 'scope_missing']);
  // A callback may throw its own HTTPException (bearerAuth's idiom): app.onError sees it.
  const own = new Hono();
  own.use('*', keygate({ keySet: DEMO_KEYSET, log: false, onRefused: (d) => { throw new HTTPException(d.status, { message: d.reason }); } }));
  own.get('*', (c) => c.text('in'));
  const o = await own.request('/api/hello');
  assert.deepEqual([o.status, await o.text()], [401, 'missing_credentials']);
});

// A key set with an API key and an Ed25519 signing key, and a signed request from the client.
const API = generateApiKey({ id: 'api' });
const SIGNER = generateSigningKey({ alg: 'ed25519' });
const OTHER = generateApiKey({ id: 'other' });
const KEYS = { keygate: 1, revision: 1, keys: [
  { ...API.entry, scopes: ['s'] },
  { ...OTHER.entry, scopes: ['s'] },
  { id: 'signer', signing: SIGNER.signing, scopes: ['s'] },
] };

test('keyHeader/keyPrefix: keys come from that header only; the core judges them by its own rules', async () => {
  const worker = withKeygate(echo, { keySet: KEYS, log: false, keyHeader: 'Authorization', keyPrefix: 'Token' });
  const ask = async (headers) => {
    const r = await worker.fetch(new Request(url('/v1/x'), { headers }), {}, {});
    return r.status === 200 ? (await r.json()).key : (await r.json()).error;
  };
  assert.equal(await ask({ authorization: `Token ${API.key}` }), 'api');
  assert.equal(await ask({ authorization: `tOkEn \t ${API.key}` }), 'api', 'the scheme ignores case, as Bearer does');
  // The default spellings no longer count: neither alone nor beside the configured one.
  assert.equal(await ask({ authorization: `Bearer ${API.key}` }), 'missing_credentials');
  assert.equal(await ask({ 'x-api-key': API.key }), 'missing_credentials');
  assert.equal(await ask({ authorization: `Token ${API.key}`, 'x-api-key': OTHER.key }), 'api', 'not double-counted');
  // Another scheme holds no key; an empty one is malformed; so are two keys in one field.
  assert.equal(await ask({ authorization: `Basic ${btoa('a:b')}` }), 'missing_credentials');
  assert.equal(await ask({ authorization: 'Token' }), 'malformed_credentials');
  assert.equal(await ask({ authorization: `Token ${API.key} ${OTHER.key}` }), 'malformed_credentials');
  // (The last character replaced by another: a key ending in 'x' would stay itself 1 time in 62.)
  assert.equal(await ask({ authorization: `Token ${API.key.slice(0, -1)}${API.key.endsWith('x') ? 'y' : 'x'}` }), 'malformed_credentials', 'checksum');
  assert.equal(await ask({ authorization: 'Token kg_nothing_here' }), 'unknown_key');

  const partner = withKeygate(echo, { keySet: KEYS, log: false, keyHeader: 'X-Partner-Key' });
  const r = await partner.fetch(new Request(url('/v1/x'), { headers: { 'x-partner-key': API.key, authorization: `Bearer ${OTHER.key}` } }), {}, {});
  assert.equal((await r.json()).key, 'api', 'a Bearer token for the origin is not a keygate key here');
});

test('keyHeader/keyPrefix: a refusal names the header the client must send, not the ones not read here', async () => {
  // The verifier is shown the key as X-API-Key (edge-request.js); the client never sent that
  // field, and one sent is not read here, so its name would send the client the wrong way.
  const cases = [
    [{ keyHeader: 'X-Partner-Key' }, {}, 'missing_credentials', /send X-Partner-Key: <key>, or a signed request/],
    [{ keyHeader: 'X-Partner-Key' }, { 'x-partner-key': '' }, 'malformed_credentials', /empty API key in X-Partner-Key/],
    [{ keyHeader: 'X-Partner-Key' }, { 'x-partner-key': 'a b' }, 'malformed_credentials', /API key in X-Partner-Key contains/],
    [{ keyHeader: 'Authorization', keyPrefix: 'Token' }, {}, 'missing_credentials', /send Authorization: Token <key>, or a signed request/],
    [{ keyHeader: 'Authorization', keyPrefix: 'Token' }, { authorization: 'Token' }, 'malformed_credentials', /empty API key in Authorization: Token/],
    [{ getKey: () => undefined }, { 'x-api-key': API.key }, 'missing_credentials', /no API key was presented and the request is not signed/],
    [{ getKey: () => '' }, {}, 'malformed_credentials', /^empty API key$/],
  ];
  for (const [options, headers, reason, message] of cases) {
    const worker = withKeygate(echo, { keySet: KEYS, log: false, ...options });
    const app = new Hono();
    app.use('*', keygate({ keySet: KEYS, log: false, ...options }));
    app.all('*', (c) => c.json({ key: c.get('keygate').keyId }));
    for (const [who, send] of [['withKeygate', (q) => worker.fetch(q, {}, {})], ['hono', (q) => app.fetch(q)]]) {
      const res = await send(new Request(url('/v1/x'), { headers }));
      const body = await res.json();
      const what = `${who} ${JSON.stringify(options)} ${JSON.stringify(headers)}`;
      assert.deepEqual([res.status, body.error], [401, reason], what);
      assert.match(body.message, message, what);
      assert.doesNotMatch(body.message, /X-API-Key|Bearer/, what);
      if (options.keyPrefix) assert.match(res.headers.get('www-authenticate'), /^Token realm="keygate"/, `${what}: the challenge names the scheme read`);
    }
  }
  // A keyHeader spelled with '_' itself: its '-' twin is refused, and the message says so.
  const under = withKeygate(echo, { keySet: KEYS, log: false, keyHeader: 'X_Partner_Key' });
  const twin = await under.fetch(new Request(url('/v1/x'), { headers: { 'x-partner-key': API.key } }), {}, {});
  assert.equal(twin.status, 400);
  assert.match((await twin.json()).message, /"x-partner-key" is X_Partner_Key spelled with '-'/);
});

// tests/vectors/middleware/key_header_spellings.json: the keyHeader field spelled with '_',
// which CGI-style origins read as the key header itself, through both middlewares.
test('keyHeader vectors: its `_` twin is refused as the core refuses those of its own fields', async () => {
  const file = join(VECTORS, 'middleware/key_header_spellings.json');
  const doc = readJson(file);
  const keySet = readText(join(dirname(file), doc.keyset));
  const worker = withKeygate(echo, { keySet, log: false, ...doc.options });
  const app = new Hono();
  app.use('*', keygate({ keySet, log: false, ...doc.options }));
  app.all('*', (c) => c.json({ key: c.get('keygate').keyId }));
  for (const c of doc.cases) {
    const r = c.request;
    for (const [who, send] of [['withKeygate', (q) => worker.fetch(q, {}, {})], ['hono', (q) => app.fetch(q)]]) {
      const res = await send(new Request(r.url, { method: r.method, headers: r.headers }));
      const body = await res.json();
      assert.equal(res.status, c.expect.status, `${who}: ${c.name}: ${JSON.stringify(body)}`);
      if (c.expect.allowed) assert.equal(body.key, c.expect.key_id, `${who}: ${c.name}`);
      else {
        assert.equal(body.error, c.expect.reason, `${who}: ${c.name}`);
        assert.match(body.message, /spelled with '_'/, `${who}: ${c.name}: the refusal says why`);
      }
    }
  }
});

test('getKey: the presented key reaches the core where it reads one, with the same rules', async () => {
  const seen = [];
  const worker = withKeygate(echo, {
    keySet: KEYS,
    log: false,
    getKey: async (request, env, ctx) => {
      seen.push([env.E, ctx.C]);
      const v = new URL(request.url).searchParams.get('k');
      return v === 'number' ? 7 : v === 'throw' ? Promise.reject(new Error('kv down')) : v;
    },
  });
  const ask = async (k, headers = {}) => {
    const q = k === null ? '' : `?k=${encodeURIComponent(k)}`;
    const res = await worker.fetch(new Request(url(`/v1/x${q}`), { headers }), { E: 'e' }, { C: 'c' });
    return [res.status, res.status === 200 ? (await res.json()).key : (await res.json()).error];
  };
  assert.deepEqual(await ask(API.key), [200, 'api']);
  assert.deepEqual(seen[0], ['e', 'c']);
  assert.deepEqual(await ask(null, { authorization: `Bearer ${API.key}` }), [401, 'missing_credentials']);
  assert.deepEqual(await ask(API.key, { 'x-api-key': OTHER.key }), [200, 'api']);
  assert.deepEqual(await ask(''), [401, 'malformed_credentials']);
  // Characters a Headers object would refuse or trim reach the core as they are, to be refused there.
  assert.deepEqual(await ask(`${API.key}é`), [401, 'malformed_credentials']);
  assert.deepEqual(await ask(`${API.key}\n`), [400, 'malformed_request']);
  assert.deepEqual(await ask('x'.repeat(600)), [401, 'malformed_credentials']);
  // A failing or nonsensical callback: fail closed (503), the cause only in the log.
  const { err } = await captureConsole(async () => {
    assert.deepEqual(await ask('number'), [503, 'verifier_unavailable']);
    assert.deepEqual(await ask('throw'), [503, 'verifier_unavailable']);
  });
  assert.deepEqual(err.map((e) => [e.event, e.option]), [['keygate.option_error', 'getKey'], ['keygate.option_error', 'getKey']]);
  assert.match(err[1].message, /kv down/);

  // A signed request still verifies, and the key placed by getKey is held to the signature's
  // key: an API key of another key is key_mismatch, exactly as with the default headers.
  const signed = await signRequest(new Request(url('/v1/x')), { keyId: 'signer', key: SIGNER.key, alg: 'ed25519' });
  const byHeader = withKeygate(echo, { keySet: KEYS, log: false, getKey: (request) => request.headers.get('x-k') });
  const send = async (extra) => {
    const h = new Headers(signed.headers);
    for (const [n, v] of Object.entries(extra)) h.set(n, v);
    const res = await byHeader.fetch(new Request(signed.url, { headers: h }), {}, {});
    return res.status === 200 ? (await res.json()).key : (await res.json()).error;
  };
  assert.equal(await send({}), 'signer');
  assert.equal(await send({ 'x-k': API.key }), 'key_mismatch');

  const app = new Hono();
  app.use('*', keygate({ keySet: KEYS, log: false, getKey: (c) => c.req.query('key') }));
  app.get('*', (c) => c.text(c.get('keygate').keyId));
  assert.equal(await (await app.request(`/v1/x?key=${API.key}`)).text(), 'api');
  assert.equal((await app.request('/v1/x', { headers: { 'x-api-key': API.key } })).status, 401);
});

test('requestUrl: behind a TLS-terminating proxy the public URL is what signatures and routes are judged on', async () => {
  // The client signs https://api.example.com/v1/orders?x=1; the app sees http://10.0.0.5:8080/... .
  const publicUrl = 'https://api.example.com/v1/orders?x=1';
  const signed = await signRequest(new Request(publicUrl, { method: 'POST', body: '{"q":1}' }), {
    keyId: 'signer', key: SIGNER.key, alg: 'ed25519', components: ['@method', '@target-uri', '@scheme', '@authority', 'content-digest'],
  });
  const inner = () => new Request('http://10.0.0.5:8080/v1/orders?x=1', { method: 'POST', headers: signed.headers, body: '{"q":1}' });
  const handler = async (request, env, ctx, decision) => Response.json({ key: decision.keyId, url: request.url, body: await request.text() });

  const plain = withKeygate(handler, { keySet: KEYS, log: false });
  assert.equal((await (await plain.fetch(inner(), {}, {})).json()).error, 'signature_invalid');

  for (const requestUrl of ['https://api.example.com', new URL('https://api.example.com'), (request) => request.url.replace('http://10.0.0.5:8080', 'https://api.example.com')]) {
    const behind = withKeygate(handler, { keySet: KEYS, log: false, requestUrl });
    const res = await behind.fetch(inner(), {}, {});
    assert.equal(res.status, 200, String(requestUrl));
    // The handler still gets the request as it arrived, body unread.
    assert.deepEqual(await res.json(), { key: 'signer', url: 'http://10.0.0.5:8080/v1/orders?x=1', body: '{"q":1}' });
  }
  const wrong = withKeygate(handler, { keySet: KEYS, log: false, requestUrl: 'https://other.example.com' });
  assert.equal((await (await wrong.fetch(inner(), {}, {})).json()).error, 'signature_invalid');
  const broken = withKeygate(handler, { keySet: KEYS, log: false, requestUrl: () => '/relative' });
  const { err } = await captureConsole(async () => assert.equal((await broken.fetch(inner(), {}, {})).status, 503));
  assert.equal(err[0].option, 'requestUrl');

  // Routes are matched on the public path too (the demo's public rule).
  const demo = withKeygate(echo, { keySet: DEMO_KEYSET, log: false, requestUrl: (r) => r.url.replace('/internal/', '/api/public/') });
  assert.equal((await demo.fetch(get(url('/internal/status')), {}, {})).status, 200);

  const app = new Hono();
  app.use('*', keygate({ keySet: KEYS, log: false, requestUrl: 'https://api.example.com' }));
  app.post('*', (c) => c.text(c.get('keygate').keyId));
  assert.equal(await (await app.request(inner())).text(), 'signer');
});

test("log: 'all', 'refusals', a sink, false; logSample for allowed decisions; refusals always", async () => {
  const run = async (options, n = 4) => {
    const worker = withKeygate(echo, { keySet: DEMO_KEYSET, ...options });
    for (let i = 0; i < n; i++) await worker.fetch(get(url('/api/hello'), DEMO.reader), {}, {});
    await worker.fetch(get(url('/api/hello')), {}, {});
  };
  const decisions = (lines) => lines.filter((l) => l.event === 'keygate.decision').map((l) => l.allowed);
  for (const log of [undefined, true, 'all']) {
    const { out } = await captureConsole(() => run(log === undefined ? {} : { log }));
    assert.deepEqual(decisions(out), [true, true, true, true, false], String(log));
    assert.equal(out[0].event, 'keygate.keyset_loaded', 'key set events too');
  }
  const refusals = await captureConsole(() => run({ log: 'refusals' }));
  assert.deepEqual(decisions(refusals.out), [false]);
  assert.equal(refusals.out[0].event, 'keygate.keyset_loaded');
  const silent = await captureConsole(() => run({ log: false }));
  assert.deepEqual(silent.out, []);

  const sink = [];
  await run({ log: (l) => sink.push(l), logSample: 0 });
  assert.deepEqual(decisions(sink), [false]);
  assert.equal(sink.find((l) => l.allowed === false).sample_rate, undefined, 'refusals are not sampled');
  const half = [];
  await run({ log: (l) => half.push(l), logSample: 0.5 }, 400);
  const allowed = half.filter((l) => l.event === 'keygate.decision' && l.allowed);
  // Binomial(400, 0.5): outside 130..270 with probability below 1e-11.
  assert.ok(allowed.length > 130 && allowed.length < 270, `${allowed.length} of 400 logged`);
  assert.ok(allowed.every((l) => l.sample_rate === 0.5));
  assert.deepEqual(decisions(half).filter((a) => !a), [false]);
  const full = [];
  await run({ log: (l) => full.push(l), logSample: 1 });
  assert.ok(full.filter((l) => l.event === 'keygate.decision').every((l) => !('sample_rate' in l)));
});

test('the new options are checked once, at creation, and never mutated', () => {
  const options = Object.freeze({
    keySet: DEMO_KEYSET, log: 'refusals', onRefused: () => new Response('x'), keyHeader: 'X-Key', keyPrefix: 'Token',
    requestUrl: 'https://api.example.com:8443', clientIp: () => null, maxBodyBytes: 1024,
  });
  withKeygate(echo, options);
  keygate(options);
  keygate({ keySet: DEMO_KEYSET, onRefused: 'throw', getKey: () => null, requestUrl: () => 'https://x', maxBodyBytes: () => '5', logSample: 0.25 });
  const bad = [
    { log: 'some' }, { log: 1 }, { logSample: 1.5 }, { logSample: -0.1 }, { logSample: '0.5' },
    { log: false, logSample: 0.5 }, { log: 'refusals', logSample: 0.5 },
    { onRefused: 'respond' }, { onRefused: new Response('x') },
    { getKey: 'authorization' }, { getKey: () => null, keyHeader: 'x-key' }, { keyPrefix: 'Token' },
    { keyHeader: 'x key' }, { keyHeader: '' }, { keyHeader: 5 }, { keyHeader: 'x-key', keyPrefix: 'Token x' },
    { keyHeader: 'x-key', keyPrefix: '' },
    { requestUrl: 'api.example.com' }, { requestUrl: 'https://api.example.com/base' }, { requestUrl: 'https://api.example.com/?x' },
    { requestUrl: 'ftp://api.example.com' }, { requestUrl: 'https://u:p@api.example.com' }, { requestUrl: 443 },
    { clientIp: 'cf-connecting-ip' }, { maxBodyBytes: -1 }, { maxBodyBytes: 1.5 }, { maxBodyBytes: '8388608' },
    { maxBodyBytes: Infinity },
  ];
  for (const extra of bad) {
    const o = { keySet: DEMO_KEYSET, ...extra };
    assert.throws(() => withKeygate(echo, o), { code: 'ERR_INVALID_OPTIONS' }, `withKeygate ${JSON.stringify(extra)}`);
    assert.throws(() => keygate(o), { code: 'ERR_INVALID_OPTIONS' }, `keygate ${JSON.stringify(extra)}`);
  }
  assert.throws(() => withKeygate(echo, { keySet: DEMO_KEYSET, onRefused: 'throw' }), { code: 'ERR_INVALID_OPTIONS' }, "'throw' is Hono's");
});
