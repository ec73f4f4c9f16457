// Layer 5: `wrangler dev` (workerd) serving the gateway and the demo page, driven by headless
// Debian Chromium through playwright-core; plus the README's curl quick start over HTTP.
// Screenshots go to tests/e2e/screenshots/ (gitignored).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { DEMO, ROOT } from '../js/helpers.mjs';
import { startGateway } from './server.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = join(ROOT, 'tests/e2e/screenshots');
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

let gw;
let context;
let profile;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  gw = await startGateway(ROOT);
  profile = mkdtempSync(join(tmpdir(), 'keygate-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1200, height: 900 },
  });
});

after(async () => {
  await context?.close();
  await gw?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
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

/** The fields shown in a decision panel, by name (absent fields are undefined). */
async function decision(page, id) {
  const fields = await page.$$eval(`#${id} dd[data-field]`, (dds) =>
    Object.fromEntries(dds.map((dd) => [dd.dataset.field, dd.textContent.trim()])),
  );
  return { decision: fields.decision, status: fields.status, reason: fields.reason, keyId: fields['key-id'], time: fields.time };
}

async function verifyBoth(page) {
  await page.getByRole('button', { name: 'Verify in the browser (wasm)' }).click();
  await page.locator('#browser-decision dd[data-field="decision"]').waitFor();
  await page.getByRole('button', { name: 'Send to the gateway' }).click();
  await page.locator('#gateway-decision dd[data-field="round-trip"]').waitFor();
  const result = { browser: await decision(page, 'browser-decision'), gateway: await decision(page, 'gateway-decision') };
  return result;
}

test('demo page: generate a key, add it to the key set, verify in the browser and at the gateway', { timeout: 90_000 }, async () => {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${gw.url}/`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
  await page.screenshot({ path: join(SHOTS, '01-loaded.png'), fullPage: true });
  await assert.doesNotReject(page.getByText('Valid key set: revision 1, 4 keys').waitFor({ timeout: 5_000 }));
  // Lints of the demo set (long-lived and never-expiring keys) are shown, collapsed.
  await page.getByText('4 lint warnings (the set still loads)').click();
  assert.ok((await page.locator('#ks-result ul.warnings li').allTextContents()).some((w) => w.startsWith('$.keys[3] ')));

  // 1. Generate an API key in the browser (wasm + WebCrypto).
  await page.getByLabel('Prefix').fill('kg_e2e');
  await page.getByLabel('Key id (optional)').fill('e2e-key');
  await page.getByLabel('Scopes (comma separated)').fill('orders:read');
  await page.getByRole('button', { name: 'Generate key' }).click();
  const key = await page.getByLabel('API key (shown once; the key set stores only its digest)').inputValue();
  assert.match(key, /^kg_e2e_[0-9A-Za-z]{49}$/);
  const entry = JSON.parse(await page.locator('#gen-entry').textContent());
  assert.equal(entry.id, 'e2e-key');
  assert.match(entry.api_key_hash, /^sha256:[A-Za-z0-9_-]{43}$/);
  assert.ok(!JSON.stringify(entry).includes(key), 'the entry holds only the digest');

  // 2. Put its entry into the key set; live validation names bad values by JSON path.
  await page.getByRole('button', { name: 'Add entry to the key set' }).click();
  await page.getByText('Valid key set: revision 1, 5 keys').waitFor();
  const editor = page.getByLabel('Key set JSON');
  const good = await editor.inputValue();
  assert.ok(good.includes('"e2e-key"'));
  await editor.fill(good.replace('"e2e-key"', '"e2e key"').replace('"revision": 1', '"revision": 0'));
  await page.locator('#ks-result li').first().waitFor();
  const problems = await page.locator('#ks-result li').allTextContents();
  assert.equal(problems.length, 2, problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith('$.revision ')), problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith('$.keys[4].id ')), problems.join('\n'));
  assert.equal(await editor.getAttribute('aria-invalid'), 'true');
  await page.locator('section', { has: editor }).screenshot({ path: join(SHOTS, '02-keyset-errors.png') });
  await editor.fill(good);
  await page.getByText('Valid key set: revision 1, 5 keys').waitFor();

  // 3+4. The generated key: allowed by the page's key set, unknown to the gateway's demo set.
  assert.equal(await page.getByLabel('Credential').inputValue(), 'generated');
  assert.ok((await page.getByLabel('Headers (one Name: value per line)').inputValue()).includes(`Authorization: Bearer ${key}`));
  let r = await verifyBoth(page);
  assert.deepEqual({ ...r.browser, time: undefined }, { decision: 'ALLOWED', status: '200', reason: 'allowed', keyId: 'e2e-key', time: undefined });
  assert.match(r.browser.time, /^\d+(\.\d)? µs \(mean of 200 runs\)$/);
  assert.deepEqual(r.gateway, { decision: 'REFUSED', status: '401', reason: 'unknown_key', keyId: undefined, time: undefined });
  await page.screenshot({ path: join(SHOTS, '03-generated-key.png'), fullPage: true });

  // A demo key: both sides allow it; a write it lacks the scope for: both refuse with 403.
  await page.getByLabel('Credential').selectOption('demo-reader');
  r = await verifyBoth(page);
  assert.equal(r.browser.decision, 'ALLOWED');
  assert.deepEqual(r.gateway, { decision: 'ALLOWED', status: '200', reason: 'allowed', keyId: 'demo-reader', time: undefined });
  await page.getByLabel('Method').selectOption('POST');
  r = await verifyBoth(page);
  assert.deepEqual([r.browser.status, r.browser.reason], ['403', 'scope_missing']);
  assert.deepEqual([r.gateway.status, r.gateway.reason], ['403', 'scope_missing']);
  await page.locator('section', { has: page.locator('#browser-decision') }).screenshot({ path: join(SHOTS, '04-demo-key-403.png') });

  await page.getByLabel('Credential').selectOption('');
  r = await verifyBoth(page);
  assert.deepEqual([r.browser.reason, r.gateway.reason], ['missing_credentials', 'missing_credentials']);

  // Phone width: everything stays reachable and readable.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(SHOTS, '05-phone.png'), fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px at phone width`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('demo page is usable from the keyboard', { timeout: 30_000 }, async () => {
  const page = await context.newPage();
  await page.goto(`${gw.url}/`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.getByLabel('Prefix').focus();
  await page.keyboard.press('Enter'); // submits the generate form
  await page.locator('#gen-out:not([hidden])').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'gen-key', 'focus moves to the new key');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'gen-add');
  await page.keyboard.press('Enter');
  await page.getByText('Valid key set: revision 1, 5 keys').waitFor();
  await page.close();
});
