// Layer 4: locking the origin to the gateway (gateway/src/origin.js) in workerd: the
// ORIGIN_AUTH_HEADER lines reach the origin on every forwarded request and replace a client's
// copy; a malformed value forwards nothing (502) and is logged without the secret; an
// ORIGIN_MTLS certificate binding carries the request when bound.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { DEMO, DEMO_KEYSET, VECTORS, readJson } from '../js/helpers.mjs';
import { join } from 'node:path';
import { bearer, gateway } from './helpers.mjs';

const SECRET = 'b3JpZ2luLWF1dGgtdGVzdC1zZWNyZXQtMzItYnl0ZXM';
const seen = [];
// The origin of the runbook: only requests carrying the shared secret get in.
const origin = createServer((req, res) => {
  seen.push(req.headers);
  const ok = req.headers['x-origin-auth'] === SECRET;
  res.writeHead(ok ? 200 : 403, { 'content-type': 'text/plain' }).end(ok ? 'from origin' : 'not through the gateway');
});
await new Promise((r) => origin.listen(0, '127.0.0.1', r));
after(() => origin.close());
const ORIGIN_URL = `http://127.0.0.1:${origin.address().port}`;

const reader = (extra) => bearer(DEMO.reader, extra);

test('the shared secret header reaches the origin and replaces whatever the client sent', async () => {
  const gw = await gateway({ KEYGATE_KEYSET: DEMO_KEYSET, ORIGIN_URL, ORIGIN_AUTH_HEADER: `X-Origin-Auth: ${SECRET}` });
  const res = await gw.fetch('/api/hello', reader({ 'x-origin-auth': 'forged' }));
  assert.deepEqual([res.status, await res.text()], [200, 'from origin']);
  assert.equal(seen.at(-1)['x-origin-auth'], SECRET);
  assert.equal(seen.at(-1)['x-keygate-key-id'], 'demo-reader');
  const direct = await fetch(`${ORIGIN_URL}/api/hello`, { headers: { authorization: `Bearer ${DEMO.reader}` } });
  assert.equal(direct.status, 403, 'the origin refuses what did not come through the gateway');
  const before = seen.length;
  assert.equal((await gw.fetch('/api/hello')).status, 401);
  assert.equal(seen.length, before, 'a refused request carries no secret anywhere');
});

test('a path override, a claimed public host or a hop-by-hop field from the client never reaches the origin', async () => {
  // Symfony (before CVE-2018-14773's fix), Zend Framework and IIS URL Rewrite applications
  // route on X-Original-URL / X-Rewrite-URL: the origin would serve a path nobody judged.
  const gw = await gateway({ KEYGATE_KEYSET: DEMO_KEYSET, ORIGIN_URL, ORIGIN_AUTH_HEADER: `X-Origin-Auth: ${SECRET}` });
  const res = await gw.fetch(
    '/api/hello',
    reader({
      'x-original-url': '/api/admin/x',
      'X_Rewrite_URL': '/api/admin/x',
      'x-forwarded-host': 'admin.test',
      forwarded: 'host=admin.test',
      'proxy-connection': 'keep-alive',
      'x-kept': '1',
    }),
  );
  assert.deepEqual([res.status, await res.text()], [200, 'from origin']);
  const got = seen.at(-1);
  for (const name of ['x-original-url', 'x_rewrite_url', 'forwarded', 'proxy-connection']) assert.equal(got[name], undefined, name);
  assert.equal(got['x-forwarded-host'], 'gw.test', 'the host the gateway was reached by');
  assert.equal(got['x-forwarded-proto'], 'http', 'the scheme the gateway was reached by');
  assert.equal(got['x-kept'], '1');
});

// tests/vectors/forwarding.json's cases about the client's address and scheme, through the
// gateway in workerd: the client address keygate judges is CF-Connecting-IP (the case's
// `client_ip`; null: one the verifier cannot read), the scheme and host the request's URL.
test('forwarding vectors in workerd: the address, host and scheme the gateway judged, never the client\'s claims', async () => {
  const doc = readJson(join(VECTORS, 'forwarding.json'));
  const cases = doc.cases.filter((c) => 'client_ip' in c || 'url' in c).filter((c) => !c.extra && !c.decision);
  // The platform's own field is the address here, so a case sending it is for Node only.
  const runs = cases.filter((c) => !c.client.some(([name]) => name.toLowerCase() === 'cf-connecting-ip'));
  assert.ok(runs.length >= 5, `${runs.length} cases`);
  const gw = await gateway({ KEYGATE_KEYSET: DEMO_KEYSET, ORIGIN_URL, ORIGIN_AUTH_HEADER: `X-Origin-Auth: ${SECRET}` });
  for (const c of runs) {
    const { origin: reached } = new URL(c.url ?? 'https://api.example/v1/x');
    const headers = [['authorization', `Bearer ${DEMO.reader}`], ...c.client, ['cf-connecting-ip', c.client_ip ?? 'not-an-address']];
    const res = await gw.mf.dispatchFetch(`${reached}/api/orders/1`, { headers });
    assert.deepEqual([res.status, await res.text()], [200, 'from origin'], c.models);
    const got = seen.at(-1);
    for (const [name, want] of Object.entries(c.expect)) assert.equal(got[name] ?? null, want, `${name}: ${c.models}`);
    if (!('client_ip' in c)) continue;
    assert.equal(got['x-forwarded-for'] ?? null, c.client_ip, `the judged address: ${c.models}`);
    assert.equal(got['x-real-ip'] ?? null, c.client_ip, `the judged address: ${c.models}`);
  }
});

test('several lines: a Cloudflare Access service token pair; CRLF and blank lines are fine', async () => {
  const gw = await gateway({
    KEYGATE_KEYSET: DEMO_KEYSET,
    ORIGIN_URL,
    ORIGIN_AUTH_HEADER: 'CF-Access-Client-Id: 0123.access\r\n\r\nCF-Access-Client-Secret:  s3cr3t  \n',
  });
  assert.equal((await gw.fetch('/api/hello', reader())).status, 403, 'the test origin wants its own header');
  assert.equal(seen.at(-1)['cf-access-client-id'], '0123.access');
  assert.equal(seen.at(-1)['cf-access-client-secret'], 's3cr3t');
});

test('a malformed ORIGIN_AUTH_HEADER forwards nothing: 502, logged by line, never the value', async () => {
  const cases = [
    ['X-Origin-Auth secret-one', /line 1: expected "Name: value"/],
    ['X-Keygate-Key-Id: secret-two', /line 1: X-Keygate-Key-Id cannot be set/],
    ['X-Origin-Auth: secret-three\nHost: secret-four', /line 2: Host cannot be set/],
    ['X-Origin-Auth:', /line 1: the value of X-Origin-Auth is empty/],
    ['X-A: secret-five\nx-a: secret-six', /line 2: x-a is given twice/],
    ['X Origin: secret-seven', /line 1: the header name is not an HTTP token/],
    ['X-Origin-Auth: secret\u0001eight', /control characters/],
    ['\n \n', /holds no header line/],
  ];
  for (const [value, logged] of cases) {
    const before = seen.length;
    const gw = await gateway({ KEYGATE_KEYSET: DEMO_KEYSET, ORIGIN_URL, ORIGIN_AUTH_HEADER: value });
    for (let i = 0; i < 2; i++) {
      const res = await gw.fetch('/api/hello', reader());
      assert.equal(res.status, 502, value);
      const body = await res.json();
      assert.equal(body.error, 'origin_misconfigured');
      assert.match(body.message, /ORIGIN_AUTH_HEADER/);
    }
    assert.equal(seen.length, before, `${JSON.stringify(value)} reached the origin`);
    const lines = gw.events('origin_auth_invalid');
    assert.equal(lines.length, 1, 'logged once per isolate');
    assert.match(lines[0].message, logged);
    assert.doesNotMatch(gw.logs.join('\n'), /secret-|s3cr3t/, 'the value is never logged');
  }
});

test('ORIGIN_MTLS: when the certificate binding is there, the origin is reached through it', async () => {
  const through = [];
  const gw = await gateway(
    { KEYGATE_KEYSET: DEMO_KEYSET, ORIGIN_URL: 'https://origin.example/base', ORIGIN_AUTH_HEADER: `X-Origin-Auth: ${SECRET}` },
    {
      serviceBindings: {
        // Stands in for an mtls_certificates binding: a Fetcher whose fetch presents the certificate.
        ORIGIN_MTLS: async (request) => {
          through.push({ url: request.url, auth: request.headers.get('x-origin-auth'), key: request.headers.get('x-keygate-key-id') });
          return new Response('via mTLS');
        },
      },
    },
  );
  const res = await gw.fetch('/api/hello?x=1', reader());
  assert.deepEqual([res.status, await res.text()], [200, 'via mTLS']);
  assert.deepEqual(through, [{ url: 'https://origin.example/base/api/hello?x=1', auth: SECRET, key: 'demo-reader' }]);
});
