import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm } from '../../alerts/contracts.js';
import { createWebhookNotifier } from '../../alerts/notifiers/index.js';
import type { Proposal } from '../../core/index.js';
import type { Incident, IncidentEvent } from '../../storage/incidents/contract.js';
import { startRecordingServer } from '../helpers/recording-server.js';

/**
 * WeCom and DingTalk group robots (a real local HTTP server standing in for both) hear about an
 * incident's proposed response: what it proposes, on which device, what it takes to confirm it
 * (Chinese first, English second), when it acts by itself or that an interlock keeps it for a
 * person — and get a message when it is carried out and when its command has an outcome.
 */

const T = Date.UTC(2025, 2, 3, 0, 12, 5); // 08:12:05 in Shanghai
const alarm: Alarm = {
  id: 'a-1', type: 'water_burst', originator: { kind: 'device', id: 'wm-301' }, site: 'chundu', building: 'b3', severity: 'critical',
  status: 'active_unack', startTs: T, lastUpdateTs: T, escalationLevel: 0, count: 1, details: { flow: 33.3, limit: 20.8, holdMin: 30 }, timeline: [],
};
const proposal: Proposal = {
  id: 'p-1', alarmId: 'a-1', alarmType: 'water_burst', device: 'wm-301', command: 'close', mode: 'auto_after', autoAt: T + 10 * 60_000, status: 'proposed', createdAt: T,
};
const incident: Incident = {
  id: 'i-1', hazard: 'water', site: 'chundu', building: 'b3', level: 'alarm', severity: 'critical', status: 'active_unack', startTs: T, lastUpdateTs: T,
  escalationLevel: 0, timeline: [], proposals: [proposal],
  members: [{ id: 'a-1', type: 'water_burst', originator: alarm.originator, site: 'chundu', building: 'b3', severity: 'critical', status: 'active_unack', startTs: T, details: alarm.details }],
};
const names = { device: (id: string) => (id === 'wm-301' ? { name: '3-301 户表', location: '301 厨房' } : undefined), building: () => '3号楼', site: () => '春都社区' };

describe('webhook messages about a proposed response', () => {
  let robot: Awaited<ReturnType<typeof startRecordingServer>>;
  type Robot = { markdown: { content?: string; title?: string; text?: string } };
  const messages = () => robot.received.map((r) => ({ url: r.url, body: JSON.parse(r.body) as Robot }));

  beforeAll(async () => {
    robot = await startRecordingServer(() => ({ status: 200, body: '{"errcode":0,"errmsg":"ok"}' }));
  });
  afterAll(async () => {
    await robot.close();
  });

  it('the raise proposes and says how to confirm; carried out automatically and its outcome page; a command still on its way does not', async () => {
    const n = createWebhookNotifier(
      { targets: [{ url: `${robot.base}/wecom`, format: 'wecom' }, { url: `${robot.base}/dingtalk`, format: 'dingtalk' }], baseDelayMs: 1 },
      { logger: pino({ level: 'silent' }), metrics: new Registry(), names },
    );
    const performed: Proposal = { ...proposal, status: 'performed', decidedAt: T + 10 * 60_000, decidedBy: 'auto:response', commandId: 'c-1', commandStatus: 'sent' };
    const events: IncidentEvent[] = [
      { seq: 1, ts: T, type: 'raised', incident, alarm, response: { proposalId: 'p-1', step: 'proposed' } },
      { seq: 2, ts: T + 600_000, type: 'updated', incident: { ...incident, proposals: [performed] }, response: { proposalId: 'p-1', step: 'performed' } },
      { seq: 3, ts: T + 600_500, type: 'updated', incident: { ...incident, proposals: [{ ...performed, commandStatus: 'delivered' }] }, response: { proposalId: 'p-1', step: 'command' } },
      {
        seq: 4, ts: T + 615_000, type: 'updated', incident: { ...incident, proposals: [{ ...performed, commandStatus: 'succeeded', commandState: 'closed' }] },
        response: { proposalId: 'p-1', step: 'succeeded' },
      },
    ];
    for (const e of events) n.notify(e);
    await n.idle();
    await n.close();
    const wecom = messages().filter((r) => r.url === '/wecom').map((r) => r.body.markdown.content!);
    const ding = messages().filter((r) => r.url === '/dingtalk').map((r) => r.body.markdown);
    expect(wecom).toHaveLength(3);
    expect(ding).toHaveLength(3);

    const [raised, auto, outcome] = wecom as [string, string, string];
    expect(raised).toContain('> 处置建议：关闭阀门 — 3-301 户表（301 厨房）');
    expect(raised).toContain('在控制室该事件下点“确认”（或“拒绝”）');
    expect(raised).toContain('> 若 2025-03-03 08:22:05 前无人确认或拒绝，将自动执行');
    expect(raised).toContain('> Proposed: close the valve on wm-301 — confirm or reject it on this incident in the control room');
    // Chinese first, English second.
    expect(raised.indexOf('处置建议')).toBeLessThan(raised.indexOf('Proposed:'));
    expect(auto).toContain('> 状态：**无人确认，已自动关闭阀门**');
    expect(auto).toContain('系统自动执行');
    expect(outcome).toContain('> 状态：**处置已执行成功：关闭阀门**');
    expect(ding[0]!.text).toBe(raised);
    expect(ding[0]!.title).toContain('3号楼');
  });

  it('an interlocked proposal says it is for a person only, with its standard', async () => {
    robot.received.length = 0;
    const n = createWebhookNotifier({ targets: [{ url: `${robot.base}/wecom`, format: 'wecom' }] }, { logger: pino({ level: 'silent' }), metrics: new Registry(), names });
    const locked: Proposal = {
      id: 'p-2', alarmId: 'a-2', alarmType: 'residual_current', device: 'pm-lift', command: 'open', mode: 'propose', status: 'proposed', createdAt: T,
      interlock: { code: 'interlock_power_continuity', reason: 'the circuit feeds elevator', standard: 'GB 50016-2014 §7.3, §10.1' },
    };
    n.notify({ seq: 1, ts: T, type: 'raised', incident: { ...incident, id: 'i-2', hazard: 'electrical', proposals: [locked] }, alarm: { ...alarm, id: 'a-2', type: 'residual_current' } });
    await n.idle();
    await n.close();
    const text = messages()[0]!.body.markdown.content!;
    expect(text).toContain('> 处置建议：断开断路器（断电） — pm-lift');
    expect(text).toContain('> ⚠ 联锁：此回路须保持供电，仅可人工确认，绝不自动执行（GB 50016-2014 §7.3, §10.1）');
    expect(text).toContain('> Interlock: never carried out automatically (GB 50016-2014 §7.3, §10.1)');
    expect(text).not.toContain('将自动执行');
  });
});
