// Layer 3: what a handler can use from a decision (issue 12 item 3): the key's name, meta and
// expiry, the verified signature, `hasScope` (the shared vectors tests/vectors/scopes.json, also
// run by tests/vectors.rs against the rule route scopes are checked with), and
// `requireScopes` for Hono and for `withKeygate` handlers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Hono } from 'hono';
import { Keygate, KeygateError, generateApiKey, generateSigningKey, hasScope, signRequest } from 'keygate';
import { keygate, requireScopes as honoScopes } from 'keygate/hono';
import { requireScopes, withKeygate } from 'keygate/worker';
import { VECTORS, keySet, readJson } from './helpers.mjs';

const URL_ = 'https://api.example.com/v1/orders/7';
const NOW = Date.parse('2026-11-29T12:00:00Z');

test('hasScope follows the shared scope vectors', () => {
  const { cases } = readJson(join(VECTORS, 'scopes.json'));
  assert.ok(cases.length >= 10);
  for (const c of cases) {
    const decision = Object.freeze({ allowed: true, status: 200, keyId: 'k', scopes: Object.freeze(c.grants) });
    assert.equal(hasScope(decision, c.scope), c.expect, `${JSON.stringify(c.grants)} grants ${JSON.stringify(c.scope)}: ${c.note}`);
  }
  const refused = { allowed: false, status: 403, reason: 'scope_missing', message: '', headers: {} };
  assert.equal(hasScope(refused, 'anything'), false, 'a refusal grants nothing');
  assert.throws(() => hasScope({ allowed: true, scopes: [] }, 7), (e) => e instanceof KeygateError && e.code === 'ERR_INVALID_OPTIONS');
});

test('an allowed decision carries the key\'s name, meta and expiry, and the verified signature', async () => {
  const api = generateApiKey({ id: 'svc' });
  const sig = generateSigningKey({ alg: 'hmac-sha256' });
  const gate = await Keygate.load(keySet(1, [
    { ...api.entry, name: 'Billing service', meta: { team: 'billing', tier: 2, tags: ['a'] }, expires_at: '2027-06-01T00:00:00Z', scopes: ['orders:*'] },
    { id: 'signer', signing: sig.signing, scopes: ['orders:read'] },
  ]));
  const d = await gate.verify(new Request(URL_, { headers: { authorization: `Bearer ${api.key}` } }), { now: NOW });
  assert.deepEqual(
    { name: d.name, meta: d.meta, expiresAt: d.expiresAt, keyId: d.keyId, signature: d.signature },
    { name: 'Billing service', meta: { team: 'billing', tier: 2, tags: ['a'] }, expiresAt: '2027-06-01T00:00:00Z', keyId: 'svc', signature: undefined },
  );
  assert.ok(Object.isFrozen(d.meta) && Object.isFrozen(d.meta.tags), 'meta is shared between decisions: frozen, deeply');
  assert.equal(hasScope(d, 'orders:write'), true);
  assert.equal(d.scopes.includes('orders:write'), false, 'why hasScope exists');

  const signed = await signRequest(new Request(URL_), { keyId: 'signer', key: sig.key, alg: 'hmac-sha256', created: NOW, nonce: 'n-1', tag: 'app' });
  const s = await gate.verify(signed, { now: NOW });
  assert.equal(s.allowed, true, JSON.stringify(s));
  assert.deepEqual(s.signature, {
    label: 'sig1',
    components: ['@method', '@target-uri'],
    params: { keyid: 'signer', alg: 'hmac-sha256', created: NOW / 1000, nonce: 'n-1', tag: 'app' },
  });
  assert.deepEqual([s.name, s.meta, s.expiresAt], [null, null, null]);
  assert.ok(Object.isFrozen(s.signature) && Object.isFrozen(s.signature.params));
});

test('requireScopes: Hono middleware and withKeygate handler, checked once, 403 scope_missing', async () => {
  const reader = generateApiKey({ id: 'reader' });
  const admin = generateApiKey({ id: 'admin' });
  const ks = JSON.stringify(keySet(1, [{ ...reader.entry, scopes: ['orders:read'] }, { ...admin.entry, scopes: ['orders:*'] }]));
  const options = { keySet: () => ks, log: false };
  for (const make of [honoScopes, requireScopes]) {
    assert.throws(() => make(), (e) => e.code === 'ERR_INVALID_OPTIONS', 'no scope');
    assert.throws(() => make('a', ''), (e) => e.code === 'ERR_INVALID_OPTIONS', 'an empty scope');
    assert.throws(() => make(42), (e) => e.code === 'ERR_INVALID_OPTIONS', 'not a string');
  }
  assert.throws(() => requireScopes('a')('nope'), (e) => e.code === 'ERR_INVALID_OPTIONS');

  const app = new Hono();
  app.use('/v1/*', keygate(options));
  app.post('/v1/orders/*', honoScopes('orders:write'), (c) => c.json({ ok: c.get('keygate').keyId }));
  const worker = withKeygate(requireScopes('orders:write')((_r, _e, _c, d) => Response.json({ ok: d.keyId })), options);
  const post = (key) => new Request(URL_, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
  for (const [name, fetch] of [['hono', (r) => app.fetch(r)], ['worker', (r) => worker.fetch(r, {}, {})]]) {
    const denied = await fetch(post(reader.key));
    assert.equal(denied.status, 403, name);
    assert.equal(denied.headers.get('www-authenticate'), null, `${name}: a 403 carries no challenge`);
    const body = await denied.json();
    assert.equal(body.error, 'scope_missing', name);
    assert.match(body.message, /lacks scope orders:write/, name);
    const ok = await fetch(post(admin.key));
    assert.equal(ok.status, 200, name);
    assert.deepEqual(await ok.json(), { ok: 'admin' }, `${name}: orders:* grants orders:write`);
  }
});
