// Layer 4: Ed25519 in workerd (BoringSSL behind WebCrypto), both paths against verify_strict
// on the published edge cases, and the signed-request vectors through `gate.verify`:
// tests/worker/fixtures/ed25519-worker.mjs, bundled by wrangler as a user's Worker is, runs
// tests/js/ed25519-cases.mjs and tests/js/signature-cases.mjs there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';
import { ROOT, VECTORS, readJson } from '../js/helpers.mjs';

const run = promisify(execFile);
const FILES = { cctv: 'ed25519/cctv.json', speccheck: 'ed25519/speccheck.json', wycheproof: 'wycheproof/ed25519_test.json', rfc8032: 'rfc8032.json' };
let dir;
let mf;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keygate-ed25519-'));
  const main = join(ROOT, 'tests/worker/fixtures/ed25519-worker.mjs');
  writeFileSync(join(dir, 'wrangler.toml'), `name = "keygate-ed25519"\nmain = ${JSON.stringify(main)}\ncompatibility_date = "2026-11-01"\n`);
  const env = { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', FORCE_COLOR: '0', NO_UPDATE_NOTIFIER: '1' };
  await run(process.execPath, [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', 'dist'], {
    cwd: dir, env, timeout: 90_000,
  });
  const dist = join(dir, 'dist');
  const wasm = readdirSync(dist).filter((f) => f.endsWith('.wasm'));
  assert.equal(wasm.length, 1, 'the wasm module is bundled');
  mf = new Miniflare(convertV4MiniflareOptions({
    modulesRoot: dist,
    modules: [
      { type: 'ESModule', path: join(dist, 'ed25519-worker.js') },
      { type: 'CompiledWasm', path: join(dist, wasm[0]) },
    ],
    compatibilityDate: '2026-11-01',
    handleStructuredLogs: () => {},
  }));
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
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
