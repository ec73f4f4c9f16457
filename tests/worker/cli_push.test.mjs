// Layer 4: `keygate push` (the native CLI, `make cli`) against the real gateway in workerd,
// listening on 127.0.0.1: accepted, unchanged, refused (signature, rollback, content: exit 1
// with the gateway's answer), and pushes disabled (exit 69). The scripted-server tests of
// every answer class are in tests/cli_push.rs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateApiKey } from 'keygate';
import { ROOT } from '../js/helpers.mjs';
import { OTHER_PUBLISHER, PUBLISHER, bearer, gateway, joseSigned, set, signed } from './helpers.mjs';

const KEYGATE = process.env.KEYGATE ?? join(ROOT, 'target/release/keygate');
assert.ok(existsSync(KEYGATE), `${KEYGATE} is missing: run \`make cli\``);

const dir = mkdtempSync(join(tmpdir(), 'keygate-cli-push-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const file = (name, text) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

/** Runs the CLI (asynchronously: the gateway answers while it waits); loopback only. */
function keygate(args) {
  const env = { ...process.env };
  for (const k of ['ALL_PROXY', 'all_proxy', 'HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']) delete env[k];
  return new Promise((resolve) => {
    execFile(KEYGATE, args, { env, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? error.code : 0, stdout, stderr });
    });
  });
}

// Sets issued now: a gateway may refuse an envelope issued long ago (envelope_stale).
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const fresh = (revision, keys) => set(revision, keys, { issued_at: now() });

const a = generateApiKey({ id: 'a' });
const b = generateApiKey({ id: 'b' });
const status = async (gw, key) => (await gw.fetch('/api/x', bearer(key))).status;

test('keygate push signs, PUTs and reports what the gateway in workerd answered', async () => {
  const gw = await gateway({ KEYGATE_PUBLISHER_KEYS: PUBLISHER.signing.public_key, KEYGATE_KEYSET: signed(fresh(1, [a.entry])) });
  const url = String(await gw.mf.ready);
  // The publisher key file in its new form: {key, signing}, as generateSigningKey returns it.
  const publisher = file('publisher.json', JSON.stringify(PUBLISHER));
  const v2 = file('v2.json', JSON.stringify(fresh(2, [b.entry])));

  const ok = await keygate(['push', url, v2, '--publisher-secret', publisher]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout), { revision: 2, keys: 1, changed: true });
  assert.equal(await status(gw, b.key), 200, 'the pushed set is in use');
  assert.equal(await status(gw, a.key), 401);

  // The same set again (Ed25519 signatures are deterministic: the same bytes) is accepted.
  const again = await keygate(['push', url, v2, '--publisher-secret', publisher]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(JSON.parse(again.stdout), { revision: 2, keys: 1, changed: false });

  // Signed by a key the gateway does not pin: refused, exit 1, and nothing changes.
  const other = file('other.json', JSON.stringify(OTHER_PUBLISHER));
  const v3 = file('v3.json', JSON.stringify(fresh(3, [a.entry])));
  const forged = await keygate(['push', url, v3, '--publisher-secret', other]);
  assert.equal(forged.code, 1, forged.stderr);
  assert.equal(JSON.parse(forged.stdout).error, 'envelope_signature_invalid');
  assert.match(forged.stderr, /401 envelope_signature_invalid/);
  assert.equal(await status(gw, b.key), 200);

  // An older revision: a rollback, with the revision in use.
  const old = file('v1.envelope.json', signed(fresh(1, [a.entry])));
  const rollback = await keygate(['push', `${url}.well-known/keygate/keyset`, old]);
  assert.equal(rollback.code, 1, rollback.stderr);
  assert.equal(JSON.parse(rollback.stdout).error, 'keyset_rollback');
  assert.equal(await status(gw, b.key), 200);

  // Invalid content under a valid signature (made by jose: keygate's own signer refuses it):
  // every error is listed with its path.
  const invalid = file('invalid.envelope.json', await joseSigned(JSON.stringify({ ...fresh(4, [{ id: 'bad id', api_key_hash: 'md5:x' }]), extra: 1 })));
  const bad = await keygate(['push', url, invalid]);
  assert.equal(bad.code, 1, bad.stderr);
  for (const path of ['$.extra', '$.keys[0].api_key_hash', '$.keys[0].id']) assert.ok(bad.stderr.includes(path), bad.stderr);
  assert.equal(await status(gw, b.key), 200, 'the old set keeps serving');
});

test('keygate push to a gateway without pushes: exit 69, says why', async () => {
  const gw = await gateway({ KEYGATE_KEYSET: JSON.stringify(fresh(1, [a.entry])) });
  const url = String(await gw.mf.ready);
  const envelope = file('e.json', signed(fresh(2, [b.entry])));
  const r = await keygate(['push', url, envelope]);
  assert.equal(r.code, 69, r.stderr);
  assert.match(r.stderr, /no push endpoint here: 404 not_found/);
  assert.equal(await status(gw, a.key), 200);
});
