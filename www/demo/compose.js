// Step 3: the request as composed (method, URL, headers, body, API key), signed with RFC 9421
// in the page; shows the request as sent with the covered parts marked, the header fields the
// signer added and the signature base, each covered component in the same colour (and
// underlined, so colour is not the only cue).

import { createSignature } from 'keygate';
import { $, busy, el } from './ui.js';
import { DEMO_KEYS, state } from './state.js';

const NO_BODY = new Set(['GET', 'HEAD']);

/** The composed request, credentials included, before any signature: { method, url, headers, body }. */
export function readDraft() {
  const method = $('req-method').value;
  let url;
  try {
    url = new URL($('req-url').value.trim(), location.origin).href;
  } catch {
    throw new Error(`URL: "${$('req-url').value}" is not a URL`);
  }
  const headers = [];
  for (const [i, line] of $('req-headers').value.split('\n').entries()) {
    if (!line.trim()) continue;
    const colon = line.indexOf(':');
    if (colon < 1) throw new Error(`Headers, line ${i + 1}: expected "Name: value"`);
    headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  const choice = $('req-key').value;
  const key = choice === 'generated' ? state.generated?.apiKey : DEMO_KEYS[choice];
  if (key) headers.push(['Authorization', `Bearer ${key}`]);
  const body = NO_BODY.has(method) || $('req-body').value === '' ? null : $('req-body').value;
  return { method, url, headers, body };
}

/** A fresh Web Request for a draft (a body can be read once, so every use gets its own). */
export function toRequest(draft) {
  return new Request(draft.url, { method: draft.method, headers: draft.headers, body: draft.body ?? undefined });
}

/** The signing options chosen in the form, or null for no signature. */
export function signOptions(draft) {
  const alg = $('req-sig').value;
  if (!alg || !state.generated) return null;
  const k = alg === 'ed25519' ? state.generated.ed25519 : state.generated.hmac;
  const components = [...$('req-components').querySelectorAll('input:checked')]
    .map((c) => c.value)
    .filter((c) => c !== 'content-digest' || draft.body !== null);
  const options = { keyId: k.id, key: alg === 'ed25519' ? k.privateKey : k.secret, alg, components };
  if ($('req-nonce').checked) options.nonce = true;
  return options;
}

/** Signs a draft; `createdMs` moves the signer's clock (step 5). */
export async function signDraft(unsigned, sign, createdMs = Date.now()) {
  if (!sign) return { draft: unsigned, unsigned, sign: null, base: null, added: [] };
  const out = await createSignature(toRequest(unsigned), { ...sign, created: new Date(createdMs) });
  return {
    draft: { ...unsigned, headers: [...unsigned.headers, ...out.headers] },
    unsigned,
    sign,
    base: out.signatureBase,
    added: out.headers,
  };
}

/** The component identifiers a signature base covers, in order (without @signature-params). */
export function coveredComponents(base) {
  const ids = [];
  for (const line of base?.split('\n') ?? []) {
    const m = /^"([^"]+)"((?:;[^:]*)?): /.exec(line);
    if (m && m[1] !== '@signature-params') ids.push(m[1] + m[2]);
  }
  return ids;
}

function mark(text, component, colour) {
  if (!component) return text;
  return el('mark', { class: `c${colour}`, 'data-component': component, title: `covered: ${component}` }, text);
}

/** The request as an HTTP/1.1 message, with what the signature covers marked. */
function preview(s) {
  const covered = coveredComponents(s.base);
  const colour = (id) => covered.indexOf(id) % 6;
  const has = (id) => (covered.includes(id) ? id : null);
  const u = new URL(s.draft.url);
  const target = has('@target-uri') ?? has('@request-target');
  const pre = el('pre', { class: 'http', tabindex: '0', 'aria-label': 'The request as sent' });
  pre.append(mark(s.draft.method, has('@method'), colour('@method')), ' ');
  if (target) pre.append(mark(u.pathname + u.search, target, colour(target)));
  else pre.append(mark(u.pathname, has('@path'), colour('@path')), mark(u.search, u.search && has('@query'), colour('@query')));
  pre.append(' HTTP/1.1\nHost: ');
  const authority = has('@authority') ?? has('@target-uri');
  pre.append(mark(u.host, authority, colour(authority)), '\n');
  for (const [name, value] of s.draft.headers) {
    const id = has(name.toLowerCase());
    pre.append(mark(`${name}: ${value}`, id, colour(id)), '\n');
  }
  if (s.draft.body !== null) {
    pre.append('\n', mark(s.draft.body, has('content-digest'), colour('content-digest')));
  }
  return pre;
}

/** The signature base, one line per covered component, @signature-params last. */
function baseView(base) {
  const covered = coveredComponents(base);
  const pre = el('pre', { class: 'base', id: 'sig-base', tabindex: '0', 'aria-label': 'Signature base' });
  for (const line of base.split('\n')) {
    const m = /^("([^"]+)"(?:;[^:]*)?): ([\s\S]*)$/.exec(line);
    const id = m ? m[1].replace(/^"([^"]+)"/, '$1') : null;
    if (m && id !== '@signature-params') {
      pre.append(el('mark', { class: `c${covered.indexOf(id) % 6}`, 'data-component': id }, el('b', {}, m[1]), `: ${m[3]}`), '\n');
    } else {
      pre.append(el('span', { class: 'params' }, line), '\n');
    }
  }
  return pre;
}

export function showSigned(s) {
  const parts = [];
  if (s.sign) {
    const covered = coveredComponents(s.base);
    parts.push(el('p', { class: 'good', id: 'sign-summary' },
      `Signed with ${s.sign.alg} as key ${s.sign.keyId}, covering ${covered.join(', ')}${s.sign.nonce ? ', with a nonce' : ''}.`));
  } else {
    parts.push(el('p', { class: 'warn', id: 'sign-summary' },
      'Not signed: only the API key (if any) authenticates this request; nothing protects its content.'));
  }
  parts.push(el('h3', {}, 'The request as sent'));
  parts.push(el('p', { class: 'hint' }, s.sign
    ? 'Marked and underlined: covered by the signature (the body through its Content-Digest). Anything else can be changed without breaking it.'
    : 'No part of it is covered by a signature.'));
  parts.push(preview(s));
  if (s.sign) {
    const added = el('dl', { class: 'added', id: 'sig-headers' });
    for (const [name, value] of s.added) added.append(el('dt', {}, name), el('dd', {}, value));
    parts.push(el('h3', {}, 'Header fields added by the signer'), added);
    parts.push(el('h3', {}, 'Signature base (RFC 9421 §2.5)'),
      el('p', { class: 'hint' }, 'The exact bytes that were signed: one line per covered component, then the signature parameters.'),
      baseView(s.base));
  }
  $('sign-result').replaceChildren(...parts);
}

export function showSignError(e) {
  $('sign-result').replaceChildren(el('p', { class: 'error', role: 'alert' },
    `Could not build the request: ${e.code ? `${e.code}: ` : ''}${e.message}`));
}

/** Builds (and signs) the request from the form; null when that failed (the error is shown). */
export async function prepare() {
  try {
    const unsigned = readDraft();
    state.signed = await signDraft(unsigned, signOptions(unsigned));
  } catch (e) {
    state.signed = null;
    showSignError(e);
    return null;
  }
  state.dirty = false;
  showSigned(state.signed);
  return state.signed;
}

/** The prepared request, signed again first when the form changed since. */
export async function current() {
  return state.dirty || !state.signed ? prepare() : state.signed;
}

export function setupCompose() {
  $('req-url').value = `${location.origin}/api/orders`;
  const section = $('req-sign').closest('section');
  const changed = () => {
    state.dirty = true;
    $('req-body').disabled = NO_BODY.has($('req-method').value);
  };
  section.addEventListener('input', changed);
  section.addEventListener('change', changed);
  $('req-sign').addEventListener('click', (event) => busy(event.currentTarget, prepare));
  $('req-sign').disabled = false;
}
