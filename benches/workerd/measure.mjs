// The measuring core of `make bench` (run.mjs): a bench bundle started in a fresh workerd
// isolate through Miniflare, and one per-request case timed there, two sides in alternating
// slices (worker.mjs answers /setup and /slice). Shared by the driver's parts: the cases
// (keygate beside bare WebCrypto), the nonce, body and unread parts, and the A/B part (ab.mjs:
// two builds of the package beside each other in one isolate).
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';
import { fillerKeys } from './keysets.mjs';

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
export const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
export const fmtUs = (us) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(us < 10 ? 2 : 1)} µs`);
export const log = (...a) => console.error(...a);

/** The commit checked out in `dir` (`+dirty` with changes to tracked files), or '' outside git. */
export function commitOf(dir) {
  const git = (...args) => {
    try {
      return execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  const head = git('rev-parse', '--short', 'HEAD');
  return head && head + (git('status', '--porcelain', '--untracked-files=no') ? '+dirty' : '');
}

/**
 * The modules of the bundle wrangler wrote into `dist`: its worker.js and every wasm module
 * (one per build of the package it holds).
 */
export function bundleModules(dist) {
  let files;
  try {
    files = readdirSync(dist);
  } catch {
    files = [];
  }
  const wasm = files.filter((f) => f.endsWith('.wasm')).sort();
  if (!wasm.length || !files.includes('worker.js')) throw new Error(`no bundle in ${dist}: run \`make bench\``);
  return [{ type: 'ESModule', path: join(dist, 'worker.js') }, ...wasm.map((f) => ({ type: 'CompiledWasm', path: join(dist, f) }))];
}

/** A fresh workerd (one isolate) running `modules` (rooted at `dist`); resolves once it is ready. */
export async function isolate(dist, modules) {
  const logs = [];
  const mf = new Miniflare(convertV4MiniflareOptions({
    modulesRoot: dist,
    modules,
    compatibilityDate: '2026-11-01',
    cf: false,
    handleStructuredLogs: ({ message }) => logs.push(message),
  }));
  await mf.ready;
  async function call(path, init) {
    const res = await mf.dispatchFetch(`http://bench.test${path}`, init);
    const text = await res.text();
    if (res.status !== 200) {
      let e;
      try {
        e = JSON.parse(text);
      } catch {
        e = { error: `${res.status} ${text.slice(0, 2000)}` };
      }
      throw new Error(`${path}: ${e.error}${e.stack ? `\n${e.stack}` : ''}${logs.length ? `\n${logs.join('\n')}` : ''}`);
    }
    return JSON.parse(text);
  }
  return { mf, call };
}

/**
 * One case in a fresh isolate of the bundle `modules` (in `dist`) with a 100-key set, sides
 * `sa` and `sb` (worker.mjs's sides). Each side's slice size k is calibrated so that a slice
 * takes about BENCH_SLICE_MS (at most BENCH_SLICE_OPS operations). A round runs BENCH_SLICES
 * slices of each side, alternating (A B B A A B ..., the first side alternating between
 * rounds); a side's time in a round is the sum of its slices. Two rounds of warm-up. The
 * result's `setup` is the Worker's answer to /setup (for the A/B sides: whether the two
 * packages are one module). `sameK`: both sides get the smaller k (two builds of the same
 * work: each pair of slices then times as many operations of each).
 */
export async function measureCase(name, [sa, sb], { opts, smoke, dist, modules, sameK = false }) {
  const { mf, call } = await isolate(dist, modules);
  try {
    const now = Date.now();
    const setup = await call('/setup', {
      method: 'POST',
      body: JSON.stringify({
        filler: fillerKeys(97, now), issuedAt: new Date(now - 60_000).toISOString(), broken: opts.broken, base: [sa, sb].includes('base'),
      }),
    });
    const slice = async (side, k) => (await call(`/slice?case=${name}&side=${side}&k=${k}`)).ms;
    // Warm-up (V8 compiles and optimises the hot paths over the first hundreds of ms), then
    // k from the time per operation over at least ten slices' worth of small slices.
    // k from the fastest time per operation seen so far: a slice lasts at least BENCH_SLICE_MS
    // when the machine is quiet (on a busy one it only gets longer).
    const k = {};
    const perOp = {};
    const sliceSize = (ms) => Math.max(1, Math.min(opts.sliceOps, Math.ceil(opts.sliceMs / ms)));
    const pairK = () => {
      if (sameK) k[sa] = k[sb] = Math.min(k[sa], k[sb]);
    };
    for (const side of [sa, sb]) {
      let spent = 0;
      for (let n = 8, i = 0; spent < opts.warmupMs || i < 3; i++) {
        const t = await slice(side, n);
        spent += t;
        if (t < opts.sliceMs) n = Math.min(n * 2, opts.sliceOps);
      }
      let ops = 0;
      spent = 0;
      for (let n = 4; spent < opts.sliceMs * 10; n = Math.min(n * 2, opts.sliceOps)) {
        spent += await slice(side, n);
        ops += n;
      }
      perOp[side] = spent / ops;
      k[side] = sliceSize(perOp[side]);
    }
    pairK();
    const round = async (first) => {
      const spent = { [sa]: 0, [sb]: 0 };
      let order = first === sa ? [sa, sb] : [sb, sa];
      for (let i = 0; i < opts.slices; i++) {
        for (const side of order) spent[side] += await slice(side, k[side]);
        order = [order[1], order[0]];
      }
      return spent;
    };
    // Two warm-up rounds, not counted, each refining k.
    for (let w = 0; w < (smoke ? 0 : 2); w++) {
      const t = await round(w % 2 === 0 ? sa : sb);
      for (const side of [sa, sb]) {
        const ms = t[side] / (opts.slices * k[side]);
        if (ms > 0 && ms < perOp[side]) perOp[side] = ms;
        k[side] = sliceSize(perOp[side]);
      }
      pairK();
    }
    const a = [];
    const b = [];
    const ratio = [];
    for (let r = 0; r < opts.rounds; r++) {
      const t = await round(r % 2 === 0 ? sa : sb);
      a.push((t[sa] * 1000) / (opts.slices * k[sa]));
      b.push((t[sb] * 1000) / (opts.slices * k[sb]));
      ratio.push(a[r] / b[r]);
    }
    const res = {
      case: name, sides: [sa, sb], k, aUs: median(a), bUs: median(b), ratio: median(ratio),
      ratioP25: quantile(ratio, 0.25), ratioP75: quantile(ratio, 0.75), rounds: { aUs: a, bUs: b, ratio }, setup,
    };
    log(`${name} ${sa}/${sb}: ${fmtUs(res.aUs)} vs ${fmtUs(res.bUs)}, ratio ${res.ratio.toFixed(2)} (k ${k[sa]}/${k[sb]})`);
    return res;
  } finally {
    await mf.dispose();
  }
}
