// Layer 3: request signing from JS (issue 4): every key form, the verifier's defaults, the
// options, checked by keygate's verifier and independently by node:crypto.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, createPublicKey, verify as edVerify, webcrypto } from 'node:crypto';
import { flattenedVerify, importJWK } from 'jose';
import { Keygate, KeygateError, createSignature, generateSigningKey, signKeySet, signRequest } from 'keygate';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const URL_ = 'https://api.example.com/v1/orders?id=7';
const ed = generateSigningKey({ alg: 'ed25519' });
const hm = generateSigningKey({ alg: 'hmac-sha256' });
const keySet = { keygate: 1, revision: 1, keys: [{ id: 'ed', signing: ed.signing }, { id: 'hm', signing: hm.signing }] };
const gate = await Keygate.load(keySet);

const post = (body = '{"qty": 2}', headers = { 'content-type': 'application/json' }) =>
  new Request(URL_, { method: 'POST', body, headers });
const params = (req) => req.headers.get('signature-input');

/** The Ed25519 seed as a PKCS#8 DER (RFC 8410), for WebCrypto and node:crypto. */
function pkcs8(seedB64) {
  return Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seedB64, 'base64url')]);
}

test('generateSigningKey: a 32-byte secret and the entry that verifies it', () => {
  assert.equal(Buffer.from(ed.key, 'base64url').length, 32);
  assert.deepEqual(Object.keys(ed.signing).sort(), ['alg', 'public_key']);
  assert.equal(ed.signing.alg, 'ed25519');
  const pub = createPublicKey({ key: pkcs8(ed.key), format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
  assert.equal(ed.signing.public_key, pub.x, 'the public key is the seed\'s');
  assert.deepEqual(hm.signing, { alg: 'hmac-sha256', secret: hm.key });
  assert.notEqual(generateSigningKey({ alg: 'ed25519' }).key, ed.key);
  for (const bad of [undefined, {}, { alg: 'rsa' }, { alg: 'ed25519', extra: 1 }]) {
    assert.throws(() => generateSigningKey(bad), { code: 'ERR_INVALID_OPTIONS' });
  }
});

test('every key form signs a request the verifier allows; the caller\'s request is untouched', async () => {
  const edCrypto = await webcrypto.subtle.importKey('pkcs8', pkcs8(ed.key), { name: 'Ed25519' }, false, ['sign']);
  const hmCrypto = await webcrypto.subtle.importKey('raw', Buffer.from(hm.key, 'base64url'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const forms = [
    ['ed25519 base64url seed', 'ed', { key: ed.key, alg: 'ed25519' }],
    ['ed25519 seed bytes', 'ed', { key: Buffer.from(ed.key, 'base64url'), alg: 'ed25519' }],
    ['ed25519 private JWK', 'ed', { key: { kty: 'OKP', crv: 'Ed25519', d: ed.key, x: ed.signing.public_key } }],
    ['keygen output (object)', 'ed', { key: { private_key: ed.key, signing: ed.signing } }],
    ['keygen output (text)', 'ed', { key: JSON.stringify({ private_key: ed.key, signing: ed.signing }) }],
    ['generateSigningKey output / keygen {key, signing}', 'ed', { key: ed }],
    ['hmac generateSigningKey output', 'hm', { key: hm }],
    ['non-extractable Ed25519 CryptoKey', 'ed', { key: edCrypto }],
    ['hmac base64url secret', 'hm', { key: hm.key, alg: 'hmac-sha256' }],
    ['hmac Uint8Array', 'hm', { key: new Uint8Array(Buffer.from(hm.key, 'base64url')) }],
    ['hmac JWK', 'hm', { key: { kty: 'oct', k: hm.key } }],
    ['non-extractable HMAC CryptoKey', 'hm', { key: hmCrypto }],
  ];
  for (const [name, keyId, opts] of forms) {
    for (const body of [null, 'hello body']) {
      const original = body === null ? new Request(URL_) : post(body, { 'content-type': 'text/plain' });
      const signed = await signRequest(original, { keyId, created: NOW, ...opts });
      assert.ok(signed instanceof Request, name);
      assert.notEqual(signed, original);
      assert.equal(original.headers.get('signature'), null, `${name}: the caller's headers are unchanged`);
      const d = await gate.verify(signed, { now: NOW });
      assert.deepEqual([d.allowed, d.keyId], [true, keyId], `${name} (body ${body !== null}): ${JSON.stringify(d)}`);
      if (body !== null) {
        assert.equal(original.bodyUsed, false, `${name}: the caller's body is not consumed`);
        assert.equal(await original.text(), body);
        assert.equal(await signed.text(), body, `${name}: the signed request carries the body`);
      }
    }
  }
});

test('defaults agree with the verifier; options reach Signature-Input', async () => {
  const get = await signRequest(new Request(URL_), { keyId: 'ed', key: ed.key, alg: 'ed25519', created: NOW });
  assert.equal(params(get), `sig1=("@method" "@target-uri");created=${NOW / 1000};keyid="ed";alg="ed25519"`);
  assert.equal(get.headers.get('content-digest'), null, 'no body, no digest');

  const body = '{"qty": 2}';
  const withBody = await signRequest(post(body), { keyId: 'hm', key: hm.key, alg: 'hmac-sha256', created: new Date(NOW) });
  assert.equal(params(withBody), `sig1=("@method" "@target-uri" "content-digest");created=${NOW / 1000};keyid="hm";alg="hmac-sha256"`);
  assert.equal(withBody.headers.get('content-digest'), `sha-256=:${createHash('sha256').update(body).digest('base64')}:`);

  const before = Math.floor(Date.now() / 1000);
  const now = await signRequest(new Request(URL_), { keyId: 'ed', key: ed.key, alg: 'ed25519' });
  const created = Number(/created=(\d+)/.exec(params(now))[1]);
  assert.ok(created >= before && created <= Math.ceil(Date.now() / 1000), 'created defaults to now');
  assert.equal((await gate.verify(now)).allowed, true);

  const all = await signRequest(post(body), {
    keyId: 'ed', key: ed.key, alg: 'ed25519', created: NOW, expires: NOW + 60_000,
    components: ['@method', '@target-uri', '@authority', '@path', '@query-param;name="id"', 'content-type', 'content-digest'],
    nonce: 'n-1', label: 'mine', tag: 'app',
  });
  assert.equal(
    params(all),
    `mine=("@method" "@target-uri" "@authority" "@path" "@query-param";name="id" "content-type" "content-digest");created=${NOW / 1000};expires=${NOW / 1000 + 60};keyid="ed";alg="ed25519";nonce="n-1";tag="app"`,
  );
  assert.match(all.headers.get('signature'), /^mine=:[A-Za-z0-9+/]+=*:$/);
  assert.equal((await gate.verify(all, { now: NOW })).allowed, true);

  const random = await signRequest(new Request(URL_), { keyId: 'ed', key: ed.key, alg: 'ed25519', nonce: true });
  const again = await signRequest(new Request(URL_), { keyId: 'ed', key: ed.key, alg: 'ed25519', nonce: true });
  const nonce = (r) => /nonce="([^"]+)"/.exec(params(r))[1];
  assert.match(nonce(random), /^[A-Za-z0-9_-]{22}$/, '128 random bits, base64url');
  assert.notEqual(nonce(random), nonce(again));
});

test('a second signature is appended to the existing fields; both verify', async () => {
  const one = await signRequest(new Request(URL_), { keyId: 'hm', key: hm.key, alg: 'hmac-sha256', created: NOW });
  const two = await signRequest(one, { keyId: 'ed', key: ed.key, alg: 'ed25519', created: NOW, label: 'sig2' });
  assert.match(params(two), /^sig1=\(.*, sig2=\(/);
  assert.match(two.headers.get('signature'), /^sig1=:.*:, sig2=:.*:$/);
  assert.equal((await gate.verify(two, { now: NOW })).keyId, 'hm');
  await assert.rejects(signRequest(one, { keyId: 'ed', key: ed.key, alg: 'ed25519' }), { code: 'ERR_SIGN_FAILED' }, 'label sig1 is taken');
});

test('createSignature: the headers and the signature base, checked by node:crypto', async () => {
  const body = 'a body';
  const out = await createSignature(post(body, { 'content-type': 'text/plain' }), { keyId: 'ed', key: ed.key, alg: 'ed25519', created: NOW });
  assert.deepEqual(out.headers.map(([n]) => n), ['Content-Digest', 'Signature-Input', 'Signature']);
  const input = out.headers[1][1];
  assert.equal(
    out.signatureBase,
    `"@method": POST\n"@target-uri": ${URL_}\n"content-digest": ${out.headers[0][1]}\n"@signature-params": ${input.slice('sig1='.length)}`,
  );
  const sig = Buffer.from(/^sig1=:(.*):$/.exec(out.headers[2][1])[1], 'base64');
  const pub = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: ed.signing.public_key }, format: 'jwk' });
  assert.ok(edVerify(null, Buffer.from(out.signatureBase), pub, sig), 'node:crypto verifies the Ed25519 signature over the base');
  assert.ok(Object.isFrozen(out) && Object.isFrozen(out.headers));

  const key = await webcrypto.subtle.importKey('raw', Buffer.from(hm.key, 'base64url'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const h = await createSignature(new Request(URL_), { keyId: 'hm', key, created: NOW });
  const tag = createHmac('sha256', Buffer.from(hm.key, 'base64url')).update(h.signatureBase).digest('base64');
  assert.equal(h.headers[1][1], `sig1=:${tag}:`, 'the CryptoKey path produces the HMAC of the base');
  const viaBytes = await createSignature(new Request(URL_), { keyId: 'hm', key: hm.key, alg: 'hmac-sha256', created: NOW });
  assert.deepEqual(viaBytes.headers, h.headers, 'CryptoKey and key bytes sign alike');
});

test('signing errors are KeygateErrors with precise codes', async () => {
  const verifyOnly = await webcrypto.subtle.importKey('raw', Buffer.from(hm.key, 'base64url'), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  const sha512 = await webcrypto.subtle.importKey('raw', Buffer.from(hm.key, 'base64url'), { name: 'HMAC', hash: 'SHA-512' }, false, ['sign']);
  const edKey = await webcrypto.subtle.importKey('pkcs8', pkcs8(ed.key), { name: 'Ed25519' }, false, ['sign']);
  const req = new Request(URL_);
  const cases = [
    [{ key: ed.key }, 'ERR_INVALID_OPTIONS', 'no keyId'],
    [{ keyId: '', key: ed.key }, 'ERR_INVALID_OPTIONS', 'empty keyId'],
    [{ keyId: 'ed', key: ed.key, alg: 'rsa' }, 'ERR_INVALID_OPTIONS', 'unknown alg'],
    [{ keyId: 'ed', key: ed.key, alg: 'ed25519', created: 'now' }, 'ERR_INVALID_OPTIONS', 'created as text'],
    [{ keyId: 'ed', key: ed.key, alg: 'ed25519', expires: new Date('x') }, 'ERR_INVALID_OPTIONS', 'invalid Date'],
    [{ keyId: 'ed', key: ed.key, alg: 'ed25519', components: '@method' }, 'ERR_INVALID_OPTIONS', 'components not a list'],
    [{ keyId: 'ed', key: ed.key, alg: 'ed25519', components: ['@nope'] }, 'ERR_INVALID_OPTIONS', 'unknown component'],
    [{ keyId: 'ed', key: ed.key, alg: 'ed25519', nonce: 1 }, 'ERR_INVALID_OPTIONS', 'nonce a number'],
    [{ keyId: 'ed', key: ed.key, alg: 'ed25519', digest: 'sha-512' }, 'ERR_INVALID_OPTIONS', 'unknown option'],
    [{ keyId: 'ed', key: 42 }, 'ERR_INVALID_OPTIONS', 'a number as key'],
    [{ keyId: 'ed', key: ed.key }, 'ERR_KEY_INVALID', 'a bare key without alg'],
    [{ keyId: 'ed', key: 'not base64!' , alg: 'ed25519' }, 'ERR_KEY_INVALID', 'garbage key'],
    [{ keyId: 'hm', key: new Uint8Array(16) }, 'ERR_KEY_INVALID', 'a short HMAC secret'],
    [{ keyId: 'ed', key: { kty: 'OKP', crv: 'Ed25519', d: ed.key, x: hm.key } }, 'ERR_KEY_INVALID', 'JWK x not of d'],
    [{ keyId: 'ed', key: edKey, alg: 'hmac-sha256' }, 'ERR_KEY_INVALID', 'CryptoKey of another algorithm'],
    [{ keyId: 'hm', key: verifyOnly }, 'ERR_KEY_INVALID', 'CryptoKey without sign'],
    [{ keyId: 'hm', key: sha512 }, 'ERR_KEY_INVALID', 'HMAC-SHA-512 CryptoKey'],
    [{ keyId: 'ed', key: ed.key, alg: 'ed25519', components: ['x-missing'] }, 'ERR_SIGN_FAILED', 'covered header absent'],
    [{ keyId: 'ed', key: ed.key, alg: 'ed25519', label: 'Upper' }, 'ERR_SIGN_FAILED', 'bad label'],
  ];
  for (const [opts, code, name] of cases) {
    const err = await signRequest(req, opts).catch((e) => e);
    assert.ok(err instanceof KeygateError, `${name}: ${err}`);
    assert.equal(err.code, code, `${name}: ${err.message}`);
    assert.ok(!err.message.includes(ed.key) && !err.message.includes(hm.key), `${name}: no key material in the message`);
  }
  await assert.rejects(signRequest(null, { keyId: 'ed', key: ed.key }), { code: 'ERR_REQUEST_INVALID' });
  await assert.rejects(createSignature(req, null), { code: 'ERR_INVALID_OPTIONS' });
});

test('signKeySet: an envelope keygate loads and jose verifies; key forms and errors', async () => {
  const pub = ed.signing.public_key;
  const forms = [ed.key, Buffer.from(ed.key, 'base64url'), { private_key: ed.key, signing: ed.signing }, ed, JSON.stringify({ kty: 'OKP', crv: 'Ed25519', d: ed.key, x: pub })];
  for (const key of forms) {
    const envelope = signKeySet(keySet, key);
    assert.equal(typeof envelope, 'string');
    const loaded = await Keygate.load(envelope, { publisherKeys: [pub] });
    assert.equal(loaded.revision, 1);
  }
  const text = JSON.stringify({ ...keySet, revision: 4 });
  const env = JSON.parse(signKeySet(text, ed.key, { kid: 'pub-1' }));
  const { payload, protectedHeader } = await flattenedVerify(env, await importJWK({ kty: 'OKP', crv: 'Ed25519', x: pub }, 'EdDSA'));
  assert.equal(new TextDecoder().decode(payload), text, 'the payload is the key set text as given');
  assert.deepEqual(protectedHeader, { alg: 'EdDSA', kid: 'pub-1' });
  await assert.rejects(Keygate.load(JSON.stringify(env), { publisherKeys: [{ kty: 'OKP', crv: 'Ed25519', x: pub, kid: 'pub-2' }] }), { code: 'ERR_ENVELOPE_SIGNATURE' });

  assert.throws(() => signKeySet({ keygate: 1, revision: 0, keys: [] }, ed.key), (e) => e.code === 'ERR_KEYSET_INVALID' && e.errors[0].path === '$.revision');
  assert.throws(() => signKeySet(keySet, 'nope'), { code: 'ERR_INVALID_OPTIONS' });
  // {key, signing}: the signing object must be an Ed25519 one, and agree with the key.
  assert.throws(() => signKeySet(keySet, hm), { code: 'ERR_INVALID_OPTIONS' });
  assert.throws(() => signKeySet(keySet, { key: ed.key, signing: generateSigningKey({ alg: 'ed25519' }).signing }), { code: 'ERR_INVALID_OPTIONS' });
  assert.throws(() => signKeySet(keySet, 7), { code: 'ERR_INVALID_OPTIONS' });
  assert.throws(() => signKeySet(keySet, ed.key, { kid: 3 }), { code: 'ERR_INVALID_OPTIONS' });
  assert.throws(() => signKeySet(keySet, ed.key, { kidd: 'x' }), { code: 'ERR_INVALID_OPTIONS' });
});
