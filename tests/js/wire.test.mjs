// Layer 3: the one table of wire error codes and their statuses (keygate/worker WIRE_STATUS):
// it agrees with the core's statuses for refused key sets and with docs/reasons.md, every
// answer of the middleware, the key set endpoint and the gateway takes its status from it,
// and errorResponse builds the documented body.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Keygate, KeygateError, generateApiKey, generateSigningKey, signKeySet } from 'keygate';
import { WIRE_STATUS, errorResponse } from 'keygate/worker';
import { ROOT, VECTORS, keySet, readJson } from './helpers.mjs';

test('refused key sets: the core says the same status as the table, for every wire code it uses', async () => {
  const seen = new Set();
  const check = (e) => {
    assert.ok(e instanceof KeygateError, String(e));
    assert.ok(Object.hasOwn(WIRE_STATUS, e.error), `${e.error} is in WIRE_STATUS`);
    assert.equal(e.status, WIRE_STATUS[e.error], e.error);
    seen.add(e.error);
  };
  for (const c of readJson(join(VECTORS, 'envelopes/envelopes.json')).cases.filter((c) => c.expect.error)) {
    await assert.rejects(Keygate.load(JSON.stringify(c.envelope), { publisherKeys: c.publisher_keys }), (e) => (check(e), true), c.name);
  }
  const publisher = generateSigningKey({ alg: 'ed25519' });
  const a = generateApiKey({ id: 'a' });
  const gate = await Keygate.load(signKeySet(keySet(2, [a.entry]), publisher.key), { publisherKeys: [publisher.signing.public_key] });
  await assert.rejects(gate.update(signKeySet(keySet(1, [a.entry]), publisher.key)), (e) => (check(e), true));
  await assert.rejects(gate.update(signKeySet(keySet(3, [a.entry]), publisher.key), { maxAgeSeconds: 900 }), (e) => (check(e), true));
  const options = { publisherKeys: [publisher.signing.public_key], audience: 'api-prod' };
  await assert.rejects(Keygate.load(signKeySet(keySet(2, [a.entry]), publisher.key), options), (e) => (check(e), true));
  assert.deepEqual([...seen].sort(), [
    'audience_mismatch',
    'envelope_invalid',
    'envelope_signature_invalid',
    'envelope_stale',
    'keyset_invalid',
    'keyset_rollback',
  ]);
});

test('docs/reasons.md documents every wire code with the status of the table', () => {
  const doc = readFileSync(join(ROOT, 'docs/reasons.md'), 'utf8');
  const rows = new Map();
  for (const m of doc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)) {
    rows.set(m[1], [...(rows.get(m[1]) ?? []), Number(m[2])]);
  }
  for (const [code, status] of Object.entries(WIRE_STATUS)) {
    assert.ok(rows.has(code), `docs/reasons.md has a row for ${code}`);
    for (const documented of rows.get(code)) assert.equal(documented, status, code);
  }
  assert.ok(Object.isFrozen(WIRE_STATUS));
});

test('keygate/worker types: WireErrorCode names exactly the codes of the table', () => {
  const dts = readFileSync(join(ROOT, 'pkg/src/worker.d.ts'), 'utf8');
  const union = /export type WireErrorCode =([^;]+);/.exec(dts)[1];
  const named = [...union.matchAll(/\| '([a-z_]+)'/g)].map((m) => m[1]);
  assert.deepEqual([...named].sort(), Object.keys(WIRE_STATUS).sort());
});

test('keygate/worker types: EdgeRefusalCode names exactly the refusals the middleware makes itself', () => {
  // Every `edgeRefusal('<code>', ...)` in the package's source (shard_unavailable was missing).
  const made = new Set();
  for (const f of readdirSync(join(ROOT, 'pkg/src')).filter((f) => f.endsWith('.js'))) {
    for (const m of readFileSync(join(ROOT, 'pkg/src', f), 'utf8').matchAll(/edgeRefusal\('([a-z_]+)'/g)) made.add(m[1]);
  }
  assert.ok(made.size >= 5, [...made].join());
  const dts = readFileSync(join(ROOT, 'pkg/src/edge.d.ts'), 'utf8');
  const union = /export type EdgeRefusalCode =([^;]+);/.exec(dts)[1];
  const named = [...union.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]);
  assert.deepEqual([...named].sort(), [...made].sort());
  for (const code of made) assert.ok(Object.hasOwn(WIRE_STATUS, code), `${code} has a status in WIRE_STATUS`);
});

test('errorResponse: the status from the table, {error, message, ...fields}, never cached', async () => {
  const r = errorResponse('method_not_allowed', 'use GET', { headers: { allow: 'GET' }, fields: { error: 'forged', max_bytes: 3 } });
  assert.equal(r.status, 405);
  assert.equal(r.headers.get('allow'), 'GET');
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.deepEqual(await r.json(), { error: 'method_not_allowed', message: 'use GET', max_bytes: 3 });
  for (const code of ['scope_missing', 'toString', '__proto__', 'NOT_FOUND']) {
    assert.throws(() => errorResponse(code, 'x'), TypeError, code);
  }
});

// Statuses are spelled once: the modules that answer requests take them from WIRE_STATUS (or
// from a decision). A 4xx/5xx literal in their code (comments aside) is a second table.
test('no error status literal outside the table in the answering modules', () => {
  const files = [
    ...['keygate.js', 'edge.js', 'push.js', 'worker.js', 'hono.js', 'forward.js', 'gateway.js', 'coordination.js', 'coordinator-binding.js', 'coordinator/workerd.js'].map((f) => join(ROOT, 'pkg/src', f)),
    ...readdirSync(join(ROOT, 'gateway/src')).filter((f) => f.endsWith('.js')).map((f) => join(ROOT, 'gateway/src', f)),
  ];
  for (const f of files) {
    const code = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    assert.doesNotMatch(code, /(?<![\w.])[45]\d\d(?![\w.])/, f);
  }
});
