// Layer 4: the configuration `make dev` hands to wrangler dev (scripts/dev-vars.mjs), run in
// workerd: by default the DEMO publisher key is pinned and the DEMO set is a signed envelope,
// so the demo page's pushes (signed with the demo key) are accepted; KEYGATE_PUSH=off runs
// the bare set without pushes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signKeySet } from 'keygate';
import { DEMO, ROOT, readJson } from '../js/helpers.mjs';
import { bearer, gateway, push } from './helpers.mjs';

const dir = mkdtempSync(join(tmpdir(), 'keygate-devvars-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the script with `env` and reads the variables it wrote. */
function devVars(env) {
  const out = join(dir, `vars-${Math.random().toString(36).slice(2)}`);
  execFileSync(process.execPath, [join(ROOT, 'scripts/dev-vars.mjs'), out], {
    env: { ...process.env, KEYGATE_PUBLISHER_KEYS: '', KEYGATE_PUSH: '', ORIGIN_URL: '', ...env },
    stdio: 'pipe',
  });
  const vars = {};
  for (const m of readFileSync(out, 'utf8').matchAll(/^([A-Z_]+)='(.*)'$/gm)) vars[m[1]] = m[2];
  return vars;
}

const demoPublisher = readJson(join(ROOT, 'demo/publisher.json'));
const demoSet = readJson(join(ROOT, 'demo/keyset.json'));

test('make dev by default: the DEMO publisher key is pinned and the demo page may push', async () => {
  const vars = devVars({});
  assert.equal(vars.KEYGATE_PUBLISHER_KEYS, '-XPkqSbfSNlaMrZtXET242NCaRZXgZnY9QeTFBAk_G8');
  assert.ok(JSON.parse(vars.KEYGATE_KEYSET).payload, 'the demo set is handed over as a signed envelope');
  const gw = await gateway(vars);
  assert.equal((await gw.fetch('/api/hello', bearer(DEMO.reader))).status, 200);
  // What the demo page does: edit the set, sign it with the DEMO key, push it.
  // (The page's Bump sets issued_at to now: a pushed set must be recent.)
  const next = { ...demoSet, revision: 2, issued_at: new Date().toISOString(), keys: demoSet.keys.filter((k) => k.id !== 'demo-reader') };
  const r = await push(gw, signKeySet(next, demoPublisher));
  assert.deepEqual([r.status, r.body], [200, { revision: 2, keys: demoSet.keys.length - 1, changed: true }]);
  assert.equal((await gw.fetch('/api/hello', bearer(DEMO.reader))).status, 401);
});

test('KEYGATE_PUSH=off: the bare demo set, no publisher keys, pushes disabled', async () => {
  const vars = devVars({ KEYGATE_PUSH: 'off' });
  assert.equal(vars.KEYGATE_PUBLISHER_KEYS, undefined);
  assert.deepEqual(JSON.parse(vars.KEYGATE_KEYSET), demoSet);
  const gw = await gateway(vars);
  assert.equal((await gw.fetch('/api/hello', bearer(DEMO.reader))).status, 200);
  assert.equal((await push(gw, signKeySet({ ...demoSet, revision: 2 }, demoPublisher))).status, 404);
});

test('own publisher keys need an envelope signed by them', () => {
  assert.throws(() => devVars({ KEYGATE_PUBLISHER_KEYS: 'x' }), (e) => e.status === 2 && /must be an envelope/.test(e.stderr));
});

test('the demo files are served only under make dev, never by a deployed gateway', async () => {
  const vars = devVars({});
  const dev = await gateway(vars);
  const r = await dev.fetch('/.well-known/keygate/demo');
  assert.equal(r.status, 200);
  const files = await r.json();
  assert.deepEqual(files.keyset, demoSet);
  assert.deepEqual(files.publisher, demoPublisher);
  // Pushes off: the starting set, but no publisher key to sign with.
  const off = await gateway(devVars({ KEYGATE_PUSH: 'off' }));
  assert.equal((await (await off.fetch('/.well-known/keygate/demo')).json()).publisher, null);
  // A deployed configuration (no KEYGATE_DEMO var): 404, and no demo file among the assets.
  const { KEYGATE_DEMO: _drop, ...deployed } = vars;
  const prod = await gateway(deployed);
  const res = await prod.fetch('/.well-known/keygate/demo');
  assert.equal(res.status, 404);
  assert.equal((await res.json()).error, 'not_found');
  const served = execFileSync('find', [join(ROOT, 'www'), '-name', '*.json']).toString();
  assert.ok(!/demo-(keyset|publisher)/.test(served), served);
});
