// Layer 3: Ed25519 in Node, both paths against ed25519-dalek's verify_strict on the published
// edge cases (CCTV, speccheck, Wycheproof, RFC 8032; tests/js/ed25519-cases.mjs): the module
// alone, and the module's encoding checks followed by Node's WebCrypto (OpenSSL), which is
// the path `gate.verify` takes here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { VECTORS, readJson } from './helpers.mjs';
import { ed25519Cases, ed25519Mismatches } from './ed25519-cases.mjs';
import '../../pkg/src/wasm/node.js'; // instantiates the module the glue below belongs to
import * as glue from '../../pkg/wasm/keygate.js';

export const ED25519_FILES = {
  cctv: 'ed25519/cctv.json',
  speccheck: 'ed25519/speccheck.json',
  wycheproof: 'wycheproof/ed25519_test.json',
  rfc8032: 'rfc8032.json',
};

test('both Ed25519 paths agree with verify_strict on every published edge case', async () => {
  const docs = Object.fromEntries(Object.entries(ED25519_FILES).map(([k, f]) => [k, readJson(join(VECTORS, f))]));
  const cases = ed25519Cases(docs);
  assert.equal(cases.length, 914 + 12 + 151 + 5);
  const { wrong, reachedRuntime } = await ed25519Mismatches(cases, glue);
  assert.deepEqual(wrong, []);
  // The checks in front of WebCrypto leave it real work (and the valid cases).
  assert.ok(reachedRuntime > 200, `${reachedRuntime} cases reached WebCrypto`);
});
