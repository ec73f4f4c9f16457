// Key set scale in wasm under Node, side by side with a plain-JS baseline, in one run.
//   cargo bench --bench keyset_scale -- --write target/bench   # writes the key sets
//   node --expose-gc benches/keyset_scale.mjs [wasm-bindgen output dir, default pkg/wasm]
// Reports medians. The baseline is what a Worker would do without keygate: JSON.parse the
// set and build a Map from digest to entry (no validation at all).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const dir = resolve(process.argv[2] ?? 'pkg/wasm');
const mod = await import(`${dir}/keygate.js`);
const wasm = mod.initSync({ module: readFileSync(`${dir}/keygate_bg.wasm`) });
const gc = globalThis.gc ?? (() => {});
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function baseline(text) {
  const ks = JSON.parse(text);
  const byDigest = new Map();
  for (const k of ks.keys) byDigest.set(k.api_key_hash, k);
  return byDigest;
}

console.log('| keys | keygate wasm: first load | keygate wasm: load median | JSON.parse + Map median | ratio | wasm memory after load | JS heap of baseline |');
console.log('|---:|---:|---:|---:|---:|---:|---:|');
for (const n of [1000, 10000, 100000]) {
  const bytes = readFileSync(`target/bench/keyset-${n}.json`);
  const text = bytes.toString('utf8');
  const runs = n >= 100000 ? 9 : 21;
  const t0 = performance.now();
  const first = new mod.WasmVerifier(bytes);
  const firstMs = performance.now() - t0;
  const memAfter = wasm.memory.buffer.byteLength;
  first.free();
  const kg = [];
  const js = [];
  for (let r = 0; r < runs; r++) {
    let t = performance.now();
    const v = new mod.WasmVerifier(bytes);
    kg.push(performance.now() - t);
    v.free();
    t = performance.now();
    baseline(text);
    js.push(performance.now() - t);
  }
  gc();
  const h0 = process.memoryUsage().heapUsed;
  const keep = baseline(text);
  gc();
  const heap = process.memoryUsage().heapUsed - h0;
  if (keep.size !== n) throw new Error('baseline lost keys');
  const a = median(kg);
  const b = median(js);
  console.log(`| ${n} | ${firstMs.toFixed(1)} ms | ${a.toFixed(1)} ms | ${b.toFixed(1)} ms | ${(a / b).toFixed(2)} | ${(memAfter / 1e6).toFixed(1)} MB | ${(heap / 1e6).toFixed(1)} MB |`);
}
