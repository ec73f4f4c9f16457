// The A/B part of `make bench` (BENCH_PARTS=ab): two builds of the package in ONE isolate,
// this checkout's (imported as `keygate`) and a base build's (imported as `keygate-base`),
// each with its own Keygate loaded from the same key set and fed identical fresh Requests, in
// the slices and rounds of the other cases (measure.mjs). Builds compared one after the other
// (BENCH_DIST) differ by the run-to-run spread, ±10–30 % in workerd on a shared machine; the
// paired rounds of one isolate see the same load (BENCHMARKS.md: the signed GETs and the API
// key within a few per cent, the 1 KiB POST's rounds still about ±20 %). Both sides get the
// same k, so each pair of slices times as many decisions of each.
//
// BENCH_BASE names another checkout of this repository whose package is built (`make pkg`:
// its pkg/src and pkg/wasm). The bench bundle is then made again under target/bench/ab/ by
// wrangler, from a copy of benches/workerd/wrangler.toml whose alias for `keygate-base` points
// at that package. Without BENCH_BASE the bench bundle runs as it is, where `keygate-base` is
// this build again (one module, two Keygates): the harness's own bias, which should read 1.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bundleModules, commitOf, fmtUs, measureCase } from './measure.mjs';

/** The bench bundle with `keygate-base` aliased to the package of the checkout `base`. */
function bundleWithBase(root, base, log) {
  const index = join(base, 'pkg/src/index.js');
  for (const f of ['pkg/package.json', 'pkg/src/index.js', 'pkg/wasm/keygate_bg.wasm', 'pkg/wasm/keygate.js']) {
    if (!existsSync(join(base, f))) throw new Error(`BENCH_BASE ${base}: no ${f} (a checkout of keygate whose package is built: \`make pkg\` there)`);
  }
  const name = JSON.parse(readFileSync(join(base, 'pkg/package.json'), 'utf8')).name;
  if (name !== 'keygate') throw new Error(`BENCH_BASE ${base}: pkg/package.json names ${JSON.stringify(name)}, not "keygate"`);
  const dir = join(root, 'target/bench/ab');
  const dist = join(dir, 'dist');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let config = readFileSync(join(root, 'benches/workerd/wrangler.toml'), 'utf8');
  for (const [line, value] of [[/^main = .*$/m, `main = ${JSON.stringify(join(root, 'benches/workerd/worker.mjs'))}`],
    [/^"keygate-base" = .*$/m, `"keygate-base" = ${JSON.stringify(index)}`]]) {
    if (!line.test(config)) throw new Error(`benches/workerd/wrangler.toml: no line ${line} to point at the base`);
    config = config.replace(line, value);
  }
  writeFileSync(join(dir, 'wrangler.toml'), config);
  log(`ab: bundling this build beside ${base}'s package into ${dist}`);
  try {
    execFileSync(process.execPath, [join(root, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', dist, '-c', join(dir, 'wrangler.toml')], {
      cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    throw new Error(`ab: wrangler could not bundle the base ${base}:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
  return { dist, modules: bundleModules(dist) };
}

/**
 * Every case of `opts.cases`, this build's `gate.verify` (side `keygate`) beside the base's
 * (side `base`); `dist` and `modules` are the bench bundle, used as they are without
 * `opts.base`.
 */
export async function abBench({ root, dist, modules, opts, smoke, log }) {
  const base = opts.base === undefined ? undefined : resolve(opts.base);
  const bundle = base ? bundleWithBase(root, base, log) : { dist, modules };
  const wasmBytes = (dir) => statSync(join(dir, 'pkg/wasm/keygate_bg.wasm')).size;
  const res = {
    base: base ?? null,
    baseCommit: base ? commitOf(base) : null,
    baseWasmBytes: wasmBytes(base ?? root),
    wasmBytes: wasmBytes(root),
    wasmModules: bundle.modules.filter((m) => m.type === 'CompiledWasm').length,
    cases: [],
  };
  for (const name of opts.cases) res.cases.push(await measureCase(name, ['keygate', 'base'], { opts, smoke, sameK: true, ...bundle }));
  return res;
}

/** The A/B table (Markdown) of `abBench`'s result; `what` names each case. */
export function abRows(ab, what) {
  const base = ab.base ? `${ab.base}${ab.baseCommit ? ` (${ab.baseCommit})` : ''}` : 'this build again (one module)';
  const lines = [
    `A/B in one isolate: this build's package (wasm ${ab.wasmBytes} B) beside the base, ${base} (wasm ${ab.baseWasmBytes} B); ` +
      `${ab.wasmModules} wasm module(s) in the bundle`,
    '',
    '| case | this build `gate.verify` | base `gate.verify` | ratio this ÷ base (median) | ratio p25–p75 | slice k (this / base) |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const c of ab.cases) {
    lines.push(`| ${what[c.case]} | ${fmtUs(c.aUs)} | ${fmtUs(c.bUs)} | ${c.ratio.toFixed(3)}× | ` +
      `${c.ratioP25.toFixed(3)}–${c.ratioP75.toFixed(3)} | ${c.k.keygate} / ${c.k.base} |`);
  }
  return lines.join('\n');
}

/** One `ratio ab_<case> <value>` line per case (this build ÷ base). */
export function abMetrics(ab) {
  return ab.cases.map((c) => `ratio ab_${c.case} ${c.ratio.toFixed(3)}`).join('\n');
}
