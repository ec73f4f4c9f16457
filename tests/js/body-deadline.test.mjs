// The deadline of a body keygate reads before it decides (tests/vectors/middleware/
// slow_bodies.json): a Standard Webhooks delivery's body (read before any proof) and a signed
// body hashed for its Content-Digest must arrive whole within bodyTimeoutSeconds of the start
// of their read, else `verify` rejects ERR_BODY_TIMEOUT (the middleware: 408 body_timeout),
// the clone's reader is cancelled and no timer is left behind; a body in time is decided as
// before. Bodies stream from sources that stop sending and stay open, as a stalled client's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Hono } from 'hono';
import { Keygate, KeygateError } from 'keygate';
import { WIRE_STATUS, withKeygate } from 'keygate/worker';
import { keygate } from 'keygate/hono';
import { KEY_SET, SECONDS, doc, slowCase, slowRequest } from './slow-bodies.mjs';

/** How long a settled promise may take past the deadline on this shared machine (a bound on hangs, not a speed claim). */
const SLACK_MS = 2000;

/** `promise`, or a failure once `ms` have passed without it settling (a hang fails, never blocks the run). */
function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** A case's request, what its source saw and its body (slow-bodies.mjs). */
async function caseRequest(c) {
  const { url, init, seen, body } = await slowRequest(c);
  return { request: new Request(url, init), seen, body };
}

const activeTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

test('the vectors: verify rejects a late body with ERR_BODY_TIMEOUT at its deadline and cancels its read', async () => {
  const gate = await Keygate.load(KEY_SET);
  for (const c of doc.cases) {
    const before = activeTimers();
    const { request, seen, body } = await caseRequest(c);
    const start = performance.now();
    // Under a bound, a body of no declared length is read chunk by chunk (cancelled at the
    // deadline); one of declared length is read whole (abandoned at the deadline).
    const run = within(gate.verify(request, { bodyTimeoutSeconds: SECONDS, maxBodyBytes: 1 << 20 }), SECONDS * 1000 + SLACK_MS, c.name);
    if (c.expect.error) {
      const e = await run.then(
        (d) => assert.fail(`${c.name}: decided ${JSON.stringify(d)}`),
        (e) => e,
      );
      const ms = performance.now() - start;
      assert.ok(e instanceof KeygateError, `${c.name}: ${e}`);
      assert.equal(e.code, c.expect.error, `${c.name}: ${e.message}`);
      assert.equal(e.timeoutSeconds, SECONDS, c.name);
      const what = c.kind === 'webhook' ? 'webhook delivery' : 'signed request';
      assert.match(e.message, new RegExp(`the ${what} body did not arrive whole within bodyTimeoutSeconds \\(${SECONDS} s\\)`), c.name);
      assert.ok(ms >= SECONDS * 1000 - 5, `${c.name}: rejected after ${ms} ms, before the deadline`);
      // The source is cancelled once every branch is: the caller drops its own (the clone's
      // was cancelled by keygate, else the source would still be held).
      assert.equal(seen.cancelled, false, `${c.name}: the caller's branch is the caller's`);
      request.body.cancel(); // (settles only once the source is cancelled: not awaited)
      await sleep(10);
      // A whole read (a declared length) cannot be cancelled: abandoned, it still holds the source.
      assert.equal(seen.cancelled, !c.read_abandoned, `${c.name}: keygate's read of the clone was ${c.read_abandoned ? 'abandoned' : 'cancelled'}`);
    } else {
      const d = await run;
      assert.equal(d.allowed, c.expect.allowed, `${c.name}: ${JSON.stringify(d)}`);
      assert.equal(d.status, c.expect.status, c.name);
      assert.equal(d.reason ?? null, c.expect.reason ?? null, c.name);
      if (d.allowed) {
        // Read whole (its pieces have all arrived, and their timers fired): the deadline's
        // timer is cleared with it.
        assert.ok(activeTimers() <= before, `${c.name}: a timer left pending (${activeTimers()} > ${before})`);
        assert.equal(await request.text(), new TextDecoder().decode(body), `${c.name}: the caller's body is whole`);
      }
    }
  }
});

test('bodyTimeoutSeconds: a Keygate option, overridden per call; checked where options are', async () => {
  const slow = slowCase('signed_trickle_past_deadline');
  const gate = await Keygate.load(KEY_SET, { bodyTimeoutSeconds: SECONDS });
  await assert.rejects(within(gate.verify((await caseRequest(slow)).request), SLACK_MS, 'load option'), { code: 'ERR_BODY_TIMEOUT', timeoutSeconds: SECONDS });
  // A longer deadline for this call: the trickle (600 ms) arrives within it.
  assert.equal((await gate.verify((await caseRequest(slow)).request, { bodyTimeoutSeconds: 5 })).allowed, true);
  // Without the option: 30 s.
  const plain = await Keygate.load(KEY_SET);
  assert.equal((await plain.verify((await caseRequest(slow)).request)).allowed, true);
  for (const bad of [0, -1, 300.5, 301, NaN, Infinity, '1', null, true]) {
    const { request } = await caseRequest(slow);
    await assert.rejects(plain.verify(request, { bodyTimeoutSeconds: bad }), (e) => {
      assert.equal(e.code, 'ERR_INVALID_OPTIONS', String(bad));
      assert.match(e.message, /verify: options\.bodyTimeoutSeconds must be a number of seconds > 0 and at most 300/);
      return true;
    });
    await assert.rejects(Keygate.load(KEY_SET, { bodyTimeoutSeconds: bad }), { code: 'ERR_INVALID_OPTIONS', message: /Keygate\.load: options\.bodyTimeoutSeconds/ });
    assert.throws(() => withKeygate(() => new Response(), { keySet: KEY_SET, bodyTimeoutSeconds: bad }), {
      code: 'ERR_INVALID_OPTIONS',
      message: /options\.bodyTimeoutSeconds must be a number of seconds > 0 and at most 300, or a function of env/,
    });
  }
  assert.equal((await plain.verify((await caseRequest(slow)).request, { bodyTimeoutSeconds: 300 })).allowed, true);
});

test('with no maxBodyBytes a signed body is read whole: at the deadline the read is abandoned and verify answers', async () => {
  const gate = await Keygate.load(KEY_SET);
  const { request, seen } = await caseRequest(slowCase('signed_stalls_after_part'));
  const start = performance.now();
  await assert.rejects(within(gate.verify(request, { bodyTimeoutSeconds: SECONDS }), SECONDS * 1000 + SLACK_MS, 'no bound'), { code: 'ERR_BODY_TIMEOUT' });
  assert.ok(performance.now() - start >= SECONDS * 1000 - 5);
  request.body.cancel();
  await sleep(10);
  assert.equal(seen.cancelled, false, 'a whole read cannot be cancelled: it still holds the source');
});

test('without WebCrypto (the wasm hasher) a signed body has the same deadline', async () => {
  const gate = await Keygate.load(KEY_SET);
  const stalled = slowCase('signed_stalls_after_part');
  const inTime = slowCase('signed_in_time');
  const a = await caseRequest(stalled);
  const b = await caseRequest(inTime);
  const crypto = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
  Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true, writable: true });
  try {
    assert.equal(globalThis.crypto?.subtle, undefined);
    await assert.rejects(within(gate.verify(a.request, { bodyTimeoutSeconds: SECONDS }), SECONDS * 1000 + SLACK_MS, 'wasm hasher'), { code: 'ERR_BODY_TIMEOUT' });
    assert.equal((await gate.verify(b.request, { bodyTimeoutSeconds: SECONDS })).allowed, true);
  } finally {
    Object.defineProperty(globalThis, 'crypto', crypto);
  }
  a.request.body.cancel();
  await sleep(10);
  assert.equal(a.seen.cancelled, true, "the wasm hasher's read was cancelled");
});

/** Runs every vector case through a middleware (`fetch(request)` answers it) and checks the answers. */
async function throughMiddleware(name, fetch, lines) {
  for (const c of doc.cases) {
    const { request, seen } = await caseRequest(c);
    const start = performance.now();
    const res = await within(fetch(request), SECONDS * 1000 + SLACK_MS, `${name}: ${c.name}`);
    const ms = performance.now() - start;
    const out = await res.json();
    if (c.expect.error) {
      assert.equal(res.status, 408, `${name}: ${c.name}`);
      assert.deepEqual(Object.keys(out), ['error', 'message']);
      assert.equal(out.error, c.expect.wire, `${name}: ${c.name}`);
      assert.equal(out.message, `the request body did not arrive whole within ${SECONDS} s; the rest was not read`);
      assert.ok(ms >= SECONDS * 1000 - 5, `${name}: ${c.name}: answered after ${ms} ms`);
      // The handler never reads the caller's branch: the middleware cancels it, so the source is.
      await sleep(10);
      assert.equal(seen.cancelled, !c.read_abandoned, `${name}: ${c.name}: the body was ${c.read_abandoned ? 'left to its abandoned read' : 'cancelled'}`);
      const line = lines.findLast((l) => l.event === 'keygate.decision');
      assert.deepEqual([line.status, line.reason, line.allowed], [408, 'body_timeout', false], `${name}: ${c.name}`);
    } else if (c.expect.allowed) {
      assert.equal(res.status, 200, `${name}: ${c.name}: ${JSON.stringify(out)}`);
      assert.equal(out.read, c.body_length, `${name}: ${c.name}: the handler read the whole body`);
    } else {
      assert.equal(res.status, c.expect.status, `${name}: ${c.name}`);
      assert.equal(out.error, c.expect.reason, `${name}: ${c.name}`);
    }
  }
}

test('the vectors through withKeygate (bodyTimeoutSeconds, or a function of env) and Hono: 408 body_timeout', async () => {
  assert.equal(WIRE_STATUS.body_timeout, 408);
  const lines = [];
  const handler = async (request) => Response.json({ read: (await request.arrayBuffer()).byteLength });
  const worker = withKeygate(handler, { keySet: KEY_SET, bodyTimeoutSeconds: SECONDS, log: (l) => lines.push(l) });
  await throughMiddleware('worker', (r) => worker.fetch(r, {}, {}), lines);

  // From env (text, as a var is); a value out of range there means the default (30 s).
  const fromEnv = withKeygate(handler, { keySet: KEY_SET, bodyTimeoutSeconds: (env) => env.T, log: (l) => lines.push(l) });
  await throughMiddleware('worker env', (r) => fromEnv.fetch(r, { T: String(SECONDS) }, {}), lines);
  const slow = slowCase('webhook_trickle_past_deadline');
  for (const t of ['lots', '0', '301', undefined]) {
    const res = await fromEnv.fetch((await caseRequest(slow)).request, { T: t }, {});
    assert.equal(res.status, 200, `T=${t}`);
  }

  const app = new Hono();
  app.use('*', keygate({ keySet: KEY_SET, bodyTimeoutSeconds: SECONDS, log: (l) => lines.push(l) }));
  app.post('*', async (c) => c.json({ read: (await c.req.arrayBuffer()).byteLength }));
  await throughMiddleware('hono', (r) => app.request(r), lines);
});
