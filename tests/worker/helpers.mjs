// Shared by the gateway tests in workerd: the bundle from `make bundle` (dist/), run through
// the Miniflare API, one fresh isolate per call with exactly the bindings a test gives.
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';
import { FlattenedSign, importJWK } from 'jose';
import { generateSigningKey, signKeySet } from 'keygate';
import { ROOT } from '../js/helpers.mjs';

// The modules of the bundle: the entry first, then the wasm module it imports by file name.
export const DIST = join(ROOT, 'dist');
const BUNDLE = [
  { type: 'ESModule', path: join(DIST, 'index.js') },
  ...readdirSync(DIST)
    .filter((f) => f.endsWith('.wasm'))
    .map((f) => ({ type: 'CompiledWasm', path: join(DIST, f) })),
];
assert.equal(BUNDLE.length, 2, 'dist/ holds the gateway and one wasm module (run `make bundle`)');

/**
 * The local id of wrangler.toml's KEYGATE_KV binding: it has no id (production provisions
 * one), and locally wrangler names such a namespace after its binding, so
 * `wrangler kv key put --local --binding KEYGATE_KV` writes where these isolates read.
 */
export const KV_ID = 'KEYGATE_KV';

const started = [];
const dirs = [];
after(async () => {
  await Promise.all(started.map((mf) => mf.dispose()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * A fresh isolate with the given bindings; `logs` collects the Worker's console lines.
 * `persist`: a directory holding local state as wrangler lays it out (`<dir>/v3/kv`), shared
 * by every isolate (and every `wrangler kv ... --local --persist-to <dir>`) given the same one.
 * `kv: false` leaves out the KEYGATE_KV binding; `serviceBindings` adds Fetcher bindings.
 */
export async function gateway(bindings = {}, { persist, kv = true, serviceBindings } = {}) {
  const logs = [];
  // Miniflare 5 takes a new options shape; wrangler itself builds its instances from the
  // v4 shape with convertV4MiniflareOptions, and so do these tests.
  const options = convertV4MiniflareOptions({
    modulesRoot: DIST,
    modules: BUNDLE,
    compatibilityDate: '2026-11-01',
    kvNamespaces: kv ? { KEYGATE_KV: KV_ID } : {},
    ...(serviceBindings ? { serviceBindings } : {}),
    bindings: { KEYSET_REFRESH_SECONDS: '30', ...bindings },
    cf: false,
    handleStructuredLogs: ({ message }) => logs.push(message),
  });
  const mf = new Miniflare(persist ? { ...options, resourcePersistencePath: join(persist, 'v3') } : options);
  started.push(mf);
  await mf.ready;
  const fetch = (path, init) => mf.dispatchFetch(`http://gw.test${path}`, init);
  const events = (name) =>
    logs.filter((m) => m.startsWith('{')).map((m) => JSON.parse(m)).filter((l) => l.event === `keygate.${name}`);
  return { mf, fetch, logs, events, kv: () => mf.getKVNamespace('KEYGATE_KV') };
}

/**
 * A test Worker, `tests/worker/fixtures/<name>.mjs`, bundled by `wrangler deploy --dry-run` as
 * a user's Worker importing the package is, then run in a fresh isolate with `bindings`. Its
 * bundle directory is removed and the isolate disposed after the file's tests.
 */
export async function fixtureWorker(name, bindings = {}) {
  const mf = new Miniflare(convertV4MiniflareOptions({ ...(await bundleFixture(name)), bindings, handleStructuredLogs: () => {} }));
  started.push(mf);
  await mf.ready;
  return mf;
}

/**
 * tests/worker/fixtures/<name>.mjs bundled by wrangler as a user's Worker would be: the
 * Miniflare worker options `{ modulesRoot, modules, compatibilityDate }` to run it.
 */
export async function bundleFixture(name) {
  const dir = mkdtempSync(join(tmpdir(), `keygate-${name}-`));
  dirs.push(dir);
  const main = join(ROOT, `tests/worker/fixtures/${name}.mjs`);
  writeFileSync(join(dir, 'wrangler.toml'), `name = "keygate-${name}"\nmain = ${JSON.stringify(main)}\ncompatibility_date = "2026-11-01"\n`);
  const env = { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', FORCE_COLOR: '0', NO_UPDATE_NOTIFIER: '1' };
  await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', 'dist'], {
    cwd: dir, env, timeout: 90_000,
  });
  const dist = join(dir, 'dist');
  const wasm = readdirSync(dist).filter((f) => f.endsWith('.wasm'));
  assert.equal(wasm.length, 1, 'the wasm module is bundled');
  return {
    modulesRoot: dist,
    modules: [
      { type: 'ESModule', path: join(dist, `${name}.js`) },
      { type: 'CompiledWasm', path: join(dist, wasm[0]) },
    ],
    compatibilityDate: '2026-11-01',
  };
}

export const bearer = (key, extra = {}) => ({ headers: { authorization: `Bearer ${key}`, ...extra } });

/** Polls `check` (async, truthy when done) every 50 ms for at most `ms`. */
export async function eventually(check, ms = 5_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The base64url SHA-256 of an envelope's decoded payload. */
export function payloadSha256(envelopeText) {
  const payload = Buffer.from(JSON.parse(envelopeText).payload, 'base64url');
  return createHash('sha256').update(payload).digest('base64url');
}

/** A publisher key pair for these tests (not the demo one): its public key is pinned. */
export const PUBLISHER = generateSigningKey({ alg: 'ed25519' });
export const OTHER_PUBLISHER = generateSigningKey({ alg: 'ed25519' });

/** A key set signed by keygate's own signer (the set must be valid). */
export const signed = (ks, opts) => signKeySet(ks, PUBLISHER.key, opts);

/**
 * Any payload signed by npm jose (an independent JOSE implementation), so that invalid key
 * sets, which keygate's signer refuses, can be pushed signed too.
 */
export async function joseSigned(payloadText, { key = PUBLISHER, kid } = {}) {
  const jwk = { kty: 'OKP', crv: 'Ed25519', d: key.key, x: key.signing.public_key };
  const header = kid === undefined ? { alg: 'EdDSA' } : { alg: 'EdDSA', kid };
  const jws = await new FlattenedSign(new TextEncoder().encode(payloadText))
    .setProtectedHeader(header)
    .sign(await importJWK(jwk, 'EdDSA'));
  return JSON.stringify(jws);
}

/** When the sets of these tests were issued: the start of the test run (a push must be fresh). */
export const ISSUED = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** A key set issued at ISSUED. */
export const set = (revision, keys, extra = {}) => ({ keygate: 1, revision, issued_at: ISSUED, keys, ...extra });

/** PUT an envelope to the key set endpoint; resolves to `{ status, body }`. */
export async function push(gw, body, init = {}) {
  const res = await gw.fetch('/.well-known/keygate/keyset', { method: 'PUT', body, ...init });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text, headers: res.headers };
}
