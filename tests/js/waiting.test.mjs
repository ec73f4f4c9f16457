// Decisions that wait (for a body, the runtime's Ed25519 or a nonce store) while the key set
// changes, and the module's table of waiting decisions. Regression tests for holes found in
// review of the lean boundary (never released); tests/vectors/README.md says why these are
// JS tests and not vector files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Keygate, generateSigningKey, generateWebhookKey, signRequest, signWebhook } from '../../pkg/src/index.js';
import { WAITING_LIMIT } from '../../pkg/src/keygate.js';
import { openStream } from './helpers.mjs';

const NOW = Date.parse('2026-11-29T12:00:00Z');

/** `signed`'s request with its body replaced by a stream of no declared length. */
function streamed(signed, stream) {
  const headers = new Headers(signed.headers);
  headers.delete('content-length');
  return new Request(signed.url, { method: signed.method, headers, body: stream, duplex: 'half' });
}

test('an update while verify() checks whether a body is empty: the attacker key never verifies as the victim', async () => {
  // The attacker's key A is at index 0, the victim's B at index 1. The forged request names
  // the victim but is signed with A. A key table or Ed25519 key cache from before the update
  // (where index 0 was A) must not decide it after the update moved B to index 0.
  const A = generateSigningKey({ alg: 'ed25519' });
  const B = generateSigningKey({ alg: 'ed25519' });
  const routes = [{ path: '/v1/admin/**', scopes: ['admin'] }, { path: '/v1/**', scopes: ['read'] }];
  const s1 = { keygate: 1, revision: 1, routes, keys: [
    { id: 'attacker', scopes: ['read'], signing: A.signing },
    { id: 'victim', scopes: ['admin', 'read'], signing: B.signing },
  ] };
  const s2 = { keygate: 1, revision: 2, routes, keys: [{ id: 'victim', scopes: ['admin', 'read'], signing: B.signing }] };
  for (const how of ['full set', 'delta']) {
    const gate = await Keygate.load(s1);
    const ok = await signRequest(new Request('https://api.example.com/v1/x'), { keyId: 'attacker', key: A.key, alg: 'ed25519', created: NOW });
    assert.equal((await gate.verify(ok, { now: NOW })).allowed, true, 'A is imported and cached');
    const url = 'https://api.example.com/v1/admin/users';
    const head = await signRequest(new Request(url, { method: 'POST' }), { keyId: 'victim', key: A.key, alg: 'ed25519', created: NOW });
    const { stream, pulling, end } = openStream();
    const pending = gate.verify(streamed(head, stream), { now: NOW });
    await pulling; // verify() awaits isEmpty()
    if (how === 'full set') {
      await gate.update(s2);
    } else {
      // A removal swaps the last key into the removed one's place: the victim moves to index 0.
      const base = { revision: 1, payload_sha256: gate.info.payloadSha256 };
      const target = createHash('sha256').update(JSON.stringify(s2)).digest('base64url');
      await gate.update({ keygate: 1, kind: 'delta', base, revision: 2, payload_sha256: target, changes: [{ op: 'remove', id: 'attacker' }] });
    }
    assert.equal(gate.revision, 2);
    end();
    const d = await pending;
    assert.equal(d.allowed, false, `${how}: forged victim signature allowed: ${JSON.stringify(d)}`);
    assert.equal(d.reason, 'signature_invalid', how);
    // The victim's own signature is allowed, as the victim.
    const real = await signRequest(new Request(url, { method: 'POST' }), { keyId: 'victim', key: B.key, alg: 'ed25519', created: NOW });
    const r = await gate.verify(real, { now: NOW });
    assert.deepEqual([r.allowed, r.keyId], [true, 'victim'], how);
  }
});

test('an Ed25519 key is cached by its public key bytes: the same index after an update is another key', async () => {
  const A = generateSigningKey({ alg: 'ed25519' });
  const B = generateSigningKey({ alg: 'ed25519' });
  const set = (revision, signing) => ({ keygate: 1, revision, keys: [{ id: 'k', signing }] });
  const gate = await Keygate.load(set(1, A.signing));
  const byA = await signRequest(new Request('https://api.example.com/x'), { keyId: 'k', key: A.key, alg: 'ed25519', created: NOW });
  assert.equal((await gate.verify(byA, { now: NOW })).allowed, true);
  await gate.update(set(2, B.signing)); // key "k" rotated to B, at the same index
  assert.equal((await gate.verify(byA.clone(), { now: NOW })).reason, 'signature_invalid');
  const byB = await signRequest(new Request('https://api.example.com/x'), { keyId: 'k', key: B.key, alg: 'ed25519', created: NOW });
  assert.equal((await gate.verify(byB, { now: NOW })).allowed, true);
});

test('a key revoked, disabled or removed while its request body streams is refused when the body ends', async () => {
  const K = generateSigningKey({ alg: 'hmac-sha256' });
  const url = 'https://api.example.com/v1/orders';
  const routes = [{ path: '/v1/**', scopes: ['write'] }];
  const set = (revision, key) => ({ keygate: 1, revision, routes, keys: key ? [{ id: 'k', scopes: ['write'], signing: K.signing, ...key }] : [] });
  const body = new TextEncoder().encode('{"order":1}');
  const signed = await signRequest(new Request(url, { method: 'POST', body }), { keyId: 'k', key: K.key, alg: 'hmac-sha256', created: NOW, nonce: 'n-1' });
  for (const [next, reason] of [[{ status: 'revoked' }, 'key_revoked'], [{ status: 'disabled' }, 'key_disabled'], [null, 'signature_invalid'], [{}, null]]) {
    const gate = await Keygate.load(set(1, {}));
    const { stream, pulling, end } = openStream();
    const pending = gate.verify(streamed(signed, stream), { now: NOW });
    await pulling; // the decision waits for the body's digests
    await gate.update(set(2, next));
    end(body);
    const d = await pending;
    if (reason === null) {
      // A key unchanged by the update: allowed, its nonce held once (not a replay of itself).
      assert.deepEqual([d.allowed, d.keyId, d.signature?.params.nonce], [true, 'k', 'n-1'], JSON.stringify(d));
      const again = await gate.verify(new Request(url, { method: 'POST', headers: signed.headers, body }), { now: NOW });
      assert.equal(again.reason, 'nonce_replayed');
    } else {
      assert.equal(d.allowed, false, `allowed after the update (${reason}): ${JSON.stringify(d)}`);
      assert.equal(d.reason, reason);
    }
  }
});

test('past the waiting limit a request fails closed, and each waiting request gets its own decision', async () => {
  // The review's case, at a limit of 4 instead of 65,537 waiting decisions: requests wait at
  // an outer nonce store that answers when told; the victim's and the attacker's decisions
  // must each come back to their own verify().
  const A = generateSigningKey({ alg: 'hmac-sha256' });
  const V = generateSigningKey({ alg: 'hmac-sha256' });
  const gate = await Keygate.load({ keygate: 1, revision: 1,
    routes: [{ path: '/v1/admin/**', scopes: ['admin'] }, { path: '/v1/**', scopes: ['read'] }],
    keys: [{ id: 'attacker', scopes: ['read'], signing: A.signing }, { id: 'victim', scopes: ['admin', 'read'], signing: V.signing }] });
  gate[WAITING_LIMIT](4);
  const waiting = new Map();
  const nonceStore = { claim: (c) => new Promise((r) => waiting.set(c.nonce, r)) };
  const start = async (url, keyId, key, nonce) => {
    const req = await signRequest(new Request(url), { keyId, key, alg: 'hmac-sha256', created: NOW, nonce });
    const p = gate.verify(req, { now: NOW, nonceStore });
    p.catch(() => {});
    while (!waiting.has(nonce)) await new Promise((r) => setImmediate(r));
    return [p]; // (an array: an async function returning the promise would wait for it)
  };
  const fillers = [];
  for (let i = 0; i < 2; i++) fillers.push((await start('https://api.example.com/v1/x', 'attacker', A.key, `f${i}`))[0]);
  const [victim] = await start('https://api.example.com/v1/admin/users', 'victim', V.key, 'y');
  const [attacker] = await start('https://api.example.com/v1/x', 'attacker', A.key, 'x');
  // Full: the next request that would wait is not decided; one that needs no wait is.
  const over = await signRequest(new Request('https://api.example.com/v1/x'), { keyId: 'attacker', key: A.key, alg: 'hmac-sha256', created: NOW, nonce: 'z' });
  await assert.rejects(gate.verify(over, { now: NOW, nonceStore }), { code: 'ERR_VERIFIER_BUSY', message: /4 decisions already wait/ });
  const noNonce = await signRequest(new Request('https://api.example.com/v1/x'), { keyId: 'attacker', key: A.key, alg: 'hmac-sha256', created: NOW });
  assert.equal((await gate.verify(noNonce, { now: NOW, nonceStore })).allowed, true);
  waiting.get('x')(true);
  const d = await attacker;
  assert.deepEqual([d.keyId, d.scopes, d.route], ['attacker', ['read'], '/v1/**']);
  waiting.get('y')(true);
  const dv = await victim;
  assert.deepEqual([dv.keyId, dv.route], ['victim', '/v1/admin/**']);
  for (const [i, f] of fillers.entries()) {
    waiting.get(`f${i}`)(true);
    assert.equal((await f).keyId, 'attacker');
  }
  // Room again.
  const [next] = await start('https://api.example.com/v1/x', 'attacker', A.key, 'z2');
  waiting.get('z2')(true);
  assert.equal((await next).allowed, true);
});

test('decisions nobody will resume cannot fill the table for good: a full table drops those over a minute old', async (t) => {
  // A nonce store that never answers stands for a runtime that dropped a cancelled request's
  // promises: their decisions are never resumed nor abandoned.
  t.mock.timers.enable({ apis: ['Date'], now: NOW });
  const K = generateSigningKey({ alg: 'hmac-sha256' });
  const gate = await Keygate.load({ keygate: 1, revision: 1, keys: [{ id: 'k', signing: K.signing }] });
  gate[WAITING_LIMIT](2);
  const hung = { claim: () => new Promise(() => {}) };
  const send = async (nonce, store) => {
    const req = await signRequest(new Request('https://api.example.com/x'), { keyId: 'k', key: K.key, alg: 'hmac-sha256', created: NOW, nonce });
    return gate.verify(req, { now: NOW, nonceStore: store });
  };
  const leaked = [send('a', hung), send('b', hung)];
  for (const p of leaked) p.catch(() => {});
  await new Promise((r) => setImmediate(r));
  const answering = { claim: async () => true };
  await assert.rejects(send('c', answering), { code: 'ERR_VERIFIER_BUSY' });
  t.mock.timers.tick(59_000);
  await assert.rejects(send('d', answering), { code: 'ERR_VERIFIER_BUSY' }, 'under a minute: kept');
  t.mock.timers.tick(1_000);
  const d = await send('e', answering);
  assert.deepEqual([d.allowed, d.keyId], [true, 'k'], 'the leaked decisions were dropped');
  // Those refused a place were not decided: their nonces are not used.
  for (const nonce of ['c', 'd']) assert.equal((await send(nonce, answering)).allowed, true, nonce);
  assert.equal((await send('c', answering)).reason, 'nonce_replayed');
});

test('waiting decisions are bounded by their bytes too: forged deliveries with large headers cannot fill memory', async (t) => {
  // The review's case at a budget of 200 KiB instead of 16 MiB: webhook deliveries need no
  // secret to wait for their body, and each holds its header section (here 60 KiB) while the
  // body never ends. 4096 of them held 256 MiB under the count alone.
  t.mock.timers.enable({ apis: ['Date'], now: NOW });
  const K = generateWebhookKey({ scheme: 'v1' });
  const gate = await Keygate.load({ keygate: 1, revision: 1, keys: [{ id: 'k', webhook: K.webhook }], routes: [{ methods: ['POST'], path: '/hooks', webhook_keys: ['k'] }] });
  gate[WAITING_LIMIT](100, 200 * 1024);
  const forged = (i, pad) => {
    const { stream, pulling } = openStream();
    const headers = { 'webhook-id': `msg_${i}`, 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')}`, 'x-pad': 'a'.repeat(pad) };
    const p = gate.verify(new Request('https://api.example.com/hooks', { method: 'POST', headers, body: stream, duplex: 'half' }));
    p.catch(() => {});
    return { p, pulling };
  };
  const big = 60 * 1024;
  for (let i = 0; i < 3; i++) await forged(i, big).pulling; // waiting for their bodies
  await assert.rejects(forged(3, big).p, { code: 'ERR_VERIFIER_BUSY', message: /3 decisions already wait .*holding \d+ KiB/ });
  // Far below the count: what is full is the bytes, so a small delivery still fits.
  await forged(4, 10).pulling;
  await assert.rejects(forged(5, big).p, { code: 'ERR_VERIFIER_BUSY' });
  t.mock.timers.tick(60_000);
  await forged(6, big).pulling; // those over a minute old were dropped to make room
  // A genuine delivery with as large a header, its body in 40 chunks: each resume takes the
  // decision out and puts it back, counted once (else it would overflow the budget).
  const body = JSON.stringify({ type: 'ping', data: 'x'.repeat(400) });
  const headers = { ...(await signWebhook({ key: K.key, body, timestamp: new Date() })), 'x-pad': 'a'.repeat(big) };
  const chunks = new ReadableStream({
    start(c) {
      for (let i = 0; i < body.length; i += 11) c.enqueue(new TextEncoder().encode(body.slice(i, i + 11)));
      c.close();
    },
  });
  const d = await gate.verify(new Request('https://api.example.com/hooks', { method: 'POST', headers, body: chunks, duplex: 'half' }));
  assert.equal(d.allowed, true, JSON.stringify(d));
});
