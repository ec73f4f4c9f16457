// Layer 5: Ed25519 in Chromium (BoringSSL behind WebCrypto), both paths against verify_strict
// on the published edge cases, and the signed-request vectors through `gate.verify`: the shared
// runners (tests/js/ed25519-cases.mjs, tests/js/signature-cases.mjs) and the package
// (`keygate/init`) are loaded into a page from a static server on 127.0.0.1 (a secure context).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { ROOT, VECTORS, readJson } from '../js/helpers.mjs';
import { launch } from './page.mjs';

const FILES = { cctv: 'ed25519/cctv.json', speccheck: 'ed25519/speccheck.json', wycheproof: 'wycheproof/ed25519_test.json', rfc8032: 'rfc8032.json' };
const SERVED = ['pkg/wasm/', 'pkg/src/', 'tests/js/ed25519-cases.mjs', 'tests/js/signature-cases.mjs'];
const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };

let server;
let url;
let browser;

before(async () => {
  server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).slice(1);
    if (path === '') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>ed25519</title>');
      return;
    }
    if (!SERVED.some((p) => path === p || (p.endsWith('/') && path.startsWith(p)))) {
      res.writeHead(404).end();
      return;
    }
    const type = TYPES[path.slice(path.lastIndexOf('.'))] ?? 'application/octet-stream';
    res.writeHead(200, { 'content-type': type }).end(readFileSync(join(ROOT, path)));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${server.address().port}`;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve) ?? resolve());
});

test('in Chromium, both Ed25519 paths agree with verify_strict; signed requests decide as in Rust', { timeout: 60_000 }, async () => {
  const page = await browser.context.newPage();
  await page.goto(`${url}/`);
  const ed25519 = Object.fromEntries(Object.entries(FILES).map(([k, f]) => [k, readJson(join(VECTORS, f))]));
  const signatures = {
    keySet: readJson(join(VECTORS, 'signatures/keyset.json')),
    requests: readJson(join(VECTORS, 'signatures/requests.json')),
  };
  const out = await page.evaluate(async ({ ed25519, signatures }) => {
    const { Keygate, initWasm } = await import('/pkg/src/init.js');
    await initWasm('/pkg/wasm/keygate_bg.wasm');
    const glue = await import('/pkg/wasm/keygate.js');
    const { ed25519Cases, ed25519Mismatches } = await import('/tests/js/ed25519-cases.mjs');
    const { signatureMismatches } = await import('/tests/js/signature-cases.mjs');
    const cases = ed25519Cases(ed25519);
    return {
      secure: isSecureContext,
      ed25519: { cases: cases.length, ...(await ed25519Mismatches(cases, glue)) },
      signatures: await signatureMismatches(Keygate, signatures.keySet, signatures.requests),
    };
  }, { ed25519, signatures });
  assert.equal(out.secure, true);
  assert.equal(out.ed25519.cases, 914 + 12 + 151 + 5);
  assert.deepEqual(out.ed25519.wrong, []);
  assert.ok(out.ed25519.reachedRuntime > 200, `${out.ed25519.reachedRuntime} cases reached WebCrypto`);
  assert.deepEqual(out.signatures.wrong, []);
  assert.ok(out.signatures.cases >= 25);
});
