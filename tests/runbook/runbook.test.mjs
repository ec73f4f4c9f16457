// The deployment runbook, run: every ```sh block of the "Runbook" section of
// docs/deployment.md, in order, in one bash, in a scratch copy of the repository, offline.
// The cloud commands get the stand-ins of shim.sh (documented at the end of the runbook):
// `wrangler deploy` becomes `--dry-run` and its bundle runs in workerd (Miniflare) as the
// deployed version, with the [vars] of wrangler.toml, the secrets put so far and a local KV;
// `wrangler secret put` starts a new version; ORIGIN_URL becomes a local origin that refuses
// requests without the X-Origin-Auth secret; `curl` goes to the deployed version, and each
// `# → STATUS {fields}` comment of the runbook is asserted. The CLI and node run as written.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';
import { unstable_readConfig } from 'wrangler';
import { ROOT } from '../js/helpers.mjs';

const HERE = join(ROOT, 'tests/runbook');
const DOC = readFileSync(join(ROOT, 'docs/deployment.md'), 'utf8');

/** The ```sh blocks of the runbook section, in order. */
function runbookScript() {
  const start = DOC.indexOf('\n## Runbook');
  assert.ok(start >= 0, 'docs/deployment.md has a "## Runbook" section');
  const end = DOC.indexOf('\n## ', start + 1);
  const section = DOC.slice(start, end < 0 ? undefined : end);
  const blocks = [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  assert.ok(blocks.length >= 5, 'the runbook has its blocks');
  return blocks.join('\n');
}

/** `# → 200 {"a": 1, "b": "x"}` after each curl line: the status and the fields to check. */
function expectations(script) {
  return script
    .split('\n')
    .filter((line) => /^\s*curl\s/.test(line))
    .map((line) => {
      const m = line.match(/# → (\d{3})(.*)$/);
      assert.ok(m, `every curl of the runbook says what it gets: ${line}`);
      const fields = {};
      for (const f of m[2].matchAll(/"(\w+)":\s*("[^"]*"|-?\d+|true|false|null)/g)) fields[f[1]] = JSON.parse(f[2]);
      return { line: line.trim(), status: Number(m[1]), fields };
    });
}

// The scratch repository: wrangler.toml copied (the runbook may change it), the rest linked.
const dir = mkdtempSync(join(tmpdir(), 'keygate-runbook-'));
for (const name of ['gateway', 'pkg', 'node_modules', 'target', 'www']) symlinkSync(join(ROOT, name), join(dir, name));
copyFileSync(join(ROOT, 'wrangler.toml'), join(dir, 'wrangler.toml'));

// The origin behind the gateway: it answers only requests carrying the runbook's secret.
let originSecret = null;
const atOrigin = [];
const origin = createServer((req, res) => {
  atOrigin.push({ url: req.url, headers: req.headers });
  const ok = originSecret !== null && req.headers['x-origin-auth'] === originSecret;
  res.writeHead(ok ? 200 : 403, { 'content-type': 'text/plain' }).end(ok ? 'hello from the origin' : 'not through the gateway');
});
await new Promise((r) => origin.listen(0, '127.0.0.1', r));
const ORIGIN = `http://127.0.0.1:${origin.address().port}`;

// The deployed version: a Miniflare instance per deploy or secret change, one KV store.
const secrets = {};
const logs = [];
const curls = [];
let deployed = null;
let documentedOriginUrl = null;

async function deploy() {
  const dist = join(dir, 'dist');
  const wasm = readdirSync(dist).filter((f) => f.endsWith('.wasm'));
  const config = unstable_readConfig({ config: join(dir, 'wrangler.toml'), env: '' });
  assert.equal(config.assets, undefined, 'the deployed configuration serves no static assets');
  // One workerd at a time: a Durable Object's storage is never opened by two.
  await deployed?.dispose();
  deployed = null;
  const next = new Miniflare({
    ...convertV4MiniflareOptions({
      modulesRoot: dist,
      modules: [
        { type: 'ESModule', path: join(dist, 'index.js') },
        ...wasm.map((f) => ({ type: 'CompiledWasm', path: join(dist, f) })),
      ],
      compatibilityDate: config.compatibility_date,
      bindings: { ...config.vars, ...secrets },
      kvNamespaces: Object.fromEntries(config.kv_namespaces.map((k) => [k.binding, k.id ?? k.binding])),
      durableObjects: Object.fromEntries(
        (config.durable_objects?.bindings ?? []).map((d) => [d.name, { className: d.class_name, useSQLite: true }]),
      ),
      cf: false,
      handleStructuredLogs: ({ message }) => logs.push(message),
    }),
    resourcePersistencePath: join(dir, 'state', 'v3'),
  });
  await next.ready;
  deployed = next;
}

async function body(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks);
}

const control = createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://control');
    const text = (await body(req)).toString();
    if (url.pathname === '/deploy') {
      await deploy();
      return res.end('runbook: deployed (workerd, offline)\n');
    }
    if (url.pathname === '/secret') {
      const name = url.searchParams.get('name');
      let value = text;
      if (name === 'ORIGIN_URL') {
        documentedOriginUrl = value;
        value = ORIGIN;
      }
      if (name === 'ORIGIN_AUTH_HEADER') originSecret = value.replace(/^X-Origin-Auth:\s*/i, '');
      secrets[name] = value;
      if (deployed) await deploy();
      return res.end(`runbook: secret ${name} set${deployed ? ' (new version)' : ''}\n`);
    }
    if (url.pathname === '/curl') {
      assert.ok(deployed, 'curl after a deploy');
      const r = JSON.parse(text);
      const answer = await deployed.dispatchFetch(r.url, {
        method: r.method,
        headers: r.headers,
        body: r.body === null ? undefined : Buffer.from(r.body, 'base64'),
      });
      const bytes = Buffer.from(await answer.arrayBuffer());
      curls.push({ url: r.url, status: answer.status, text: bytes.toString() });
      return res.end(JSON.stringify({ status: answer.status, headers: [...answer.headers], body: bytes.toString('base64') }));
    }
    res.statusCode = 404;
    res.end('unknown');
  } catch (e) {
    res.statusCode = 500;
    res.end(String(e?.stack ?? e));
  }
});
await new Promise((r) => control.listen(0, '127.0.0.1', r));

after(async () => {
  await deployed?.dispose();
  await new Promise((r) => control.close(r));
  await new Promise((r) => origin.close(r));
  rmSync(dir, { recursive: true, force: true });
});

function bash(script) {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', `source ${join(HERE, 'shim.sh')}\n${script}`], {
      cwd: dir,
      env: {
        ...process.env,
        PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH}`,
        CI: 'true',
        WRANGLER_SEND_METRICS: 'false',
        FORCE_COLOR: '0',
        RUNBOOK_DIR: dir,
        RUNBOOK_CTL: join(HERE, 'ctl.mjs'),
        RUNBOOK_CONTROL: `http://127.0.0.1:${control.address().port}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out });
    });
  });
}

test('the runbook of docs/deployment.md runs, offline, to a 200 from the origin', async () => {
  const script = runbookScript();
  const expected = expectations(script);
  const { code, signal, out } = await bash(script);
  assert.equal(code, 0, `the runbook failed (${signal ?? code}):\n${out}`);
  assert.match(out, /Total Upload/, 'wrangler deploy --dry-run bundled the gateway');

  // Every curl got what the runbook says it gets.
  assert.equal(curls.length, expected.length, out);
  expected.forEach((e, i) => {
    assert.equal(curls[i].status, e.status, `${e.line}\n${curls[i].text}`);
    if (Object.keys(e.fields).length > 0) {
      const got = JSON.parse(curls[i].text);
      for (const [k, v] of Object.entries(e.fields)) assert.deepEqual(got[k], v, `${e.line}: ${k}`);
    }
  });

  // The last one went through the locked origin, with the caller's identity.
  assert.equal(curls.at(-1).text, 'hello from the origin');
  assert.match(documentedOriginUrl, /^https:\/\//);
  const last = atOrigin.at(-1);
  assert.equal(last.headers['x-keygate-key-id'], 'first-client');
  assert.equal(last.headers['x-origin-auth'], originSecret);
  assert.ok(originSecret.length >= 40, 'a 32-byte secret');
  const direct = await fetch(`${ORIGIN}/orders/1`);
  assert.equal(direct.status, 403, 'the origin refuses requests that did not come through the gateway');

  // The pushed envelope is what KV holds, for every other isolate.
  const kv = await deployed.getKVNamespace('KEYGATE_KV');
  assert.equal(await kv.get('keyset'), readFileSync(join(dir, 'envelope.json'), 'utf8'));
  // Secrets on disk are the owner's only.
  for (const f of ['publisher.json', 'first-client.json']) {
    assert.equal(statSync(join(dir, f)).mode & 0o077, 0, `${f} is readable by its owner only`);
  }
  // Production serves no demo page: / is decided like any API path, the demo route is off.
  assert.equal((await deployed.dispatchFetch('https://api.example.com/')).status, 401);
  assert.equal((await deployed.dispatchFetch('https://api.example.com/index.html')).status, 401);
  assert.equal((await deployed.dispatchFetch('https://api.example.com/.well-known/keygate/demo')).status, 404);
  assert.ok(!logs.join('\n').includes(originSecret), 'the origin secret is never logged');
});
