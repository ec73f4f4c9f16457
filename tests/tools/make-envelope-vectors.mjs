// Regenerates tests/vectors/envelopes/envelopes.json with an independent JOSE implementation
// (the npm `jose` package), so keygate's envelope checks are tested against someone else's
// signer. Run from the repository root with jose installed:
//   npm install --no-save jose@6 && node tests/tools/make-envelope-vectors.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { FlattenedSign, GeneralSign, importJWK, exportJWK, generateKeyPair, calculateJwkThumbprint } from 'jose';

// RFC 8037 Appendix A.1 example key (public test key).
const rfcJwk = {
  kty: 'OKP', crv: 'Ed25519',
  d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A',
  x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
};
const rfcKey = await importJWK(rfcJwk, 'EdDSA');
const rfcThumb = await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: rfcJwk.x });
const other = await generateKeyPair('EdDSA', { extractable: true });
const otherPub = await exportJWK(other.publicKey);

const payload = readFileSync('tests/vectors/keysets/valid_full.json');
const payloadInvalid = Buffer.from(JSON.stringify({ keygate: 1, revision: 0, keys: [] }));
const enc = new TextEncoder();

const flat = (p, header, key) => new FlattenedSign(p).setProtectedHeader(header).sign(key);
const cases = [];
const add = (name, envelope, publisher_keys, expect) => cases.push({ name, publisher_keys, expect, envelope });

add('flattened, kid = RFC 7638 thumbprint', await flat(payload, { alg: 'EdDSA', kid: rfcThumb }, rfcKey), rfcJwk.x, { revision: 7 });
add('flattened, no kid: every pinned key is tried', await flat(payload, { alg: 'EdDSA' }, rfcKey), `${otherPub.x},${rfcJwk.x}`, { revision: 7 });
add('flattened, kid from a pinned JWKS', await flat(payload, { alg: 'EdDSA', kid: 'publisher-2026' }, rfcKey),
  JSON.stringify({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: rfcJwk.x, kid: 'publisher-2026' }] }), { revision: 7 });
{
  const g = new GeneralSign(payload);
  g.addSignature(other.privateKey).setProtectedHeader({ alg: 'EdDSA', kid: 'unknown-signer' });
  g.addSignature(rfcKey).setProtectedHeader({ alg: 'EdDSA', kid: rfcThumb });
  add('general serialization: one of two signatures verifies', await g.sign(), rfcJwk.x, { revision: 7 });
}
add('kid naming no pinned key', await flat(payload, { alg: 'EdDSA', kid: 'someone-else' }, rfcKey), rfcJwk.x, { error: 'envelope_signature_invalid' });
add('signed by a key that is not pinned', await flat(payload, { alg: 'EdDSA' }, other.privateKey), rfcJwk.x, { error: 'envelope_signature_invalid' });
{
  const e = await flat(payload, { alg: 'EdDSA' }, rfcKey);
  const tampered = JSON.parse(payload.toString()); tampered.revision = 8;
  e.payload = Buffer.from(JSON.stringify(tampered)).toString('base64url');
  add('payload changed after signing', e, rfcJwk.x, { error: 'envelope_signature_invalid' });
}
add('HS256 instead of EdDSA (algorithm confusion)', await flat(payload, { alg: 'HS256' }, enc.encode('x'.repeat(32))), rfcJwk.x, { error: 'envelope_signature_invalid' });
add('unencoded payload (b64: false, crit)', await flat(payload, { alg: 'EdDSA', b64: false, crit: ['b64'] }, rfcKey), rfcJwk.x, { error: 'envelope_signature_invalid' });
add('valid signature over an invalid key set', await flat(payloadInvalid, { alg: 'EdDSA' }, rfcKey), rfcJwk.x, { error: 'keyset_invalid' });
add('not an envelope: payload missing', { protected: 'e30', signature: 'AA' }, rfcJwk.x, { error: 'envelope_invalid' });

const doc = {
  description: 'Key set envelopes produced by the npm `jose` package (an independent JOSE implementation). ' +
    'publisher_keys is the KEYGATE_PUBLISHER_KEYS configuration text. expect is {revision} when the envelope ' +
    'loads, or {error: code}. The first payload is tests/vectors/keysets/valid_full.json byte for byte. ' +
    'The RFC 8037 A.1 example key signs; its private key is public test data.',
  generator: 'tests/tools/make-envelope-vectors.mjs (jose 6)',
  rfc8037_private_jwk: rfcJwk,
  cases,
};
writeFileSync('tests/vectors/envelopes/envelopes.json', JSON.stringify(doc, null, 1) + '\n');
console.log(`wrote ${cases.length} cases`);
