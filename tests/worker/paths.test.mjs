// Layer 4: the attack vectors of tests/vectors/attacks/demo.json replayed through the gateway in
// workerd, in proxy mode (ORIGIN_URL = a Node HTTP origin on 127.0.0.1 under a path prefix).
// Each request goes out on a raw socket with its path exactly as spelled (Node's http client
// does not rewrite it), so the runtime's own URL parsing is part of what is tested. Every
// allowed request must reach the origin at the path keygate judged (the vector's `path`), under
// the prefix and with its query; every refused one must not reach the origin at all.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { DEMO_KEYSET, VECTORS, readJson } from '../js/helpers.mjs';
import { gateway } from './helpers.mjs';

const seen = [];
const origin = createServer((req, res) => {
  seen.push({ url: req.url, method: req.method, keyId: req.headers['x-keygate-key-id'] ?? null });
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ origin: req.url }));
});
await new Promise((r) => origin.listen(0, '127.0.0.1', r));
after(() => origin.close());
const ORIGIN_URL = `http://127.0.0.1:${origin.address().port}/base`;

/** Sends one request with its target exactly as spelled; resolves to { status, body } or null. */
function send(port, method, target, headers) {
  return new Promise((resolve) => {
    let req;
    try {
      req = httpRequest({ host: '127.0.0.1', port, method, path: target, headers: { host: 'gw.test', ...headers } }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      });
    } catch {
      // Node's client refuses some spellings outright (a raw tab): nothing to replay.
      resolve(null);
      return;
    }
    req.on('error', () => resolve(null));
    req.end();
  });
}

test('attack spellings through the gateway in proxy mode: the origin gets the judged path or nothing', async () => {
  const doc = readJson(join(VECTORS, 'attacks/demo.json'));
  const gw = await gateway({ KEYGATE_KEYSET: DEMO_KEYSET, ORIGIN_URL });
  const port = Number((await gw.mf.ready).port);
  let forwarded = 0;
  let refused = 0;
  let rewrittenByRuntime = 0;
  for (const c of doc.cases) {
    const url = new URL(c.request.url);
    // The target as spelled: everything after the authority.
    const target = c.request.url.slice(url.origin.length);
    const headers = Object.fromEntries(c.request.headers);
    if (c.client_ip) headers['cf-connecting-ip'] = c.client_ip;
    const before = seen.length;
    const res = await send(port, c.request.method, target, headers);
    if (res === null) continue;
    // workerd presents request.url as the WHATWG URL parser reads it: for spellings it
    // rewrites, the vector's `whatwg` decision is the one the gateway makes.
    if (c.whatwg) rewrittenByRuntime++;
    const exp = c.whatwg?.expect ?? c.expect;
    const name = `${c.name} (${target})`;
    if (exp.allowed) {
      assert.equal(res.status, 200, `${name}: ${res.body}`);
      assert.equal(seen.length, before + 1, `${name}: forwarded once`);
      const query = url.search;
      assert.equal(seen.at(-1).url, `/base${exp.path}${query}`, `${name}: the origin gets the judged path`);
      assert.equal(seen.at(-1).keyId, exp.key_id, name);
      forwarded++;
    } else {
      assert.equal(res.status, exp.status, `${name}: ${res.body}`);
      assert.equal(JSON.parse(res.body).error, exp.reason, name);
      assert.equal(seen.length, before, `${name}: a refused request never reaches the origin`);
      refused++;
    }
  }
  assert.ok(forwarded >= 8 && refused >= 30, `forwarded ${forwarded}, refused ${refused}`);
  assert.ok(rewrittenByRuntime >= 3, `only ${rewrittenByRuntime} spellings the runtime rewrote`);
});

test('spellings the origin would read differently are forwarded canonically', async () => {
  const gw = await gateway({ KEYGATE_KEYSET: DEMO_KEYSET, ORIGIN_URL });
  const port = Number((await gw.mf.ready).port);
  for (const [target, want] of [
    ['//api//public/x', '/base/api/public/x'],
    ['/%68ealth', '/base/health'],
    ['/api/public/a%3Ab/caf%c3%a9', '/base/api/public/a:b/caf%C3%A9'],
    ['/api/admin/%2e%2e/public/x?q=%2F..%2F', '/base/api/public/x?q=%2F..%2F'],
  ]) {
    const res = await send(port, 'GET', target, {});
    assert.equal(res?.status, 200, `${target}: ${res?.body}`);
    assert.equal(JSON.parse(res.body).origin, want, target);
  }
});

// tests/vectors/attacks/header_fields.json at the gateway: fields the decision does not read
// still count against the 256-field bound when the Request comes from the network (workerd's
// own Headers, which the runtime adds a few fields to), and the fields it reads are judged in
// any spelling.
test('header fields a decision does not read still count, through the gateway', async () => {
  const gw = await gateway({ KEYGATE_KEYSET: DEMO_KEYSET, ORIGIN_URL });
  const port = Number((await gw.mf.ready).port);
  const key = readJson(join(VECTORS, 'attacks/header_fields.json')).cases[0].request.headers[0][1];
  const fill = (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-f${i}`, 'v']));
  const before = seen.length;
  let res = await send(port, 'GET', '/api/orders/1', { authorization: key, ...fill(200) });
  assert.equal(res.status, 200, res.body);
  assert.equal(seen.length, before + 1);
  res = await send(port, 'GET', '/api/orders/1', { authorization: key, ...fill(256) });
  assert.equal(res.status, 400, res.body);
  assert.equal(JSON.parse(res.body).error, 'malformed_request');
  assert.match(JSON.parse(res.body).message, /more than 256 header fields/);
  res = await send(port, 'GET', '/api/orders/1', { AUTHORIZATION: key, 'X-HTTP-Method-Override': 'DELETE', ...fill(20) });
  assert.equal(res.status, 403, res.body);
  assert.equal(JSON.parse(res.body).error, 'scope_missing');
  assert.equal(seen.length, before + 1, 'a refused request never reaches the origin');
});
