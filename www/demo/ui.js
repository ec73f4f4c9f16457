// Small DOM helpers shared by the demo's steps, and the decision panels of steps 4 and 5.

export const $ = (id) => document.getElementById(id);

/** An element with attributes and children (strings become text nodes, never HTML). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== false) node.setAttribute(k, v === true ? '' : v);
  }
  node.append(...children.filter((c) => c !== undefined && c !== null));
  return node;
}

export const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Replaces a panel's content below its heading. */
export function fill(target, className, ...children) {
  const panel = $(target);
  panel.className = className;
  panel.replaceChildren(panel.querySelector('h3'), ...children);
}

export function pending(target, text) {
  fill(target, '', el('p', { class: 'empty' }, text));
}

/**
 * A decision panel: `fields` are [name, value] pairs (undefined values are left out); each
 * value is marked with data-field (the name in kebab case) for tests and styles.
 */
export function showDecision(target, fields) {
  const dl = el('dl');
  for (const [name, value] of fields) {
    if (value === undefined) continue;
    const field = name.toLowerCase().replace(/\W+/g, '-');
    dl.append(el('dt', {}, name), el('dd', { 'data-field': field }, String(value)));
  }
  const verdict = fields.find(([n]) => n === 'Decision')?.[1];
  fill(target, verdict === 'ALLOWED' ? 'allowed' : verdict === 'REFUSED' ? 'refused' : 'failed', dl);
}

/** The fields of a decision made in the page (gate.verify). */
export function browserFields(d, micros, runs) {
  return [
    ['Decision', d.allowed ? 'ALLOWED' : 'REFUSED'],
    ['Status', d.status],
    ['Reason', d.allowed ? 'allowed' : d.reason],
    ['Key id', d.keyId ?? '—'],
    ['Scopes', d.allowed ? d.scopes.join(' ') || '—' : undefined],
    ['Message', d.allowed ? undefined : d.message],
    ['Accept-Signature', d.headers?.['Accept-Signature'] ?? d.headers?.['accept-signature']],
    ['Time', micros === undefined ? undefined : `${micros.toFixed(1)} µs per verification (mean of ${runs} runs)`],
  ];
}

/** The fields of the gateway's answer (echo body when allowed, `{error, message}` when not). */
export function gatewayFields(res, body, ms) {
  const allowed = res.ok && body?.allowed === true;
  return [
    ['Decision', allowed ? 'ALLOWED' : 'REFUSED'],
    ['Status', res.status],
    ['Reason', allowed ? 'allowed' : body?.error ?? '(no JSON body)'],
    ['Key id', allowed ? body.key_id ?? '—' : undefined],
    ['Scopes', allowed ? body.scopes.join(' ') || '—' : undefined],
    ['Message', allowed ? undefined : body?.message],
    ['Accept-Signature', res.headers.get('accept-signature') ?? undefined],
    ['Challenge', res.headers.get('www-authenticate') ?? undefined],
    ['Round trip', `${ms.toFixed(1)} ms`],
  ];
}

export function errorFields(e) {
  return [['Decision', 'ERROR'], ['Code', e.code], ['Message', e.message ?? String(e)]];
}

/**
 * Runs `work` with the section holding `button` marked busy (aria-busy), then counts the run
 * in the section's data-runs (tests wait for it to grow).
 */
export async function busy(button, work) {
  const section = button.closest('section');
  section.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    section.removeAttribute('aria-busy');
    section.dataset.runs = String(Number(section.dataset.runs ?? 0) + 1);
  }
}

/** `yyyy-mm-ddThh:mm:ssZ` for now (key set times have no fractional seconds). */
export function isoNow(ms = Date.now()) {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
