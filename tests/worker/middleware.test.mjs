// Layer 4: keygate's middleware inside workerd, as a user's Worker bundled by wrangler uses it
// (tests/worker/fixtures/middleware-worker.mjs): there CF-Connecting-IP is honoured (under
// Node it is ignored: tests/js/middleware-options.test.mjs), unless clientIp is given; and the
// gateway application's signed-body bound (KEYGATE_MAX_BODY_BYTES, default 8 MiB).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { generateSigningKey, signRequest } from 'keygate';
import { DEMO, DEMO_KEYSET, keySet } from '../js/helpers.mjs';
import { bearer, fixtureWorker, gateway } from './helpers.mjs';

let mf;

before(async () => {
  mf = await fixtureWorker('middleware-worker', { KEYGATE_KEYSET: DEMO_KEYSET });
});

async function ask(path, headers) {
  const res = await mf.dispatchFetch(`http://mw.test${path}`, { headers });
  const body = await res.json();
  return [res.status, body.key ?? body.error];
}

test('inside workerd, withKeygate and Hono take the client address from CF-Connecting-IP', async () => {
  // The demo admin key is loopback-only.
  for (const prefix of ['/w/', '/h/']) {
    assert.deepEqual(await ask(`${prefix}x`, { 'x-api-key': DEMO.admin, 'cf-connecting-ip': '::1' }), [200, 'demo-admin'], prefix);
    assert.deepEqual(await ask(`${prefix}x`, { 'x-api-key': DEMO.admin, 'cf-connecting-ip': '203.0.113.4' }), [403, 'ip_not_allowed'], prefix);
    // workerd's local entry sets the header to the loopback peer when none was sent.
    assert.deepEqual(await ask(`${prefix}x`, { 'x-api-key': DEMO.admin }), [200, 'demo-admin'], prefix);
    assert.deepEqual(await ask(`${prefix}x`, { 'x-api-key': DEMO.reader, 'cf-connecting-ip': '198.51.100.9' }), [403, 'ip_denied'], prefix);
  }
});

test('inside workerd, a clientIp option still decides the address', async () => {
  assert.deepEqual(await ask('/pinned/x', { 'x-api-key': DEMO.admin, 'cf-connecting-ip': '::1', 'x-peer': '203.0.113.4' }), [403, 'ip_not_allowed']);
  assert.deepEqual(await ask('/pinned/x', { 'x-api-key': DEMO.admin, 'cf-connecting-ip': '203.0.113.4', 'x-peer': '127.0.0.1' }), [200, 'demo-admin']);
  assert.deepEqual(await ask('/pinned/x', { 'x-api-key': DEMO.admin }), [403, 'ip_not_allowed'], 'clientIp said nothing: unknown');
});

test('the gateway refuses a signed body over KEYGATE_MAX_BODY_BYTES (default 8 MiB) with 413 body_too_large', async () => {
  const key = generateSigningKey({ alg: 'ed25519' });
  const set = JSON.stringify(keySet(1, [{ id: 'client', signing: key.signing, scopes: ['files:write'] }]));
  const put = async (gw, size) => {
    const body = new Uint8Array(size).map((_, i) => i % 251);
    const signed = await signRequest(new Request('http://gw.test/files/1', { method: 'PUT', body }), { keyId: 'client', key: key.key, alg: 'ed25519' });
    const res = await gw.fetch('/files/1', { method: 'PUT', headers: signed.headers, body });
    const json = await res.json();
    return [res.status, json.error ?? json.key_id];
  };
  const small = await gateway({ KEYGATE_KEYSET: set, KEYGATE_MAX_BODY_BYTES: '1024' });
  assert.deepEqual(await put(small, 1024), [200, 'client']);
  assert.deepEqual(await put(small, 1025), [413, 'body_too_large']);
  const line = small.events('decision').at(-1);
  assert.deepEqual([line.status, line.reason, line.key_id], [413, 'body_too_large', null]);
  // A forged signature over a large body is refused for its signature, not its size.
  const body = new Uint8Array(4096);
  const signed = await signRequest(new Request('http://gw.test/files/1', { method: 'PUT', body }), { keyId: 'client', key: key.key, alg: 'ed25519' });
  const forged = new Headers(signed.headers);
  forged.set('signature', `sig1=:${Buffer.alloc(64).toString('base64')}:`);
  assert.equal((await (await small.fetch('/files/1', { method: 'PUT', headers: forged, body })).json()).error, 'signature_invalid');

  // Default: 8 MiB.
  const standard = await gateway({ KEYGATE_KEYSET: set });
  assert.deepEqual(await put(standard, 8 * 1024 * 1024 + 1), [413, 'body_too_large']);
  assert.deepEqual(await put(standard, 3 * 1024 * 1024), [200, 'client']);
});
