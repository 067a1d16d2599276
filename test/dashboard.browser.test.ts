/// <reference lib="dom" />
/**
 * The dashboard in a real browser (playwright-core driving Debian's Chromium): the page asks for
 * the admin key, every panel shows the seeded store's data, a request's page explains its
 * decision, a model whose breaker opens reads "cooling down" within the freshness the issue asks
 * (5 s), keyboard navigation reaches the request links, and axe-core finds no serious or critical
 * violation. Screenshots of each panel go to test-output/dashboard/ (not committed). Without
 * Chromium these tests are skipped with a notice; CI (ARBITER_REQUIRE_SERVICES=1) requires it.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildSnapshot, reportHtml } from '../src/server/index.js';
import { ADMIN_KEY, startDashboardFixture, type DashboardFixture } from './dashboard-fixture.js';
import { SEED } from './helpers.js';
import { CHROMIUM_ARGS, chromiumPath } from './services.js';

const chrome = chromiumPath();
const SHOTS = join(process.cwd(), 'test-output', 'dashboard');
/** The freshness bound: a change shows within 5 s (the page polls every 2 s). */
const FRESH_MS = 5000;
const PANELS = ['models', 'traffic', 'latency', 'cost', 'quality', 'experiments', 'comparisons', 'requests'];

describe.skipIf(!chrome)('dashboard in Chromium', () => {
  let fx: DashboardFixture;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    fx = await startDashboardFixture({ requests: 40, seed: SEED });
    browser = await chromium.launch({ executablePath: chrome!, args: CHROMIUM_ARGS, headless: true });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await fx?.close();
  });

  it('asks for the admin key, refuses a wrong one, then shows every panel with data', async () => {
    await page.goto(`${fx.url}/dashboard`);
    await page.getByLabel('Admin key').fill('not-a-key');
    await page.getByRole('button', { name: 'Open the dashboard' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('refused');
    await page.getByLabel('Admin key').fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Open the dashboard' }).click();
    await page.locator('#models tbody tr').first().waitFor();
    // the key is in session storage only
    expect(await page.evaluate(() => sessionStorage.getItem('arbiter.adminKey'))).toBe(ADMIN_KEY);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);

    const api = (await (
      await fetch(`${fx.url}/dashboard/api/overview?range=24h`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })
    ).json()) as { totals: { requests: number } };
    expect(api.totals.requests).toBeGreaterThanOrEqual(fx.sent.length);
    expect(await page.locator('[data-metric="requests"]').textContent()).toBe(
      api.totals.requests.toLocaleString('en-US'),
    );
    expect(await page.locator('#models tbody tr').count()).toBe(3);
    expect(await page.locator('#models [data-state]').first().textContent()).toBe('healthy');
    // charts drawn (uPlot canvases), tables filled
    for (const id of ['traffic', 'latency', 'cost'])
      expect(await page.locator(`#${id} canvas`).count(), id).toBeGreaterThan(0);
    // spend over time per model, per task and per key (the tokens chart beside them)
    expect(await page.locator('#cost figure canvas').count()).toBe(4);
    expect(await page.locator('#latency table.per-model tbody tr').count()).toBe(3);
    expect(await page.locator('#quality tbody tr').count()).toBeGreaterThan(0);
    expect(await page.locator('#quality tbody').textContent()).toMatch(/\[\d\.\d{3}, \d\.\d{3}\]/);
    expect(await page.locator('#experiments').textContent()).toContain('cheaper-default');
    expect(await page.locator('#comparisons').textContent()).toContain('strong vs fast');
    expect(await page.locator('#requests tbody tr').count()).toBe(Math.min(50, api.totals.requests));
    for (const id of PANELS) await page.locator(`#${id}`).screenshot({ path: join(SHOTS, `${id}.png`) });
  });

  it('opens a request from the list: its decision with the reason, alternatives, calls and feedback', async () => {
    const routed = fx.sent[0]!; // model auto: routed, so it has a decision to explain
    expect(routed.status).toBe(200);
    await page.getByLabel('Request id').fill(routed.id);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForFunction((id) => {
      const links = document.querySelectorAll('#requests tbody a');
      return links.length === 1 && links[0]!.textContent === id;
    }, routed.id);
    await page.locator('#requests tbody a').first().click();
    await page.locator('#request .decision-reason').waitFor();
    const text = (await page.locator('#request').textContent())!;
    expect(text).toContain(routed.id);
    expect(text).toContain('Predicted against actual');
    expect(text).toContain(routed.model);
    expect(await page.locator('#request table').first().locator('tbody tr').count()).toBeGreaterThan(0);
    await page.locator('#request').screenshot({ path: join(SHOTS, 'request.png') });
    await page.getByRole('button', { name: 'Back to the dashboard' }).click();
    await page.locator('#models').waitFor();
  });

  it('turns a model whose breaker opens to "cooling down" within 5 s, without a reload', async () => {
    fx.setFailing(true);
    for (let i = 0; i < 3; i++) await fx.send('Which planet has the longest day?', 'flaky');
    const row = page.locator('#models tr[data-model="flaky"] [data-state]');
    await row.filter({ hasText: 'cooling down' }).waitFor({ timeout: FRESH_MS });
    expect(await page.locator('#models tr[data-model="flaky"]').textContent()).toContain('probe in');
    fx.setFailing(false);
  });

  it('is reachable by keyboard: Tab reaches the panel links and the controls', async () => {
    await page.locator('body').focus();
    const reached = new Set<string>();
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      const tag = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        return el ? `${el.tagName}:${el.getAttribute('href') ?? el.getAttribute('aria-label') ?? el.textContent}` : '';
      });
      reached.add(tag);
    }
    expect([...reached].some((t) => t.startsWith('A:#models'))).toBe(true);
    expect([...reached].some((t) => t.startsWith('SELECT'))).toBe(true);
  });

  it('a report file (arbiter report) shows the same panels from disk, with no server and no key', async () => {
    const snapshot = await buildSnapshot({
      store: fx.engine.store!.sql,
      models: fx.engine.config.models,
      since: Date.now() - 86_400_000,
      until: Date.now(),
      experiments: fx.engine.experiments!,
    });
    const file = join(SHOTS, 'report.html');
    writeFileSync(file, reportHtml(snapshot));
    const report = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const outside: string[] = [];
    report.on('request', (r) => void (r.url().startsWith('file:') || outside.push(r.url())));
    await report.goto(pathToFileURL(file).href);
    await report.locator('#traffic canvas').first().waitFor();
    expect(await report.locator('[data-metric="requests"]').textContent()).toBe(
      snapshot.overview.totals.requests.toLocaleString('en-US'),
    );
    expect(await report.locator('#models').textContent()).toContain('a report has none');
    await report.locator('#requests tbody a').first().click();
    await report.locator('#request .decision-reason').waitFor();
    expect(outside).toEqual([]);
    await report.close();
  });

  it('has no serious or critical accessibility violation (axe-core)', async () => {
    const require = createRequire(import.meta.url);
    await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
    const result = await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run: (o: unknown) => Promise<{ violations: unknown[] }> } }).axe;
      return axe.run({ resultTypes: ['violations'] });
    });
    const serious = (result.violations as Array<{ id: string; impact: string; nodes: unknown[] }>).filter(
      (v) => v.impact === 'serious' || v.impact === 'critical',
    );
    expect(serious.map((v) => `${v.id} (${v.impact}, ${v.nodes.length} nodes)`)).toEqual([]);
  });

  it("the README's screenshot script runs (the offline demo through the gateway, photographed)", async () => {
    const out = join(SHOTS, 'readme.png');
    const { stdout } = await promisify(execFile)(process.execPath, ['scripts/dashboard-screenshot.mjs', out], {
      env: { ...process.env, ARBITER_CHROMIUM: chrome! },
    });
    expect(stdout).toContain(out);
    const png = readFileSync(out);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(1280); // the width the README's image has
  }, 120_000);
});
