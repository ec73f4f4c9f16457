// Layer 3: deltas through Keygate#update (the shared vectors, also run by Rust natively and in
// wasm), signed deltas, the digest that names a state, the chain bound, and a trap after
// deltas (the rebuilt verifier re-applies them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Keygate, KeygateError, generateSigningKey, signKeySet } from 'keygate';
import { VECTORS, readJson } from './helpers.mjs';
import '../../pkg/src/wasm/node.js';
import * as glue from '../../pkg/wasm/keygate.js';

const DOC = readJson(join(VECTORS, 'deltas/deltas.json'));
const NOW = Date.parse(DOC.now);
const url = 'https://api.example.com/x';

async function outcome(gate, apiKey) {
  const d = await gate.verify(new Request(url, { headers: { authorization: `Bearer ${apiKey}` } }), { now: NOW });
  return d.allowed ? d.keyId : d.reason;
}

const sha = (text) => createHash('sha256').update(text).digest('base64url');

test('the delta vectors through Keygate#update: results, every error path, decisions after', async () => {
  for (const c of DOC.cases) {
    const gate = await Keygate.load(DOC.base);
    assert.equal(gate.info.payloadSha256, DOC.base_payload_sha256, 'WebCrypto and Python agree on the base digest');
    // Every key asked once before the delta: keys found recently are remembered by position,
    // and a delta moves positions (a removal swaps the last key in); none may be found stale.
    for (const r of c.requests) await outcome(gate, r.api_key);
    const text = JSON.stringify(c.delta);
    const got = await gate.update(text).catch((e) => e);
    if (c.expect.error) {
      assert.ok(got instanceof KeygateError, `${c.name}: ${got}`);
      assert.equal(got.error, c.expect.error, c.name);
      assert.equal(got.status, c.expect.error === 'keyset_invalid' ? 400 : 409, c.name);
      const code = { delta_base_mismatch: 'ERR_DELTA_BASE', keyset_rollback: 'ERR_KEYSET_ROLLBACK' }[c.expect.error] ?? 'ERR_KEYSET_INVALID';
      assert.equal(got.code, code, c.name);
      for (const e of c.expect.errors ?? []) {
        assert.ok(got.errors.some((x) => x.path === e.path && x.message.includes(e.contains)), `${c.name}: ${e.path} in ${JSON.stringify(got.errors)}`);
      }
      if (c.expect.errors) assert.equal(got.errors.length, c.expect.errors.length, c.name);
      if (code === 'ERR_DELTA_BASE') {
        assert.equal(got.currentRevision, 5);
        assert.equal(got.currentPayloadSha256, DOC.base_payload_sha256);
      }
      assert.equal(gate.revision, 5, `${c.name}: the base stays in use`);
      assert.equal(gate.info.payloadSha256, DOC.base_payload_sha256);
    } else {
      assert.deepEqual({ ...got }, { changed: true, revision: c.expect.revision, kind: 'delta' }, c.name);
      assert.equal(gate.info.keys, c.expect.keys, c.name);
      assert.equal(gate.info.payloadSha256, c.delta.payload_sha256, `${c.name}: the state is named by the delta's target`);
      assert.equal(gate.info.issuedAt, c.delta.issued_at);
      if (c.twice) assert.deepEqual({ ...(await gate.update(text)) }, { changed: false, revision: c.expect.revision, kind: 'delta' });
    }
    for (const r of c.requests) assert.equal(await outcome(gate, r.api_key), r.expect, `${c.name}: ${r.api_key}`);
  }
});

test('signed deltas: signKeySet signs them, publisher keys authenticate them, a full set then replaces the chain', async () => {
  const publisher = generateSigningKey({ alg: 'ed25519' });
  const other = generateSigningKey({ alg: 'ed25519' });
  const base = JSON.parse(DOC.base);
  const opts = { publisherKeys: [publisher.signing.public_key] };
  const gate = await Keygate.load(signKeySet(base, publisher.key), opts);
  const baseSha = gate.info.payloadSha256;
  const fresh = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const revoke = { ...DOC.cases[0].delta, base: { revision: 5, payload_sha256: baseSha }, issued_at: fresh };
  // Unsigned, or signed by another key: refused like a key set.
  await assert.rejects(gate.update(JSON.stringify(revoke)), { code: 'ERR_ENVELOPE_INVALID' });
  await assert.rejects(gate.update(signKeySet(revoke, other.key)), { code: 'ERR_ENVELOPE_SIGNATURE' });
  // signKeySet validates deltas as deltas.
  assert.throws(() => signKeySet({ ...revoke, changes: [{ op: 'nope' }] }, publisher.key), (e) => e.code === 'ERR_KEYSET_INVALID' && e.errors[0].path.startsWith('$.changes[0]'));
  const envelope = signKeySet(revoke, publisher.key);
  assert.ok(envelope.length <= 2048, `a one-key revocation signed: ${envelope.length} bytes`);
  assert.deepEqual({ ...(await gate.update(envelope, { maxAgeSeconds: 900 })) }, { changed: true, revision: 6, kind: 'delta' });
  assert.equal(await outcome(gate, 'delta-vector-key-b-0001'), 'key_revoked');
  // A pushed delta must be fresh, like a pushed set.
  const stale = { ...revoke, base: { revision: 6, payload_sha256: revoke.payload_sha256 }, revision: 7, issued_at: '2026-01-01T00:00:00Z', changes: [] };
  await assert.rejects(gate.update(signKeySet(stale, publisher.key), { maxAgeSeconds: 900 }), { code: 'ERR_ENVELOPE_STALE', error: 'envelope_stale' });
  // The full revision 7 the publisher holds replaces the chain; its digest names the state.
  const full = { ...base, revision: 7 };
  const r = await gate.update(signKeySet(full, publisher.key));
  assert.deepEqual({ ...r }, { changed: true, revision: 7, kind: 'full' });
  assert.equal(gate.info.payloadSha256, sha(JSON.stringify(full)));
  assert.equal(await outcome(gate, 'delta-vector-key-b-0001'), 'b');
});

test('a verifier that applied MAX_DELTA_CHAIN deltas since its full set refuses more: ERR_DELTA_CHAIN_FULL', async () => {
  const gate = await Keygate.load(DOC.base);
  let base = { revision: 5, payload_sha256: DOC.base_payload_sha256 };
  const step = (n) => {
    const target = sha(`state ${n}`);
    const d = { keygate: 1, kind: 'delta', base, revision: base.revision + 1, payload_sha256: target, changes: [] };
    base = { revision: d.revision, payload_sha256: target };
    return JSON.stringify(d);
  };
  for (let i = 0; i < 4096; i++) await gate.update(step(i));
  assert.equal(gate.revision, 5 + 4096);
  const e = await gate.update(step(4096)).catch((x) => x);
  assert.equal(e.code, 'ERR_DELTA_CHAIN_FULL');
  assert.deepEqual([e.error, e.status], ['delta_chain_full', 409]);
  assert.equal(gate.revision, 5 + 4096, 'nothing applied');
});

test('after a trap, the verifier is rebuilt from the last full set and the deltas applied since', async () => {
  const gate = await Keygate.load(DOC.base);
  await gate.update(JSON.stringify(DOC.cases[0].delta)); // revoke b
  const real = glue.WasmVerifier.prototype.run;
  glue.WasmVerifier.prototype.run = function (...args) {
    glue.WasmVerifier.prototype.run = real;
    const ptr = this.__wbg_ptr;
    this.__wbg_ptr = 0x7ffffff0;
    try {
      return real.apply(this, args);
    } finally {
      this.__wbg_ptr = ptr;
    }
  };
  const e = await outcome(gate, 'delta-vector-key-a-0001').catch((x) => x);
  assert.equal(e.code, 'ERR_INTERNAL');
  assert.equal(await outcome(gate, 'delta-vector-key-b-0001'), 'key_revoked', 'the delta survives the trap');
  assert.equal(await outcome(gate, 'delta-vector-key-a-0001'), 'a');
  assert.equal(gate.revision, 6);
  // The rebuilt verifier knows its state's digest: the next delta of the chain applies.
  const next = { ...DOC.cases[0].delta, base: { revision: 6, payload_sha256: DOC.cases[0].delta.payload_sha256 }, revision: 7, payload_sha256: sha('7'), changes: [{ op: 'remove', id: 'c' }] };
  assert.equal((await gate.update(JSON.stringify(next))).revision, 7);
  assert.equal(await outcome(gate, 'delta-vector-key-c-0001'), 'unknown_key');
});
