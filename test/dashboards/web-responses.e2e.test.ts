import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { chromium, type Browser } from 'playwright-core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { assembleHub } from '../../cli/assemble/index.js';
import { buildWeb } from '../../dashboards/web/build.js';
import { createFleet, pipeBurst, type Fleet } from '../../devices-sim/index.js';
import { assembledNode, silentLogger } from '../helpers/assembled.js';
import { openWatchedPage, type Watched } from '../helpers/browser.js';
import { requireBinary } from '../helpers/servers.js';

/**
 * Acting from the control room: the hub as `anju all` assembles it (embedded broker, ingest, rules,
 * incidents, responder, command dispatcher, API serving the freshly built web UI), the demo's
 * simulated household meter bursting by the simulator's pipe-burst scenario, and Debian's chromium.
 * The burst incident shows the proposal to close the meter's valve with 确认 / 拒绝 for an operator
 * (not for maintenance staff, who may not send commands); the operator confirms, the page follows
 * the command to `succeeded`, the valve closes, the flow drops to zero, the burst clears and the
 * incident leaves the feed once it settles. The burst rule's 30 min hold is shortened through the
 * rules configuration; the 5 min settle is waited out by ticking the incidents at a later instant.
 */

const bin = requireBinary('chromium', 'chromium');
const token = 'web-responses-admin-token-0123456';
const WM = 'e2e-b3-wm-301';
const SHOT = join(fileURLToPath(new URL('../../', import.meta.url)), 'test-results', 'control-room-proposal.png');

describe.skipIf(bin.skip !== undefined)(`confirming a proposed response in headless Chromium${bin.skip ? ` (skipped: ${bin.skip})` : ''}`, () => {
  const node = assembledNode();
  let fleet: Fleet | undefined;
  let browser: Browser | undefined;
  afterEach(async () => {
    await browser?.close();
    await fleet?.stop();
    browser = undefined;
    fleet = undefined;
    await node.cleanup();
  });

  it('an operator confirms closing the valve of a bursting meter; the command succeeds, the flow stops and the incident clears', async () => {
    const [, parts] = await Promise.all([buildWeb(), node.prepare({ ANJU_ADMIN_TOKEN: token })]);
    const { config, db, directory, serviceAccounts, broker, metrics } = parts;
    await db.state.upsertSite({ id: 'e2e', name: '春都花园', timezone: 'Asia/Shanghai' });
    await db.state.upsertBuilding({ id: 'b3', site: 'e2e', name: '3号楼' });
    const meter = await directory.create({
      id: WM, kind: 'water_meter', site: 'e2e', building: 'b3', name: '3-301 户表', location: '301 厨房水表井', purpose: 'household', q3: 2.5, capabilities: ['valve'],
    });
    const hub = node.track(await assembleHub(config, { db, directory, serviceAccounts, broker, logger: silentLogger, metrics }));
    await broker.open();
    await hub.alerts.engine.setRulesConfig({ all: { water_burst: { holdMin: 0.05 } } });
    const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${hub.urls.http}${path}`, {
        method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      expect(res.status, `${method} ${path}`).toBeLessThan(300);
      return (await res.json()) as T;
    };
    const operator = (await api<{ token: string }>('POST', '/api/tokens', { name: '值班调度', role: 'operator' })).token;
    const maintenance = (await api<{ token: string }>('POST', '/api/tokens', { name: '维修班', role: 'maintenance' })).token;

    browser = await chromium.launch({
      executablePath: bin.path ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    const signIn = async (as: string): Promise<Watched> => {
      const context = await browser!.newContext({ locale: 'zh-CN', viewport: { width: 1400, height: 1000 } });
      const watched = await openWatchedPage(context, hub.urls.http!);
      await watched.page.fill('#login-token', as);
      await watched.page.press('#login-token', 'Enter');
      await watched.page.waitForSelector('#live-indicator[data-state="open"]');
      return watched;
    };
    const ops = await signIn(operator);
    const crew = await signIn(maintenance);

    fleet = createFleet(
      { brokerUrl: broker.urls().mqtt!, qos: 1, intervalMs: 300, speed: 1, seed: 7, reconnectMinMs: 50, reconnectMaxMs: 400, connectSpreadMs: 10 },
      { devices: [{ device: directory.get(WM)!, secret: meter.secret }], logger: pino({ level: 'silent' }) },
    );
    await fleet.start();
    fleet.play(pipeBurst(WM, Date.now(), {}));

    const incidentSel = 'li.incident[data-hazard="water"][data-building="b3"]';
    const proposalSel = `${incidentSel} li.proposal[data-proposal-status="proposed"]`;
    await ops.page.waitForSelector(proposalSel, { timeout: 30_000 });
    const incidentId = (await ops.page.getAttribute(incidentSel, 'data-incident-id'))!;
    const proposalText = await ops.page.textContent(proposalSel);
    expect(proposalText).toContain('关闭阀门');
    expect(proposalText).toContain('3-301 户表');
    expect(proposalText).toContain('待确认');
    const confirm = ops.page.locator(`${proposalSel} button[data-action="confirm-proposal"]`);
    expect(await confirm.textContent()).toBe('确认');
    expect(await ops.page.textContent(`${proposalSel} button[data-action="reject-proposal"]`)).toBe('拒绝');
    await ops.page.screenshot({ path: SHOT, fullPage: true });

    // Maintenance staff see the proposal, not the buttons: confirming sends a command (ANJU_COMMAND_ROLE, operator).
    await crew.page.waitForSelector(proposalSel, { timeout: 10_000 });
    expect(await crew.page.$$('[data-action="confirm-proposal"], [data-action="reject-proposal"]')).toHaveLength(0);

    await confirm.click();
    // The command's state follows on the page from the incident stream: confirmed, then succeeded once the valve has travelled.
    const done = `${incidentSel} li.proposal[data-proposal-status="confirmed"][data-command-status="succeeded"]`;
    await ops.page.waitForSelector(done, { timeout: 40_000 });
    expect(await ops.page.textContent(done)).toContain('已执行成功');
    expect(await ops.page.$$(`${incidentSel} [data-action="confirm-proposal"]`)).toHaveLength(0);
    await crew.page.waitForSelector(done, { timeout: 10_000 });

    // The valve is closed: no flow, and the burst alarm clears by its rule.
    await vi.waitFor(async () => {
      const latest = await api<{ fields: { flow: number } }>('GET', `/api/devices/${WM}/latest`);
      expect(latest.fields.flow).toBe(0);
      expect((await api<{ items: unknown[] }>('GET', '/api/alerts?type=water_burst&status=active_unack,active_ack')).items).toEqual([]);
    }, { timeout: 30_000, interval: 250 });
    await hub.alerts.incidents.idle();
    await hub.alerts.incidents.tick(Date.now() + 6 * 60_000);
    // Cleared: it leaves the feed of active incidents.
    await ops.page.waitForSelector(`li.incident[data-incident-id="${incidentId}"]`, { state: 'detached', timeout: 10_000 });
    const stored = await api<{ status: string; proposals: Array<{ status: string; commandStatus: string; decidedBy: string }> }>('GET', `/api/incidents/${incidentId}`);
    expect(stored).toMatchObject({ status: 'cleared_unack', proposals: [{ status: 'confirmed', commandStatus: 'succeeded', decidedBy: '值班调度' }] });
    expect(ops.problems).toEqual([]);
    expect(crew.problems).toEqual([]);
  }, 150_000);
});
