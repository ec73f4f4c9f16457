// Layer 4: the push endpoint on the open internet (issue 8), in workerd: one push at a time
// (the others 429 before their body is read, decisions keep flowing), nothing stored that did
// not advance, stale envelopes refused, sets bound to their gateway by `audience`, junk
// envelopes refused with their codes, and a trickled push body cut off at the read deadline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateApiKey } from 'keygate';
import { ROOT } from '../js/helpers.mjs';
import { PUBLISHER, bearer, gateway, push, set, signed } from './helpers.mjs';

const PUB = PUBLISHER.signing.public_key;
const [a, b, c] = ['a', 'b', 'c'].map((id) => generateApiKey({ id }));
const status = async (gw, key) => (await gw.fetch('/api/x', bearer(key))).status;
const ago = (seconds) => ({ issued_at: new Date(Date.now() - seconds * 1000).toISOString() });

test('one push at a time: concurrent pushes get 429 with Retry-After, the isolate keeps deciding', async () => {
  const gw = await gateway({ KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_KEYSET: signed(set(1, [a.entry])) });
  assert.equal(await status(gw, a.key), 200);
  const first = new TextEncoder().encode(signed(set(2, [a.entry, b.entry])));
  // The first push's body arrives slowly: its start now, the rest when released.
  let release;
  const held = new Promise((r) => (release = r));
  const slow = new ReadableStream({
    async start(ctl) {
      ctl.enqueue(first.subarray(0, 64));
      await held;
      ctl.enqueue(first.subarray(64));
      ctl.close();
    },
  });
  const pending = push(gw, slow, { duplex: 'half' });
  await new Promise((r) => setTimeout(r, 300));
  const others = await Promise.all([3, 4, 5].map((rev) => push(gw, signed(set(rev, [c.entry])))));
  for (const r of others) {
    assert.equal(r.status, 429, JSON.stringify(r.body));
    assert.equal(r.body.error, 'push_in_progress');
    assert.equal(r.headers.get('retry-after'), '1');
  }
  // Decisions are served meanwhile, with the set in use.
  assert.deepEqual(await Promise.all([status(gw, a.key), status(gw, b.key), status(gw, c.key)]), [200, 401, 401]);
  release();
  const done = await pending;
  assert.deepEqual([done.status, done.body], [200, { revision: 2, keys: 2, changed: true }]);
  assert.equal(await status(gw, b.key), 200);
  assert.equal(await status(gw, c.key), 401, 'no refused push was applied');
  // The slot is free again.
  assert.equal((await push(gw, signed(set(3, [c.entry])))).status, 200);
});

test('a push body that stalls holds the slot only until KEYSET_PUSH_TIMEOUT_SECONDS: 408 push_timeout, then pushes flow', { timeout: 30_000 }, async () => {
  const gw = await gateway({ KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_KEYSET: signed(set(1, [a.entry])), KEYSET_PUSH_TIMEOUT_SECONDS: '1' });
  const v2 = new TextEncoder().encode(signed(set(2, [b.entry])));
  // An unauthenticated client sends the start of a body and then nothing more; the test ends
  // its stream itself once answered (or after 15 s at most), so nothing is left running.
  let end;
  const stalled = new ReadableStream({
    start(ctl) {
      ctl.enqueue(v2.subarray(0, 64));
      end = () => {
        try {
          ctl.close();
        } catch {
          // already cancelled by the reader
        }
      };
    },
  });
  const guard = setTimeout(() => end(), 15_000);
  try {
    const started = performance.now();
    const pending = push(gw, stalled, { duplex: 'half', signal: AbortSignal.timeout(15_000) });
    await new Promise((r) => setTimeout(r, 300));
    const meanwhile = await push(gw, signed(set(3, [c.entry])));
    assert.deepEqual([meanwhile.status, meanwhile.body.error], [429, 'push_in_progress'], 'the slow push holds the slot');
    assert.equal(await status(gw, a.key), 200, 'decisions are served meanwhile');
    const r = await pending;
    const took = performance.now() - started;
    assert.equal(r.status, 408, JSON.stringify(r.body));
    assert.equal(r.body.error, 'push_timeout');
    assert.equal(r.body.timeout_seconds, 1);
    assert.ok(took >= 900 && took < 10_000, `answered after ${Math.round(took)} ms`);
  } finally {
    clearTimeout(guard);
    end();
  }
  assert.equal(await status(gw, b.key), 401, 'nothing of the stalled push was applied');
  assert.equal(await (await gw.kv()).get('keyset'), null, 'nor stored');
  // The slot is free again: a real push goes through.
  const real = await push(gw, signed(set(3, [c.entry])));
  assert.deepEqual([real.status, real.body.revision], [200, 3]);
  assert.equal(await status(gw, c.key), 200);
});

test('an unchanged push answers 200 and is not written to KV; a refused one neither', async () => {
  const gw = await gateway({ KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_KEYSET: signed(set(1, [a.entry])) });
  const v2 = signed(set(2, [b.entry]));
  assert.equal((await push(gw, v2)).status, 200);
  const kv = await gw.kv();
  // A sentinel: the same value, with metadata no write by the gateway would keep.
  await kv.put('keyset', v2, { metadata: { sentinel: 1 } });
  const again = await push(gw, v2);
  assert.deepEqual([again.status, again.body], [200, { revision: 2, keys: 1, changed: false }]);
  for (const refused of [signed(set(1, [a.entry])), signed(set(3, [c.entry], ago(3600)))]) {
    assert.equal((await push(gw, refused)).status, 409);
  }
  const { value, metadata } = await kv.getWithMetadata('keyset');
  assert.equal(value, v2);
  assert.deepEqual(metadata, { sentinel: 1 }, 'KV was not written again');
  assert.equal(await status(gw, b.key), 200);
});

test('a stale envelope is refused (409 envelope_stale), as configured by KEYSET_MAX_AGE_SECONDS', async () => {
  const gw = await gateway({ KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_KEYSET: signed(set(1, [a.entry])) });
  const cases = [
    ['issued 20 minutes ago', signed(set(2, [b.entry], ago(20 * 60))), /before now/],
    ['issued 5 minutes ahead', signed(set(2, [b.entry], ago(-5 * 60))), /after now/],
    ['without issued_at', signed({ keygate: 1, revision: 2, keys: [b.entry] }), /must carry issued_at/],
  ];
  for (const [name, body, message] of cases) {
    const r = await push(gw, body);
    assert.deepEqual([r.status, r.body.error], [409, 'envelope_stale'], name);
    assert.match(r.body.message, message, name);
    assert.equal(await status(gw, a.key), 200, `${name}: the old set keeps serving`);
    assert.equal(await status(gw, b.key), 401, name);
  }
  assert.equal(await (await gw.kv()).get('keyset'), null, 'a stale push is never stored');
  assert.ok(gw.events('keyset_rejected').some((e) => e.code === 'ERR_ENVELOPE_STALE' && e.origin === 'push'));
  assert.equal((await push(gw, signed(set(2, [b.entry], ago(10 * 60))))).status, 200, '10 minutes old: within 15');

  const strict = await gateway({ KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_KEYSET: signed(set(1, [a.entry])), KEYSET_MAX_AGE_SECONDS: '60' });
  assert.equal((await push(strict, signed(set(2, [b.entry], ago(120))))).status, 409);
  assert.equal((await push(strict, signed(set(2, [b.entry], ago(30))))).status, 200);
});

test('KEYGATE_AUDIENCE: a set for another gateway is refused, pushed or loaded; the old set keeps serving', async () => {
  const prod = (rev, keys, extra = {}) => signed(set(rev, keys, { audience: ['api-prod', 'api-prod-eu'], ...extra }));
  const gw = await gateway({ KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_AUDIENCE: 'api-prod', KEYGATE_KEYSET: prod(1, [a.entry]) });
  assert.equal(await status(gw, a.key), 200);
  for (const [name, body] of [
    ['a staging set', signed(set(2, [b.entry], { audience: 'api-staging' }))],
    ['a set naming no audience', signed(set(2, [b.entry]))],
  ]) {
    const r = await push(gw, body);
    assert.deepEqual([r.status, r.body.error], [400, 'audience_mismatch'], name);
    assert.match(r.body.message, /"api-prod"/, name);
    assert.equal(await status(gw, a.key), 200, `${name}: the old set keeps serving`);
    assert.equal(await status(gw, b.key), 401, name);
  }
  assert.equal(await (await gw.kv()).get('keyset'), null);
  assert.equal((await push(gw, prod(2, [b.entry]))).status, 200);
  assert.equal(await status(gw, b.key), 200);

  // Loaded from the source: a staging set in the var is refused (no set: 503), and logged.
  const foreign = await gateway({
    KEYGATE_PUBLISHER_KEYS: PUB,
    KEYGATE_AUDIENCE: 'api-prod',
    KEYGATE_KEYSET: signed(set(1, [a.entry], { audience: 'api-staging' })),
  });
  const r = await foreign.fetch('/api/x', bearer(a.key));
  assert.equal(r.status, 503);
  assert.equal((await r.json()).error, 'keyset_unavailable');
  assert.ok(foreign.events('keyset_rejected').some((e) => e.code === 'ERR_AUDIENCE_MISMATCH' && e.origin === 'refresh'));
  // Without KEYGATE_AUDIENCE, the same set loads as before.
  const open = await gateway({ KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_KEYSET: signed(set(1, [a.entry], { audience: 'api-staging' })) });
  assert.equal(await status(open, a.key), 200);
});

test('junk envelopes (tests/vectors/envelopes/junk.json, 1 MiB each) are refused with their codes', async () => {
  const doc = JSON.parse(readFileSync(join(ROOT, 'tests/vectors/envelopes/junk.json'), 'utf8'));
  const gw = await gateway({ KEYGATE_PUBLISHER_KEYS: doc.publisher_keys, KEYGATE_KEYSET: null });
  for (const c of doc.cases) {
    const n = Math.max(1, Math.floor((1024 * 1024 - c.head.length - c.tail.length) / c.unit.length));
    const r = await push(gw, c.head + c.unit.repeat(n) + c.tail);
    assert.equal(r.body.error, c.expect.error, `${c.name}: ${JSON.stringify(r.body).slice(0, 300)}`);
    assert.ok(r.body.message.includes(c.expect.message), `${c.name}: ${r.body.message.slice(0, 300)}`);
  }
  assert.equal(await (await gw.kv()).get('keyset'), null);
});
