// Layer 3: a verifier bound to an audience (issue 8). Keygate.load and update refuse a set that
// does not name it (ERR_AUDIENCE_MISMATCH, the old set keeps serving); the middleware takes
// `audience` as a string or a function of env, checked at creation; without one, any set loads.
// Also `maxAgeSeconds` on load and update: a pushed set must be fresh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keygate, generateApiKey, generateSigningKey, signKeySet } from 'keygate';
import { withKeygate } from 'keygate/worker';
import { keygate } from 'keygate/hono';
import { keySet } from './helpers.mjs';

const publisher = generateSigningKey({ alg: 'ed25519' });
const pinned = [publisher.signing.public_key];
const [a, b] = ['a', 'b'].map((id) => generateApiKey({ id }));
const signed = (revision, keys, extra) => signKeySet(keySet(revision, keys, extra), publisher.key);
const allowed = async (gate, key) =>
  (await gate.verify(new Request('https://api.example.com/x', { headers: { 'x-api-key': key } }))).allowed;

test('load and update refuse a set that does not name the audience; the old set keeps serving', async () => {
  const options = { publisherKeys: pinned, audience: 'api-prod' };
  const gate = await Keygate.load(signed(1, [a.entry], { audience: ['api-prod', 'api-prod-eu'] }), options);
  for (const [name, next] of [
    ['another gateway', signed(2, [b.entry], { audience: 'api-staging' })],
    ['no audience at all', signed(2, [b.entry])],
  ]) {
    await assert.rejects(gate.update(next), (e) => {
      assert.equal(e.code, 'ERR_AUDIENCE_MISMATCH', name);
      assert.deepEqual([e.error, e.status], ['audience_mismatch', 400], name);
      assert.match(e.message, /"api-prod"/, name);
      return true;
    });
    assert.equal(gate.revision, 1, name);
    assert.equal(await allowed(gate, a.key), true, name);
  }
  assert.deepEqual(await gate.update(signed(2, [b.entry], { audience: 'api-prod' })), { changed: true, revision: 2, kind: 'full' });
  assert.equal(await allowed(gate, b.key), true);
  await assert.rejects(Keygate.load(signed(1, [a.entry], { audience: 'x' }), options), { code: 'ERR_AUDIENCE_MISMATCH' });
  // Without an audience, any set loads as before (bare sets too).
  assert.equal((await Keygate.load(signed(1, [a.entry], { audience: 'x' }), { publisherKeys: pinned })).revision, 1);
  assert.equal((await Keygate.load(keySet(1, [a.entry], { audience: 'x' }))).revision, 1);
  assert.equal((await Keygate.load(keySet(1, [a.entry], { audience: 'x' }), { audience: 'x' })).revision, 1);
  for (const bad of ['', 'api prod', 'x'.repeat(257), 7, ['api-prod']]) {
    await assert.rejects(Keygate.load(keySet(1, []), { audience: bad }), { code: 'ERR_INVALID_OPTIONS' }, String(bad));
  }
});

test('maxAgeSeconds: a pushed set must carry a recent issued_at (load: always; update: when it advances)', async () => {
  const at = (ago) => ({ issued_at: new Date(Date.now() - ago * 1000).toISOString() });
  await assert.rejects(Keygate.load(keySet(1, [a.entry], at(1000)), { maxAgeSeconds: 900 }), (e) => {
    assert.deepEqual([e.code, e.error, e.status], ['ERR_ENVELOPE_STALE', 'envelope_stale', 409]);
    return true;
  });
  await assert.rejects(Keygate.load(keySet(1, [a.entry]), { maxAgeSeconds: 900 }), { code: 'ERR_ENVELOPE_STALE' });
  const first = keySet(1, [a.entry], at(1000));
  const gate = await Keygate.load(first, { maxAgeSeconds: 3600 });
  assert.deepEqual(await gate.update(first, { maxAgeSeconds: 60 }), { changed: false, revision: 1, kind: 'full' });
  await assert.rejects(gate.update(keySet(2, [b.entry], at(1000)), { maxAgeSeconds: 60 }), { code: 'ERR_ENVELOPE_STALE' });
  assert.equal(await allowed(gate, a.key), true);
  assert.deepEqual(await gate.update(keySet(2, [b.entry], at(1000))), { changed: true, revision: 2, kind: 'full' }, 'no maxAgeSeconds: any age');
  for (const bad of [-1, 1.5, '60']) {
    await assert.rejects(gate.update(keySet(3, []), { maxAgeSeconds: bad }), { code: 'ERR_INVALID_OPTIONS' }, String(bad));
  }
  await assert.rejects(gate.update(keySet(3, []), { audience: 'x' }), { code: 'ERR_INVALID_OPTIONS' });
});

test('middleware: audience as a string or a function of env, checked at creation', async () => {
  const lines = [];
  const w = withKeygate(() => new Response('ok'), {
    keySet: (env) => env.SET,
    publisherKeys: pinned,
    audience: (env) => env.AUDIENCE,
    log: (l) => lines.push(l),
  });
  const ask = async (env) => (await w.fetch(new Request('https://gw.example/x', { headers: { 'x-api-key': a.key } }), env, {})).status;
  const set = signed(1, [a.entry], { audience: 'api-prod' });
  assert.equal(await ask({ SET: set, AUDIENCE: 'api-prod' }), 200);
  const other = withKeygate(() => new Response('ok'), { keySet: set, publisherKeys: pinned, audience: 'api-staging', log: (l) => lines.push(l) });
  assert.equal((await other.fetch(new Request('https://gw.example/x', { headers: { 'x-api-key': a.key } }), {}, {})).status, 503);
  assert.ok(lines.some((l) => l.event === 'keygate.keyset_rejected' && l.code === 'ERR_AUDIENCE_MISMATCH'));
  // An unusable audience from env (a function is only called per environment): 503, saying so.
  const fresh = withKeygate(() => new Response('ok'), { keySet: (env) => env.SET, publisherKeys: pinned, audience: (env) => env.AUDIENCE, log: false });
  const r = await fresh.fetch(new Request('https://gw.example/x'), { SET: set, AUDIENCE: 'api prod' }, {});
  assert.equal(r.status, 503);
  assert.match((await r.json()).message, /audience is not a valid audience name/);
  for (const make of [(o) => withKeygate(() => new Response('ok'), o), (o) => keygate(o)]) {
    for (const bad of [7, '', ['api-prod']]) {
      assert.throws(() => make({ keySet: set, publisherKeys: pinned, audience: bad }), { code: 'ERR_INVALID_OPTIONS' });
    }
    assert.doesNotThrow(() => make({ keySet: set, publisherKeys: pinned, audience: 'api-prod' }));
  }
});
