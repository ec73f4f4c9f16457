// The sharded part of the bench Worker (benches/workerd/worker.mjs routes /shard-*): a verifier
// holding a signed manifest of a 1,000,000-key set, reading each shard it needs from Workers KV
// (`keyset/blob/<sha256>`, one read per cold shard, as a gateway isolate does), beside a
// verifier holding a whole 100k-key set (the largest full set the load benchmark uses). The
// driver (shards.mjs) sends the requests and reads the timings.

let state;

class ShardBenchError extends Error {}

const ORIGIN = 'https://api.example.com';
const request = (key) => new Request(`${ORIGIN}/v1/orders/1`, { headers: { authorization: `Bearer ${key}` } });

/**
 * POST /shard-setup: `{ envelope, publisherKey, maxShards, maxKeys }` → the manifest's
 * revision and key count. Reads counts every KV read.
 */
export async function shardSetup(req, env, keygate) {
  const { Keygate } = await keygate();
  const { envelope, publisherKey, maxShards, maxKeys } = await req.json();
  const reads = { n: 0 };
  const gate = await Keygate.load(envelope, {
    publisherKeys: [publisherKey],
    shards: {
      maxShards,
      maxKeys,
      loadsPerSecond: 1_000_000,
      burst: 1_000_000,
      async load({ sha256 }) {
        reads.n++;
        const v = await env.BENCH_KV.get(`keyset/blob/${sha256}`, 'arrayBuffer');
        if (v === null) throw new ShardBenchError(`KV has no shard ${sha256}`);
        return v;
      },
    },
  });
  state = { gate, reads, full: null };
  return { revision: gate.revision, keys: gate.info.keys };
}

/** POST /shard-full: a whole key set (bytes) for the full-mode side of the warm comparison. */
export async function shardFull(req, keygate) {
  const { Keygate } = await keygate();
  state.full = await Keygate.load(new Uint8Array(await req.arrayBuffer()));
  return { keys: state.full.info.keys };
}

/** GET /shard-one?key=K: one decision (a cold or warm shard), and the KV reads it caused. */
export async function shardOne(key) {
  const before = state.reads.n;
  const d = await state.gate.verify(request(key));
  if (!d.allowed) throw new ShardBenchError(`${key}: ${d.reason}`);
  return { reads: state.reads.n - before };
}

/** POST /shard-slice?side=sharded|full: `[key...]` decided in a row, timed together. */
export async function shardSlice(req, side) {
  const keys = await req.json();
  const gate = side === 'full' ? state.full : state.gate;
  const before = state.reads.n;
  const t0 = performance.now();
  for (const k of keys) {
    const d = await gate.verify(request(k));
    if (!d.allowed) throw new ShardBenchError(`${side} ${k}: ${d.reason}`);
  }
  const ms = performance.now() - t0;
  if (side === 'sharded' && state.reads.n !== before) throw new ShardBenchError('a warm slice read a shard');
  return { ms };
}

/** GET /shard-stats: the shard cache and the module's linear memory (where keys are held). */
export async function shardStats() {
  const { wasm } = await import('../../pkg/src/wasm/facade.js');
  return { shards: state.gate.shards, wasmMemoryBytes: wasm.ioMemory().buffer.byteLength, reads: state.reads.n };
}
