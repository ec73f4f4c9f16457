// Step 2, the push: the key set is signed in the page with the DEMO publisher key (a JWS
// envelope) and PUT to the local gateway, which checks the signature against the key it pins,
// validates the set, refuses an older revision and a set not issued recently. The gateway's
// answer is shown as is.

import { signKeySet } from 'keygate';
import { $, busy, el, isoNow, plural } from './ui.js';
import { state } from './state.js';
import { setTopLevel, validateKeySet } from './keyset.js';

const ENDPOINT = '/.well-known/keygate/keyset';

function base64url(bytes) {
  let bin = '';
  for (const b of new Uint8Array(bytes)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function sha256(text) {
  return base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}

function result(className, ...children) {
  const box = $('push-result');
  box.className = `result ${className}`.trim();
  box.replaceChildren(...children);
}

/** Asks the gateway which revision it serves; shows it beside the push button. */
export async function refreshGatewayInfo() {
  try {
    const res = await fetch(ENDPOINT, { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const info = await res.json();
    state.gatewayRevision = info.revision;
    $('gw-info').textContent = `The gateway serves revision ${info.revision} (${plural(info.keys, 'key')}, payload SHA-256 ${info.payload_sha256}).`;
    return info;
  } catch (e) {
    $('gw-info').textContent = `The gateway's key set endpoint did not answer (${e.message}).`;
    return null;
  }
}

/** A pushed set must have been issued recently (the gateway's default: 15 minutes). */
const FRESH_MS = 10 * 60 * 1000;

function issuedLongAgo(doc) {
  const t = Date.parse(doc.issued_at ?? '');
  return !(t > Date.now() - FRESH_MS);
}

/** Revision + 1 (and past the gateway's), issued now. */
function bump() {
  const doc = validateKeySet();
  if (!doc) return null;
  const next = Math.max(doc.revision, state.gatewayRevision ?? 0) + 1;
  return setTopLevel({ revision: next, issued_at: isoNow() });
}

async function push() {
  let doc = validateKeySet();
  if (!doc) {
    result('refused', el('p', { class: 'bad' }, 'Not pushed: fix the key set errors above first.'));
    return;
  }
  const behind = state.gatewayRevision !== null && doc.revision <= state.gatewayRevision;
  if ($('ks-autobump').checked && (behind || issuedLongAgo(doc))) {
    doc = bump();
  }
  const text = $('ks-editor').value;
  result('', el('p', { class: 'empty' }, `Pushing revision ${doc.revision}…`));
  let res;
  let body;
  try {
    const envelope = await signKeySet(text, state.publisher.private_key);
    res = await fetch(ENDPOINT, {
      method: 'PUT',
      headers: { 'content-type': 'application/jose+json' },
      body: envelope,
      cache: 'no-store',
    });
    body = await res.json().catch(() => null);
  } catch (e) {
    result('refused', el('p', { class: 'bad' }, `Push failed: ${e.message}`));
    return;
  }
  const head = el('p', { 'data-field': 'push-status' }, `HTTP ${res.status}`);
  if (res.ok) {
    state.gatewayRevision = body.revision;
    const info = await refreshGatewayInfo();
    const same = info && info.payload_sha256 === (await sha256(text));
    result('accepted',
      el('p', { class: 'good' }, `Accepted: the gateway now serves revision ${body.revision} (${plural(body.keys, 'key')}).`),
      head,
      same ? el('p', {}, 'Its payload SHA-256 matches this text byte for byte.') : undefined);
    return;
  }
  const code = body?.error ?? '(no JSON body)';
  const parts = [el('p', { class: 'bad' }, 'Refused: ', el('code', { 'data-field': 'push-error' }, code)), head];
  if (code === 'keyset_rollback') {
    state.gatewayRevision = body.current_revision;
    parts.push(el('p', {}, `The gateway holds revision ${body.current_revision}; it accepts only a higher one (or the identical set again). The old set keeps serving.`));
    refreshGatewayInfo();
  }
  if (code === 'envelope_stale') {
    parts.push(el('p', {}, 'The gateway takes a pushed set only when its issued_at is recent, so that an old signed set cannot be replayed. "Bump revision" sets it to now.'));
  }
  if (body?.message) parts.push(el('p', {}, body.message));
  if (Array.isArray(body?.errors)) {
    const list = el('ul', { class: 'errors' });
    for (const e of body.errors) list.append(el('li', {}, el('code', {}, e.path), ' ', e.message));
    parts.push(list);
  }
  result('refused', ...parts);
}

export function setupPush() {
  $('ks-bump').addEventListener('click', bump);
  $('ks-push').addEventListener('click', (event) => busy(event.currentTarget, push));
  $('ks-bump').disabled = false;
  $('ks-push').disabled = !state.publisher;
  refreshGatewayInfo();
}
