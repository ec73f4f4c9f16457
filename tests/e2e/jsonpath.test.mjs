// The demo page's JSON path locator (www/demo/jsonpath.js) against the paths the verifier
// really reports: every error of every invalid key set vector must land on its own value
// (or, for a missing field, on the object that lacks it), so the editor selects the right text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkKeySet } from 'keygate';
import { readJson, vectorFiles } from '../js/helpers.mjs';
import { jsonSpans, lineColumn, locate } from '../../www/demo/jsonpath.js';

const lastMember = (path) => /(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[("(?:[^"\\]|\\.)*")\])$/.exec(path);

test('every error path of the invalid key set vectors selects its value', () => {
  let checked = 0;
  for (const file of vectorFiles('keysets', 'invalid_')) {
    const v = readJson(file);
    if (!v.keyset) continue; // syntax vectors: see the next test
    for (const indent of [0, 2]) {
      const text = JSON.stringify(v.keyset, null, indent);
      const spans = jsonSpans(text);
      for (const e of checkKeySet(text).errors) {
        const span = locate(text, spans, e);
        const selected = text.slice(span.start, span.end);
        if (e.message.startsWith('required field missing')) {
          assert.ok(!spans.has(e.path), `${file}: ${e.path} is missing, yet found`);
          assert.deepEqual(span, spans.get(e.path.slice(0, e.path.lastIndexOf('.'))), `${file}: ${e.path}`);
        } else {
          assert.ok(spans.has(e.path), `${file}: ${e.path} not found in the text`);
          const m = lastMember(e.path);
          if (m) {
            // A member: its name through its value, so an unknown field shows its own name.
            const name = m[1] ? JSON.stringify(m[1]) : m[2];
            assert.ok(selected.startsWith(`${name}:`), `${file}: ${e.path} selects ${selected}`);
          } else {
            // An array element: exactly the value.
            assert.match(e.path, /\[\d+\]$/);
            assert.doesNotThrow(() => JSON.parse(selected), `${file}: ${e.path} selects ${selected}`);
          }
        }
        checked += 1;
      }
    }
  }
  assert.ok(checked >= 60, `only ${checked} errors checked`);
});

test('syntax errors point at the line and column the parser names', () => {
  const text = '{\n  "keygate": 1,\n  "revision": 1,\n  "keys": [\n}';
  const [e] = checkKeySet(text).errors;
  assert.equal(e.path, '$');
  const span = locate(text, jsonSpans(text), e);
  const at = /at line (\d+) column (\d+)/.exec(e.message);
  assert.ok(at, e.message);
  assert.deepEqual(lineColumn(text, span.start), { line: Number(at[1]), column: Number(at[2]) });
  assert.equal(text[span.start], '}');
});

test('names that need brackets, and duplicates, are found as the verifier writes them', () => {
  const text = '{"keygate": 1, "revision": 1, "keys": [], "x y": {"a-b": [true]}, "z": 1, "z": 2}';
  const spans = jsonSpans(text);
  assert.equal(text.slice(spans.get('$["x y"]["a-b"][0]').start, spans.get('$["x y"]["a-b"][0]').end), 'true');
  // The later of two duplicate members, as the verifier names it.
  assert.equal(text.slice(spans.get('$.z').start, spans.get('$.z').end), '"z": 2');
});
