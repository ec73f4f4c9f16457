// Step 4: the prepared request decided by the wasm verifier in this page and by the gateway,
// side by side. The shown decision comes from a Web Request, as a gateway sees it. The time
// is the mean of many gate.verify calls on a separate verifier (a browser's clock is too
// coarse for one call, and the runs must not spend the nonce the shown decision checks),
// with the body handed over as bytes: a Request body is streamed through the browser's
// stream machinery, which in Chromium costs more than the verification itself. With a nonce,
// every run after the first is refused as nonce_replayed: that check comes last, after the
// signature and digest work, so the runs still cost what an allowed request costs.

import { $, browserFields, busy, errorFields, gatewayFields, pending, showDecision } from './ui.js';
import { current, toRequest } from './compose.js';
import { freshGate, pageGate, validateKeySet } from './keyset.js';

const TIMING_RUNS = 200;
const WARMUP_RUNS = 20;

function clientIp() {
  return $('req-ip').value.trim() || undefined;
}

/** Mean microseconds per gate.verify for a draft (inputs built before the clock starts). */
async function timeVerify(draft) {
  const gate = await freshGate();
  const options = { clientIp: clientIp() };
  const request = toRequest(draft); // its headers, with what the browser adds by default
  const body = draft.body === null ? undefined : new TextEncoder().encode(draft.body);
  const input = () => ({ method: request.method, url: request.url, headers: request.headers, body });
  for (let i = 0; i < WARMUP_RUNS; i += 1) await gate.verify(input(), options);
  const inputs = Array.from({ length: TIMING_RUNS }, input);
  const t0 = performance.now();
  for (const r of inputs) await gate.verify(r, options);
  return ((performance.now() - t0) * 1000) / TIMING_RUNS;
}

/** Decides a draft in the page and shows it in panel `target`. */
export async function decideInBrowser(draft, target, { timed = true } = {}) {
  pending(target, 'Verifying…');
  try {
    if (!validateKeySet()) throw new Error('the key set in step 2 is invalid');
    const gate = await pageGate();
    const d = await gate.verify(toRequest(draft), { clientIp: clientIp() });
    const micros = timed ? await timeVerify(draft) : undefined;
    showDecision(target, browserFields(d, micros, TIMING_RUNS));
    return d;
  } catch (e) {
    showDecision(target, errorFields(e));
    return null;
  }
}

/** Sends a draft to the gateway (this page's origin) and shows its answer in panel `target`. */
export async function decideAtGateway(draft, target) {
  pending(target, 'Sending…');
  const t0 = performance.now();
  try {
    const res = await fetch(toRequest(draft), { cache: 'no-store', redirect: 'manual' });
    const body = await res.json().catch(() => null);
    showDecision(target, gatewayFields(res, body, performance.now() - t0));
    return { status: res.status, body };
  } catch (e) {
    showDecision(target, errorFields(e));
    return null;
  }
}

async function onBrowser() {
  const s = await current();
  if (s) await decideInBrowser(s.draft, 'browser-decision');
}

async function onGateway() {
  const s = await current();
  if (s) await decideAtGateway(s.draft, 'gateway-decision');
}

async function onBoth() {
  const s = await current();
  if (!s) return;
  await decideInBrowser(s.draft, 'browser-decision');
  await decideAtGateway(s.draft, 'gateway-decision');
}

export function setupVerify() {
  for (const [id, work] of [['verify-both', onBoth], ['verify-browser', onBrowser], ['verify-gateway', onGateway]]) {
    $(id).addEventListener('click', (event) => busy(event.currentTarget, work));
  }
  for (const id of ['verify-both', 'verify-browser', 'verify-gateway']) $(id).disabled = false;
}
