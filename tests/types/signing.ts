// Type-level tests for signing, key set envelopes, replay stores and error details (see
// usage.ts for the rules: every `@ts-expect-error` line must fail to compile).
import { Keygate, KeygateError, createSignature, generateSigningKey, signKeySet, signRequest } from 'keygate';
import type { CreatedSignature, GeneratedSigningKey, KeySetErrorWireCode, NonceClaim, NonceStore, SigningEntry } from 'keygate';
import { withKeygate } from 'keygate/worker';

export async function signing(cryptoKey: CryptoKey): Promise<string> {
  const ed: GeneratedSigningKey = generateSigningKey({ alg: 'ed25519' });
  const entry: SigningEntry = ed.signing;
  const req = new Request('https://api.example.com/v1/orders', { method: 'POST', body: '{}' });
  const signed: Request = await signRequest(req, { keyId: 'client', key: ed.key, alg: 'ed25519' });
  await signRequest(req, {
    keyId: 'client',
    key: new Uint8Array(32),
    components: ['@method', '@target-uri', 'content-digest'],
    nonce: true,
    created: new Date(),
    expires: Date.now() + 60_000,
    label: 'sig2',
    tag: 'app',
  });
  await signRequest(req, { keyId: 'client', key: cryptoKey });
  await signRequest(req, { keyId: 'c', key: { kty: 'OKP', crv: 'Ed25519', d: 'x', x: 'y' } });
  await signRequest({ method: 'GET', url: 'https://x.example/', headers: { accept: '*/*' } }, { keyId: 'c', key: ed.key, alg: 'ed25519', nonce: 'n-1' });
  const sig: CreatedSignature = await createSignature(req, { keyId: 'client', key: cryptoKey });
  const lines: string[] = sig.headers.map(([name, value]) => `${name}: ${value}`);
  const envelope: string = signKeySet({ keygate: 1, revision: 2, keys: [] }, ed.key, { kid: 'publisher-1' });
  return `${signed.url} ${entry.alg} ${lines.join()} ${sig.signatureBase} ${envelope}`;
}

export async function signingMisuse(req: Request): Promise<void> {
  // @ts-expect-error keyId is required
  await signRequest(req, { key: 'x' });
  // @ts-expect-error keyId is a string
  await signRequest(req, { keyId: 1, key: 'x' });
  // @ts-expect-error the algorithms are hmac-sha256 and ed25519
  await signRequest(req, { keyId: 'c', key: 'x', alg: 'rsa-pss-sha512' });
  // @ts-expect-error created is a Date or milliseconds
  await signRequest(req, { keyId: 'c', key: 'x', created: '2026-11-29T00:00:00Z' });
  // @ts-expect-error components are strings
  await createSignature(req, { keyId: 'c', key: 'x', components: [1] });
  // @ts-expect-error a number is no key
  await createSignature(req, { keyId: 'c', key: 42 });
  // @ts-expect-error unknown options are refused
  await signRequest(req, { keyId: 'c', key: 'x', digest: 'sha-512' });
  // @ts-expect-error generateSigningKey needs an algorithm it knows
  generateSigningKey({ alg: 'rsa' });
  // @ts-expect-error the kid is a string
  signKeySet({}, 'seed', { kid: 7 });
  // @ts-expect-error the signing entry is read-only
  generateSigningKey({ alg: 'hmac-sha256' }).signing.alg = 'ed25519';
}

const claimed = new Set<string>();
const store: NonceStore = {
  async claim(c: NonceClaim): Promise<boolean> {
    const id = `${c.keyId} ${c.nonce} ${c.expiresAt}`;
    if (claimed.has(id)) return false;
    claimed.add(id);
    return true;
  },
};

export async function replay(ks: string): Promise<void> {
  const gate = await Keygate.load(ks, { nonceStore: store });
  await gate.verify(new Request('https://x.example/'), { nonceStore: store });
  // @ts-expect-error claim resolves to a boolean: a synchronous answer is a misuse
  await Keygate.load(ks, { nonceStore: { claim: () => true } });
  // @ts-expect-error claim takes the claim object
  await gate.verify(new Request('https://x.example/'), { nonceStore: { claim: async (n: string) => n === '' } });
}

export const worker = withKeygate<{ KS: string }>(async () => new Response('ok'), {
  keySet: (env) => env.KS,
  nonceStore: (env) => (env.KS ? store : null),
});

export function pushErrors(e: unknown): string {
  if (e instanceof KeygateError && e.error !== undefined) {
    const wire: KeySetErrorWireCode = e.error;
    const status: number | undefined = e.status;
    // @ts-expect-error wire codes are a closed union
    const bad: KeySetErrorWireCode = 'keyset_broken';
    return `${wire} ${status} ${e.currentRevision ?? ''} ${bad}`;
  }
  return '';
}
