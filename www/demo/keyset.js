// Step 2, the editor: live validation with every error at its JSON path (and line), an error
// selects its value in the editor, and edits of top-level fields that keep the user's layout.

import { Keygate, checkKeySet } from 'keygate';
import { $, el, plural } from './ui.js';
import { jsonSpans, lineColumn, locate } from './jsonpath.js';

const editor = () => $('ks-editor');

/** Selects the text an error points at and brings it into view. */
function jumpTo(error) {
  const text = editor().value;
  const { start, end } = locate(text, jsonSpans(text), error);
  const ta = editor();
  ta.focus();
  ta.setSelectionRange(start, end);
  // Scroll the selection into view: textareas do not do it for a programmatic selection.
  const { line } = lineColumn(text, start);
  const lineHeight = parseFloat(getComputedStyle(ta).lineHeight) || 20;
  ta.scrollTop = Math.max(0, (line - 3) * lineHeight);
}

function errorList(errors, className) {
  const text = editor().value;
  const spans = jsonSpans(text);
  const list = el('ul', { class: className });
  for (const e of errors) {
    const { line } = lineColumn(text, locate(text, spans, e).start);
    const go = el('button', { type: 'button', class: 'link', title: `Select ${e.path} in the editor` }, e.path);
    go.addEventListener('click', () => jumpTo(e));
    list.append(el('li', { 'data-path': e.path }, go, ` (line ${line}) `, el('span', {}, e.message)));
  }
  return list;
}

function showErrors(errors) {
  $('ks-result').replaceChildren(
    el('p', { class: 'bad' }, `Invalid key set: ${plural(errors.length, 'error')}`),
    errorList(errors, 'errors'),
  );
  editor().setAttribute('aria-invalid', 'true');
}

/** Validates the editor's text and shows the result; returns the parsed set when valid. */
export function validateKeySet() {
  const text = editor().value;
  const result = checkKeySet(text);
  if (!result.valid) {
    showErrors(result.errors);
    return null;
  }
  const doc = JSON.parse(text);
  const parts = [
    el('p', { class: 'good' }, `Valid key set: revision ${doc.revision}, ${plural(doc.keys.length, 'key')}`),
  ];
  if (result.warnings.length > 0) {
    const n = result.warnings.length;
    parts.push(el('details', {},
      el('summary', {}, `${plural(n, 'lint warning')} (the set still loads)`),
      errorList(result.warnings, 'warnings')));
  }
  $('ks-result').replaceChildren(...parts);
  editor().removeAttribute('aria-invalid');
  return doc;
}

/**
 * Sets top-level members (JSON values) in the editor's text, keeping its layout: an existing
 * member's value is replaced in place, a missing one is added after the opening brace.
 */
export function setTopLevel(values) {
  let text = editor().value;
  for (const [name, value] of Object.entries(values)) {
    const span = jsonSpans(text).get(`$.${name}`);
    const json = JSON.stringify(value);
    if (span) {
      const colon = text.indexOf(':', span.start + name.length + 2);
      const valueStart = colon + 1 + (text.slice(colon + 1).length - text.slice(colon + 1).trimStart().length);
      text = text.slice(0, valueStart) + json + text.slice(span.end);
    } else {
      const brace = text.indexOf('{');
      text = `${text.slice(0, brace + 1)}\n  ${JSON.stringify(name)}: ${json},${text.slice(brace + 1)}`;
    }
  }
  editor().value = text;
  return validateKeySet();
}

/** Adds (or replaces, by id) key entries; false when the text is not JSON to add them to. */
export function addEntries(entries) {
  let doc;
  try {
    doc = JSON.parse(editor().value);
  } catch {
    showErrors([{ path: '$', message: 'fix the JSON syntax before adding entries' }]);
    return false;
  }
  if (!Array.isArray(doc.keys)) doc.keys = [];
  const ids = new Set(entries.map((e) => e.id));
  doc.keys = doc.keys.filter((k) => !ids.has(k?.id)).concat(entries);
  editor().value = JSON.stringify(doc, null, 2);
  validateKeySet();
  return true;
}

let cached = { text: null, gate: null };

/**
 * The page's verifier for the editor's text. It is kept while the text is unchanged, so the
 * nonces it has seen are remembered (a replay is refused in the page as at the gateway).
 */
export async function pageGate() {
  const text = editor().value;
  if (cached.text !== text) cached = { text, gate: await Keygate.load(text) };
  return cached.gate;
}

/** A fresh verifier for the editor's text (for timing runs that must not touch pageGate's nonces). */
export function freshGate() {
  return Keygate.load(editor().value);
}

export function setupEditor(initialText) {
  editor().value = initialText;
  validateKeySet();
  let timer;
  editor().addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(validateKeySet, 150);
  });
}
