// Type-level tests: this file only has to compile (`tsc -p tests/types`, run by make test-js)
// under `strict`. Each `@ts-expect-error` line is a misuse that must NOT compile: if it ever
// did, tsc would report the unused directive and the test would fail.
import { Keygate, KeygateError, generateApiKey, hashApiKey, checkKeySet, generateWebhookKey, signWebhook } from 'keygate';
import type { Decision, KeygateErrorCode, ReasonCode } from 'keygate';
import { KEYSET_PATH, WIRE_STATUS, errorResponse, forwardToOrigin, withKeygate, getDecision } from 'keygate/worker';
import type { WireErrorCode } from 'keygate/worker';
import { keygate } from 'keygate/hono';
import type { KeygateVariables } from 'keygate/hono';
import gateway from 'keygate/gateway';
import { Hono } from 'hono';

export async function api(keySetText: string): Promise<string> {
  const gate = await Keygate.load(keySetText, { onWarning: (w) => console.warn(w.path, w.message) });
  const d: Decision = await gate.verify(new Request('https://x.example/'), { clientIp: '::1', now: Date.now() });
  await gate.verify(new Request('https://x.example/'), { now: new Date() });
  if (d.allowed) {
    const id: string | null = d.keyId;
    const scopes: readonly string[] = d.scopes;
    // @ts-expect-error an allowed decision has no reason
    d.reason;
    return `${id} ${scopes.join()}`;
  }
  const reason: ReasonCode = d.reason;
  const challenge: string | undefined = d.headers['WWW-Authenticate'];
  // @ts-expect-error the decision is read-only
  d.status = 200;
  const r = await gate.update({ keygate: 1, revision: 2, keys: [] });
  const changed: boolean = r.changed;
  await gate.update(keySetText, { maxAgeSeconds: 900 });
  await Keygate.load(keySetText, { audience: 'api-prod', maxAgeSeconds: 60 });
  const { key, entry } = generateApiKey({ prefix: 'kg_live' });
  const digest: string = hashApiKey(key) + entry.api_key_hash;
  const ok: boolean = checkKeySet(keySetText).valid;
  const seal = { kty: 'oct', k: 'AAAA', kid: 'seal-1', alg: 'dir', use: 'enc' } as const;
  const sealed = await Keygate.load(keySetText, { sealKeys: [seal] });
  await Keygate.load(keySetText, { sealKeys: '{"keys":[]}' });
  checkKeySet(keySetText, { sealKeys: { keys: [seal] } });
  const kids: readonly string[] = sealed.info.sealKeyIds;
  const count: number = sealed.info.sealed + kids.length;
  return `${reason} ${challenge} ${changed} ${digest} ${ok} ${gate.info.revision} ${count}`;
}

export function misuse(gate: Keygate): void {
  // @ts-expect-error now is a Date or a number, not a string
  void gate.verify(new Request('https://x.example/'), { now: '2026-01-01' });
  // @ts-expect-error clientIp is a string
  void gate.verify(new Request('https://x.example/'), { clientIp: 127001 });
  // @ts-expect-error the prefix is a string
  generateApiKey({ prefix: 1 });
  // @ts-expect-error Keygate is created with Keygate.load
  new Keygate();
  // @ts-expect-error an audience is one name
  void Keygate.load('{}', { audience: ['a', 'b'] });
  // @ts-expect-error a seal key is a symmetric (oct) JWK
  void Keygate.load('{}', { sealKeys: { kty: 'OKP', k: 'AAAA' } });
  // @ts-expect-error update takes only maxAgeSeconds
  void gate.update('{}', { audience: 'a' });
}

export function errors(e: unknown): KeygateErrorCode | null {
  if (e instanceof KeygateError) {
    for (const { path, message } of e.errors) console.log(path, message);
    // @ts-expect-error codes are a closed union
    const bad: typeof e.code = 'ERR_SOMETHING_ELSE';
    return bad;
  }
  return null;
}

interface Env {
  KEYGATE_KEYSET: string;
}

export const worker = withKeygate<Env>(
  async (request, env, ctx, decision) => {
    ctx.waitUntil(Promise.resolve());
    const same = getDecision(request);
    return Response.json({ key: decision.keyId, same: same?.keyId, set: env.KEYGATE_KEYSET.length });
  },
  { keySet: (env) => env.KEYGATE_KEYSET, refreshSeconds: 60, log: (line) => console.log(line.event) },
);

// @ts-expect-error keySet is required
withKeygate(async () => new Response('x'), {});

interface KvEnv {
  KV: { put(key: string, value: string): Promise<void> };
  ORIGIN: string;
  MAX?: string;
}

// The key set endpoint, mounted by the user's own router; pushes stored in KV.
const pushing = withKeygate<KvEnv>(
  (request, env, _ctx, decision) => forwardToOrigin(request, decision, env.ORIGIN, { headers: { 'x-origin-auth': 's3cret' } }),
  {
    keySet: () => null,
    publisherKeys: ['-XPkqSbfSNlaMrZtXET242NCaRZXgZnY9QeTFBAk_G8'],
    audience: (env) => env.ORIGIN,
    push: (env) => ({ store: (envelope) => env.KV.put('keyset', envelope), maxBytes: env.MAX, maxAgeSeconds: env.MAX, readTimeoutSeconds: env.MAX }),
  },
);
export const router = {
  fetch(request: Request, env: KvEnv, ctx: { waitUntil(p: Promise<unknown>): void }): Promise<Response> {
    if (new URL(request.url).pathname === KEYSET_PATH) return pushing.keySetEndpoint(request, env, ctx);
    return pushing.fetch(request, env, ctx);
  },
};
withKeygate<KvEnv>(async () => new Response('x'), { keySet: () => null, push: { store: (text, env) => env.KV.put('k', text), maxBytes: 1024 } });
// The client address the origin is told: a string, or null for none.
withKeygate<KvEnv>((request, env, _ctx, decision) => forwardToOrigin(request, decision, env.ORIGIN, { clientIp: null }), { keySet: () => null });
withKeygate<KvEnv>((request, env, _ctx, decision) => forwardToOrigin(request, decision, env.ORIGIN, { clientIp: '203.0.113.7' }), { keySet: () => null });
// @ts-expect-error clientIp is an address string or null
withKeygate<KvEnv>((request, env, _ctx, decision) => forwardToOrigin(request, decision, env.ORIGIN, { clientIp: 7 }), { keySet: () => null });
// The storage bound: seconds, or a function of env that may give text (an environment variable).
withKeygate<KvEnv>(async () => new Response('x'), { keySet: () => null, storageTimeoutSeconds: 2.5 });
withKeygate<KvEnv>(async () => new Response('x'), { keySet: () => null, storageTimeoutSeconds: (env) => env.MAX });
// @ts-expect-error a fixed bound is a number
withKeygate<KvEnv>(async () => new Response('x'), { keySet: () => null, storageTimeoutSeconds: '5' });
// A shard read gets a signal to pass on, and may be bounded.
Keygate.load('{}', { shards: { load: ({ sha256, signal }) => fetch(`https://shards.example/${sha256}`, { signal }).then((r) => r.arrayBuffer()), readTimeoutSeconds: 2 } });
// A push target needs no store where a coordinator is bound: it keeps pushes itself.
interface CoordEnv {
  COORD: { getByName(name: string): unknown };
  KV: { get(key: string, options: { type: 'arrayBuffer'; cacheTtl?: number }): Promise<ArrayBuffer | null> };
}
withKeygate<CoordEnv>(async () => new Response('x'), { keySet: () => null, push: { maxBytes: 1024 }, coordinator: (env) => env.COORD });
withKeygate<CoordEnv>(async () => new Response('x'), {
  keySet: () => null,
  coordinator: (env) => ({ namespace: env.COORD, name: 'keyset-2027', kv: env.KV, require: true, nonceShards: 32 }),
});
// @ts-expect-error the coordinator is a function of env
withKeygate<CoordEnv>(async () => new Response('x'), { keySet: () => null, coordinator: { getByName: () => null } });
export const deltaCodes: KeygateErrorCode[] = ['ERR_DELTA_BASE', 'ERR_DELTA_CHAIN_FULL'];
export const coordinatorCodes: WireErrorCode[] = ['delta_base_mismatch', 'delta_chain_full', 'delta_requires_coordinator', 'coordinator_unavailable'];

const status: number = WIRE_STATUS.not_found;
const code: WireErrorCode = 'method_not_allowed';
export const busy: WireErrorCode[] = ['push_in_progress', 'push_timeout', 'envelope_stale', 'audience_mismatch', 'keyset_store_timeout'];
export const shardCodes: WireErrorCode[] = ['shard_unavailable', 'shards_missing', 'shard_not_staged', 'shard_mismatch'];
export const staleCode: KeygateErrorCode[] = ['ERR_ENVELOPE_STALE', 'ERR_AUDIENCE_MISMATCH'];
export const notFound: Response = errorResponse(code, `status ${status}`, { headers: { allow: 'GET' }, fields: { max_bytes: 1 } });
// @ts-expect-error wire codes are a closed union (decision reasons carry their own status)
errorResponse('scope_missing', 'no');
// @ts-expect-error forwarding needs an allowed decision
void forwardToOrigin(new Request('https://x.example/'), { allowed: false }, 'https://origin.example');

const app = new Hono<{ Bindings: Env; Variables: KeygateVariables }>();
app.use('/api/*', keygate<Env>({ keySet: (env) => env.KEYGATE_KEYSET, clientIp: (c) => c.req.header('x-real-ip') }));
app.get('/api/hello', (c) => c.json({ key: c.get('keygate').keyId }));

export const gw: { fetch: (r: Request, env: object, ctx: { waitUntil(p: Promise<unknown>): void }) => Promise<Response> } = gateway;

export async function webhooks(gate: Keygate): Promise<string> {
  const { key, webhook } = generateWebhookKey({ scheme: 'v1a' });
  const headers = await signWebhook({ key: [key, new Uint8Array(32)], body: '{}', id: 'msg_1', timestamp: new Date() });
  const id: string = headers['webhook-id'];
  const d = await gate.verify(new Request('https://x.example/hooks', { method: 'POST', headers: { ...headers }, body: '{}' }), { maxWebhookBodyBytes: 65536, bodyTimeoutSeconds: 5 });
  if (d.allowed && d.webhook) {
    const scheme: 'v1' | 'v1a' = d.webhook.scheme;
    return `${id} ${d.webhook.id} ${d.webhook.timestamp + 1} ${scheme} ${'public_key' in webhook}`;
  }
  // @ts-expect-error the scheme is v1 or v1a
  generateWebhookKey({ scheme: 'v2' });
  // @ts-expect-error a body is text or bytes
  await signWebhook({ key, body: { a: 1 } });
  return id;
}
