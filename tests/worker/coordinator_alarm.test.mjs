// The coordinator's own storage calls that never answer, in workerd (fixtures/hang-alarm.mjs:
// the gateway, its coordinator's KV writes and setAlarm held on demand). The alarm publishes
// accepted updates to KV; a commit and a nonce claim set alarms. Each of these calls waits at
// most the storage bound (KEYGATE_STORAGE_TIMEOUT_SECONDS): before, a KV write of the alarm that
// never answered held the alarm for good (no later update reached KV: cold isolates and the KV
// fallback stayed on the old set), and a setAlarm that never answered held the commit's answer
// (the push got 504 though the commit had landed). A KV write that lands late, after a newer
// set was published, is undone by publishing the newest again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';
import { generateApiKey } from 'keygate';
import { KV_ID, PUBLISHER, bundleFixture, eventually, push, set, signed } from './helpers.mjs';

const keys = ['a', 'b', 'c'].map((id) => generateApiKey({ id }));
const BOUND_SECONDS = 1;

/** The gateway of fixtures/hang-alarm.mjs with its coordinator, in a fresh workerd. */
async function start() {
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      ...(await bundleFixture('hang-alarm')),
      kvNamespaces: { KEYGATE_KV: KV_ID },
      durableObjects: { KEYGATE_COORDINATOR: { className: 'KeygateCoordinator', useSQLite: true } },
      bindings: {
        KEYGATE_PUBLISHER_KEYS: PUBLISHER.signing.public_key,
        KEYGATE_KEYSET: signed(set(1, [keys[0].entry])),
        KEYGATE_STORAGE_TIMEOUT_SECONDS: String(BOUND_SECONDS),
        KEYSET_REFRESH_SECONDS: '1',
      },
      handleStructuredLogs: ({ message }) => process.env.ALARM_LOGS && console.log(message),
    }),
  );
  await mf.ready;
  const gw = { fetch: (path, init) => mf.dispatchFetch(`http://gw.test${path}`, init) };
  const control = async (query = '') => (await gw.fetch(`/control${query}`)).json();
  /** The revision KV holds under `keyset` (what cold isolates and the KV fallback load). */
  const stored = async () => {
    const text = await (await mf.getKVNamespace('KEYGATE_KV')).get('keyset');
    return text && JSON.parse(Buffer.from(JSON.parse(text).payload, 'base64url').toString()).revision;
  };
  return { mf, gw, control, stored };
}

test('a KV write of the alarm that never answers: later updates still reach KV; when it lands late, the newest is published again', { timeout: 60_000 }, async (t) => {
  const { mf, gw, control, stored } = await start();
  t.after(() => mf.dispose());
  assert.equal((await push(gw, signed(set(2, [keys[1].entry])))).status, 200);
  assert.equal(await eventually(stored), 2, 'published');
  await control('?hold=keyset');
  assert.equal((await push(gw, signed(set(3, [keys[2].entry])))).status, 200);
  assert.deepEqual(await eventually(async () => (await control()).held.length === 1 && (await control()).held), ['keyset'], "the alarm's write of revision 3 is held");
  // The held write is given up at the bound; the alarm runs again and writes revision 3.
  assert.equal(await eventually(async () => (await stored()) === 3 && 3, 15_000), 3, 'revision 3 reached KV while the first write of it hangs');
  assert.equal((await push(gw, signed(set(4, [keys[0].entry, keys[2].entry])))).status, 200);
  assert.equal(await eventually(async () => (await stored()) === 4 && 4, 15_000), 4, 'and so did revision 4');
  await control('?release'); // revision 3's first write lands now, over revision 4
  const landed = await eventually(async () => {
    const { log } = await control();
    const late = log.findIndex(([k, r], i) => k === 'keyset' && r === 3 && log.slice(0, i).some(([k2, r2]) => k2 === 'keyset' && r2 === 4));
    return late >= 0 && log.slice(late + 1).some(([k, r]) => k === 'keyset' && r === 4) && log;
  }, 15_000);
  assert.ok(landed, `revision 4 written again after revision 3 landed late: ${JSON.stringify((await control()).log)}`);
  assert.equal(await stored(), 4);
});

test('a setAlarm that never answers: the commit is answered at once; the publication follows once it answers', { timeout: 60_000 }, async (t) => {
  const { mf, gw, control, stored } = await start();
  t.after(() => mf.dispose());
  assert.equal((await push(gw, signed(set(2, [keys[1].entry])))).status, 200);
  assert.equal(await eventually(stored), 2);
  await control('?hold=setAlarm');
  const started = Date.now();
  const r = await push(gw, signed(set(3, [keys[2].entry])));
  const took = Date.now() - started;
  assert.deepEqual([r.status, r.body], [200, { revision: 3, keys: 1, changed: true }], 'not 504: the commit landed');
  assert.ok(took < BOUND_SECONDS * 1000, `answered after ${took} ms`);
  assert.deepEqual((await control()).held, ['setAlarm']);
  assert.equal(await stored(), 2, 'not published while the alarm is not set');
  await control('?release');
  assert.equal(await eventually(async () => (await stored()) === 3 && 3), 3, 'published once setAlarm answered');
});

test('a KV write that keeps not answering: the alarm runs again, but leaves at most two writes of a key unanswered (each holds the set)', { timeout: 90_000 }, async (t) => {
  const { mf, gw, control, stored } = await start();
  t.after(() => mf.dispose());
  assert.equal((await push(gw, signed(set(2, [keys[1].entry])))).status, 200);
  assert.equal(await eventually(stored), 2);
  await control('?hold=keyset&times=10');
  const before = (await control()).log.length;
  assert.equal((await push(gw, signed(set(3, [keys[2].entry])))).status, 200);
  const runs = async () => (await control()).log.slice(before).filter(([k]) => k === 'alarm').length;
  assert.ok(await eventually(async () => (await runs()) >= 3, 45_000), `the alarm ran again: ${await runs()} runs`);
  assert.deepEqual((await control()).held, ['keyset', 'keyset'], 'the third run wrote no third copy');
  await control('?release');
  assert.equal(await eventually(async () => (await stored()) === 3 && 3, 15_000), 3, 'published once the held writes answered');
});

test('a KV write that always answers after the bound: published once, late, not written again and again', { timeout: 90_000 }, async (t) => {
  const { mf, gw, control, stored } = await start();
  t.after(() => mf.dispose());
  assert.equal((await push(gw, signed(set(2, [keys[1].entry])))).status, 200);
  assert.equal(await eventually(stored), 2);
  // Every write of `keyset` from now on lands 1.5 s after it was made: after the 1 s bound.
  await control(`?hold=keyset&times=1000&delay=${BOUND_SECONDS * 1500}`);
  const before = (await control()).log.length;
  assert.equal((await push(gw, signed(set(3, [keys[2].entry])))).status, 200);
  assert.equal(await eventually(async () => (await stored()) === 3 && 3, 15_000), 3, 'revision 3 landed (late)');
  const writes = async () => (await control()).log.slice(before).filter(([k]) => k === 'keyset').length;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  await sleep(3000);
  const settled = await writes();
  await sleep(8000);
  assert.equal(await writes(), settled, 'no more writes of the set once one landed');
  assert.ok(settled <= 2, `${settled} writes of revision 3`);
  assert.equal(await stored(), 3);
});
