// The push of a whole signed key set (BENCH_PUSH_KEYS keys, 90k: a 24.5 MB envelope, about the
// most the push bound's highest setting, 24 MiB, lets through; 100k keys of this shape sign to
// 27 MB) under Node, through the package's push endpoint (`keySetEndpoint`, PUT) as the
// gateway answers it:
//   coordinated  the isolate's side of the coordinator (CoordinatedSource) with an in-memory
//                coordinator that takes every commit (no Durable Object: what is timed is the
//                isolate's reading, judging and applying of the set, not the commit's transfer)
//   kv           KV-only mode (KeySetSource), its store a variable the source reads back
// The workerd bench (benches/workerd) has no push path; this one is Node's. Each side holds
// revision 1, then takes the pushes of revisions 2, 3, ... (each changes the set), each timed
// alone; the sides alternate push by push. Prints one JSON line: every time, and the medians.
//   node benches/pushes.mjs [package src dir, default pkg/src]   (BENCH_PUSHES, default 5;
//   BENCH_PUSH_KEYS; BENCH_PUSH_SHAPE)
import { resolve } from 'node:path';
import { fillerKeys, keySetBytes } from './workerd/keysets.mjs';

const dir = resolve(process.argv[2] ?? 'pkg/src');
const { generateSigningKey, signKeySet } = await import(`${dir}/index.js`);
const { edgeSource } = await import(`${dir}/coordination.js`);
const { MAX_PUSH_BYTES_LIMIT, keySetEndpoint } = await import(`${dir}/push.js`);

const n = Number(process.env.BENCH_PUSH_KEYS ?? 90_000);
const pushes = Number(process.env.BENCH_PUSHES ?? 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const now = Date.now();
const publisher = generateSigningKey({ alg: 'ed25519' });
// BENCH_PUSH_SHAPE=lean: an id, a digest, one scope and an expiry a key (100k keys: 18.9 MiB
// signed, docs/deployment.md), instead of the workerd bench's entries (about 270 B signed).
const lean = ({ id, api_key_hash, expires_at }) => ({ id, api_key_hash, scopes: ['orders:read'], expires_at });
const keys = process.env.BENCH_PUSH_SHAPE === 'lean' ? fillerKeys(n, now).map(lean) : fillerKeys(n, now);
const envelope = (revision) => new TextEncoder().encode(signKeySet(new TextDecoder().decode(keySetBytes(keys, now, revision)), publisher.key));

/** A coordinator in memory: its state is the last commit's. */
function coordinator(first) {
  let head = null;
  let blob = null;
  const stub = {
    poll: async (s) => {
      if (!head) return { status: 'empty' };
      if (s?.revision === head.revision && s?.payloadSha256 === head.payloadSha256) return { status: 'current' };
      return { status: 'base', base: head, deltas: [], head };
    },
    readBlob: async (sha) => (sha === head?.payloadSha256 ? blob : null),
    commit: async ({ revision, payloadSha256, bytes }) => {
      const changed = revision !== head?.revision;
      head = { revision, payloadSha256 };
      blob = bytes;
      return { changed };
    },
  };
  return { stub, first };
}

// KV-only: what the push stores is what the next read of the source returns (as in KV).
let stored = null;
const target = () => ({ store: async (text) => void (stored = text), maxBytes: MAX_PUSH_BYTES_LIMIT });
const put = async (source, bytes) => {
  const request = new Request('https://gateway.example/.well-known/keygate/keyset', { method: 'PUT', body: bytes });
  const t0 = performance.now();
  const r = await keySetEndpoint(request, {}, undefined, source, target);
  const ms = performance.now() - t0;
  const body = await r.json();
  if (r.status !== 200 || !body.changed) throw new Error(`push: ${r.status} ${JSON.stringify(body)}`);
  return { ms, revision: body.revision };
};

const options = { publisherKeys: [publisher.signing.public_key], log: () => {} };
const one = envelope(1);
const c = coordinator();
const sides = {
  coordinated: edgeSource('bench', { ...options, keySet: () => null, coordinator: () => ({ namespace: { getByName: () => c.stub } }), refreshSeconds: 3600 }).source,
  kv: edgeSource('bench', { ...options, keySet: () => stored ?? one }).source,
};
// Revision 1 in use on each side: pushed to the coordinated one (a first set), read by the other.
await put(sides.coordinated, one);
await sides.kv.get({});
const times = { coordinated: [], kv: [] };
for (let i = 0; i < pushes; i++) {
  const bytes = envelope(i + 2);
  const order = i % 2 === 0 ? ['coordinated', 'kv'] : ['kv', 'coordinated'];
  for (const side of order) {
    const r = await put(sides[side], bytes);
    if (r.revision !== i + 2) throw new Error(`${side}: revision ${r.revision} in use after pushing ${i + 2}`);
    times[side].push(r.ms);
  }
}
console.log(JSON.stringify({ dir, keys: n, shape: process.env.BENCH_PUSH_SHAPE ?? 'bench', envelopeBytes: one.length, coordinated: median(times.coordinated), kv: median(times.kv), times }));
