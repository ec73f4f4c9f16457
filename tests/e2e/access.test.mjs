// The demo page without a mouse and at phone width: every step reachable and operable from
// the keyboard with a visible focus, and at 390 px nothing scrolls sideways or is cut off.
// Screenshots go to tests/e2e/screenshots/ (gitignored).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT } from '../js/helpers.mjs';
import { startGateway } from './server.mjs';
import { SHOTS, act, launch, openDemo, outcome, runBoth, shot, sidewaysOverflow, tabTo } from './page.mjs';

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

const BOTH = ['browser-decision', 'gateway-decision'];
const TAMPER = ['tamper-browser', 'tamper-gateway'];
const focused = (page) => page.evaluate(() => document.activeElement?.id);
/** The focused element's outline, and whether its colour has 3:1 contrast against white. */
const focusRing = (page) => page.evaluate(() => {
  const s = getComputedStyle(document.activeElement);
  const [r, g, b] = s.outlineColor.match(/[\d.]+/g).map((v) => {
    const x = Number(v) / 255;
    return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
  });
  const ratio = 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05);
  return `${s.outlineStyle} ${s.outlineWidth}${ratio >= 3 ? '' : ` low contrast ${ratio.toFixed(2)}`}`;
});

test('keyboard only: every step reachable and operable, focus visible', { timeout: 60_000 }, async () => {
  let page = await openDemo(browser.context, gw.url);
  // The skip link is the first stop and moves focus to step 1.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to step 1');
  await page.keyboard.press('Enter');
  assert.equal(await focused(page), 'gen-h');

  // A key set error is reachable from the editor and selects the bad value.
  await tabTo(page, 'ks-editor');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('{"keygate": 1, "revision": 0, "keys": []}');
  await page.locator('#ks-result li[data-path="$.revision"]').waitFor();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), '$.revision');
  assert.equal(await focusRing(page), 'solid 3px');
  await page.keyboard.press('Enter');
  assert.equal(await page.locator('#ks-editor').evaluate((t) => t.value.slice(t.selectionStart, t.selectionEnd)), '"revision": 0');
  await page.close();

  page = await openDemo(browser.context, gw.url);
  await tabTo(page, 'gen-prefix');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('kg_kbd');
  await page.keyboard.press('Enter'); // submits the generate form
  await page.locator('#gen-out:not([hidden])').waitFor();
  assert.equal(await focused(page), 'gen-key', 'focus moves to the new key');
  await tabTo(page, 'gen-add');
  assert.equal(await focusRing(page), 'solid 3px');
  await page.keyboard.press('Enter');
  await page.getByText('Valid key set: revision 1, 6 keys').waitFor();

  await tabTo(page, 'ks-push');
  await act(page, page.locator('#ks-push'), () => page.keyboard.press('Enter'));
  await page.getByText(/^Accepted: the gateway now serves revision \d+ \(6 keys\)\.$/).waitFor();

  await tabTo(page, 'req-sign');
  await act(page, page.locator('#req-sign'), () => page.keyboard.press('Space'));
  await page.locator('#sig-base').waitFor();
  await tabTo(page, 'verify-both');
  let r = await runBoth(page, page.locator('#verify-both'), BOTH, () => page.keyboard.press('Enter'));
  assert.deepEqual(outcome(r), { browser: ['200', 'allowed'], gateway: ['200', 'allowed'] });
  await tabTo(page, 'tamper-body');
  assert.equal(await focusRing(page), 'solid 3px');
  await page.locator('section', { has: page.locator('.tampers') }).screenshot({ path: join(SHOTS, '07-keyboard-focus.png') });
  r = await runBoth(page, page.locator('#tamper-body'), TAMPER, () => page.keyboard.press('Enter'));
  assert.deepEqual(outcome(r), { browser: ['401', 'digest_mismatch'], gateway: ['401', 'digest_mismatch'] });

  // Selects by arrow keys: the HMAC signature without the API key.
  await tabTo(page, 'req-sig', { shift: true });
  await page.keyboard.press('ArrowUp');
  assert.equal(await page.locator('#req-sig').inputValue(), 'hmac-sha256');
  await tabTo(page, 'req-key', { shift: true });
  await page.keyboard.press('Home');
  assert.equal(await page.locator('#req-key').inputValue(), '');
  await tabTo(page, 'verify-both');
  r = await runBoth(page, page.locator('#verify-both'), BOTH, () => page.keyboard.press('Enter'));
  assert.match(r.browser['key-id'], /^kg-kbd-[0-9A-Za-z]{8}-hmac$/);
  assert.equal(r.gateway['key-id'], r.browser['key-id']);
  assert.deepEqual(outcome(r), { browser: ['200', 'allowed'], gateway: ['200', 'allowed'] });
  await shot(page, '07-keyboard');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('phone width (390 px): the whole walk fits, nothing scrolls sideways', { timeout: 60_000 }, async () => {
  const page = await openDemo(browser.context, gw.url);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole('button', { name: 'Generate keys' }).click();
  await page.getByRole('button', { name: 'Add the entries to the key set' }).click();
  await act(page, page.getByRole('button', { name: 'Sign and push to the gateway' }));
  await page.getByText(/^Accepted: the gateway now serves revision/).waitFor();
  await act(page, page.getByRole('button', { name: 'Sign the request' }));
  await runBoth(page, page.getByRole('button', { name: 'Verify in the browser and at the gateway' }), BOTH);
  const r = await runBoth(page, page.getByRole('button', { name: 'Change the body' }), TAMPER);
  assert.deepEqual(outcome(r), { browser: ['401', 'digest_mismatch'], gateway: ['401', 'digest_mismatch'] });
  await shot(page, '08-phone');
  for (const [i, section] of (await page.locator('section').all()).entries()) {
    await section.screenshot({ path: join(SHOTS, `08-phone-step${i + 1}.png`) });
  }

  assert.equal(await sidewaysOverflow(page), 0, 'the page scrolls sideways at 390 px');
  // Long tokens (keys, digests, signatures) wrap instead of being cut off or scrolled.
  const clipped = await page.$$eval('pre.http, pre.base, p, li, dd, label, legend, button', (nodes) =>
    nodes.filter((n) => n.offsetParent && n.scrollWidth > n.clientWidth + 1)
      .map((n) => `${n.tagName.toLowerCase()}#${n.id}.${n.className}: ${n.scrollWidth} > ${n.clientWidth}`));
  assert.deepEqual(clipped, []);
  const outside = await page.$$eval('button, input, select, textarea', (nodes) =>
    nodes.filter((n) => n.offsetParent).filter((n) => {
      const b = n.getBoundingClientRect();
      return b.left < 0 || b.right > document.documentElement.clientWidth;
    }).map((n) => n.id || n.textContent));
  assert.deepEqual(outside, []);
  // The two decisions stack at this width.
  const [a, b] = await page.$$eval('#tamper-browser, #tamper-gateway', (ns) => ns.map((n) => n.getBoundingClientRect().toJSON()));
  assert.ok(b.top >= a.bottom, 'the decision panels stack');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('the webhook step, keyboard only at phone width', { timeout: 60_000 }, async () => {
  const page = await openDemo(browser.context, gw.url);
  await page.setViewportSize({ width: 390, height: 844 });
  await tabTo(page, 'wh-scheme', { max: 120 });
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.locator('#wh-scheme').inputValue(), 'v1a');
  await tabTo(page, 'wh-make');
  assert.equal(await focusRing(page), 'solid 3px');
  await page.keyboard.press('Enter');
  assert.equal(await focused(page), 'wh-key', 'focus moves to the new key');
  await tabTo(page, 'wh-add');
  await page.keyboard.press('Enter');
  await tabTo(page, 'ks-push', { max: 120, shift: true });
  await act(page, page.locator('#ks-push'), () => page.keyboard.press('Enter'));
  await page.getByText(/^Accepted: the gateway now serves revision/).waitFor();
  await tabTo(page, 'wh-send', { max: 120 });
  const r = await runBoth(page, page.locator('#wh-send'), ['wh-browser', 'wh-gateway'], () => page.keyboard.press('Enter'));
  assert.deepEqual(outcome(r), { browser: ['200', 'allowed'], gateway: ['200', 'allowed'] });
  await tabTo(page, 'wh-tamper-body');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Change a body byte');
  const t = await runBoth(page, page.locator('#wh-tamper-body'), ['wh-tamper-browser', 'wh-tamper-gateway'], () => page.keyboard.press('Enter'));
  assert.deepEqual(outcome(t), { browser: ['401', 'signature_invalid'], gateway: ['401', 'signature_invalid'] });
  await page.locator('section', { has: page.locator('#wh-send') }).screenshot({ path: join(SHOTS, '11-webhook-phone.png') });
  assert.equal(await sidewaysOverflow(page), 0, 'the page scrolls sideways at 390 px');
  const clipped = await page.$$eval('#wh-h ~ * pre, #wh-h ~ * dd, #wh-h ~ * button, #wh-h ~ * label', (nodes) =>
    nodes.filter((n) => n.offsetParent && n.scrollWidth > n.clientWidth + 1).map((n) => `${n.tagName}#${n.id}`));
  assert.deepEqual(clipped, []);
  assert.deepEqual(page.errors, []);
  await page.close();
});
