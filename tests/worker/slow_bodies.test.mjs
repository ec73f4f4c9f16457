// The deadline of a body the gateway reads before it decides, in workerd: the cases of
// tests/vectors/middleware/slow_bodies.json (a webhook delivery and an HMAC-signed POST with
// Content-Digest whose bodies stall or trickle) sent to the gateway with
// KEYGATE_BODY_TIMEOUT_SECONDS set to the file's deadline. A late body gets 408 body_timeout
// (logged) at about the deadline; a body in time reaches the origin whole; a forged request is
// refused without its body being read; a value out of range means the default (30 s).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import { KEY_SET, SECONDS, doc, schedule, slowCase, slowRequest } from '../js/slow-bodies.mjs';
import { gateway } from './helpers.mjs';

const origin = createServer((req, res) => {
  let got = 0;
  req.on('data', (c) => (got += c.length));
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ got })));
});
await new Promise((r) => origin.listen(0, '127.0.0.1', r));
after(() => origin.close());
const ORIGIN_URL = `http://127.0.0.1:${origin.address().port}`;
const KEYGATE_KEYSET = JSON.stringify(KEY_SET);

/**
 * Sends a case to the gateway over a socket of its own, as a client on the network does (the
 * request head at once, then each piece of the body when the vector says, the connection kept
 * open while the body stalls; a fetch client would hold the head back until a first piece):
 * `{ status, body, took }` (ms). The connection is closed once answered, or after 15 s.
 */
async function send(gw, c) {
  const { url, init, end } = await slowRequest(c, 'http://gw.test');
  end(); // (only its signed head is sent from here)
  const entry = await gw.mf.ready;
  const headers = { ...Object.fromEntries(init.headers), host: 'gw.test' };
  const bytes = new TextEncoder().encode('x'.repeat(c.body_length));
  const timers = [];
  const started = performance.now();
  let req;
  try {
    return await new Promise((resolve, reject) => {
      req = httpRequest(new URL(new URL(url).pathname, entry), { method: 'POST', headers }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text), took: performance.now() - started }));
      });
      req.on('error', reject);
      req.flushHeaders();
      timers.push(...schedule(c, bytes, (piece) => req.write(piece), () => req.end()));
      timers.push(setTimeout(() => reject(new Error(`${c.name}: no answer within 15 s`)), 15_000));
    });
  } finally {
    for (const t of timers) clearTimeout(t);
    req?.destroy();
  }
}

test('KEYGATE_BODY_TIMEOUT_SECONDS: a late body gets 408 body_timeout at the deadline; one in time is forwarded whole', { timeout: 60_000 }, async () => {
  const gw = await gateway({ KEYGATE_KEYSET, ORIGIN_URL, KEYGATE_BODY_TIMEOUT_SECONDS: String(SECONDS) }, { kv: false });
  for (const c of doc.cases) {
    const { status, body, took } = await send(gw, c);
    if (c.expect.error) {
      assert.equal(status, c.expect.status, `${c.name}: ${JSON.stringify(body)}`);
      assert.deepEqual(body, { error: c.expect.wire, message: `the request body did not arrive whole within ${SECONDS} s; the rest was not read` }, c.name);
      assert.ok(took >= SECONDS * 1000 - 20 && took < 10_000, `${c.name}: answered after ${Math.round(took)} ms`);
      const line = gw.events('decision').at(-1);
      assert.deepEqual([line.status, line.reason, line.allowed], [408, 'body_timeout', false], c.name);
    } else if (c.expect.allowed) {
      assert.equal(status, 200, `${c.name}: ${JSON.stringify(body)}`);
      assert.deepEqual(body, { got: c.body_length }, `${c.name}: the origin got the whole body`);
    } else {
      assert.equal(status, c.expect.status, `${c.name}: ${JSON.stringify(body)}`);
      assert.equal(body.error, c.expect.reason, c.name);
    }
  }
});

test('KEYGATE_BODY_TIMEOUT_SECONDS out of range means the default (30 s): a trickle of 600 ms passes', { timeout: 60_000 }, async () => {
  const trickle = slowCase('webhook_trickle_past_deadline');
  for (const value of ['lots', '0', '301']) {
    const gw = await gateway({ KEYGATE_KEYSET, ORIGIN_URL, KEYGATE_BODY_TIMEOUT_SECONDS: value }, { kv: false });
    const { status, body } = await send(gw, trickle);
    assert.equal(status, 200, `${value}: ${JSON.stringify(body)}`);
    assert.deepEqual(body, { got: trickle.body_length });
  }
});
