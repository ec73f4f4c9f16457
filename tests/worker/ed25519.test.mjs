// Layer 4: Ed25519 in workerd (BoringSSL behind WebCrypto), both paths against verify_strict
// on the published edge cases, and the signed-request vectors through `gate.verify`:
// tests/worker/fixtures/ed25519-worker.mjs, bundled by wrangler as a user's Worker is, runs
// tests/js/ed25519-cases.mjs and tests/js/signature-cases.mjs there.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { VECTORS, readJson } from '../js/helpers.mjs';
import { fixtureWorker } from './helpers.mjs';

const FILES = { cctv: 'ed25519/cctv.json', speccheck: 'ed25519/speccheck.json', wycheproof: 'wycheproof/ed25519_test.json', rfc8032: 'rfc8032.json' };
let mf;

before(async () => {
  mf = await fixtureWorker('ed25519-worker');
});

test('in workerd, both Ed25519 paths agree with verify_strict; signed requests decide as in Rust', async () => {
  const ed25519 = Object.fromEntries(Object.entries(FILES).map(([k, f]) => [k, readJson(join(VECTORS, f))]));
  const signatures = {
    keySet: readJson(join(VECTORS, 'signatures/keyset.json')),
    requests: readJson(join(VECTORS, 'signatures/requests.json')),
  };
  const res = await mf.dispatchFetch('http://ed25519.test/', { method: 'POST', body: JSON.stringify({ ed25519, signatures }) });
  assert.equal(res.status, 200, await res.clone().text());
  const out = await res.json();
  assert.equal(out.ed25519.cases, 914 + 12 + 151 + 5);
  assert.deepEqual(out.ed25519.wrong, []);
  assert.ok(out.ed25519.reachedRuntime > 200, `${out.ed25519.reachedRuntime} cases reached WebCrypto`);
  assert.deepEqual(out.signatures.wrong, []);
  assert.ok(out.signatures.cases >= 25);
});
