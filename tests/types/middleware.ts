// Type-level tests of the middleware options (onRefused, getKey, keyHeader/keyPrefix,
// requestUrl, clientIp, log and logSample, maxBodyBytes): this file only has to compile.
// Each `@ts-expect-error` line is a misuse that must NOT compile.
import type { ReasonCode } from 'keygate';
import { MAX_BODY_BYTES, refusalResponse, withKeygate } from 'keygate/worker';
import type { EdgeRefusal, EdgeRefusalCode, LogRecord, WireErrorCode, WorkerOptions } from 'keygate/worker';
import { KeygateHTTPException, keygate } from 'keygate/hono';
import type { KeygateVariables } from 'keygate/hono';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';

interface Env {
  KEYGATE_KEYSET: string;
  MAX_BODY?: string;
  PEER?: string;
}
interface Ctx {
  waitUntil(p: Promise<unknown>): void;
  readonly region: string;
}

export const worker = withKeygate<Env, Ctx>(async (_request, _env, _ctx, decision) => Response.json({ key: decision.keyId }), {
  keySet: (env) => env.KEYGATE_KEYSET,
  log: 'refusals',
  onRefused: (decision, { request, env, ctx }) => {
    const reason: ReasonCode | EdgeRefusalCode = decision.reason;
    const res = refusalResponse(decision);
    res.headers.set('x-region', ctx.region);
    res.headers.set('x-path', new URL(request.url).pathname + env.KEYGATE_KEYSET.length + reason);
    return res;
  },
  getKey: async (request, env) => request.headers.get('x-partner-key') ?? env.PEER ?? null,
  requestUrl: (request) => new URL(new URL(request.url).pathname, 'https://api.example.com'),
  clientIp: (_request, env) => env.PEER,
  maxBodyBytes: (env) => env.MAX_BODY,
  bodyTimeoutSeconds: (env) => env.MAX_BODY,
});

const sampled: WorkerOptions<Env> = {
  keySet: '{}',
  log: (record: LogRecord) => {
    if (record.event === 'keygate.decision') {
      const rate: number | undefined = record.sample_rate;
      console.log(record.reason, rate);
    }
  },
  logSample: 0.1,
  keyHeader: 'Authorization',
  keyPrefix: 'Token',
  requestUrl: 'https://api.example.com',
  maxBodyBytes: MAX_BODY_BYTES / 8,
  bodyTimeoutSeconds: 5,
};
withKeygate(async () => new Response('x'), sampled);
const tooLarge: WireErrorCode = 'body_too_large';
export const code: EdgeRefusal['reason'] = tooLarge;
const late: WireErrorCode = 'body_timeout';
export const lateCode: EdgeRefusalCode = late;

// @ts-expect-error log modes are a closed set
withKeygate(async () => new Response('x'), { keySet: '{}', log: 'errors' });
// @ts-expect-error logSample is a number
withKeygate(async () => new Response('x'), { keySet: '{}', logSample: '0.5' });
// @ts-expect-error onRefused: 'throw' is Hono's (app.onError)
withKeygate(async () => new Response('x'), { keySet: '{}', onRefused: 'throw' });
// @ts-expect-error onRefused must answer a Response
withKeygate(async () => new Response('x'), { keySet: '{}', onRefused: () => 'refused' });
// @ts-expect-error getKey returns a string, null or undefined
withKeygate(async () => new Response('x'), { keySet: '{}', getKey: () => 42 });
// @ts-expect-error a fixed maxBodyBytes is a number of bytes
withKeygate(async () => new Response('x'), { keySet: '{}', maxBodyBytes: '8MiB' });
// @ts-expect-error a fixed bodyTimeoutSeconds is a number of seconds
withKeygate(async () => new Response('x'), { keySet: '{}', bodyTimeoutSeconds: '30' });
// @ts-expect-error requestUrl is a URL, an origin string or a function
withKeygate(async () => new Response('x'), { keySet: '{}', requestUrl: 443 });

const app = new Hono<{ Bindings: Env; Variables: KeygateVariables }>();
app.use('/api/*', keygate<Env>({ keySet: (env) => env.KEYGATE_KEYSET, onRefused: 'throw', getKey: (c) => c.req.query('key') ?? null }));
app.use('/v2/*', keygate<Env>({ keySet: '{}', onRefused: (decision, c) => c.json({ code: decision.reason }, 401), requestUrl: 'https://api.example.com' }));
app.onError((err, c) => {
  if (err instanceof KeygateHTTPException) {
    const d: EdgeRefusal = err.decision;
    return c.json({ code: d.reason, message: d.message }, err.status);
  }
  if (err instanceof HTTPException) return err.getResponse();
  return c.text('internal', 500);
});
// @ts-expect-error a Hono onRefused takes 'throw' or a function, nothing else
keygate({ keySet: '{}', onRefused: 'respond' });
// @ts-expect-error Hono's clientIp gets the context
keygate({ keySet: '{}', clientIp: (c: Request) => c.headers.get('x-ip') });
// Hono takes the coordinator as withKeygate does: a function of env.
declare const COORDINATOR: { getByName(name: string): unknown };
app.use('/v3/*', keygate<Env>({ keySet: (env) => env.KEYGATE_KEYSET, coordinator: () => COORDINATOR }));
app.use('/v4/*', keygate<Env>({ keySet: '{}', coordinator: () => ({ namespace: COORDINATOR, require: true }) }));
// @ts-expect-error Hono's coordinator is a function of env, not the namespace itself
keygate({ keySet: '{}', coordinator: COORDINATOR });
