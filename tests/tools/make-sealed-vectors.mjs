// Regenerates tests/vectors/sealed/jose.json: sealed key set secrets (JWE compact, alg "dir",
// enc "A256GCM") made by an independent JOSE implementation, the npm `jose` package, so
// keygate's opening is tested against someone else's sealer. Also JWEs keygate must refuse,
// made by the same library. Run from the repository root with jose installed:
//   npm install --no-save jose@6 && node tests/tools/make-sealed-vectors.mjs
import { writeFileSync } from 'node:fs';
import { CompactEncrypt, importJWK } from 'jose';

// Fixed test seal keys (public test material: never use them to seal anything real).
const k1 = { kty: 'oct', kid: 'seal-2026-a', k: 'ZWHWHkq7k3cV8LwB1W8lAO1aB5T5sK3yMx1l0yJx5Ck', use: 'enc', alg: 'dir' };
const k2 = { kty: 'oct', kid: 'seal-2026-b', k: 'q0aMSeLdKp1N2V4u1kYtQ5bBfQG7cQ0b7c1m8xvLr8E' };
const k128 = { kty: 'oct', kid: 'seal-128', k: 'AAECAwQFBgcICQoLDA0ODw' };
const enc = new TextEncoder();
const b64url = (b) => Buffer.from(b).toString('base64url');
// HMAC secrets as the key set writes them (base64url text): 32 and 64 bytes.
const secret32 = b64url(Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 7 + 3) & 0xff)));
const secret64 = b64url(Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 13 + 1) & 0xff)));

const key = async (jwk) => importJWK(jwk, jwk === k128 ? 'A128GCM' : 'A256GCM');
const seal = async (text, header, jwk) => new CompactEncrypt(enc.encode(text)).setProtectedHeader(header).encrypt(await key(jwk));

const valid = [];
const addValid = async (name, text, header, jwk) => valid.push({ name, kid: jwk.kid, plaintext: text, sealed: await seal(text, header, jwk) });
await addValid('alg, enc, kid', secret32, { alg: 'dir', enc: 'A256GCM', kid: k1.kid }, k1);
await addValid('kid first, typ and cty (ignored)', secret64, { kid: k2.kid, typ: 'JWE', cty: 'text/plain', enc: 'A256GCM', alg: 'dir' }, k2);
await addValid('second key of the set', secret32, { enc: 'A256GCM', alg: 'dir', kid: k2.kid }, k2);

const invalid = [];
const addInvalid = (name, sealed, contains) => invalid.push({ name, sealed, contains });
const good = valid[0].sealed;
const parts = good.split('.');
const flip = (s) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
addInvalid('tag altered', [...parts.slice(0, 4), flip(parts[4])].join('.'), 'does not decrypt with seal key "seal-2026-a"');
addInvalid('ciphertext altered', [...parts.slice(0, 3), flip(parts[3]), parts[4]].join('.'), 'does not decrypt');
addInvalid('kid names no configured key', await seal(secret32, { alg: 'dir', enc: 'A256GCM', kid: 'seal-2025' }, { ...k1, kid: 'seal-2025' }), 'no seal key with kid "seal-2025"');
addInvalid('sealed under another key with the same kid', await seal(secret32, { alg: 'dir', enc: 'A256GCM', kid: k1.kid }, { ...k2, kid: k1.kid }), 'does not decrypt with seal key "seal-2026-a"');
addInvalid('enc A128GCM', await seal(secret32, { alg: 'dir', enc: 'A128GCM', kid: k128.kid }, k128), 'enc "A128GCM" is not supported');
const kw = await new CompactEncrypt(enc.encode(secret32)).setProtectedHeader({ alg: 'A256KW', enc: 'A256GCM', kid: k1.kid }).encrypt(await importJWK({ ...k1, alg: 'A256KW' }, 'A256KW'));
addInvalid('alg A256KW (a wrapped key)', kw, 'alg "A256KW" is not supported');
addInvalid('no kid', await seal(secret32, { alg: 'dir', enc: 'A256GCM' }, k1), '"kid" missing');
addInvalid('crit', await seal(secret32, { alg: 'dir', enc: 'A256GCM', kid: k1.kid, crit: ['exp'], exp: 1 }, k1).catch(() => null), '"crit"');
addInvalid('plaintext is not base64url', await seal('not base64url!', { alg: 'dir', enc: 'A256GCM', kid: k1.kid }, k1), 'decrypts to an invalid secret: invalid base64url character at byte 3');
addInvalid('plaintext is a 16-byte secret', await seal(b64url(Buffer.alloc(16, 1)), { alg: 'dir', enc: 'A256GCM', kid: k1.kid }, k1), 'decrypts to an invalid secret: an hmac-sha256 secret needs at least 32 bytes, this one has 16');

const doc = {
  _comment: 'JWE compact (RFC 7516) sealed secrets made by npm jose 6 CompactEncrypt (tests/tools/make-sealed-vectors.mjs); plaintext is the clear field\'s text (base64url secret)',
  seal_keys: { keys: [k1, k2] },
  valid,
  invalid: invalid.filter((c) => c.sealed !== null),
};
writeFileSync('tests/vectors/sealed/jose.json', `${JSON.stringify(doc, null, 1)}\n`);
console.log(`${valid.length} valid, ${doc.invalid.length} invalid`);
