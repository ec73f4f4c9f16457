// Layer 3: the shared JSON vectors (the Rust tests run the same files) through the npm
// package imported as plain Node ESM.
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { dirname, join, basename } from 'node:path';
import { Keygate, KeygateError, checkKeySet, hashApiKey } from 'keygate';
import { VECTORS, readJson, readText, vectorFiles } from './helpers.mjs';

function keySetOf(v) {
  if ('keyset_text' in v) return v.keyset_text;
  return JSON.stringify(v.keyset);
}

test('every valid_*.json key set loads', async () => {
  const files = vectorFiles('keysets', 'valid_');
  assert.ok(files.length >= 3, `only ${files.length} valid key sets`);
  for (const f of files) {
    const gate = await Keygate.load(readText(f));
    assert.equal(gate.revision, readJson(f).revision, basename(f));
    const check = checkKeySet(readText(f));
    assert.equal(check.valid, true, basename(f));
    assert.deepEqual(check.errors, [], basename(f));
  }
});

test('every invalid_*.json key set is refused with exactly its documented errors', async () => {
  const files = vectorFiles('keysets', 'invalid_');
  assert.ok(files.length >= 10, `only ${files.length} invalid key sets`);
  for (const f of files) {
    const v = readJson(f);
    const name = basename(f);
    const err = await Keygate.load(keySetOf(v)).then(
      () => assert.fail(`${name} loaded but should fail`),
      (e) => e,
    );
    assert.ok(err instanceof KeygateError, `${name}: ${err}`);
    assert.equal(err.code, 'ERR_KEYSET_INVALID', name);
    const actual = [...err.errors];
    for (const exp of v.errors) {
      const i = actual.findIndex((e) => e.path === exp.path && e.message.includes(exp.contains));
      assert.notEqual(i, -1, `${name}: no error at ${exp.path} containing ${JSON.stringify(exp.contains)}; got ${JSON.stringify(err.errors)}`);
      actual.splice(i, 1);
    }
    assert.deepEqual(actual, [], `${name}: unexpected extra errors`);
    // checkKeySet reports the same list without throwing.
    const check = checkKeySet(keySetOf(v));
    assert.equal(check.valid, false, name);
    assert.deepEqual(check.errors, err.errors.map((e) => ({ ...e })), name);
    assert.deepEqual(check.warnings, [], `${name}: no lints for an invalid set`);
  }
});

test('request vectors decide as the Rust verifier does', async () => {
  let count = 0;
  let skipped = 0;
  for (const f of vectorFiles('requests')) {
    const doc = readJson(f);
    const gate = await Keygate.load(readText(join(dirname(f), doc.keyset)));
    for (const c of doc.cases) {
      const name = `${basename(f)}: ${c.name}`;
      if (c.wire_only) {
        // Not expressible as a WHATWG Request (e.g. an invalid header name): the Request
        // constructor itself must refuse it, so it cannot reach keygate through this API.
        assert.throws(() => new Request(c.request.url, { method: c.request.method, headers: c.request.headers }), name);
        skipped++;
        continue;
      }
      const r = c.request;
      const request = new Request(r.url, { method: r.method, headers: r.headers, body: r.body ?? null });
      const d = await gate.verify(request, { clientIp: c.client_ip, now: new Date(c.now ?? doc.now) });
      const exp = c.expect;
      assert.equal(d.allowed, exp.allowed, `${name}: ${JSON.stringify(d)}`);
      assert.equal(d.status, exp.status, `${name}: ${JSON.stringify(d)}`);
      assert.equal(d.reason ?? null, exp.reason ?? null, name);
      assert.equal(d.keyId ?? null, exp.key_id, name);
      if (exp.allowed) {
        assert.deepEqual([...d.scopes], exp.scopes, name);
      } else {
        assert.ok(d.message.length > 0, `${name}: a refusal explains itself`);
        if (d.status === 401) assert.match(d.headers['WWW-Authenticate'] ?? '', /^Bearer realm="keygate"/, name);
        else assert.equal(d.headers['WWW-Authenticate'], undefined, `${name}: only 401s challenge`);
      }
      count++;
    }
  }
  assert.ok(count >= 40, `only ${count} cases ran`);
  assert.ok(skipped < count, 'most cases must run');
});

/** Checks a JS decision against a vector's `expect` (the Rust runners check the same). */
function assertDecision(name, d, exp) {
  assert.equal(d.allowed, exp.allowed, `${name}: ${JSON.stringify(d)}`);
  assert.equal(d.status, exp.status, `${name}: ${JSON.stringify(d)}`);
  assert.equal(d.reason ?? null, exp.reason ?? null, `${name}: ${JSON.stringify(d)}`);
  assert.equal(d.keyId ?? null, exp.key_id, name);
  if ('path' in exp) assert.equal(d.path ?? null, exp.path, `${name}: judged path`);
  if ('accept_signature' in exp) {
    assert.equal(d.headers?.['Accept-Signature'] ?? null, exp.accept_signature, `${name}: Accept-Signature`);
  }
  if (exp.allowed) assert.deepEqual([...d.scopes], exp.scopes, name);
  else assert.ok(d.message.length > 0, `${name}: a refusal explains itself`);
}

// tests/vectors/attacks/: every case twice. As a request-like object the URL reaches the
// verifier as spelled (as from a raw HTTP reader): the Rust expectation. As a WHATWG Request
// the URL parser has already rewritten some spellings (backslashes, tabs, dot segments): the
// vector's `whatwg.path` says what the parser makes of it, and `whatwg.expect` the decision.
test('attack vectors: as spelled, and as a WHATWG Request reads them', async () => {
  let spelled = 0;
  let parsed = 0;
  let rewritten = 0;
  for (const f of vectorFiles('attacks').filter((f) => 'cases' in readJson(f))) {
    const doc = readJson(f);
    const gate = await Keygate.load(readText(join(dirname(f), doc.keyset)));
    for (const c of doc.cases) {
      const name = `${basename(f)}: ${c.name}`;
      const r = c.request;
      const options = { clientIp: c.client_ip, now: new Date(c.now ?? doc.now) };
      const d = await gate.verify({ method: r.method, url: r.url, headers: r.headers }, options);
      assertDecision(`${name} (as spelled)`, d, c.expect);
      spelled++;
      const request = new Request(r.url, { method: r.method, headers: r.headers });
      const pathname = new URL(r.url).pathname;
      if (c.whatwg) {
        assert.equal(pathname, c.whatwg.path, `${name}: the WHATWG URL parser reads ${r.url} as ${pathname}`);
        rewritten++;
      }
      const w = await gate.verify(request, options);
      assertDecision(`${name} (WHATWG Request)`, w, c.whatwg?.expect ?? c.expect);
      parsed++;
    }
  }
  assert.ok(spelled >= 100 && parsed === spelled, `${spelled} spelled, ${parsed} parsed`);
  assert.ok(rewritten >= 5, `only ${rewritten} cases the WHATWG parser rewrites`);
});

test('API key format vectors: digests and shapes', async () => {
  const doc = readJson(join(dirname(vectorFiles('requests')[0]), '../apikey/format.json'));
  for (const k of doc.keys) assert.equal(hashApiKey(k.api_key), k.api_key_hash, k.api_key);
  // Shapes, observed through decisions: a keygate-format key with a bad checksum is refused
  // offline as malformed; anything else is looked up (and unknown here).
  const gate = await Keygate.load({ keygate: 1, revision: 1, keys: [] });
  const expectFor = { valid: 'unknown_key', legacy: 'unknown_key', bad_checksum: 'malformed_credentials' };
  for (const c of doc.classify) {
    const d = await gate.verify(new Request('https://x.example/', { headers: { 'x-api-key': c.key } }));
    assert.equal(d.reason, expectFor[c.shape], `${c.key} (${c.shape})`);
  }
});

// The wire codes of the vectors and the KeygateError codes the JS API throws for them.
const ENVELOPE_ERRORS = {
  envelope_invalid: 'ERR_ENVELOPE_INVALID',
  envelope_signature_invalid: 'ERR_ENVELOPE_SIGNATURE',
  keyset_invalid: 'ERR_KEYSET_INVALID',
};

test('envelope vectors (signed by npm jose): load with pinned publisher keys, or the right error', async () => {
  const doc = readJson(join(dirname(vectorFiles('requests')[0]), '../envelopes/envelopes.json'));
  assert.ok(doc.cases.length >= 8);
  for (const c of doc.cases) {
    // Text and parsed object are the same input to the API.
    for (const input of [JSON.stringify(c.envelope), c.envelope]) {
      const result = await Keygate.load(input, { publisherKeys: c.publisher_keys }).then(
        (gate) => ({ revision: gate.revision }),
        (e) => {
          assert.ok(e instanceof KeygateError, `${c.name}: ${e}`);
          return { code: e.code };
        },
      );
      if ('revision' in c.expect) assert.deepEqual(result, { revision: c.expect.revision }, c.name);
      else assert.deepEqual(result, { code: ENVELOPE_ERRORS[c.expect.error] }, c.name);
    }
  }
  // An envelope without pinned keys cannot be trusted: refused as unusable options.
  const signed = doc.cases.find((c) => 'revision' in c.expect);
  await assert.rejects(Keygate.load(signed.envelope), { code: 'ERR_INVALID_OPTIONS' });
  // With pinned keys a plain (unsigned) key set is refused too.
  const plain = readText(join(VECTORS, 'keysets/valid_full.json'));
  await assert.rejects(Keygate.load(plain, { publisherKeys: signed.publisher_keys }), { code: 'ERR_ENVELOPE_INVALID' });
  // ...and the pin holds for updates: an unsigned push to a pinned verifier is refused.
  const gate = await Keygate.load(signed.envelope, { publisherKeys: [signed.publisher_keys] });
  const payload = Buffer.from(signed.envelope.payload, 'base64url');
  assert.equal(gate.info.payloadSha256, createHash('sha256').update(payload).digest('base64url'), 'digest of the signed payload');
  await assert.rejects(gate.update(plain), { code: 'ERR_ENVELOPE_INVALID' });
  assert.equal(gate.revision, 7);
  await assert.rejects(Keygate.load(plain, { publisherKeys: [42] }), { code: 'ERR_INVALID_OPTIONS' });
});

test('a key whose text says what it is, pasted into another member, is never quoted (keysets/secrets_by_form.json)', async () => {
  const { keysets: cases } = readJson(join(VECTORS, 'keysets/secrets_by_form.json'));
  assert.ok(cases.length >= 8);
  for (const c of cases) {
    const r = checkKeySet(c.keyset_text);
    assert.equal(r.valid, false, c.name);
    assert.equal(r.errors.length, c.expect.errors, `${c.name}: ${JSON.stringify(r.errors)}`);
    assert.ok(r.errors.some((e) => e.path.startsWith(c.expect.contains)), `${c.name}: ${JSON.stringify(r.errors)}`);
    const shown = JSON.stringify(r.errors);
    for (const secret of c.expect.secrets_not_shown) assert.ok(!shown.includes(secret), `${c.name}: ${shown}`);
    assert.ok(shown.includes('<secret>'), `${c.name}: ${shown}`);
    // The same through Keygate.load's error.
    await assert.rejects(Keygate.load(c.keyset_text), (e) => {
      assert.equal(e.code, 'ERR_KEYSET_INVALID', c.name);
      const text = `${e.message} ${JSON.stringify(e.errors ?? [])}`;
      for (const secret of c.expect.secrets_not_shown) assert.ok(!text.includes(secret), `${c.name}: ${text}`);
      return true;
    });
  }
});
