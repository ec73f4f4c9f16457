// The keygate demo page: no framework, no build step. The package is served by the gateway
// itself from /vendor/keygate (copied there by `make build`) and mapped by the import map.
import { Keygate, checkKeySet, generateApiKey } from 'keygate';

// DEMO ONLY: these keys are published (demo/README.md); the local gateway runs the demo set.
const DEMO_KEYS = {
  'demo-reader': 'kg_demo_sShpJC3TNbwKN9OeKaxNThwrEUHyPMufAZRt6Q8yapa2m9M5j',
  'demo-admin': 'kg_demo_g7g4GsaIPwpNZdV9KXcRfL7DEAKwv9De3dPK2skBqe61RN5UT',
  'demo-expired': 'kg_demo_9ZmWBeSOLDjwVqd13WfvGGI0Aj4UrShQOkp2fhLiuDk3tXIui',
  'demo-disabled': 'kg_demo_u8og7eB0kWBFlS3UcsxNN3WCPyftSRl0lSMR5PL5BlD0taPFQ',
};
const TIMING_RUNS = 200;

const $ = (id) => document.getElementById(id);
let generated = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

// --- 1. generate ---------------------------------------------------------------------------

function scopesInput() {
  return $('gen-scopes').value.split(',').map((s) => s.trim()).filter(Boolean);
}

function onGenerate(event) {
  event.preventDefault();
  $('gen-error').hidden = true;
  try {
    const id = $('gen-id').value.trim();
    generated = generateApiKey({ prefix: $('gen-prefix').value.trim(), ...(id ? { id } : {}) });
  } catch (e) {
    $('gen-error').textContent = e.message;
    $('gen-error').hidden = false;
    return;
  }
  const entry = { ...generated.entry, scopes: scopesInput() };
  $('gen-key').value = generated.key;
  $('gen-entry').textContent = JSON.stringify(entry, null, 2);
  $('gen-out').hidden = false;
  const option = $('req-key').querySelector('option[value="generated"]');
  option.disabled = false;
  option.textContent = `the generated key (${generated.entry.id})`;
  $('gen-key').focus();
  $('gen-key').select();
}

function onAddEntry() {
  let doc;
  try {
    doc = JSON.parse($('ks-editor').value);
  } catch {
    showKeySetErrors([{ path: '$', message: 'fix the JSON syntax before adding an entry' }]);
    return;
  }
  if (!Array.isArray(doc.keys)) doc.keys = [];
  doc.keys = doc.keys.filter((k) => k?.id !== generated.entry.id);
  doc.keys.push({ ...generated.entry, scopes: scopesInput() });
  $('ks-editor').value = JSON.stringify(doc, null, 2);
  validateKeySet();
  $('req-key').value = 'generated';
  onCredentialChange();
}

// --- 2. key set ----------------------------------------------------------------------------

function showKeySetErrors(errors) {
  const list = el('ul', { class: 'errors' });
  for (const e of errors) list.append(el('li', {}, el('code', {}, e.path), ' ', e.message));
  $('ks-result').replaceChildren(
    el('p', { class: 'bad' }, `Invalid key set: ${errors.length} error${errors.length === 1 ? '' : 's'}`),
    list,
  );
  $('ks-editor').setAttribute('aria-invalid', 'true');
}

function validateKeySet() {
  const result = checkKeySet($('ks-editor').value);
  if (!result.valid) {
    showKeySetErrors(result.errors);
    return false;
  }
  const doc = JSON.parse($('ks-editor').value);
  const parts = [
    el('p', { class: 'good' }, `Valid key set: revision ${doc.revision}, ${doc.keys.length} key${doc.keys.length === 1 ? '' : 's'}`),
  ];
  if (result.warnings.length > 0) {
    const list = el('ul', { class: 'warnings' });
    for (const w of result.warnings) list.append(el('li', {}, el('code', {}, w.path), ' ', w.message));
    const n = result.warnings.length;
    parts.push(el('details', {}, el('summary', {}, `${n} lint warning${n === 1 ? '' : 's'} (the set still loads)`), list));
  }
  $('ks-result').replaceChildren(...parts);
  $('ks-editor').removeAttribute('aria-invalid');
  return true;
}

// --- 3. request ----------------------------------------------------------------------------

function onCredentialChange() {
  const choice = $('req-key').value;
  const key = choice === 'generated' ? generated?.key : DEMO_KEYS[choice];
  const lines = $('req-headers').value.split('\n').filter((l) => l.trim() && !/^\s*authorization\s*:/i.test(l));
  if (key) lines.unshift(`Authorization: Bearer ${key}`);
  $('req-headers').value = lines.join('\n');
}

function composed() {
  const headers = new Headers();
  for (const [i, line] of $('req-headers').value.split('\n').entries()) {
    if (!line.trim()) continue;
    const colon = line.indexOf(':');
    if (colon < 1) throw new Error(`header line ${i + 1}: expected "Name: value"`);
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  const url = new URL($('req-path').value || '/', location.origin);
  return { method: $('req-method').value, url, headers };
}

// --- 4. decisions --------------------------------------------------------------------------

function showDecision(target, fields) {
  const dl = el('dl');
  for (const [name, value] of fields) {
    if (value === undefined) continue;
    dl.append(el('dt', {}, name), el('dd', { 'data-field': name.toLowerCase().replace(/\W+/g, '-') }, String(value)));
  }
  const article = $(target);
  const verdict = fields.find(([n]) => n === 'Decision')?.[1];
  article.className = verdict === 'ALLOWED' ? 'allowed' : verdict === 'REFUSED' ? 'refused' : 'failed';
  article.replaceChildren(article.querySelector('h3'), dl);
}

function pending(target, text) {
  const article = $(target);
  article.className = '';
  article.replaceChildren(article.querySelector('h3'), el('p', { class: 'empty' }, text));
}

async function onVerifyBrowser() {
  pending('browser-decision', 'Verifying…');
  let gate;
  let req;
  try {
    if (!validateKeySet()) throw new Error('the key set is invalid (see step 2)');
    gate = await Keygate.load($('ks-editor').value);
    const { method, url, headers } = composed();
    req = new Request(url, { method, headers });
  } catch (e) {
    showDecision('browser-decision', [['Decision', 'ERROR'], ['Message', e.message]]);
    return;
  }
  const options = { clientIp: $('req-ip').value.trim() || undefined };
  try {
    const d = await gate.verify(req, options);
    const t0 = performance.now();
    for (let i = 0; i < TIMING_RUNS; i++) await gate.verify(req, options);
    const micros = ((performance.now() - t0) * 1000) / TIMING_RUNS;
    showDecision('browser-decision', [
      ['Decision', d.allowed ? 'ALLOWED' : 'REFUSED'],
      ['Status', d.status],
      ['Reason', d.allowed ? 'allowed' : d.reason],
      ['Key id', d.keyId ?? '—'],
      ['Scopes', d.allowed ? d.scopes.join(' ') || '—' : undefined],
      ['Message', d.allowed ? undefined : d.message],
      ['Time', `${micros.toFixed(1)} µs (mean of ${TIMING_RUNS} runs)`],
    ]);
  } catch (e) {
    showDecision('browser-decision', [['Decision', 'ERROR'], ['Code', e.code], ['Message', e.message]]);
  }
}

async function onVerifyGateway() {
  pending('gateway-decision', 'Sending…');
  let res;
  let body;
  const t0 = performance.now();
  try {
    const { method, url, headers } = composed();
    res = await fetch(url, { method, headers, cache: 'no-store' });
    body = await res.json();
  } catch (e) {
    showDecision('gateway-decision', [['Decision', 'ERROR'], ['Message', `${e.message}`]]);
    return;
  }
  const ms = performance.now() - t0;
  const allowed = res.ok && body.allowed === true;
  showDecision('gateway-decision', [
    ['Decision', allowed ? 'ALLOWED' : 'REFUSED'],
    ['Status', res.status],
    ['Reason', allowed ? 'allowed' : body.error],
    ['Key id', allowed ? body.key_id ?? '—' : undefined],
    ['Scopes', allowed ? body.scopes.join(' ') || '—' : undefined],
    ['Message', allowed ? undefined : body.message],
    ['Challenge', res.headers.get('www-authenticate') ?? undefined],
    ['Round trip', `${ms.toFixed(1)} ms`],
  ]);
}

// --- start ---------------------------------------------------------------------------------

async function start() {
  let text;
  try {
    const res = await fetch('/vendor/demo-keyset.json');
    text = JSON.stringify(await res.json(), null, 2);
  } catch {
    text = JSON.stringify({ keygate: 1, revision: 1, keys: [] }, null, 2);
  }
  $('ks-editor').value = text;
  validateKeySet();
  let timer;
  $('ks-editor').addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(validateKeySet, 150);
  });
  $('gen-form').addEventListener('submit', onGenerate);
  $('gen-add').addEventListener('click', onAddEntry);
  $('req-key').addEventListener('change', onCredentialChange);
  $('verify-browser').addEventListener('click', onVerifyBrowser);
  $('verify-gateway').addEventListener('click', onVerifyGateway);
  $('gen-button').disabled = false;
  $('verify-browser').disabled = false;
  $('status').textContent = 'Ready: the keygate wasm module is loaded in this page.';
  document.body.dataset.ready = 'true';
}

start();
