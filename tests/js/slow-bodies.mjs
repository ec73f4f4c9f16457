// The cases of tests/vectors/middleware/slow_bodies.json as requests, for the Node tests
// (body-deadline.test.mjs) and the gateway in workerd (tests/worker/slow_bodies.test.mjs): the
// keys and key set they are signed for, and each case's body streamed as the vector says.
import { join } from 'node:path';
import { generateSigningKey, generateWebhookKey, signRequest, signWebhook } from 'keygate';
import { VECTORS, keySet, readJson } from './helpers.mjs';

export const doc = readJson(join(VECTORS, 'middleware/slow_bodies.json'));
export const SECONDS = doc.timeout_seconds;
export const HOOK = generateWebhookKey({ scheme: 'v1' });
export const HMAC = generateSigningKey({ alg: 'hmac-sha256' });
/** Deliveries to POST /hooks (webhook key `hook`); signed requests anywhere else (key `client`). */
export const KEY_SET = keySet(1, [{ id: 'hook', webhook: HOOK.webhook }, { id: 'client', signing: HMAC.signing }], {
  routes: [{ methods: ['POST'], path: '/hooks', webhook_keys: ['hook'] }],
});

/** The case named `name`. */
export const slowCase = (name) => doc.cases.find((c) => c.name === name);

/** The headers a case is sent with (signed now, or forged as it says), for `body`, at `base`. */
async function signedHeaders(c, body, base) {
  if (c.kind === 'webhook') {
    const headers = new Headers(await signWebhook({ key: HOOK.key, body }));
    if (c.forged === 'stale') headers.set('webhook-timestamp', '1700000000');
    return { url: `${base}/hooks`, headers };
  }
  const options = { keyId: 'client', key: HMAC.key, alg: 'hmac-sha256', ...(c.components ? { components: c.components } : {}) };
  const signed = await signRequest(new Request(`${base}/up`, { method: 'POST', body }), options);
  const headers = new Headers(signed.headers);
  if (c.forged === 'signature') headers.set('signature', `sig1=:${Buffer.alloc(32).toString('base64')}:`);
  return { url: signed.url, headers };
}

/**
 * A case as `{ url, init, seen, body, end }`: `init` for `new Request(url, init)` or a fetch,
 * its body streamed as the vector says (its pieces timed from now); `seen.cancelled` once the
 * stream was cancelled from every side that holds it; `end()` closes it (a test's cleanup).
 */
export async function slowRequest(c, base = 'https://api.example.com') {
  const body = new TextEncoder().encode('x'.repeat(c.body_length));
  const { url, headers } = await signedHeaders(c, body, base);
  headers.delete('content-length');
  if (c.declared_length) headers.set('content-length', String(body.length));
  const seen = { cancelled: false };
  const timers = [];
  let controller;
  const stream = new ReadableStream({
    start(ctl) {
      controller = ctl;
      timers.push(...schedule(c, body, (piece) => ctl.enqueue(piece), () => ctl.close()));
    },
    cancel() {
      seen.cancelled = true;
      for (const t of timers) clearTimeout(t);
    },
  });
  const end = () => {
    for (const t of timers) clearTimeout(t);
    try {
      controller.close();
    } catch {
      // closed or cancelled already
    }
  };
  return { url, init: { method: 'POST', headers, body: stream, duplex: 'half' }, seen, body, end };
}

/**
 * Schedules a case's body as its `arrival` says (each piece `after` ms after the previous one,
 * `write(piece)`; `close()` after the last when it `ends`): the timers, for the caller to clear.
 */
export function schedule(c, body, write, close) {
  const timers = [];
  let at = 0;
  let delay = 0;
  for (const [after, n] of c.arrival) {
    delay += after;
    const piece = body.slice(at, at + n);
    at += n;
    timers.push(setTimeout(() => write(piece), delay));
  }
  if (c.ends) timers.push(setTimeout(close, delay));
  return timers;
}
