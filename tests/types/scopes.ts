// Type-level tests for what a handler can use from a decision (issue 12 item 3): the key's
// name, meta and expiry, the verified signature, hasScope and requireScopes. Only has to
// compile; each `@ts-expect-error` line must not.
import { Keygate, hasScope } from 'keygate';
import type { Decision, VerifiedSignature } from 'keygate';
import { requireScopes, withKeygate } from 'keygate/worker';
import { keygate, requireScopes as honoScopes } from 'keygate/hono';
import type { KeygateVariables } from 'keygate/hono';
import { Hono } from 'hono';

export async function fields(gate: Keygate): Promise<string> {
  const d: Decision = await gate.verify(new Request('https://x.example/'));
  if (!d.allowed) return d.reason;
  const name: string | null = d.name;
  const expires: string | null = d.expiresAt;
  const team: unknown = d.meta?.['team'];
  const sig: VerifiedSignature | undefined = d.signature;
  const created: number | undefined = sig?.params.created;
  const components: readonly string[] = sig?.components ?? [];
  // @ts-expect-error meta is read-only
  d.meta = null;
  return `${name} ${expires} ${String(team)} ${created} ${components.join()} ${hasScope(d, 'orders:write')}`;
}

export const worker = withKeygate(
  requireScopes('orders:write', 'orders:read')(async (_request, _env, _ctx, decision) => Response.json({ id: decision.keyId })),
  { keySet: 'x' },
);

export function app(): Hono<{ Variables: KeygateVariables }> {
  const a = new Hono<{ Variables: KeygateVariables }>();
  a.use('/api/*', keygate({ keySet: 'x' }));
  a.post('/api/orders', honoScopes('orders:write'), (c) => c.json({ id: c.get('keygate').keyId }));
  return a;
}

// @ts-expect-error at least one scope
requireScopes();
// @ts-expect-error scopes are strings
honoScopes(42);
