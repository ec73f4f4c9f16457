// schema/keyset.v1.json, checked by an independent JSON Schema validator (ajv, draft 2020-12)
// against the shared key set vectors: every valid vector passes; each invalid vector is
// rejected by the schema exactly when its `schema_rejects` says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import { ROOT, readJson, vectorFiles } from './helpers.mjs';

const schema = readJson(join(ROOT, 'schema/keyset.v1.json'));
const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
ajv.addFormat('date-time', true); // the pattern in the schema does the checking
const validate = ajv.compile(schema);

test('the schema itself compiles under draft 2020-12 strict mode', () => {
  assert.equal(typeof validate, 'function');
});

test('every valid key set vector, the attack key sets and the demo set pass the schema', () => {
  const files = [
    ...vectorFiles('keysets', 'valid_'),
    ...vectorFiles('attacks', 'keyset'),
    join(ROOT, 'demo/keyset.json'),
  ];
  assert.ok(files.length >= 5);
  for (const f of files) {
    assert.ok(validate(readJson(f)), `${f}: ${JSON.stringify(validate.errors)}`);
  }
});

test('invalid vectors: the schema rejects exactly those marked schema_rejects', () => {
  let rejected = 0;
  let accepted = 0;
  for (const f of vectorFiles('keysets', 'invalid_')) {
    const v = readJson(f);
    if (v.schema_rejects === null) continue; // not JSON at all
    const ok = validate(v.keyset);
    if (v.schema_rejects) {
      assert.equal(ok, false, `${f}: the schema should reject it`);
      rejected++;
    } else {
      assert.equal(ok, true, `${f}: the schema cannot express this fault and should accept it: ${JSON.stringify(validate.errors)}`);
      accepted++;
    }
  }
  assert.ok(rejected >= 8 && accepted >= 3, `rejected ${rejected}, accepted ${accepted}`);
});

test('signing key forms in the schema', () => {
  const base = { keygate: 1, revision: 1 };
  const key = (signing) => ({ ...base, keys: [{ id: 'a', signing }] });
  assert.ok(validate(key({ alg: 'hmac-sha256', secret: 'A'.repeat(43) })));
  assert.ok(validate(key({ alg: 'ed25519', public_key: 'A'.repeat(43) })));
  assert.ok(validate(key({ alg: 'ed25519', jwk: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) } })));
  assert.equal(validate(key({ alg: 'ed25519', jwk: { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43), d: 'B'.repeat(43) } })), false);
  assert.equal(validate(key({ alg: 'hmac-sha256', secret: 'short' })), false);
  assert.equal(validate(key({ alg: 'rsa', public_key: 'A'.repeat(43) })), false);
  assert.equal(validate({ ...base, keys: [{ id: 'no-credential' }] }), false);
});

// schema/delta.v1.json, beside the key set schema it refers to.
const deltaAjv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
deltaAjv.addFormat('date-time', true);
deltaAjv.addSchema(schema);
const validateDelta = deltaAjv.compile(readJson(join(ROOT, 'schema/delta.v1.json')));

test('the delta schema: every well-formed delta vector passes, malformed ones do not', () => {
  const doc = readJson(join(ROOT, 'tests/vectors/deltas/deltas.json'));
  let passed = 0;
  for (const c of doc.cases) {
    // Refusals the schema can express: a malformed document, an unknown operation.
    const shape = c.name.startsWith('malformed');
    assert.equal(validateDelta(c.delta), !shape, `${c.name}: ${JSON.stringify(validateDelta.errors)}`);
    if (!shape) passed++;
  }
  assert.ok(passed >= 14, `${passed} passed`);
  const d = doc.cases[0].delta;
  for (const bad of [
    { ...d, kind: 'full' },
    { ...d, base: { revision: 5 } },
    { ...d, changes: [{ op: 'revoke', id: 'a', status: 'revoked' }] },
    { ...d, changes: [{ op: 'add', id: 'a' }] },
    { ...d, changes: [{ op: 'add', key: { id: 'x' } }] },
  ]) {
    assert.equal(validateDelta(bad), false, JSON.stringify(bad.changes ?? bad.base ?? bad.kind));
  }
});
