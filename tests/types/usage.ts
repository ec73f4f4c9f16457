// Type-level tests: this file only has to compile (`tsc -p tests/types`, run by make test-js)
// under `strict`. Each `@ts-expect-error` line is a misuse that must NOT compile: if it ever
// did, tsc would report the unused directive and the test would fail.
import { Keygate, KeygateError, generateApiKey, hashApiKey, checkKeySet } from 'keygate';
import type { Decision, KeygateErrorCode, ReasonCode } from 'keygate';
import { withKeygate, getDecision } from 'keygate/worker';
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
  const { key, entry } = generateApiKey({ prefix: 'kg_live' });
  const digest: string = hashApiKey(key) + entry.api_key_hash;
  const ok: boolean = checkKeySet(keySetText).valid;
  return `${reason} ${challenge} ${changed} ${digest} ${ok} ${gate.info.revision}`;
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

const app = new Hono<{ Bindings: Env; Variables: KeygateVariables }>();
app.use('/api/*', keygate<Env>({ keySet: (env) => env.KEYGATE_KEYSET, clientIp: (c) => c.req.header('x-real-ip') }));
app.get('/api/hello', (c) => c.json({ key: c.get('keygate').keyId }));

export const gw: { fetch: (r: Request, env: object, ctx: { waitUntil(p: Promise<unknown>): void }) => Promise<Response> } = gateway;
