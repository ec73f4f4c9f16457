// Step 6: a Standard Webhooks delivery. A webhook key made in the page goes into the key set
// with a /hooks/demo route that accepts only its deliveries; a delivery is signed here with
// signWebhook (the signed content id.timestamp.body shown part by part) and decided in the page
// and at the gateway side by side; each tamper button changes one thing about the delivery.

import { generateWebhookKey, signWebhook } from 'keygate';
import { $, browserFields, busy, el, errorFields, gatewayFields, isoNow, pending, showDecision } from './ui.js';
import { addEntries, pageGate, setTopLevel, validateKeySet } from './keyset.js';

const KEY_ID = 'demo-hooks';
const PATH = '/hooks/demo';
const LIFETIME_DAYS = 30;
const hook = { key: null, last: null };

function onMake() {
  const scheme = $('wh-scheme').value;
  hook.key = generateWebhookKey({ scheme });
  $('wh-key').value = hook.key.key;
  $('wh-entry').textContent = JSON.stringify(entry(), null, 2);
  $('wh-out').hidden = false;
  $('wh-add').disabled = false;
  $('wh-key').focus();
  $('wh-key').select();
}

function entry() {
  const expires = isoNow(Date.now() + LIFETIME_DAYS * 86_400_000);
  return { id: KEY_ID, webhook: hook.key.webhook, scopes: ['events:write'], expires_at: expires, name: 'Generated in the demo page: a webhook sender' };
}

/** Adds the key and, first in the list, a POST route that accepts only its deliveries. */
function onAdd() {
  if (!hook.key || !addEntries([entry()])) return;
  const doc = validateKeySet() ?? JSON.parse($('ks-editor').value);
  const route = { methods: ['POST'], path: PATH, webhook_keys: [KEY_ID], scopes: ['events:write'] };
  const routes = (Array.isArray(doc.routes) ? doc.routes : []).filter((r) => r?.path !== PATH);
  setTopLevel({ routes: [route, ...routes] });
}

/** The signed content, each part marked (id, timestamp, body) in its own colour. */
function showContent(headers, body) {
  const part = (name, cls, text) => el('mark', { class: cls, 'data-part': name }, text);
  $('wh-content').replaceChildren(
    part('id', 'c0', headers['webhook-id']), '.',
    part('timestamp', 'c1', headers['webhook-timestamp']), '.',
    part('body', 'c2', body),
  );
  const dl = el('dl');
  for (const [n, v] of Object.entries(headers)) dl.append(el('dt', {}, n), el('dd', { class: 'mono' }, v));
  $('wh-headers').replaceChildren(dl);
  $('wh-signed').hidden = false;
}

/** A delivery as a Web Request to this page's gateway. */
const toRequest = ({ headers, body }) =>
  new Request(new URL(PATH, location.origin), { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body });

async function decide(delivery, browserId, gatewayId) {
  pending(browserId, 'Verifying…');
  try {
    if (!validateKeySet()) throw new Error('the key set in step 2 is invalid');
    const gate = await pageGate();
    showDecision(browserId, browserFields(await gate.verify(toRequest(delivery))));
  } catch (e) {
    showDecision(browserId, errorFields(e));
  }
  pending(gatewayId, 'Sending…');
  const t0 = performance.now();
  try {
    const res = await fetch(toRequest(delivery), { cache: 'no-store', redirect: 'manual' });
    const body = await res.json().catch(() => null);
    showDecision(gatewayId, gatewayFields(res, body, performance.now() - t0));
  } catch (e) {
    showDecision(gatewayId, errorFields(e));
  }
}

async function sign(options = {}) {
  if (!hook.key) throw new Error('make a webhook key first (above)');
  const body = $('wh-body').value;
  const headers = await signWebhook({ key: options.key ?? hook.key, body, ...options.extra });
  return { headers, body };
}

async function onSend() {
  try {
    hook.last = await sign();
  } catch (e) {
    showDecision('wh-browser', errorFields(e));
    return;
  }
  showContent(hook.last.headers, hook.last.body);
  await decide(hook.last, 'wh-browser', 'wh-gateway');
}

/** The tampered deliveries: [what changed, the delivery]. */
const TAMPERS = {
  body: async () => {
    const { headers, body } = hook.last ?? (await sign());
    const changed = body.length > 0 ? `${body[0] === '{' ? '[' : '{'}${body.slice(1)}` : 'x';
    return ['Changed the first byte of the body after signing.', { headers, body: changed }];
  },
  old: async () => ['Signed with a timestamp 10 minutes ago.', await sign({ extra: { timestamp: Date.now() - 600_000 } })],
  again: async () => ['Sent the last delivery again, unchanged.', hook.last ?? (await sign())],
  other: async () => ['Signed with another key of the same scheme, not in the key set.', await sign({ key: generateWebhookKey({ scheme: $('wh-scheme').value }) })],
  dot: async () => ['Signed with the id "msg.demo": a dot makes id.timestamp.body ambiguous.', await signDotted()],
};

/** signWebhook refuses a dotted id (keygate never signs what it would refuse): built by hand. */
async function signDotted() {
  const { headers, body } = await sign({ extra: { id: 'msg_demo' } });
  return { headers: { ...headers, 'webhook-id': 'msg.demo' }, body };
}

async function onTamper(event) {
  let what;
  let delivery;
  try {
    [what, delivery] = await TAMPERS[event.currentTarget.dataset.tamper]();
  } catch (e) {
    showDecision('wh-tamper-browser', errorFields(e));
    return;
  }
  $('wh-what').textContent = what;
  await decide(delivery, 'wh-tamper-browser', 'wh-tamper-gateway');
}

export function setupWebhook() {
  $('wh-make').addEventListener('click', onMake);
  $('wh-add').addEventListener('click', onAdd);
  $('wh-send').addEventListener('click', (event) => busy(event.currentTarget, onSend));
  for (const b of document.querySelectorAll('button.wh-tamper')) {
    b.addEventListener('click', (event) => busy(event.currentTarget, () => onTamper(event)));
  }
  for (const id of ['wh-make', 'wh-send']) $(id).disabled = false;
  for (const b of document.querySelectorAll('button.wh-tamper')) b.disabled = false;
}
