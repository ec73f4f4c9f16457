// Sharded mode: the cold-shard load budget under a flood of credentials nobody proved (unknown
// API keys, made-up `keyid`s). Nothing about a credential is known before its shard is read,
// but a credential this verifier saw allowed must keep its cold reads when the flood has spent
// what unproven credentials may take (tests/vectors/sharded/unproven_flood.json, and
// tests/vectors/README.md, "Holes that are not data", for the keyid and manifest cases here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Keygate, generateSigningKey, signRequest } from '../../pkg/src/index.js';
import { VECTORS, readJson } from './helpers.mjs';
import { bucket, cut, sha, spread } from './sharded-fixture.mjs';

const URL_ = 'https://api.example.com/v1/orders';

/** The outcome of one verify: 'allowed', its reason, or 'shard_unavailable'. */
async function outcome(gate, request, now) {
  try {
    const d = await gate.verify(request, { now });
    return d.allowed ? 'allowed' : d.reason;
  } catch (e) {
    if (e?.code === 'ERR_SHARD_UNAVAILABLE') return 'shard_unavailable';
    throw e;
  }
}

test('vectors/sharded/unproven_flood.json: a flood of unknown API keys leaves a proven key its cold reads', async () => {
  const v = readJson(join(VECTORS, 'sharded/unproven_flood.json'));
  const { manifest, shards } = cut(v.keyset, v.bits);
  const gate = await Keygate.load(manifest, { shards: { load: async ({ name }) => shards.get(name), ...v.shards } });
  const now = Date.parse(v.now);
  for (const [n, s] of v.steps.entries()) {
    const got = await outcome(gate, new Request(URL_, { headers: { authorization: `Bearer ${s.api_key}` } }), now);
    assert.equal(got, s.expect, `step ${n}: ${s.note}`);
  }
  assert.ok(gate.shards.evictions >= 1 && gate.shards.proven >= 2, JSON.stringify(gate.shards));
});

/** A request signed by `keyId` with HMAC `key` (or a made-up signature when no key). */
async function signedGet(keyIds, key, now) {
  if (key) {
    return signRequest(new Request(URL_), { keyId: keyIds[0], key, alg: 'hmac-sha256', created: now });
  }
  const created = Math.floor(now / 1000);
  const labels = keyIds.map((_, n) => `s${n}`);
  return new Request(URL_, {
    headers: {
      'signature-input': keyIds.map((id, n) => `${labels[n]}=("@method" "@target-uri");keyid="${id}";alg="hmac-sha256";created=${created}`).join(', '),
      signature: labels.map((l) => `${l}=:${Buffer.alloc(32, 7).toString('base64')}:`).join(', '),
    },
  });
}

test('made-up keyids spend only the unproven budget: a signing key seen allowed still loads, also after a new manifest', async () => {
  const K = generateSigningKey({ alg: 'hmac-sha256' });
  const keys = [{ id: 'bob', signing: K.signing }];
  const one = cut({ keygate: 1, revision: 1, keys });
  const two = cut({ keygate: 1, revision: 2, keys: [{ ...keys[0], name: 'bob' }] });
  const both = new Map([...one.shards, ...two.shards].map(([n, b]) => [b64sha(b), b]));
  const load = async ({ sha256 }) => both.get(sha256);
  const gate = await Keygate.load(one.manifest, { shards: { load, maxShards: 9, loadsPerSecond: 0, burst: 40, unprovenLoadsPerSecond: 0, unprovenBurst: 16 } });
  const now = Date.parse('2026-11-29T12:00:00Z');
  assert.equal(await outcome(gate, await signedGet(['bob'], K.key, now), now), 'allowed');
  // Made-up keyids, 8 a request, in every `i` shard but bob's: 16 unproven loads, then 503.
  const bobShard = bucket(sha('bob'));
  const ids = spread(15, 'mallory-', 4, [bobShard]);
  const seen = [];
  for (let n = 0; n < 6; n++) {
    const batch = [0, 1, 2, 3, 4, 5, 6, 7].map((j) => ids[(n * 3 + j) % ids.length]);
    seen.push(await outcome(gate, await signedGet(batch, null, now), now));
  }
  assert.ok(seen.includes('shard_unavailable'), seen.join());
  /** Made-up keyids one at a time until the unproven budget refuses one (the flood drained it). */
  const drain = async () => {
    for (const id of ids) {
      const got = await outcome(gate, await signedGet([id], null, now), now);
      if (got === 'shard_unavailable') return;
      assert.equal(got, 'signature_invalid');
    }
    assert.fail('the unproven budget never ran out');
  };
  await drain();
  assert.ok(gate.shards.evictions >= 1, JSON.stringify(gate.shards));
  // Bob's shard was evicted: his cold read is allowed (the flood took 16 of 40).
  let loads = gate.shards.loads;
  assert.equal(await outcome(gate, await signedGet(['bob'], K.key, now), now), 'allowed');
  assert.equal(gate.shards.loads, loads + 1, 'a cold read');
  // A new manifest empties the cache but keeps what was proven.
  assert.equal((await gate.update(two.manifest)).changed, true);
  await drain();
  loads = gate.shards.loads;
  const d = await gate.verify(await signedGet(['bob'], K.key, now), { now });
  assert.deepEqual([d.allowed, d.name, gate.shards.loads], [true, 'bob', loads + 1]);
  // A key holder's made-up keyids beside its own are not proven by its allowed request.
  assert.equal(gate.shards.proven, 1, JSON.stringify(gate.shards));
});

test('options: unprovenLoadsPerSecond and unprovenBurst are checked, and default to half', async () => {
  const { manifest } = cut({ keygate: 1, revision: 1, keys: [{ id: 'a', api_key_hash: `sha256:${b64sha('x')}` }] });
  const load = async () => new Uint8Array();
  await assert.rejects(Keygate.load(manifest, { shards: { load, unprovenBurst: 0 } }), (e) => e.code === 'ERR_INVALID_OPTIONS' && /unprovenBurst/.test(e.message));
  await assert.rejects(Keygate.load(manifest, { shards: { load, unprovenLoadsPerSecond: -1 } }), (e) => e.code === 'ERR_INVALID_OPTIONS');
  await assert.rejects(Keygate.load(manifest, { shards: { load, unproven: 1 } }), (e) => e.code === 'ERR_INVALID_OPTIONS' && /unprovenLoadsPerSecond/.test(e.message));
  assert.ok(await Keygate.load(manifest, { shards: { load, unprovenLoadsPerSecond: 5, unprovenBurst: 5 } }));
});

function b64sha(b) {
  return sha(b).toString('base64url');
}

test('Keygate.load tells a manifest from a key set whichever way the load fails', async () => {
  const v = readJson(join(VECTORS, 'sharded/unproven_flood.json'));
  const { manifest } = cut(v.keyset, v.bits);
  // A manifest without options.shards: the sharded path's own refusal, not a key set error.
  await assert.rejects(Keygate.load(manifest), (e) => e.code === 'ERR_INVALID_OPTIONS' && /options\.shards/.test(e.message));
  await assert.rejects(Keygate.load(JSON.stringify(manifest)), (e) => e.code === 'ERR_INVALID_OPTIONS' && /options\.shards/.test(e.message));
  // A key set with a `kind` that is not "manifest", and a set that is not JSON: key set errors.
  await assert.rejects(Keygate.load({ ...v.keyset, kind: 'other' }), (e) => e.code === 'ERR_KEYSET_INVALID' && /\$\.kind/.test(e.message));
  await assert.rejects(Keygate.load('{"keygate":1,'), (e) => e.code === 'ERR_KEYSET_INVALID' && /invalid JSON/.test(e.message));
  // A full set still loads (and is not a manifest).
  const gate = await Keygate.load(v.keyset);
  assert.equal(gate.shards, null);
});
