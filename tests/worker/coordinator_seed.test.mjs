// An empty coordinator seeded from KV with a sharded set's manifest (a new
// KEYGATE_COORDINATOR_NAME while KV holds what a former coordinator published). It was
// committed as a full set: the coordinator named no shard in use, so it served none (a shard
// missing from KV stayed 503 shard_unavailable), refused their upload (shard_not_staged) and
// answered a push of the same manifest 200 unchanged, leaving nothing to repair it with but a
// new revision. Now it is committed as a manifest: pushing it again lists the shards the
// coordinator lacks (409 shards_missing), they are taken as uploads, then served. And the
// deltas the former coordinator published on top of the set (KV `keyset/deltas`) are seeded
// too: seeding used to drop them, rolling back a revocation pushed as a delta.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateApiKey } from 'keygate';
import { ISSUED, PUBLISHER, bearer, eventually, payloadSha256, push, set, signed } from './helpers.mjs';
import { HANG_COORDINATOR, cluster } from './cluster.mjs';

const PUB = PUBLISHER.signing.public_key;
const CLI = process.env.KEYGATE ?? 'target/release/keygate';
const hash = (k) => `sha256:${createHash('sha256').update(k).digest('base64url')}`;
const dShard = (manifest, key) => manifest.shards.d[parseInt(createHash('sha256').update(key).digest('hex').slice(0, 2), 16) >> 5];

function cut(doc) {
  const dir = mkdtempSync(join(tmpdir(), 'keygate-seed-'));
  try {
    writeFileSync(join(dir, 'set.json'), JSON.stringify(doc));
    execFileSync(CLI, ['keyset', 'shard', join(dir, 'set.json'), '--out', join(dir, 'out'), '--bits', '3']);
    const manifest = JSON.parse(readFileSync(join(dir, 'out', 'manifest.json'), 'utf8'));
    const shas = [...manifest.shards.d, ...manifest.shards.i];
    const files = new Map(shas.map((sha) => [sha, readFileSync(join(dir, 'out', 'shards', `${sha}.json`))]));
    return { manifest, envelope: signed(manifest), files };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const upload = (gw, files) =>
  gw.fetch('/.well-known/keygate/keyset/shards', { method: 'PUT', body: Buffer.concat([...files.values()].flatMap((b) => [b, Buffer.from('\n')])) });

test('an empty coordinator seeded from a sharded manifest in KV holds it as a manifest: its shards are listed, taken and served', async () => {
  const keys = Array.from({ length: 120 }, (_, i) => ({ id: `s${i}`, api_key_hash: hash(`seed-key-${i}`) }));
  const { manifest, envelope, files } = cut(set(4, keys));
  const cl = await cluster({
    gateways: ['gw-old', { name: 'gw-new', bindings: { KEYGATE_COORDINATOR_NAME: 'keyset-2' } }],
    bindings: { KEYGATE_PUBLISHER_KEYS: PUB, KEYSET_REFRESH_SECONDS: '1' },
  });
  // Published through the first coordinator, which puts the manifest and its shards in KV.
  const old = await cl.gw('gw-old');
  assert.equal((await push(old, envelope)).status, 409);
  assert.equal((await upload(old, files)).status, 200);
  assert.equal((await push(old, envelope)).status, 200);
  const kv = await cl.kv();
  const published = async () => (await kv.get('keyset')) !== null && (await Promise.all([...files.keys()].map((s) => kv.get(`keyset/blob/${s}`)))).every((v) => v !== null);
  assert.ok(await eventually(published), 'the manifest and its shards are in KV');

  // A new coordinator name: its instance is empty, and the first isolate seeds it from KV.
  const gw = await cl.gw('gw-new');
  assert.equal((await gw.fetch('/api/x', bearer('seed-key-1'))).status, 200, 'served: the shard is read from KV');
  const info = await (await gw.fetch('/.well-known/keygate/keyset')).json();
  assert.deepEqual([info.revision, info.mode], [4, 'coordinator']);
  assert.ok(cl.events('keyset_loaded').some((e) => e.origin === 'seed'));
  const coordinator = (await cl.coordinator()).getByName('keyset-2');
  assert.equal((await coordinator.head()).revision, 4);

  // A shard KV lost: the coordinator does not hold it yet.
  const lost = dShard(manifest, 'seed-key-7');
  await kv.delete(`keyset/blob/${lost}`);
  assert.equal(await coordinator.readShard(lost), null);
  const missing = await gw.fetch('/api/x', bearer('seed-key-7'));
  assert.equal(missing.status, 503);

  // Pushing the manifest again says what the coordinator lacks (it used to answer 200).
  const again = await push(gw, envelope);
  assert.deepEqual([again.status, again.body.error, again.body.missing_count], [409, 'shards_missing', files.size], JSON.stringify(again.body));
  // The shards are taken (they used to be refused: shard_not_staged), and served.
  const up = await upload(gw, files);
  assert.equal(up.status, 200, await up.clone().text());
  assert.ok(await coordinator.readShard(lost), 'the coordinator serves the shard');
  const done = await push(gw, envelope);
  assert.deepEqual([done.status, done.body.changed], [200, false], JSON.stringify(done.body));
  assert.ok(await eventually(async () => (await gw.fetch('/api/x', bearer('seed-key-7'))).status === 200), 'the lost shard is read from the coordinator');
  assert.equal((await coordinator.head()).revision, 4, 'the same state throughout');
});

/** Keys a and b in a signed set at revision 1, and a signed delta to revision 2 removing b. */
function removalChain() {
  const [a, b] = ['a', 'b'].map((id) => generateApiKey({ id }));
  const V1 = signed(set(1, [a.entry, b.entry]));
  const removeB = signed({
    keygate: 1,
    kind: 'delta',
    base: { revision: 1, payload_sha256: payloadSha256(V1) },
    revision: 2,
    payload_sha256: payloadSha256(signed(set(2, [a.entry]))),
    issued_at: ISSUED,
    changes: [{ op: 'remove', id: 'b' }],
  });
  return { a, b, V1, removeB };
}

/** What a former coordinator published to KV: the full set and the delta since. */
async function publishInKv(kv, V1, removeB) {
  await kv.put('keyset', V1);
  await kv.put('keyset/deltas', JSON.stringify({ base: { revision: 1, payloadSha256: payloadSha256(V1) }, deltas: [removeB] }));
}

test('an empty coordinator seeded from KV takes the deltas published on top of that set: a revocation is not rolled back', async () => {
  const { a, b, V1, removeB } = removalChain();
  const cl = await cluster({ bindings: { KEYGATE_PUBLISHER_KEYS: PUB, KEYSET_REFRESH_SECONDS: '1' } });
  // What a former coordinator published: the full set, and the delta since.
  const kv = await cl.kv();
  await publishInKv(kv, V1, removeB);
  const gwA = await cl.gw('gw-a');
  assert.equal((await gwA.fetch('/api/x', bearer(a.key))).status, 200);
  assert.equal((await gwA.fetch('/api/x', bearer(b.key))).status, 401, 'the seeding isolate serves the delta');
  const head = await (await cl.coordinator()).getByName('keyset').head();
  assert.deepEqual([head.revision, head.base.revision, head.deltas], [2, 1, 1], 'the coordinator holds the set and the delta');
  const gwB = await cl.gw('gw-b');
  assert.equal((await gwB.fetch('/api/x', bearer(b.key))).status, 401, 'another isolate follows the coordinator: b stays removed');
  const info = await (await gwB.fetch('/.well-known/keygate/keyset')).json();
  assert.deepEqual([info.revision, info.mode], [2, 'coordinator']);
});

// A seed cut short: the seeding isolate committed the set, then gave up on (or never got to)
// committing the deltas published on top of it (a commit that did not answer within the
// storage bound; an isolate evicted in between). The coordinator then held the set without the
// delta, other isolates followed it (a key revoked by the delta was served again) and its own
// publication replaced the chain in KV, so nothing brought the revocation back. The set and its
// deltas are one commit: the coordinator holds all of it or nothing.
async function revokedInKv() {
  const { a, b, V1, removeB } = removalChain();
  const cl = await cluster({
    coordinatorScript: 'hang',
    extra: [HANG_COORDINATOR],
    bindings: { KEYGATE_PUBLISHER_KEYS: PUB, KEYSET_REFRESH_SECONDS: '1', KEYGATE_STORAGE_TIMEOUT_SECONDS: '1' },
  });
  const kv = await cl.kv();
  await publishInKv(kv, V1, removeB);
  const control = await cl.mf.getWorker('hang');
  const fixture = async (path) => (await control.fetch(`http://hang.test${path}`)).json();
  const head = async () => (await (await cl.coordinator()).getByName('keyset').head())?.revision ?? null;
  const kvChain = async () => JSON.parse(await kv.get('keyset/deltas')).deltas.length;
  return { a, b, cl, fixture, head, kvChain };
}

test('a seed whose delta commit never answers leaves no coordinator behind the KV chain: the revocation stays', async () => {
  const { a, b, cl, fixture, head, kvChain } = await revokedInKv();
  // The first commit (the seed's set) goes through; any later one never answers.
  await fixture('/hang?methods=commit&after=1');
  const gwA = await cl.gw('gw-a');
  assert.equal((await gwA.fetch('/api/x', bearer(a.key))).status, 200);
  assert.equal((await gwA.fetch('/api/x', bearer(b.key))).status, 401, 'the seeding isolate keeps the delta');
  assert.notEqual(await head(), 1, 'the coordinator never holds the set without its delta');
  const gwB = await cl.gw('gw-b');
  assert.equal((await gwB.fetch('/api/x', bearer(b.key))).status, 401, 'another isolate: b stays removed');
  await new Promise((r) => setTimeout(r, 300)); // (the coordinator's publication, if any)
  assert.equal(await kvChain(), 1, 'the chain in KV still holds the delta');
  await fixture('/release');
});

test('a seed that never answers, then lands late, lands whole', async () => {
  const { a, b, cl, fixture, head, kvChain } = await revokedInKv();
  await fixture('/hang?methods=commit');
  const gwA = await cl.gw('gw-a');
  const started = Date.now();
  assert.equal((await gwA.fetch('/api/x', bearer(b.key))).status, 401, 'served from KV meanwhile, with the delta');
  assert.ok(Date.now() - started < 4000, 'within the bound');
  assert.equal((await gwA.fetch('/api/x', bearer(a.key))).status, 200);
  assert.equal(await head(), null, 'nothing committed yet');
  await fixture('/release');
  assert.equal(await eventually(head), 2, 'the late seed is the set and its delta');
  const gwB = await cl.gw('gw-b');
  assert.equal((await gwB.fetch('/api/x', bearer(b.key))).status, 401, 'another isolate follows the coordinator: b stays removed');
  assert.ok(await eventually(async () => (await (await gwA.fetch('/.well-known/keygate/keyset')).json()).mode === 'coordinator'), 'the seeding isolate follows it again');
  assert.equal((await gwA.fetch('/api/x', bearer(b.key))).status, 401);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await kvChain(), 1, 'the chain in KV still holds the delta');
});

test('a seed whose deltas do not chain is refused whole: the coordinator stays empty', async () => {
  const [a, b] = ['a', 'b'].map((id) => generateApiKey({ id }));
  const V1 = signed(set(1, [a.entry, b.entry]));
  const cl = await cluster({ gateways: [] });
  const coordinator = (await cl.coordinator()).getByName('keyset-direct');
  const bytes = new TextEncoder().encode(V1);
  const base = { kind: 'full', revision: 1, payloadSha256: payloadSha256(V1), base: null, bytes };
  const delta = (revision, from) => ({ kind: 'delta', revision, payloadSha256: 'B'.repeat(43), base: from, bytes: new TextEncoder().encode('{}') });
  const wrong = await coordinator.commit(base, { seed: true, deltas: [delta(2, { revision: 1, payloadSha256: 'A'.repeat(43) })] });
  assert.equal(wrong.error, 'delta_base_mismatch', JSON.stringify(wrong));
  assert.equal(await coordinator.head(), null, 'nothing of the seed was kept');
  const unseeded = await coordinator.commit(base, { deltas: [delta(2, { revision: 1, payloadSha256: base.payloadSha256 })] }).then(() => null, (e) => e);
  // (Miniflare's proxy in Node does not carry the TypeError's message: it rejects, that is all)
  assert.ok(unseeded instanceof Error, 'deltas only with a seed');
  assert.equal(await coordinator.head(), null);
  const ok = await coordinator.commit(base, { seed: true, deltas: [delta(2, { revision: 1, payloadSha256: base.payloadSha256 })] });
  assert.deepEqual([ok.changed, ok.revision], [true, 2], JSON.stringify(ok));
  const head = await coordinator.head();
  assert.deepEqual([head.revision, head.base.revision, head.deltas], [2, 1, 1]);
});
