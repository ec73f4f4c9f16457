// keygate/init in Node: nothing is instantiated at import; initWasm takes every source form
// it documents, refuses what is not a source or not keygate's module with a KeygateError that
// says why (and may then be called again), shares one instantiation between concurrent calls,
// and resolves at once when the module is already there (keygate imported too). A process
// instantiates once, so each case runs in a Node process of its own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './helpers.mjs';

const run = promisify(execFile);
const WASM = join(ROOT, 'pkg/wasm/keygate_bg.wasm');
let server;
let base;
let dir;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keygate-init-'));
  const bytes = readFileSync(WASM);
  server = createServer((req, res) => {
    if (req.url === '/keygate.wasm') res.writeHead(200, { 'content-type': 'application/wasm' }).end(bytes);
    else if (req.url === '/octets.wasm') res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(bytes);
    else if (req.url === '/spa/keygate.wasm') res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><html></html>');
    else res.writeHead(404).end('not here');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(async () => {
  await new Promise((resolve) => server?.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs `body` as an ES module in a fresh Node with initWasm & co. imported; returns its JSON. */
async function probe(body) {
  const code = `import { readFileSync } from 'node:fs';
import { initWasm, hashApiKey, KeygateError } from 'keygate/init';
const BYTES = readFileSync(${JSON.stringify(WASM)});
const BASE = ${JSON.stringify(base)};
const DIR = ${JSON.stringify(dir)};
const works = () => hashApiKey('kg_x').startsWith('sha256:');
const failure = (p) => p.then(() => 'resolved', (e) => [e instanceof KeygateError, e.code, e.message]);
const out = await (async () => { ${body} })();
console.log(JSON.stringify(out));
`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, timeout: 30_000 });
  return JSON.parse(stdout);
}

test('nothing at import: every call says to call initWasm', async () => {
  const [isError, code, message] = await probe(`try { hashApiKey('kg_x'); return 'no error'; } catch (e) { return [e instanceof KeygateError, e.code, e.message]; }`);
  assert.equal(isError, true);
  assert.equal(code, 'ERR_WASM_NOT_INITIALIZED');
  assert.match(message, /await initWasm\(source\) first/);
});

test('every documented source instantiates the module', async () => {
  const sources = {
    'a Buffer': 'BYTES',
    'a Uint8Array view into a larger buffer': '(() => { const b = new Uint8Array(BYTES.length + 16); b.set(BYTES, 8); return b.subarray(8, 8 + BYTES.length); })()',
    'an ArrayBuffer': 'BYTES.buffer.slice(BYTES.byteOffset, BYTES.byteOffset + BYTES.length)',
    'a WebAssembly.Module': 'new WebAssembly.Module(BYTES)',
    'a Response served as application/wasm': "new Response(BYTES, { headers: { 'content-type': 'application/wasm' } })",
    'a Response of other bytes': 'new Response(BYTES)',
    'a promise of a fetch': "fetch(BASE + '/keygate.wasm')",
    'a URL': "new URL(BASE + '/octets.wasm')",
    'a URL string': "BASE + '/keygate.wasm'",
    'a promise of bytes': 'Promise.resolve(BYTES)',
  };
  for (const [what, source] of Object.entries(sources)) {
    assert.deepEqual(await probe(`const r = await initWasm(${source}); return [r === undefined, works()];`), [true, true], what);
  }
});

test('what is not a source, not a wasm module or not keygate\'s is refused with the reason; a later call succeeds', async () => {
  const r = await probe(`
    const out = {};
    out.undefined = await failure(initWasm());
    out.number = await failure(initWasm(42));
    out.object = await failure(initWasm({ module: BYTES }));
    out.file = await failure(initWasm(new URL('file:///srv/keygate_bg.wasm')));
    out.html = await failure(initWasm(BASE + '/spa/keygate.wasm'));
    out.missing = await failure(initWasm(BASE + '/nothing.wasm'));
    out.unreachable = await failure(initWasm('http://127.0.0.1:9/keygate.wasm'));
    out.truncated = await failure(initWasm(BYTES.subarray(0, 1000)));
    out.foreign = await failure(initWasm(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00])));
    out.notYet = await failure(Promise.resolve().then(() => hashApiKey('kg_x')));
    await initWasm(BYTES);
    out.after = works();
    return out;
  `);
  const expect = {
    undefined: ['ERR_INVALID_OPTIONS', /expected a WebAssembly\.Module, the module's bytes, a Response, or the module's URL .*got nothing/],
    number: ['ERR_INVALID_OPTIONS', /got a number/],
    object: ['ERR_INVALID_OPTIONS', /got an object \(Object\)/],
    file: ['ERR_INVALID_OPTIONS', /fetch cannot read file:\/\/\/srv\/keygate_bg\.wasm; in Node pass the bytes/],
    html: ['ERR_WASM_INIT_FAILED', /not a wasm module \(they start with "<!doctype html><".*an HTML page where the module should be/],
    missing: ['ERR_WASM_INIT_FAILED', /fetching http:\/\/127\.0\.0\.1:\d+\/nothing\.wasm answered 404 Not Found/],
    unreachable: ['ERR_WASM_INIT_FAILED', /could not fetch http:\/\/127\.0\.0\.1:9\/keygate\.wasm/],
    truncated: ['ERR_WASM_INIT_FAILED', /could not compile the module from bytes/],
    foreign: ['ERR_WASM_INIT_FAILED', /not keygate's wasm module \(it lacks the exports memory, __wbindgen_start/],
    notYet: ['ERR_WASM_NOT_INITIALIZED', /initWasm/],
  };
  for (const [k, [code, message]] of Object.entries(expect)) {
    assert.equal(r[k][0], true, `${k}: a KeygateError`);
    assert.equal(r[k][1], code, k);
    assert.match(r[k][2], message, k);
  }
  assert.equal(r.after, true, 'a failed initWasm leaves the way open for the next');
});

test('a module with keygate\'s exports whose imports do not link is refused as not this version\'s', async () => {
  // The exports the glue checks, plus an import it does not provide (another build's glue).
  const wat = join(dir, 'other.wat');
  const wasm = join(dir, 'other.wasm');
  const fs = await import('node:fs');
  fs.writeFileSync(wat, `(module
  (import "./keygate_bg.js" "__wbg_from_another_build" (func))
  (memory (export "memory") 1)
  (func (export "__wbindgen_start")) (func (export "checkKeySet"))
  (func (export "wasmverifier_new")) (func (export "wasmverifier_run")))
`);
  await run(join(ROOT, 'node_modules/.bin/wasm-as'), [wat, '-o', wasm], { timeout: 30_000 });
  const r = await probe(`return [await failure(initWasm(readFileSync(${JSON.stringify(wasm)}))), await initWasm(BYTES).then(works)];`);
  assert.equal(r[0][1], 'ERR_WASM_INIT_FAILED');
  assert.match(r[0][2], /could not instantiate the module \(is it the keygate_bg\.wasm of this keygate version\?\)/);
  assert.equal(r[1], true);
});

test('concurrent calls share one instantiation; once instantiated, initWasm resolves at once', async () => {
  const r = await probe(`
    const a = initWasm(fetch(BASE + '/keygate.wasm'));
    const b = initWasm(BYTES);
    const same = a === b;
    await Promise.all([a, b]);
    // Already instantiated: even a non-source resolves, without being looked at.
    const again = await initWasm(42).then(() => 'resolved');
    return [same, works(), again];
  `);
  assert.deepEqual(r, [true, true, 'resolved']);
});

test('keygate imported too: its import-time loader instantiated the module, initWasm resolves at once', async () => {
  const r = await probe(`
    const { hashApiKey: fromDefault } = await import('keygate');
    const early = works();
    await initWasm('http://127.0.0.1:9/never-fetched.wasm');
    return [early, fromDefault('kg_x') === hashApiKey('kg_x')];
  `);
  assert.deepEqual(r, [true, true]);
});
