// Layer 4: the coordinator's absence and outages. Without the binding a delta push is refused
// (delta_requires_coordinator) after the usual checks; with the coordinator unreachable, a
// cold isolate serves the KV copy under KV-only guarantees (said in GET and logged as an
// error), or, with KEYGATE_REQUIRE_COORDINATOR, answers 503 until it is back; pushes are
// refused (coordinator_unavailable), nothing is written.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

test('coordinator unreachable at a cold start: the KV copy and its published deltas under KV-only guarantees, said and logged; pushes refused', async () => {
  const cl = await cluster({ gateways: ['gw-a'], extra: [broken], coordinatorScript: 'broken', bindings: { KEYGATE_PUBLISHER_KEYS: PUB, KEYSET_REFRESH_SECONDS: '1' } });
  // As the coordinator publishes them: the last full set, and the deltas since (b revoked).
  await (await cl.kv()).put('keyset', V1);
  const chain = { base: { revision: 1, payloadSha256: payloadSha256(V1) }, deltas: [signed({ ...revoke(V1), changes: [{ op: 'revoke', id: 'b' }] })] };
  await (await cl.kv()).put('keyset/deltas', JSON.stringify(chain));
  const gw = await cl.gw('gw-a');
  assert.equal((await gw.fetch('/api/x', bearer(a.key))).status, 200);
  assert.equal((await gw.fetch('/api/x', bearer(b.key))).status, 401, 'the delta published to KV is applied too');
  const info = await (await gw.fetch('/.well-known/keygate/keyset')).json();
  assert.deepEqual([info.revision, info.mode], [2, 'kv_fallback']);
  const loud = cl.events('coordinator_fallback');
  assert.equal(loud.length, 1);
  assert.match(loud[0].message, /KV-only guarantees/);
  // A forged or invalid push is refused here, before the coordinator is asked.
  assert.deepEqual((await push(gw, JSON.stringify(set(3, [a.entry])))).body.error, 'envelope_invalid');
  assert.deepEqual((await push(gw, await joseSigned(JSON.stringify(set(3, [a.entry])), { key: OTHER_PUBLISHER }))).status, 401);
  const r = await push(gw, signed(set(3, [a.entry])));
  assert.deepEqual([r.status, r.body.error, r.headers.get('retry-after')], [503, 'coordinator_unavailable', '5']);
  assert.equal((await gw.fetch('/api/x', bearer(a.key))).status, 200, 'nothing applied');
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

test('back from an outage, an isolate that loaded the KV copy follows the coordinator, older or newer', async () => {
  const flaky = {
    name: 'flaky',
    modules: [{ type: 'ESModule', path: join(ROOT, 'tests/worker/fixtures/flaky-coordinator.mjs') }],
    compatibilityDate: '2026-11-01',
    kvNamespaces: { KEYGATE_KV: 'KEYGATE_KV' },
    durableObjects: {
      KEYGATE_COORDINATOR: { className: 'KeygateCoordinator', useSQLite: true },
      REAL: { className: 'KeygateCoordinator', scriptName: 'host', useSQLite: true },
    },
  };
  const persist = mkdtempSync(join(tmpdir(), 'keygate-flaky-'));
  after(() => rmSync(persist, { recursive: true, force: true }));
  const cl = await cluster({ persist, extra: [flaky], coordinatorScript: 'flaky', bindings: { KEYGATE_PUBLISHER_KEYS: PUB, KEYSET_REFRESH_SECONDS: '1' } });
  const kv = await cl.kv();
  const [gwA, gwB] = [await cl.gw('gw-a'), await cl.gw('gw-b')];
  // The coordinator holds revision 2 (b removed); KV holds revision 1 (b still there).
  assert.equal((await push(gwB, signed(set(2, [a.entry])))).status, 200);
  await new Promise((r) => setTimeout(r, 300)); // the coordinator's alarm publishes revision 2
  await kv.put('keyset', V1);
  await kv.put('test:down', '1');
  assert.equal((await gwA.fetch('/api/x', bearer(b.key))).status, 200, 'down: gw-a serves the older KV copy');
  assert.equal((await (await gwA.fetch('/.well-known/keygate/keyset')).json()).mode, 'kv_fallback');
  await kv.delete('test:down');
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal((await gwA.fetch('/api/x', bearer(b.key))).status, 200, 'the first request after the outage polls in the background');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await gwA.fetch('/api/x', bearer(b.key))).status, 401, 'back: the coordinator revision 2 is enforced');
  const info = await (await gwA.fetch('/.well-known/keygate/keyset')).json();
  assert.deepEqual([info.revision, info.mode], [2, 'coordinator']);
  // A newer set written straight into KV while the coordinator was down does not win either.
  const V3 = signed(set(3, [a.entry, b.entry]));
  await kv.put('keyset', V3);
  await kv.put('test:down', '1');
  await cl.restart();
  const cold = await cl.gw('gw-a');
  assert.equal((await (await cold.fetch('/.well-known/keygate/keyset')).json()).revision, 3, 'down: the KV copy, revision 3');
  await (await cl.kv()).delete('test:down');
  await new Promise((r) => setTimeout(r, 1100));
  await cold.fetch('/api/x', bearer(a.key));
  await new Promise((r) => setTimeout(r, 300));
  const back = await (await cold.fetch('/.well-known/keygate/keyset')).json();
  assert.deepEqual([back.revision, back.mode], [2, 'coordinator'], 'the coordinator order wins over a set it never took');
  assert.equal((await cold.fetch('/api/x', bearer(b.key))).status, 401);
  assert.ok(cl.events('keyset_reset').some((e) => e.from === 3 && e.revision === 2));
});
