import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { assembleHub, type AssembledBroker, type AssembledHub } from '../../cli/assemble/index.js';
import { loadConfig } from '../../core/config.js';
import type { EmbeddedDatabase } from '../../storage/index.js';
import { assembledNode, openParts, silentLogger } from '../helpers/assembled.js';
import { startReceiver, type Receiver } from '../alerts/duty/receiver.js';

const token = 'duty-routing-test-admin-token';
const MIN = 60_000;

/**
 * Routing and escalation to people through the whole hub (real Aedes, MQTT.js, DuckDB, Fastify,
 * local HTTP servers as the WeCom and DingTalk robots and the SMS gateway): a smoke alarm published
 * over MQTT makes an incident, which is assigned to the person on duty and @mentions them on both
 * robots and by SMS; unacknowledged after the site's limit (the injected clock moved on) it goes to
 * the next person; acknowledged, nothing more. Every step is on the incident's timeline in the API.
 */
describe('duty routing through the hub', () => {
  const node = assembledNode();
  const receivers: Receiver[] = [];
  afterEach(async () => {
    await node.cleanup();
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  it('assigns a new incident to the person on duty, pages them personally, hands it on unacknowledged, stops at the acknowledgement', async () => {
    const [wecom, dingtalk, sms] = await Promise.all([startReceiver('/wecom'), startReceiver('/dingtalk'), startReceiver('/sms')]);
    receivers.push(wecom, dingtalk, sms);
    const { config, db, directory, serviceAccounts, broker, metrics } = await node.prepare({
      ANJU_ADMIN_TOKEN: token, ANJU_SMS_GATEWAY_URL: sms.url, ANJU_SMS_GATEWAY_TOKEN: 'gw-token',
      ANJU_ALERT_WEBHOOKS: JSON.stringify([{ url: wecom.url, format: 'wecom', sites: ['chundu'] }, { url: dingtalk.url, format: 'dingtalk' }]),
    });
    await db.state.upsertSite({ id: 'chundu', name: '春都社区', timezone: 'Asia/Shanghai' });
    await db.state.upsertBuilding({ id: 'b3', site: 'chundu', name: '3号楼' });
    const { secret } = await directory.create({ id: 'sd-1', kind: 'smoke_detector', site: 'chundu', building: 'b3', name: '3-301 厨房烟感' });
    const grants = [{ role: 'maintenance' as const, sites: ['chundu'] }];
    const at = Date.now();
    const account = (id: string, displayName: string, extra: object) =>
      db.accounts.create({ id, login: id, displayName, grants, disabled: false, createdAt: at, updatedAt: at, ...extra });
    await account('li.na', '李娜', { phone: '13800000001', wecomUserId: 'LiNa', dingtalkUserId: 'dd-lina' });
    await account('wang.fang', '王芳', { phone: '13800000002' });
    await account('zhou.min', '周敏', { phone: '13800000003' });

    const now = { ms: at };
    const h = node.track(await assembleHub(config, { db, directory, serviceAccounts, broker, logger: silentLogger, metrics, clock: () => now.ms }));
    await broker.open();
    const api = (method: 'GET' | 'PUT' | 'POST', url: string, payload?: object) =>
      h.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });
    const put = await api('PUT', '/api/sites/chundu/roster', {
      shifts: [{ days: [1, 2, 3, 4, 5, 6, 7], start: '00:00', end: '00:00', hazards: ['fire'], people: ['li.na', 'wang.fang'] }], managers: ['zhou.min'], ackWithinMinutes: 5,
    });
    expect(put.statusCode).toBe(200);

    const client = await mqtt.connectAsync(broker.urls().mqtt as string, { protocolVersion: 4, clientId: 'sd-1', username: 'sd-1', password: secret, reconnectPeriod: 0 });
    await client.publishAsync('devices/sd-1/telemetry', JSON.stringify({ ts: at, smoke: 0.5, alarm: true, seq: 1 }), { qos: 1 });
    await client.endAsync();

    const personal = (r: Receiver) => r.requests.filter((q) => String(q.headers['idempotency-key']).includes(':duty:'));
    await vi.waitFor(() => {
      expect(personal(wecom)).toHaveLength(1);
      expect(personal(dingtalk)).toHaveLength(1);
      expect(sms.requests).toHaveLength(1);
    }, { timeout: 20_000, interval: 100 });
    const duty = h.alerts.duty;
    if (!duty) throw new Error('the hub runs no duty router');
    await duty.idle();

    const list = (await api('GET', '/api/incidents?status=active_unack')).json() as { items: Array<{ id: string; assignee?: string }> };
    expect(list.items).toHaveLength(1);
    const id = list.items[0]?.id as string;
    expect(list.items[0]?.assignee).toBe('li.na');
    expect(String((personal(wecom)[0]?.body.markdown as { content: string }).content)).toContain('> <@LiNa> 您是当前值班人员，请处理');
    expect(personal(dingtalk)[0]?.body.at).toEqual({ atUserIds: ['dd-lina'], atMobiles: [], isAtAll: false });
    expect(sms.requests[0]?.body).toMatchObject({ channel: 'sms', to: '13800000001', key: `${id}:duty:0`, person: { id: 'li.na', name: '李娜' } });
    expect(sms.requests[0]?.headers.authorization).toBe('Bearer gw-token');
    // The group still gets its incident page beside the personal one.
    expect(wecom.requests.length - personal(wecom).length).toBeGreaterThanOrEqual(1);

    // Five minutes on, not acknowledged: the next person, once.
    now.ms = at + 5 * MIN;
    expect((await duty.runOnce()).escalated).toEqual([id]);
    expect((await duty.runOnce()).escalated).toEqual([]);
    await duty.idle();
    expect(sms.requests.map((q) => q.body.to)).toEqual(['13800000001', '13800000002']);
    // wang.fang has no robot user id, but a phone: WeCom mentions by mobile, DingTalk too.
    expect((personal(wecom)[1]?.body.text as { mentioned_mobile_list: string[] }).mentioned_mobile_list).toEqual(['13800000002']);

    now.ms = at + 6 * MIN;
    expect((await api('POST', `/api/incidents/${id}/ack`)).statusCode).toBe(200);
    now.ms = at + 60 * MIN;
    expect((await duty.runOnce()).escalated).toEqual([]);
    await duty.idle();
    expect(sms.requests).toHaveLength(2);

    const incident = (await api('GET', `/api/incidents/${id}`)).json() as { assignee: string; timeline: Array<{ event: string; actor?: string; details?: Record<string, unknown> }> };
    expect(incident.assignee).toBe('wang.fang');
    const steps = incident.timeline.filter((t) => t.actor === 'rule:roster')
      .map((t) => [t.event, t.details?.assignee ?? t.details?.to ?? t.details?.person, t.details?.channel ?? null]);
    expect(steps).toEqual([
      ['assigned', 'li.na', null],
      // In the notifiers' order: the robots as ANJU_ALERT_WEBHOOKS lists them, then the gateway.
      ...['wecom', 'dingtalk', 'sms'].map((c) => ['notified', 'li.na', c]),
      ['escalated', 'wang.fang', null], ['assigned', 'wang.fang', null],
      ...['wecom', 'dingtalk', 'sms'].map((c) => ['notified', 'wang.fang', c]),
    ]);
  }, 90_000);

  it('carries on after the hub restarts: the next person once, from what the incidents store', async () => {
    const sms = await startReceiver('/sms');
    receivers.push(sms);
    const dir = await mkdtemp(join(tmpdir(), 'anju-duty-restart-'));
    const env = { ANJU_DATA_DIR: dir, ANJU_HOST: '127.0.0.1', ANJU_MQTT_PORT: '0', ANJU_WS_PORT: '0', ANJU_HTTP_PORT: '0', ANJU_ADMIN_TOKEN: token, ANJU_SMS_GATEWAY_URL: sms.url };
    const config = loadConfig(env, 'all');
    const now = { ms: Date.now() };
    const at = now.ms;
    let running: { db: EmbeddedDatabase; broker: AssembledBroker; hub: AssembledHub } | undefined;
    const start = async () => {
      const { db, directory, serviceAccounts, broker, metrics } = await openParts(config);
      const hub = await assembleHub(config, { db, directory, serviceAccounts, broker, logger: silentLogger, metrics, clock: () => now.ms });
      await broker.open();
      running = { db, broker, hub };
      return { db, directory, broker, hub };
    };
    const stop = async () => {
      await running?.broker.close();
      await running?.hub.stop();
      await running?.db.close();
      running = undefined;
    };
    try {
      const a = await start();
      await a.db.state.upsertSite({ id: 'chundu', name: '春都社区', timezone: 'Asia/Shanghai' });
      const { secret } = await a.directory.create({ id: 'sd-1', kind: 'smoke_detector', site: 'chundu', building: 'b3' });
      for (const [id, phone] of [['li.na', '13800000001'], ['wang.fang', '13800000002'], ['zhou.min', '13800000003']] as const) {
        await a.db.accounts.create({ id, login: id, displayName: id, phone, grants: [{ role: 'maintenance', sites: ['chundu'] }], disabled: false, createdAt: at, updatedAt: at });
      }
      await a.db.rosters.put(
        { site: 'chundu', timezone: 'Asia/Shanghai', shifts: [{ days: [1, 2, 3, 4, 5, 6, 7], start: '00:00', end: '00:00', hazards: '*', buildings: '*', people: ['li.na', 'wang.fang'] }],
          exceptions: [], managers: ['zhou.min'] },
        'admin', at,
      );
      const client = await mqtt.connectAsync(a.broker.urls().mqtt as string, { protocolVersion: 4, clientId: 'sd-1', username: 'sd-1', password: secret, reconnectPeriod: 0 });
      await client.publishAsync('devices/sd-1/telemetry', JSON.stringify({ ts: at, smoke: 0.5, alarm: true, seq: 1 }), { qos: 1 });
      await client.endAsync();
      await vi.waitFor(() => expect(sms.requests.map((q) => q.body.to)).toEqual(['13800000001']), { timeout: 20_000, interval: 100 });
      await a.hub.alerts.duty?.idle();
      await stop();

      // Down for six minutes: past the five-minute limit for a critical incident.
      now.ms = at + 6 * 60_000;
      const b = await start();
      await b.hub.alerts.duty?.idle();
      expect(sms.requests.map((q) => q.body.to)).toEqual(['13800000001', '13800000002']);
      expect((await b.hub.alerts.duty?.runOnce())?.escalated).toEqual([]);
      const [incident] = b.hub.alerts.incidents.active();
      expect(incident?.assignee).toBe('wang.fang');
      expect(incident?.timeline.filter((t) => t.actor === 'rule:roster').map((t) => `${t.event}:${String(t.details?.assignee ?? t.details?.to ?? t.details?.person)}`))
        .toEqual(['assigned:li.na', 'notified:li.na', 'escalated:wang.fang', 'assigned:wang.fang', 'notified:wang.fang']);
    } finally {
      await stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
