// Layer 3: the public JS API from plain Node ESM: load, verify, update, keys, errors.
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { Keygate, KeygateError, ERROR_CODES, checkKeySet, generateApiKey, hashApiKey } from 'keygate';
import { DEMO, DEMO_KEYSET, get, keySet } from './helpers.mjs';

const NOW = Date.parse('2026-11-29T12:00:00Z');

test('a generated key, put into a key set, is allowed; its plain text is not stored', async () => {
  const { key, entry } = generateApiKey({ prefix: 'kg_live' });
  assert.match(key, /^kg_live_[0-9A-Za-z]{49}$/);
  assert.match(entry.id, /^kg-live-[0-9A-Za-z]{8}$/);
  assert.equal(entry.api_key_hash, hashApiKey(key));
  assert.deepEqual(Object.keys(entry).sort(), ['api_key_hash', 'id']);
  assert.ok(!JSON.stringify(entry).includes(key.slice(8)), 'the entry holds only the digest');

  const gate = await Keygate.load(keySet(1, [{ ...entry, scopes: ['orders:read'] }]));
  const ok = await gate.verify(get('https://api.example/v1/x', key), { now: NOW });
  assert.deepEqual(
    { ...ok, scopes: [...ok.scopes] },
    { allowed: true, status: 200, keyId: entry.id, scopes: ['orders:read'], name: null, meta: null, expiresAt: null, path: '/v1/x' },
  );

  // One flipped character breaks the checksum: refused offline, before any lookup.
  const typo = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
  const bad = await gate.verify(get('https://api.example/v1/x', typo), { now: NOW });
  assert.equal(bad.reason, 'malformed_credentials');
  assert.equal(bad.status, 401);
  assert.ok(!bad.message.includes(typo), 'a refusal never echoes the key');
});

test('generateApiKey: ids, prefixes and options are checked', () => {
  const a = generateApiKey({ prefix: 'acme_prod', id: 'billing.v2' });
  const b = generateApiKey();
  assert.equal(a.entry.id, 'billing.v2');
  assert.match(b.key, /^kg_[0-9A-Za-z]{49}$/);
  assert.notEqual(generateApiKey().key, b.key);
  for (const bad of [{ prefix: 'Bad Prefix' }, { prefix: 7 }, { id: 'no spaces' }, { prefixx: 'kg' }, null]) {
    assert.throws(() => generateApiKey(bad), (e) => e instanceof KeygateError && e.code === 'ERR_INVALID_OPTIONS', JSON.stringify(bad));
  }
  assert.throws(() => hashApiKey(42), { code: 'ERR_INVALID_OPTIONS' });
  assert.equal(hashApiKey(DEMO.reader), 'sha256:OEPk1MTMcGqWV97t3w1k2ND0cgGTnc-8EsEwaw0luJM');
});

test('load accepts text, objects and bytes, and reports every error with its JSON path', async () => {
  const sha = createHash('sha256').update(DEMO_KEYSET).digest('base64url');
  for (const input of [DEMO_KEYSET, new TextEncoder().encode(DEMO_KEYSET), new TextEncoder().encode(DEMO_KEYSET).buffer]) {
    const { info } = await Keygate.load(input);
    assert.deepEqual({ ...info }, { revision: 1, issuedAt: '2026-11-29T00:00:00Z', expiresAt: null, keys: 4, sealed: 0, sealKeyIds: [], payloadSha256: sha });
  }
  const parsed = await Keygate.load(JSON.parse(DEMO_KEYSET));
  assert.equal(parsed.info.keys, 4);
  assert.equal(parsed.info.payloadSha256, createHash('sha256').update(JSON.stringify(JSON.parse(DEMO_KEYSET))).digest('base64url'));
  const err = await Keygate.load({ keygate: 1, revision: 0, keys: [{ id: 'a b', api_key_hash: 'md5:x', expire_at: 'x' }] }).catch((e) => e);
  assert.ok(err instanceof KeygateError);
  assert.ok(err instanceof Error);
  assert.equal(err.code, 'ERR_KEYSET_INVALID');
  const paths = err.errors.map((e) => e.path).sort();
  assert.deepEqual(paths, ['$.keys[0].api_key_hash', '$.keys[0].expire_at', '$.keys[0].id', '$.revision']);
  assert.match(err.message, /^invalid key set: \$\./);
  await assert.rejects(Keygate.load(new Uint8Array([0xff, 0xfe])), { code: 'ERR_KEYSET_INVALID' });
  await assert.rejects(Keygate.load(42), { code: 'ERR_INVALID_OPTIONS' });
  await assert.rejects(Keygate.load(DEMO_KEYSET, { onWarning: 'no' }), { code: 'ERR_INVALID_OPTIONS' });
  await assert.rejects(Keygate.load(DEMO_KEYSET, { publisherKey: [] }), { code: 'ERR_INVALID_OPTIONS' });
  assert.throws(() => new Keygate(), TypeError);
  assert.deepEqual([...ERROR_CODES].sort(), [
    'ERR_AUDIENCE_MISMATCH', 'ERR_BODY_TIMEOUT', 'ERR_BODY_TOO_LARGE', 'ERR_DELTA_BASE', 'ERR_DELTA_CHAIN_FULL', 'ERR_ENVELOPE_INVALID', 'ERR_ENVELOPE_SIGNATURE', 'ERR_ENVELOPE_STALE', 'ERR_INTERNAL', 'ERR_INVALID_OPTIONS',
    'ERR_KEYSET_INVALID', 'ERR_KEYSET_ROLLBACK', 'ERR_KEY_INVALID', 'ERR_NONCE_STORE',
    'ERR_REQUEST_INVALID', 'ERR_SHARD_UNAVAILABLE', 'ERR_SIGN_FAILED', 'ERR_VERIFIER_BUSY', 'ERR_WASM_INIT_FAILED', 'ERR_WASM_NOT_INITIALIZED',
  ]);
});

test('verify: reasons, statuses, headers, injected time and client address', async () => {
  const gate = await Keygate.load(DEMO_KEYSET);
  const url = 'https://gw.example/api/orders/7';
  const cases = [
    [get(url), {}, 401, 'missing_credentials'],
    [get(url, 'not-a-key'), {}, 401, 'unknown_key'],
    [get(url, DEMO.disabled), {}, 401, 'key_disabled'],
    [get(url, DEMO.expired), {}, 401, 'key_expired'],
    [get(url, DEMO.admin), { clientIp: '203.0.113.9' }, 403, 'ip_not_allowed'],
    [get(url, DEMO.admin), {}, 403, 'ip_not_allowed'],
    [get(url, DEMO.reader), { clientIp: '198.51.100.7' }, 403, 'ip_denied'],
    [new Request(url, { method: 'DELETE', headers: { 'x-api-key': DEMO.reader } }), {}, 403, 'scope_missing'],
  ];
  for (const [req, opts, status, reason] of cases) {
    const d = await gate.verify(req, { now: NOW, ...opts });
    assert.equal(d.allowed, false, reason);
    assert.equal(d.status, status, reason);
    assert.equal(d.reason, reason);
    assert.equal('WWW-Authenticate' in d.headers, status === 401, `${reason}: WWW-Authenticate only on 401`);
    assert.ok(Object.isFrozen(d) && Object.isFrozen(d.headers));
  }
  const admin = await gate.verify(get(url, DEMO.admin), { clientIp: '::1', now: NOW });
  assert.equal(admin.keyId, 'demo-admin');
  assert.equal(admin.route, '/api/orders/**');
  const pub = await gate.verify(get('https://gw.example/health', 'garbage'), { now: NOW });
  assert.deepEqual(
    { ...pub, scopes: [...pub.scopes] },
    { allowed: true, status: 200, keyId: null, scopes: [], name: null, meta: null, expiresAt: null, route: '/health', path: '/health' },
  );
  // Time is injected: the expired key was valid in March 2026 (Date or milliseconds).
  const march = await gate.verify(get(url, DEMO.expired), { now: new Date('2026-03-01T00:00:00Z') });
  assert.equal(march.allowed, true);
  assert.equal((await gate.verify(get(url, DEMO.expired), { now: Date.parse('2025-12-01T00:00:00Z') })).reason, 'key_not_yet_valid');
  // A request-like object works as well as a Request.
  const like = await gate.verify({ method: 'GET', url, headers: { 'x-api-key': DEMO.reader } }, { now: NOW });
  assert.equal(like.keyId, 'demo-reader');
});

test('verify: bad options and requests are errors, not decisions', async () => {
  const gate = await Keygate.load(DEMO_KEYSET);
  const req = get('https://gw.example/api/x', DEMO.reader);
  for (const opts of [{ clientIp: 'not-an-ip' }, { clientIp: 17 }, { now: 'yesterday' }, { now: new Date('x') }, { now: NaN }, { clientIP: '::1' }, null]) {
    await assert.rejects(gate.verify(req, opts), { code: 'ERR_INVALID_OPTIONS' }, JSON.stringify(opts));
  }
  for (const bad of [null, 'GET /', { method: 'GET' }, { method: '', url: 'https://x/' }, { method: 'GET', url: '/relative', headers: {} }]) {
    await assert.rejects(gate.verify(bad), { code: 'ERR_REQUEST_INVALID' }, JSON.stringify(bad));
  }
});

test('update: newer revisions replace atomically; bad pushes throw and keep the old set', async () => {
  const one = generateApiKey({ id: 'one' });
  const two = generateApiKey({ id: 'two' });
  const v1 = keySet(1, [one.entry]);
  const gate = await Keygate.load(v1);
  const ask = async (key) => (await gate.verify(get('https://x.example/a', key), { now: NOW })).reason ?? 'allowed';

  assert.deepEqual(await gate.update(v1), { changed: false, revision: 1, kind: 'full' });
  const rollback = await gate.update(keySet(1, [two.entry])).catch((e) => e);
  assert.equal(rollback.code, 'ERR_KEYSET_ROLLBACK');
  assert.equal(rollback.currentRevision, 1);
  const invalid = await gate.update({ ...keySet(2, [two.entry]), extra: true }).catch((e) => e);
  assert.equal(invalid.code, 'ERR_KEYSET_INVALID');
  assert.deepEqual(invalid.errors.map((e) => e.path), ['$.extra']);
  assert.equal(await ask(one.key), 'allowed', 'the old set still serves after refused pushes');
  assert.equal(await ask(two.key), 'unknown_key');

  const before = gate.info;
  const v2 = JSON.stringify(keySet(2, [two.entry]));
  assert.deepEqual(await gate.update(v2), { changed: true, revision: 2, kind: 'full' });
  assert.equal(gate.revision, 2);
  assert.notEqual(gate.info, before);
  assert.equal(gate.info.payloadSha256, createHash('sha256').update(v2).digest('base64url'));
  assert.equal(await ask(two.key), 'allowed');
  assert.equal(await ask(one.key), 'unknown_key');
  await assert.rejects(gate.update(keySet(1, [one.entry])), { code: 'ERR_KEYSET_ROLLBACK', currentRevision: 2 });
});

test('lint warnings: onWarning on load and update, and from checkKeySet judged at now', async () => {
  const warnings = [];
  const gate = await Keygate.load(DEMO_KEYSET, { onWarning: (w) => warnings.push(w) });
  assert.deepEqual(
    warnings.map((w) => [w.code, w.path]),
    [
      ['audience_missing', '$'],
      ['key_lifetime_long', '$.keys[0].expires_at'],
      ['key_lifetime_long', '$.keys[1].expires_at'],
      ['key_lifetime_long', '$.keys[2].expires_at'],
      ['key_never_expires', '$.keys[3]'],
    ],
  );
  assert.ok(warnings.every((w) => w.message.length > 0 && Object.isFrozen(w)));
  assert.deepEqual(checkKeySet(DEMO_KEYSET).warnings.map((w) => w.code), warnings.map((w) => w.code));
  warnings.length = 0;
  const k = generateApiKey({ id: 'short' });
  const inDays = (d) => new Date(Date.now() + d * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const forProd = { audience: 'api-prod' };
  await gate.update(keySet(2, [{ ...k.entry, expires_at: inDays(30) }], forProd));
  assert.deepEqual(warnings, [], 'a key living a month in a set naming its gateway raises nothing');
  await gate.update(keySet(3, [{ ...k.entry, expires_at: inDays(3) }], forProd));
  assert.deepEqual(warnings.map((w) => [w.code, w.path]), [['key_expiring_no_successor', '$.keys[0].expires_at']]);
  assert.deepEqual(checkKeySet(keySet(1, [k.entry])).warnings.map((w) => w.code), ['audience_missing', 'key_never_expires']);
  assert.deepEqual(checkKeySet(keySet(1, [k.entry], forProd)).warnings.map((w) => w.code), ['key_never_expires']);
  assert.throws(() => checkKeySet(DEMO_KEYSET, { now: 'today' }), { code: 'ERR_INVALID_OPTIONS' });
});

test('checkKeySet validates without loading', () => {
  const ok = checkKeySet(DEMO_KEYSET);
  assert.equal(ok.valid, true);
  assert.deepEqual(ok.errors, []);
  const r = checkKeySet('{"keygate": 1, "revision": 1, "keys": [], }');
  assert.equal(r.valid, false);
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0].path, '$');
  assert.deepEqual(checkKeySet(new Uint8Array([0xc3])).valid, false);
});
