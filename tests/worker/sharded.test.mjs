// Sharded mode in workerd: a 10,000-key set cut by `keygate keyset shard` (bits 6: 64 d and 64 i
// shards) is published through the coordinator (the signed manifest, its shards, the manifest
// again) and decided by a gateway whose shard cache holds 9 shards. Its verdicts equal those of
// a gateway holding the full set, over the same requests; shards are dropped and loaded again;
// a revocation pushed as a delta applies to a shard that was dropped when it is loaded again; a
// tampered copy of a shard in KV is never used; a spent cold-load budget answers 503
// shard_unavailable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey, signRequest } from 'keygate';
import { PUBLISHER, bearer, eventually, gateway, payloadSha256, push, set, signed } from './helpers.mjs';
import { cluster } from './cluster.mjs';

const PUB = PUBLISHER.signing.public_key;
const N = 10_000;
const CLI = process.env.KEYGATE ?? 'target/release/keygate';
const hash = (k) => `sha256:${createHash('sha256').update(k).digest('base64url')}`;
const apiKey = (i) => `shard-test-key-${i}`;

// Every 25th key can sign (HMAC); some keys are revoked, disabled or expired; half can read orders.
const signers = new Map();
function entry(i) {
  const e = { id: `k${i}`, api_key_hash: hash(apiKey(i)), scopes: i % 2 === 0 ? ['orders:read'] : ['other'] };
  if (i % 25 === 0) {
    if (!signers.has(i)) signers.set(i, generateSigningKey({ alg: 'hmac-sha256' }));
    e.signing = signers.get(i).signing;
    e.require_signature = false;
  }
  if (i % 11 === 0) e.status = 'revoked';
  else if (i % 13 === 0) e.status = 'disabled';
  if (i % 17 === 0) e.expires_at = '2025-01-01T00:00:00Z';
  return e;
}
const routes = [{ path: '/orders/*', scopes: ['orders:read'] }];
const FULL = set(5, Array.from({ length: N }, (_, i) => entry(i)), { routes });

const dir = mkdtempSync(join(tmpdir(), 'keygate-sharded-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** `keygate keyset shard` of `doc` into `out`: the signed manifest and the shard files by digest. */
function cut(doc, out) {
  const file = join(dir, `${out}.json`);
  writeFileSync(file, JSON.stringify(doc));
  execFileSync(CLI, ['keyset', 'shard', file, '--out', join(dir, out), '--bits', '6']);
  const manifest = JSON.parse(readFileSync(join(dir, out, 'manifest.json'), 'utf8'));
  const shas = [...manifest.shards.d, ...manifest.shards.i];
  const files = new Map(shas.map((sha) => [sha, readFileSync(join(dir, out, 'shards', `${sha}.json`))]));
  return { manifest, envelope: signed(manifest), files };
}

/** Uploads shard files, several per request (one per line). */
async function upload(gw, files) {
  const all = [...files];
  for (let at = 0; at < all.length; at += 50) {
    const body = Buffer.concat(all.slice(at, at + 50).flatMap(([, b]) => [b, Buffer.from('\n')]));
    const res = await gw.fetch('/.well-known/keygate/keyset/shards', { method: 'PUT', body });
    assert.equal(res.status, 200, await res.clone().text());
  }
}

/** Sends `req` to a gateway (its path, method and header fields). */
const send = (gw, req) => gw.fetch(new URL(req.url).pathname, { method: req.method, headers: [...req.headers] });

/** Status, error code and key of a response: what a verdict is. */
async function verdict(res) {
  const body = await res.text();
  const j = body.startsWith('{') ? JSON.parse(body) : {};
  return `${res.status} ${j.error ?? ''} ${res.headers.get('www-authenticate') ?? ''}`;
}

/** The request corpus: `[name, () => Request]` (fresh each time: bodies and headers are consumed). */
async function corpus() {
  const out = [];
  const url = (i) => `http://gw.test/${i % 3 === 0 ? 'x' : 'orders/1'}`;
  for (let i = 0; i < N; i += 97) {
    out.push([`bearer k${i}`, () => new Request(url(i), bearer(apiKey(i)))]);
    out.push([`unknown ${i}`, () => new Request(url(i), bearer(`nope-${i}`))]);
  }
  for (const [i, s] of [...signers].slice(0, 40)) {
    const own = await signRequest(new Request(url(i)), { keyId: `k${i}`, key: s.key, alg: 'hmac-sha256' });
    out.push([`signed k${i}`, () => own.clone()]);
    // The API key of another key (another shard) and this key's signature: key_mismatch.
    const other = (i + 4321) % N;
    const mixed = await signRequest(new Request(url(i), bearer(apiKey(other))), { keyId: `k${i}`, key: s.key, alg: 'hmac-sha256' });
    out.push([`k${other} + sig k${i}`, () => mixed.clone()]);
    // A keyid naming a key with no signing key, and one naming no key.
    const wrong = await signRequest(new Request(url(i)), { keyId: `k${i + 1}`, key: s.key, alg: 'hmac-sha256' });
    out.push([`keyid k${i + 1}`, () => wrong.clone()]);
  }
  // Attacker-chosen keyids: eight signatures, each naming an id of another shard.
  for (let j = 0; j < 10; j++) {
    let req = new Request('http://gw.test/orders/1');
    for (let s = 0; s < 8; s++) {
      req = await signRequest(req, { keyId: `attacker-${j}-${s}`, key: signers.get(0).key, alg: 'hmac-sha256', label: `s${s}` });
    }
    const r = req;
    out.push([`attacker ${j}`, () => r.clone()]);
  }
  return out;
}

test('a sharded 10k-key set: published through the coordinator, decided as the full set is, within its cache', async () => {
  const { manifest, envelope, files } = cut(FULL, 'v5');
  assert.equal(files.size, 128);
  const cl = await cluster({
    gateways: [
      { name: 'gw-a', bindings: { KEYGATE_SHARD_CACHE_SHARDS: '9', KEYGATE_SHARD_CACHE_KEYS: '2000', KEYGATE_SHARD_LOADS_PER_SECOND: '100000' } },
      { name: 'gw-b', bindings: { KEYGATE_SHARD_LOADS_PER_SECOND: '0' } },
    ],
    bindings: { KEYGATE_PUBLISHER_KEYS: PUB, KEYSET_REFRESH_SECONDS: '1' },
  });
  const gwA = await cl.gw('gw-a');
  // Publishing: the manifest first (nothing is uploaded: 409 with what is missing), the shards,
  // the manifest again. Every request is far below the push bound.
  const first = await push(gwA, envelope);
  assert.equal(first.status, 409, JSON.stringify(first.body));
  assert.equal(first.body.error, 'shards_missing');
  assert.equal(first.body.missing_count, 128);
  // A shard no manifest names is refused.
  const stranger = await gwA.fetch('/.well-known/keygate/keyset/shards', { method: 'PUT', body: '{"keygate":1,"revision":1,"keys":[]}x' });
  assert.equal(stranger.status, 409);
  assert.equal((await stranger.json()).error, 'shard_not_staged');
  await upload(gwA, files);
  const ok = await push(gwA, envelope);
  assert.deepEqual([ok.status, ok.body.revision, ok.body.changed], [200, 5, true], JSON.stringify(ok.body));
  const info = await (await gwA.fetch('/.well-known/keygate/keyset')).json();
  assert.equal(info.keys, N);
  assert.equal(info.payload_sha256, manifest.payload_sha256);

  // The same requests at a gateway holding the full set.
  const full = await gateway({ KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_KEYSET: signed(FULL) });
  const requests = await corpus();
  assert.ok(requests.length > 300);
  const seen = new Set();
  for (const [name, req] of requests) {
    const want = await verdict(await send(full, req()));
    const got = await verdict(await send(gwA, req()));
    assert.equal(got, want, name);
    seen.add(want.split(' ').slice(0, 2).join(' '));
  }
  for (const v of ['200 ', '401 unknown_key', '401 key_revoked', '401 key_disabled', '401 key_expired', '403 scope_missing', '401 key_mismatch', '401 signature_invalid']) {
    assert.ok(seen.has(v), `${v} in ${[...seen]}`);
  }
  const stats = (await (await gwA.fetch('/.well-known/keygate/keyset')).json()).shards;
  assert.ok(stats.evictions > 50, JSON.stringify(stats));
  assert.ok(stats.held <= 9 && stats.keys <= 2000, JSON.stringify(stats));

  // A revocation as a delta (a few hundred bytes) of a key whose shards were dropped long ago.
  const victim = 98;
  assert.equal((await gwA.fetch('/orders/1', bearer(apiKey(victim)))).status, 200);
  const NEXT = { ...FULL, revision: 6, keys: FULL.keys.map((e) => (e.id === `k${victim}` ? { ...e, status: 'revoked' } : e)) };
  const delta = signed({
    keygate: 1,
    kind: 'delta',
    base: { revision: 5, payload_sha256: manifest.payload_sha256 },
    revision: 6,
    payload_sha256: createHash('sha256').update(JSON.stringify(NEXT)).digest('base64url'),
    issued_at: FULL.issued_at,
    changes: [{ op: 'revoke', id: `k${victim}`, api_key_hash: hash(apiKey(victim)) }],
  });
  assert.ok(delta.length < 2048, `${delta.length} bytes`);
  for (let i = 1; i < 200; i += 7) await gwA.fetch('/x', bearer(apiKey(i))); // drop the victim's shards
  const r = await push(gwA, delta);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const refused = await gwA.fetch('/orders/1', bearer(apiKey(victim)));
  assert.deepEqual([refused.status, (await refused.json()).error], [401, 'key_revoked']);

  // A tampered copy in KV (once the coordinator published the shards there) is never used: the
  // shard is read again from the coordinator, and the event logged.
  const kv = await cl.kv();
  const someKey = 5003;
  const dShard = manifest.shards.d[parseInt(createHash('sha256').update(apiKey(someKey)).digest('hex').slice(0, 2), 16) >> 2];
  assert.ok(await eventually(async () => (await kv.get(`keyset/blob/${dShard}`)) !== null), 'the coordinator published the shard to KV');
  const tampered = Buffer.from(`${files.get(dShard).toString().replaceAll('"revoked"', '"active"').replaceAll('"disabled"', '"active"')} `);
  await kv.put(`keyset/blob/${dShard}`, tampered.toString());
  for (let i = 2; i < 300; i += 11) await gwA.fetch('/x', bearer(apiKey(i))); // drop it from the cache
  const want = await verdict(await full.fetch('/orders/1', bearer(apiKey(someKey))));
  assert.equal(await verdict(await gwA.fetch('/orders/1', bearer(apiKey(someKey)))), want);
  assert.ok(cl.events('shard_rejected').length >= 1, 'the rejected copy is logged');

  // The next revision, published by `keygate push --shards`: only the shards that changed (the
  // victim's and the new key's) are uploaded; the gateways follow.
  const V7 = { ...NEXT, revision: 7, keys: [...NEXT.keys, { id: 'fresh', api_key_hash: hash('fresh-key'), scopes: ['orders:read'] }] };
  const next = cut(V7, 'v7');
  writeFileSync(join(dir, 'v7.envelope.json'), next.envelope);
  const url = String(await cl.mf.ready);
  const cli = await new Promise((resolve) => {
    execFile(CLI, ['push', url, join(dir, 'v7.envelope.json'), '--shards', join(dir, 'v7')], { timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? error.code : 0, stdout, stderr }),
    );
  });
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(JSON.parse(cli.stdout).revision, 7);
  const uploaded = /uploading (\d+) of (\d+) missing shards/.exec(cli.stderr);
  assert.ok(uploaded && Number(uploaded[2]) <= 4 && Number(uploaded[2]) >= 2, cli.stderr);
  assert.ok(await eventually(async () => (await gwA.fetch('/orders/1', bearer('fresh-key'))).status === 200), 'gw-a follows revision 7');
  assert.equal((await gwA.fetch('/orders/1', bearer(apiKey(victim)))).status, 401);

  // gw-b's budget holds one cold load: the next request needing a cold shard fails closed.
  const gwB = await cl.gw('gw-b');
  const answers = [];
  for (let i = 0; i < 6; i++) answers.push(await gwB.fetch('/orders/1', bearer(apiKey(1000 + 37 * i))));
  const unavailable = answers.filter((a) => a.status === 503);
  assert.ok(unavailable.length >= 4, answers.map((a) => a.status).join(','));
  assert.equal(unavailable[0].headers.get('retry-after'), '1');
  assert.equal((await unavailable[0].json()).error, 'shard_unavailable');
});

/** An envelope with one character of its signature changed. */
function corrupt(envelope) {
  const j = JSON.parse(envelope);
  const sig = j.signature ?? j.signatures[0].signature;
  const bad = `${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}`;
  return envelope.replace(sig, bad);
}

test('a fresh isolate whose KV copy of the manifest is refused (an older signed manifest under the newer name, a corrupted copy) reads it from the coordinator, never serves the older one', async () => {
  const keys = (n, extra = []) => [...Array.from({ length: n }, (_, i) => ({ id: `m${i}`, api_key_hash: hash(`m-key-${i}`), scopes: ['orders:read'] })), ...extra];
  const one = cut(set(1, keys(40, [{ id: 'old', api_key_hash: hash('old-key'), scopes: ['orders:read'] }]), { routes }), 'stale-1');
  const two = cut(set(2, keys(40, [{ id: 'new', api_key_hash: hash('new-key'), scopes: ['orders:read'] }]), { routes }), 'stale-2');
  const cl = await cluster({ gateways: ['gw-a', 'gw-b', 'gw-c'], bindings: { KEYGATE_PUBLISHER_KEYS: PUB } });
  const gwA = await cl.gw('gw-a');
  for (const v of [one, two]) {
    await push(gwA, v.envelope);
    await upload(gwA, v.files);
    assert.equal((await push(gwA, v.envelope)).status, 200);
  }
  const kv = await cl.kv();
  const name = `keyset/blob/${two.manifest.payload_sha256}`;
  assert.ok(await eventually(async () => (await kv.get(name)) !== null), 'the coordinator published the manifest to KV');
  for (const [gw, copy] of [
    ['gw-b', one.envelope], // revision 1, validly signed, under revision 2's name
    ['gw-c', corrupt(two.envelope)], // a corrupted copy
  ]) {
    await kv.put(name, copy);
    const g = await cl.gw(gw);
    const got = await g.fetch('/orders/1', bearer('new-key'));
    assert.equal(got.status, 200, `${gw}: ${await got.clone().text()}`);
    const old = await g.fetch('/orders/1', bearer('old-key'));
    assert.deepEqual([old.status, (await old.json()).error], [401, 'unknown_key'], gw);
    assert.equal((await (await g.fetch('/.well-known/keygate/keyset')).json()).revision, 2);
  }
  assert.ok(cl.events('coordinator_blob_mismatch').length >= 2, 'the refused copies are logged');
});
