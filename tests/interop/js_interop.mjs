// Interop with the npm `http-message-signatures` package, both directions.
//
// 1. The package signs (hmac-sha256 and ed25519; with and without a body, with query
//    parameters, with nonces) -> `keygate verify` must allow every request, and refuse a
//    tampered copy.
// 2. `keygate sign` signs the same kinds of requests -> the package's verifyMessage must
//    accept every one (the package does not check Content-Digest; this script does, as its
//    users must), and reject a tampered copy.
//
// Usage: node js_interop.mjs KEYGATE_BINARY WORK_DIR

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import hms from 'http-message-signatures';

const { httpbis, createSigner, createVerifier } = hms;
const [KEYGATE, workRoot] = process.argv.slice(2);
const WORK = join(workRoot, 'js');
mkdirSync(WORK, { recursive: true });
const HOST = 'api.example.com';

const keygate = (args, check = true) => {
  const out = spawnSync(KEYGATE, args);
  if (check && out.status !== 0) throw new Error(`keygate ${args.join(' ')}: ${out.stderr}`);
  return out;
};
const b64url = (s) => Buffer.from(s, 'base64url');

// Keys from `keygate keygen`, and the key set that trusts them.
const ed = JSON.parse(execFileSync(KEYGATE, ['keygen', 'ed25519']));
const hm = JSON.parse(execFileSync(KEYGATE, ['keygen', 'hmac']));
writeFileSync(join(WORK, 'ed.json'), JSON.stringify(ed));
writeFileSync(join(WORK, 'hm.json'), JSON.stringify(hm));
writeFileSync(join(WORK, 'keyset.json'), JSON.stringify({
  keygate: 1,
  revision: 1,
  keys: [{ id: 'ed-key', signing: ed.signing }, { id: 'hm-key', signing: hm.signing }],
}));
const jwk = { kty: 'OKP', crv: 'Ed25519', d: ed.private_key, x: ed.signing.public_key };
const KEYS = {
  'ed-key': {
    alg: 'ed25519',
    signer: createSigner(createPrivateKey({ key: jwk, format: 'jwk' }), 'ed25519', 'ed-key'),
    verify: createVerifier(createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' }), 'ed25519'),
  },
  'hm-key': {
    alg: 'hmac-sha256',
    signer: createSigner(b64url(hm.secret), 'hmac-sha256', 'hm-key'),
    verify: createVerifier(b64url(hm.secret), 'hmac-sha256'),
  },
};

const contentDigest = (body) => `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;

const rawHttp = (req, body) => {
  const target = req.url.slice(`https://${HOST}`.length);
  const lines = [`${req.method} ${target} HTTP/1.1`, `Host: ${HOST}`,
    ...Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`)];
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), body ?? Buffer.alloc(0)]);
};

const parseHttp = (data) => {
  const split = data.indexOf('\r\n\r\n');
  const [line, ...fields] = data.subarray(0, split).toString().split('\r\n');
  const [method, target] = line.split(' ');
  const headers = {};
  for (const f of fields) {
    const i = f.indexOf(':');
    const name = f.slice(0, i).toLowerCase();
    if (name !== 'host') headers[name] = f.slice(i + 1).trim();
  }
  return { req: { method, url: `https://${HOST}${target}`, headers }, body: data.subarray(split + 4) };
};

// (name, method, path and query, body, nonce, extra covered components)
const CASES = [
  ['get-query', 'GET', '/v1/orders?id=42&sort=asc', null, null, ['@authority', '@query-param;name="id"']],
  ['post-body', 'POST', '/v1/orders', Buffer.from('{"qty": 2, "sku": "A-1"}'), null, ['content-type']],
  ['get-nonce', 'GET', '/v1/orders/7', null, 'js-nonce-1', ['@path', '@query']],
  ['put-all', 'PUT', '/v1/orders/7?dry=1', Buffer.alloc(1000, 'x'), 'js-nonce-2', ['@scheme', '@request-target']],
];

let failures = 0;
const check = (ok, what) => {
  console.log(`${ok ? 'ok   ' : 'FAIL '} ${what}`);
  if (!ok) failures += 1;
};

// 1. The package signs, keygate verifies.
for (const keyid of Object.keys(KEYS)) {
  const files = [];
  for (const [name, method, target, body, nonce, extra] of CASES) {
    const headers = body ? { 'content-type': 'application/json', 'content-digest': contentDigest(body) } : {};
    const params = ['created', 'keyid', 'alg', ...(nonce ? ['nonce'] : [])];
    const signed = await httpbis.signMessage({
      key: KEYS[keyid].signer,
      name: 'js',
      params,
      paramValues: { created: new Date(), ...(nonce ? { nonce: `${nonce}-${keyid}` } : {}) },
      fields: ['@method', '@target-uri', ...(body ? ['content-digest'] : []), ...extra],
    }, { method, url: `https://${HOST}${target}`, headers });
    const path = join(WORK, `${keyid}-${name}.http`);
    writeFileSync(path, rawHttp(signed, body));
    files.push([name, path]);
  }
  const out = keygate(['verify', '--keyset', join(WORK, 'keyset.json'), ...files.flatMap(([, p]) => ['--request', p])], false);
  const decisions = out.stdout.toString().trim().split('\n').map((l) => JSON.parse(l));
  files.forEach(([name], i) => {
    const d = decisions[i] ?? {};
    check(d.allowed === true && d.key_id === keyid, `npm signs ${keyid} ${name} -> keygate: ${JSON.stringify(d)}`);
  });
  const tampered = readFileSync(files[1][1]).toString().replace('"qty": 2', '"qty": 9');
  writeFileSync(join(WORK, 'tampered.http'), tampered);
  const d = JSON.parse(keygate(['verify', '--keyset', join(WORK, 'keyset.json'), '--request', join(WORK, 'tampered.http')], false).stdout);
  check(d.reason === 'digest_mismatch', `npm signs ${keyid}, body tampered -> keygate refuses: ${d.reason}`);
}

// 2. keygate signs, the package verifies.
for (const [keyid, keyfile] of [['ed-key', 'ed.json'], ['hm-key', 'hm.json']]) {
  const keyLookup = async (params) => (params.keyid === keyid
    ? { id: keyid, algs: [KEYS[keyid].alg], verify: KEYS[keyid].verify }
    : null);
  for (const [name, method, target, body, nonce, extra] of CASES) {
    const unsigned = join(WORK, `unsigned-${name}.http`);
    writeFileSync(unsigned, rawHttp({ method, url: `https://${HOST}${target}`, headers: body ? { 'content-type': 'application/json' } : {} }, body));
    const components = ['@method', '@target-uri', ...(body ? ['content-digest'] : []), ...extra];
    const args = ['sign', '--key', join(WORK, keyfile), '--keyid', keyid, '--request', unsigned, '--components', components.join(',')];
    if (nonce) args.push('--nonce');
    const { req, body: gotBody } = parseHttp(keygate(args).stdout);
    let ok = false;
    try {
      ok = await httpbis.verifyMessage({ keyLookup, requiredFields: ['@method', '@target-uri'], requiredParams: ['created', 'keyid'], maxAge: 300 }, req) === true;
      if (body) ok = ok && req.headers['content-digest'] === contentDigest(gotBody);
      ok = ok && req.headers['signature-input'].includes('nonce=') === Boolean(nonce);
    } catch (e) {
      console.log(`      ${e}`);
    }
    check(ok, `keygate signs ${keyid} ${name} -> npm verifies (${req.headers['signature-input']})`);
    const changed = { ...req, method: 'DELETE' };
    let refused = false;
    try {
      refused = await httpbis.verifyMessage({ keyLookup }, changed) !== true;
    } catch {
      refused = true;
    }
    check(refused, `keygate signs ${keyid} ${name}, method changed -> npm refuses`);
  }
}

console.log(`npm interop: ${failures} failure(s)`);
process.exit(failures ? 1 : 0);
