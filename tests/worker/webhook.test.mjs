// Standard Webhooks at the gateway in workerd: deliveries signed with the package's
// signWebhook pass (the handler/origin gets the body intact), a replay and a tampered body are
// refused, a body past KEYGATE_MAX_WEBHOOK_BODY_BYTES gets 413, a sealed v1 secret opens with
// KEYGATE_SEAL_KEYS, and an API key is not examined on a webhook route.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { generateApiKey, generateWebhookKey, signWebhook } from 'keygate';
import { VECTORS, readJson } from '../js/helpers.mjs';
import { gateway, set } from './helpers.mjs';

const v1 = generateWebhookKey({ scheme: 'v1' });
const v1a = generateWebhookKey({ scheme: 'v1a' });
const api = generateApiKey({ id: 'api' });
const keys = [
  { id: 'billing', webhook: v1.webhook, scopes: ['events:write'] },
  { id: 'acme', webhook: v1a.webhook },
  { ...api.entry, scopes: ['api'] },
];
const routes = [{ methods: ['POST'], path: '/hooks', webhook_keys: ['billing', 'acme'] }];
const KEYSET = JSON.stringify(set(1, keys, { routes }));

const received = [];
const origin = createServer((req, res) => {
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => {
    const body = Buffer.concat(parts);
    received.push({ headers: req.headers, body });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ got: body.length }));
  });
});
await new Promise((r) => origin.listen(0, '127.0.0.1', r));
after(() => origin.close());
const ORIGIN_URL = `http://127.0.0.1:${origin.address().port}`;

const post = async (gw, key, body, extra = {}) => {
  const headers = { ...(await signWebhook({ key, body })), 'content-type': 'application/json', ...extra };
  return { res: await gw.fetch('/hooks', { method: 'POST', headers, body }), headers };
};

test('deliveries pass to the origin with their bodies intact; replays and forgeries do not', async () => {
  const gw = await gateway({ KEYGATE_KEYSET: KEYSET, ORIGIN_URL }, { kv: false });
  const body = JSON.stringify({ type: 'invoice.paid', pad: 'x'.repeat(256 * 1024) });
  const { res, headers } = await post(gw, v1, body);
  assert.equal(res.status, 200, await res.clone().text());
  assert.deepEqual(await res.json(), { got: body.length });
  assert.equal(received.at(-1).body.toString(), body);
  assert.equal(received.at(-1).headers['x-keygate-key-id'], 'billing');
  const again = await gw.fetch('/hooks', { method: 'POST', headers, body });
  assert.equal(again.status, 401);
  assert.equal((await again.json()).error, 'nonce_replayed');
  const v1aRes = (await post(gw, v1a, '{"type":"ping"}')).res;
  assert.equal(v1aRes.status, 200);
  const { headers: h2 } = await post(gw, v1, '{"a":1}');
  const forged = await gw.fetch('/hooks', { method: 'POST', headers: h2, body: '{"a":2}' });
  assert.equal(forged.status, 401);
  const e = await forged.json();
  assert.equal(e.error, 'signature_invalid');
  assert.equal(forged.headers.get('accept-signature'), null);
  const withKey = await gw.fetch('/hooks', { method: 'POST', headers: { authorization: `Bearer ${api.key}` }, body: '{}' });
  assert.equal((await withKey.json()).error, 'signature_required', 'an API key is not examined on a webhook route');
});

test('a delivery over KEYGATE_MAX_WEBHOOK_BODY_BYTES gets 413; a set with a sealed secret opens', async () => {
  const gw = await gateway({ KEYGATE_KEYSET: KEYSET, KEYGATE_MAX_WEBHOOK_BODY_BYTES: '1024' }, { kv: false });
  const big = await post(gw, v1, JSON.stringify({ pad: 'x'.repeat(2000) }));
  assert.equal(big.res.status, 413);
  assert.equal((await big.res.json()).error, 'body_too_large');
  assert.equal((await post(gw, v1, '{"small":true}')).res.status, 200);

  const jose = readJson(join(VECTORS, 'sealed/jose.json'));
  // A whsec_ secret sealed by keygate's CLI would do too; here: the secret of `v1`, sealed by
  // the JOSE vectors' key with the package-independent jose library.
  const { CompactEncrypt, importJWK } = await import('jose');
  const key = await importJWK(jose.seal_keys.keys[0], 'A256GCM');
  const sealed = await new CompactEncrypt(new TextEncoder().encode(v1.key))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: jose.seal_keys.keys[0].kid })
    .encrypt(key);
  const sealedSet = JSON.stringify(set(1, [{ id: 'billing', webhook: { sealed } }], { routes: [{ path: '/hooks', webhook_keys: ['billing'] }] }));
  const sgw = await gateway({ KEYGATE_KEYSET: sealedSet, KEYGATE_SEAL_KEYS: JSON.stringify(jose.seal_keys) }, { kv: false });
  assert.equal((await post(sgw, v1, '{"sealed":true}')).res.status, 200);
});
