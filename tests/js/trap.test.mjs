// Layer 3: a trap inside the wasm module (issue 4). A Rust panic aborts (panic = "abort"):
// the call throws a WebAssembly.RuntimeError and the instance may be inconsistent. keygate
// must fail that call closed (KeygateError ERR_INTERNAL), re-instantiate the module, and
// rebuild every verifier from its last good key set, so that later calls work.
//
// The facade has no panic to call (nothing an attacker sends may panic), so the test makes
// the real instance trap: the next call of a method is given an object pointer far outside
// the module's memory ("memory access out of bounds", a WebAssembly.RuntimeError as a panic's
// `unreachable` is).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keygate, KeygateError, checkKeySet, generateApiKey, generateSigningKey, signRequest } from 'keygate';
import { keySet } from './helpers.mjs';
import '../../pkg/src/wasm/node.js'; // instantiates the module the glue below belongs to
import * as glue from '../../pkg/wasm/keygate.js';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const url = 'https://api.example.com/v1/x';
const bearer = (key) => new Request(url, { headers: { authorization: `Bearer ${key}` } });

/** Makes the next call of `Class.prototype[method]` trap inside the real wasm instance. */
function trapNext(Class, method) {
  const real = Class.prototype[method];
  let trapped = null;
  Class.prototype[method] = function (...args) {
    Class.prototype[method] = real;
    const ptr = this.__wbg_ptr;
    this.__wbg_ptr = 0x7ffffff0;
    try {
      return real.apply(this, args);
    } catch (e) {
      trapped = e;
      throw e;
    } finally {
      this.__wbg_ptr = ptr;
    }
  };
  return () => trapped;
}

function isInternal(e) {
  return e instanceof KeygateError && e.code === 'ERR_INTERNAL';
}

test('a trap fails its call closed; the module is re-instantiated and the last good set serves', async () => {
  const [one, two, three, other] = ['one', 'two', 'three', 'other'].map((id) => generateApiKey({ id }));
  const gate = await Keygate.load(keySet(1, [one.entry]));
  await gate.update(keySet(2, [two.entry]));
  const second = await Keygate.load(keySet(5, [other.entry]));
  const ask = async (g, key) => (await g.verify(bearer(key), { now: NOW })).reason ?? 'allowed';
  // A raw facade object of the current instance: it must become unusable after a reset.
  const raw = new glue.WasmVerifier(new TextEncoder().encode(JSON.stringify(keySet(1, []))));

  const cause = trapNext(glue.WasmVerifier, 'run');
  const err = await gate.verify(bearer(two.key), { now: NOW }).catch((e) => e);
  assert.ok(cause() instanceof WebAssembly.RuntimeError, `the instance really trapped: ${cause()}`);
  assert.ok(isInternal(err), `the call fails closed with ERR_INTERNAL: ${err}`);
  assert.equal(err.cause, cause());
  assert.throws(() => raw.run(0, 0, 0), /stale object from previous Wasm instance/, 'the module was re-instantiated');

  assert.equal(await ask(gate, two.key), 'allowed', 'later calls work, with the last good set (revision 2)');
  assert.equal(await ask(gate, one.key), 'unknown_key');
  assert.equal(gate.revision, 2);
  assert.equal(await ask(second, other.key), 'allowed', 'every verifier is rebuilt, not only the one that trapped');
  assert.equal(checkKeySet(keySet(1, [])).valid, true);
  assert.match(generateApiKey().key, /^kg_/);

  // A trap in the middle of an update (verifying the new set, or swapping it in): the update
  // fails, the set in use stays.
  for (const step of ['prepare', 'commit']) {
    trapNext(glue.WasmVerifier, step);
    assert.ok(isInternal(await gate.update(keySet(3, [three.entry])).catch((e) => e)), step);
    assert.equal(gate.revision, 2, step);
  }
  assert.equal(await ask(gate, two.key), 'allowed');
  assert.equal(await ask(gate, three.key), 'unknown_key');
  assert.deepEqual(await gate.update(keySet(3, [three.entry])), { changed: true, revision: 3, kind: 'full' });
  assert.equal(await ask(gate, three.key), 'allowed');
});

test('a trap while a decision waits (for Ed25519, for the body\'s digests) fails closed too', async () => {
  const key = generateSigningKey({ alg: 'ed25519' });
  const gate = await Keygate.load(keySet(1, [{ id: 'c', signing: key.signing }]));
  const signed = () => signRequest(new Request(url, { method: 'POST', body: 'payload' }), { keyId: 'c', key: key.key, alg: 'ed25519', created: NOW });
  for (const method of ['run', 'resumeVerify', 'resumeBody']) {
    const cause = trapNext(glue.WasmVerifier, method);
    const err = await gate.verify(await signed(), { now: NOW }).catch((e) => e);
    assert.ok(cause() instanceof WebAssembly.RuntimeError, `${method}: the instance trapped`);
    assert.ok(isInternal(err), `${method}: ${err}`);
    const d = await gate.verify(await signed(), { now: NOW });
    assert.deepEqual([d.allowed, d.keyId], [true, 'c'], `${method}: the next request is decided`);
  }
});

test('the set rebuilt after a trap is the one loaded, even if the caller reused its buffer', async () => {
  const k = generateApiKey({ id: 'k' });
  const buffer = new TextEncoder().encode(JSON.stringify(keySet(1, [k.entry])));
  const gate = await Keygate.load(buffer);
  buffer.fill(0x20); // the caller reuses its buffer
  trapNext(glue.WasmVerifier, 'run');
  assert.ok(isInternal(await gate.verify(bearer(k.key), { now: NOW }).catch((e) => e)));
  const d = await gate.verify(bearer(k.key), { now: NOW });
  assert.deepEqual([d.allowed, d.keyId], [true, 'k']);
});
