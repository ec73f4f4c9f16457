// A push no longer asks its input whether it is a delta or a manifest before judging it (each
// question copies the whole input into the module; `isManifest` also decodes an envelope and
// scans it: a third of a second for a 27 MB set). The coordinator's push hands the input to
// the set in use (PREPARE), which tells when the input is of the other mode (a manifest where a
// full set is in use, a full set where a manifest is); the KV-only push and PREPARE answer
// "not a delta" themselves for an input too large to be one. The answers must be the same as
// the old order's: each push here, to a coordinated isolate holding nothing, a full set or a
// sharded set's manifest, bare and signed, small and padded with JSON whitespace past 64 KiB
// (and past the delta bound), must end as the old routing (reproduced below from the module's
// own questions, asked first) ends it: the same update sent to the coordinator and the same set
// in use after, or the same error (code, wire error, status, message, every error path).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Keygate, KeygateError, generateSigningKey, signKeySet } from '../../pkg/src/index.js';
import { PREPARE, isDeltaInput } from '../../pkg/src/keygate.js';
import { wasm } from '../../pkg/src/wasm/facade.js';
import { edgeSource } from '../../pkg/src/coordination.js';
import { keySetEndpoint } from '../../pkg/src/push.js';
import { VECTORS, readJson } from './helpers.mjs';
import { cut } from './sharded-fixture.mjs';

const DOC = readJson(join(VECTORS, 'deltas/deltas.json'));
const BASE = JSON.parse(DOC.base); // revision 5 (the vector gives the base set as text)
const publisher = generateSigningKey({ alg: 'ed25519' });
const forger = generateSigningKey({ alg: 'ed25519' });
const enc = (t) => new TextEncoder().encode(t);

/** The largest input the module's isDelta looks into (src/keyset/envelope/load.rs). */
const MAX_DELTA_INPUT = Math.floor((1 << 20) / 3) * 4 + 64 * 1024;

/** The document with spaces before its closing brace, `size` bytes in all (the same JSON). */
const padTo = (text, size) => `${text.slice(0, -1)}${' '.repeat(size - text.length)}}`;
const PADDED = 70 * 1024;

/** A manifest of the set `full` (the base's own digest when it is the base, as a delta names it). */
function manifestOf(full, sha) {
  const { manifest } = cut(full);
  if (sha) manifest.payload_sha256 = sha;
  return JSON.stringify(manifest);
}

/** The inputs pushed: [name, bare text]; each also padded past 64 KiB (and a few past the delta bound). */
function inputs() {
  const set = (revision, extra = {}) => JSON.stringify({ ...BASE, revision, ...extra });
  const list = [
    ['the base again', DOC.base],
    ['a newer full set', set(6)],
    ['an older full set', set(4)],
    ['an invalid full set', set(6, { keys: [...BASE.keys, { id: 'x', api_key_hash: 'sha256:short' }] })],
    ['a full set with a kind', set(6, { kind: 'full' })],
    ['not JSON', '{"keygate": 1, "revision": x, "keys": []}'],
    ['the base as a manifest', manifestOf(BASE, DOC.base_payload_sha256)],
    ['a newer manifest', manifestOf({ ...BASE, revision: 6 })],
    ['an older manifest', manifestOf({ ...BASE, revision: 4 })],
  ];
  for (const c of DOC.cases) list.push([`delta: ${c.name}`, JSON.stringify(c.delta)]);
  const out = [];
  for (const [name, text] of list) {
    out.push([name, text], [`${name}, padded`, padTo(text, PADDED)]);
    if (!name.startsWith('delta')) out.push([`${name}, padded past the delta bound`, padTo(text, MAX_DELTA_INPUT + 1024)]);
  }
  return out;
}

/** A coordinator holding `base` (bytes, or nothing) as its state, recording each commit. */
async function coordinator(base, options) {
  const commits = [];
  let head = null;
  let at = null; // the base
  let deltas = [];
  const blobs = new Map();
  if (base) {
    const g = await Keygate.load(base, { ...options, shards: { load: async () => null } });
    head = at = { revision: g.revision, payloadSha256: g.info.payloadSha256 };
    blobs.set(head.payloadSha256, base);
  }
  const stub = {
    poll: async (s) => {
      if (!head) return { status: 'empty' };
      if (s && s.revision === head.revision && s.payloadSha256 === head.payloadSha256) return { status: 'current' };
      return { status: 'base', base: at, deltas, head };
    },
    readBlob: async (sha) => blobs.get(sha) ?? null,
    readShard: async () => null,
    // Every commit is taken (the real coordinator's high-water mark is not what is tested here).
    commit: async ({ kind, revision, payloadSha256, base: from, shards, bytes }) => {
      commits.push({ kind, revision, payloadSha256, base: from, shards });
      head = { revision, payloadSha256 };
      if (kind === 'delta') {
        deltas = [...deltas, new TextDecoder().decode(bytes)];
      } else {
        at = head;
        deltas = [];
        blobs.set(payloadSha256, bytes);
      }
      return { changed: true };
    },
  };
  return { commits, binding: () => ({ namespace: { getByName: () => stub } }) };
}

const errorOf = (e) => {
  assert.ok(e instanceof KeygateError, String(e?.stack ?? e));
  return { code: e.code, error: e.error, status: e.status, message: e.message, errors: e.errors?.map((x) => [x.path, x.message]) ?? null };
};

/** The push of `bytes` to an isolate following a coordinator that holds `base`: what it sends and leaves in use. */
async function pushed(base, bytes, options) {
  const c = await coordinator(base, options);
  const logs = [];
  const { source } = edgeSource('test', { keySet: () => null, coordinator: c.binding, refreshSeconds: 0, log: (l) => logs.push(l), ...options });
  const env = {};
  await source.get(env);
  logs.length = 0;
  let r;
  try {
    await source.push(env, bytes);
    // Judged as a first set (nothing in use, or a switch): it replaced the set in use.
    const first = logs.some((l) => l.event === 'keygate.keyset_loaded' && l.origin === 'push');
    r = { sent: c.commits[0], route: first ? 'first' : 'in use' };
  } catch (e) {
    r = { error: errorOf(e), sent: c.commits[0] ?? null };
  }
  const gate = await source.get(env);
  return { ...r, inUse: gate && { revision: gate.revision, keys: gate.info.keys, sharded: gate.shards !== null } };
}

/**
 * How the old routing judged the same push: the module asked first whether the input is a
 * delta and whether it is a manifest; then the set in use judged it, or it loaded as a first
 * set. What it would send the coordinator and by which route, or its refusal (the set in use
 * then unchanged).
 */
async function oldRouting(base, bytes, options) {
  const shards = { load: async () => null };
  const gate = base ? await Keygate.load(base, { ...options, shards }) : null;
  const switching = gate && !wasm.isDelta(bytes) && (gate.shards !== null) !== wasm.isManifest(bytes);
  try {
    if (gate && !switching) {
      const p = await gate[PREPARE](bytes);
      p.discard();
      return { sent: { kind: p.kind, revision: p.revision, payloadSha256: p.payloadSha256, base: p.base, shards: p.shards }, route: 'in use' };
    }
    const first = await Keygate.load(bytes, { ...options, shards });
    const s = first.shards === null ? undefined : (await first[PREPARE](bytes)).shards;
    return { sent: { kind: s ? 'manifest' : 'full', revision: first.revision, payloadSha256: first.info.payloadSha256, base: null, shards: s }, route: 'first' };
  } catch (e) {
    return { error: errorOf(e), sent: null, inUse: gate && { revision: gate.revision, keys: gate.info.keys, sharded: gate.shards !== null } };
  }
}

/** The push's outcome beside the old routing's (what a taken push leaves in use is the coordinator's to say). */
async function compare(base, bytes, options, what) {
  const got = await pushed(base, bytes, options);
  const old = await oldRouting(base, bytes, options);
  if (!old.error) delete got.inUse;
  assert.deepEqual(got, old, what);
  return got;
}

const STATES = [
  ['nothing', () => null],
  ['a full set', (sign) => sign(DOC.base)],
  ['a manifest', (sign) => sign(manifestOf(BASE, DOC.base_payload_sha256))],
];

test('isDeltaInput: the bound beyond which the module answers false without looking is the module\'s own', () => {
  const delta = JSON.stringify(DOC.cases[0].delta);
  for (const [size, expected] of [
    [delta.length, true],
    [MAX_DELTA_INPUT, true],
    [MAX_DELTA_INPUT + 1, false],
  ]) {
    const bytes = enc(padTo(delta, size));
    assert.equal(wasm.isDelta(bytes), expected, `the module at ${size} bytes`);
    assert.equal(isDeltaInput(bytes), expected, `isDeltaInput at ${size} bytes`);
  }
  // The largest delta there may be, signed: its envelope is within the bound.
  const largest = enc(signKeySet(padTo(delta, 1 << 20), publisher.key));
  assert.ok(largest.length <= MAX_DELTA_INPUT);
  assert.equal(wasm.isDelta(largest), true);
  assert.equal(isDeltaInput(largest), true);
  assert.equal(isDeltaInput(enc(manifestOf(BASE))), false);
  assert.equal(isDeltaInput(enc(DOC.base)), false);
});

test('coordinated push, bare: every input to every state ends as the old routing ends it', async () => {
  for (const [state, make] of STATES) {
    const base = make((t) => enc(t));
    for (const [name, text] of inputs()) {
      await compare(base, enc(text), {}, `${name} to ${state}`);
    }
  }
});

test('coordinated push, signed and forged: the same as the old routing', async () => {
  const options = { publisherKeys: [publisher.signing.public_key] };
  const signed = (t) => enc(signKeySet(t, publisher.key));
  for (const [state, make] of STATES) {
    const base = make(signed);
    for (const [name, text] of inputs().filter(([n]) => !n.includes('past the delta bound') || n.startsWith('a newer'))) {
      let bytes;
      try {
        bytes = signed(text);
      } catch {
        continue; // (an invalid document is not signed)
      }
      await compare(base, bytes, options, `${name}, signed, to ${state}`);
    }
    for (const text of [JSON.stringify({ ...BASE, revision: 6 }), manifestOf({ ...BASE, revision: 6 }), JSON.stringify(DOC.cases[0].delta)]) {
      const forged = enc(signKeySet(padTo(text, PADDED), forger.key));
      const got = await compare(base, forged, options, `forged, to ${state}`);
      assert.equal(got.error.error, 'envelope_signature_invalid');
    }
  }
});

test('coordinated push: a switch between a full set and a manifest is made, either way and at any size', async () => {
  const full = enc(DOC.base);
  const manifest = enc(manifestOf(BASE, DOC.base_payload_sha256));
  for (const text of [manifestOf({ ...BASE, revision: 6 }), padTo(manifestOf({ ...BASE, revision: 6 }), PADDED)]) {
    const r = await pushed(full, enc(text), {});
    assert.equal(r.sent.kind, 'manifest');
    assert.deepEqual(r.inUse, { revision: 6, keys: BASE.keys.length, sharded: true });
  }
  const newer = JSON.stringify({ ...BASE, revision: 6 });
  for (const text of [newer, padTo(newer, PADDED), padTo(newer, MAX_DELTA_INPUT + 1024)]) {
    const r = await pushed(manifest, enc(text), {});
    assert.equal(r.sent.kind, 'full');
    assert.deepEqual(r.inUse, { revision: 6, keys: BASE.keys.length, sharded: false });
  }
  // Not a switch: the set in use judges it (a full set, a delta, a manifest over a manifest).
  assert.equal((await pushed(full, enc(padTo(newer, PADDED)), {})).sent.kind, 'full');
  assert.equal((await pushed(manifest, enc(manifestOf({ ...BASE, revision: 6 })), {})).sent.kind, 'manifest');
  for (const base of [full, manifest]) {
    const r = await pushed(base, enc(padTo(JSON.stringify(DOC.cases[0].delta), PADDED)), {});
    assert.equal(r.sent.kind, 'delta');
    assert.deepEqual(r.sent.base, { revision: 5, payloadSha256: DOC.base_payload_sha256 });
  }
  // An older full set where a full set is in use: judged by the set in use, not as a first set
  // (the coordinator, which this one lets take anything, would refuse it).
  const older = await pushed(full, enc(padTo(JSON.stringify({ ...BASE, revision: 4 }), PADDED)), {});
  assert.deepEqual([older.route, older.sent.revision], ['in use', 4]);
});

test('KV-only push: a delta up to the delta bound is still refused as one (delta_requires_coordinator); a full set past it loads', async () => {
  const iso = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  const base = JSON.stringify({ ...BASE, issued_at: iso });
  const delta = JSON.stringify({ ...DOC.cases[0].delta, base: { revision: 5, payload_sha256: createHash('sha256').update(base).digest('base64url') }, issued_at: iso });
  const signed = (t) => signKeySet(t, publisher.key);
  const stored = [];
  const { source } = edgeSource('test', { keySet: () => signed(base), publisherKeys: [publisher.signing.public_key] });
  const put = async (body) => {
    const request = new Request('https://gateway.example/.well-known/keygate/keyset', { method: 'PUT', body });
    const r = await keySetEndpoint(request, {}, undefined, source, () => ({ store: async (t) => stored.push(t.length) }));
    return [r.status, (await r.json()).error ?? 'ok'];
  };
  const largest = signed(padTo(delta, 1 << 20)); // its envelope: within the bound
  assert.ok(largest.length <= MAX_DELTA_INPUT && largest.length > (1 << 20));
  for (const body of [signed(delta), signed(padTo(delta, PADDED)), largest]) {
    assert.deepEqual(await put(body), [409, 'delta_requires_coordinator']);
  }
  assert.equal((await source.get({})).revision, 5);
  assert.deepEqual(await put(signed(padTo(JSON.stringify({ ...BASE, revision: 6, issued_at: iso }), MAX_DELTA_INPUT + 1024))), [200, 'ok']);
  assert.equal((await source.get({})).revision, 6);
  assert.equal(stored.length, 1);
});
