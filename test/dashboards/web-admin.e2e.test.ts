import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWeb } from '../../dashboards/web/build.js';
import { apiClient, startAnju, waitFor, type AnjuProcess } from '../helpers/anju-process.js';
import { openWatchedPage, type Watched } from '../helpers/browser.js';
import { requireBinary } from '../helpers/servers.js';

/**
 * Administration in the control room, end to end: `anju all` as a real child process, the web UI
 * freshly built, Debian's chromium driving it in zh-CN. An admin adds a device and sees its secret
 * once; a real MQTT client connects with that secret and its reading appears; rotating the secret
 * refuses the old one and accepts the new; a token created on the page works until it is revoked
 * there (then 401); a site rule parameter is refused with a Chinese message when inconsistent and
 * stored when not; a service account is created, rotated and deleted; a viewer sees none of it.
 */

const bin = requireBinary('chromium', 'chromium');
const ADMIN = 'web-admin-e2e-token-0123456789';
const SITE = 'hetang';

const openPage = openWatchedPage;

/** No console errors, page errors or failed requests — but the refusals a step provoked on purpose (the browser logs those). */
function expectNoProblems(w: Watched, provoked?: RegExp): void {
  expect(w.problems.filter((p) => !provoked?.test(p))).toEqual([]);
  w.problems.length = 0;
}

async function login(page: Page, token: string): Promise<void> {
  await page.fill('#login-token', token);
  await page.press('#login-token', 'Enter');
  await page.waitForSelector('header nav');
}

/**
 * Connects with a real MQTT client (client id = the device id; a service account's `<id>:<suffix>`);
 * resolves with the CONNACK outcome, the broker's refusal as its reason.
 */
type ConnectResult = { ok: true; client: mqtt.MqttClient } | { ok: false; reason: string };
async function tryConnect(url: string, username: string, password: string, account = false): Promise<ConnectResult> {
  const clientId = account ? `${username}:${Math.random().toString(36).slice(2, 8)}` : username;
  try {
    const client = await mqtt.connectAsync(url, { protocolVersion: 4, clientId, username, password, reconnectPeriod: 0, connectTimeout: 10_000 });
    return { ok: true, client };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

describe.skipIf(bin.skip !== undefined)(`administration in the control room (headless Chromium)${bin.skip ? ` (skipped: ${bin.skip})` : ''}`, () => {
  let dataDir: string;
  let anju: AnjuProcess;
  let browser: Browser;
  let context: BrowserContext;
  let admin: Watched;
  let api: ReturnType<typeof apiClient>;
  const clients: mqtt.MqttClient[] = [];
  /** The device's current secret, once rotated. */
  let deviceSecret = '';

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'anju-web-admin-'));
    const [, started] = await Promise.all([
      buildWeb(),
      startAnju('all', { ANJU_DATA_DIR: dataDir, ANJU_SIM: '0', ANJU_ADMIN_TOKEN: ADMIN }),
    ]);
    anju = started;
    api = apiClient(anju.http, ADMIN);
    // A site with one building to administer (registered with the first device, as the API does).
    expect((await api('POST', '/api/devices', { id: 'ht-b1-pm-1', kind: 'power_meter', site: SITE, building: 'b1', name: '1号楼总表' })).status).toBe(201);
    browser = await chromium.launch({
      executablePath: bin.path ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1500, height: 1000 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: anju.http });
    admin = await openPage(context, anju.http);
    await login(admin.page, ADMIN);
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) await c.endAsync().catch(() => undefined);
    await browser?.close();
    await anju?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** Reads the one-time secret on the page, checks the warning and the copy button, then hides it. */
  async function takeSecret(page: Page): Promise<string> {
    const box = page.locator('.secret-once');
    await box.waitFor();
    expect(await box.textContent()).toContain('仅显示这一次');
    const secret = (await box.locator('[data-testid="secret"]').textContent())?.trim() ?? '';
    expect(secret.length).toBeGreaterThanOrEqual(16);
    await box.getByRole('button', { name: /^复制/ }).click();
    await expect.poll(() => box.textContent()).toContain('已复制到剪贴板');
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(secret);
    await box.getByRole('button', { name: '我已保存，隐藏' }).click();
    expect(await page.locator('[data-testid="secret"]').count()).toBe(0);
    expect(await page.content()).not.toContain(secret);
    return secret;
  }

  async function confirm(page: Page): Promise<void> {
    await page.locator('dialog[open] [data-confirm="yes"]').click();
  }

  it('an admin adds a device, sees its secret once, and the device connects with it and appears', async () => {
    const { page } = admin;
    const nav = page.locator('header nav');
    expect(await nav.textContent()).toContain('系统管理');
    await nav.getByRole('link', { name: '系统管理' }).click();
    await page.waitForSelector('tr[data-device="ht-b1-pm-1"]');

    await page.locator('.admin-add summary').click();
    await page.getByLabel('设备 ID').fill('ht-b1-sd-101');
    await page.getByLabel('类型', { exact: true }).first().selectOption('smoke_detector');
    await page.getByLabel('名称').first().fill('1-101 厨房烟感');
    await page.getByLabel('位置').first().fill('101 厨房');
    await page.getByRole('button', { name: '添加', exact: true }).click();
    const secret = await takeSecret(page);
    await page.waitForSelector('tr[data-device="ht-b1-sd-101"]');
    // A second add with the same id is refused, in Chinese.
    await page.locator('.admin-add summary').click();
    await page.locator('.admin-add summary').click();
    await page.getByLabel('设备 ID').fill('ht-b1-sd-101');
    await page.getByRole('button', { name: '添加', exact: true }).click();
    await expect.poll(() => page.locator('.admin-add .error').textContent()).toMatch(/无法执行：与现有数据冲突/);

    const conn = await tryConnect(anju.mqtt, 'ht-b1-sd-101', secret);
    expect(conn.ok, conn.ok ? '' : conn.reason).toBe(true);
    if (!conn.ok) return;
    clients.push(conn.client);
    await conn.client.publishAsync('devices/ht-b1-sd-101/telemetry', JSON.stringify({ smoke: 0.02, temperature: 23.5, seq: 1 }), { qos: 1 });
    await waitFor('the reading stored', async () => (await api('GET', '/api/devices/ht-b1-sd-101/latest')).status === 200, 30_000);

    await page.fill('[data-testid="device-search"]', '厨房');
    expect(await page.locator('tbody tr[data-device]').count()).toBe(1);
    await page.click('tr[data-device="ht-b1-sd-101"] a');
    await expect.poll(() => page.locator('dd[data-field="temperature"]').textContent(), { timeout: 20_000 }).toContain('23.5');
    expectNoProblems(admin, /status of 409/);
  }, 120_000);

  it('edits a device and rotates its secret: the old secret is refused, the new one accepted', async () => {
    const { page } = admin;
    await page.goto(`${anju.http}/#/admin/devices`);
    await page.getByRole('button', { name: '编辑设备 ht-b1-sd-101' }).click();
    const form = page.locator('form[data-edit="ht-b1-sd-101"]');
    await form.getByLabel('名称').fill('1-101 厨房烟感（新）');
    await form.getByLabel('位置').fill('101 厨房吊顶');
    await form.getByRole('button', { name: '保存' }).click();
    await expect.poll(() => page.locator('tr[data-device="ht-b1-sd-101"]').textContent()).toContain('101 厨房吊顶');
    expect((await api<{ name: string; location: string }>('GET', '/api/devices/ht-b1-sd-101')).body).toMatchObject({ name: '1-101 厨房烟感（新）', location: '101 厨房吊顶' });

    const old = clients[0];
    const oldSecret = (old?.options.password ?? '').toString();
    await page.getByRole('button', { name: '更换设备 ht-b1-sd-101 的密钥' }).click();
    // Cancel first: nothing changes.
    await page.locator('dialog[open]').getByRole('button', { name: '取消' }).click();
    expect(await page.locator('.secret-once').count()).toBe(0);
    await page.getByRole('button', { name: '更换设备 ht-b1-sd-101 的密钥' }).click();
    await confirm(page);
    const fresh = await takeSecret(page);
    expect(fresh).not.toBe(oldSecret);
    deviceSecret = fresh;

    const refused = await tryConnect(anju.mqtt, 'ht-b1-sd-101', oldSecret);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.reason).toMatch(/Not authorized|Bad username or password/i);
    const accepted = await tryConnect(anju.mqtt, 'ht-b1-sd-101', fresh);
    expect(accepted.ok, accepted.ok ? '' : accepted.reason).toBe(true);
    if (accepted.ok) clients.push(accepted.client);
    expectNoProblems(admin);
  }, 90_000);

  it('creates an API token shown once, which works until it is revoked on the page (then 401)', async () => {
    const { page } = admin;
    await page.goto(`${anju.http}/#/admin/tokens`);
    await page.fill('[data-testid="new-token-name"]', '大堂值班屏');
    await page.getByLabel('角色').selectOption('operator');
    await page.getByRole('button', { name: '创建令牌' }).last().click();
    const token = await takeSecret(page);
    await page.waitForSelector('tr[data-name="大堂值班屏"]');
    const session = await apiClient(anju.http, token)<{ role: string; name: string }>('GET', '/api/session');
    expect(session.status).toBe(200);
    expect(session.body).toMatchObject({ role: 'operator', name: '大堂值班屏' });

    await page.getByRole('button', { name: '撤销令牌 大堂值班屏' }).click();
    await confirm(page);
    await page.waitForSelector('tr[data-name="大堂值班屏"]', { state: 'detached' });
    expect((await apiClient(anju.http, token)('GET', '/api/session')).status).toBe(401);
    // The last admin token cannot be revoked: the API's 409 is said in Chinese.
    await page.getByRole('button', { name: /^撤销令牌 bootstrap-admin/ }).click();
    await confirm(page);
    await expect.poll(() => page.locator('.admin-list').locator('xpath=..').locator('.error').textContent()).toMatch(/无法执行：与现有数据冲突/);
    expectNoProblems(admin, /status of 409/);
  }, 60_000);

  it('adds a person with a role at this site, the generated password shown once; it logs in until the account is disabled on the page', async () => {
    const { page } = admin;
    const loginAs = (password: string) => fetch(`${anju.http}/api/session/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: 'zhao.lei', password }),
    });
    await page.goto(`${anju.http}/#/admin/people`);
    await page.fill('[data-testid="new-person-login"]', 'zhao.lei');
    await page.fill('[data-testid="new-person-name"]', '赵磊');
    await page.selectOption('[data-testid="new-person-role"]', 'maintenance');
    await page.getByRole('button', { name: '添加人员' }).last().click();
    const password = await takeSecret(page);
    await page.waitForSelector('tr[data-person="zhao.lei"]');
    expect(await page.textContent('tr[data-person="zhao.lei"]')).toContain('维修人员');
    expect(await page.textContent('tr[data-person="zhao.lei"] [data-testid="person-state"]')).toBe('正常');
    // Stored as the person asked for: a role at this site only, and the password works.
    const stored = await api<{ grants: unknown; hasPassword: boolean }>('GET', '/api/accounts/zhao.lei');
    expect(stored.body).toMatchObject({ grants: [{ role: 'maintenance', sites: [SITE] }], hasPassword: true });
    expect((await loginAs(password)).status).toBe(200);

    // Disabled on the page (after a confirmation): the same password no longer opens a session.
    await page.getByRole('button', { name: '停用赵磊的账号' }).click();
    await confirm(page);
    await page.waitForSelector('tr[data-person="zhao.lei"][data-disabled="true"]');
    expect(await page.textContent('tr[data-person="zhao.lei"] [data-testid="person-state"]')).toBe('已停用');
    // The right password of a disabled account: 403 account_disabled (told only to whoever knows the password).
    const refused = await loginAs(password);
    expect([refused.status, ((await refused.json()) as { error: { code: string } }).error.code]).toEqual([403, 'account_disabled']);
    expectNoProblems(admin);
  }, 60_000);

  it('edits a site rule parameter: an inconsistent value is refused in Chinese, a good one is in force at the API', async () => {
    const { page } = admin;
    await page.goto(`${anju.http}/#/admin/rules`);
    const smoke = page.locator('details[data-rule="smoke"]');
    await smoke.locator('summary').click();
    expect(await smoke.locator('td[data-effective="threshold"]').textContent()).toBe('0.2');
    // clearBelow above the inherited threshold: each value fine alone, refused merged.
    await smoke.locator('input[data-param="clearBelow"]').fill('0.5');
    await smoke.getByRole('button', { name: /^保存/ }).click();
    const ruleTitle = (await smoke.locator('summary strong').textContent()) ?? '';
    expect(ruleTitle).toMatch(/[\u4e00-\u9fff]/);
    // The sentence is Chinese and names the rule (the API's path); the server's own words follow.
    await expect.poll(() => smoke.locator('.error').textContent()).toContain(`输入有误，请修改：${ruleTitle}。`);
    expect(await smoke.locator('.error').textContent()).toContain('clearBelow < threshold');
    await smoke.locator('input[data-param="clearBelow"]').fill('abc');
    await smoke.getByRole('button', { name: /^保存/ }).click();
    await expect.poll(() => smoke.locator('.error').textContent()).toMatch(/必须是数字/);

    await smoke.locator('input[data-param="threshold"]').fill('0.3');
    await smoke.locator('input[data-param="clearBelow"]').fill('0.15');
    await smoke.getByRole('button', { name: /^保存/ }).click();
    await expect.poll(() => page.locator('details[data-rule="smoke"] td[data-effective="threshold"]').textContent()).toBe('0.3');
    const rules = await api<{ rules: Array<{ rule: string; kind: string; effective: Record<string, unknown> }> }>('GET', `/api/rules/sites/${SITE}`);
    expect(rules.body.rules.find((r) => r.rule === 'smoke')?.effective).toMatchObject({ threshold: 0.3, clearBelow: 0.15 });
    expect((await api<{ sites: object }>('GET', '/api/rules')).body.sites).toEqual({ [SITE]: { smoke: { threshold: 0.3, clearBelow: 0.15 } } });
    expectNoProblems(admin, /status of 400/);
  }, 60_000);

  it('creates, rotates and deletes an MQTT service account, its secret shown once each time', async () => {
    const { page } = admin;
    await page.goto(`${anju.http}/#/admin/accounts`);
    await page.locator('.admin-add summary').click();
    await page.getByLabel('账号 ID').fill('bms-gw');
    await page.getByLabel('允许发布').fill('anju/bms/#');
    await page.getByLabel('允许订阅').fill('devices/+/status');
    await page.getByRole('button', { name: '创建账号' }).click();
    const first = await takeSecret(page);
    await page.waitForSelector('tr[data-account="bms-gw"]');
    const c1 = await tryConnect(anju.mqtt, 'bms-gw', first, true);
    expect(c1.ok).toBe(true);
    if (c1.ok) clients.push(c1.client);

    await page.getByRole('button', { name: '更换服务账号 bms-gw 的密钥' }).click();
    await confirm(page);
    const second = await takeSecret(page);
    expect((await tryConnect(anju.mqtt, 'bms-gw', first, true)).ok).toBe(false);
    const c2 = await tryConnect(anju.mqtt, 'bms-gw', second, true);
    expect(c2.ok).toBe(true);
    if (c2.ok) clients.push(c2.client);

    await page.getByRole('button', { name: '删除服务账号 bms-gw' }).click();
    await confirm(page);
    await page.waitForSelector('tr[data-account="bms-gw"]', { state: 'detached' });
    expect((await api('GET', '/api/service-accounts/bms-gw')).status).toBe(404);
    expectNoProblems(admin);
  }, 60_000);

  it('deletes a device after a confirmation; its credentials stop working', async () => {
    const { page } = admin;
    await page.goto(`${anju.http}/#/admin/devices`);
    await page.getByRole('button', { name: '删除设备 ht-b1-sd-101' }).click();
    await confirm(page);
    await page.waitForSelector('tr[data-device="ht-b1-sd-101"]', { state: 'detached' });
    expect((await api('GET', '/api/devices/ht-b1-sd-101')).status).toBe(404);
    expect(deviceSecret).not.toBe('');
    expect((await tryConnect(anju.mqtt, 'ht-b1-sd-101', deviceSecret)).ok).toBe(false);
    expectNoProblems(admin);
  }, 60_000);

  it('a viewer sees no administration: no navigation entry, a refusal at the address, 403 from the API', async () => {
    const viewerToken = (await api<{ token: string }>('POST', '/api/tokens', { name: 'wall screen', role: 'viewer' })).body.token;
    const viewerContext = await browser.newContext({ locale: 'zh-CN' });
    try {
      const viewer = await openPage(viewerContext, anju.http);
      await login(viewer.page, viewerToken);
      expect(await viewer.page.locator('header nav').textContent()).not.toContain('系统管理');
      expect(await viewer.page.locator('a[href^="#/admin"]').count()).toBe(0);
      await viewer.page.goto(`${anju.http}/#/admin/tokens`);
      await viewer.page.waitForSelector('[data-testid="admin-forbidden"]');
      expect(await viewer.page.textContent('main')).toContain('只有管理员可以使用系统管理');
      expect(await viewer.page.locator('main form, main table, main input').count()).toBe(0);
      for (const path of ['/api/tokens', '/api/service-accounts']) expect((await apiClient(anju.http, viewerToken)('GET', path)).status).toBe(403);
      expect((await apiClient(anju.http, viewerToken)('PUT', `/api/rules/sites/${SITE}`, {})).status).toBe(403);
      expectNoProblems(viewer);
    } finally {
      await viewerContext.close();
    }
  }, 60_000);
});
