// Layer 4: the coordinator in workerd. Gateway isolates (separate V8 isolates: checked) share
// one KeygateCoordinator: a revocation pushed at one is enforced by another within the
// refresh interval + 1 s; concurrent pushes are serialized; an older envelope written into KV
// never wins over the coordinator, also after a restart; deltas apply, a delta against another
// base is refused, an isolate that missed deltas loads the base.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateApiKey, signKeySet } from 'keygate';
import { OTHER_PUBLISHER, PUBLISHER, bearer, payloadSha256, push, set, signed } from './helpers.mjs';
import { cluster } from './cluster.mjs';

const PUB = PUBLISHER.signing.public_key;
const [a, b, c] = ['a', 'b', 'c'].map((id) => generateApiKey({ id }));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The status of a bearer request with `key` at gateway `gw`. */
const status = async (gw, key) => (await gw.fetch('/api/x', bearer(key))).status;
const info = async (gw) => (await gw.fetch('/.well-known/keygate/keyset')).json();

/** A signed delta turning the set of envelope `from` into `to` (an object, as it would be signed). */
function delta(from, to, changes) {
  const target = signed(to);
  return {
    envelope: signed({
      keygate: 1,
      kind: 'delta',
      base: { revision: JSON.parse(Buffer.from(JSON.parse(from).payload, 'base64url')).revision, payload_sha256: payloadSha256(from) },
      revision: to.revision,
      payload_sha256: payloadSha256(target),
      issued_at: to.issued_at,
      changes,
    }),
    target,
  };
}

const V1 = signed(set(1, [a.entry, b.entry]));

test('two gateways are two isolates; a revocation pushed at one is enforced by the other within the refresh interval + 1 s', async (t) => {
  const cl = await cluster({ bindings: { KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_KEYSET: V1, KEYSET_REFRESH_SECONDS: '1' } });
  const [gwA, gwB] = [await cl.gw('gw-a'), await cl.gw('gw-b')];
  const targets = await cl.isolates();
  assert.ok(targets.includes('core:user:gw-a') && targets.includes('core:user:gw-b'), `one inspector target per isolate: ${targets}`);
  assert.equal(await status(gwA, b.key), 200);
  assert.equal(await status(gwB, b.key), 200);
  // The first isolate seeded the coordinator with the set of its source (the var).
  const i = await info(gwB);
  assert.deepEqual([i.revision, i.mode], [1, 'coordinator']);
  assert.equal((await (await cl.coordinator()).getByName('keyset').head()).revision, 1);

  const { envelope } = delta(V1, set(2, [a.entry, { ...b.entry, status: 'revoked' }]), [{ op: 'revoke', id: 'b' }]);
  const r = await push(gwA, envelope);
  assert.deepEqual([r.status, r.body], [200, { revision: 2, keys: 2, changed: true }]);
  const pushed = Date.now();
  assert.equal(await status(gwA, b.key), 401, 'the pushing isolate enforces it at once');
  // One interval after the push answered, the other isolate's next request waits for its poll.
  await sleep(1000 - (Date.now() - pushed));
  const t0 = Date.now();
  assert.equal(await status(gwB, b.key), 401, 'enforced by the other isolate');
  const bound = Date.now() - pushed;
  assert.ok(bound <= 1000 + 1000, `enforced ${bound} ms after the push (interval 1 s + 1 s)`);
  assert.ok(Date.now() - t0 < 1000, 'that request waited less than 1 s');
  t.diagnostic(`refused by the other isolate ${bound} ms after the push answered (that request: ${Date.now() - t0} ms)`);
  assert.equal(await status(gwB, a.key), 200);
  // (Logs are one stream: gw-a applied the push itself, origin "push".)
  const polled = cl.events('keyset_updated').filter((e) => e.origin === 'coordinator');
  assert.deepEqual(polled.map((e) => [e.revision, e.kind]), [[2, 'delta']]);
});

test('without a due poll, the other isolate still serves its state: module state is per isolate', async () => {
  const cl = await cluster({ bindings: { KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_KEYSET: V1, KEYSET_REFRESH_SECONDS: '60' } });
  const [gwA, gwB] = [await cl.gw('gw-a'), await cl.gw('gw-b')];
  assert.equal(await status(gwA, b.key), 200);
  assert.equal(await status(gwB, b.key), 200);
  assert.equal((await push(gwA, signed(set(2, [a.entry])))).status, 200);
  assert.equal(await status(gwA, b.key), 401);
  assert.equal(await status(gwB, b.key), 200, 'gw-b has not polled yet (60 s interval)');
});

test('concurrent pushes through four isolates are serialized by the coordinator: one state per revision', async () => {
  const gateways = ['gw-a', 'gw-b', 'gw-c', 'gw-d'];
  const cl = await cluster({ gateways, bindings: { KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_KEYSET: V1, KEYSET_REFRESH_SECONDS: '60' } });
  const gws = await Promise.all(gateways.map((g) => cl.gw(g)));
  for (const gw of gws) assert.equal(await status(gw, a.key), 200);
  const v2 = signed(set(2, [a.entry, c.entry]));
  const v3 = signed(set(3, [c.entry]));
  const v3other = signed(set(3, [b.entry]));
  const answers = await Promise.all([push(gws[0], v2), push(gws[1], v3), push(gws[2], v3other), push(gws[3], v3)]);
  for (const r of answers) assert.ok(r.status === 200 || r.status === 409, JSON.stringify(r.body));
  const head = await (await cl.coordinator()).getByName('keyset').head();
  assert.equal(head.revision, 3);
  const won = head.payloadSha256 === payloadSha256(v3) ? 'v3' : 'v3other';
  assert.ok(head.payloadSha256 === payloadSha256(won === 'v3' ? v3 : v3other));
  // The loser of revision 3 is a rollback; every 409 names the revision in use.
  const loser = won === 'v3' ? answers[2] : answers[1];
  assert.deepEqual([loser.status, loser.body.error], [409, 'keyset_rollback']);
  for (const r of answers.filter((x) => x.status === 409)) assert.ok(r.body.current_revision >= 2);
  assert.deepEqual((await cl.sql("SELECT v FROM meta WHERE k = 'revision'")).map((x) => x.v), [3], 'the high-water row');
  // Every isolate converges on the coordinator's revision 3.
  for (const gw of gws) {
    const p = await push(gw, won === 'v3' ? v3 : v3other); // a push syncs first: unchanged
    assert.deepEqual([p.status, p.body.revision, p.body.changed], [200, 3, false]);
    assert.equal((await info(gw)).payload_sha256, head.payloadSha256);
  }
});

test('an older envelope written into KV never wins over the coordinator, after a restart and an eviction too', async () => {
  const persist = mkdtempSync(join(tmpdir(), 'keygate-coord-'));
  try {
    const cl = await cluster({ persist, bindings: { KEYGATE_PUBLISHER_KEYS: PUB, KEYSET_REFRESH_SECONDS: '60' } });
    const gwA = await cl.gw('gw-a');
    assert.equal(await status(gwA, a.key), 503, 'nothing anywhere yet');
    assert.equal((await push(gwA, V1)).status, 200, 'the first push seeds the coordinator');
    const v2 = signed(set(2, [a.entry]));
    assert.equal((await push(gwA, v2)).status, 200);
    await sleep(300); // the coordinator's alarm publishes to KV
    const kv = await cl.kv();
    assert.equal(await kv.get('keyset'), v2, 'published for cold starts and KV-only readers');
    // Someone writes the older envelope (b still works there) everywhere a cold start could look.
    await kv.put('keyset', V1);
    await kv.put(`keyset/blob/${payloadSha256(v2)}`, V1);
    await cl.restart();
    for (const name of ['gw-a', 'gw-b']) {
      const gw = await cl.gw(name);
      assert.equal(await status(gw, b.key), 401, `${name} after the restart follows the coordinator`);
      assert.deepEqual([(await info(gw)).revision, (await info(gw)).mode], [2, 'coordinator']);
    }
    assert.ok(cl.events('coordinator_blob_mismatch').length >= 1, 'the tampered KV copy was noticed');
    // A push of the older envelope is a rollback, whatever KV holds.
    const r = await push(await cl.gw('gw-b'), V1);
    assert.deepEqual([r.status, r.body.error, r.body.current_revision], [409, 'keyset_rollback', 2]);
    await cl.evict();
    const cold = await cl.gw('gw-b');
    assert.equal((await push(cold, V1)).status, 409, 'the evicted coordinator reloads its mark from storage');
  } finally {
    rmSync(persist, { recursive: true, force: true });
  }
});

test('deltas: applied everywhere; another base is refused with the state in use; a missed delta loads the base; the chain is bounded', async () => {
  const cl = await cluster({ bindings: { KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_KEYSET: V1, KEYSET_REFRESH_SECONDS: '1', KEYGATE_DELTA_CHAIN_MAX: '2' } });
  const [gwA, gwB] = [await cl.gw('gw-a'), await cl.gw('gw-b')];
  assert.equal(await status(gwA, a.key), 200);
  assert.equal(await status(gwB, a.key), 200);
  const s2 = set(2, [a.entry, b.entry, c.entry]);
  const d2 = delta(V1, s2, [{ op: 'add', key: c.entry }]);
  assert.equal(d2.envelope.length <= 2048, true, `a one-key delta envelope: ${d2.envelope.length} bytes`);
  assert.deepEqual(await push(gwA, d2.envelope).then((r) => [r.status, r.body]), [200, { revision: 2, keys: 3, changed: true }]);
  assert.deepEqual((await push(gwA, d2.envelope)).body, { revision: 2, keys: 3, changed: false }, 'the same delta again');
  // A delta made against revision 1 again: another base.
  const stale = delta(V1, set(3, [a.entry]), [{ op: 'remove', id: 'b' }]);
  const r = await push(gwA, stale.envelope);
  assert.deepEqual([r.status, r.body.error, r.body.current_revision, r.body.current_payload_sha256], [409, 'delta_base_mismatch', 2, payloadSha256(d2.target)]);
  assert.equal(await status(gwA, b.key), 200, 'nothing changed');
  // gw-b idles while a delta, a full set and another delta go by; its next poll loads the base.
  await sleep(1100);
  assert.equal(await status(gwB, c.key), 200, 'gw-b has revision 2');
  const s3 = set(3, [a.entry, b.entry, c.entry], { issued_at: s2.issued_at });
  const d3 = delta(d2.target, { ...s3, keys: [a.entry, { ...b.entry, status: 'disabled' }, c.entry] }, [{ op: 'disable', id: 'b' }]);
  assert.equal((await push(gwA, d3.envelope)).status, 200);
  const v4 = signed(set(4, [a.entry, b.entry]));
  assert.equal((await push(gwA, v4)).status, 200);
  const d5 = delta(v4, set(5, [b.entry]), [{ op: 'remove', id: 'a' }]);
  assert.equal((await push(gwA, d5.envelope)).status, 200);
  const d6 = delta(d5.target, set(6, [b.entry, c.entry]), [{ op: 'add', key: c.entry }]);
  assert.equal((await push(gwA, d6.envelope)).status, 200);
  const d7 = delta(d6.target, set(7, [c.entry]), [{ op: 'remove', id: 'b' }]);
  const full = await push(gwA, d7.envelope);
  assert.deepEqual([full.status, full.body.error], [409, 'delta_chain_full'], 'two deltas since the full set: the bound');
  await sleep(1100);
  assert.equal(await status(gwB, a.key), 401, 'gw-b enforces revision 6: a removed');
  assert.equal(await status(gwB, c.key), 200);
  assert.deepEqual([(await info(gwB)).revision, (await info(gwB)).payload_sha256], [6, payloadSha256(d6.target)]);
  assert.ok(cl.events('keyset_updated').some((e) => e.revision === 4 && e.origin === 'coordinator'), 'the base was loaded');
});

test('a new publisher key: the set the coordinator holds no longer verifies; a full set signed by the new key replaces it', async () => {
  const persist = mkdtempSync(join(tmpdir(), 'keygate-rotate-'));
  try {
    const first = await cluster({ persist, bindings: { KEYGATE_PUBLISHER_KEYS: PUB } });
    assert.equal((await push(await first.gw('gw-a'), signed(set(5, [a.entry, b.entry])))).status, 200);
    await first.dispose();
    // Redeployed pinning only the new publisher key.
    const cl = await cluster({ persist, bindings: { KEYGATE_PUBLISHER_KEYS: OTHER_PUBLISHER.signing.public_key } });
    const [gwA, gwB] = [await cl.gw('gw-a'), await cl.gw('gw-b')];
    assert.equal(await status(gwA, a.key), 503, 'nothing here verifies');
    assert.ok(cl.events('keyset_rejected').some((e) => e.origin === 'coordinator' && e.code === 'ERR_ENVELOPE_SIGNATURE'));
    const older = await push(gwA, signKeySet(set(4, [a.entry]), OTHER_PUBLISHER.key));
    assert.deepEqual([older.status, older.body.error, older.body.current_revision], [409, 'keyset_rollback', 5], 'the mark stays');
    assert.equal((await push(gwA, signKeySet(set(6, [a.entry]), OTHER_PUBLISHER.key))).status, 200);
    assert.equal(await status(gwA, a.key), 200);
    assert.equal(await status(gwB, b.key), 401);
    assert.equal(await status(gwB, a.key), 200);
  } finally {
    rmSync(persist, { recursive: true, force: true });
  }
});
