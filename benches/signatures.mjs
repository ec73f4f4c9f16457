// Per-request signature decisions through the package under Node (`gate.verify` on a Request,
// the path users call), beside WebCrypto and node:crypto doing only the bare cryptographic check
// on the same signature base, in one run, in alternating batches. Inputs: `cargo bench --bench
// signatures -- --write target/bench`. For the runtime users deploy to, see `make bench`
// (workerd).
//   node benches/signatures.mjs
import { readFileSync } from 'node:fs';
import nodeCrypto from 'node:crypto';
import { Keygate } from '../pkg/src/index.js';

const input = JSON.parse(readFileSync('target/bench/signature_cases.json', 'utf8'));
const b64 = (s) => Buffer.from(s, 'base64url');
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const gate = await Keygate.load(input.keyset);
const secret = b64(input.hmac_secret_b64url);
const publicRaw = b64(input.ed25519_public_b64url);
const subtle = globalThis.crypto.subtle;
const webHmac = await subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
const webEd = await subtle.importKey('raw', publicRaw, { name: 'Ed25519' }, false, ['verify']);
const nodeEd = nodeCrypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: input.ed25519_public_b64url }, format: 'jwk' });

// µs per operation; synchronous functions are not awaited (no microtask per call). `make(i)`
// builds the operation's input before the clock starts.
async function timeBatch(fn, n, isAsync, make = () => undefined) {
  const inputs = Array.from({ length: n }, (_, i) => make(i));
  const t = performance.now();
  if (isAsync) for (let i = 0; i < n; i++) await fn(inputs[i]);
  else for (let i = 0; i < n; i++) fn(inputs[i]);
  return ((performance.now() - t) * 1e3) / n;
}

console.log('| case | keygate `gate.verify` | WebCrypto bare verify | node:crypto bare verify | wasm / WebCrypto | wasm / node:crypto | native decision (`cargo bench`, same inputs) |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const c of input.cases) {
  const r = c.request;
  const body = c.body_len ? new TextEncoder().encode('x'.repeat(c.body_len)) : null;
  const base = new TextEncoder().encode(c.signature_base);
  const sig = b64(c.signature_b64url);
  const now = r.now_ms;
  // A WHATWG Request cannot carry a GET body (the native cases sign one): those go as a
  // request-like object, which `gate.verify` takes too.
  const request = () => (body === null ? new Request(r.url, { method: r.method, headers: r.headers }) : { method: r.method, url: r.url, headers: r.headers, body });
  const decide = async (req) => {
    const d = await gate.verify(req, { now });
    if (!d.allowed) throw new Error(`${c.alg} ${c.shape}: ${d.reason} ${d.message}`);
  };
  const web = c.alg === 'ed25519'
    ? async () => { if (!(await subtle.verify('Ed25519', webEd, sig, base))) throw new Error('web'); }
    : async () => { if (!(await subtle.verify('HMAC', webHmac, sig, base))) throw new Error('web'); };
  const node = c.alg === 'ed25519'
    ? () => { if (!nodeCrypto.verify(null, base, nodeEd, sig)) throw new Error('node'); }
    : () => {
        const mac = nodeCrypto.createHmac('sha256', secret).update(base).digest();
        if (!nodeCrypto.timingSafeEqual(mac, sig)) throw new Error('node');
      };
  const n = c.alg === 'ed25519' ? 200 : 2000;
  for (let w = 0; w < 3; w++) { await timeBatch(decide, n, true, request); await timeBatch(web, n, true); await timeBatch(node, n, false); }
  const [a, b, d, r1, r2] = [[], [], [], [], []];
  for (let round = 0; round < 15; round++) {
    const x = await timeBatch(decide, n, true, request);
    const y = await timeBatch(web, n, true);
    const z = await timeBatch(node, n, false);
    a.push(x); b.push(y); d.push(z); r1.push(x / y); r2.push(x / z);
  }
  const nat = c.native_ns?.decide ? `${(c.native_ns.decide / 1e3).toFixed(2)} µs` : '—';
  console.log(`| ${c.alg} ${c.shape} | ${median(a).toFixed(2)} µs | ${median(b).toFixed(2)} µs | ${median(d).toFixed(2)} µs | ${median(r1).toFixed(2)}× | ${median(r2).toFixed(2)}× | ${nat} |`);
}
