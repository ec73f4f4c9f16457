// Sealed secrets and JWK members through the package: `sealKeys` on Keygate.load (kept for
// updates), checkKeySet and the middleware; JWEs made by npm `jose` (the shared vectors, and
// fresh ones made here with a WebCrypto key) open and their secrets sign requests that pass;
// refusals are ERR_KEYSET_INVALID at the sealed value's path; nothing shows a plaintext. Keys as
// this runtime's WebCrypto exports them load as signing keys and publisher keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CompactEncrypt } from 'jose';
import { Keygate, checkKeySet, generateApiKey, generateSigningKey, signKeySet, signRequest } from 'keygate';
import { withKeygate } from 'keygate/worker';
import { VECTORS, keySet, readJson } from './helpers.mjs';

const jose = readJson(join(VECTORS, 'sealed/jose.json'));
const jwcrypto = readJson(join(VECTORS, 'sealed/jwcrypto.json'));
const b64urlBytes = (s) => new Uint8Array(Buffer.from(s, 'base64url'));
const sealedKey = (sealed, id = 'hm') => ({ id, signing: { alg: 'hmac-sha256', sealed } });

async function signedPost(secret, keyId = 'hm') {
  const req = new Request('https://api.example.com/v1/orders', { method: 'POST', body: '{"qty":1}' });
  return signRequest(req, { keyId, key: secret, alg: 'hmac-sha256' });
}

test('JWEs made by jose and jwcrypto open; their secrets sign requests that pass', async () => {
  for (const [name, doc] of [['jose', jose], ['jwcrypto', jwcrypto]]) {
    for (const c of doc.valid) {
      // The three spellings of the option: a JWKS object, its text, an array of JWKs.
      for (const sealKeys of [doc.seal_keys, JSON.stringify(doc.seal_keys), doc.seal_keys.keys]) {
        const gate = await Keygate.load(keySet(1, [sealedKey(c.sealed)]), { sealKeys });
        const d = await gate.verify(await signedPost(b64urlBytes(c.plaintext)));
        assert.equal(d.allowed, true, `${name} ${c.name}: ${d.reason} ${d.message}`);
        assert.equal(gate.info.sealed, 1);
        assert.deepEqual(gate.info.sealKeyIds, ['seal-2026-a', 'seal-2026-b']);
        assert.ok(!JSON.stringify(gate.info).includes(c.plaintext));
      }
    }
  }
});

test('a sealed secret without seal keys, or one that does not open, is refused at its path', async () => {
  const plaintexts = jose.valid.map((c) => c.plaintext);
  await assert.rejects(Keygate.load(keySet(1, [sealedKey(jose.valid[0].sealed)])), (e) => {
    assert.equal(e.code, 'ERR_KEYSET_INVALID');
    assert.equal(e.errors[0].path, '$.keys[0].signing.sealed');
    assert.match(e.errors[0].message, /sealKeys/);
    return true;
  });
  for (const c of [...jose.invalid, ...jwcrypto.invalid]) {
    await assert.rejects(Keygate.load(keySet(1, [sealedKey(c.sealed)]), { sealKeys: jose.seal_keys }), (e) => {
      assert.equal(e.code, 'ERR_KEYSET_INVALID', c.name);
      assert.equal(e.errors[0].path, '$.keys[0].signing.sealed', c.name);
      assert.ok(e.errors[0].message.includes(c.contains), `${c.name}: ${e.errors[0].message}`);
      for (const p of plaintexts) assert.ok(!e.message.includes(p) && !JSON.stringify(e.errors).includes(p));
      return true;
    });
  }
  for (const bad of ['{', { kty: 'oct', k: 'AAAA' }, [], 7]) {
    await assert.rejects(Keygate.load(keySet(1, [generateApiKey({ id: 'a' }).entry]), { sealKeys: bad }), {
      code: 'ERR_INVALID_OPTIONS',
    });
  }
});

test('updates open with the seal keys given at load; the set in use stays on a refusal', async () => {
  const [one, two] = jose.valid;
  const gate = await Keygate.load(keySet(1, [sealedKey(one.sealed)]), { sealKeys: jose.seal_keys });
  assert.deepEqual({ ...(await gate.update(keySet(2, [sealedKey(two.sealed)]))) }, { changed: true, revision: 2, kind: 'full' });
  assert.equal((await gate.verify(await signedPost(b64urlBytes(two.plaintext)))).allowed, true);
  await assert.rejects(gate.update(keySet(3, [sealedKey(jose.invalid[0].sealed)])), { code: 'ERR_KEYSET_INVALID' });
  assert.equal(gate.revision, 2);
  // A delta's added key opens with the same seal keys; one that does not open is refused at
  // its path in the delta, and the set in use stays.
  const sha = async (o) => Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(JSON.stringify(o)))).toString('base64url');
  const delta = async (revision, key) => ({
    keygate: 1,
    kind: 'delta',
    base: { revision: gate.revision, payload_sha256: gate.info.payloadSha256 },
    revision,
    payload_sha256: await sha(keySet(revision, [sealedKey(two.sealed), key])),
    changes: [{ op: 'add', key }],
  });
  await assert.rejects(gate.update(await delta(3, sealedKey(jose.invalid[0].sealed, 'hm3'))), (e) => {
    assert.equal(e.code, 'ERR_KEYSET_INVALID');
    assert.equal(e.errors[0].path, '$.changes[0].key.signing.sealed');
    return true;
  });
  assert.deepEqual({ ...(await gate.update(await delta(3, sealedKey(one.sealed, 'hm1')))) }, { changed: true, revision: 3, kind: 'delta' });
  assert.equal((await gate.verify(await signedPost(b64urlBytes(one.plaintext), 'hm1'))).allowed, true);
  assert.equal(gate.info.sealed, 2);
});

test('a JWE made here by jose with a WebCrypto AES-GCM key opens with that key as exported', async () => {
  const aes = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']);
  const jwk = { ...(await crypto.subtle.exportKey('jwk', aes)), kid: 'live-1' };
  const secret = generateSigningKey({ alg: 'hmac-sha256' }).key;
  const sealed = await new CompactEncrypt(new TextEncoder().encode(secret))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: 'live-1' })
    .encrypt(aes);
  const gate = await Keygate.load(keySet(1, [sealedKey(sealed)]), { sealKeys: jwk });
  assert.equal((await gate.verify(await signedPost(secret))).allowed, true);
});

test('checkKeySet: by form without seal keys (a warning), opened with them', () => {
  const set = keySet(1, [sealedKey(jose.valid[0].sealed)]);
  const form = checkKeySet(set);
  assert.equal(form.valid, true);
  assert.ok(form.warnings.some((w) => w.code === 'sealed_not_opened' && w.path === '$.keys[0].signing.sealed'));
  const opened = checkKeySet(set, { sealKeys: jose.seal_keys });
  assert.equal(opened.valid, true);
  assert.ok(!opened.warnings.some((w) => w.code === 'sealed_not_opened'));
  const wrong = checkKeySet(keySet(1, [sealedKey(jose.invalid[2].sealed)]), { sealKeys: jose.seal_keys });
  assert.equal(wrong.valid, false);
  assert.throws(() => checkKeySet(set, { sealKey: jose.seal_keys }), { code: 'ERR_INVALID_OPTIONS' });
  const clear = keySet(1, [sealedKey(jose.valid[0].sealed), { id: 'c', signing: generateSigningKey({ alg: 'hmac-sha256' }).signing }]);
  assert.ok(checkKeySet(clear).warnings.some((w) => w.code === 'secret_not_sealed' && w.path === '$.keys[1].signing.secret'));
});

test('the middleware opens sealed sets with sealKeys from env', async () => {
  const c = jose.valid[0];
  const make = () =>
    withKeygate((_req, _env, _ctx, d) => Response.json({ key: d.keyId }), {
      keySet: (env) => env.KS,
      sealKeys: (env) => env.KEYGATE_SEAL_KEYS,
      log: false,
    });
  const worker = make();
  const env = { KS: JSON.stringify(keySet(1, [sealedKey(c.sealed)])), KEYGATE_SEAL_KEYS: JSON.stringify(jose.seal_keys) };
  const res = await worker.fetch(await signedPost(b64urlBytes(c.plaintext)), env, { waitUntil() {} });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { key: 'hm' });
  // Without the seal keys the set does not load: 503, the set stays unavailable.
  const none = await make().fetch(await signedPost(b64urlBytes(c.plaintext)), { KS: env.KS }, { waitUntil() {} });
  assert.equal(none.status, 503);
  assert.equal((await none.json()).error, 'keyset_unavailable');
  // A fixed set with fixed seal keys is checked when the middleware is made.
  assert.throws(
    () => withKeygate(() => new Response(), { keySet: keySet(1, [sealedKey(jose.invalid[2].sealed)]), sealKeys: jose.seal_keys }),
    { code: 'ERR_KEYSET_INVALID' },
  );
});

test("this runtime's WebCrypto exports load as signing keys and publisher keys", async () => {
  const ed = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const hmac = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, true, ['sign', 'verify']);
  const edJwk = await crypto.subtle.exportKey('jwk', ed.publicKey);
  const hJwk = await crypto.subtle.exportKey('jwk', hmac);
  assert.deepEqual(edJwk.key_ops, ['verify']);
  const gate = await Keygate.load(
    keySet(1, [
      { id: 'ed', signing: { alg: 'ed25519', jwk: edJwk } },
      { id: 'hm', signing: { alg: 'hmac-sha256', jwk: hJwk } },
    ]),
  );
  const req = new Request('https://api.example.com/v1/x');
  assert.equal((await gate.verify(await signRequest(req, { keyId: 'ed', key: ed.privateKey }))).allowed, true);
  assert.equal((await gate.verify(await signRequest(req, { keyId: 'hm', key: hmac }))).allowed, true);
  const publisher = generateSigningKey({ alg: 'ed25519' });
  const pubJwk = { kty: 'OKP', crv: 'Ed25519', x: publisher.signing.public_key, key_ops: ['verify'], ext: true, alg: 'Ed25519' };
  const signed = signKeySet(keySet(1, [generateApiKey({ id: 'a' }).entry]), publisher.key);
  assert.equal((await Keygate.load(signed, { publisherKeys: [pubJwk] })).revision, 1);
  await assert.rejects(Keygate.load(keySet(1, [{ id: 'x', signing: { alg: 'ed25519', jwk: { ...edJwk, use: 'enc' } } }])), (e) => {
    assert.equal(e.errors[0].path, '$.keys[0].signing.jwk.use');
    return true;
  });
});
