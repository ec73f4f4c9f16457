// Layer 4: the global nonce store of a bound coordinator. A nonce accepted by one isolate is
// refused by another and after a restart of every isolate; claims are forgotten once their
// window has ended (storage bounded by traffic × window).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey, generateWebhookKey, signRequest, signWebhook } from 'keygate';
import { PUBLISHER, set, signed } from './helpers.mjs';
import { cluster } from './cluster.mjs';

const PUB = PUBLISHER.signing.public_key;
const hmac = generateSigningKey({ alg: 'hmac-sha256' });
const V1 = signed(set(1, [{ id: 'partner', signing: hmac.signing }]));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function send(gw, nonce) {
  const req = await signRequest(new Request('http://gw.test/api/orders'), { keyId: 'partner', key: hmac.key, alg: 'hmac-sha256', nonce });
  const res = await gw.fetch('/api/orders', { headers: req.headers });
  return [res.status, res.status === 200 ? 'allowed' : (await res.json()).error];
}

test('a nonce used at one isolate is refused at another, and after every isolate restarted', async () => {
  const persist = mkdtempSync(join(tmpdir(), 'keygate-nonce-'));
  try {
    const bindings = { KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_KEYSET: V1 };
    const cl = await cluster({ persist, bindings });
    const [gwA, gwB] = [await cl.gw('gw-a'), await cl.gw('gw-b')];
    assert.deepEqual(await send(gwA, 'n-1'), [200, 'allowed']);
    assert.deepEqual(await send(gwB, 'n-1'), [401, 'nonce_replayed'], 'another isolate');
    assert.deepEqual(await send(gwB, 'n-2'), [200, 'allowed']);
    await cl.restart();
    assert.deepEqual(await send(await cl.gw('gw-a'), 'n-2'), [401, 'nonce_replayed'], 'after a restart');
    assert.deepEqual(await send(await cl.gw('gw-b'), 'n-3'), [200, 'allowed']);
    // The claims are spread over shards by key id; each holds a 16-byte fingerprint, never the nonce.
    const rows = [];
    for (let n = 0; n < 16; n++) rows.push(...(await cl.sql('SELECT fp, exp FROM nonces', `keyset:nonce:${n}`)));
    assert.equal(rows.length, 3);
    for (const r of rows) assert.equal(new Uint8Array(r.fp).byteLength, 16);
  } finally {
    rmSync(persist, { recursive: true, force: true });
  }
});

test('a shard forgets a claim when its window ends: a claim, a replay, expiry, the alarm sweep', async () => {
  const cl = await cluster({ gateways: [], bindings: {} });
  const shard = (await cl.coordinator()).getByName('keyset:nonce:3');
  const fp = new Uint8Array(16).fill(7);
  assert.equal(await shard.claimNonce(fp, Date.now() + 300), true);
  assert.equal(await shard.claimNonce(fp, Date.now() + 300), false, 'a replay inside the window');
  await sleep(400);
  assert.equal(await shard.claimNonce(fp, Date.now() + 200), true, 'an expired claim no longer counts');
  const count = async () => (await cl.sql('SELECT count(*) AS n FROM nonces', 'keyset:nonce:3'))[0].n;
  assert.equal(await count(), 1);
  await sleep(1600); // the alarm runs 1 s after the claim's end
  assert.equal(await count(), 0, 'swept without further claims');
  await assert.rejects(shard.claimNonce(new Uint8Array(3), Date.now()), 'a fingerprint is 16 bytes');
  // A claim released (its request failed closed) may be claimed again; a release naming
  // another expiry leaves a live claim alone.
  const other = new Uint8Array(16).fill(9);
  const exp = Date.now() + 60_000;
  assert.equal(await shard.claimNonce(other, exp), true);
  await shard.releaseNonce(other, exp + 1);
  assert.equal(await shard.claimNonce(other, exp), false, 'not the claim released');
  await shard.releaseNonce(other, exp);
  assert.equal(await shard.claimNonce(other, exp), true, 'released');
  await assert.rejects(shard.releaseNonce(new Uint8Array(3), exp), 'a fingerprint is 16 bytes');
});

test('a webhook delivery accepted at one isolate is a replay at another; a retry (new timestamp) is not', async () => {
  const hook = generateWebhookKey({ scheme: 'v1' });
  const ks = set(1, [{ id: 'billing', webhook: hook.webhook }], { routes: [{ methods: ['POST'], path: '/hooks', webhook_keys: ['billing'] }] });
  const cl = await cluster({ bindings: { KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_KEYSET: signed(ks) } });
  const [gwA, gwB] = [await cl.gw('gw-a'), await cl.gw('gw-b')];
  const body = '{"type":"invoice.paid"}';
  const deliver = async (gw, headers) => {
    const res = await gw.fetch('/hooks', { method: 'POST', headers, body });
    return [res.status, res.status === 200 ? 'allowed' : (await res.json()).error];
  };
  const now = Math.floor(Date.now() / 1000);
  const first = await signWebhook({ key: hook.key, body, id: 'msg_retry', timestamp: new Date((now - 10) * 1000) });
  assert.deepEqual(await deliver(gwA, first), [200, 'allowed']);
  assert.deepEqual(await deliver(gwB, first), [401, 'nonce_replayed'], 'another isolate');
  const retry = await signWebhook({ key: hook.key, body, id: 'msg_retry', timestamp: new Date(now * 1000) });
  assert.deepEqual(await deliver(gwB, retry), [200, 'allowed'], "the sender's retry");
});
