// A due poll that outlives the request that started it: the request waits for it at most
// POLL_WAIT_MS, then is answered with the set in use, and the poll goes on. In workerd a
// request's promises (its I/O, its timers) never settle once it has ended, unless it handed
// them to waitUntil: the poll never ended, held `#polling` for good, and every later request
// waited POLL_WAIT_MS for it and was decided by a set that no longer moved (a revocation never
// arrived on that isolate).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateApiKey } from 'keygate';
import { PUBLISHER, bearer, eventually, push, set, signed } from './helpers.mjs';
import { HANG_COORDINATOR, cluster } from './cluster.mjs';

const PUB = PUBLISHER.signing.public_key;
test('a due poll that answers after its request was served still ends: later polls run and a revocation arrives', async () => {
  const [a, b] = ['a', 'b'].map((id) => generateApiKey({ id }));
  const cl = await cluster({
    coordinatorScript: 'hang',
    extra: [HANG_COORDINATOR],
    gateways: ['gw-pub', 'gw'],
    bindings: { KEYGATE_PUBLISHER_KEYS: PUB, KEYSET_REFRESH_SECONDS: '1', KEYGATE_STORAGE_TIMEOUT_SECONDS: '4' },
  });
  const control = await cl.mf.getWorker('hang');
  const fixture = async (path) => (await control.fetch(`http://hang.test${path}`)).json();
  const pub = await cl.gw('gw-pub');
  assert.equal((await push(pub, signed(set(1, [a.entry, b.entry])))).status, 200);
  const gw = await cl.gw('gw');
  assert.equal((await gw.fetch('/api/x', bearer(b.key))).status, 200);
  await new Promise((r) => setTimeout(r, 1100)); // a poll is due
  await fixture('/hang?methods=poll');
  const started = Date.now();
  assert.equal((await gw.fetch('/api/x', bearer(a.key))).status, 200, 'served by the set in use after the wait');
  const took = Date.now() - started;
  assert.ok(took >= 900 && took < 3000, `${took} ms`);
  await new Promise((r) => setTimeout(r, 300));
  await fixture('/release'); // the poll answers now, after its request was answered
  assert.equal((await push(pub, signed(set(2, [a.entry])))).status, 200);
  const gone = await eventually(async () => (await gw.fetch('/api/x', bearer(b.key))).status === 401, 10_000);
  assert.ok(gone, 'the revocation arrives');
  const quick = Date.now();
  assert.equal((await gw.fetch('/api/x', bearer(a.key))).status, 200);
  assert.ok(Date.now() - quick < 900, 'no request waits for a poll that ended long ago');
});
