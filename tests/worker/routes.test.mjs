// Layer 4: the gateway's route table for /.well-known/keygate/* in workerd (the dist/ bundle):
// the key set endpoint and its methods, 404 for every other path under the prefix (never the
// key check, never the origin), the demo route only where it is enabled, and paths outside
// the prefix decided as usual.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { DEMO, DEMO_KEYSET } from '../js/helpers.mjs';
import { bearer, gateway } from './helpers.mjs';

const seen = [];
const origin = createServer((req, res) => {
  seen.push(req.url);
  res.writeHead(200, { 'content-type': 'text/plain' }).end('origin');
});
await new Promise((r) => origin.listen(0, '127.0.0.1', r));
after(() => origin.close());

const gw = await gateway({ KEYGATE_KEYSET: DEMO_KEYSET, ORIGIN_URL: `http://127.0.0.1:${origin.address().port}` });

async function answer(path, init = {}) {
  const res = await gw.fetch(path, init);
  const text = await res.text();
  return { status: res.status, allow: res.headers.get('allow'), body: text.startsWith('{') ? JSON.parse(text) : text };
}

test('the key set endpoint: GET and HEAD answer, other methods 405 with Allow', async () => {
  const get = await answer('/.well-known/keygate/keyset');
  assert.equal(get.status, 200);
  assert.equal(get.body.revision, 1);
  assert.equal((await answer('/.well-known/keygate/keyset', { method: 'HEAD' })).status, 200);
  for (const method of ['POST', 'DELETE', 'PATCH', 'OPTIONS']) {
    const r = await answer('/.well-known/keygate/keyset', { method, ...(method === 'OPTIONS' ? {} : { body: '{}' }) });
    assert.deepEqual([r.status, r.body.error, r.allow], [405, 'method_not_allowed', 'GET, HEAD, PUT'], method);
  }
  // Without publisher keys pushes are off: the route exists, the endpoint says why it refuses.
  const put = await answer('/.well-known/keygate/keyset', { method: 'PUT', body: '{}' });
  assert.deepEqual([put.status, put.body.error], [404, 'not_found']);
  assert.match(put.body.message, /KEYGATE_PUBLISHER_KEYS/);
});

test('other paths under the prefix: 404 not_found, with or without a key, never the origin', async () => {
  const before = seen.length;
  for (const path of [
    '/.well-known/keygate/',
    '/.well-known/keygate/keys',
    '/.well-known/keygate/keyset/',
    '/.well-known/keygate/%6beyset', // not decoded: not the key set endpoint
    '/.well-known/keygate/keyset%2F',
    '/.well-known/keygate//keyset',
    '/.well-known/keygate/demo', // no KEYGATE_DEMO here: not enabled
  ]) {
    for (const init of [{}, bearer(DEMO.admin, { 'cf-connecting-ip': '127.0.0.1' })]) {
      const r = await answer(path, init);
      assert.deepEqual([r.status, r.body.error], [404, 'not_found'], path);
      assert.match(r.body.message, /\/\.well-known\/keygate\/keyset/);
      assert.doesNotMatch(r.body.message, /demo/, 'a route not enabled here is not listed');
    }
  }
  assert.equal(seen.length, before, 'nothing under the prefix reaches the origin');
});

test('dot segments resolve before routing; paths beside the prefix are decided and forwarded', async () => {
  assert.equal((await answer('/api/../.well-known/keygate/keyset')).body.revision, 1);
  const before = seen.length;
  assert.equal((await answer('/.well-known/keygate')).body.error, 'missing_credentials');
  assert.equal((await answer('/.well-known/keygatex/keyset')).body.error, 'missing_credentials');
  const ok = await answer('/.well-known/keygatex/keyset', bearer(DEMO.reader));
  assert.deepEqual([ok.status, ok.body], [200, 'origin']);
  assert.deepEqual(seen.slice(before), ['/.well-known/keygatex/keyset']);
});

test('the demo route where it is enabled (make dev): GET/HEAD only', async () => {
  const dev = await gateway({ KEYGATE_KEYSET: DEMO_KEYSET, KEYGATE_DEMO: '{"keyset":null,"publisher":null}' });
  const r = await dev.fetch('/.well-known/keygate/demo');
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { keyset: null, publisher: null });
  const post = await dev.fetch('/.well-known/keygate/demo', { method: 'POST', body: 'x' });
  assert.deepEqual([post.status, post.headers.get('allow')], [405, 'GET, HEAD']);
  const missing = await (await dev.fetch('/.well-known/keygate/nope')).json();
  assert.match(missing.message, /\/\.well-known\/keygate\/demo/);
});
