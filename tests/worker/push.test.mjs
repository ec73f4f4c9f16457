// Layer 4: the key set endpoint of the gateway in workerd (issue 3): PUT of signed envelopes
// (accepted, then refused in the documented order: envelope, signature, content, revision),
// GET of what is in use (never a secret), disabled without publisher keys, bounded bodies,
// and stale sets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateApiKey, generateSigningKey, signKeySet } from 'keygate';
import { ISSUED, OTHER_PUBLISHER, PUBLISHER, bearer, gateway, joseSigned, payloadSha256, push, set, signed } from './helpers.mjs';

const PUB = PUBLISHER.signing.public_key;
const a = generateApiKey({ id: 'a' });
const b = generateApiKey({ id: 'b' });
const hmac = generateSigningKey({ alg: 'hmac-sha256' });
const V1 = signed(set(1, [a.entry, { id: 'partner', signing: hmac.signing }]));
const V2 = signed(set(2, [b.entry]));

const status = async (gw, key) => (await gw.fetch('/api/x', bearer(key))).status;

test('PUT of a newer signed set: 200, the new key works at once, KV holds the envelope; GET shows it', async () => {
  const gw = await gateway({ KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_KEYSET: V1 });
  const info = await gw.fetch('/.well-known/keygate/keyset');
  assert.equal(info.status, 200);
  assert.equal(info.headers.get('cache-control'), 'no-store');
  const text = await info.text();
  assert.deepEqual(JSON.parse(text), { revision: 1, issued_at: ISSUED, payload_sha256: payloadSha256(V1), keys: 2, mode: 'kv' });
  // Never a secret or a digest of one: no HMAC secret, no API key digest, no key material.
  for (const leak of [hmac.signing.secret, a.entry.api_key_hash, a.entry.api_key_hash.slice(7), 'secret', 'sha256:', 'signing']) {
    assert.ok(!text.includes(leak), `GET must not show ${leak.slice(0, 12)}...`);
  }
  assert.equal(await status(gw, a.key), 200);

  const ok = await push(gw, V2);
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body, { revision: 2, keys: 1, changed: true });
  assert.equal(await status(gw, b.key), 200, 'the pushed key works in this isolate at once');
  assert.equal(await status(gw, a.key), 401);
  assert.equal(await (await gw.kv()).get('keyset'), V2, 'the accepted envelope is stored in KV as sent');
  const after = await (await gw.fetch('/.well-known/keygate/keyset')).json();
  assert.deepEqual(after, { revision: 2, issued_at: ISSUED, payload_sha256: payloadSha256(V2), keys: 1, mode: 'kv' });

  // The same revision with the same bytes again is an idempotent success.
  assert.deepEqual(await push(gw, V2).then((r) => [r.status, r.body]), [200, { revision: 2, keys: 1, changed: false }]);
  const updated = gw.events('keyset_updated');
  assert.deepEqual(updated.map((e) => [e.revision, e.origin]), [[2, 'push']]);
  assert.ok(!gw.logs.join('\n').includes(hmac.signing.secret), 'no secret in the logs');
});

test('refused pushes answer in the documented order, change nothing, and are logged', async () => {
  const gw = await gateway({ KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_KEYSET: V2 });
  const c = generateApiKey({ id: 'c' });
  const v3 = set(3, [c.entry]);
  // Three faults at once: every one is reported with its path.
  const invalid = JSON.stringify({ ...set(3, [{ id: 'bad id', api_key_hash: 'md5:x' }]), extra: 1 });
  const invalidPaths = ['$.extra', '$.keys[0].api_key_hash', '$.keys[0].id'];
  const forged = JSON.parse(signed(v3));
  forged.payload = Buffer.from(JSON.stringify(set(3, [a.entry]))).toString('base64url');

  const cases = [
    ['not JSON', 'hello', 400, 'envelope_invalid'],
    ['an empty body', '', 400, 'envelope_invalid'],
    ['an unsigned key set', JSON.stringify(v3), 400, 'envelope_invalid'],
    ['a JWS with another alg', JSON.stringify({ ...JSON.parse(signed(v3)), protected: Buffer.from('{"alg":"HS256"}').toString('base64url') }), 401, 'envelope_signature_invalid'],
    ['signed by an unpinned key', signKeySet(v3, OTHER_PUBLISHER.key), 401, 'envelope_signature_invalid'],
    ['a kid naming no pinned key', await joseSigned(JSON.stringify(v3), { kid: 'nobody' }), 401, 'envelope_signature_invalid'],
    ['a payload swapped under a signature', JSON.stringify(forged), 401, 'envelope_signature_invalid'],
    ['invalid content under a bad signature (signature first)', await joseSigned(invalid, { key: OTHER_PUBLISHER }), 401, 'envelope_signature_invalid'],
    ['invalid content, signed', await joseSigned(invalid), 400, 'keyset_invalid'],
    ['invalid content with an old revision (content before revision)', await joseSigned(JSON.stringify({ ...set(1, [a.entry]), extra: 1 })), 400, 'keyset_invalid'],
    ['an older revision', signed(set(1, [a.entry])), 409, 'keyset_rollback'],
    ['the same revision with other content', signed(set(2, [a.entry])), 409, 'keyset_rollback'],
  ];
  for (const [name, body, code, error] of cases) {
    const r = await push(gw, body, { headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, code, `${name}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error, error, name);
    assert.ok(typeof r.body.message === 'string' && r.body.message.length > 0, `${name}: a message`);
    if (error === 'keyset_invalid') {
      const paths = r.body.errors.map((e) => e.path).sort();
      if (name === 'invalid content, signed') assert.deepEqual(paths, invalidPaths, name);
      assert.ok(r.body.errors.every((e) => typeof e.message === 'string' && e.message.length > 0));
    }
    if (error === 'keyset_rollback') assert.equal(r.body.current_revision, 2, name);
    assert.equal(await status(gw, b.key), 200, `${name}: the old set keeps serving`);
    assert.equal(await status(gw, c.key), 401, `${name}: nothing of the push is used`);
  }
  assert.equal(await (await gw.kv()).get('keyset'), null, 'a refused push is never stored');
  const rejected = gw.events('keyset_rejected');
  assert.equal(rejected.length, cases.length);
  assert.ok(rejected.every((e) => e.origin === 'push' && e.current_revision === 2));

  const wrong = await gw.fetch('/.well-known/keygate/keyset', { method: 'POST', body: V2 });
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get('allow'), 'GET, HEAD, PUT');
});

test('pushes are disabled (404) without publisher keys or without KV; GET still answers', async () => {
  const plain = JSON.stringify(set(1, [a.entry]));
  const open = await gateway({ KEYGATE_KEYSET: plain });
  const r = await push(open, signed(set(2, [b.entry])));
  assert.equal(r.status, 404);
  assert.equal(r.body.error, 'not_found');
  assert.match(r.body.message, /KEYGATE_PUBLISHER_KEYS/);
  assert.equal(await status(open, a.key), 200);
  const info = await (await open.fetch('/.well-known/keygate/keyset')).json();
  assert.equal(info.revision, 1);

  const noKv = await gateway({ KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_KEYSET: V1 }, { kv: false });
  assert.equal((await push(noKv, V2)).status, 404);
  assert.equal(await status(noKv, a.key), 200);

  const empty = await gateway({ KEYGATE_PUBLISHER_KEYS: PUB });
  const none = await empty.fetch('/.well-known/keygate/keyset');
  assert.equal(none.status, 503);
  assert.equal((await none.json()).error, 'keyset_unavailable');
  // The first push to a gateway with no set at all loads it.
  assert.deepEqual(await push(empty, V1).then((x) => [x.status, x.body]), [200, { revision: 1, keys: 2, changed: true }]);
  assert.equal(await status(empty, a.key), 200);
});

test('a push body is bounded (KEYSET_MAX_BYTES here): 413 beyond it, declared or streamed; the set stays', async () => {
  // The 16 MiB default is checked in-process (tests/js/push.test.mjs): a 413 answered while a
  // large upload is still being written races the client's socket, which is not what this tests.
  const max = 16 * 1024;
  const gw = await gateway({ KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_KEYSET: V1, KEYSET_MAX_BYTES: String(max) });
  // Should an early 413 still break the client's pooled connection (a transport error on the
  // next request, not an answer), that request is retried; a status never is.
  const afterAbort = async (fn) => {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (e) {
        if (i >= 3 || !/fetch failed/.test(e?.message)) throw e;
      }
    }
  };
  const big = await afterAbort(() => push(gw, new Uint8Array(max + 1).fill(0x20)));
  assert.equal(big.status, 413);
  assert.deepEqual([big.body.error, big.body.max_bytes], ['payload_too_large', max]);
  assert.equal(await afterAbort(() => status(gw, a.key)), 200);
  const stream = () => {
    let sent = 0;
    return new ReadableStream({
      pull(c) {
        if (sent > max) return c.close();
        sent += 4096;
        c.enqueue(new Uint8Array(4096).fill(0x20));
      },
    });
  };
  const streamed = await afterAbort(() => push(gw, stream(), { duplex: 'half' }));
  assert.equal(streamed.status, 413, 'a body without Content-Length is cut off at the bound');
  assert.equal(await afterAbort(() => status(gw, a.key)), 200);
  // Up to the bound a body is read and judged (here: not an envelope).
  const under = await afterAbort(() => push(gw, new Uint8Array(max).fill(0x20)));
  assert.equal(under.body.error, 'envelope_invalid');
});

test('a stale set: 503 keyset_stale when failing closed, served with serve_stale', async () => {
  const past = { issued_at: '2026-01-01T00:00:00Z', expires_at: '2026-06-01T00:00:00Z' };
  const closed = await gateway({ KEYGATE_KEYSET: JSON.stringify(set(1, [a.entry], past)) });
  const r = await closed.fetch('/api/x', bearer(a.key));
  assert.equal(r.status, 503);
  assert.equal((await r.json()).error, 'keyset_stale');
  const served = await gateway({
    KEYGATE_PUBLISHER_KEYS: PUB,
    KEYGATE_KEYSET: signed(set(1, [a.entry], { ...past, policy: { stale_policy: 'serve_stale' } })),
  });
  assert.equal(await status(served, a.key), 200);
  // A push of a fresh revision ends the staleness of a failing-closed gateway.
  const pushed = await gateway({ KEYGATE_PUBLISHER_KEYS: PUB, KEYGATE_KEYSET: signed(set(1, [a.entry], past)) });
  assert.equal(await status(pushed, a.key), 503);
  assert.equal((await push(pushed, signed(set(2, [a.entry])))).status, 200);
  assert.equal(await status(pushed, a.key), 200);
});
