// Layer 3: the bound on a signed body (issue 9 item 7). `gate.verify(request, { maxBodyBytes })`
// and the middleware's `maxBodyBytes` (default MAX_BODY_BYTES, 8 MiB): a signed body that
// would be hashed and is larger is refused (ERR_BODY_TOO_LARGE / 413 body_too_large) before it
// is buffered: by Content-Length without reading any of it, else at the chunk that crosses the
// bound. A request refused for another reason keeps its own reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import { Keygate, generateSigningKey, signRequest } from 'keygate';
import { MAX_BODY_BYTES, WIRE_STATUS, withKeygate } from 'keygate/worker';
import { keygate } from 'keygate/hono';

const URL_ = 'https://api.example.com/v1/upload';
const CHUNK = 64 * 1024;
const KEY = generateSigningKey({ alg: 'ed25519' });
const KEY_SET = { keygate: 1, revision: 1, keys: [{ id: 'c', signing: KEY.signing, scopes: ['up'] }] };

const bytes = (n) => new Uint8Array(n).map((_, i) => i % 251);

/** A signed PUT of `body`, signed now (the middleware decides at the current time). */
const signedPut = (body, opts = {}) =>
  signRequest(new Request(URL_, { method: 'PUT', body }), { keyId: 'c', key: KEY.key, alg: 'ed25519', ...opts });

/**
 * The same request with its body re-sent as a stream of 64 KiB chunks, without Content-Length
 * (a chunked upload) unless `declared` gives one; `source.pulls` counts the chunks anyone read
 * from the network.
 */
function streamed(signed, body, { headers = signed.headers, declared } = {}) {
  const source = { pulls: 0 };
  let at = 0;
  const stream = new ReadableStream({
    pull(ctl) {
      if (at >= body.length) return ctl.close();
      source.pulls++;
      ctl.enqueue(body.slice(at, at + CHUNK));
      at += CHUNK;
    },
  }, { highWaterMark: 0 }); // pulled only when read, as a socket is
  const h = new Headers(headers);
  h.delete('content-length');
  if (declared !== undefined) h.set('content-length', String(declared));
  return { request: new Request(signed.url, { method: 'PUT', headers: h, body: stream, duplex: 'half' }), source };
}

test('verify: a body declared larger than maxBodyBytes is refused without reading any of it', async () => {
  const gate = await Keygate.load(KEY_SET);
  const body = bytes(300 * 1024);
  const signed = await signedPut(body);
  const { request: declared, source } = streamed(signed, body, { declared: body.length });
  await assert.rejects(gate.verify(declared, { maxBodyBytes: 100 * 1024 }), { code: 'ERR_BODY_TOO_LARGE' });
  assert.equal(source.pulls, 0, 'not one chunk read');
  assert.equal(declared.bodyUsed, false);

  // Otherwise refused: its own reason, still without reading (the bound says nothing then).
  const forged = new Headers(signed.headers);
  forged.set('signature', `sig1=:${Buffer.alloc(64).toString('base64')}:`);
  const f = streamed(signed, body, { headers: forged, declared: body.length });
  const d = await gate.verify(f.request, { maxBodyBytes: 100 * 1024 });
  assert.equal(d.reason, 'signature_invalid');
  assert.equal(f.source.pulls, 0);
});

test('verify: a streamed body is refused at the chunk that crosses the bound; within it, allowed', async () => {
  const gate = await Keygate.load(KEY_SET);
  const body = bytes(40 * CHUNK);
  const signed = await signedPut(body);
  const { request, source } = streamed(signed, body);
  await assert.rejects(gate.verify(request, { maxBodyBytes: 5 * CHUNK + 1 }), { code: 'ERR_BODY_TOO_LARGE' });
  // The tee may read ahead by a chunk or two; the rest of the upload is never pulled.
  assert.ok(source.pulls >= 6 && source.pulls <= 8, `${source.pulls} chunks read of 40`);
  assert.equal(request.bodyUsed, false, "the caller's body is left alone");

  // Exactly at the bound: hashed and allowed; one byte more: refused.
  for (const [max, ok] of [[body.length, true], [body.length - 1, false]]) {
    const s = streamed(signed, body);
    const run = gate.verify(s.request, { maxBodyBytes: max });
    if (ok) assert.equal((await run).allowed, true);
    else await assert.rejects(run, { code: 'ERR_BODY_TOO_LARGE' });
  }
  // Bytes given directly (a request-like object) are bounded the same way.
  const like = { method: 'PUT', url: URL_, headers: Object.fromEntries(signed.headers), body };
  await assert.rejects(gate.verify(like, { maxBodyBytes: 1024 }), { code: 'ERR_BODY_TOO_LARGE' });
  assert.equal((await gate.verify(like, { maxBodyBytes: body.length })).allowed, true);
  // No bound unless given (0.1 behaviour); unsigned bodies are never read, so never bounded.
  assert.equal((await gate.verify(streamed(signed, body).request)).allowed, true);
  for (const bad of [-1, 1.5, '10', null, NaN]) {
    await assert.rejects(gate.verify(signed.clone(), { maxBodyBytes: bad }), { code: 'ERR_INVALID_OPTIONS' }, String(bad));
  }
});

test('verify: a refused oversize body burns no nonce (a retry within the bound is accepted)', async () => {
  const gate = await Keygate.load(KEY_SET);
  const body = bytes(4 * CHUNK);
  const signed = await signedPut(body, { nonce: true });
  await assert.rejects(gate.verify(streamed(signed, body).request, { maxBodyBytes: CHUNK }), { code: 'ERR_BODY_TOO_LARGE' });
  assert.equal((await gate.verify(streamed(signed, body).request, { maxBodyBytes: body.length })).allowed, true);
  assert.equal((await gate.verify(streamed(signed, body).request)).reason, 'nonce_replayed');
});

test('middleware: 413 body_too_large (default 8 MiB), logged, through onRefused; the handler never runs', async () => {
  assert.equal(MAX_BODY_BYTES, 8 * 1024 * 1024);
  assert.equal(WIRE_STATUS.body_too_large, 413);
  const lines = [];
  const seen = [];
  let handled = 0;
  const worker = withKeygate(
    async (request) => {
      handled++;
      return new Response(String((await request.arrayBuffer()).byteLength));
    },
    { keySet: KEY_SET, log: (l) => lines.push(l) },
  );
  const big = bytes(MAX_BODY_BYTES + 1);
  const signed = await signedPut(big);
  const { request, source } = streamed(signed, big);
  const res = await worker.fetch(request, {}, {});
  assert.equal(res.status, 413);
  const body = await res.json();
  assert.deepEqual(Object.keys(body), ['error', 'message']);
  assert.equal(body.error, 'body_too_large');
  assert.match(body.message, new RegExp(`at most ${MAX_BODY_BYTES} bytes`));
  assert.ok(source.pulls <= MAX_BODY_BYTES / CHUNK + 3, `${source.pulls} chunks read`);
  assert.equal(handled, 0);
  const line = lines.find((l) => l.event === 'keygate.decision');
  assert.deepEqual([line.status, line.reason, line.allowed], [413, 'body_too_large', false]);

  // At the default bound exactly, the handler gets the whole body.
  const fits = bytes(MAX_BODY_BYTES);
  const ok = await worker.fetch(streamed(await signedPut(fits), fits).request, {}, {});
  assert.equal(ok.status, 200);
  assert.equal(await ok.text(), String(MAX_BODY_BYTES));

  // A bound from env (a var is a string; nonsense means the default), and onRefused sees the refusal.
  const small = withKeygate(() => new Response('in'), {
    keySet: KEY_SET,
    log: false,
    maxBodyBytes: (env) => env.MAX,
    onRefused: (d) => (seen.push(d), new Response(`refused ${d.reason}`, { status: d.status })),
  });
  const mid = bytes(3 * CHUNK);
  const midSigned = await signedPut(mid);
  const cases = [['65536', 413], [String(3 * CHUNK), 200], ['lots', 200], [undefined, 200], [-5, 200]];
  for (const [max, status] of cases) {
    const r = await small.fetch(streamed(midSigned, mid).request, { MAX: max }, {});
    assert.equal(r.status, status, `MAX=${max}`);
  }
  assert.deepEqual(seen.map((d) => [d.status, d.reason]), [[413, 'body_too_large']]);
});

test('hono: maxBodyBytes refuses a declared oversize body with 413 before reading it', async () => {
  const app = new Hono();
  app.use('*', keygate({ keySet: KEY_SET, log: false, maxBodyBytes: 1024 }));
  app.put('*', async (c) => c.text(String((await c.req.arrayBuffer()).byteLength)));
  const body = bytes(4096);
  const signed = await signedPut(body);
  const { request: declared, source } = streamed(signed, body, { declared: 4096 });
  const res = await app.request(declared);
  assert.equal(res.status, 413);
  assert.equal((await res.json()).error, 'body_too_large');
  assert.equal(source.pulls, 0);
  const small = bytes(1024);
  const fine = await app.request(await signedPut(small));
  assert.equal(await fine.text(), '1024');
});
