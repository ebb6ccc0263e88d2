import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWeb } from '../../dashboards/web/build.js';
import { run } from '../cli/cli-helpers.js';
import { apiClient, startAnju, waitFor, type AnjuProcess } from '../helpers/anju-process.js';
import { waitForProgress } from '../helpers/progress.js';
import { requireBinary } from '../helpers/servers.js';

/**
 * The first start as a new user sees it: `anju all` on an empty data directory, default settings.
 * The demo community's recent history is written in the background, so within about a minute (on an
 * idle machine; here the test follows the history's progress rather than a clock) the device page
 * charts a day of readings, the energy page compares with yesterday, and the savings report has
 * figures. The live registers continue the backfilled ones (no cliff), and `anju demo fire b3`
 * plays a fire on the running demo without a credentials file.
 */
const bin = requireBinary('chromium', 'chromium');
const ADMIN = 'first-start-admin-token-0123456789';
const DAY = 86_400_000;

type Series = { items: Array<{ ts: string; values: Record<string, number | boolean | null> }> };

describe.skipIf(bin.skip)(`a first start shows a living community ${bin.skip ?? ''}`, () => {
  let dataDir: string;
  let anju: AnjuProcess;
  let browser: Browser;
  let api: ReturnType<typeof apiClient>;
  let started: number;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'anju-first-start-'));
    started = Date.now();
    const [, a] = await Promise.all([buildWeb(), startAnju('all', { ANJU_DATA_DIR: dataDir, ANJU_ADMIN_TOKEN: ADMIN, ANJU_LOG_LEVEL: 'info' }, 120_000)]);
    anju = a;
    api = apiClient(anju.http, ADMIN);
    browser = await chromium.launch({
      executablePath: bin.path ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await anju?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('has a day of history on the device page, yesterday on the energy page and figures in the savings report', async () => {
    const plan = JSON.parse(await readFile(join(dataDir, 'demo-history.json'), 'utf8')) as { origin: number; end: number; retrofits: string };
    expect(plan.end - plan.origin).toBe(400 * DAY);
    expect(plan.retrofits).toMatch(/^led:\d{4}-\d{2}-\d{2},vfd:\d{4}-\d{2}-\d{2}$/);

    // The recent weeks come first: the pump's last 24 h at 15 min (what the device page asks for).
    const dayOfPump = async () => {
      const to = Date.now();
      const r = await api<Series>('GET', `/api/devices/chundu-pm-pump/telemetry?from=${to - DAY}&to=${to}&every=15m&agg=mean`);
      return r.status === 200 ? r.body.items.length : 0;
    };
    // Waited for by its own progress (the backfill logs how many days it has caught up and written
    // every 5 s), not by a clock: a loaded machine makes it slower, only a stall for a minute fails.
    const recentProgress = () => {
      if (/recent history written/.test(anju.output())) return Infinity;
      const last = [...anju.output().matchAll(/"caughtUpDays":(\d+),"writtenDays":(\d+)/g)].at(-1);
      return last ? Number(last[1]) + Number(last[2]) : 0;
    };
    await waitForProgress('recent history', recentProgress, (days) => days === Infinity, { stallMs: 60_000, pollMs: 1_000 });
    const recentAfterS = (Date.now() - started) / 1000;
    expect(await dayOfPump()).toBeGreaterThanOrEqual(90);

    // No cliff: the first live energy reading continues the last backfilled one.
    const energy = await waitFor('live pump readings after the backfilled ones', async () => {
      const r = await api<Series>('GET', `/api/devices/chundu-pm-pump/telemetry?from=${plan.end - DAY / 24}&to=${Date.now() + 60_000}&fields=energy`);
      const items = r.body.items.map((i) => ({ ts: Date.parse(i.ts), energy: i.values.energy as number }));
      const before = items.filter((i) => i.ts < plan.end).at(-1);
      const after = items.find((i) => i.ts >= plan.end);
      return before && after ? { before, after } : undefined;
    }, 120_000);
    expect(energy.after.energy).toBeGreaterThanOrEqual(energy.before.energy);
    // The pump draws at most a few kW: well under 5 kWh between the two readings.
    expect(energy.after.energy - energy.before.energy).toBeLessThan(5);

    const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${anju.http}/`);
    await page.fill('#login-token', ADMIN);
    await page.press('#login-token', 'Enter');
    await page.waitForSelector('.tile[data-building]');

    const telemetry = page.waitForResponse((r) => r.url().includes('/api/devices/chundu-pm-pump/telemetry'));
    await page.goto(`${anju.http}/#/devices/chundu-pm-pump`);
    const charted = (await (await telemetry).json()) as Series;
    expect(charted.items.length).toBeGreaterThanOrEqual(90);
    await page.waitForSelector('.chart[data-field="energy"] canvas');

    await page.click('nav a[href="#/energy"]');
    await page.waitForSelector('[data-series="energy"] canvas');
    await expect.poll(() => page.textContent('[data-series="energy"] [data-total="change"]'), { timeout: 30_000 }).toMatch(/%/);

    await page.click('nav a[href="#/report"]');
    await page.click('.report-form button[type="submit"]');
    await page.waitForSelector('.report-out iframe.report-frame', { timeout: 60_000 });
    const frame = page.frameLocator('.report-out iframe.report-frame');
    await expect.poll(() => frame.locator('body').textContent(), { timeout: 60_000 }).toMatch(/\d[\d,]*(\.\d+)?\s*kWh/);
    expect(problems).toEqual([]);
    console.log(`first start: recent history written ${recentAfterS.toFixed(0)} s after the start, every screen filled ${((Date.now() - started) / 1000).toFixed(0)} s after it (load ${(await import('node:os')).loadavg()[0]?.toFixed(1)})`);
    await context.close();
  }, 15 * 60_000);

  it('anju demo fire b3 plays a fire on the running demo: building 3 raises a fire alarm', async () => {
    const r = await run(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'demo', 'fire', 'b3', '--api', anju.http], {
      PATH: process.env.PATH ?? '', ANJU_ADMIN_TOKEN: ADMIN, ANJU_LOG_LEVEL: 'warn',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/fire:b3 on b3: \d+ demo devices/);
    const alarm = await waitFor('a fire alarm in building 3', async () => {
      const res = await api<{ items: Array<{ building: string; type: string; severity: string }> }>('GET', '/api/alerts?site=chundu&status=active_unack&limit=100');
      return res.body.items.find((a) => a.building === 'b3' && /fire|smoke/.test(a.type));
    }, 180_000);
    expect(alarm.severity).toMatch(/critical|major/);

    const none = await run(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'demo', 'fire', 'b9', '--api', anju.http], { PATH: process.env.PATH ?? '', ANJU_ADMIN_TOKEN: ADMIN });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no_matching_devices/);
  }, 240_000);
});
