// The sharded part of `make bench` (BENCH_PARTS=shard): a generated key set of BENCH_SHARD_KEYS
// keys (1,000,000) cut by `keygate keyset shard` (default bits: 12, 4096 d and 4096 i shards),
// its shards in Workers KV, decided in one workerd isolate whose shard cache has the gateway's
// defaults (512 shards, 100,000 keys). Measured:
//
// - cold: BENCH_SHARD_COLD (2000) decisions, each on a key whose shard is not held (the keys
//   walk the d shards in order, eight times the cache's worth), one request each, timed from
//   Node around the request; beside as many warm decisions (the same key again) timed the same
//   way. Each cold decision must cause exactly one KV read.
// - memory: the module's linear memory (where the keys held live) after the cold walk.
// - warm: BENCH_SHARD_ROUNDS (11) rounds alternating slices of BENCH_SHARD_K (1024) decisions
//   on keys whose shards are held, in the sharded verifier and in a verifier holding a whole
//   100k-key set, timed inside the Worker; medians per decision and the paired ratio.
//
// Generating the set, cutting it and filling KV take minutes: they are kept in
// target/bench/shard-<keys>-<day> (KV persisted there) and reused the same day.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';
import { generateSigningKey, signKeySet } from 'keygate';
import { fillerKeys, keySetBytes } from './keysets.mjs';

const DAY = 86_400_000;

/** The key set and its shards, made once a day (times relative to the day: never stale). */
function prepare(root, n, log) {
  const day = Math.floor(Date.now() / DAY) * DAY;
  const dir = join(root, 'target/bench', `shard-${n}-${day / DAY}`);
  const out = join(dir, 'out');
  if (!existsSync(join(out, 'manifest.json'))) {
    mkdirSync(dir, { recursive: true });
    const t0 = performance.now();
    writeFileSync(join(dir, 'set.json'), keySetBytes(fillerKeys(n, day), day));
    const cli = process.env.KEYGATE ?? join(root, 'target/release/keygate');
    if (!existsSync(cli)) execFileSync('cargo', ['build', '--release', '--features', 'cli'], { cwd: root, stdio: 'inherit' });
    execFileSync(cli, ['keyset', 'shard', join(dir, 'set.json'), '--out', out], { stdio: 'inherit' });
    log(`shard: generated and cut ${n} keys in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  return { dir, out, setBytes: readFileSync(join(dir, 'set.json')).length };
}

/** `{ BUNDLE, DIST }` of the driver; `opts.shardKeys`, `opts.shardCold`, ... */
export async function shardBench({ root, bundle, dist, opts, median, quantile, log }) {
  const n = opts.shardKeys;
  const { dir, out, setBytes } = prepare(root, n, log);
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  const shardFiles = readdirSync(join(out, 'shards'));
  const shardBytes = shardFiles.map((f) => readFileSync(join(out, 'shards', f)).length);
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modulesRoot: dist,
      modules: bundle,
      compatibilityDate: '2026-11-01',
      cf: false,
      kvNamespaces: { BENCH_KV: 'bench-kv' },
      resourcePersistencePath: join(dir, 'v3'),
    }),
  );
  await mf.ready;
  const call = async (path, init) => {
    const res = await mf.dispatchFetch(`http://bench.test${path}`, init);
    const body = await res.json();
    if (res.status !== 200) throw new Error(`${path}: ${body.error}\n${body.stack ?? ''}`);
    return body;
  };
  try {
    if (!existsSync(join(dir, 'kv-filled'))) {
      const kv = await mf.getKVNamespace('BENCH_KV');
      const t0 = performance.now();
      for (const f of shardFiles) await kv.put(`keyset/blob/${f.replace(/\.json$/, '')}`, readFileSync(join(out, 'shards', f)));
      writeFileSync(join(dir, 'kv-filled'), '');
      log(`shard: ${shardFiles.length} shards into KV in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const publisher = generateSigningKey({ alg: 'ed25519' });
    const envelope = signKeySet(JSON.stringify(manifest), publisher.key);
    const setup = await call('/shard-setup', {
      method: 'POST',
      body: JSON.stringify({ envelope, publisherKey: publisher.signing.public_key, maxShards: 512, maxKeys: 100_000 }),
    });
    if (setup.keys !== n) throw new Error(`shard setup: ${JSON.stringify(setup)}`);

    // A key (no allow list: `key-<i>` with i % 10 != 0) for every d shard, in shard order.
    const bits = manifest.shards.bits;
    const byShard = new Array(2 ** bits).fill(null);
    for (let i = 1, left = byShard.length; left > 0 && i < n; i++) {
      if (i % 10 === 0) continue;
      const s = createHash('sha256').update(`key-${i}`).digest().readUInt32BE(0) >>> (32 - bits);
      if (byShard[s] === null) {
        byShard[s] = `key-${i}`;
        left--;
      }
    }
    const one = async (key) => {
      const t0 = performance.now();
      const r = await call(`/shard-one?key=${key}`);
      return { ms: performance.now() - t0, reads: r.reads };
    };
    // Warm-up: the paths compiled, then the cold walk with a warm decision after each.
    for (let s = 0; s < 64; s++) await one(byShard[s]);
    const cold = [];
    const warm = [];
    for (let j = 0; j < opts.shardCold; j++) {
      const key = byShard[(64 + j) % byShard.length];
      const c = await one(key);
      if (c.reads !== 1) throw new Error(`a cold decision on ${key} read ${c.reads} shards, expected 1`);
      cold.push(c.ms);
      const w = await one(key);
      if (w.reads !== 0) throw new Error(`a warm decision on ${key} read ${w.reads} shards`);
      warm.push(w.ms);
    }
    const stats = await call('/shard-stats');

    // Warm, inside the Worker: the sharded verifier beside a whole 100k-key set.
    await call('/shard-full', { method: 'POST', body: keySetBytes(fillerKeys(opts.scaleKeys, Date.now()), Date.now()) });
    const heldKeys = [];
    for (let j = 0; heldKeys.length < 64; j++) heldKeys.push(byShard[(64 + opts.shardCold - 1 - j) % byShard.length]);
    const fullKeys = Array.from({ length: 64 }, (_, j) => `key-${j * 10 + 1}`);
    const slice = async (side) => {
      const keys = Array.from({ length: opts.shardK }, (_, j) => (side === 'sharded' ? heldKeys : fullKeys)[j % 64]);
      return (await call(`/shard-slice?side=${side}`, { method: 'POST', body: JSON.stringify(keys) })).ms / opts.shardK;
    };
    await slice('sharded');
    await slice('full');
    const sharded = [];
    const full = [];
    const ratio = [];
    for (let r = 0; r < opts.shardRounds; r++) {
      const t = {};
      for (const side of r % 2 ? ['full', 'sharded'] : ['sharded', 'full']) t[side] = await slice(side);
      sharded.push(t.sharded);
      full.push(t.full);
      ratio.push(t.sharded / t.full);
    }
    const res = {
      keys: n,
      bits,
      shards: shardFiles.length,
      setBytes,
      largestShardBytes: Math.max(...shardBytes),
      manifestEnvelopeBytes: envelope.length,
      coldP50Ms: quantile(cold, 0.5),
      coldP99Ms: quantile(cold, 0.99),
      warmRoundTripP50Ms: quantile(warm, 0.5),
      warmRoundTripP99Ms: quantile(warm, 0.99),
      coldOverWarmMs: median(cold.map((c, i) => c - warm[i])),
      wasmMemoryBytes: stats.wasmMemoryBytes,
      held: stats.shards,
      warmShardedUs: median(sharded) * 1000,
      warmFullUs: median(full) * 1000,
      fullKeys: opts.scaleKeys,
      warmRatio: median(ratio),
      warmRatioP25: quantile(ratio, 0.25),
      warmRatioP75: quantile(ratio, 0.75),
      samples: { cold, warm, sharded, full, ratio },
    };
    log(
      `shard: ${n} keys; cold p50 ${res.coldP50Ms.toFixed(2)} ms p99 ${res.coldP99Ms.toFixed(2)} ms (warm round trip ${res.warmRoundTripP50Ms.toFixed(2)} ms); ` +
        `wasm memory ${(res.wasmMemoryBytes / 2 ** 20).toFixed(1)} MiB; warm ${res.warmShardedUs.toFixed(1)} µs vs full ${res.warmFullUs.toFixed(1)} µs (ratio ${res.warmRatio.toFixed(3)})`,
    );
    return res;
  } finally {
    await mf.dispose();
  }
}

/** The rows of the measurement table. */
export function shardRows(s) {
  const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  return [
    `| sharded, ${s.keys} keys (${(s.setBytes / 1e6).toFixed(0)} MB as one set; ${2 * 2 ** s.bits} shards in ${s.shards} files, bits ${s.bits}, largest ${(s.largestShardBytes / 1024).toFixed(0)} KiB; signed manifest ${(s.manifestEnvelopeBytes / 1024).toFixed(0)} KiB): decision on a cold shard (one KV read), per request from Node | p50 ${s.coldP50Ms.toFixed(2)} ms, p99 ${s.coldP99Ms.toFixed(2)} ms | ` +
      `the same key again right after (warm), same way: p50 ${s.warmRoundTripP50Ms.toFixed(2)} ms, p99 ${s.warmRoundTripP99Ms.toFixed(2)} ms; cold − warm, median of pairs: ${s.coldOverWarmMs.toFixed(2)} ms |`,
    `| sharded: wasm linear memory after walking ${s.held.loads} cold shards (cache: ${s.held.held} shards, ${s.held.keys} keys held; ${s.held.evictions} evictions) | ${mib(s.wasmMemoryBytes)} | the module's memory never shrinks: this is its high-water mark; JS heap not included |`,
    `| sharded, warm decision (API key, shard held), inside the Worker | ${s.warmShardedUs.toFixed(1)} µs | ` +
      `beside a verifier holding a whole ${s.fullKeys}-key set: ${s.warmFullUs.toFixed(1)} µs; sharded / full ${s.warmRatio.toFixed(3)} (median of paired rounds, p25–p75 ${s.warmRatioP25.toFixed(3)}–${s.warmRatioP75.toFixed(3)}) |`,
  ].join('\n');
}

/** The `metric` lines. */
export function shardMetrics(s) {
  return [
    `metric shard_keys ${s.keys}`,
    `metric shard_cold_p50_ms ${s.coldP50Ms.toFixed(3)}`,
    `metric shard_cold_p99_ms ${s.coldP99Ms.toFixed(3)}`,
    `metric shard_wasm_memory_bytes ${s.wasmMemoryBytes}`,
    `metric shard_warm_us ${s.warmShardedUs.toFixed(2)}`,
    `metric shard_warm_vs_full_ratio ${s.warmRatio.toFixed(4)}`,
  ].join('\n');
}
