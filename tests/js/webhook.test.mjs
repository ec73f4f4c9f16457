// Standard Webhooks through the package: the shared delivery vectors (tests/vectors/webhooks/,
// the Rust and wasm runners read the same file) decided by gate.verify, as WHATWG Requests with
// streamed bodies and as request-like objects with bytes; signWebhook and generateWebhookKey
// against the published vector and against the verifier; the body bound; nonce claims.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Keygate, KeygateError, generateWebhookKey, signWebhook } from 'keygate';
import { withKeygate, MAX_WEBHOOK_BODY_BYTES } from 'keygate/worker';
import { VECTORS, keySet, readJson, readText } from './helpers.mjs';
import { coordinatorNonceStore } from '../../pkg/src/coordinated-nonces.js';

const doc = readJson(join(VECTORS, 'webhooks/requests.json'));
const KEYSET = readText(join(VECTORS, 'webhooks/keyset.json'));
const reference = readJson(join(VECTORS, 'webhooks/reference.json'));
const bodyOf = (r) => (r.body_base64 !== undefined ? new Uint8Array(Buffer.from(r.body_base64, 'base64')) : r.body ?? null);

function check(name, d, exp) {
  assert.equal(d.allowed, exp.allowed, `${name}: ${JSON.stringify(d)}`);
  assert.equal(d.status, exp.status, `${name}: ${JSON.stringify(d)}`);
  assert.equal(d.reason ?? null, exp.reason ?? null, `${name}: ${JSON.stringify(d)}`);
  assert.equal(d.keyId ?? null, exp.key_id, name);
  if (exp.allowed) {
    assert.deepEqual([...d.scopes], exp.scopes, name);
    if (exp.webhook) assert.deepEqual({ ...d.webhook }, exp.webhook, `${name}: the delivery`);
  } else {
    assert.ok(d.message.length > 0, `${name}: a refusal explains itself`);
    assert.equal(d.headers['Accept-Signature'], undefined, `${name}: no Accept-Signature on a webhook route`);
  }
}

test('delivery vectors, as WHATWG Requests (streamed bodies) and as request-like objects', async () => {
  for (const shape of ['request', 'like']) {
    const gate = await Keygate.load(KEYSET);
    let n = 0;
    for (const c of doc.cases) {
      const r = c.request;
      const request =
        shape === 'request'
          ? new Request(r.url, { method: r.method, headers: r.headers, body: bodyOf(r) })
          : { method: r.method, url: r.url, headers: r.headers, body: bodyOf(r) };
      const d = await gate.verify(request, { clientIp: c.client_ip ?? undefined, now: new Date(c.now ?? doc.now) });
      check(`${shape}: ${c.name}`, d, c.expect);
      n++;
    }
    assert.ok(n >= 40, `only ${n} deliveries`);
  }
});

test('signWebhook: the published vector, and what the verifier accepts', async () => {
  const h = await signWebhook({
    key: reference.secret,
    id: reference.id,
    timestamp: new Date(reference.timestamp * 1000),
    body: reference.body,
  });
  assert.deepEqual({ ...h }, {
    'webhook-id': reference.id,
    'webhook-timestamp': String(reference.timestamp),
    'webhook-signature': reference.signature,
  });
  const v1 = generateWebhookKey({ scheme: 'v1' });
  const v1a = generateWebhookKey({ scheme: 'v1a' });
  assert.match(v1.key, /^whsec_/);
  assert.equal(v1.webhook.secret, v1.key);
  assert.match(v1a.key, /^whsk_/);
  assert.match(v1a.webhook.public_key, /^whpk_/);
  const gate = await Keygate.load(
    keySet(1, [{ id: 'a', webhook: v1.webhook }, { id: 'b', webhook: v1a.webhook }], {
      routes: [{ methods: ['POST'], path: '/hooks', webhook_keys: ['a', 'b'] }],
    }),
  );
  for (const key of [v1, v1a, [v1a.key, v1.key]]) {
    const body = JSON.stringify({ type: 'ping', n: Math.random() });
    const headers = await signWebhook({ key, body });
    assert.match(headers['webhook-id'], /^msg_[A-Za-z0-9]{27}$/);
    const d = await gate.verify(new Request('https://api.example.com/hooks', { method: 'POST', headers, body }));
    assert.equal(d.allowed, true, JSON.stringify(d));
    assert.equal(d.webhook.id, headers['webhook-id']);
    assert.equal(d.webhook.timestamp, Number(headers['webhook-timestamp']));
  }
  // Raw secret bytes sign as v1.
  const raw = new Uint8Array(32).fill(7);
  const s = await signWebhook({ key: raw, body: '', id: 'm', timestamp: 1_700_000_000_000 });
  assert.match(s['webhook-signature'], /^v1,/);
  for (const [options, code] of [
    [{ key: v1.key, body: 'x', id: 'a.b' }, 'ERR_INVALID_OPTIONS'],
    [{ key: 'whpk_AAAA', body: 'x' }, 'ERR_KEY_INVALID'],
    [{ key: v1a.webhook.public_key, body: 'x' }, 'ERR_KEY_INVALID'],
    [{ key: v1.key, body: {} }, 'ERR_INVALID_OPTIONS'],
    [{ key: [], body: 'x' }, 'ERR_INVALID_OPTIONS'],
    [{ key: v1.key, body: 'x', extra: 1 }, 'ERR_INVALID_OPTIONS'],
  ]) {
    await assert.rejects(signWebhook(options), (e) => e instanceof KeygateError && e.code === code);
  }
  assert.throws(() => generateWebhookKey({ scheme: 'v2' }), { code: 'ERR_INVALID_OPTIONS' });
});

test('a delivery body past its bound is refused before or while it is read', async () => {
  const k = generateWebhookKey({ scheme: 'v1' });
  const gate = await Keygate.load(
    keySet(1, [{ id: 'a', webhook: k.webhook }], { routes: [{ path: '/hooks', webhook_keys: ['a'] }] }),
  );
  assert.equal(MAX_WEBHOOK_BODY_BYTES, 1024 * 1024);
  const body = 'x'.repeat(2048);
  const headers = await signWebhook({ key: k, body });
  const req = () => new Request('https://api.example.com/hooks', { method: 'POST', headers, body });
  assert.equal((await gate.verify(req(), { maxWebhookBodyBytes: 2048 })).allowed, true);
  await assert.rejects(gate.verify(req(), { maxWebhookBodyBytes: 2047 }), (e) => {
    assert.equal(e.code, 'ERR_BODY_TOO_LARGE');
    assert.match(e.message, /maxWebhookBodyBytes \(2047 bytes\)/);
    return true;
  });
  // maxBodyBytes bounds every signed body, webhooks too.
  await assert.rejects(gate.verify(req(), { maxBodyBytes: 1000 }), { code: 'ERR_BODY_TOO_LARGE' });
  // A stream without a declared length stops at the crossing chunk.
  const stream = new ReadableStream({
    pull(c) {
      c.enqueue(new TextEncoder().encode('y'.repeat(1000)));
    },
  });
  const endless = new Request('https://api.example.com/hooks', { method: 'POST', headers, body: stream, duplex: 'half' });
  await assert.rejects(gate.verify(endless, { maxWebhookBodyBytes: 4096 }), { code: 'ERR_BODY_TOO_LARGE' });
  // A forged or stale delivery is refused before its body is read at all.
  const stale = { ...headers, 'webhook-timestamp': '1700000000' };
  const d = await gate.verify(new Request('https://api.example.com/hooks', { method: 'POST', headers: stale, body }), { maxWebhookBodyBytes: 10 });
  assert.equal(d.reason, 'signature_too_old');
});

test('accepted deliveries are claimed as webhook kinds; a claim refused is a replay', async () => {
  const k = generateWebhookKey({ scheme: 'v1a' });
  const claims = [];
  const store = { claim: async (c) => (claims.push(c), claims.length === 1) };
  const gate = await Keygate.load(
    keySet(1, [{ id: 'a', webhook: k.webhook }], { routes: [{ path: '/hooks', webhook_keys: ['a'] }] }),
    { nonceStore: store },
  );
  const send = async () => {
    const headers = await signWebhook({ key: k, body: '{}', id: `msg_${claims.length}` });
    return gate.verify(new Request('https://api.example.com/hooks', { method: 'POST', headers, body: '{}' }));
  };
  assert.equal((await send()).allowed, true);
  assert.equal(claims[0].kind, 'webhook');
  assert.equal(claims[0].keyId, '', 'a delivery is claimed by itself, not under a key');
  assert.match(claims[0].nonce, /^msg_0\.\d+$/);
  const second = await send();
  assert.equal(second.reason, 'nonce_replayed');
  assert.match(second.message, /webhook-id/);
});

test('the middleware answers 413 past maxWebhookBodyBytes, and passes deliveries on', async () => {
  const k = generateWebhookKey({ scheme: 'v1' });
  const ks = keySet(1, [{ id: 'a', webhook: k.webhook }], { routes: [{ methods: ['POST'], path: '/hooks', webhook_keys: ['a'] }] });
  const worker = withKeygate(async (req, _env, _ctx, d) => Response.json({ id: d.webhook.id, body: await req.text() }), {
    keySet: ks,
    log: false,
    maxWebhookBodyBytes: (env) => env.MAX,
  });
  const body = JSON.stringify({ type: 'ping' });
  const headers = await signWebhook({ key: k, body });
  const ok = await worker.fetch(new Request('https://x/hooks', { method: 'POST', headers, body }), { MAX: '100' }, {});
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { id: headers['webhook-id'], body });
  const big = await worker.fetch(new Request('https://x/hooks', { method: 'POST', headers, body }), { MAX: '5' }, {});
  assert.equal(big.status, 413);
  const e = await big.json();
  assert.equal(e.error, 'body_too_large');
  assert.match(e.message, /webhook delivery may carry at most 5 bytes/);
});

test("the coordinator's nonce store keeps a delivery's claim apart from a signature nonce of the same text", async () => {
  // A stand-in namespace: every shard one map of fingerprints, as the Durable Object keeps them.
  const seen = new Set();
  const namespace = {
    getByName: () => ({
      claimNonce: async (fp) => {
        const k = Buffer.from(fp).toString('hex');
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      },
    }),
  };
  const store = coordinatorNonceStore(namespace, 'keyset', 16);
  const claim = (kind) => store.claim({ keyId: 'billing', nonce: 'msg_1.1700000000', expiresAt: Date.now() + 60_000, kind });
  assert.equal(await claim('signature'), true);
  assert.equal(await claim('webhook'), true, 'another kind: not a replay');
  assert.equal(await claim('webhook'), false);
  assert.equal(await claim('signature'), false);
  assert.equal(await claim(undefined), false, 'no kind is a signature nonce, as before');  // A delivery's claim names no key: its shard follows the delivery, so deliveries spread.
  const names = new Set();
  const spread = coordinatorNonceStore({ getByName: (n) => (names.add(n), { claimNonce: async () => true }) }, 'keyset', 16);
  for (let i = 0; i < 32; i++) await spread.claim({ keyId: '', nonce: `msg_${i}.1700000000`, expiresAt: Date.now() + 60_000, kind: 'webhook' });
  assert.ok(names.size > 1, [...names].join());
});

// A rotation: the provider signs with the old key y and the new key x at once; an update lists
// them in another order or adds x first. A resent copy must meet the first copy's record.
const rotation = (revision, ids) => keySet(revision, ids.map((id) => ({ id, webhook: ROTATING[id].webhook })), { routes: [{ methods: ['POST'], path: '/hooks', webhook_keys: ids }] });
const ROTATING = { y: generateWebhookKey({ scheme: 'v1' }), x: generateWebhookKey({ scheme: 'v1' }) };

test('a delivery accepted once is a replay after an update puts another proven key first', async () => {
  const gate = await Keygate.load(rotation(1, ['y']));
  const now = new Date();
  const body = '{"type":"invoice.paid"}';
  const headers = await signWebhook({ key: [ROTATING.y.key, ROTATING.x.key], body, timestamp: now });
  const deliver = () => gate.verify(new Request('https://api.example.com/hooks', { method: 'POST', headers, body }), { now });
  assert.equal((await deliver()).allowed, true);
  assert.equal((await deliver()).reason, 'nonce_replayed');
  await gate.update(rotation(2, ['x', 'y']));
  const added = await deliver();
  assert.equal(added.reason, 'nonce_replayed', `the new key listed first: ${JSON.stringify(added)}`);
  await gate.update(rotation(3, ['x']));
  assert.equal((await deliver()).reason, 'nonce_replayed', 'the old key dropped');
});

test('a delivery decided again after an update keeps every key its body proved, and is claimed once', async () => {
  const gate = await Keygate.load(rotation(1, ['y', 'x']));
  const now = new Date();
  const body = '{"type":"invoice.paid"}';
  const headers = await signWebhook({ key: [ROTATING.y.key, ROTATING.x.key], body, timestamp: now });
  const url = 'https://api.example.com/hooks';
  let release;
  const held = new Promise((r) => (release = r));
  const slow = new ReadableStream({
    async start(c) {
      c.enqueue(new TextEncoder().encode(body.slice(0, 5)));
      await held;
      c.enqueue(new TextEncoder().encode(body.slice(5)));
      c.close();
    },
  });
  const streaming = gate.verify(new Request(url, { method: 'POST', headers, body: slow, duplex: 'half' }), { now });
  await new Promise((r) => setTimeout(r, 20));
  // Set 2 promotes x; a copy decided under it is accepted first.
  await gate.update(rotation(2, ['x', 'y']));
  const fresh = await gate.verify(new Request(url, { method: 'POST', headers, body }), { now });
  assert.equal(fresh.allowed, true, JSON.stringify(fresh));
  assert.equal(fresh.keyId, 'x');
  release();
  const late = await streaming;
  assert.equal(late.reason, 'nonce_replayed', `the copy that streamed through the update: ${JSON.stringify(late)}`);

  // Alone, a delivery that streams through an update that drops its winning key is decided
  // again under the keys left: x, which its body proved too.
  await gate.update(rotation(3, ['y', 'x']));
  const other = await signWebhook({ key: [ROTATING.y.key, ROTATING.x.key], body, timestamp: now, id: 'msg_rotating_2' });
  let go;
  const wait = new Promise((r) => (go = r));
  const stream = new ReadableStream({
    async start(c) {
      c.enqueue(new TextEncoder().encode(body.slice(0, 5)));
      await wait;
      c.enqueue(new TextEncoder().encode(body.slice(5)));
      c.close();
    },
  });
  const pending = gate.verify(new Request(url, { method: 'POST', headers: other, body: stream, duplex: 'half' }), { now });
  await new Promise((r) => setTimeout(r, 20));
  await gate.update(rotation(4, ['x']));
  go();
  const d = await pending;
  assert.equal(d.allowed, true, JSON.stringify(d));
  assert.equal(d.keyId, 'x');
  assert.equal((await gate.verify(new Request(url, { method: 'POST', headers: other, body }), { now })).reason, 'nonce_replayed');
});
