// The package as users get it (issue 5): `npm pack` pkg/, install the tarball into a fresh
// project (offline: the package has no dependencies), and there
//   1. import it from Node (Node 22, and the system Node 20 when present) and verify a
//      signed request;
//   2. bundle a Worker that imports it with `wrangler deploy --dry-run` and run the bundle in
//      workerd (Miniflare);
//   3. import it in a Hono app and run requests.
// Everything lives in a temporary directory that is removed at the end; every child process
// has a time limit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';
import { generateApiKey } from 'keygate';
import { ROOT } from '../js/helpers.mjs';

const run = promisify(execFile);
const ENV = { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', FORCE_COLOR: '0', NO_UPDATE_NOTIFIER: '1' };
const NPM = 'npm';
let dir;
let app;
let packed;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keygate-pack-'));
  const { stdout } = await run(NPM, ['pack', '--json', '--pack-destination', dir], { cwd: join(ROOT, 'pkg'), env: ENV, timeout: 60_000 });
  [packed] = JSON.parse(stdout);
  app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'keygate-user', private: true, type: 'module' }));
  await run(NPM, ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', join(dir, packed.filename)], {
    cwd: app, env: ENV, timeout: 60_000,
  });
  // Hono is the user's own dependency (an optional peer of keygate): the one already installed
  // here, linked rather than fetched.
  symlinkSync(join(ROOT, 'node_modules/hono'), join(app, 'node_modules/hono'), 'dir');
});

after(() => dir && rmSync(dir, { recursive: true, force: true }));

test('the tarball: named keygate, with the wasm, the glue and the declarations, nothing else', () => {
  assert.equal(packed.name, 'keygate');
  const files = packed.files.map((f) => f.path).sort();
  for (const f of ['package.json', 'README.md', 'wasm/keygate_bg.wasm', 'wasm/keygate.js', 'src/index.js', 'src/index.d.ts',
    'src/worker.d.ts', 'src/hono.d.ts', 'src/gateway.d.ts', 'src/wire.js', 'src/forward.js', 'src/edge.d.ts', 'src/wasm/node.js', 'src/wasm/workerd.js', 'src/wasm/browser.js']) {
    assert.ok(files.includes(f), `${f} is in the package`);
  }
  assert.deepEqual(files.filter((f) => !/^(src\/|wasm\/keygate(_bg\.wasm|\.js)$|package\.json$|README\.md$)/.test(f)), []);
  assert.ok(packed.size < 1024 * 1024, `${packed.size} bytes packed`);
  const installed = join(app, 'node_modules/keygate');
  assert.ok(lstatSync(installed).isDirectory() && !lstatSync(installed).isSymbolicLink(), 'installed from the tarball, not linked');
  // No `any` in the public surface: every declaration file, comments aside.
  for (const f of files.filter((x) => x.endsWith('.d.ts'))) {
    const code = readFileSync(join(installed, f), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    assert.doesNotMatch(code, /\bany\b/, `${f} declares no any`);
  }
});

// A key set with an Ed25519 signing key and an API key, and a client that signs with the
// package's own signRequest: the same script runs in Node and (bundled) in workerd.
const CLIENT = `
import { Keygate, generateApiKey, generateSigningKey, signRequest } from 'keygate';
export async function scenario() {
  const sk = generateSigningKey({ alg: 'ed25519' });
  const api = generateApiKey({ prefix: 'kg_live', id: 'reader' });
  const keySet = { keygate: 1, revision: 1, keys: [{ id: 'client', signing: sk.signing, scopes: ['orders:write'] }, { ...api.entry, scopes: ['orders:read'] }] };
  const body = JSON.stringify({ qty: 2 });
  const signed = await signRequest(new Request('https://api.example.com/v1/orders', { method: 'POST', body }), { keyId: 'client', key: sk.key, alg: 'ed25519' });
  const tampered = new Request(signed.url, { method: 'POST', headers: signed.headers, body: body.replace('2', '3') });
  return { keySet, signed, tampered, apiKey: api.key };
}
`;

test('Node: import the installed package and verify a signed request', async () => {
  writeFileSync(join(app, 'client.mjs'), CLIENT);
  writeFileSync(
    join(app, 'node.mjs'),
    `import { Keygate } from 'keygate';
import { scenario } from './client.mjs';
const { keySet, signed, tampered, apiKey } = await scenario();
const gate = await Keygate.load(keySet);
const out = [await gate.verify(signed), await gate.verify(tampered),
  await gate.verify(new Request('https://api.example.com/v1/orders', { headers: { authorization: 'Bearer ' + apiKey } }))];
console.log(JSON.stringify({ node: process.versions.node, out: out.map((d) => [d.allowed, d.reason ?? null, d.keyId ?? null]) }));
`,
  );
  const nodes = [process.execPath];
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    try {
      if (lstatSync(candidate) && candidate !== process.execPath) { nodes.push(candidate); break; }
    } catch { /* not installed */ }
  }
  for (const node of nodes) {
    const { stdout } = await run(node, ['node.mjs'], { cwd: app, env: ENV, timeout: 30_000 });
    const r = JSON.parse(stdout);
    assert.deepEqual(r.out, [[true, null, 'client'], [false, 'digest_mismatch', 'client'], [true, null, 'reader']], `Node ${r.node}`);
  }
});

/**
 * Bundles `main` of the temporary project with `wrangler deploy --dry-run` into `outdir`, as a
 * user's deploy would, and starts the bundle in workerd with `bindings`.
 */
async function bundleAndRun(main, outdir, bindings = {}) {
  writeFileSync(join(app, 'wrangler.toml'), `name = "keygate-user"\nmain = "${main}"\ncompatibility_date = "2026-11-01"\n`);
  const { stdout } = await run(process.execPath, [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', outdir], {
    cwd: app, env: ENV, timeout: 90_000,
  });
  const dist = join(app, outdir);
  const wasm = readdirSync(dist).filter((f) => f.endsWith('.wasm'));
  assert.equal(wasm.length, 1, 'the wasm module is bundled');
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modulesRoot: dist,
      modules: [
        { type: 'ESModule', path: join(dist, main.replace(/\.mjs$/, '.js')) },
        { type: 'CompiledWasm', path: join(dist, wasm[0]) },
      ],
      compatibilityDate: '2026-11-01',
      bindings,
      handleStructuredLogs: () => {},
    }),
  );
  await mf.ready;
  return { mf, stdout };
}

test('Workers: wrangler bundles a Worker importing the package; it runs in workerd', async () => {
  writeFileSync(
    join(app, 'worker.mjs'),
    `import { withKeygate } from 'keygate/worker';
import { scenario } from './client.mjs';
// The keys are generated inside the Worker, on the first request (workerd allows randomness
// only while handling one).
let made;
export default {
  async fetch(request, env, ctx) {
    made ??= scenario();
    const s = await made;
    const url = new URL(request.url);
    if (url.pathname === '/scenario') {
      const send = async (r) => (await gated.fetch(r, env, ctx)).status;
      return Response.json([await send(s.signed), await send(s.tampered), await send(new Request(s.signed.url))]);
    }
    return new Response('not here', { status: 404 });
  },
};
const gated = withKeygate((request, env, ctx, decision) => Response.json({ key: decision.keyId }), {
  keySet: async () => (await made).keySet,
  log: false,
});
`,
  );
  const { mf, stdout } = await bundleAndRun('worker.mjs', 'dist');
  assert.match(stdout, /Total Upload/);
  try {
    const res = await mf.dispatchFetch('http://worker.test/scenario');
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.deepEqual(JSON.parse(text), [200, 401, 401]);
  } finally {
    await mf.dispose();
  }
});

// The gateway application (gateway/src) copied beside the installed tarball: it bundles and
// runs with the package resolved only through its `exports`, so it uses public exports alone.
// The deprecated keygate/gateway (0.1's `export { default } from 'keygate/gateway'`) too.
test('the gateway application builds on the installed package alone; keygate/gateway still works', async () => {
  cpSync(join(ROOT, 'gateway/src'), join(app, 'gateway/src'), { recursive: true });
  writeFileSync(
    join(app, 'gw.mjs'),
    `import application from './gateway/src/index.js';
import legacy from 'keygate/gateway';
export default {
  fetch: (request, env, ctx) => (request.headers.get('x-which') === 'legacy' ? legacy : application).fetch(request, env, ctx),
};
`,
  );
  const { key, entry } = generateApiKey({ id: 'reader' });
  const { mf } = await bundleAndRun('gw.mjs', 'gwdist', {
    KEYGATE_KEYSET: JSON.stringify({ keygate: 1, revision: 3, keys: [{ ...entry, scopes: ['s'] }] }),
  });
  try {
    const ask = async (which, path, headers = {}) => {
      const res = await mf.dispatchFetch(`http://gw.test${path}`, { headers: { 'x-which': which, ...headers } });
      return [res.status, await res.json()];
    };
    for (const which of ['application', 'legacy']) {
      assert.deepEqual(await ask(which, '/v1/x', { authorization: `Bearer ${key}` }), [
        200, { allowed: true, key_id: 'reader', scopes: ['s'], method: 'GET', path: '/v1/x' },
      ], which);
      assert.equal((await ask(which, '/v1/x'))[1].error, 'missing_credentials', which);
      const [status, info] = await ask(which, '/.well-known/keygate/keyset');
      assert.deepEqual([status, info.revision, info.keys], [200, 3, 1], which);
    }
    // The route table is the application's: the 0.1 gateway decides such a path as any other.
    assert.deepEqual((await ask('application', '/.well-known/keygate/other')).map((x) => x.error ?? x), [404, 'not_found']);
    assert.deepEqual((await ask('legacy', '/.well-known/keygate/other')).map((x) => x.error ?? x), [401, 'missing_credentials']);
  } finally {
    await mf.dispose();
  }
});

test('Hono: the middleware from the installed package in a Hono app', async () => {
  writeFileSync(
    join(app, 'hono.mjs'),
    `import { Hono } from 'hono';
import { keygate } from 'keygate/hono';
import { scenario } from './client.mjs';
const s = await scenario();
const app = new Hono();
app.use('/v1/*', keygate({ keySet: s.keySet, log: false, clientIp: () => '203.0.113.7' }));
app.post('/v1/orders', (c) => c.json({ caller: c.get('keygate').keyId }));
const ok = await app.request(s.signed);
const bad = await app.request(s.tampered);
console.log(JSON.stringify([ok.status, await ok.json(), bad.status, (await bad.json()).error]));
`,
  );
  const { stdout } = await run(process.execPath, ['hono.mjs'], { cwd: app, env: ENV, timeout: 30_000 });
  assert.deepEqual(JSON.parse(stdout), [200, { caller: 'client' }, 401, 'digest_mismatch']);
});
