import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary } from '../helpers/servers.js';
import { startHarness, type Harness } from './harness.js';

/**
 * `/docs` as a newcomer opens it: in Debian's chromium, without a token, Swagger UI renders the
 * operations and the MQTT contract; "Try it out" without authorizing answers 401; after pressing
 * Authorize and pasting a token, the same call answers 200.
 */
const bin = requireBinary('chromium', 'chromium');

describe.skipIf(bin.skip)(`/docs in a browser ${bin.skip ?? ''}`, () => {
  let h: Harness;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    h = await startHarness();
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(h.app.server.address() as { port: number }).port}`;
    browser = await chromium.launch({
      executablePath: bin.path ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('renders the operations and the MQTT contract without a token; Authorize makes Try it out work', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${base}/docs`);
    await page.waitForSelector('.opblock-summary', { timeout: 30_000 });
    expect(await page.locator('.opblock').count()).toBeGreaterThan(10);
    const body = await page.textContent('body');
    expect(body).not.toContain('Failed to load API definition');
    expect(body).toContain('MQTT contract');
    expect(body).toContain('devices/{id}/telemetry');

    const tryGetSites = async () => {
      const op = page.locator('#operations-sites-get_api_sites');
      if (!(await op.locator('.opblock-body').isVisible())) await op.locator('.opblock-summary').first().click();
      const tryIt = op.locator('button.try-out__btn');
      if ((await tryIt.textContent())?.includes('Try it out')) await tryIt.click();
      await op.locator('button.execute').click();
      const status = op.locator('.responses-table.live-responses-table .response .response-col_status').first();
      await status.waitFor({ timeout: 15_000 });
      const code = (await status.textContent())?.trim().slice(0, 3);
      await op.locator('button.btn-clear').click();
      return code;
    };
    expect(await tryGetSites()).toBe('401');

    await page.locator('.auth-wrapper button.authorize').click();
    await page.locator('.modal-ux input[type="text"], .modal-ux input[type="password"]').first().fill(h.tokens.viewer);
    await page.locator('.modal-ux .auth-btn-wrapper button.authorize').click();
    await page.locator('.modal-ux button.btn-done').click();
    expect(await tryGetSites()).toBe('200');
    expect(problems).toEqual([]);
  }, 90_000);
});
