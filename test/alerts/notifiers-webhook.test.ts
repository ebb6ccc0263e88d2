import { createHmac } from 'node:crypto';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../alerts/contracts.js';
import { createWebhookNotifier, type Notifier, type WebhookNotifierConfig } from '../../alerts/notifiers/index.js';
import type { Incident, IncidentEvent } from '../../storage/incidents/contract.js';
import { startRecordingServer, type RecordedRequest } from '../helpers/recording-server.js';

/** Webhooks against a real local HTTP server that records what it receives: one message per incident change. */

type Received = RecordedRequest;

const T = Date.UTC(2025, 2, 3, 0, 12, 5); // 08:12:05 in Shanghai
const alarm: Alarm = {
  id: 'a-1', type: 'smoke', originator: { kind: 'device', id: 'sd-2-301' }, site: 'chundu', building: 'b2', severity: 'critical',
  status: 'active_unack', startTs: T, lastUpdateTs: T, escalationLevel: 0, count: 1, details: { smoke: 0.35, deviceAlarm: false, threshold: 0.2 },
  timeline: [],
};
const incident: Incident = {
  id: 'i-1', hazard: 'fire', site: 'chundu', building: 'b2', level: 'pre_alarm', severity: 'critical', status: 'active_unack', startTs: T, lastUpdateTs: T,
  escalationLevel: 0, timeline: [{ ts: T, event: 'raised', actor: 'rule:incident' }],
  members: [{ id: 'a-1', type: 'smoke', originator: alarm.originator, site: 'chundu', building: 'b2', severity: 'critical', status: 'active_unack', startTs: T, details: alarm.details }],
};
const event = (seq: number, over: Partial<IncidentEvent> = {}, i: Partial<Incident> = {}): IncidentEvent => ({ seq, ts: T, type: 'raised', incident: { ...incident, ...i }, alarm, ...over });
const names = { device: (id: string) => (id === 'sd-2-301' ? { name: '2-301 厨房烟感', location: '301 kitchen' } : undefined), building: () => '2号楼', site: () => '春都社区' };

describe('webhook notifier', () => {
  let server: Awaited<ReturnType<typeof startRecordingServer>>;
  let base: string;
  let received: Received[];
  /** Status codes to answer, in turn (then 200). */
  let script: number[] = [];
  let robotAnswer = '{"errcode":0,"errmsg":"ok"}';
  const notifiers: Notifier[] = [];
  let metrics: Registry;

  beforeAll(async () => {
    server = await startRecordingServer(() => {
      const status = script.shift() ?? 200;
      return { status, body: status === 200 ? robotAnswer : '{}' };
    });
    base = server.base;
    received = server.received;
  });
  afterEach(async () => {
    for (const n of notifiers.splice(0)) await n.close();
    received.length = 0;
    script = [];
    robotAnswer = '{"errcode":0,"errmsg":"ok"}';
  });
  afterAll(async () => {
    await server.close();
  });

  const make = (config: WebhookNotifierConfig) => {
    metrics = new Registry();
    const n = createWebhookNotifier({ baseDelayMs: 10, maxDelayMs: 50, ...config }, { logger: pino({ level: 'silent' }), metrics, random: () => 0.5, names });
    notifiers.push(n);
    return n;
  };
  const count = async (outcome: string) =>
    (await metrics.getSingleMetric('anju_notifications_total')?.get())?.values.find((v) => v.labels.outcome === outcome && v.labels.notifier === 'webhook')?.value ?? 0;

  it('posts the JSON incident event signed with HMAC-SHA256, with timestamp and idempotency key, texts in Chinese', async () => {
    const n = make({ targets: [{ url: `${base}/hook`, format: 'json', secret: 's3cret' }] });
    n.notify(event(7));
    await n.idle();
    expect(received).toHaveLength(1);
    const r = received[0] as Received;
    expect(r.headers['x-anju-signature']).toBe(`sha256=${createHmac('sha256', 's3cret').update(r.body).digest('hex')}`);
    expect(r.headers['idempotency-key']).toBe('i-1:7');
    expect(Number(r.headers['x-anju-timestamp'])).toBeGreaterThan(0);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = JSON.parse(r.body);
    expect(body).toMatchObject({
      seq: 7, type: 'raised', time: new Date(T).toISOString(), alarm: { id: 'a-1', startTime: new Date(T).toISOString() },
      incident: { id: 'i-1', hazard: 'fire', level: 'pre_alarm', alarmIds: ['a-1'], alarms: [{ id: 'a-1', type: 'smoke' }] },
    });
    expect(body.incident.summary).toContain('预警 · 2号楼 火灾');
    expect(body.incident.evidence).toEqual(['烟雾报警 · 2-301 厨房烟感（301 kitchen）：烟雾浓度 0.35 dB/m，阈值 0.20 dB/m']);
    expect(await count('sent')).toBe(1);
  });

  it('pages on an incident opened, going up a level or severity, escalated and cleared — not on another alarm joining it', async () => {
    const n = make({ targets: [{ url: `${base}/hook`, format: 'json' }] });
    n.notify(event(1));
    n.notify(event(2, { type: 'updated' }));
    n.notify(event(3, { type: 'updated', previousSeverity: 'major' }));
    n.notify(event(4, { type: 'acked' }));
    n.notify(event(5, { type: 'escalated' }, { escalationLevel: 1 }));
    n.notify(event(6, { type: 'commented' }));
    n.notify(event(7, { type: 'cleared' }));
    n.notify(event(8, { type: 'updated', previousLevel: 'pre_alarm' }, { level: 'fire' }));
    await n.idle();
    expect(received.map((r) => r.headers['idempotency-key'])).toEqual(['i-1:1', 'i-1:3', 'i-1:5', 'i-1:7', 'i-1:8']);
  });

  it('WeCom group robot: markdown in Chinese with device names, values and units, time in Asia/Shanghai', async () => {
    const n = make({ targets: [{ url: `${base}/cgi-bin/webhook/send?key=abc`, format: 'wecom' }] });
    n.notify(event(1));
    n.notify(event(2, { type: 'updated', previousLevel: 'pre_alarm' }, { level: 'fire' }));
    await n.idle();
    const body = JSON.parse((received[0] as Received).body);
    expect(Object.keys(body)).toEqual(['msgtype', 'markdown']);
    expect(body.msgtype).toBe('markdown');
    expect(Object.keys(body.markdown)).toEqual(['content']);
    const content = body.markdown.content as string;
    expect(content).toContain('【预警·紧急】2号楼 火灾');
    expect(content).toContain('状态：**新事件**');
    expect(content).toContain('2-301 厨房烟感（301 kitchen）');
    expect(content).toContain('烟雾浓度 0.35 dB/m');
    expect(content).toContain('2025-03-03 08:12:05');
    expect(content).toContain('位置：春都社区 / 2号楼');
    expect(content).not.toMatch(/sd-2-301|\bsmoke\b/);
    const fire = JSON.parse((received[1] as Received).body).markdown.content as string;
    expect(fire).toContain('【火警·紧急】2号楼 火灾');
    expect(fire).toContain('升级：预警 → 火警');
    expect(fire).toContain('火警需人工确认现场后复位');
  });

  it('DingTalk group robot: title + text, and the signed URL when dingtalkSecret is set', async () => {
    const secret = 'SECabc+/=';
    const n = make({ targets: [{ url: `${base}/robot/send?access_token=tok`, format: 'dingtalk', dingtalkSecret: secret }] });
    n.notify(event(2, { type: 'cleared' }, { status: 'cleared_unack', clearTs: T + 60_000 }));
    await n.idle();
    const r = received[0] as Received;
    const body = JSON.parse(r.body);
    expect(body).toMatchObject({ msgtype: 'markdown', markdown: { title: '【已恢复】2号楼 火灾' } });
    expect(body.markdown.text).toContain('已恢复');
    expect(body.markdown.text).toContain('2025-03-03 08:13:05');
    const url = new URL(r.url, base);
    expect(url.searchParams.get('access_token')).toBe('tok');
    const ts = url.searchParams.get('timestamp') ?? '';
    expect(Math.abs(Number(ts) - Date.now())).toBeLessThan(10_000);
    expect(url.searchParams.get('sign')).toBe(createHmac('sha256', secret).update(`${ts}\n${secret}`).digest('base64'));
    // The raw query carries the signature URL-encoded (base64 has + / =).
    expect(r.url).toContain(`sign=${encodeURIComponent(url.searchParams.get('sign') ?? '')}`);
  });

  it('retries a 503 and a 429 with backoff, then delivers exactly once, in order', async () => {
    script = [503, 429];
    const n = make({ targets: [{ url: `${base}/hook`, format: 'json', secret: 'k' }] });
    n.notify(event(1));
    n.notify(event(2, { type: 'cleared' }));
    await n.idle();
    expect(received.map((r) => [r.status, r.headers['idempotency-key']])).toEqual([[503, 'i-1:1'], [429, 'i-1:1'], [200, 'i-1:1'], [200, 'i-1:2']]);
    expect(received.filter((r) => r.status === 200 && r.headers['idempotency-key'] === 'i-1:1')).toHaveLength(1);
    expect(await count('retried')).toBe(2);
    expect(await count('sent')).toBe(2);
  });

  it('gives up after maxAttempts, and at once on a 4xx or a robot error code', async () => {
    script = [500, 500, 500];
    const n = make({ targets: [{ url: `${base}/hook`, format: 'json' }], maxAttempts: 3 });
    n.notify(event(1));
    await n.idle();
    expect(received).toHaveLength(3);
    expect(await count('failed')).toBe(1);

    received.length = 0;
    script = [404];
    n.notify(event(2));
    await n.idle();
    expect(received).toHaveLength(1);
    expect(await count('failed')).toBe(2);

    received.length = 0;
    robotAnswer = '{"errcode":93000,"errmsg":"invalid webhook url"}';
    const w = make({ targets: [{ url: `${base}/wecom`, format: 'wecom' }] });
    w.notify(event(3));
    await w.idle();
    expect(received).toHaveLength(1);
    expect(await count('failed')).toBe(1);
  });

  it('filters targets by severity, site and escalation level', async () => {
    const n = make({
      targets: [
        { name: 'team', url: `${base}/team`, format: 'json', sites: ['chundu'] },
        { name: 'managers', url: `${base}/managers`, format: 'json', minEscalationLevel: 1 },
        { name: 'criticalOnly', url: `${base}/critical`, format: 'json', minSeverity: 'critical' },
      ],
    });
    n.notify(event(1, {}, { severity: 'warning' }));
    n.notify(event(2, { type: 'escalated' }, { escalationLevel: 1 }));
    n.notify(event(3, {}, { site: 'xinyuan' }));
    await n.idle();
    const by = (path: string) => received.filter((r) => r.url === path).map((r) => r.headers['idempotency-key']);
    expect(by('/team')).toEqual(['i-1:1', 'i-1:2']);
    expect(by('/managers')).toEqual(['i-1:2']);
    expect(by('/critical')).toEqual(['i-1:2', 'i-1:3']);
  });

  it('bounds the queue per target and counts the drops', async () => {
    script = [503];
    const n = make({ targets: [{ url: `${base}/hook`, format: 'json' }], queueLimit: 2 });
    for (let i = 1; i <= 5; i++) n.notify(event(i));
    await n.idle();
    expect(await count('dropped')).toBe(3);
    expect(received.filter((r) => r.status === 200).map((r) => r.headers['idempotency-key'])).toEqual(['i-1:1', 'i-1:5']);
  });
});
