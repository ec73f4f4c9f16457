// The package's cache of imported Ed25519 public keys (pkg/src/ed25519.js): keyed by the key's
// bytes (never by an index), the key used last found by comparing them, bounded in size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ed25519Keys, verifyEd25519 } from '../../pkg/src/ed25519.js';

const subtle = globalThis.crypto.subtle;

async function signer() {
  const pair = await subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
  const pk = new Uint8Array(await subtle.exportKey('raw', pair.publicKey));
  return { pk, sign: async (msg) => new Uint8Array(await subtle.sign('Ed25519', pair.privateKey, msg)) };
}

const job = (pk, sig, msg) => {
  const j = new Uint8Array(96 + msg.length);
  j.set(pk);
  j.set(sig, 32);
  j.set(msg, 96);
  return j;
};

test('imported keys are found by their bytes, the last one and the others alike', async () => {
  const keys = new Ed25519Keys();
  const [a, b] = [await signer(), await signer()];
  const msg = new TextEncoder().encode('"@method": GET');
  const [sa, sb] = [await a.sign(msg), await b.sign(msg)];
  assert.equal(keys.ready(a.pk), undefined, 'nothing imported yet');
  assert.equal(await verifyEd25519(job(a.pk, sa, msg), keys), 1);
  const ka = keys.ready(a.pk);
  assert.ok(ka, "A's key is held");
  assert.equal(keys.ready(b.pk), undefined, "B is not A (the last key's bytes differ)");
  assert.equal(await verifyEd25519(job(b.pk, sb, msg), keys), 1);
  // A signature of one key never verifies under the other, whichever was used last.
  for (let round = 0; round < 3; round++) {
    assert.equal(await verifyEd25519(job(a.pk, sb, msg), keys), 0);
    assert.equal(await verifyEd25519(job(b.pk, sa, msg), keys), 0);
    assert.equal(await verifyEd25519(job(a.pk, sa, msg), keys), 1);
    assert.equal(await verifyEd25519(job(b.pk, sb, msg), keys), 1);
  }
  // Found from a whole job too (its first 32 bytes), through the map as through the last key.
  assert.equal(keys.ready(job(b.pk, sb, msg)), keys.ready(b.pk));
  assert.equal(keys.ready(job(a.pk, sb, msg)), ka);
  assert.equal(keys.ready(job(b.pk, sa, msg)) !== ka, true);
  // Only the last byte differs: still another key.
  const near = a.pk.slice();
  near[31] ^= 0x01;
  assert.equal(keys.ready(near), undefined);
  assert.equal(keys.ready(a.pk), ka);
  assert.equal(keys.size, 2);
  keys.drop(ka);
  assert.equal(keys.ready(a.pk), undefined, 'a dropped key is imported again next time');
  assert.equal(keys.size, 1);
});

test('at most 4096 keys are kept, however many a key set holds; the oldest goes first', async () => {
  const keys = new Ed25519Keys();
  const pks = [];
  while (pks.length < 4097) {
    const p = await subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
    pks.push(new Uint8Array(await subtle.exportKey('raw', p.publicKey)));
  }
  for (const pk of pks.slice(0, 4096)) await keys.import(pk.slice());
  assert.equal(keys.size, 4096);
  assert.ok(keys.ready(pks[0]), 'the first key is held while there is room');
  await keys.import(pks[4096].slice());
  assert.equal(keys.size, 4096);
  assert.equal(keys.ready(pks[0]), undefined, 'the oldest was dropped');
  assert.ok(keys.ready(pks[1]));
  assert.ok(keys.ready(pks[4096]));
});
