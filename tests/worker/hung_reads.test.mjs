// Reads of the key set's storage that never answer (tests/vectors/sharded/hung_reads.json): a
// sharded gateway bound to a coordinator whose named calls wait until released. Each request
// is answered within the storage bound (KEYGATE_STORAGE_TIMEOUT_SECONDS) with the fail-closed
// refusal of what it waited for, and once the coordinator answers again the same request is
// decided (the pending read was not kept; a nonce claimed late was released).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey, signRequest } from 'keygate';
import { PUBLISHER, bearer, eventually, push, set, signed } from './helpers.mjs';
import { HANG_COORDINATOR, cluster } from './cluster.mjs';
import { ROOT } from '../js/helpers.mjs';

const VECTORS = JSON.parse(readFileSync(join(ROOT, 'tests/vectors/sharded/hung_reads.json'), 'utf8'));
const PUB = PUBLISHER.signing.public_key;
const CLI = process.env.KEYGATE ?? 'target/release/keygate';
const hash = (k) => `sha256:${createHash('sha256').update(k).digest('base64url')}`;
const hmac = generateSigningKey({ alg: 'hmac-sha256' });
const KEYS = [
  ...Array.from({ length: 200 }, (_, i) => ({ id: `k${i}`, api_key_hash: hash(`hung-key-${i}`) })),
  { id: 'partner', signing: hmac.signing },
];

/** The set cut into shards by `keygate keyset shard`: the signed manifest and the shard files. */
function cut() {
  const dir = mkdtempSync(join(tmpdir(), 'keygate-hung-'));
  try {
    writeFileSync(join(dir, 'set.json'), JSON.stringify(set(3, KEYS)));
    execFileSync(CLI, ['keyset', 'shard', join(dir, 'set.json'), '--out', join(dir, 'out'), '--bits', '3']);
    const manifest = JSON.parse(readFileSync(join(dir, 'out', 'manifest.json'), 'utf8'));
    const shas = [...manifest.shards.d, ...manifest.shards.i];
    const body = Buffer.concat(shas.flatMap((sha) => [readFileSync(join(dir, 'out', 'shards', `${sha}.json`)), Buffer.from('\n')]));
    return { envelope: signed(manifest), body };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function answer(res) {
  const text = await res.text();
  return { status: res.status, error: text.startsWith('{') ? JSON.parse(text).error : null, retryAfter: res.headers.get('retry-after') };
}

test('reads that never answer: each request is answered within the bound, fails closed, and the next one reads again', async () => {
  const { envelope, body } = cut();
  const seconds = VECTORS.storage_timeout_seconds;
  // No KV: every shard and base is read from the coordinator (the fixture in front of it).
  const cl = await cluster({
    kv: false,
    coordinatorScript: 'hang',
    extra: [HANG_COORDINATOR],
    gateways: ['gw-pub', ...VECTORS.cases.map((c, i) => ({ name: `gw-${i}`, bindings: c.bindings ?? {} }))],
    bindings: { KEYGATE_PUBLISHER_KEYS: PUB, KEYSET_REFRESH_SECONDS: '1', KEYGATE_STORAGE_TIMEOUT_SECONDS: String(seconds) },
  });
  const control = await cl.mf.getWorker('hang');
  const fixture = async (path) => (await control.fetch(`http://hang.test${path}`)).json();
  const pub = await cl.gw('gw-pub');
  assert.equal((await push(pub, envelope)).status, 409, 'shards_missing first');
  const up = await pub.fetch('/.well-known/keygate/keyset/shards', { method: 'PUT', body });
  assert.equal(up.status, 200, await up.clone().text());
  assert.equal((await push(pub, envelope)).status, 200);

  for (const [i, c] of VECTORS.cases.entries()) {
    const gw = await cl.gw(`gw-${i}`);
    const signedReq = await signRequest(new Request('http://gw.test/api/orders'), { keyId: 'partner', key: hmac.key, alg: 'hmac-sha256', nonce: `nonce-${i}` });
    const send = () => (c.request === 'signed' ? gw.fetch('/api/orders', { headers: signedReq.headers }) : gw.fetch('/api/x', bearer(`hung-key-${i * 37}`)));
    if (!c.cold) {
      // Warm: the set is loaded (and for a signed request, its shards held).
      const warm = await signRequest(new Request('http://gw.test/api/orders'), { keyId: 'partner', key: hmac.key, alg: 'hmac-sha256', nonce: `warm-${i}` });
      assert.equal((await gw.fetch('/api/orders', { headers: warm.headers })).status, 200, `${c.name}: warm`);
    }
    await fixture(`/hang?methods=${c.hang.join(',')}`);
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: c.concurrent }, async () => answer(await send())));
    const took = Date.now() - started;
    for (const a of answers) {
      assert.deepEqual(a, { status: c.expect.status, error: c.expect.error, retryAfter: c.expect.retry_after }, `${c.name}: ${c.models}`);
    }
    assert.ok(took >= seconds * 1000 - 50 && took <= c.within_ms, `${c.name}: answered after ${took} ms`);
    const before = await fixture('/state');
    assert.ok(before.waiting >= 1, `${c.name}: the read is still pending at the coordinator`);
    await fixture('/release');
    if (c.request === 'signed') {
      // The late claim lands, is won, and is released by the isolate that gave up on it.
      assert.ok(await eventually(async () => ((await fixture('/state')).calls.releaseNonce ?? 0) >= 1), `${c.name}: the late claim is released`);
    }
    const again = await eventually(async () => {
      const a = await answer(await send());
      return a.status === c.after_release.status ? a : null;
    }, 5000);
    assert.ok(again, `${c.name}: decided once the coordinator answers`);
  }
});
