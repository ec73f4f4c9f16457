// Layer 3: what a first load and a first decision show, pinned where the cold path was made
// cheaper (BENCHMARKS.md, "The first request, the JavaScript side"): `gate.info` and a
// decision's key fields come from the module as numbers and hand-written JSON instead of
// serde's, times are written in JS as the crate writes them, `payloadSha256` is base64url
// written without regular expressions, and a decision that waits continues outside `verify`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Keygate, generateApiKey, generateSigningKey, signRequest } from 'keygate';
import { base64url, rfc3339 } from '../../pkg/src/errors.js';
import { get, keySet } from './helpers.mjs';

const URL_ = 'https://api.example.com/v1/orders/7';

test('base64url writes what Buffer writes, for every length and byte', () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  for (let n = 0; n <= 67; n++) {
    const bytes = all.subarray(256 - n);
    assert.equal(base64url(bytes), Buffer.from(bytes).toString('base64url'), `${n} bytes`);
    assert.equal(base64url(bytes.slice().buffer), Buffer.from(bytes).toString('base64url'), `${n} bytes as an ArrayBuffer`);
  }
  for (let seed = 1; seed < 200; seed++) {
    const bytes = createHash('sha256').update(String(seed)).digest();
    assert.equal(base64url(bytes), bytes.toString('base64url'));
  }
});

test('times are written as the crate writes them, to the ends of the years 0000..=9999', () => {
  assert.equal(rfc3339(0), '1970-01-01T00:00:00Z');
  assert.equal(rfc3339(-1), '1969-12-31T23:59:59Z');
  assert.equal(rfc3339(1_764_374_400), '2025-11-29T00:00:00Z');
  assert.equal(rfc3339(-62_167_219_200), '0000-01-01T00:00:00Z');
  assert.equal(rfc3339(253_402_300_799), '9999-12-31T23:59:59Z');
  assert.equal(rfc3339(Number.NaN), null);
  // Across the range, at a varying day of the month and second of the day, as Date writes it.
  for (let s = -62_167_219_200 + 86_399; s <= 253_402_300_799; s += 86_400 * 29 + 3_607) {
    assert.equal(rfc3339(s), `${new Date(s * 1000).toISOString().slice(0, 19)}Z`, `${s}`);
  }
  for (const y of [0, 1, 4, 99, 100, 400, 1600, 1900, 1969, 1970, 2000, 2024, 2100, 2400, 9999]) {
    for (const [m, d] of [[1, 1], [2, 28], [2, 29], [3, 1], [12, 31]]) {
      const date = new Date(0);
      date.setUTCFullYear(y, m - 1, d);
      if (date.getUTCMonth() !== m - 1) continue; // no 29 February that year
      const s = date.getTime() / 1000;
      assert.equal(rfc3339(s), `${date.toISOString().slice(0, 19)}Z`, `${y}-${m}-${d}`);
    }
  }
});

test('gate.info after a load and an update shows the set as before', async () => {
  const a = generateApiKey({ id: 'a' });
  const set = keySet(7, [a.entry], { issued_at: '2026-11-29T00:00:00+01:00', expires_at: '9999-12-31T23:59:59Z' });
  const text = JSON.stringify(set);
  const gate = await Keygate.load(text);
  const sha = createHash('sha256').update(text).digest('base64url');
  assert.deepEqual({ ...gate.info }, {
    revision: 7, issuedAt: '2026-11-28T23:00:00Z', expiresAt: '9999-12-31T23:59:59Z', keys: 1, sealed: 0, sealKeyIds: [], payloadSha256: sha,
  });
  assert.ok(Object.isFrozen(gate.info) && Object.isFrozen(gate.info.sealKeyIds));
  await gate.update(keySet(2 ** 53 - 1, [a.entry]));
  assert.deepEqual({ ...gate.info, payloadSha256: undefined }, {
    revision: 2 ** 53 - 1, issuedAt: null, expiresAt: null, keys: 1, sealed: 0, sealKeyIds: [], payloadSha256: undefined,
  });
});

test('a decision shows the key\'s name, meta and expiry exactly as the set holds them', async () => {
  const name = 'q"b\\s/t\tn\nc\u0001\u001fé\u2028😀';
  const meta = { tier: 'gold', n: [1, -2.5, 1e300, 0.1], s: '\u0000"', nested: { empty: {}, list: [] }, z: null };
  const a = generateApiKey({ id: 'k.1:_-' });
  const b = generateApiKey({ id: 'b' });
  const c = generateApiKey({ id: 'c' });
  const gate = await Keygate.load(keySet(1, [
    { ...a.entry, name, meta, expires_at: '9999-12-31T23:59:59Z', scopes: ['orders:read', 'orders/*'] },
    { ...b.entry, expires_at: '2099-01-01T00:00:00+02:00' },
    c.entry,
  ]));
  const d = await gate.verify(get(URL_, a.key));
  assert.equal(d.allowed, true);
  assert.deepEqual(
    { keyId: d.keyId, name: d.name, meta: d.meta, expiresAt: d.expiresAt, scopes: d.scopes },
    { keyId: 'k.1:_-', name, meta, expiresAt: '9999-12-31T23:59:59Z', scopes: ['orders:read', 'orders/*'] },
  );
  assert.ok(Object.isFrozen(d.meta) && Object.isFrozen(d.meta.n) && Object.isFrozen(d.meta.nested.empty) && Object.isFrozen(d.scopes));
  const e = await gate.verify(get(URL_, b.key));
  assert.deepEqual([e.name, e.meta, e.expiresAt], [null, null, '2098-12-31T22:00:00Z']);
  const f = await gate.verify(get(URL_, c.key));
  assert.deepEqual([f.name, f.meta, f.expiresAt, f.scopes], [null, null, null, []]);
});

test('a decision that waits for the nonce store continues after verify\'s first call as before', async () => {
  const NOW = Date.parse('2026-11-29T12:00:00Z');
  const sig = generateSigningKey({ alg: 'hmac-sha256' });
  const gate = await Keygate.load(keySet(1, [{ id: 'signer', signing: sig.signing, scopes: ['orders:read'] }]));
  const seen = new Set();
  const claims = [];
  const nonceStore = {
    async claim(c) {
      claims.push(c);
      if (c.nonce === 'boom') throw new Error('store down');
      if (seen.has(c.nonce)) return false;
      seen.add(c.nonce);
      return true;
    },
  };
  const signed = (nonce) => signRequest(new Request(URL_), { keyId: 'signer', key: sig.key, alg: 'hmac-sha256', created: NOW, nonce });
  const ok = await gate.verify(await signed('n-1'), { now: NOW, nonceStore });
  assert.deepEqual([ok.allowed, ok.keyId, ok.signature.params.nonce], [true, 'signer', 'n-1']);
  const again = await gate.verify(await signed('n-1'), { now: NOW, nonceStore });
  assert.deepEqual([again.allowed, again.status, again.reason], [false, 401, 'nonce_replayed']);
  await assert.rejects(gate.verify(await signed('boom'), { now: NOW, nonceStore }), { code: 'ERR_NONCE_STORE' });
  // The replay is refused by the verifier's own record of the nonce, without asking the store.
  assert.deepEqual(claims.map((c) => [c.keyId, c.nonce, c.kind]), [['signer', 'n-1', 'signature'], ['signer', 'boom', 'signature']]);
  // An unsigned request and a refusal end on the first call.
  const a = generateApiKey({ id: 'a' });
  await gate.update(keySet(2, [a.entry, { id: 'signer', signing: sig.signing }]));
  assert.equal((await gate.verify(get(URL_, a.key), { nonceStore })).allowed, true);
  assert.equal((await gate.verify(get(URL_, 'kg_nothing_here'), { nonceStore })).reason, 'unknown_key');
  assert.equal(claims.length, 2);
});
