// Layer 3: signed requests with bodies through `gate.verify` (issue 4): the shared signature
// vectors, bodies read from a clone and hashed by WebCrypto only when every other check passed
// (the caller's body stays unread), and the shared replay store (`nonceStore`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';
import { Keygate, KeygateError, generateSigningKey, signRequest } from 'keygate';
import { withKeygate } from 'keygate/worker';
import { VECTORS, readJson, readText } from './helpers.mjs';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const URL_ = 'https://api.example.com/v1/orders';

/** Records the digests WebCrypto computes (the runtime hashes bodies) for the duration of `fn`. */
async function spyDigest(fn) {
  const seen = { calls: [] };
  const subtle = globalThis.crypto.subtle;
  const { digest } = Object.getPrototypeOf(subtle);
  subtle.digest = async function (alg, data) {
    const out = await digest.call(this, alg, data);
    seen.calls.push({ alg: typeof alg === 'string' ? alg : alg.name, bytes: data.byteLength, digest: Buffer.from(out).toString('base64') });
    return out;
  };
  try {
    await fn();
  } finally {
    delete subtle.digest;
  }
  return seen;
}

test('signature vectors (tests/vectors/signatures/) decide as in Rust, as Requests and as request-like objects', async () => {
  const file = join(VECTORS, 'signatures/requests.json');
  const doc = readJson(file);
  // One verifier per input form: a case with a nonce may pass only once per verifier.
  const text = readText(join(VECTORS, 'signatures', doc.keyset));
  const gates = [await Keygate.load(text), await Keygate.load(text)];
  let withBody = 0;
  for (const c of doc.cases) {
    const r = c.request;
    const now = new Date(c.now ?? doc.now);
    const inputs = [
      new Request(r.url, { method: r.method, headers: r.headers, body: r.body ?? null }),
      { method: r.method, url: r.url, headers: r.headers, body: r.body ?? null },
    ];
    for (const [i, request] of inputs.entries()) {
      const d = await gates[i].verify(request, { clientIp: c.client_ip, now });
      const name = `${basename(file)}: ${c.name}${request instanceof Request ? '' : ' (request-like)'}`;
      assert.equal(d.allowed, c.expect.allowed, `${name}: ${JSON.stringify(d)}`);
      assert.equal(d.status, c.expect.status, name);
      assert.equal(d.reason ?? null, c.expect.reason ?? null, name);
      assert.equal(d.keyId ?? null, c.expect.key_id, name);
      if (c.expect.allowed) assert.deepEqual([...d.scopes], c.expect.scopes, name);
      else if (c.expect.status === 401 && c.expect.reason !== 'unknown_key') {
        assert.match(d.headers['WWW-Authenticate'], /^Bearer realm="keygate"/, name);
      }
    }
    if (r.body) withBody++;
  }
  assert.ok(withBody >= 5, `only ${withBody} cases with a body`);
  assert.ok(doc.cases.length >= 20);
});

test('a signed body is read from a clone and hashed once, by the runtime, with only the named digest; the body left unread', async () => {
  const key = generateSigningKey({ alg: 'ed25519' });
  const gate = await Keygate.load({ keygate: 1, revision: 1, keys: [{ id: 'c', signing: key.signing }] });
  const size = 3 * 1024 * 1024 + 7;
  const body = new Uint8Array(size).map((_, i) => i % 251);
  const signed = await signRequest(new Request(URL_, { method: 'PUT', body }), { keyId: 'c', key: key.key, alg: 'ed25519', created: NOW });
  // Re-send it as a stream of 64 KiB chunks, as a large upload arrives.
  const chunked = () => {
    let at = 0;
    return new ReadableStream({
      pull(ctl) {
        if (at >= size) return ctl.close();
        ctl.enqueue(body.slice(at, at + 65536));
        at += 65536;
      },
    });
  };
  const request = new Request(URL_, { method: 'PUT', headers: signed.headers, body: chunked(), duplex: 'half' });
  let d;
  const seen = await spyDigest(async () => (d = await gate.verify(request, { now: NOW })));
  assert.equal(d.allowed, true, JSON.stringify(d));
  assert.deepEqual(seen.calls, [{ alg: 'SHA-256', bytes: size, digest: createHash('sha256').update(body).digest('base64') }],
    'one SHA-256 over the whole body; only the algorithm Content-Digest names is computed');
  assert.equal(request.bodyUsed, false, 'the caller\'s body is not consumed');
  const forwarded = new Uint8Array(await request.arrayBuffer());
  assert.equal(forwarded.length, size, 'the body can still be forwarded in full');

  // A Content-Digest naming sha-512 only: that one is computed.
  const five12 = `sha-512=:${createHash('sha512').update(body).digest('base64')}:`;
  const s512 = await signRequest(new Request(URL_, { method: 'PUT', body, headers: { 'content-digest': five12 } }), { keyId: 'c', key: key.key, alg: 'ed25519', created: NOW });
  const seen512 = await spyDigest(async () => assert.equal((await gate.verify(s512, { now: NOW })).allowed, true));
  assert.deepEqual(seen512.calls.map((c) => c.alg), ['SHA-512']);

  // A tampered stream is refused; an unsigned request's body is not hashed at all.
  const tampered = body.slice();
  tampered[size - 1] ^= 1;
  const bad = new Request(URL_, { method: 'PUT', headers: signed.headers, body: tampered });
  assert.equal((await gate.verify(bad, { now: NOW })).reason, 'digest_mismatch');
  const unsigned = await spyDigest(() => gate.verify(new Request(URL_, { method: 'PUT', body }), { now: NOW }));
  assert.equal(unsigned.calls.length, 0, 'no hashing without signature fields');

  // A body is hashed only for an otherwise acceptable request: a forged signature, an unknown
  // key id (refused exactly like a forged signature) or a stale signature is refused without
  // reading it.
  const forgedHeaders = new Headers(signed.headers);
  forgedHeaders.set('signature', 'sig1=:' + Buffer.alloc(64).toString('base64') + ':');
  const unknownHeaders = new Headers(signed.headers);
  unknownHeaders.set('signature-input', unknownHeaders.get('signature-input').replace('keyid="c"', 'keyid="nobody"'));
  for (const [headers, reason, at] of [
    [forgedHeaders, 'signature_invalid', NOW],
    [unknownHeaders, 'signature_invalid', NOW],
    [signed.headers, 'signature_too_old', NOW + 3_600_000],
  ]) {
    const probe = new Request(URL_, { method: 'PUT', headers, body: chunked(), duplex: 'half' });
    let refused;
    const none = await spyDigest(async () => (refused = await gate.verify(probe, { now: at })));
    assert.equal(refused.reason, reason);
    assert.equal(none.calls.length, 0, `${reason}: the body was not hashed`);
    assert.equal(probe.bodyUsed, false);
  }

  const used = new Request(URL_, { method: 'PUT', headers: signed.headers, body });
  await used.arrayBuffer();
  await assert.rejects(gate.verify(used, { now: NOW }), { code: 'ERR_REQUEST_INVALID' });
  const failing = new Request(URL_, {
    method: 'PUT', headers: signed.headers, duplex: 'half',
    body: new ReadableStream({ pull: (ctl) => ctl.error(new Error('connection reset')) }),
  });
  await assert.rejects(gate.verify(failing, { now: NOW }), (e) => e instanceof KeygateError && e.code === 'ERR_REQUEST_INVALID' && /connection reset/.test(e.message));
});

/** A shared store as a Durable Object would keep it: a map, claimed atomically. */
function memoryStore() {
  const seen = new Map();
  const claims = [];
  return {
    claims,
    async claim(c) {
      claims.push(c);
      const id = `${c.keyId}\n${c.nonce}`;
      if (seen.has(id)) return false;
      seen.set(id, c.expiresAt);
      return true;
    },
  };
}

test('nonceStore: a replay routed to another isolate is refused through the shared store', async () => {
  const key = generateSigningKey({ alg: 'hmac-sha256' });
  const ks = { keygate: 1, revision: 1, keys: [{ id: 'c', signing: key.signing }] };
  const store = memoryStore();
  // Two verifiers stand for two isolates: each has its own per-isolate nonce memory.
  const one = await Keygate.load(ks, { nonceStore: store });
  const two = await Keygate.load(ks, { nonceStore: store });
  const signed = await signRequest(new Request(URL_), { keyId: 'c', key: key.key, alg: 'hmac-sha256', created: NOW, nonce: true });
  assert.equal((await one.verify(signed, { now: NOW })).allowed, true);
  const replay = await two.verify(signed, { now: NOW });
  assert.deepEqual([replay.allowed, replay.status, replay.reason, replay.keyId], [false, 401, 'nonce_replayed', 'c']);
  assert.match(replay.headers['WWW-Authenticate'], /error="invalid_token"/);
  assert.match(replay.headers['Accept-Signature'], /keyid="c"/);
  // The claim: key, nonce, and the end of the acceptance window (created + 300 s + 30 s skew).
  const nonce = /nonce="([^"]+)"/.exec(signed.headers.get('signature-input'))[1];
  assert.deepEqual(store.claims[0], { keyId: 'c', nonce, expiresAt: NOW + 330_000, kind: 'signature' });
  assert.equal(store.claims.length, 2);
  // Without a store, the second isolate cannot know (the documented per-isolate caveat).
  const alone = await Keygate.load(ks);
  assert.equal((await alone.verify(signed, { now: NOW })).allowed, true);
  // The per-isolate store stays the first line: a replay to the same isolate never asks the store.
  assert.equal((await one.verify(signed, { now: NOW })).reason, 'nonce_replayed');
  assert.equal(store.claims.length, 2);
  // Refused requests and signatures without a nonce are not claimed.
  const plain = await signRequest(new Request(URL_), { keyId: 'c', key: key.key, alg: 'hmac-sha256', created: NOW });
  assert.equal((await one.verify(plain, { now: NOW })).allowed, true);
  const late = await signRequest(new Request(URL_), { keyId: 'c', key: key.key, alg: 'hmac-sha256', created: NOW - 3_600_000, nonce: true });
  assert.equal((await one.verify(late, { now: NOW })).reason, 'signature_too_old');
  assert.equal(store.claims.length, 2);
});

test('nonceStore: per-call override, and a failing store fails closed', async () => {
  const key = generateSigningKey({ alg: 'ed25519' });
  const ks = { keygate: 1, revision: 1, keys: [{ id: 'c', signing: key.signing }] };
  const fresh = () => signRequest(new Request(URL_), { keyId: 'c', key: key.key, alg: 'ed25519', created: NOW, nonce: true });
  const loadStore = memoryStore();
  const callStore = memoryStore();
  const gate = await Keygate.load(ks, { nonceStore: loadStore });
  await gate.verify(await fresh(), { now: NOW, nonceStore: callStore });
  assert.deepEqual([loadStore.claims.length, callStore.claims.length], [0, 1]);

  const broken = { claim: async () => { throw new Error('object unreachable'); } };
  const err = await gate.verify(await fresh(), { now: NOW, nonceStore: broken }).catch((e) => e);
  assert.ok(err instanceof KeygateError);
  assert.equal(err.code, 'ERR_NONCE_STORE');
  assert.match(err.message, /object unreachable/);
  await assert.rejects(gate.verify(await fresh(), { now: NOW, nonceStore: { claim: async () => 'yes' } }), { code: 'ERR_NONCE_STORE' });
  // A request the failing store kept from being decided did not use its nonce: sent again
  // once the store answers, it is decided (and then single use).
  const once = await fresh();
  await assert.rejects(gate.verify(once.clone(), { now: NOW, nonceStore: broken }), { code: 'ERR_NONCE_STORE' });
  assert.equal((await gate.verify(once.clone(), { now: NOW })).allowed, true);
  assert.equal((await gate.verify(once.clone(), { now: NOW })).reason, 'nonce_replayed');
  for (const bad of [{}, { claim: 1 }, 'store', { claim: async () => true, release: 1 }]) {
    await assert.rejects(gate.verify(await fresh(), { now: NOW, nonceStore: bad }), { code: 'ERR_INVALID_OPTIONS' });
    await assert.rejects(Keygate.load(ks, { nonceStore: bad }), { code: 'ERR_INVALID_OPTIONS' });
  }

  // In a Worker: the store comes from env; a failing one answers 503, never lets a request through.
  let reached = 0;
  const worker = withKeygate(() => (reached++, new Response('ok')), {
    keySet: ks,
    log: false,
    nonceStore: (env) => env.STORE,
  });
  const live = () => signRequest(new Request(URL_), { keyId: 'c', key: key.key, alg: 'ed25519', nonce: true });
  const ok = await worker.fetch(await live(), { STORE: memoryStore() }, {});
  assert.equal(ok.status, 200);
  const down = await worker.fetch(await live(), { STORE: broken }, {});
  assert.equal(down.status, 503);
  assert.equal((await down.json()).error, 'verifier_unavailable');
  assert.equal(reached, 1);
  assert.throws(() => withKeygate(() => new Response(''), { keySet: ks, nonceStore: { claim: 'x' } }), { code: 'ERR_INVALID_OPTIONS' });
});

test('middleware: after a signed body was verified, the handler reads the same body', async () => {
  const { Hono } = await import('hono');
  const { keygate } = await import('keygate/hono');
  const key = generateSigningKey({ alg: 'hmac-sha256' });
  const ks = { keygate: 1, revision: 1, keys: [{ id: 'c', signing: key.signing }] };
  const body = JSON.stringify({ items: Array.from({ length: 2000 }, (_, i) => i) });
  const signed = () => signRequest(new Request(URL_, { method: 'POST', body }), { keyId: 'c', key: key.key, alg: 'hmac-sha256' });

  const worker = withKeygate(async (request, env, ctx, decision) => Response.json({ key: decision.keyId, body: await request.text() }), { keySet: ks, log: false });
  const w = await (await worker.fetch(await signed(), {}, {})).json();
  assert.deepEqual(w, { key: 'c', body });

  const app = new Hono();
  app.use('/v1/*', keygate({ keySet: ks, log: false, clientIp: () => null }));
  app.post('/v1/orders', async (c) => c.json({ key: c.get('keygate').keyId, items: (await c.req.json()).items.length }));
  const h = await app.request(await signed());
  assert.deepEqual(await h.json(), { key: 'c', items: 2000 });
});
