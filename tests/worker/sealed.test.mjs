// Sealed secrets at the gateway in workerd: KEYGATE_SEAL_KEYS (a wrangler secret) opens the
// set's sealed secrets, from the var and from pushes; without it a sealed set does not load
// (503 keyset_unavailable, the hint naming the variable in the log); a pushed set that does not
// open is refused (400 keyset_invalid) and the set in use keeps serving. The key set as stored
// in KV still holds only the JWE, never the secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { generateApiKey, signRequest } from 'keygate';
import { VECTORS, readJson } from '../js/helpers.mjs';
import { PUBLISHER, gateway, payloadSha256, push, set, signed } from './helpers.mjs';
import { cluster } from './cluster.mjs';

const jose = readJson(join(VECTORS, 'sealed/jose.json'));
const SEAL_KEYS = JSON.stringify(jose.seal_keys);
const [one, two] = jose.valid;
const sealed = (id, c) => ({ id, signing: { alg: 'hmac-sha256', sealed: c.sealed } });
const secret = (c) => new Uint8Array(Buffer.from(c.plaintext, 'base64url'));

async function signedGet(gw, keyId, c) {
  const req = await signRequest(new Request('http://gw.test/v1/orders'), { keyId, key: secret(c), alg: 'hmac-sha256' });
  return gw.fetch('/v1/orders', { headers: Object.fromEntries(req.headers) });
}

test('KEYGATE_SEAL_KEYS opens a sealed set; without it nothing loads', async () => {
  const text = JSON.stringify(set(1, [sealed('hm', one)]));
  const gw = await gateway({ KEYGATE_KEYSET: text, KEYGATE_SEAL_KEYS: SEAL_KEYS }, { kv: false });
  const ok = await signedGet(gw, 'hm', one);
  assert.equal(ok.status, 200, await ok.clone().text());
  assert.equal((await ok.json()).key_id, 'hm');
  assert.ok(!gw.logs.some((l) => l.includes(one.plaintext)), 'no log line holds the secret');

  const bare = await gateway({ KEYGATE_KEYSET: text }, { kv: false });
  const res = await signedGet(bare, 'hm', one);
  assert.equal(res.status, 503);
  assert.equal((await res.json()).error, 'keyset_unavailable');
  const rejected = bare.events('keyset_rejected');
  assert.equal(rejected[0].code, 'ERR_KEYSET_INVALID');
  assert.match(rejected[0].message, /\$\.keys\[0\]\.signing\.sealed/);
  assert.match(rejected[0].message, /KEYGATE_SEAL_KEYS/);
});

test('pushed sealed sets open with the same keys; one that does not open is refused', async () => {
  const a = generateApiKey({ id: 'a' });
  const gw = await gateway({
    KEYGATE_PUBLISHER_KEYS: PUBLISHER.signing.public_key,
    KEYGATE_SEAL_KEYS: SEAL_KEYS,
    KEYGATE_KEYSET: signed(set(1, [a.entry])),
  });
  const first = await push(gw, signed(set(2, [a.entry, sealed('hm', two)])));
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal((await signedGet(gw, 'hm', two)).status, 200);
  // A sealed value sealed under a kid this gateway does not hold: 400, the set in use stays.
  const bad = await push(gw, signed(foreignSealed(a)));
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error, 'keyset_invalid');
  assert.match(bad.body.message, /no seal key with kid/);
  assert.equal((await signedGet(gw, 'hm', two)).status, 200);
  const stored = JSON.parse(await (await gw.kv()).get('keyset'));
  const payload = Buffer.from(stored.payload, 'base64url').toString();
  assert.ok(payload.includes(two.sealed) && !payload.includes(two.plaintext), 'stored sealed');
  const info = await (await gw.fetch('/.well-known/keygate/keyset')).text();
  assert.ok(!info.includes(two.plaintext));
});

test('with a coordinator bound, sealed sets open too: the seeded set, a pushed delta adding a sealed key, the other isolate', async () => {
  const a = generateApiKey({ id: 'a' });
  const v1 = signed(set(1, [a.entry, sealed('hm', one)]));
  const cl = await cluster({
    bindings: { KEYGATE_PUBLISHER_KEYS: PUBLISHER.signing.public_key, KEYGATE_SEAL_KEYS: SEAL_KEYS, KEYGATE_KEYSET: v1, KEYSET_REFRESH_SECONDS: '1' },
  });
  const [gwA, gwB] = [await cl.gw('gw-a'), await cl.gw('gw-b')];
  const first = await signedGet(gwA, 'hm', one);
  assert.equal(first.status, 200, await first.clone().text());
  assert.equal((await (await gwA.fetch('/.well-known/keygate/keyset')).json()).mode, 'coordinator');
  const to = set(2, [a.entry, sealed('hm', one), sealed('hm2', two)]);
  const d = signed({
    keygate: 1,
    kind: 'delta',
    base: { revision: 1, payload_sha256: payloadSha256(v1) },
    revision: 2,
    payload_sha256: payloadSha256(signed(to)),
    issued_at: to.issued_at,
    changes: [{ op: 'add', key: sealed('hm2', two) }],
  });
  const r = await push(gwA, d);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal((await signedGet(gwA, 'hm2', two)).status, 200);
  // The other isolate follows the coordinator (its own load, opened with its own seal keys).
  await new Promise((res) => setTimeout(res, 1100));
  assert.equal((await signedGet(gwB, 'hm2', two)).status, 200);
  assert.deepEqual(cl.events('keyset_rejected'), [], 'nothing was refused for want of seal keys');
  assert.ok(!cl.logs().some((l) => l.includes(one.plaintext) || l.includes(two.plaintext)), 'no log line holds a secret');
});

/** Revision 3 whose sealed secret names a seal key the gateway does not hold (jose.json). */
function foreignSealed(a) {
  const foreign = jose.invalid.find((c) => c.name === 'kid names no configured key');
  return set(3, [a.entry, sealed('hm', foreign)]);
}
