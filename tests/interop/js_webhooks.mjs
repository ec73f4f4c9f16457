// Standard Webhooks with the npm reference library `standardwebhooks`, both ways, and v1a
// against the specification's construction with node:crypto (no reference library verifies
// v1a).
//
// 1. The library signs deliveries -> `keygate verify` allows them, refuses a tampered body
//    and a replay.
// 2. `keygate sign --webhook` (one key, two keys, a body that is not UTF-8) -> the library's
//    verify accepts it with each key, and refuses a tampered copy.
// 3. v1a: node:crypto signs id.timestamp.body with keygate's whsk_ seed -> keygate allows it;
//    keygate's v1a token verifies with node:crypto under the whpk_ key.
//
// Usage: node js_webhooks.mjs KEYGATE_BINARY WORK_DIR

import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';

const [KEYGATE, workRoot] = process.argv.slice(2);
const WORK = join(workRoot, 'js-webhooks');
mkdirSync(WORK, { recursive: true });
const path = (n) => join(WORK, n);
const keygate = (args, { input, expect = 0 } = {}) => {
  const out = spawnSync(KEYGATE, args, { input });
  if (expect !== null && out.status !== expect) throw new Error(`keygate ${args.join(' ')}: exit ${out.status}: ${out.stderr}`);
  return out;
};
let failures = 0;
const check = (ok, what) => {
  console.log(`${ok ? 'ok' : 'FAIL'} js webhooks: ${what}`);
  if (!ok) failures++;
};
let n = 0;
const raw = (headers, body) =>
  Buffer.concat([
    Buffer.from(['POST /hooks HTTP/1.1', 'Host: api.example.com', 'Content-Type: application/json', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)].join('\r\n') + '\r\n\r\n'),
    Buffer.from(body),
  ]);
const decide = (...requests) => {
  const args = ['verify', '--keyset', path('ks.json')];
  for (const r of requests) {
    const p = path(`req${++n}.http`);
    writeFileSync(p, r);
    args.push('--request', p);
  }
  return String(keygate(args, { expect: null }).stdout).trim().split('\n').map((l) => JSON.parse(l));
};
const headersOf = (http) =>
  Object.fromEntries(String(http).split('\r\n\r\n')[0].split('\r\n').slice(1).map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]));

keygate(['keyset', 'new', path('ks.json')]);
const ours = JSON.parse(keygate(['keyset', 'add', path('ks.json'), '--id', 'ours', '--webhook', 'v1', '--webhook-route', '/hooks']).stdout);
const v1a = JSON.parse(keygate(['keyset', 'add', path('ks.json'), '--id', 'signer', '--webhook', 'v1a', '--webhook-route', '/hooks']).stdout);
const body = Buffer.from('{"type":"invoice.paid","amount":1200}');

// 1. The library signs, keygate verifies.
const wh = new Webhook(ours.webhook_key);
const now = new Date();
const h = { 'webhook-id': 'msg_js_1', 'webhook-timestamp': String(Math.floor(now / 1000)), 'webhook-signature': wh.sign('msg_js_1', now, body) };
const [first, replay] = decide(raw(h, body), raw(h, body));
check(first.allowed && first.key_id === 'ours' && replay.reason === 'nonce_replayed', 'a library-signed delivery passes once; a replay is refused');
const [tampered] = decide(raw(h, Buffer.from(String(body).replace('1200', '9999'))));
check(tampered.reason === 'signature_invalid', 'a tampered body is refused');

// 2. keygate signs, the library verifies.
const provider = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
writeFileSync(path('ours.json'), JSON.stringify(ours));
writeFileSync(path('provider.key'), provider);
const secrets = { 'ours.json': ours.webhook_key, 'provider.key': provider };
for (const [label, payload, keys] of [
  ['one key', body, ['ours.json']],
  ['two keys', body, ['ours.json', 'provider.key']],
  ['a body that is not UTF-8', Buffer.from([0xff, 0x00, 0xc3, 0x28, 0x80]), ['provider.key']],
]) {
  writeFileSync(path('plain.http'), Buffer.concat([Buffer.from('POST /hooks HTTP/1.1\r\nHost: api.example.com\r\n\r\n'), payload]));
  const signed = keygate(['sign', '--webhook', ...keys.flatMap((k) => ['--key', path(k)]), '--request', path('plain.http')]).stdout;
  const headers = headersOf(signed);
  for (const k of keys) {
    let ok = true;
    try {
      new Webhook(secrets[k]).verify(new Uint8Array(payload), headers, { jsonParse: false });
    } catch {
      ok = false;
    }
    check(ok, `keygate sign --webhook (${label}) verifies with ${k}`);
  }
  let refused = false;
  try {
    new Webhook(secrets[keys[0]]).verify(Buffer.concat([payload, Buffer.from('!')]), headers, { jsonParse: false });
  } catch {
    refused = true;
  }
  check(refused, `${label}: a tampered copy is refused by the library`);
}

// 3. v1a by the specification's construction.
const seed = Buffer.from(v1a.webhook_key.slice('whsk_'.length), 'base64');
const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
const priv = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
const ts = String(Math.floor(Date.now() / 1000));
const token = `v1a,${sign(null, Buffer.concat([Buffer.from(`msg_v1a.${ts}.`), body]), priv).toString('base64')}`;
const [d] = decide(raw({ 'webhook-id': 'msg_v1a', 'webhook-timestamp': ts, 'webhook-signature': token }, body));
check(d.allowed && d.key_id === 'signer' && d.webhook.scheme === 'v1a', 'a v1a token made with node:crypto passes keygate');
writeFileSync(path('v1a.key'), v1a.webhook_key);
writeFileSync(path('plain.http'), Buffer.concat([Buffer.from('POST /hooks HTTP/1.1\r\nHost: api.example.com\r\n\r\n'), body]));
const hv = headersOf(keygate(['sign', '--webhook', '--key', path('v1a.key'), '--request', path('plain.http')]).stdout);
const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(v1a.webhook.public_key.slice('whpk_'.length), 'base64')]);
const pub = createPublicKey({ key: spki, format: 'der', type: 'spki' });
const [version, sig] = hv['webhook-signature'].split(',');
const msg = Buffer.concat([Buffer.from(`${hv['webhook-id']}.${hv['webhook-timestamp']}.`), body]);
check(version === 'v1a' && verify(null, msg, pub, Buffer.from(sig, 'base64')), "keygate's v1a token verifies with node:crypto over id.timestamp.body");
if (failures) process.exit(1);
