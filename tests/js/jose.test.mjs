// Signed key sets against an independent JOSE implementation (npm jose), live in both
// directions: jose signs and keygate loads; keygate signs and jose verifies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlattenedSign, flattenedVerify, importJWK, generateKeyPair, exportJWK, calculateJwkThumbprint } from 'jose';
import { Keygate, KeygateError } from 'keygate';
import { join } from 'node:path';
import { ROOT, readText } from './helpers.mjs';
import '../../pkg/src/wasm/node.js'; // instantiates the module the glue below uses
import * as wasm from '../../pkg/wasm/keygate.js';

const keySetText = readText(join(ROOT, 'tests/vectors/keysets/valid_full.json'));
const enc = new TextEncoder();

test('an envelope signed by jose loads; a tampered one is refused with ERR_ENVELOPE_SIGNATURE', async () => {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
  const jwk = await exportJWK(publicKey);
  const envelope = await new FlattenedSign(enc.encode(keySetText)).setProtectedHeader({ alg: 'EdDSA' }).sign(privateKey);
  const gate = await Keygate.load(JSON.stringify(envelope), { publisherKeys: [jwk.x] });
  assert.equal(gate.info.revision, 7);
  const tampered = { ...envelope, payload: Buffer.from(keySetText.replace('"revision": 7', '"revision": 8')).toString('base64url') };
  await assert.rejects(Keygate.load(JSON.stringify(tampered), { publisherKeys: [jwk.x] }), (e) => e instanceof KeygateError && e.code === 'ERR_ENVELOPE_SIGNATURE');
});

test("keygate's envelope verifies with jose, kid = RFC 7638 thumbprint", async () => {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
  const priv = await exportJWK(privateKey);
  const pub = await exportJWK(publicKey);
  const envelope = JSON.parse(wasm.signEnvelope(keySetText, JSON.stringify({ ...priv, kty: 'OKP', crv: 'Ed25519' })));
  const { payload, protectedHeader } = await flattenedVerify(envelope, await importJWK(pub, 'EdDSA'));
  assert.equal(new TextDecoder().decode(payload), keySetText);
  assert.equal(protectedHeader.alg, 'EdDSA');
  assert.equal(protectedHeader.kid, await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: pub.x }));
});
