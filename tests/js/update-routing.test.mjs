// gate.update reads a large input as a full set first (one copy of it into the module, not
// three) and asks whether it is a delta or a manifest only when that fails; a small one is asked
// first, as before. The answer must not depend on the order: each input here is given once as
// it is (small: asked first) and once padded with JSON whitespace past 64 KiB (read as a full
// set first), and both must end the same way — the same result, or the same error (code, wire
// error, status, message, every error path) with the set in use unchanged. Deltas (the shared
// vectors, signed and forged), manifests, full sets (newer, older, invalid, forged).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Keygate, KeygateError, generateSigningKey, signKeySet } from 'keygate';
import { VECTORS, readJson } from './helpers.mjs';

const DOC = readJson(join(VECTORS, 'deltas/deltas.json'));
const publisher = generateSigningKey({ alg: 'ed25519' });
const forger = generateSigningKey({ alg: 'ed25519' });
const PAD = 70 * 1024;
const BASE = JSON.parse(DOC.base); // (the vector gives the base set as text)

/** The document with PAD spaces before its closing brace: the same JSON, past the bound. */
const padded = (text) => `${text.slice(0, -1)}${' '.repeat(PAD)}}`;

/** What an update of `input` to a fresh verifier of the base ends in, and the state after. */
async function outcome(input, options) {
  const gate = await Keygate.load(options ? signKeySet(DOC.base, publisher.key) : DOC.base, options);
  let r;
  try {
    r = { ok: { ...(await gate.update(input)) } };
  } catch (e) {
    assert.ok(e instanceof KeygateError, String(e));
    r = { error: { code: e.code, error: e.error, status: e.status, message: e.message, errors: e.errors?.map((x) => [x.path, x.message]) ?? null } };
  }
  return { ...r, revision: gate.revision, keys: gate.info.keys };
}

async function same(name, text, options) {
  const small = await outcome(text, options);
  const large = await outcome(padded(text), options);
  assert.ok(padded(text).length > 64 * 1024 && text.length < 64 * 1024);
  assert.deepEqual(large, small, name);
  return small;
}

test('deltas, bare: every vector ends the same read either way', async () => {
  for (const c of DOC.cases) {
    const r = await same(c.name, JSON.stringify(c.delta));
    assert.equal(r.error?.error, c.expect.error, `${c.name}: as the vector says`);
  }
});

test('deltas, signed and forged: the same either way', async () => {
  const options = { publisherKeys: [publisher.signing.public_key] };
  for (const c of DOC.cases.slice(0, 3)) {
    // (the padding goes inside the signed document, so the signature covers it)
    const text = JSON.stringify(c.delta);
    const signed = signKeySet(padded(text), publisher.key);
    const smallSigned = signKeySet(text, publisher.key);
    const [a, b] = [await outcome(smallSigned, options), await outcome(signed, options)];
    assert.deepEqual(b, a, `${c.name}: signed`);
    assert.equal(a.ok?.kind, 'delta', c.name);
    const forged = await outcome(signKeySet(padded(text), forger.key), options);
    assert.deepEqual(forged, await outcome(signKeySet(text, forger.key), options), `${c.name}: forged`);
    assert.equal(forged.error.error, 'envelope_signature_invalid');
  }
});

test("manifests and documents with a kind: the same refusal either way", async () => {
  const r = await same('a manifest', JSON.stringify({ keygate: 1, kind: 'manifest', revision: 9, issued_at: DOC.now, bits: 2, shards: { d: [], i: [] }, keys: 0 }));
  assert.equal(r.error.message, "a sharded key set's manifest: load it with Keygate.load and options.shards");
  assert.equal(r.revision, 5);
  for (const kind of ['delta', 'full', 'keyset', 7]) {
    const text = JSON.stringify({ ...BASE, revision: 6, kind });
    const k = await same(`a key set with kind ${JSON.stringify(kind)}`, text);
    assert.equal(k.error?.error, 'keyset_invalid', `kind ${kind}`);
  }
});

test('full sets: newer, the same, older, invalid, forged: the same either way', async () => {
  const base = BASE;
  const newer = await same('newer', JSON.stringify({ ...base, revision: 6 }));
  assert.deepEqual(newer.ok, { changed: true, revision: 6, kind: 'full' });
  assert.equal((await same('older', JSON.stringify({ ...base, revision: 4 }))).error.error, 'keyset_rollback');
  const invalid = await same('invalid', JSON.stringify({ ...base, revision: 6, keys: [...base.keys, { id: 'x', api_key_hash: 'sha256:short' }] }));
  assert.equal(invalid.error.error, 'keyset_invalid');
  assert.ok(invalid.error.errors.length > 0);
  const options = { publisherKeys: [publisher.signing.public_key] };
  const text = JSON.stringify({ ...base, revision: 6 });
  assert.deepEqual(await outcome(signKeySet(padded(text), publisher.key), options), { ...(await outcome(signKeySet(text, publisher.key), options)) }, 'signed');
  const forged = await outcome(signKeySet(padded(text), forger.key), options);
  assert.deepEqual(forged, await outcome(signKeySet(text, forger.key), options), 'forged');
  assert.equal(forged.error.error, 'envelope_signature_invalid');
  assert.equal((await same('not JSON', '{"keygate": 1, "revision": x, "keys": []}')).error.error, 'keyset_invalid');
});
