// The package in a browser app built by Vite, run in Chromium (playwright-core, Debian's
// Chromium): a project with the installed tarball and two pages, one on the import-time
// default (`keygate`) and one on `keygate/init` with the module's URL from
// `keygate/keygate.wasm?url`. Each page decides an API-key request, an unknown key, a signed
// request and a tampered one, and shows the decisions.
//   1. Vite 8.3.8 (the repository's) production build, served by `vite preview`;
//   2. the Vite 8 dev server, where dependencies are pre-bundled;
//   3. the Vite 7 dev server (from npm, into the project), whose pre-bundling moves the code
//      away from the .wasm its `new URL(..., import.meta.url)` names: the case keygate/init
//      is for.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vite8 from 'vite';
import { freePort } from '../e2e/server.mjs';
import { launch } from '../e2e/page.mjs';
import { ENV, packAndInstall, run } from './tarball.mjs';

const VITE7 = 'vite@7.3.8';

let t;
let browser;

const DECIDE = `
const api = generateApiKey({ prefix: 'kg_live', id: 'reader' });
const sk = generateSigningKey({ alg: 'ed25519' });
const gate = await Keygate.load({ keygate: 1, revision: 1, keys: [{ ...api.entry, scopes: ['orders:read'] }, { id: 'client', signing: sk.signing }] });
const body = JSON.stringify({ qty: 2 });
const signed = await signRequest(new Request('https://api.example/v1/orders', { method: 'POST', body }), { keyId: 'client', key: sk.key, alg: 'ed25519' });
const decisions = [
  await gate.verify(new Request('https://api.example/v1/orders', { headers: { authorization: 'Bearer ' + api.key } })),
  await gate.verify(new Request('https://api.example/v1/orders', { headers: { authorization: 'Bearer kg_live_unknown' } })),
  await gate.verify(signed),
  await gate.verify(new Request(signed.url, { method: 'POST', headers: signed.headers, body: body.replace('2', '3') })),
];
result.decisions = decisions.map((d) => [d.status, d.reason ?? null, d.keyId ?? null]);
`;
const EXPECTED = [[200, null, 'reader'], [401, 'unknown_key', null], [200, null, 'client'], [401, 'digest_mismatch', 'client']];
const SHOW = `document.body.dataset.result = JSON.stringify(result);`;
const FAIL = (e) => `document.body.dataset.result = JSON.stringify({ error: String(${e}?.code ?? '') + ' ' + String(${e}?.message ?? ${e}) });`;

before(async () => {
  t = await packAndInstall('vite');
  const page = (name) => `<!doctype html>\n<html><head><meta charset="utf-8"><title>${name}</title></head>\n<body><script type="module" src="./${name}.js"></script></body></html>\n`;
  writeFileSync(join(t.app, 'default.html'), page('default'));
  writeFileSync(join(t.app, 'default.js'), `import { Keygate, generateApiKey, generateSigningKey, signRequest } from 'keygate';
const result = {};
try {
${DECIDE}
  ${SHOW}
} catch (e) { ${FAIL('e')} }
`);
  writeFileSync(join(t.app, 'init.html'), page('init'));
  writeFileSync(join(t.app, 'init.js'), `import { initWasm, Keygate, generateApiKey, generateSigningKey, signRequest } from 'keygate/init';
import wasmUrl from 'keygate/keygate.wasm?url';
const result = {};
try {
  // Nothing is instantiated at import: the first call says what to do.
  try { generateApiKey(); } catch (e) { result.before = e.code; }
  await initWasm(fetch(wasmUrl));
${DECIDE}
  ${SHOW}
} catch (e) { ${FAIL('e')} }
`);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  t?.remove();
});

const INPUT = () => ({ default: join(t.app, 'default.html'), init: join(t.app, 'init.html') });

/** Opens a page, waits for its result; returns it with the page errors and wasm fetches. */
async function open(url) {
  const page = await browser.context.newPage();
  const errors = [];
  const wasm = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && !/favicon/.test(m.location()?.url ?? '') && errors.push(m.text()));
  // The module's fetches (not a dev server's `?url` JavaScript module naming it).
  page.on('request', (r) => /\.wasm$/.test(new URL(r.url()).pathname) && r.resourceType() !== 'script' && wasm.push(new URL(r.url()).pathname));
  await page.goto(url);
  await page.waitForSelector('body[data-result]', { state: 'attached', timeout: 30_000 });
  const result = JSON.parse(await page.evaluate(() => document.body.dataset.result));
  await page.close();
  return { result, errors, wasm };
}

test('Vite 8 production build: both pages decide in Chromium; keygate/init instantiates only when asked', { timeout: 120_000 }, async () => {
  const outDir = join(t.app, 'dist');
  await vite8.build({ root: t.app, logLevel: 'silent', build: { outDir, rollupOptions: { input: INPUT() } } });
  assert.match(readFileSync(join(outDir, 'init.html'), 'utf8'), /<script type="module" crossorigin src="\/assets\/init-[\w-]+\.js">/);
  const server = await vite8.preview({ root: t.app, logLevel: 'silent', build: { outDir }, preview: { host: '127.0.0.1', port: await freePort(), strictPort: true } });
  try {
    const base = server.resolvedUrls.local[0];
    const d = await open(`${base}default.html`);
    assert.deepEqual(d.result, { decisions: EXPECTED }, JSON.stringify(d));
    assert.deepEqual(d.errors, []);
    assert.equal(d.wasm.length, 1, 'one wasm fetch, by the import-time loader');
    assert.match(d.wasm[0], /^\/assets\/keygate_bg-[\w-]+\.wasm$/);
    const i = await open(`${base}init.html`);
    assert.deepEqual(i.result, { before: 'ERR_WASM_NOT_INITIALIZED', decisions: EXPECTED }, JSON.stringify(i));
    assert.deepEqual(i.errors, []);
    assert.deepEqual(i.wasm, d.wasm, 'one fetch of the same asset, by initWasm');
  } finally {
    await new Promise((resolve) => server.httpServer.close(resolve));
  }
});

/** Starts a Vite dev server (this `vite` module) on the project; dependencies are pre-bundled. */
async function dev(vite) {
  const server = await vite.createServer({
    root: t.app,
    logLevel: 'silent',
    configFile: false,
    cacheDir: join(t.app, `node_modules/.vite-${vite.version}`),
    server: { host: '127.0.0.1', port: await freePort(), strictPort: true, hmr: false, watch: null },
    optimizeDeps: { include: ['keygate', 'keygate/init'] },
  });
  await server.listen();
  return server;
}

test('Vite 8 dev server (pre-bundled dependencies): both pages decide', { timeout: 120_000 }, async () => {
  const server = await dev(vite8);
  try {
    const base = server.resolvedUrls.local[0];
    const i = await open(`${base}init.html`);
    assert.deepEqual(i.result, { before: 'ERR_WASM_NOT_INITIALIZED', decisions: EXPECTED }, JSON.stringify(i));
    assert.deepEqual(i.errors, []);
    const d = await open(`${base}default.html`);
    assert.deepEqual(d.result, { decisions: EXPECTED }, JSON.stringify(d));
  } finally {
    await server.close();
  }
});

test('Vite 7 dev server: pre-bundled keygate/init with the ?url of keygate/keygate.wasm decides', { timeout: 180_000 }, async () => {
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-save', '--ignore-scripts', VITE7], {
    cwd: t.app, env: ENV, timeout: 120_000,
  });
  const vite7 = await import(join(t.app, 'node_modules/vite/dist/node/index.js'));
  assert.match(vite7.version, /^7\./);
  const server = await dev(vite7);
  try {
    const i = await open(`${server.resolvedUrls.local[0]}init.html`);
    assert.deepEqual(i.result, { before: 'ERR_WASM_NOT_INITIALIZED', decisions: EXPECTED }, JSON.stringify(i));
    assert.deepEqual(i.errors, []);
    assert.equal(i.wasm.length, 1, JSON.stringify(i.wasm));
  } finally {
    await server.close();
  }
});
