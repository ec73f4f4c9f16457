// A user's code against the package's public entries. It must compile, `strict`, under every
// module resolution users have: TypeScript 7 with nodenext here (`tsc -p tests/types`), and
// TypeScript 5.9 against the installed tarball under node10 (module commonjs), node16,
// nodenext (ES module and CommonJS files) and bundler (tests/pack/types.test.mjs). Each
// `@ts-expect-error` is a misuse that must not compile, so the types are the package's and
// not `any` from an unresolved module.
import { Keygate, KeygateError, checkKeySet, generateApiKey } from 'keygate';
import type { Decision, KeygateErrorCode } from 'keygate';
import { initWasm, Keygate as InitKeygate } from 'keygate/init';
import type { WasmSource } from 'keygate/init';
import { withKeygate, getDecision } from 'keygate/worker';
import { keygate } from 'keygate/hono';
import type { KeygateVariables } from 'keygate/hono';
import { Hono } from 'hono';

/** keygate/init: every source form; the API is the one of `keygate`. */
export async function explicitInit(compiled: WebAssembly.Module, bytes: Uint8Array): Promise<Keygate> {
  await initWasm(compiled);
  await initWasm(bytes);
  await initWasm(bytes.buffer);
  await initWasm(fetch('/assets/keygate.wasm'));
  await initWasm(new URL('https://cdn.example/keygate.wasm'));
  await initWasm('/assets/keygate.wasm');
  const source: WasmSource = compiled;
  await initWasm(Promise.resolve(source));
  // @ts-expect-error null is not a wasm source (a number is refused at run time only: the DOM
  // lib's WebAssembly.Module is an empty interface, which any object or number satisfies)
  await initWasm(null);
  // @ts-expect-error initWasm takes the source
  await initWasm();
  // @ts-expect-error initWasm resolves to nothing
  const nothing: boolean = await initWasm(compiled);
  void nothing;
  const gate: Keygate = await InitKeygate.load(checkKeySet('{}').valid ? '{}' : '{}');
  return gate;
}

export async function decide(gate: Keygate): Promise<string> {
  const d: Decision = await gate.verify(new Request('https://api.example/v1'), { clientIp: '203.0.113.7' });
  if (d.allowed) return d.keyId ?? 'public';
  // @ts-expect-error a refusal has no scopes
  void d.scopes;
  return d.reason;
}

export function codes(e: unknown): KeygateErrorCode | null {
  if (!(e instanceof KeygateError)) return null;
  if (e.code === 'ERR_WASM_NOT_INITIALIZED' || e.code === 'ERR_WASM_INIT_FAILED') return e.code;
  // @ts-expect-error codes are a closed union
  const bad: KeygateErrorCode = 'ERR_NOT_A_CODE';
  return bad;
}

export const key: string = generateApiKey({ prefix: 'kg_live' }).key;

interface Env {
  KEYGATE_KEYSET: string;
}

export const worker = withKeygate<Env>(
  async (request, env, _ctx, decision) => Response.json({ key: decision.keyId, same: getDecision(request)?.keyId, n: env.KEYGATE_KEYSET.length }),
  { keySet: (env) => env.KEYGATE_KEYSET },
);
// @ts-expect-error keySet is required
withKeygate(async () => new Response('x'), {});

export const app = new Hono<{ Bindings: Env; Variables: KeygateVariables }>();
app.use('/api/*', keygate<Env>({ keySet: (env) => env.KEYGATE_KEYSET }));
app.get('/api/hello', (c) => c.json({ key: c.get('keygate').keyId }));
