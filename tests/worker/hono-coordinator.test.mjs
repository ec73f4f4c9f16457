// Layer 4: Hono's keygate() with the coordinator bound, in workerd beside gateway isolates
// sharing one KeygateCoordinator: a revocation pushed at a gateway is enforced by the Hono app
// within its refresh interval + 1 s, and a nonce accepted at a gateway is refused by the Hono
// app (the coordinator's global nonce store). Without the option the same app, the same push,
// keeps serving its own state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateApiKey, generateSigningKey, signRequest } from 'keygate';
import { KV_ID, PUBLISHER, bearer, bundleFixture, push, set, signed } from './helpers.mjs';
import { cluster } from './cluster.mjs';

const PUB = PUBLISHER.signing.public_key;
const [a, b] = ['a', 'b'].map((id) => generateApiKey({ id }));
const hmac = generateSigningKey({ alg: 'hmac-sha256' });
const partner = { id: 'partner', signing: hmac.signing };
const V1 = signed(set(1, [a.entry, b.entry, partner]));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The Hono fixture as a cluster worker bound to the host's coordinator (or to none). */
async function honoWorker(name, coordinated) {
  return {
    name,
    ...(await bundleFixture('hono-coordinated')),
    kvNamespaces: { KEYGATE_KV: KV_ID },
    durableObjects: coordinated ? { KEYGATE_COORDINATOR: { className: 'KeygateCoordinator', scriptName: 'host', useSQLite: true } } : {},
    bindings: { KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_KEYSET: V1, KEYSET_REFRESH_SECONDS: '1' },
  };
}

const status = async (w, key) => (await w.fetch('/api/x', bearer(key))).status;

async function sendSigned(w, nonce) {
  const req = await signRequest(new Request('http://gw.test/api/orders'), { keyId: 'partner', key: hmac.key, alg: 'hmac-sha256', nonce });
  const res = await w.fetch('/api/orders', { headers: req.headers });
  return [res.status, res.status === 200 ? 'allowed' : (await res.json()).error];
}

test('Hono with the coordinator: a revocation pushed at a gateway is enforced within the interval + 1 s; nonces are global', async (t) => {
  const cl = await cluster({
    gateways: ['gw-a'],
    bindings: { KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_KEYSET: V1, KEYSET_REFRESH_SECONDS: '1' },
    extra: [await honoWorker('hono', true), await honoWorker('hono-alone', false)],
  });
  const [gw, hono, alone] = [await cl.gw('gw-a'), await cl.gw('hono'), await cl.gw('hono-alone')];
  assert.equal(await status(gw, b.key), 200);
  assert.equal(await status(hono, b.key), 200);
  assert.equal(await status(alone, b.key), 200);

  // A nonce used at the gateway is spent for the Hono app too (and the other way round).
  assert.deepEqual(await sendSigned(gw, 'n-1'), [200, 'allowed']);
  assert.deepEqual(await sendSigned(hono, 'n-1'), [401, 'nonce_replayed']);
  assert.deepEqual(await sendSigned(hono, 'n-2'), [200, 'allowed']);
  assert.deepEqual(await sendSigned(gw, 'n-2'), [401, 'nonce_replayed']);
  // Without the coordinator, nonces are this isolate's own.
  assert.deepEqual(await sendSigned(alone, 'n-1'), [200, 'allowed']);

  const r = await push(gw, signed(set(2, [a.entry, { ...b.entry, status: 'revoked' }, partner])));
  assert.deepEqual([r.status, r.body.revision], [200, 2]);
  const pushed = Date.now();
  await sleep(1000 - (Date.now() - pushed));
  assert.equal(await status(hono, b.key), 401, 'enforced by the Hono app through the coordinator');
  const bound = Date.now() - pushed;
  assert.ok(bound <= 2000, `enforced ${bound} ms after the push (interval 1 s + 1 s)`);
  t.diagnostic(`the Hono app refused the revoked key ${bound} ms after the push answered`);
  assert.equal(await status(hono, a.key), 200);
  // The app without the option reads only its keySet (the variable, still revision 1).
  assert.equal(await status(alone, b.key), 200, 'no coordinator: the push is not seen');
});

test('Hono checks the coordinator option when the middleware is created', async () => {
  const { keygate } = await import('keygate/hono');
  assert.throws(() => keygate({ keySet: V1, coordinator: 'COORDINATOR' }), {
    code: 'ERR_INVALID_OPTIONS',
    message: 'keygate: options.coordinator must be a function of env',
  });
});
