// `make bench`: keygate in workerd beside bare WebCrypto, through Miniflare on the bench
// Worker's bundle (benches/workerd/worker.mjs, bundled by wrangler into target/bench/workerd).
//
//   node benches/workerd/run.mjs
//
// Per case, in a fresh isolate: keygate's `gate.verify(request)` and the bare WebCrypto work
// over the same inputs, in slices (one request each, k operations timed inside the Worker,
// k calibrated to about BENCH_SLICE_MS). A round runs BENCH_SLICES slices of each side,
// alternating A B B A ...; BENCH_ROUNDS rounds, the first side alternating between rounds.
// Reported: medians per operation and the median of the per-round ratios, as a table and as
// `ratio <case> <value>` lines. Then the key set load, the cold start (fresh isolates) and the
// wasm size, as a table and `metric <name> <value>` lines; everything also in BENCH_JSON.
//
// Options (environment):
//   BENCH_ROUNDS (31), BENCH_SLICES (10 a side per round), BENCH_SLICE_MS (5),
//   BENCH_SLICE_OPS (most operations in a slice, 4096), BENCH_WARMUP_MS (per side, 300),
//   BENCH_CASES (comma list of api_key,api_key_20h,hmac_get,hmac_get_20h,ed25519_get,hmac_post_1k,hmac_post_1m),
//   BENCH_PARTS (comma list of cases,nonce,load,cold, the default; also body: ways of reading
//   a body in workerd, without keygate; and unread: the POST cases beside a bare check that
//   reads the body from a clone, leaving the Request's own body unread as keygate does, and
//   that check beside the bare one; and ab, below), BENCH_COLD (fresh isolates of each kind, 9),
//   BENCH_SCALE_KEYS (100000), BENCH_SCALE_RUNS (7), BENCH_JSON (target/bench/workerd.json),
//   BENCH_DIST (the bundle to run, target/bench/workerd: an older build's copy runs back to back),
//   BENCH_DELTA_K (one-key deltas per slice, 32), BENCH_DELTA_ROUNDS (7): the delta part
//   (deltas.mjs), a signed one-key delta beside the whole signed set at BENCH_SCALE_KEYS keys.
//   BENCH_PARTS=floor (not in the default list; floors.mjs, floor-worker.mjs): for each case of
//   BENCH_CASES, the floor side (the bare work plus only what keygate's contract obliges any
//   verifier to do with the Request: method, URL, one visit of every header field, the
//   credential's bytes, a body read from a clone) beside the bare side, and keygate beside the
//   floor side, and the floor without its cryptography (`duties`) beside the bare side:
//   `ratio floor_<case>` (floor ÷ bare), `ratio duties_<case>`, `ratio over_floor_<case>` (keygate ÷ floor).
//   BENCH_PARTS=shard (not in the default list: it generates a 1M-key set once a day, minutes):
//   the sharded mode (shards.mjs) with BENCH_SHARD_KEYS (1000000), BENCH_SHARD_COLD (2000),
//   BENCH_SHARD_ROUNDS (11), BENCH_SHARD_K (1024).
//   BENCH_PARTS=ab (not in the default list; ab.mjs): this build beside another in ONE
//   isolate, for comparing builds a few per cent apart (builds run one after the other with
//   BENCH_DIST read ±10–30 % apart). BENCH_BASE is a checkout of this repository whose package
//   is built (`make pkg` there); the bundle is then made again under target/bench/ab/ with that
//   package imported as `keygate-base` beside this one's `keygate` (without BENCH_BASE: this
//   build against itself, which should read 1). For each case of BENCH_CASES, both packages'
//   `gate.verify`, each with its own Keygate of the same key set, on identical fresh Requests, in
//   the same slices and rounds: medians of each, the median of the per-round ratios (this ÷
//   base) with p25–p75, and `ratio ab_<case> <value>` lines.
//   BENCH_SMOKE=1: one tiny round of everything, which proves the harness and measures
//   nothing. BENCH_BROKEN=1 signs the HMAC cases with a key the set does not hold: the run
//   must then fail.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { fillerKeys, keySetBytes } from './keysets.mjs';
import { abBench, abMetrics, abRows } from './ab.mjs';
import { bundleModules, commitOf, fmtUs, isolate as start, log, measureCase as measure, median, quantile } from './measure.mjs';
import { deltaApply, deltaMetrics, deltaRows } from './deltas.mjs';
import { floorBench, floorMetrics, floorRows } from './floors.mjs';
import { shardBench, shardMetrics, shardRows } from './shards.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = process.env.BENCH_DIST ?? join(ROOT, 'target/bench/workerd');
const BODY_READS = {
  stream: '`request.clone().body` read chunk by chunk, not hashed (how keygate reads it today)',
  buffer: '`await request.clone().arrayBuffer()`, then `crypto.subtle.digest`',
  digeststream: '`request.clone().body.pipeTo(new crypto.DigestStream(\'SHA-256\'))`',
};
const CASES = {
  api_key: 'API key (vs one SHA-256 digest of the key)',
  api_key_20h: 'API key, 20 header fields (vs one SHA-256 digest of the key)',
  hmac_get: 'HMAC-SHA256 signed GET (vs one HMAC verify)',
  hmac_get_20h: 'HMAC-SHA256 signed GET, 21 header fields (vs one HMAC verify)',
  ed25519_get: 'Ed25519 signed GET (vs one Ed25519 verify)',
  hmac_post_1k: 'HMAC POST, 1 KiB body + Content-Digest (vs reading the body, digest + HMAC verify)',
  hmac_post_1m: 'HMAC POST, 1 MiB body + Content-Digest (vs reading the body, digest + HMAC verify)',
};

const env = process.env;
const smoke = env.BENCH_SMOKE === '1';
const int = (name, dflt, smokeValue) => {
  const v = env[name] ?? String(smoke ? smokeValue : dflt);
  if (!/^[1-9][0-9]*$/.test(v)) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return Number(v);
};
const opts = {
  rounds: int('BENCH_ROUNDS', 31, 1),
  slices: int('BENCH_SLICES', 10, 1),
  sliceMs: int('BENCH_SLICE_MS', 5, 1),
  sliceOps: int('BENCH_SLICE_OPS', 4096, 256),
  warmupMs: int('BENCH_WARMUP_MS', 300, 1),
  cold: int('BENCH_COLD', 9, 1),
  scaleKeys: int('BENCH_SCALE_KEYS', 100_000, 1000),
  scaleRuns: int('BENCH_SCALE_RUNS', 7, 1),
  deltaK: int('BENCH_DELTA_K', 32, 2),
  deltaRounds: int('BENCH_DELTA_ROUNDS', 7, 1),
  shardKeys: int('BENCH_SHARD_KEYS', 1_000_000, 20_000),
  shardCold: int('BENCH_SHARD_COLD', 2000, 20),
  shardRounds: int('BENCH_SHARD_ROUNDS', 11, 1),
  shardK: int('BENCH_SHARD_K', 1024, 16),
  cases: (env.BENCH_CASES ?? Object.keys(CASES).join(',')).split(','),
  parts: (env.BENCH_PARTS ?? 'cases,nonce,load,cold,delta').split(','),
  broken: env.BENCH_BROKEN === '1',
  base: env.BENCH_BASE || undefined,
  json: env.BENCH_JSON ?? join(ROOT, 'target/bench/workerd.json'),
};
for (const c of opts.cases) if (!(c in CASES)) throw new Error(`BENCH_CASES: unknown case ${c} (expected ${Object.keys(CASES)})`);
const PARTS = ['cases', 'nonce', 'load', 'cold', 'body', 'unread', 'floor', 'ab', 'delta', 'shard'];
for (const p of opts.parts) if (!PARTS.includes(p)) throw new Error(`BENCH_PARTS: unknown part ${p} (expected ${PARTS})`);
if (opts.base !== undefined && !opts.parts.includes('ab')) throw new Error('BENCH_BASE is read only by BENCH_PARTS=ab');

// --- workerd through Miniflare (measure.mjs) -------------------------------------------------------

const BUNDLE = bundleModules(DIST);
const EMPTY = [{ type: 'ESModule', path: join(DIST, 'empty.mjs'), contents: 'export default { fetch() { return new Response("{}"); } };' }];
/** A fresh isolate of the bench bundle (or of `modules`). */
const isolate = (modules = BUNDLE) => start(DIST, modules);
/** One case of the bench bundle in a fresh isolate, sides `sa` and `sb` (measure.mjs). */
const measureCase = (name, sides = ['keygate', 'bare']) => measure(name, sides, { opts, smoke, dist: DIST, modules: BUNDLE });

// --- cold start ---------------------------------------------------------------------------------

/**
 * Fresh isolates, in rotation: the bench bundle answering /cold (import keygate, load the
 * 100-key set of the body, decide one request), the same bundle answering /cold-baseline (the
 * same request without keygate), and an empty Worker (start-up only). Timed from Node: from
 * dispatch to the whole response, and from `new Miniflare` to ready.
 */
async function coldStart() {
  const now = Date.now();
  const body = keySetBytes(fillerKeys(100, now), now);
  const init = { method: 'POST', body, headers: { 'x-bench-key': 'key-42' } };
  const kinds = ['cold', 'baseline', 'empty'];
  const t = { cold: [], baseline: [], empty: [] };
  const ready = { cold: [], baseline: [], empty: [] };
  const inside = [];
  for (let i = 0; i < opts.cold; i++) {
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[(i + k) % kinds.length];
      const t0 = performance.now();
      const { mf, call } = await isolate(kind === 'empty' ? EMPTY : BUNDLE);
      const t1 = performance.now();
      try {
        const out = await call(kind === 'cold' ? '/cold' : kind === 'baseline' ? '/cold-baseline' : '/', init);
        t[kind].push(performance.now() - t1);
        ready[kind].push(t1 - t0);
        if (kind === 'cold') inside.push({ ...out, second: (await call('/cold', init)).ms });
      } finally {
        await mf.dispose();
      }
    }
  }
  const paired = t.cold.map((x, i) => x - t.baseline[i]);
  const startup = ready.cold.map((x, i) => x - ready.empty[i]);
  const res = {
    isolates: opts.cold,
    firstRequestMs: median(paired),
    coldDispatchMs: median(t.cold),
    baselineDispatchMs: median(t.baseline),
    insideMs: median(inside.map((o) => o.ms)),
    insideInstantiateMs: median(inside.map((o) => o.instantiate)),
    insideLoadMs: median(inside.map((o) => o.load)),
    insideDecideMs: median(inside.map((o) => o.decide)),
    insideSecondMs: median(inside.map((o) => o.second)),
    startupVsEmptyMs: median(startup),
    startupVsEmptyP25: quantile(startup, 0.25),
    startupVsEmptyP75: quantile(startup, 0.75),
    readyMs: median(ready.cold),
    emptyReadyMs: median(ready.empty),
    samples: { cold: t.cold, baseline: t.baseline, ready, inside },
  };
  log(`cold start: ${res.firstRequestMs.toFixed(2)} ms first request over baseline; inside ${res.insideMs} ms; start-up vs empty ${res.startupVsEmptyMs.toFixed(1)} ms`);
  return res;
}

// --- key set load ---------------------------------------------------------------------------------

async function keySetLoad() {
  const now = Date.now();
  const body = keySetBytes(fillerKeys(opts.scaleKeys, now), now);
  const { mf, call } = await isolate();
  try {
    const out = await call(`/scale?runs=${opts.scaleRuns}`, { method: 'POST', body, headers: { 'x-bench-key': 'key-7' } });
    if (out.keys !== opts.scaleKeys) throw new Error(`loaded ${out.keys} keys, expected ${opts.scaleKeys}`);
    const ratio = out.load.map((x, i) => x / out.plain[i]);
    const res = {
      keys: opts.scaleKeys, bytes: body.length, runs: opts.scaleRuns, firstMs: out.load[0], loadMs: median(out.load),
      plainMs: median(out.plain), ratio: median(ratio), samples: out,
    };
    log(`key set load: ${res.keys} keys, ${res.loadMs} ms median (first ${res.firstMs} ms), JSON.parse + Map ${res.plainMs} ms`);
    return res;
  } finally {
    await mf.dispose();
  }
}

// --- sizes and machine --------------------------------------------------------------------------

function sizes() {
  const wasm = readFileSync(BUNDLE.find((x) => x.type === 'CompiledWasm').path);
  const js = readFileSync(join(DIST, 'worker.js'));
  return { wasmRaw: wasm.length, wasmGzip: gzipSync(wasm, { level: 9 }).length, jsRaw: js.length, jsGzip: gzipSync(js, { level: 9 }).length };
}

function machine() {
  const miniflarePkg = JSON.parse(readFileSync(join(ROOT, 'node_modules/miniflare/package.json'), 'utf8'));
  return {
    date: new Date().toISOString(),
    commit: commitOf(ROOT),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.versions.node,
    workerd: miniflarePkg.dependencies?.workerd ?? 'unknown',
    miniflare: miniflarePkg.version,
  };
}

// --- report ---------------------------------------------------------------------------------------

const m = machine();
const loadBefore = loadavg();
log(`bench: ${JSON.stringify(opts)}`);
const cases = [];
if (opts.parts.includes('cases')) for (const name of opts.cases) cases.push(await measureCase(name));
// What a fresh nonce on every signature costs: keygate beside keygate, both freshly signed.
const nonce = opts.parts.includes('nonce') ? await measureCase('hmac_get', ['nonce', 'fresh']) : undefined;
// Where a body's time goes in workerd (opt-in): reading a clone three ways, beside a bare digest.
const bodies = [];
if (opts.parts.includes('body')) {
  for (const name of ['hmac_post_1k', 'hmac_post_1m']) for (const way of Object.keys(BODY_READS)) bodies.push(await measureCase(name, [way, 'digest']));
}
// What leaving the caller's body unread costs in workerd (opt-in): keygate beside a bare check
// that reads a clone, and that check beside the bare one that reads the body itself.
const unread = [];
if (opts.parts.includes('unread')) {
  for (const name of ['hmac_post_1k', 'hmac_post_1m']) unread.push(await measureCase(name, ['keygate', 'unread']), await measureCase(name, ['unread', 'bare']));
}
// This build beside another (BENCH_BASE) in one isolate, case by case (opt-in).
const ab = opts.parts.includes('ab') ? await abBench({ root: ROOT, dist: DIST, modules: BUNDLE, opts, smoke, log }) : undefined;
const scale = opts.parts.includes('load') ? await keySetLoad() : undefined;
// The floor each case stands on (opt-in): what any verifier must do with the Request (floors.mjs).
const floor = opts.parts.includes('floor') ? await floorBench({ cases: opts.cases, measureCase }) : undefined;
const delta = opts.parts.includes('delta') ? await deltaApply({ isolate, opts, median, quantile, log }) : undefined;
const cold = opts.parts.includes('cold') ? await coldStart() : undefined;
const shard = opts.parts.includes('shard') ? await shardBench({ root: ROOT, bundle: BUNDLE, dist: DIST, opts, median, quantile, log }) : undefined;
const size = sizes();
const loadAfter = loadavg();

const la = (l) => l.map((x) => x.toFixed(2)).join(' ');
console.log(`# keygate in workerd ${m.workerd} (Miniflare ${m.miniflare}), ${m.date}, commit ${m.commit}`);
console.log(`# ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB; Node ${m.node}; load average ${la(loadBefore)} before, ${la(loadAfter)} after`);
if (Math.max(loadBefore[0], loadAfter[0]) > m.cores + 1) {
  console.log(`# WARNING: the load average exceeded the ${m.cores} cores by more than the bench itself: other processes took CPU time in the middle of slices; ` +
    'paired ratios hold only while the machine is not oversubscribed. Rerun when it is quieter.');
}
console.log(`# ${opts.rounds} rounds of ${opts.slices} slices a side, slices of ~${opts.sliceMs} ms (at most ${opts.sliceOps} operations); signatures without nonces (but see the nonce row)${smoke ? ' (SMOKE RUN: no meaningful numbers)' : ''}`);
if (cases.length) {
  console.log('');
  console.log('| case | keygate `gate.verify` | bare WebCrypto | ratio (median) | ratio p25–p75 | slice k (keygate / bare) |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const c of cases) {
    console.log(`| ${CASES[c.case]} | ${fmtUs(c.aUs)} | ${fmtUs(c.bUs)} | ${c.ratio.toFixed(2)}× | ${c.ratioP25.toFixed(2)}–${c.ratioP75.toFixed(2)} | ${c.k.keygate} / ${c.k.bare} |`);
  }
}
if (nonce) {
  console.log('');
  console.log('| nonce cost | with a fresh nonce | without | ratio (median) | ratio p25–p75 | slice k |');
  console.log('|---|---:|---:|---:|---:|---:|');
  console.log(`| HMAC-SHA256 signed GET, \`gate.verify\` (each signature made just before its slice) | ${fmtUs(nonce.aUs)} | ${fmtUs(nonce.bUs)} | ` +
    `${nonce.ratio.toFixed(2)}× | ${nonce.ratioP25.toFixed(2)}–${nonce.ratioP75.toFixed(2)} | ${nonce.k.nonce} / ${nonce.k.fresh} |`);
}
if (bodies.length) {
  console.log('');
  console.log('| body (no keygate) | this way | `crypto.subtle.digest` of the bytes | ratio (median) | ratio p25–p75 | slice k |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const c of bodies) {
    const size = c.case === 'hmac_post_1k' ? '1 KiB' : '1 MiB';
    console.log(`| ${size}: ${BODY_READS[c.sides[0]]} | ${fmtUs(c.aUs)} | ${fmtUs(c.bUs)} | ${c.ratio.toFixed(2)}× | ` +
      `${c.ratioP25.toFixed(2)}–${c.ratioP75.toFixed(2)} | ${c.k[c.sides[0]]} / ${c.k.digest} |`);
  }
}
if (floor) {
  console.log('');
  console.log(floorRows(floor, CASES, fmtUs));
}
if (unread.length) {
  console.log('');
  console.log('| body left unread | this side | that side | ratio (median) | ratio p25–p75 | slice k |');
  console.log('|---|---:|---:|---:|---:|---:|');
  const what = { keygate: 'keygate `gate.verify`', unread: 'bare, body read from a clone', bare: 'bare, body read itself' };
  for (const c of unread) {
    const [a, b] = c.sides;
    console.log(`| ${c.case === 'hmac_post_1k' ? '1 KiB' : '1 MiB'}: ${what[a]} ÷ ${what[b]} | ${fmtUs(c.aUs)} | ${fmtUs(c.bUs)} | ` +
      `${c.ratio.toFixed(2)}× | ${c.ratioP25.toFixed(2)}–${c.ratioP75.toFixed(2)} | ${c.k[a]} / ${c.k[b]} |`);
  }
}
if (ab) {
  console.log('');
  console.log(abRows(ab, Object.fromEntries(Object.entries(CASES).map(([c, what]) => [c, what.replace(/ \(vs .*\)$/, '')]))));
}
console.log('');
const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
console.log('| measurement | median | detail |');
console.log('|---|---:|---|');
console.log(`| wasm module (as bundled) | ${kib(size.wasmGzip)} gzip | ${size.wasmRaw} B raw, ${size.wasmGzip} B gzip -9; bundled JS ${size.jsRaw} B raw, ${size.jsGzip} B gzip |`);
if (cold) {
  console.log(`| cold start: import (instantiate) + load 100-key set + first decision, inside the Worker | ${cold.insideMs} ms | ` +
    `${cold.isolates} fresh isolates; instantiate ${cold.insideInstantiateMs} + load ${cold.insideLoadMs} + decide ${cold.insideDecideMs} ms ` +
    `(1 ms clock steps); a second request to that isolate (load + decision only): ${cold.insideSecondMs} ms |`);
  console.log(`| cold start seen from outside: first request minus the same request without keygate | ${cold.firstRequestMs.toFixed(1)} ms | ` +
    `median of paired differences; ${cold.coldDispatchMs.toFixed(1)} vs ${cold.baselineDispatchMs.toFixed(1)} ms |`);
  console.log(`| isolate start-up (bundle parse, wasm compile) over an empty Worker, not in the above | ${cold.startupVsEmptyMs.toFixed(0)} ms | ` +
    `rough: p25–p75 ${cold.startupVsEmptyP25.toFixed(0)}–${cold.startupVsEmptyP75.toFixed(0)} ms; start-up ${cold.readyMs.toFixed(0)} vs ${cold.emptyReadyMs.toFixed(0)} ms |`);
}
if (scale) {
  console.log(`| key set load, ${scale.keys} keys (${(scale.bytes / 1e6).toFixed(1)} MB), \`Keygate.load\` | ${scale.loadMs} ms | ` +
    `${scale.runs} loads in one isolate, first ${scale.firstMs} ms; JSON.parse + Map (no validation) ${scale.plainMs} ms, ratio ${scale.ratio.toFixed(2)} |`);
}
if (delta) console.log(deltaRows(delta));
if (shard) console.log(shardRows(shard));
console.log('');
for (const c of cases) console.log(`ratio ${c.case} ${c.ratio.toFixed(3)}`);
if (floor) console.log(floorMetrics(floor));
if (nonce) console.log(`metric nonce_cost_ratio ${nonce.ratio.toFixed(3)}`);
for (const c of unread) console.log(`metric ${c.case}_${c.sides.join('_')}_ratio ${c.ratio.toFixed(3)}`);
if (ab) console.log(abMetrics(ab));
console.log(`metric wasm_raw_bytes ${size.wasmRaw}`);
console.log(`metric wasm_gzip_bytes ${size.wasmGzip}`);
if (cold) {
  console.log(`metric cold_start_ms ${cold.insideMs}`);
  console.log(`metric cold_start_outside_ms ${cold.firstRequestMs.toFixed(2)}`);
  console.log(`metric startup_over_empty_ms ${cold.startupVsEmptyMs.toFixed(1)}`);
}
if (scale) {
  console.log(`metric keyset_load_ms ${scale.loadMs}`);
  console.log(`metric keyset_load_keys ${scale.keys}`);
}
if (delta) console.log(deltaMetrics(delta));
if (shard) console.log(shardMetrics(shard));

mkdirSync(dirname(opts.json), { recursive: true });
writeFileSync(opts.json, `${JSON.stringify({ machine: m, loadavg: { before: loadBefore, after: loadAfter }, options: opts, cases, nonce, bodies, unread, floor, ab, cold, scale, delta, shard, size }, null, 1)}\n`);
