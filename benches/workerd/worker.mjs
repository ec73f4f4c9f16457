// The benchmark Worker (`make bench`): keygate's real path, `gate.verify(request)` on a fresh
// Request, beside the bare WebCrypto work a hand-written Worker would do for the same check,
// in one isolate. It imports the package by its public name, as a user's Worker does, and is
// bundled by wrangler. benches/workerd/run.mjs drives it through Miniflare.
//
// The unit of timing is a slice: one request that builds its inputs (signed Requests, signature
// bases), then runs k operations of one side between two readings of `performance.now()`.
// workerd's clocks advance in 1 ms steps inside a request, so the driver sums many slices of
// a few milliseconds, alternating the two sides; a slice starts at a random point between two
// steps, so the sum is unbiased. Every keygate decision must be `allowed` and every bare check
// must succeed, or the slice fails: a broken path cannot look fast.
//
// keygate is imported on first use (esbuild keeps a dynamic import lazy), so that a cold start
// — instantiating the wasm module, loading a key set, the first decision — runs inside one
// timed request instead of at isolate start-up.

import { deltaSetup, deltaSlice } from './delta-worker.mjs';
import { floorRun } from './floor-worker.mjs';
import { shardFull, shardOne, shardSetup, shardSlice, shardStats } from './shard-worker.mjs';

const SCOPES = ['orders:read', 'orders:write'];
const ORIGIN = 'https://api.example.com';
const CASES = ['api_key', 'api_key_20h', 'hmac_get', 'hmac_get_20h', 'ed25519_get', 'hmac_post_1k', 'hmac_post_1m'];
// The `_20h` cases: the same request with the other header fields a browser or an HTTP client
// sends through Cloudflare (20 fields in all for the API key, 21 signed), since keygate reads
// every field (the header section limits) and workerd's Headers cost per field.
const TYPICAL = [
  ['accept', 'application/json'],
  ['accept-encoding', 'gzip, br'],
  ['accept-language', 'en-US,en;q=0.9'],
  ['cache-control', 'no-cache'],
  ['cf-connecting-ip', '203.0.113.7'],
  ['cf-ipcountry', 'DE'],
  ['cf-ray', '8f1c2d3e4f5a6b7c-FRA'],
  ['cf-visitor', '{"scheme":"https"}'],
  ['connection', 'Keep-Alive'],
  ['host', 'api.example.com'],
  ['origin', 'https://app.example.com'],
  ['pragma', 'no-cache'],
  ['referer', 'https://app.example.com/orders'],
  ['sec-fetch-mode', 'cors'],
  ['sec-fetch-site', 'same-site'],
  ['user-agent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36'],
  ['x-forwarded-proto', 'https'],
  ['x-real-ip', '203.0.113.7'],
  ['x-request-id', '0f3a9b2c-1d4e-4f5a-9b6c-7d8e9f0a1b2c'],
];
const base = (name) => name.replace(/_20h$/, '');
const BODY_BYTES = { hmac_post_1k: 1024, hmac_post_1m: 1024 * 1024 };

let keygateModule;
const keygate = () => (keygateModule ??= import('keygate'));
// The A/B part's base (BENCH_PARTS=ab): another build of the package, which a generated
// wrangler configuration aliases (run.mjs's BENCH_BASE), or by default this build again.
let baseModule;
const keygateBase = () => (baseModule ??= import('keygate-base'));

/** The state made by /setup: the verifier, the client keys, WebCrypto keys, bodies. */
let bench;

const enc = new TextEncoder();
const fromBase64 = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
const toBase64 = (bytes) => btoa(String.fromCharCode(...bytes));

function randomBytes(n) {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

class BenchError extends Error {}

/**
 * A key set of `filler` keys (from the driver) plus one API key, one HMAC and one Ed25519 key.
 * With `base`, the base package loads the same set into a Keygate of its own.
 */
async function setup({ filler, issuedAt, broken = false, base = false }) {
  const { Keygate, generateApiKey, generateSigningKey } = await keygate();
  const api = generateApiKey({ prefix: 'kg_live', id: 'bench-api' });
  const hmac = generateSigningKey({ alg: 'hmac-sha256' });
  const ed = generateSigningKey({ alg: 'ed25519' });
  const keySet = {
    keygate: 1,
    revision: 1,
    issued_at: issuedAt,
    routes: [
      { methods: ['GET'], path: '/v1/orders/**', scopes: ['orders:read'] },
      { methods: ['POST'], path: '/v1/orders/**', scopes: ['orders:write'] },
    ],
    keys: [
      ...filler,
      { ...api.entry, scopes: SCOPES },
      { id: 'bench-hmac', signing: hmac.signing, scopes: SCOPES },
      { id: 'bench-ed25519', signing: ed.signing, scopes: SCOPES },
    ],
  };
  const gate = await Keygate.load(keySet);
  const basePkg = base ? await keygateBase() : undefined;
  const baseGate = base ? await basePkg.Keygate.load(keySet) : undefined;
  const subtle = crypto.subtle;
  const bodies = {};
  for (const [name, n] of Object.entries(BODY_BYTES)) {
    const body = randomBytes(n);
    const digest = new Uint8Array(await subtle.digest('SHA-256', body));
    bodies[name] = { body, digest, header: `sha-256=:${toBase64(digest)}:` };
  }
  bench = {
    gate,
    baseGate,
    // A deliberately wrong client key (the harness test): every keygate decision is refused.
    clientHmac: broken ? generateSigningKey({ alg: 'hmac-sha256' }).key : hmac.key,
    clientEd: ed.key,
    apiKey: api.key,
    apiKeyBytes: enc.encode(api.key),
    hmacKey: await subtle.importKey('raw', fromBase64(hmac.key), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']),
    edKey: await subtle.importKey('raw', fromBase64(ed.signing.public_key), { name: 'Ed25519' }, false, ['verify']),
    bodies,
    pools: {},
  };
  const ab = base ? { sameModule: basePkg === (await keygate()), baseRevision: baseGate.revision } : {};
  return { keys: keySet.keys.length, revision: gate.revision, ...ab };
}

/**
 * `count` distinct inputs of a case (each its own URL, so each signature its own base): what
 * keygate is given (method, url, header pairs, body) and what the bare check is given.
 */
async function inputs(name, count, nonce = false) {
  const { createSignature } = await keygate();
  const out = [];
  const extra = name.endsWith('_20h') ? TYPICAL : [];
  name = base(name);
  for (let i = 0; i < count; i++) {
    const url = `${ORIGIN}/v1/orders/${i}?expand=items&page=2`;
    if (name === 'api_key') {
      out.push({ method: 'GET', url, headers: [...extra, ['authorization', `Bearer ${bench.apiKey}`]] });
      continue;
    }
    const body = bench.bodies[name];
    const method = body ? 'POST' : 'GET';
    const ed = name === 'ed25519_get';
    // A body's Content-Digest is computed once (WebCrypto) and signed as a header; the
    // default covered components plus content-digest, as the signer does for a body.
    const headers = body ? [['content-type', 'application/octet-stream'], ['content-digest', body.header]] : [];
    const sig = await createSignature({ method, url, headers }, {
      keyId: ed ? 'bench-ed25519' : 'bench-hmac',
      key: ed ? bench.clientEd : bench.clientHmac,
      alg: ed ? 'ed25519' : 'hmac-sha256',
      components: body ? ['@method', '@target-uri', 'content-digest'] : ['@method', '@target-uri'],
      ...(nonce ? { nonce: true } : {}),
    });
    const signature = sig.headers.find(([n]) => n === 'Signature')[1];
    out.push({
      method,
      url,
      headers: [...extra, ...headers, ...sig.headers],
      body: body?.body,
      base: enc.encode(sig.signatureBase),
      sig: fromBase64(signature.slice(signature.indexOf(':') + 1, -1)),
    });
  }
  return out;
}

function refused(d) {
  return new BenchError(`keygate refused a bench request: ${d.status} ${d.reason} (${d.message})`);
}

/**
 * The inputs of a case for one side. keygate and bare share a pool of 32 signed once and
 * reused while fresh (a minute; the policy accepts five), so that signing is not in the
 * slice. The nonce comparison signs every input in the slice, before the clock starts, for
 * both of its sides: `nonce` with a fresh nonce each (a nonce is accepted once), `fresh`
 * without.
 */
async function pool(name, side, count) {
  if (side === 'nonce' || side === 'fresh') return inputs(name, count, side === 'nonce');
  const now = Date.now();
  const cached = bench.pools[name];
  if (cached && now - cached.at < 60_000) return cached.items;
  const items = await inputs(name, 32);
  bench.pools[name] = { at: now, items };
  return items;
}

/**
 * Ways of reading a body in workerd, without keygate (BENCH_PARTS=body), each from a clone, as
 * a verifier that leaves the body to the caller must: `stream` only reads it chunk by chunk
 * (keygate then hashes the chunks in wasm), `buffer` and `digeststream` also hash it with the
 * runtime. The `digest` side is the floor: the bytes already in memory, hashed.
 */
const BODY_READS = {
  async stream(request) {
    const reader = request.clone().body.getReader();
    for (;;) if ((await reader.read()).done) return;
  },
  async buffer(request) {
    await crypto.subtle.digest('SHA-256', await request.clone().arrayBuffer());
  },
  async digeststream(request) {
    const sink = new crypto.DigestStream('SHA-256');
    await request.clone().body.pipeTo(sink);
    await sink.digest;
  },
};

// `base`: the A/B part, the base build's `gate.verify`, beside `keygate` (this build's).
const SIDES = new Set(['keygate', 'base', 'bare', 'unread', 'nonce', 'fresh', 'digest', ...Object.keys(BODY_READS)]);

/**
 * The work of `k` operations of one side of a case, ready to run: keygate's sides get fresh
 * Requests, the bare side the same inputs as bytes. Building them is not timed.
 */
async function prepare(name, side, k) {
  if (!CASES.includes(name)) throw new BenchError(`unknown case ${name}`);
  // `floor`, `duties` (BENCH_PARTS=floor): what any verifier must do with the Request, with and
  // without the bare side's cryptography.
  if (!SIDES.has(side) && side !== 'floor' && side !== 'duties') throw new BenchError(`unknown side ${side}`);
  if (!Number.isSafeInteger(k) || k < 1) throw new BenchError(`k must be a positive integer, got ${k}`);
  const inputs = await pool(name, side, k);
  const items = [];
  for (let i = 0; i < k; i++) {
    const p = inputs[i % inputs.length];
    const request = () => new Request(p.url, { method: p.method, headers: p.headers, body: p.body });
    // The bare side of a case with a body reads it from the same kind of Request keygate gets,
    // as a hand-written Worker must: it has no body in memory to start from.
    if ((side === 'bare' || side === 'unread') && p.body) items.push({ ...p, request: request() });
    else items.push(side === 'bare' || side === 'unread' || side === 'digest' ? p : request());
  }
  if (side in BODY_READS || side === 'digest') {
    if (!bench.bodies[name]) throw new BenchError(`${name} has no body`);
    const { body } = bench.bodies[name];
    const read = BODY_READS[side] ?? (() => crypto.subtle.digest('SHA-256', body));
    return { items, run: async (xs) => { for (const x of xs) await read(x); } };
  }
  // The floor sides get the fresh Requests keygate gets (floor-worker.mjs); `duties`: the
  // floor's work without its cryptography.
  if (side === 'floor' || side === 'duties') {
    return { items, run: floorRun(base(name), bench, () => new BenchError(`the ${side} check failed in ${name}`), side === 'floor') };
  }
  if (side === 'unread' && !bench.bodies[name]) throw new BenchError(`${name} has no body`);
  if (side === 'base' && !bench.baseGate) throw new BenchError('no base package loaded (/setup without base)');
  if (side === 'bare' || side === 'unread') return { items, run: bareRun(name, side === 'unread') };
  return { items, run: verifyAll(side === 'base' ? bench.baseGate : bench.gate) };
}

/** keygate's real path through `gate`: every decision must be `allowed`. */
function verifyAll(gate) {
  return async (requests) => {
    for (const request of requests) {
      const d = await gate.verify(request);
      if (!d.allowed) throw refused(d);
    }
  };
}

/**
 * The bare WebCrypto work of a case; every check must succeed. `unread`: a case with a body
 * reads it from a clone, leaving the Request's own body unread (as keygate does, so that the
 * caller can still forward it).
 */
function bareRun(name, unread = false) {
  const subtle = crypto.subtle;
  const fail = () => new BenchError(`the bare WebCrypto check failed in ${name}`);
  name = base(name);
  if (name === 'api_key') {
    const key = bench.apiKeyBytes;
    return async (ops) => {
      for (let i = 0; i < ops.length; i++) if ((await subtle.digest('SHA-256', key)).byteLength !== 32) throw fail();
    };
  }
  if (name === 'hmac_get' || name === 'ed25519_get') {
    const [alg, key] = name === 'hmac_get' ? ['HMAC', bench.hmacKey] : ['Ed25519', bench.edKey];
    return async (ops) => {
      for (const p of ops) if (!(await subtle.verify(alg, key, p.sig, p.base))) throw fail();
    };
  }
  const { digest } = bench.bodies[name];
  const key = bench.hmacKey;
  return async (ops) => {
    for (const p of ops) {
      // What a hand-written Worker does with the Request: read the body, digest it, compare
      // with the signed Content-Digest, verify the HMAC.
      const d = new Uint8Array(await subtle.digest('SHA-256', await (unread ? p.request.clone() : p.request).arrayBuffer()));
      let same = d.length === digest.length;
      for (let j = 0; j < d.length; j++) same = d[j] === digest[j] && same;
      if (!same || !(await subtle.verify('HMAC', key, p.sig, p.base))) throw fail();
    }
  };
}

/** One slice: `k` operations of one side, timed (ms, in 1 ms steps). */
async function slice(name, side, k) {
  const work = await prepare(name, side, k);
  const t0 = performance.now();
  await work.run(work.items);
  return { ms: performance.now() - t0 };
}

/**
 * A cold start, in a fresh isolate: import the package (instantiating the wasm module), load
 * the key set of the request body, decide one API-key request. Sent again to the same isolate,
 * the same work without the one-time costs. `baseline` does everything else the same (read
 * the body, build the request, answer) without keygate.
 */
async function cold(request, baseline) {
  const bytes = new Uint8Array(await request.arrayBuffer());
  const key = request.headers.get('x-bench-key');
  const t0 = performance.now();
  const probe = new Request(`${ORIGIN}/v1/orders/42`, { headers: { authorization: `Bearer ${key}` } });
  if (baseline) return { ms: performance.now() - t0, bytes: bytes.length };
  const { Keygate } = await keygate();
  const t1 = performance.now();
  const gate = await Keygate.load(bytes);
  const t2 = performance.now();
  const d = await gate.verify(probe);
  const t3 = performance.now();
  if (!d.allowed) throw refused(d);
  return { ms: t3 - t0, instantiate: t1 - t0, load: t2 - t1, decide: t3 - t2, keys: gate.info.keys };
}

/**
 * Loads the key set of the request body `runs` times with `Keygate.load`, alternating with the
 * plain-JS baseline a Worker would otherwise run (JSON.parse + a Map by digest, no validation);
 * then decides one request against the loaded set.
 */
async function scale(request, runs) {
  const { Keygate } = await keygate();
  const bytes = new Uint8Array(await request.arrayBuffer());
  const key = request.headers.get('x-bench-key');
  const load = [];
  const plain = [];
  let gate;
  for (let r = 0; r < runs; r++) {
    gate = undefined;
    let t = performance.now();
    gate = await Keygate.load(bytes);
    load.push(performance.now() - t);
    t = performance.now();
    const ks = JSON.parse(new TextDecoder().decode(bytes));
    const byDigest = new Map();
    for (const k of ks.keys) byDigest.set(k.api_key_hash, k);
    plain.push(performance.now() - t);
    if (byDigest.size !== ks.keys.length) throw new BenchError('baseline lost keys');
  }
  const d = await gate.verify(new Request(`${ORIGIN}/v1/orders/7`, { headers: { authorization: `Bearer ${key}` } }));
  if (!d.allowed) throw refused(d);
  return { load, plain, keys: gate.info.keys };
}

async function handle(request, env) {
  const url = new URL(request.url);
  const q = (name) => url.searchParams.get(name);
  switch (url.pathname) {
    case '/setup':
      return setup(await request.json());
    case '/slice':
      return slice(q('case'), q('side'), Number(q('k')));
    case '/cold':
      return cold(request, false);
    case '/cold-baseline':
      return cold(request, true);
    case '/scale':
      return scale(request, Number(q('runs')));
    case '/delta-setup':
      return deltaSetup(request, keygate);
    case '/delta-slice':
      return deltaSlice(request);
    case '/shard-setup':
      return shardSetup(request, env, keygate);
    case '/shard-full':
      return shardFull(request, keygate);
    case '/shard-one':
      return shardOne(q('key'));
    case '/shard-slice':
      return shardSlice(request, q('side'));
    case '/shard-stats':
      return shardStats();
    default:
      throw new BenchError(`no route ${url.pathname}`);
  }
}

export default {
  async fetch(request, env) {
    try {
      return Response.json(await handle(request, env));
    } catch (e) {
      return Response.json({ error: String(e?.message ?? e), stack: e instanceof BenchError ? undefined : e?.stack }, { status: 500 });
    }
  },
};
