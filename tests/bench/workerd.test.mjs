// The workerd benchmark harness (`make bench`) still works: a smoke run (one tiny round of every
// case, the key set load and the cold start) exits cleanly with a number for everything, and a
// run whose keygate decisions are refused fails instead of reporting a time; the A/B part
// (BENCH_PARTS=ab) bundles a second build of the package beside this one and has both decide
// every case in one isolate. No timing is asserted here: speed claims come from `make bench`,
// never from a test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../js/helpers.mjs';

const run = promisify(execFile);
const SCRIPT = join(ROOT, 'benches/workerd/run.mjs');
const CASES = ['api_key', 'api_key_20h', 'hmac_get', 'hmac_get_20h', 'ed25519_get', 'hmac_post_1k', 'hmac_post_1m'];

function bench(env, timeout = 60_000) {
  return run(process.execPath, [SCRIPT], { cwd: ROOT, env: { ...process.env, BENCH_SMOKE: '1', ...env }, timeout });
}

test('smoke run: every case decided (allowed), a number for every figure', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keygate-bench-'));
  try {
    const json = join(dir, 'out.json');
    const { stdout } = await bench({ BENCH_JSON: json });
    const lines = stdout.split('\n');
    // A smoke run's slices are too short to time: a ratio may be 0, Infinity or NaN.
    for (const c of CASES) {
      assert.ok(lines.some((l) => new RegExp(`^ratio ${c} \\S+$`).test(l)), `a ratio line for ${c}`);
    }
    assert.ok(lines.some((l) => /^metric nonce_cost_ratio \S+$/.test(l)), 'a metric line for nonce_cost_ratio');
    for (const m of ['wasm_raw_bytes', 'wasm_gzip_bytes', 'cold_start_ms', 'keyset_load_ms', 'keyset_load_keys', 'delta_apply_ms', 'delta_apply_waiting_ms', 'delta_full_update_ms', 'delta_envelope_bytes']) {
      assert.ok(lines.some((l) => new RegExp(`^metric ${m} [0-9.]+$`).test(l)), `a metric line for ${m}`);
    }
    const out = JSON.parse(readFileSync(json, 'utf8'));
    assert.deepEqual(out.cases.map((c) => c.case), CASES);
    for (const c of out.cases) {
      assert.deepEqual(c.sides, ['keygate', 'bare']);
      for (const v of [c.aUs, c.bUs]) assert.ok(Number.isFinite(v) && v >= 0, `${c.case}: ${v}`);
      assert.ok(c.k.keygate >= 1 && c.k.bare >= 1);
    }
    assert.deepEqual(out.nonce.sides, ['nonce', 'fresh']);
    for (const v of [out.nonce.aUs, out.nonce.bUs]) assert.ok(Number.isFinite(v) && v >= 0, `nonce: ${v}`);
    assert.equal(out.scale.keys, 1000);
    assert.ok(out.scale.samples.load.every(Number.isFinite));
    assert.equal(out.cold.samples.inside.length, 1);
    assert.equal(out.cold.samples.inside[0].keys, 100);
    assert.ok(out.size.wasmRaw > out.size.wasmGzip && out.size.wasmGzip > 0);
    // The delta part: a chain of signed one-key deltas and whole sets, each applied in order
    // (the Worker fails a slice whose state is not the chain's).
    assert.equal(out.delta.keys, 1000);
    assert.ok(out.delta.deltaEnvelopeBytes > 0 && out.delta.deltaEnvelopeBytes < out.delta.fullEnvelopeBytes);
    assert.ok(['delta', 'wait', 'full'].every((s) => out.delta.samples[s].every(Number.isFinite)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The floor part (BENCH_PARTS=floor): every case's floor side beside the bare side and beside
// keygate, and its duties side (the floor without cryptography) beside the bare side, each pair
// a line; a floor whose signature check fails (here: signed with a key the bench does not hold)
// fails the run, so the floor cannot be fast by skipping its check.
test('floor part: the three pairs of every case, a ratio line each', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keygate-bench-'));
  try {
    const json = join(dir, 'out.json');
    const { stdout } = await bench({ BENCH_JSON: json, BENCH_PARTS: 'floor' });
    for (const c of CASES) {
      assert.match(stdout, new RegExp(`^ratio floor_${c} \\S+$`, 'm'));
      assert.match(stdout, new RegExp(`^ratio duties_${c} \\S+$`, 'm'));
      assert.match(stdout, new RegExp(`^ratio over_floor_${c} \\S+$`, 'm'));
    }
    const out = JSON.parse(readFileSync(json, 'utf8'));
    assert.deepEqual(out.floor.cases.map((c) => c.case), CASES);
    for (const c of out.floor.cases) {
      assert.deepEqual([c.floor.sides, c.duties.sides, c.over.sides], [['floor', 'bare'], ['duties', 'bare'], ['keygate', 'floor']]);
      for (const v of [c.floor.aUs, c.floor.bUs, c.duties.aUs, c.over.aUs, c.over.bUs]) assert.ok(Number.isFinite(v) && v >= 0, `${c.case}: ${v}`);
    }
    assert.deepEqual(out.floor.cases.filter((c) => c.target !== null).map((c) => c.case), ['api_key', 'hmac_get', 'ed25519_get', 'hmac_post_1k', 'hmac_post_1m']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('floor part: a floor whose signature check fails fails the run', async () => {
  await assert.rejects(bench({ BENCH_BROKEN: '1', BENCH_PARTS: 'floor', BENCH_CASES: 'hmac_post_1k' }), (e) => {
    assert.notEqual(e.code, 0);
    assert.match(e.stderr, /the floor check failed in hmac_post_1k/);
    return true;
  });
});

test('a refused decision fails the run with its reason', async () => {
  await assert.rejects(bench({ BENCH_BROKEN: '1', BENCH_PARTS: 'cases', BENCH_CASES: 'hmac_get' }), (e) => {
    assert.notEqual(e.code, 0);
    assert.match(e.stderr, /keygate refused a bench request: 401 signature_invalid/);
    return true;
  });
});

// The A/B part with a second build: a copy of this package whose wasm module carries one more
// (custom) section, so that the two builds are two files in the bundle, as two commits are.
test('A/B part: a base package beside this one in one isolate, every case decided by both', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keygate-bench-ab-'));
  try {
    mkdirSync(join(dir, 'base/pkg/wasm'), { recursive: true });
    cpSync(join(ROOT, 'pkg/src'), join(dir, 'base/pkg/src'), { recursive: true });
    cpSync(join(ROOT, 'pkg/package.json'), join(dir, 'base/pkg/package.json'));
    for (const f of ['keygate.js', 'keygate_bg.wasm']) cpSync(join(ROOT, 'pkg/wasm', f), join(dir, 'base/pkg/wasm', f));
    // A custom section (id 0, 5 bytes: the name "base" and no payload) at the module's end.
    appendFileSync(join(dir, 'base/pkg/wasm/keygate_bg.wasm'), Uint8Array.of(0, 5, 4, 0x62, 0x61, 0x73, 0x65));
    const json = join(dir, 'out.json');
    const { stdout } = await bench({ BENCH_JSON: json, BENCH_PARTS: 'ab', BENCH_BASE: join(dir, 'base') }, 120_000);
    const lines = stdout.split('\n');
    for (const c of CASES) assert.ok(lines.some((l) => new RegExp(`^ratio ab_${c} \\S+$`).test(l)), `a ratio line for ab_${c}`);
    const out = JSON.parse(readFileSync(json, 'utf8'));
    assert.equal(out.cases.length, 0, 'only the A/B part ran');
    assert.equal(out.ab.base, join(dir, 'base'));
    assert.equal(out.ab.wasmModules, 2, 'both builds\' wasm modules bundled');
    assert.equal(out.ab.baseWasmBytes, out.ab.wasmBytes + 7);
    assert.deepEqual(out.ab.cases.map((c) => c.case), CASES);
    for (const c of out.ab.cases) {
      assert.deepEqual(c.sides, ['keygate', 'base']);
      assert.equal(c.setup.sameModule, false, `${c.case}: the base side runs a package of its own`);
      assert.equal(c.k.keygate, c.k.base, `${c.case}: both sides time as many operations a slice`);
      for (const v of [c.aUs, c.bUs]) assert.ok(Number.isFinite(v) && v >= 0, `${c.case}: ${v}`);
      assert.equal(c.rounds.ratio.length, 1);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('A/B part without a base: this build against itself, one module', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keygate-bench-ab-'));
  try {
    const json = join(dir, 'out.json');
    const { stdout } = await bench({ BENCH_JSON: json, BENCH_PARTS: 'ab', BENCH_CASES: 'hmac_get' });
    assert.match(stdout, /^ratio ab_hmac_get \S+$/m);
    const out = JSON.parse(readFileSync(json, 'utf8'));
    assert.equal(out.ab.base, null);
    assert.equal(out.ab.cases[0].setup.sameModule, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('A/B part: a base without a built package fails the run, naming what is missing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keygate-bench-ab-'));
  try {
    mkdirSync(join(dir, 'pkg/src'), { recursive: true });
    cpSync(join(ROOT, 'pkg/package.json'), join(dir, 'pkg/package.json'));
    cpSync(join(ROOT, 'pkg/src/index.js'), join(dir, 'pkg/src/index.js'));
    await assert.rejects(bench({ BENCH_PARTS: 'ab', BENCH_BASE: dir, BENCH_CASES: 'api_key' }), (e) => {
      assert.notEqual(e.code, 0);
      assert.match(e.stderr, /BENCH_BASE .*: no pkg\/wasm\/keygate_bg\.wasm \(a checkout of keygate whose package is built/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
