// Storage writes of the key set endpoint that do not answer (tests/vectors/push/hung_writes.json),
// in workerd: the push target's KV write (a user's Worker, fixtures/hang-store.mjs), the
// coordinator's commit and a shard upload (a coordinator whose named calls wait until released,
// fixtures/hang-coordinator.mjs). Each is answered 504 keyset_store_timeout within the storage
// bound, the push slot is free at once, and once storage answers the same push or upload is
// accepted. A late write never moves a set back: a KV write landing over a newer set written
// since is undone, a late commit is refused by the coordinator's revision check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';
import { generateApiKey } from 'keygate';
import { KV_ID, PUBLISHER, bearer, bundleFixture, eventually, push, set, signed } from './helpers.mjs';
import { HANG_COORDINATOR, cluster } from './cluster.mjs';
import { ROOT } from '../js/helpers.mjs';

const VECTORS = JSON.parse(readFileSync(join(ROOT, 'tests/vectors/push/hung_writes.json'), 'utf8'));
const SECONDS = VECTORS.storage_timeout_seconds;
const PUB = PUBLISHER.signing.public_key;
const CLI = process.env.KEYGATE ?? 'target/release/keygate';
const keys = ['a', 'b', 'c', 'd'].map((id) => generateApiKey({ id }));
const hash = (k) => `sha256:${createHash('sha256').update(k).digest('base64url')}`;
const SHARDED_KEYS = Array.from({ length: 100 }, (_, i) => ({ id: `k${i}`, api_key_hash: hash(`hung-write-${i}`) }));
const caseOf = (hang) => VECTORS.cases.find((c) => c.hang === hang);

/** A sharded set of revision `revision` cut by `keygate keyset shard`: its signed manifest and the upload body. */
function cut(revision) {
  const dir = mkdtempSync(join(tmpdir(), 'keygate-hung-writes-'));
  try {
    writeFileSync(join(dir, 'set.json'), JSON.stringify(set(revision, SHARDED_KEYS)));
    execFileSync(CLI, ['keyset', 'shard', join(dir, 'set.json'), '--out', join(dir, 'out'), '--bits', '3']);
    const manifest = JSON.parse(readFileSync(join(dir, 'out', 'manifest.json'), 'utf8'));
    const shas = [...manifest.shards.d, ...manifest.shards.i];
    const body = Buffer.concat(shas.flatMap((sha) => [readFileSync(join(dir, 'out', 'shards', `${sha}.json`)), Buffer.from('\n')]));
    return { envelope: signed(manifest), body, count: shas.length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function answer(res) {
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

/** Runs `action` and checks its answer against the vector's `expect`, within `within_ms`. */
async function bounded(c, action) {
  const started = Date.now();
  const a = await action();
  const took = Date.now() - started;
  assert.deepEqual([a.status, a.body.error], [c.expect.status, c.expect.error], `${c.name}: ${JSON.stringify(a.body)}`);
  for (const [k, v] of Object.entries(c.expect.fields)) assert.equal(a.body[k], v, `${c.name}: ${k}`);
  assert.match(a.body.message, /unknown/, `${c.name}: the outcome is said to be unknown`);
  assert.ok(took >= SECONDS * 1000 - 50 && took <= c.within_ms, `${c.name}: answered after ${took} ms`);
  const again = await action();
  assert.deepEqual([again.status, again.body.error], [c.while_hung.status, c.while_hung.error], `${c.name}: while hung, not push_in_progress`);
}

function subset(c, body) {
  for (const [k, v] of Object.entries(c.after_release.body)) assert.deepEqual(body[k], v, `${c.name}: after release, ${k}`);
}

/** The user's Worker of fixtures/hang-store.mjs, with a KV namespace, in a fresh isolate. */
async function storeWorker(bindings) {
  const logs = [];
  const mf = new Miniflare(convertV4MiniflareOptions({
    ...(await bundleFixture('hang-store')),
    kvNamespaces: { KEYGATE_KV: KV_ID },
    bindings,
    handleStructuredLogs: ({ message }) => logs.push(message),
  }));
  await mf.ready;
  const fetch = (path, init) => mf.dispatchFetch(`http://gw.test${path}`, init);
  const control = async (query = '') => (await fetch(`/control${query}`)).json();
  const stored = async () => {
    const text = await (await mf.getKVNamespace('KEYGATE_KV')).get('keyset');
    return text && JSON.parse(Buffer.from(JSON.parse(text).payload, 'base64url')).revision;
  };
  const events = (name) => logs.filter((m) => m.startsWith('{')).map((m) => JSON.parse(m)).filter((l) => l.event === `keygate.${name}`);
  return { mf, fetch, control, stored, events };
}

test('KV write of a push that does not answer: 504 within the bound, the slot free, the same envelope again is written; a late write over a newer set is undone', { timeout: 60_000 }, async () => {
  const c = caseOf('store');
  const gw = await storeWorker({ KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_KEYSET: signed(set(1, [keys[0].entry])), KEYGATE_STORAGE_TIMEOUT_SECONDS: String(SECONDS) });
  try {
    const v2 = signed(set(2, [keys[0].entry, keys[1].entry]));
    await gw.control(`?hold=2&delay=${c.delay_ms}`);
    await bounded(c, () => push(gw, v2));
    assert.equal((await gw.fetch('/api/x', bearer(keys[1].key))).status, 200, 'the accepted set is in use in this isolate');
    assert.ok(await eventually(async () => (await gw.control()).writes.landed === 2, c.delay_ms + 3000), 'the held writes landed late');
    const r = await push(gw, v2);
    assert.equal(r.status, c.after_release.status, JSON.stringify(r.body));
    subset(c, r.body);
    assert.equal((await gw.control()).writes.began, 3, 'the same envelope again was written: its first writes had timed out');
    assert.equal(await gw.stored(), c.stored_revision);
    assert.ok(gw.events('keyset_store_timeout').some((l) => l.revision === 2 && l.timeout_seconds === SECONDS));

    // Revision 3's write lands only after revision 4 was written: 4 is written again.
    await gw.control('?hold=1&delay=2500');
    assert.equal((await push(gw, signed(set(3, [keys[2].entry])))).status, 504);
    assert.equal((await push(gw, signed(set(4, [keys[3].entry])))).status, 200, 'the next push is accepted (not 429)');
    assert.equal(await gw.stored(), 4);
    assert.ok(await eventually(() => gw.events('keyset_store_late').some((l) => l.revision === 3 && l.landed === true && l.newest_revision === 4), 6000), 'the late write landed');
    assert.ok(await eventually(async () => (await gw.stored()) === 4, 3000), 'revision 4 is what KV holds in the end');
    assert.equal((await gw.control()).writes.began, 6);
  } finally {
    await gw.mf.dispose();
  }
});

test('coordinator commit that does not answer: 504 within the bound, nothing queued behind it; once it lands the same push is accepted unchanged; a late commit never moves the set back', { timeout: 60_000 }, async () => {
  const c = caseOf('commit');
  const cl = await cluster({
    coordinatorScript: 'hang',
    extra: [HANG_COORDINATOR],
    gateways: ['gw-a', 'gw-b'],
    bindings: { KEYGATE_PUBLISHER_KEYS: PUB, KEYSET_REFRESH_SECONDS: '1', KEYGATE_STORAGE_TIMEOUT_SECONDS: String(SECONDS) },
  });
  const control = await cl.mf.getWorker('hang');
  const fixture = async (path) => (await control.fetch(`http://hang.test${path}`)).json();
  const gw = await cl.gw('gw-a');
  assert.equal((await push(gw, signed(set(1, [keys[0].entry])))).status, 200);
  const v2 = signed(set(2, [keys[0].entry, keys[1].entry]));
  await fixture('/hang?methods=commit');
  await bounded(c, () => push(gw, v2));
  assert.equal((await gw.fetch('/api/x', bearer(keys[1].key))).status, 401, 'the set in use is unchanged');
  assert.equal((await fixture('/state')).waiting, 2, 'both commits are still pending at the coordinator');
  await fixture('/release');
  const r = await eventually(async () => {
    const a = await push(gw, v2);
    return a.status === c.after_release.status ? a : null;
  });
  assert.ok(r, 'accepted once the coordinator answers');
  subset(c, r.body);
  assert.equal((await gw.fetch('/api/x', bearer(keys[1].key))).status, 200);
  assert.equal((await (await gw.fetch('/.well-known/keygate/keyset')).json()).revision, c.stored_revision);

  // Revision 3's commit is held; revision 4's passes; then 3's lands late: refused there.
  await fixture('/hang?methods=commit');
  assert.equal((await push(gw, signed(set(3, [keys[2].entry])))).status, 504);
  await fixture('/hang?methods=commit&after=1');
  const v4 = await push(gw, signed(set(4, [keys[3].entry])));
  assert.deepEqual([v4.status, v4.body.revision], [200, 4]);
  await fixture('/release');
  assert.ok(await eventually(async () => (await fixture('/state')).waiting === 0));
  await new Promise((resolve) => setTimeout(resolve, 1500)); // a poll after the late commit
  const head = await (await cl.coordinator()).getByName('keyset').head();
  assert.equal(head.revision, 4, 'the late commit of revision 3 was refused');
  for (const name of ['gw-a', 'gw-b']) {
    const g = await cl.gw(name);
    assert.equal((await (await g.fetch('/.well-known/keygate/keyset')).json()).revision, 4, name);
    assert.equal((await g.fetch('/api/x', bearer(keys[3].key))).status, 200, name);
  }
});

test('shard upload that does not answer: 504 within the bound; once it lands the same upload is accepted and the manifest commits', { timeout: 60_000 }, async () => {
  const c = caseOf('putShards');
  const { envelope, body, count } = cut(c.stored_revision);
  const cl = await cluster({
    kv: false,
    coordinatorScript: 'hang',
    extra: [HANG_COORDINATOR],
    gateways: ['gw-a'],
    bindings: { KEYGATE_PUBLISHER_KEYS: PUB, KEYSET_REFRESH_SECONDS: '1', KEYGATE_STORAGE_TIMEOUT_SECONDS: String(SECONDS) },
  });
  const control = await cl.mf.getWorker('hang');
  const fixture = async (path) => (await control.fetch(`http://hang.test${path}`)).json();
  const gw = await cl.gw('gw-a');
  assert.equal((await push(gw, envelope)).status, 409, 'shards_missing first');
  const upload = async () => answer(await gw.fetch('/.well-known/keygate/keyset/shards', { method: 'PUT', body }));
  await fixture('/hang?methods=putShards');
  await bounded(c, upload);
  await fixture('/release');
  const r = await eventually(async () => {
    const a = await upload();
    return a.status === c.after_release.status ? a : null;
  });
  assert.ok(r, 'accepted once the coordinator answers');
  subset(c, r.body);
  assert.equal(r.body.known, count, 'every shard was stored by the late upload');
  const done = await push(gw, envelope);
  assert.deepEqual([done.status, done.body.revision], [200, c.stored_revision]);
  assert.equal((await gw.fetch('/api/x', bearer('hung-write-7'))).status, 200);
});
