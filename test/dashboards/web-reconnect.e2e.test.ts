import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWeb } from '../../dashboards/web/build.js';
import { apiClient, startAnju, type AnjuProcess } from '../helpers/anju-process.js';
import { requireBinary } from '../helpers/servers.js';

/**
 * A control room stays live across a restart of the platform: the page shows the stream is down
 * while the server is away, reconnects by itself (EventSource retry, Last-Event-ID) when it is back
 * on the same address, and a fire raised after the restart turns its building critical — with no
 * reload and no new log-in.
 */

const bin = requireBinary('chromium', 'chromium');
const ADMIN = 'web-reconnect-admin-token-0123456789';
const DEVICE = 'chundu-b2-sd-reconnect';

describe.skipIf(bin.skip !== undefined)(`control room across a restart${bin.skip ? ` (skipped: ${bin.skip})` : ''}`, () => {
  let dataDir: string;
  let anju: AnjuProcess | undefined;
  let browser: Browser;
  let page: Page;
  let secret: string;
  let httpPort: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'anju-web-reconnect-'));
    const [, started] = await Promise.all([buildWeb(), startAnju('all', { ANJU_DATA_DIR: dataDir, ANJU_SIM: '0', ANJU_ADMIN_TOKEN: ADMIN })]);
    anju = started;
    httpPort = new URL(anju.http).port;
    const created = await apiClient(anju.http, ADMIN)<{ secret: string }>('POST', '/api/devices', { id: DEVICE, kind: 'smoke_detector', site: 'chundu', building: 'b2' });
    expect(created.status).toBe(201);
    secret = created.body.secret;
    browser = await chromium.launch({
      executablePath: bin.path ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await (await browser.newContext({ locale: 'en-US' })).newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await anju?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('shows the stream down during the outage, reconnects, and turns b2 critical for a fire raised after the restart', async () => {
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`http://127.0.0.1:${httpPort}/`);
    await page.fill('#login-token', ADMIN);
    await page.press('#login-token', 'Enter');
    await page.waitForSelector('.tile[data-building="b2"]');
    await page.waitForSelector('#live-indicator[data-state="open"]');

    expect(await anju?.stop()).toBe(0);
    anju = undefined;
    await page.waitForSelector('#live-indicator:not([data-state="open"])', { timeout: 10_000 });

    anju = await startAnju('all', { ANJU_DATA_DIR: dataDir, ANJU_SIM: '0', ANJU_ADMIN_TOKEN: ADMIN, ANJU_HTTP_PORT: httpPort });
    const device = await mqtt.connectAsync(anju.mqtt, { protocolVersion: 4, clientId: DEVICE, username: DEVICE, password: secret, reconnectPeriod: 0 });
    await device.publishAsync(`devices/${DEVICE}/telemetry`, JSON.stringify({ smoke: 0.6, temperature: 31, alarm: true, seq: 1 }), { qos: 1 });
    await device.endAsync();

    // EventSource retries every 3 s (the stream's `retry:`); the page then replays what it missed.
    await page.waitForSelector('#live-indicator[data-state="open"]', { timeout: 20_000 });
    await page.waitForSelector('.tile[data-building="b2"][data-severity="critical"]', { timeout: 10_000 });
    expect(await page.textContent('.tile[data-building="b2"]')).toMatch(/Critical ×1/); // the fire; its clean disconnect is no alarm
    await page.waitForSelector('li.incident[data-hazard="fire"][data-status="active_unack"]');
    // Still signed in: no log-in form came back, and no script error happened along the way.
    expect(await page.$('#login-token')).toBeNull();
    expect(pageErrors).toEqual([]);
  }, 90_000);
});
