// Layer 4: the coordinator's absence and outages. Without the binding a delta push is refused
// (delta_requires_coordinator) after the usual checks; with the coordinator unreachable, a
// cold isolate serves the KV copy under KV-only guarantees (said in GET and logged as an
// error), or, with KEYGATE_REQUIRE_COORDINATOR, answers 503 until it is back; pushes are
// refused (coordinator_unavailable), nothing is written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { generateApiKey } from 'keygate';
import { OTHER_PUBLISHER, PUBLISHER, bearer, gateway, joseSigned, payloadSha256, push, set, signed } from './helpers.mjs';
import { cluster } from './cluster.mjs';
import { ROOT } from '../js/helpers.mjs';

const PUB = PUBLISHER.signing.public_key;
const [a, b] = ['a', 'b'].map((id) => generateApiKey({ id }));
const V1 = signed(set(1, [a.entry, b.entry]));
const revoke = (base, sha = payloadSha256(base)) => ({
  keygate: 1,
  kind: 'delta',
  base: { revision: 1, payload_sha256: sha },
  revision: 2,
  payload_sha256: payloadSha256(signed(set(2, [a.entry]))),
  issued_at: set(2, []).issued_at,
  changes: [{ op: 'remove', id: 'b' }],
});

test('KV only: a delta is judged like any push, then refused with delta_requires_coordinator; the set stays', async () => {
  const gw = await gateway({ KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_KEYSET: V1 });
  const cases = [
    ['unsigned', JSON.stringify(revoke(V1)), 400, 'envelope_invalid'],
    ['signed by another key', await joseSigned(JSON.stringify(revoke(V1)), { key: OTHER_PUBLISHER }), 401, 'envelope_signature_invalid'],
    ['against another base', signed(revoke(V1, payloadSha256(signed(set(1, [a.entry]))))), 409, 'delta_base_mismatch'],
    ['valid', signed(revoke(V1)), 409, 'delta_requires_coordinator'],
  ];
  for (const [name, body, status, error] of cases) {
    const r = await push(gw, body);
    assert.deepEqual([r.status, r.body.error], [status, error], `${name}: ${r.body.message}`);
  }
  assert.equal((await gw.fetch('/api/x', bearer(b.key))).status, 200, 'nothing applied');
  assert.equal(await (await gw.kv()).get('keyset'), null, 'nothing stored');
  assert.equal((await (await gw.fetch('/.well-known/keygate/keyset')).json()).mode, 'kv');
});

const broken = {
  name: 'broken',
  modules: [{ type: 'ESModule', path: join(ROOT, 'tests/worker/fixtures/broken-coordinator.mjs') }],
  compatibilityDate: '2026-11-01',
  durableObjects: { KEYGATE_COORDINATOR: { className: 'KeygateCoordinator', useSQLite: true } },
};

test('coordinator unreachable at a cold start: the KV copy under KV-only guarantees, said and logged; pushes refused', async () => {
  const cl = await cluster({ gateways: ['gw-a'], extra: [broken], coordinatorScript: 'broken', bindings: { KEYGATE_PUBLISHER_KEYS: PUB, KEYSET_REFRESH_SECONDS: '1' } });
  await (await cl.kv()).put('keyset', V1);
  const gw = await cl.gw('gw-a');
  assert.equal((await gw.fetch('/api/x', bearer(b.key))).status, 200);
  const info = await (await gw.fetch('/.well-known/keygate/keyset')).json();
  assert.deepEqual([info.revision, info.mode], [1, 'kv_fallback']);
  const loud = cl.events('coordinator_fallback');
  assert.equal(loud.length, 1);
  assert.match(loud[0].message, /KV-only guarantees/);
  const r = await push(gw, signed(set(2, [a.entry])));
  assert.deepEqual([r.status, r.body.error, r.headers.get('retry-after')], [503, 'coordinator_unavailable', '5']);
  assert.equal((await gw.fetch('/api/x', bearer(b.key))).status, 200, 'nothing applied');
  assert.equal(await (await cl.kv()).get('keyset'), V1, 'nothing written');
});

test('KEYGATE_REQUIRE_COORDINATOR=true: a cold isolate answers 503 keyset_unavailable until the coordinator answers', async () => {
  const cl = await cluster({
    gateways: ['gw-a'],
    extra: [broken],
    coordinatorScript: 'broken',
    bindings: { KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_REQUIRE_COORDINATOR: 'true', KEYGATE_KEYSET: V1 },
  });
  const gw = await cl.gw('gw-a');
  const r = await gw.fetch('/api/x', bearer(a.key));
  assert.equal(r.status, 503);
  const body = await r.json();
  assert.equal(body.error, 'keyset_unavailable');
  assert.match(body.message, /coordinator is unreachable.*KEYGATE_REQUIRE_COORDINATOR/);
  assert.equal(cl.events('coordinator_fallback').length, 0);
});
