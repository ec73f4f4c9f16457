// Sealed key set secrets with the npm `jose` package, both directions.
//
// 1. jose seals an HMAC secret (JWE compact, dir + A256GCM) under a seal key made by
//    `keygate keygen seal-key` -> `keygate keyset check --seal-key` loads the set, and
//    `keygate verify --seal-key` allows a request signed with that secret (and, without the
//    seal key, refuses to load the set at the sealed value's path).
// 2. `keygate keyset seal` seals a set's clear secrets -> jose's compactDecrypt opens every
//    one of them to exactly the clear secret it replaced.
//
// Usage: node js_sealed.mjs KEYGATE_BINARY WORK_DIR

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompactEncrypt, compactDecrypt, importJWK } from 'jose';

const [KEYGATE, workRoot] = process.argv.slice(2);
const WORK = join(workRoot, 'js-sealed');
mkdirSync(WORK, { recursive: true });
const path = (n) => join(WORK, n);
const keygate = (args, expect = 0) => {
  const out = spawnSync(KEYGATE, args);
  if (out.status !== expect) throw new Error(`keygate ${args.join(' ')}: exit ${out.status}, expected ${expect}: ${out.stderr}`);
  return out;
};
let failures = 0;
const check = (ok, what) => {
  console.log(`${ok ? 'ok' : 'FAIL'} js sealed: ${what}`);
  if (!ok) failures++;
};

keygate(['keygen', 'seal-key', '--kid', 'seal-js', '--out', path('seal.jwk')]);
const sealJwk = JSON.parse(readFileSync(path('seal.jwk')));
const aes = await importJWK(sealJwk, 'A256GCM');

// 1. jose seals, keygate opens.
const hmac = JSON.parse(keygate(['keygen', 'hmac']).stdout);
writeFileSync(path('hmac.json'), JSON.stringify(hmac));
const sealed = await new CompactEncrypt(new TextEncoder().encode(hmac.key))
  .setProtectedHeader({ enc: 'A256GCM', alg: 'dir', kid: 'seal-js' })
  .encrypt(aes);
writeFileSync(path('ks.json'), JSON.stringify({ keygate: 1, revision: 1, keys: [{ id: 'hm', signing: { alg: 'hmac-sha256', sealed } }] }));
keygate(['keyset', 'check', path('ks.json'), '--seal-key', path('seal.jwk')]);
check(true, 'keyset check --seal-key loads a set sealed by jose');
writeFileSync(path('req.http'), 'POST /v1/orders HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json\r\n\r\n{"qty":1}');
const signed = keygate(['sign', '--key', path('hmac.json'), '--keyid', 'hm', '--request', path('req.http')]).stdout;
writeFileSync(path('signed.http'), signed);
const d = JSON.parse(keygate(['verify', '--keyset', path('ks.json'), '--seal-key', path('seal.jwk'), '--request', path('signed.http')]).stdout);
check(d.allowed === true && d.key_id === 'hm', 'verify allows a request signed with the secret jose sealed');
const refused = keygate(['verify', '--keyset', path('ks.json'), '--request', path('signed.http')], 2);
check(String(refused.stderr).includes('$.keys[0].signing.sealed'), 'verify without --seal-key refuses the set at the sealed path');

// 2. keygate seals, jose opens.
keygate(['keyset', 'new', path('clear.json')]);
keygate(['keyset', 'add', path('clear.json'), '--id', 'a', '--signing', 'hmac-sha256', '--out', path('a.json')]);
keygate(['keyset', 'add', path('clear.json'), '--id', 'b', '--signing', 'hmac-sha256', '--out', path('b.json')]);
const clear = JSON.parse(readFileSync(path('clear.json')));
keygate(['keyset', 'seal', path('clear.json'), '--seal-key', path('seal.jwk')]);
const after = JSON.parse(readFileSync(path('clear.json')));
for (const [i, entry] of after.keys.entries()) {
  const { plaintext, protectedHeader } = await compactDecrypt(entry.signing.sealed, aes);
  check(
    new TextDecoder().decode(plaintext) === clear.keys[i].signing.secret && protectedHeader.kid === 'seal-js',
    `jose opens keyset seal's JWE for key ${entry.id}`,
  );
}
if (failures) process.exit(1);
