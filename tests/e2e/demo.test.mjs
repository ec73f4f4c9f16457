// Layer 5: `wrangler dev` (workerd) serving the gateway and the demo page, driven by headless
// Debian Chromium through playwright-core: the README's quick start over HTTP, then the
// page's six steps as a person would walk them, asserting what the page shows and what the
// gateway really holds. Screenshots go to tests/e2e/screenshots/ (gitignored).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { DEMO, ROOT } from '../js/helpers.mjs';
import { startGateway } from './server.mjs';
import { SHOTS, act, launch, lowContrast, openDemo, outcome, runBoth, shot } from './page.mjs';

let gw;
let browser;

before(async () => {
  gw = await startGateway(ROOT);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await gw?.stop();
});

test('quick start over HTTP: 200 echo, 401 without a key, 403 without the scope', { timeout: 30_000 }, async () => {
  const hello = await fetch(`${gw.url}/api/hello`, { headers: { authorization: `Bearer ${DEMO.reader}` } });
  assert.equal(hello.status, 200);
  assert.deepEqual(await hello.json(), { allowed: true, key_id: 'demo-reader', scopes: ['orders:read'], method: 'GET', path: '/api/hello' });

  const none = await fetch(`${gw.url}/api/hello`);
  assert.equal(none.status, 401);
  assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="keygate"');
  assert.equal((await none.json()).error, 'missing_credentials');

  const post = await fetch(`${gw.url}/api/orders`, { method: 'POST', headers: { authorization: `Bearer ${DEMO.reader}` } });
  assert.equal(post.status, 403);
  assert.equal((await post.json()).error, 'scope_missing');

  // wrangler dev passes the loopback peer as CF-Connecting-IP: the loopback-only admin key works.
  const admin = await fetch(`${gw.url}/api/admin/stats`, { headers: { 'x-api-key': DEMO.admin } });
  assert.equal(admin.status, 200);

  // The page and the package are static assets; a non-asset path still goes through keygate.
  assert.equal((await fetch(`${gw.url}/`)).status, 200);
  assert.equal((await fetch(`${gw.url}/vendor/keygate/wasm/keygate_bg.wasm`)).status, 200);
  assert.equal((await fetch(`${gw.url}/anything-else`)).status, 401);

  const audit = gw.logs.filter((l) => l.includes('"keygate.decision"'));
  assert.ok(audit.length >= 4, audit.join('\n'));
  assert.ok(!gw.logs.join('\n').includes(DEMO.reader), 'the key never appears in the logs');
});

const sha256 = (text) => `sha-256=:${createHash('sha256').update(text).digest('base64')}:`;
const BOTH = ['browser-decision', 'gateway-decision'];
const TAMPER = ['tamper-browser', 'tamper-gateway'];

test('demo page: generate, edit and push the key set, sign, verify on both sides, tamper', { timeout: 90_000 }, async () => {
  const page = await openDemo(browser.context, gw.url);
  await page.getByText('Valid key set: revision 1, 4 keys').waitFor({ timeout: 5_000 });
  await page.getByText(/^The gateway serves revision 1 \(4 keys/).waitFor({ timeout: 5_000 });
  await shot(page, '01-loaded');

  // 1. Keys generated in the page.
  await page.getByLabel('Prefix').fill('kg_e2e');
  await page.getByLabel('Key id (optional)').fill('e2e-app');
  await page.getByLabel('Scopes (comma separated)').fill('orders:read, orders:write');
  await page.getByRole('button', { name: 'Generate keys' }).click();
  const apiKey = await page.getByLabel('API key (shown once; the key set stores only its digest)').inputValue();
  const hmac = await page.getByLabel('HMAC-SHA256 secret (shared: the key set holds it too)').inputValue();
  const edPublic = await page.getByLabel('Ed25519 public key').inputValue();
  assert.match(apiKey, /^kg_e2e_[0-9A-Za-z]{49}$/);
  assert.match(hmac, /^[A-Za-z0-9_-]{43,}$/);
  assert.match(edPublic, /^[A-Za-z0-9_-]{43}$/);
  const entries = JSON.parse(`[${await page.locator('#gen-entry').textContent()}]`);
  assert.deepEqual(entries.map((e) => e.id), ['e2e-app', 'e2e-app-hmac']);
  assert.equal(entries[0].api_key_hash, `sha256:${createHash('sha256').update(apiKey).digest('base64url')}`);
  assert.deepEqual(entries[0].signing, { alg: 'ed25519', public_key: edPublic });
  assert.deepEqual(entries[1].signing, { alg: 'hmac-sha256', secret: hmac });
  assert.ok(!JSON.stringify(entries).includes(apiKey), 'the entries hold only the API key digest');

  // 2. Into the key set; live validation names the bad value by JSON path and line, and
  // selecting the error selects that value in the editor.
  await page.getByRole('button', { name: 'Add the entries to the key set' }).click();
  await page.getByText('Valid key set: revision 1, 6 keys').waitFor();
  const editor = page.getByLabel('Key set JSON');
  const good = await editor.inputValue();
  const bad = good.replace('"id": "e2e-app"', '"id": "e2e app"').replace('"require_signature"', '"require_signatures"');
  await editor.fill(bad);
  await page.locator('#ks-result li[data-path="$.keys[4].id"]').waitFor();
  const problems = await page.locator('#ks-result ul.errors li').allTextContents();
  const idLine = bad.slice(0, bad.indexOf('"id": "e2e app"')).split('\n').length;
  assert.ok(problems.includes(`$.keys[4].id (line ${idLine}) invalid character ' ' in key id (allowed: A-Z a-z 0-9 . _ : -)`), problems.join('\n'));
  const typoLine = bad.slice(0, bad.indexOf('"require_signatures"')).split('\n').length;
  assert.ok(problems.includes(`$.keys[4].require_signatures (line ${typoLine}) unknown field (did you mean "require_signature"?)`), problems.join('\n'));
  assert.equal(problems.length, 2, problems.join('\n'));
  assert.equal(await editor.getAttribute('aria-invalid'), 'true');
  await page.locator('#ks-result li[data-path="$.keys[4].id"] button').click();
  assert.equal(await editor.evaluate((t) => t.value.slice(t.selectionStart, t.selectionEnd)), '"id": "e2e app"');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'ks-editor');
  await page.locator('section', { has: editor }).screenshot({ path: `${SHOTS}/02-keyset-errors.png` });
  await editor.fill(good);
  await page.getByText('Valid key set: revision 1, 6 keys').waitFor();

  // Push, signed with the demo publisher key: the revision is bumped past the gateway's.
  const push = page.getByRole('button', { name: 'Sign and push to the gateway' });
  await act(page, push);
  assert.equal(await page.locator('#push-result .good').first().textContent(), 'Accepted: the gateway now serves revision 2 (6 keys).');
  await page.getByText('Its payload SHA-256 matches this text byte for byte.').waitFor();
  assert.match(await editor.inputValue(), /"revision": 2,/);
  const held = await (await fetch(`${gw.url}/.well-known/keygate/keyset`)).json();
  assert.deepEqual([held.revision, held.keys], [2, 6]);
  // A rollback (an older revision) is refused and the gateway keeps revision 2.
  await page.getByLabel('Bump the revision automatically before a push').uncheck();
  await editor.fill((await editor.inputValue()).replace('"revision": 2,', '"revision": 1,'));
  await page.getByText('Valid key set: revision 1, 6 keys').waitFor();
  await act(page, push);
  assert.equal(await page.locator('#push-result [data-field="push-error"]').textContent(), 'keyset_rollback');
  assert.equal(await page.locator('#push-result [data-field="push-status"]').textContent(), 'HTTP 409');
  await page.getByText(/The gateway holds revision 2; it accepts only a higher one/).waitFor();
  assert.equal((await (await fetch(`${gw.url}/.well-known/keygate/keyset`)).json()).revision, 2);
  await page.locator('section', { has: push }).screenshot({ path: `${SHOTS}/03-push-rollback.png` });
  await page.getByRole('button', { name: 'Bump revision' }).click();
  await page.getByText('Valid key set: revision 3, 6 keys').waitFor();
  await act(page, push);
  await page.getByText('Accepted: the gateway now serves revision 3 (6 keys).').waitFor();

  // 3. Compose and sign: API key + Ed25519 (selected by "Add"), POST with a JSON body.
  assert.equal(await page.getByLabel('API key', { exact: true }).inputValue(), 'generated');
  assert.equal(await page.getByLabel('Signature', { exact: true }).inputValue(), 'ed25519');
  await page.getByLabel('URL').fill(`${gw.url}/api/orders`);
  const body = await page.getByLabel(/^Body/).inputValue();
  await act(page, page.getByRole('button', { name: 'Sign the request' }));
  const base = (await page.locator('#sig-base').textContent()).trimEnd().split('\n');
  assert.deepEqual(base.slice(0, 4), [
    '"@method": POST',
    `"@target-uri": ${gw.url}/api/orders`,
    '"content-type": application/json',
    `"content-digest": ${sha256(body)}`,
  ]);
  assert.match(base[4], /^"@signature-params": \("@method" "@target-uri" "content-type" "content-digest"\);created=\d+;keyid="e2e-app";alg="ed25519";nonce="[^"]+"$/);
  assert.equal(base.length, 5);
  const marked = async (sel) => page.$$eval(sel, (ms) => [...new Set(ms.map((m) => m.dataset.component))]);
  const covered = ['@method', '@target-uri', 'content-type', 'content-digest'];
  assert.deepEqual(await marked('#sig-base mark'), covered, 'the base highlights exactly the covered lines');
  assert.deepEqual((await marked('pre.http mark')).sort(), [...covered].sort(), 'the request marks what is covered');
  const added = await page.$$eval('#sig-headers dt', (dts) => dts.map((d) => d.textContent));
  assert.deepEqual(added, ['Content-Digest', 'Signature-Input', 'Signature']);
  await shot(page, '04-signed');

  // 4. Allowed in the page and at the gateway, with the wasm time in µs.
  const verifyBoth = page.getByRole('button', { name: 'Verify in the browser and at the gateway' });
  let r = await runBoth(page, verifyBoth, BOTH);
  assert.deepEqual([r.browser.decision, r.browser.status, r.browser.reason, r.browser['key-id']], ['ALLOWED', '200', 'allowed', 'e2e-app']);
  assert.match(r.browser.time, /^\d+\.\d µs per verification \(mean of 200 runs\)$/);
  assert.deepEqual([r.gateway.decision, r.gateway.status, r.gateway.reason, r.gateway['key-id']], ['ALLOWED', '200', 'allowed', 'e2e-app']);
  await page.locator('section', { has: verifyBoth }).screenshot({ path: `${SHOTS}/05-verified.png` });

  // 5. Tampering: each change is refused by the right check, on both sides.
  const tamper = (name) => runBoth(page, page.getByRole('button', { name, exact: true }), TAMPER);
  const refused = (reason) => ({ browser: ['401', reason], gateway: ['401', reason] });
  assert.deepEqual(outcome(await tamper('Change the body')), refused('digest_mismatch'));
  assert.match(await page.locator('#tamper-what').textContent(), /keeping the signed Content-Digest\. It is covered/);
  assert.deepEqual(outcome(await tamper('Change a header')), refused('signature_invalid'));
  assert.match(await page.locator('#tamper-what').textContent(), /^Changed the header Content-Type from "application\/json" to "text\/plain"/);
  assert.deepEqual(outcome(await tamper('Change the URL')), refused('signature_invalid'));
  assert.deepEqual(outcome(await tamper('Client clock 10 min slow')), refused('signature_too_old'));
  assert.deepEqual(outcome(await tamper('Client clock 10 min fast')), refused('signature_in_future'));
  r = await tamper('Replay it');
  assert.deepEqual(outcome(r), refused('nonce_replayed'));
  assert.match(r.gateway['accept-signature'], /^sig1=\("@method" "@target-uri"/);
  await shot(page, '06-tampered');

  // HMAC alone (keyid e2e-app-hmac), then the API key with it: the two name different keys.
  await page.getByLabel('API key', { exact: true }).selectOption('');
  await page.getByLabel('Signature', { exact: true }).selectOption('hmac-sha256');
  r = await runBoth(page, verifyBoth, BOTH);
  assert.deepEqual([r.browser.reason, r.browser['key-id'], r.gateway.reason, r.gateway['key-id']], ['allowed', 'e2e-app-hmac', 'allowed', 'e2e-app-hmac']);
  assert.match(await page.locator('#sig-base').textContent(), /keyid="e2e-app-hmac";alg="hmac-sha256"/);
  await page.getByLabel('API key', { exact: true }).selectOption('generated');
  assert.deepEqual(outcome(await runBoth(page, verifyBoth, BOTH)), refused('key_mismatch'));

  // Without a signature, the API key still passes with a changed body: it protects no content.
  await page.getByLabel('Signature', { exact: true }).selectOption('');
  assert.deepEqual(outcome(await runBoth(page, verifyBoth, BOTH)), { browser: ['200', 'allowed'], gateway: ['200', 'allowed'] });
  assert.deepEqual(outcome(await tamper('Change the body')), { browser: ['200', 'allowed'], gateway: ['200', 'allowed'] });
  // A demo key without the write scope: both refuse with 403.
  await page.getByLabel('API key', { exact: true }).selectOption('demo-reader');
  assert.deepEqual(outcome(await runBoth(page, verifyBoth, BOTH)), { browser: ['403', 'scope_missing'], gateway: ['403', 'scope_missing'] });

  assert.deepEqual(await lowContrast(page, 'label, legend, button, .hint, dt, dd, mark, .good, .bad, .warn, summary, p, code, pre'), []);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('demo page: a Standard Webhooks delivery, v1 and v1a, on both sides, tampered five ways', { timeout: 90_000 }, async () => {
  const page = await openDemo(browser.context, gw.url);
  await page.getByText(/^Valid key set: revision 1/).waitFor({ timeout: 5_000 });
  const WH = ['wh-browser', 'wh-gateway'];
  const WT = ['wh-tamper-browser', 'wh-tamper-gateway'];
  for (const scheme of ['v1', 'v1a']) {
    await page.getByLabel('Scheme').selectOption(scheme);
    await page.getByRole('button', { name: 'Make a webhook key' }).click();
    const key = await page.getByLabel("The sender's key (shown once)").inputValue();
    const entry = JSON.parse(await page.locator('#wh-entry').textContent());
    if (scheme === 'v1') {
      assert.match(key, /^whsec_[A-Za-z0-9+/]{43}=$/);
      assert.deepEqual(entry.webhook, { secret: key });
    } else {
      assert.match(key, /^whsk_/);
      assert.match(entry.webhook.public_key, /^whpk_[A-Za-z0-9+/]{43}=$/);
      assert.ok(!JSON.stringify(entry).includes(key.slice(5)), 'the entry holds only the public key');
    }
    await page.getByRole('button', { name: 'Add the key and a /hooks/demo route to the key set' }).click();
    const doc = JSON.parse(await page.getByLabel('Key set JSON').inputValue());
    assert.deepEqual(doc.routes[0], { methods: ['POST'], path: '/hooks/demo', webhook_keys: ['demo-hooks'], scopes: ['events:write'] });
    await act(page, page.getByRole('button', { name: 'Sign and push to the gateway' }));
    await page.getByText(/^Accepted: the gateway now serves revision \d+/).waitFor();

    const r = await runBoth(page, page.getByRole('button', { name: 'Sign and deliver' }), WH);
    assert.deepEqual(outcome(r), { browser: ['200', 'allowed'], gateway: ['200', 'allowed'] }, scheme);
    assert.deepEqual([r.browser['key-id'], r.gateway['key-id']], ['demo-hooks', 'demo-hooks']);
    const parts = await page.$$eval('#wh-content mark', (ms) => ms.map((m) => [m.dataset.part, m.textContent]));
    assert.deepEqual(parts.map(([p]) => p), ['id', 'timestamp', 'body']);
    assert.match(parts[0][1], /^msg_[A-Za-z0-9]{27}$/);
    assert.equal(parts[2][1], await page.getByLabel('Delivery body').inputValue());
    const sig = await page.$$eval('#wh-headers dd', (dds) => dds.map((d) => d.textContent));
    assert.match(sig[2], scheme === 'v1' ? /^v1,[A-Za-z0-9+/]{43}=$/ : /^v1a,[A-Za-z0-9+/]{86}==$/);
  }
  await shot(page, '09-webhook');

  const tamper = (name) => runBoth(page, page.getByRole('button', { name, exact: true }), WT);
  const refused = (reason) => ({ browser: ['401', reason], gateway: ['401', reason] });
  assert.deepEqual(outcome(await tamper('Change a body byte')), refused('signature_invalid'));
  assert.deepEqual(outcome(await tamper('Signed 10 minutes ago')), refused('signature_too_old'));
  assert.deepEqual(outcome(await tamper('Send it again')), refused('nonce_replayed'));
  assert.deepEqual(outcome(await tamper('Sign with another key')), refused('signature_invalid'));
  assert.deepEqual(outcome(await tamper('An id with a dot')), refused('malformed_credentials'));
  assert.match(await page.locator('#wh-what').textContent(), /a dot makes id\.timestamp\.body ambiguous/);
  // An API key on the webhook route is not examined there.
  const withKey = await fetch(`${gw.url}/hooks/demo`, { method: 'POST', headers: { authorization: `Bearer ${DEMO.reader}` }, body: '{}' });
  assert.equal((await withKey.json()).error, 'signature_required');
  await shot(page, '10-webhook-tampered');
  assert.deepEqual(await lowContrast(page, '#wh-h ~ *, #wh-content mark, #wh-headers dd'), []);
  assert.deepEqual(page.errors, []);
  await page.close();
});
