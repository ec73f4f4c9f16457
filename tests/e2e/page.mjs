// Browser helpers for the demo page tests: headless Debian Chromium through playwright-core
// (a fresh profile per launch), and readers for what the page shows.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT } from '../js/helpers.mjs';

export const SHOTS = join(ROOT, 'tests/e2e/screenshots');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** A persistent context on a temporary profile; close() also removes the profile. */
export async function launch(viewport = { width: 1200, height: 900 }) {
  mkdirSync(SHOTS, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), 'keygate-chromium-'));
  const removeProfile = () => rmSync(profile, { recursive: true, force: true });
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport,
    });
  } catch (e) {
    removeProfile();
    throw e;
  }
  return {
    context,
    close: async () => {
      try {
        await context.close();
      } finally {
        removeProfile();
      }
    },
  };
}

/** Opens the demo page and waits until its wasm module is loaded; collects page errors. */
export async function openDemo(context, url) {
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  // Chromium logs every 4xx answer as a console error; the gateway's refusals are expected.
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) {
      page.errors.push(m.text());
    }
  });
  await page.goto(`${url}/`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
  return page;
}

export const shot = (page, name, options = {}) =>
  page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true, ...options });

/** The fields shown in a decision panel, by data-field (absent fields are undefined). */
export async function panel(page, id) {
  return page.$$eval(`#${id} dd[data-field]`, (dds) =>
    Object.fromEntries(dds.map((dd) => [dd.dataset.field, dd.textContent.trim()])),
  );
}

/**
 * Triggers a page action (a click on `button`, or `trigger`, e.g. a key press) and waits until
 * the button's section has finished it: the page counts finished runs in data-runs.
 */
export async function act(page, button, trigger = () => button.click()) {
  const section = await button.evaluateHandle((b) => b.closest('section'));
  const before = await section.evaluate((s) => Number(s.dataset.runs ?? 0));
  await trigger();
  await page.waitForFunction(([s, n]) => Number(s.dataset.runs ?? 0) > n, [section, before], { timeout: 20_000 });
  await section.dispose();
}

/** Runs an action and reads both decision panels it fills. */
export async function runBoth(page, button, [browserId, gatewayId], trigger) {
  await act(page, button, trigger);
  return { browser: await panel(page, browserId), gateway: await panel(page, gatewayId) };
}

/** [status, reason] of both sides, for compact assertions. */
export const outcome = (r) => ({ browser: [r.browser.status, r.browser.reason], gateway: [r.gateway.status, r.gateway.reason] });

/** Presses Tab until the element with `id` has focus; fails after `max` presses. */
export async function tabTo(page, id, { max = 60, shift = false } = {}) {
  for (let i = 0; i < max; i += 1) {
    if ((await page.evaluate(() => document.activeElement?.id)) === id) return i;
    await page.keyboard.press(shift ? 'Shift+Tab' : 'Tab');
  }
  assert.fail(`#${id} was not reached with ${max} presses of Tab`);
}

/** Horizontal overflow of the page in CSS pixels (0 when nothing scrolls sideways). */
export const sidewaysOverflow = (page) =>
  page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

/**
 * WCAG contrast ratios of the text of every visible element matching `selector` against its
 * nearest opaque background; returns the ones under `min`.
 */
export async function lowContrast(page, selector, min = 4.5) {
  return page.$$eval(selector, (nodes, min) => {
    const rgb = (s) => (s.match(/[\d.]+/g) ?? []).map(Number);
    const lum = ([r, g, b]) => {
      const c = [r, g, b].map((v) => {
        const x = v / 255;
        return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    };
    const background = (n) => {
      for (let e = n; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const bad = [];
    for (const n of nodes) {
      if (!n.offsetParent || !n.textContent.trim()) continue;
      const fg = lum(rgb(getComputedStyle(n).color).slice(0, 3));
      const bg = lum(background(n));
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      if (ratio < min) bad.push(`${n.tagName.toLowerCase()}${n.id ? `#${n.id}` : ''}.${n.className} "${n.textContent.trim().slice(0, 30)}": ${ratio.toFixed(2)}`);
    }
    return bad;
  }, min);
}
