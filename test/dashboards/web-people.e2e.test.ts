import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWeb } from '../../dashboards/web/build.js';
import { apiClient, startAnju, waitFor, type AnjuProcess } from '../helpers/anju-process.js';
import { openWatchedPage, type Watched } from '../helpers/browser.js';
import { requireBinary } from '../helpers/servers.js';

/**
 * A person in the control room, end to end: `anju all` as a real child process, the web UI freshly
 * built, Debian's chromium in zh-CN. Two communities each have a kitchen fire (real MQTT devices);
 * 春都's technician signs in with name and password, sees their name, only 春都 and only its
 * incident, acknowledges it from the feed (the change carries the session's CSRF token), gets 404
 * for 星河's incident by id — the answer an unknown id gets — and signs out, which ends the session
 * on the server. Then dispatch: an administrator assigns the incident to 李军 with the picker of
 * 春都's people (no free text), 李军 finds it under 我的事件 and the roster screen names who is on duty.
 */

const bin = requireBinary('chromium', 'chromium');
const ADMIN = 'web-people-e2e-token-0123456789';
const A = 'chundu';
const B = 'xinghe';
const PASSWORD = 'correct horse battery';

describe.skipIf(bin.skip !== undefined)(`a site technician in the control room (headless Chromium)${bin.skip ? ` (skipped: ${bin.skip})` : ''}`, () => {
  let dataDir: string;
  let anju: AnjuProcess;
  let browser: Browser;
  let api: ReturnType<typeof apiClient>;
  const clients: mqtt.MqttClient[] = [];
  const incident: Record<string, string> = {};

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'anju-web-people-'));
    const [, started] = await Promise.all([buildWeb(), startAnju('all', { ANJU_DATA_DIR: dataDir, ANJU_SIM: '0', ANJU_ADMIN_TOKEN: ADMIN })]);
    anju = started;
    api = apiClient(anju.http, ADMIN);
    for (const [site, name] of [[A, '春都社区'], [B, '星河湾']] as const) {
      const id = `${site}-b3-sd-1`;
      const made = await api<{ secret: string }>('POST', '/api/devices', { id, kind: 'smoke_detector', site, building: 'b3', name: '3-301 厨房烟感' });
      expect(made.status).toBe(201);
      expect((await api('PATCH', `/api/sites/${site}`, { name })).status).toBe(200);
      const client = await mqtt.connectAsync(anju.mqtt, { protocolVersion: 4, clientId: id, username: id, password: made.body.secret, reconnectPeriod: 0 });
      clients.push(client);
      await client.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ smoke: 0.6, temperature: 62, alarm: true }), { qos: 1 });
      incident[site] = await waitFor(`the fire incident of ${site}`, async () =>
        (await api<{ items: Array<{ id: string }> }>('GET', `/api/incidents?site=${site}&hazard=fire`)).body.items[0]?.id, 30_000);
    }
    const account = await api('POST', '/api/accounts', {
      login: 'li.jun', displayName: '李军', password: PASSWORD, grants: [{ role: 'maintenance', sites: [A] }],
    });
    expect(account.status).toBe(201);
    browser = await chromium.launch({
      executablePath: bin.path ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 180_000);

  afterAll(async () => {
    for (const c of clients) await c.endAsync().catch(() => undefined);
    await browser?.close();
    await anju?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('signs in with name and password, sees only 春都, acknowledges its incident, gets 404 for 星河\'s, and signs out', async () => {
    const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1400, height: 1000 } });
    const w: Watched = await openWatchedPage(context, anju.http);
    const { page } = w;

    // A wrong password first: told in Chinese, without saying which of the two was wrong.
    await page.fill('#login-name', 'li.jun');
    await page.fill('#login-password', 'not the password');
    await page.click('[data-testid="login-submit"]');
    await expect.poll(() => page.textContent('#login-pw-error')).toContain('用户名或密码错误');
    w.problems.length = 0; // the refused log-in's 401, provoked on purpose

    await page.fill('#login-name', 'Li.Jun');
    await page.fill('#login-password', PASSWORD);
    await page.press('#login-password', 'Enter');
    await page.waitForSelector('header nav');
    // The person's name and role at this site, and the one community they serve (no site menu).
    expect(await page.textContent('[data-testid="user"]')).toBe('当前用户：李军（维修人员）');
    expect(await page.textContent('header .site-name')).toBe('春都社区');
    expect(await page.$('header .site-switch')).toBeNull();
    // Both live streams open on the session cookie alone (EventSource sends no header).
    await page.waitForSelector('#live-indicator[data-state="open"]', { timeout: 10_000 });
    // No administration for a technician.
    expect(await page.textContent('header nav')).not.toContain('系统管理');
    // The session is a cookie the page's scripts cannot read.
    expect(await page.evaluate('document.cookie')).not.toContain('anju_session');

    const feedIncident = 'li.incident[data-hazard="fire"]';
    await page.waitForSelector(feedIncident, { timeout: 15_000 });
    const shown = await page.$$eval('li.incident', (els) => els.map((e) => e.getAttribute('data-incident-id')));
    expect(shown).toEqual([incident[A]]);
    expect(await page.content()).not.toContain(incident[B] as string);

    // What the page's own session may read: one site, only 春都's incidents.
    const read = (path: string) => page.evaluate(async (p) => {
      const res = await fetch(p);
      return { status: res.status, body: await res.json() as Record<string, unknown> };
    }, path);
    const sites = await read('/api/sites');
    expect(sites.body).toMatchObject({ total: 1, items: [{ id: A }] });
    expect(((await read('/api/incidents')).body.items as Array<{ site: string }>).map((i) => i.site)).toEqual([A]);
    // 星河's incident by id: 404, word for word what an id that does not exist gets.
    const other = await read(`/api/incidents/${incident[B]}`);
    const missing = await read('/api/incidents/no-such-incident');
    expect(other.status).toBe(404);
    const words = (r: typeof other, id: string) => String((r.body.error as { message: string }).message).replace(id, '<id>');
    expect([(other.body.error as { code: string }).code, words(other, incident[B] as string)])
      .toEqual([(missing.body.error as { code: string }).code, words(missing, 'no-such-incident')]);
    w.problems.length = 0; // the two 404s asked for above

    // Acknowledge from the feed: a change, sent with the session's CSRF token.
    await page.locator(`${feedIncident} button[data-action="ack"]`).click();
    await page.waitForSelector(`${feedIncident}[data-status="active_ack"]`, { timeout: 10_000 });
    const stored = await api<{ status: string; timeline: Array<{ event: string; actor?: string }> }>('GET', `/api/incidents/${incident[A]}`);
    expect(stored.body.status).toBe('active_ack');
    expect(stored.body.timeline.find((t) => t.event === 'acked')?.actor).toBe('li.jun');
    // 星河's incident was not touched.
    expect((await api<{ status: string }>('GET', `/api/incidents/${incident[B]}`)).body.status).toBe('active_unack');
    // The audit trail names the person (written just after the answer went out).
    const entry = await waitFor('the acknowledgement in the audit trail', async () =>
      (await api<{ items: Array<{ actor: string; actorName: string; action: string; target?: string }> }>('GET', '/api/audit?limit=50'))
        .body.items.find((e) => e.target === incident[A]), 10_000);
    expect(entry).toMatchObject({ actor: 'account:li.jun', actorName: 'li.jun' });

    // A change without the CSRF token (as a forged cross-site form would send) is refused.
    const forged = await page.evaluate(async (id) => (await fetch(`/api/incidents/${id}/comment`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'x' }),
    })).status, incident[A] as string);
    expect(forged).toBe(403);
    w.problems.length = 0;

    // A reload keeps the person signed in (the cookie, and this tab's CSRF token) and a change still goes through.
    await page.reload();
    await page.waitForSelector('[data-testid="user"]');
    expect(await page.textContent('[data-testid="user"]')).toContain('李军');
    const comment = await page.evaluate(async (id) => {
      // In the page: this tab's CSRF token, as the control room keeps it.
      const csrf = (globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } }).sessionStorage.getItem('anju.csrf') ?? '';
      return (await fetch(`/api/incidents/${id}/comment`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify({ text: '已到场' }),
      })).status;
    }, incident[A] as string);
    expect(comment).toBe(200);

    // Signing out ends the session on the server: the cookie no longer opens anything.
    await page.click('[data-testid="logout"]');
    await page.waitForSelector('#login-name');
    await expect.poll(async () => (await read('/api/session')).status).toBe(401);
    w.problems.length = 0; // the 401 asked for above
    expect(w.problems).toEqual([]);
    await context.close();
  }, 120_000);

  it('assign picks a person of the site; the technician finds it under 我的事件; the roster screen names who is on duty', async () => {
    // A roster for 春都: 李军 on duty for fire around the clock.
    const everyDay = [1, 2, 3, 4, 5, 6, 7];
    const put = await api('PUT', `/api/sites/${A}/roster`, { shifts: [{ days: everyDay, start: '00:00', end: '00:00', hazards: ['fire'], people: ['li.jun'] }], managers: [] });
    expect(put.status).toBe(200);

    // The administrator (an API token) opens 春都's incident and assigns it with the picker.
    const adminCtx = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1400, height: 1000 } });
    const admin: Watched = await openWatchedPage(adminCtx, anju.http);
    await admin.page.fill('#login-token', ADMIN);
    await admin.page.click('[data-testid="login-with-token"] button[type=submit]');
    await admin.page.waitForSelector('header nav');
    await admin.page.evaluate(`location.hash = ${JSON.stringify(`#/incidents/${incident[A]}`)}`);
    const picker = admin.page.locator('[data-testid="assign-person"]');
    await expect.poll(() => picker.isEnabled(), { timeout: 10_000 }).toBe(true);
    // The site's people by name and role there — 星河's accounts and contacts never offered.
    const offered = await picker.locator('option[data-person]').evaluateAll((os) => os.map((o) => [o.getAttribute('data-person'), o.textContent]));
    expect(offered).toEqual([['li.jun', '李军（维修人员）']]);
    await picker.selectOption('li.jun');
    await admin.page.click('form[data-form="assign"] button[type=submit]');
    await admin.page.waitForSelector('[data-testid="incident-assignee"][data-assignee="li.jun"]', { timeout: 10_000 });
    expect(await admin.page.textContent('[data-testid="incident-assignee"]')).toBe('李军');
    const stored = await api<{ assignee?: string; timeline: Array<{ event: string; actor?: string }> }>('GET', `/api/incidents/${incident[A]}`);
    expect(stored.body.assignee).toBe('li.jun');

    // The roster screen's editor: 李军 becomes the escalation's manager, with a 10-minute limit — a new version.
    const before = await api<{ version: number }>('GET', `/api/sites/${A}/roster`);
    await admin.page.click('nav a[data-nav="roster"]');
    await admin.page.click('[data-testid="roster-edit"]');
    await admin.page.selectOption('[data-testid="add-person-managers"]', 'li.jun');
    await admin.page.click('[data-testid="add-managers"]');
    await admin.page.fill('[data-testid="roster-form"] input[data-field="ackWithinMinutes"]', '10');
    await admin.page.click('[data-testid="roster-save"]');
    await admin.page.waitForSelector(`[data-testid="roster-version"][data-version="${before.body.version + 1}"]`, { timeout: 10_000 });
    const saved = await api<{ version: number; roster: unknown }>('GET', `/api/sites/${A}/roster`);
    expect(saved.body.version).toBe(before.body.version + 1);
    // The weekly shift came back unchanged; only the escalation changed.
    expect(saved.body.roster).toMatchObject({ managers: ['li.jun'], ackWithinMinutes: 10, exceptions: [], shifts: [{ days: [1, 2, 3, 4, 5, 6, 7], start: '00:00', end: '00:00', hazards: ['fire'], people: ['li.jun'] }] });
    expect(admin.problems).toEqual([]);
    await adminCtx.close();

    // 李军 signs in: 我的事件 lists exactly that incident; the roster screen names him on duty.
    const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1400, height: 1000 } });
    const w: Watched = await openWatchedPage(context, anju.http);
    await w.page.fill('#login-name', 'li.jun');
    await w.page.fill('#login-password', PASSWORD);
    await w.page.press('#login-password', 'Enter');
    await w.page.waitForSelector('header nav');
    await w.page.click('nav a[data-nav="mine"]');
    await w.page.waitForSelector(`ol.mine li.incident[data-incident-id="${incident[A]}"]`, { timeout: 10_000 });
    expect(await w.page.$$eval('ol.mine li.incident', (els) => els.map((e) => e.getAttribute('data-incident-id')))).toEqual([incident[A]]);
    expect(await w.page.textContent('h1.page-title')).toBe('我的事件');
    // Live: handed to a contractor elsewhere (the API), it leaves 我的事件 without a reload; handed back, it returns.
    expect((await api('POST', `/api/incidents/${incident[A]}/assign`, { assignee: '外包维修队' })).status).toBe(200);
    await w.page.waitForSelector('[data-testid="mine-empty"]', { timeout: 10_000 });
    expect((await api('POST', `/api/incidents/${incident[A]}/assign`, { accountId: 'li.jun' })).status).toBe(200);
    await w.page.waitForSelector(`ol.mine li.incident[data-incident-id="${incident[A]}"]`, { timeout: 10_000 });

    await w.page.click('nav a[data-nav="roster"]');
    await w.page.waitForSelector('[data-testid="roster-now"] li', { timeout: 10_000 });
    expect(await w.page.textContent('[data-testid="roster-now"]')).toContain('李军');
    // A technician reads the roster; editing it is for those who run the site.
    expect(await w.page.$('[data-testid="roster-edit"]')).toBeNull();
    expect(w.problems).toEqual([]);
    await context.close();
  }, 120_000);
});
