import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { PersonPage } from '../../../alerts/duty/contract.js';
import { createRobotMentionNotifier } from '../../../alerts/duty/robots.js';
import { createSmsGatewayNotifier } from '../../../alerts/duty/sms.js';
import type { Incident } from '../../../storage/incidents/contract.js';
import { startReceiver, type Receiver } from './receiver.js';

/**
 * What each person's page looks like on the wire, as a real local HTTP server receives it: the
 * WeCom robot's markdown `<@userid>` or text `mentioned_mobile_list`, DingTalk's `at` with the
 * `@` in the text, and the SMS gateway's JSON — in Chinese, with site and building names.
 */

const T = Date.UTC(2025, 5, 1, 18, 30, 0); // 2025-06-02 02:30 in Shanghai
const incident: Incident = {
  id: 'inc-1', hazard: 'fire', site: 'chundu', building: 'b3', level: 'fire', severity: 'critical', status: 'active_unack', startTs: T, lastUpdateTs: T,
  escalationLevel: 0, timeline: [], members: [],
};
const names = { site: (id: string) => (id === 'chundu' ? '春都社区' : undefined), building: (_s: string, id: string) => (id === 'b3' ? '3号楼' : undefined) };
const page = (person: PersonPage['person'], extra: Partial<PersonPage> = {}): PersonPage => ({ incident, person, reason: 'assigned', step: 0, ts: T, ackWithinMs: 5 * 60_000, ...extra });
const fast = { attempts: 2, baseDelayMs: 5, timeoutMs: 2_000 };

describe('personal page payloads', () => {
  const receivers: Receiver[] = [];
  const receiver = async (path?: string) => {
    const r = await startReceiver(path);
    receivers.push(r);
    return r;
  };
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  it('WeCom: markdown mentioning the user id; text with mentioned_mobile_list for a person known by phone only', async () => {
    const r = await receiver();
    const n = createRobotMentionNotifier({ targets: [{ url: r.url, format: 'wecom', name: '春都群' }], ...fast }, { names });
    expect(await n.notify(page({ id: 'li.na', displayName: '李娜', wecomUserId: 'LiNa', phone: '13800000001' }))).toEqual([{ channel: 'wecom', target: '春都群', outcome: 'sent' }]);
    await n.notify(page({ id: 'wang.fang', displayName: '王芳', phone: '138-0000-0002' }, { reason: 'escalated', step: 1 }));
    expect(r.requests[0]?.body).toEqual({
      msgtype: 'markdown',
      markdown: {
        content: [
          '### 【火警·紧急】春都社区 3号楼 火灾',
          '> <@LiNa> 您是当前值班人员，请处理',
          '> 发生时间：2025-06-02 02:30:00',
          '> 请在 5 分钟内确认，否则转交下一位',
          '> 事件编号：inc-1',
        ].join('\n'),
      },
    });
    expect(r.requests[1]?.body).toEqual({
      msgtype: 'text',
      text: {
        content: ['【火警·紧急】春都社区 3号楼 火灾', '上一位值班人员未确认，已转交给您（第 2 位），请处理', '发生时间：2025-06-02 02:30:00', '请在 5 分钟内确认，否则转交下一位', '事件编号：inc-1'].join('\n'),
        mentioned_list: [],
        mentioned_mobile_list: ['13800000002'],
      },
    });
    expect(r.requests.map((q) => q.headers['idempotency-key'])).toEqual(['inc-1:duty:0', 'inc-1:duty:1']);
  });

  it('DingTalk: at.atUserIds (or atMobiles) with the @ in the text, on the signed URL', async () => {
    const r = await receiver();
    const n = createRobotMentionNotifier({ targets: [{ url: r.url, format: 'dingtalk', dingtalkSecret: 'SECtest' }], ...fast }, { names, clock: () => T });
    await n.notify(page({ id: 'li.na', displayName: '李娜', dingtalkUserId: 'dd-lina', phone: '13800000001' }));
    await n.notify(page({ id: 'wang.fang', displayName: '王芳', phone: '13800000002' }, { ackWithinMs: undefined }));
    const title = '【火警·紧急】春都社区 3号楼 火灾';
    expect(r.requests[0]?.body).toEqual({
      msgtype: 'markdown',
      markdown: { title, text: [`### ${title}`, '> @dd-lina 您是当前值班人员，请处理', '> 发生时间：2025-06-02 02:30:00', '> 请在 5 分钟内确认，否则转交下一位', '> 事件编号：inc-1'].join('\n\n') },
      at: { atUserIds: ['dd-lina'], atMobiles: [], isAtAll: false },
    });
    expect(r.requests[1]?.body).toMatchObject({
      markdown: { text: expect.stringContaining('> @13800000002 您是当前值班人员') }, at: { atUserIds: [], atMobiles: ['13800000002'], isAtAll: false },
    });
    expect(String((r.requests[1]?.body.markdown as { text: string }).text)).toContain('请尽快确认');
    const url = new URL(r.requests[0]?.url ?? '', 'http://x');
    const sign = createHmac('sha256', 'SECtest').update(`${T}\nSECtest`).digest('base64');
    expect([url.searchParams.get('timestamp'), url.searchParams.get('sign')]).toEqual([String(T), sign]);
  });

  it('robots only of the incident’s site, and none that cannot reach the person', async () => {
    const mine = await receiver();
    const other = await receiver();
    const n = createRobotMentionNotifier({
      targets: [
        { url: mine.url, format: 'wecom', sites: ['chundu'] }, { url: other.url, format: 'wecom', sites: ['lakeside'] },
        { url: other.url, format: 'json' }, { url: other.url, format: 'dingtalk', sites: ['chundu'] },
      ], ...fast,
    });
    expect((await n.notify(page({ id: 'li.na', displayName: '李娜', wecomUserId: 'LiNa' }))).map((d) => d.channel)).toEqual(['wecom']);
    expect([mine.requests.length, other.requests.length]).toEqual([1, 0]);
  });

  it('SMS gateway: one JSON POST with the bearer token; a voice call for a critical incident when asked', async () => {
    const r = await receiver('/send');
    const sms = createSmsGatewayNotifier({ url: r.url, token: 'gw-secret', ...fast }, { names });
    const voice = createSmsGatewayNotifier({ url: r.url, voiceForCritical: true, ...fast }, { names });
    const person = { id: 'li.na', displayName: '李娜', phone: '+86 138 0000 0001' };
    expect(await sms.notify(page(person))).toEqual([{ channel: 'sms', target: new URL(r.url).host, outcome: 'sent' }]);
    expect(r.requests[0]?.headers.authorization).toBe('Bearer gw-secret');
    expect(r.requests[0]?.body).toEqual({
      channel: 'sms', to: '+8613800000001', key: 'inc-1:duty:0', person: { id: 'li.na', name: '李娜' },
      text: '【安居】【火警·紧急】春都社区 3号楼 火灾。李娜，您是当前值班人员，请处理；请在 5 分钟内确认，否则转交下一位。事件 inc-1',
      incident: { id: 'inc-1', site: 'chundu', building: 'b3', hazard: 'fire', level: 'fire', severity: 'critical' },
    });
    await voice.notify(page(person));
    expect(r.requests[1]?.body.channel).toBe('voice');
    expect(r.requests[1]?.headers.authorization).toBeUndefined();
    await voice.notify(page(person, { incident: { ...incident, severity: 'major' } }));
    expect(r.requests[2]?.body.channel).toBe('sms');
  });
});
