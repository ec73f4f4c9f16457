// Layer 4: hot swap at the gateway in workerd (issue 3). What KV holds is verified before use
// (a tampered, unsigned or older value is ignored and logged); a push to one isolate reaches
// another through KV on its next refresh, as does `wrangler kv key put --local` without the
// endpoint; and a swap under load: every request sees the old set or the new one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateApiKey } from 'keygate';
import { ROOT } from '../js/helpers.mjs';
import { OTHER_PUBLISHER, PUBLISHER, bearer, eventually, gateway, push, set, signed } from './helpers.mjs';
import { signKeySet } from 'keygate';

const PUB = PUBLISHER.signing.public_key;
const [a, b, c] = ['a', 'b', 'c'].map((id) => generateApiKey({ id }));
const status = async (gw, key) => (await gw.fetch('/api/x', bearer(key))).status;

const dirs = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir() {
  const d = mkdtempSync(join(tmpdir(), 'keygate-swap-'));
  dirs.push(d);
  return d;
}

test('KV values are verified before use: tampered, unsigned and older ones are ignored and logged', async () => {
  const gw = await gateway({ KEYGATE_PUBLISHER_KEYS: PUB, KEYSET_REFRESH_SECONDS: '0' });
  const kv = await gw.kv();
  await kv.put('keyset', signed(set(2, [b.entry])));
  assert.equal(await status(gw, b.key), 200);

  const forged = JSON.parse(signed(set(3, [c.entry])));
  forged.payload = Buffer.from(JSON.stringify(set(3, [a.entry, c.entry]))).toString('base64url');
  const values = [
    ['a payload swapped under its signature', JSON.stringify(forged), 'ERR_ENVELOPE_SIGNATURE'],
    ['signed by an unpinned key', signKeySet(set(3, [c.entry]), OTHER_PUBLISHER.key), 'ERR_ENVELOPE_SIGNATURE'],
    ['an unsigned key set', JSON.stringify(set(3, [c.entry])), 'ERR_ENVELOPE_INVALID'],
    ['an older revision, properly signed', signed(set(1, [a.entry])), 'ERR_KEYSET_ROLLBACK'],
  ];
  for (const [name, value, code] of values) {
    const before = gw.events('keyset_rejected').length;
    await kv.put('keyset', value);
    // Each request starts a background re-read (refresh interval 0) and is answered at once.
    const logged = await eventually(async () => {
      assert.equal(await status(gw, b.key), 200, `${name}: the verified set keeps serving`);
      return gw.events('keyset_rejected').slice(before).find((e) => e.code === code);
    });
    assert.ok(logged, `${name}: logged as keyset_rejected ${code}`);
    assert.equal(logged.origin, 'refresh');
    assert.equal(logged.current_revision, 2);
    assert.equal(await status(gw, c.key), 401, `${name}: nothing of it is used`);
    assert.equal(await status(gw, a.key), 401, `${name}: nothing of it is used`);
  }
  await kv.put('keyset', signed(set(3, [c.entry])));
  assert.ok(await eventually(async () => (await status(gw, c.key)) === 200), 'a valid newer value is picked up');
  assert.equal(await status(gw, b.key), 401);
});

test('a push to one isolate reaches another through KV on its next refresh', async () => {
  const persist = tempDir();
  const bindings = { KEYGATE_PUBLISHER_KEYS: PUB, KEYSET_REFRESH_SECONDS: '1', KEYGATE_KEYSET: signed(set(1, [a.entry])) };
  const one = await gateway(bindings, { persist });
  const two = await gateway(bindings, { persist });
  assert.equal(await status(two, a.key), 200);
  assert.equal((await push(one, signed(set(2, [b.entry])))).status, 200);
  assert.equal(await status(one, b.key), 200);
  const t0 = Date.now();
  assert.ok(await eventually(async () => (await status(two, b.key)) === 200, 5_000), 'the other isolate picks it up');
  assert.ok(Date.now() - t0 < 5_000);
  assert.equal(await status(two, a.key), 401);
  assert.deepEqual(two.events('keyset_updated').map((e) => [e.revision, e.origin]), [[2, 'refresh']]);
  // A later push to the second isolate is judged against what it has: an older one is refused.
  const stale = await push(two, signed(set(1, [a.entry])));
  assert.deepEqual([stale.status, stale.body.current_revision], [409, 2]);
});

test('without the endpoint: `wrangler kv key put --local` of an envelope is picked up on the next refresh', async () => {
  const persist = tempDir();
  const gw = await gateway(
    { KEYGATE_PUBLISHER_KEYS: PUB, KEYSET_REFRESH_SECONDS: '1', KEYGATE_KEYSET: signed(set(1, [a.entry])) },
    { persist },
  );
  assert.equal(await status(gw, a.key), 200);
  const file = join(persist, 'envelope.json');
  writeFileSync(file, signed(set(2, [b.entry])));
  // The documented command (docs/deployment.md), against the same local state directory.
  await promisify(execFile)(
    process.execPath,
    [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'kv', 'key', 'put', '--env', 'dev', '--local', '--persist-to', persist,
      '--binding', 'KEYGATE_KV', 'keyset', '--path', file],
    { cwd: ROOT, timeout: 30_000, env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', FORCE_COLOR: '0' } },
  );
  assert.ok(await eventually(async () => (await status(gw, b.key)) === 200, 5_000), 'revision 2 is served');
  assert.equal(await status(gw, a.key), 401);
  assert.equal((await (await gw.fetch('/.well-known/keygate/keyset')).json()).revision, 2);
});

test('a swap under load: no 5xx, and every answer is the old set\'s or the new set\'s', { timeout: 60_000 }, async () => {
  const routes = [{ methods: ['POST'], path: '/api/orders', scopes: ['orders:write'] }];
  const v1 = signed(set(1, [{ ...a.entry, scopes: ['orders:read'] }, { ...c.entry, scopes: ['orders:read'] }], { routes }));
  const v2 = signed(set(2, [b.entry, { ...c.entry, scopes: ['orders:read', 'orders:write'] }], { routes }));
  const gw = await gateway({ KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_KEYSET: v1 });
  // Each kind of request with its answer (status, error) under the old and the new set.
  const kinds = [
    { init: bearer(a.key), path: '/api/x', old: [200, undefined], new: [401, 'unknown_key'] },
    { init: bearer(b.key), path: '/api/x', old: [401, 'unknown_key'], new: [200, undefined] },
    { init: { method: 'POST', ...bearer(c.key) }, path: '/api/orders', old: [403, 'scope_missing'], new: [200, undefined] },
    { init: bearer(c.key), path: '/api/x', old: [200, undefined], new: [200, undefined] },
    { init: {}, path: '/api/x', old: [401, 'missing_credentials'], new: [401, 'missing_credentials'] },
  ];
  const total = 300;
  const concurrency = 12;
  const deadline = Date.now() + 45_000;
  const results = [];
  let next = 0;
  let pushed = null;
  let pushDoneAt = Infinity;
  const worker = async () => {
    while (next < total && Date.now() < deadline) {
      const i = next++;
      if (i === 100) {
        // Push mid-load, without waiting: requests keep flowing while it is judged and swapped.
        pushed = push(gw, v2).then((r) => ((pushDoneAt = results.length), r));
      }
      const kind = kinds[i % kinds.length];
      const startedAfterPush = results.length > pushDoneAt;
      const res = await gw.fetch(kind.path, kind.init);
      const body = await res.json();
      results.push({ kind, status: res.status, error: body.error, startedAfterPush });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const r = await pushed;
  assert.deepEqual([r.status, r.body], [200, { revision: 2, keys: 2, changed: true }]);
  assert.equal(results.length, total, 'every request finished within the time limit');
  let sawOld = 0;
  let sawNew = 0;
  for (const { kind, status, error, startedAfterPush } of results) {
    assert.ok(status < 500, `no 5xx (got ${status} ${error})`);
    const isOld = status === kind.old[0] && error === kind.old[1];
    const isNew = status === kind.new[0] && error === kind.new[1];
    assert.ok(isOld || isNew, `${kind.path}: ${status} ${error} is neither the old nor the new answer`);
    if (startedAfterPush) assert.ok(isNew, 'a request started after the swap sees the new set');
    if (kind.old[0] !== kind.new[0]) {
      if (isOld) sawOld++;
      else sawNew++;
    }
  }
  assert.ok(sawOld > 0 && sawNew > 0, `the swap happened during the load (old ${sawOld}, new ${sawNew})`);
});
