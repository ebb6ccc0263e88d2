import { afterEach, describe, expect, it } from 'vitest';
import { AlarmError, builtinRules, parseRulesConfig, type Alarm } from '../../alerts/index.js';
import type { Device } from '../../core/index.js';
import { closeHarness, openHarness, removeTempDirs, T0, tempDir, toReading, type Harness } from './harness.js';
import { coalesceQuietUpdates, levelOf, type IncidentTransition } from '../../alerts/incidents/lifecycle.js';
import type { Incident } from '../../storage/incidents/contract.js';

const sd: Device = { id: 'sd-1', kind: 'smoke_detector', site: 'chundu', building: 'b1', name: 'sd-1', createdAt: T0 };
const bin: Device = { id: 'bin-h', kind: 'smart_bin', site: 'yuhua', building: 'b9', category: 'hazardous', name: 'bin-h', createdAt: T0 };
const devices = new Map([[sd.id, sd], [bin.id, bin]]);

let h: Harness | undefined;
afterEach(async () => {
  if (h) await closeHarness(h);
  h = undefined;
  await removeTempDirs();
});

async function smokeAlarm(harness: Harness, t = 0): Promise<Alarm> {
  await harness.engine.accept([toReading(sd, t, { smoke: 0.5, alarm: true })]);
  const a = harness.engine.active().find((x) => x.type === 'smoke');
  if (!a) throw new Error('no smoke alarm');
  return a;
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(AlarmError);
  expect((err as AlarmError).code).toBe(code);
}

describe('alarm lifecycle', () => {
  it('ack, assign, comment, clear: statuses, times and timeline', async () => {
    h = await openHarness({ dir: await tempDir(), devices });
    const a = await smokeAlarm(h);
    h.now.ms = T0 + 60_000;
    const acked = await h.engine.ack(a.id, 'wang');
    expect(acked).toMatchObject({ status: 'active_ack', ackTs: T0 + 60_000 });
    await expectCode(h.engine.ack(a.id, 'wang'), 'already_acknowledged');
    h.now.ms = T0 + 90_000;
    expect(await h.engine.assign(a.id, 'li', 'zhao')).toMatchObject({ assignee: 'li' });
    h.now.ms = T0 + 120_000;
    await h.engine.comment(a.id, 'li', 'on my way, building 1 unit 2');
    await expectCode(h.engine.comment(a.id, 'li', '  '), 'invalid');
    h.now.ms = T0 + 300_000;
    const cleared = await h.engine.clear(a.id, 'li');
    expect(cleared).toMatchObject({ status: 'cleared_ack', clearTs: T0 + 300_000 });
    await expectCode(h.engine.clear(a.id, 'li'), 'already_cleared');
    await expectCode(h.engine.ack('nope', 'li'), 'not_found');

    const stored = await h.engine.get(a.id);
    expect(stored?.timeline.map((e) => [e.event, e.actor])).toEqual([
      ['raised', 'rule:smoke'], ['acked', 'wang'], ['assigned', 'zhao'], ['commented', 'li'], ['cleared', 'li'],
    ]);
    expect(stored?.timeline[3]?.text).toBe('on my way, building 1 unit 2');
    expect(h.events.map((e) => e.type)).toEqual(['raised', 'acked', 'assigned', 'commented', 'cleared']);
    expect(h.engine.active()).toHaveLength(0);
  });

  it('clear before ack leaves cleared_unack; ack then closes it as cleared_ack', async () => {
    h = await openHarness({ dir: await tempDir(), devices });
    const a = await smokeAlarm(h);
    expect(await h.engine.clear(a.id, 'li')).toMatchObject({ status: 'cleared_unack' });
    expect(await h.engine.ack(a.id, 'wang')).toMatchObject({ status: 'cleared_ack' });
  });

  it('escalates only active unacknowledged alarms', async () => {
    h = await openHarness({ dir: await tempDir(), devices });
    const a = await smokeAlarm(h);
    expect(await h.engine.escalate(a.id, 'escalation', 'unacknowledged for 5 min')).toMatchObject({ escalationLevel: 1 });
    expect(await h.engine.escalate(a.id, 'escalation')).toMatchObject({ escalationLevel: 2 });
    await h.engine.ack(a.id, 'wang');
    await expectCode(h.engine.escalate(a.id, 'escalation'), 'not_active');
    expect(h.events.map((e) => e.type)).toEqual(['raised', 'escalated', 'escalated', 'acked']);
  });

  it('a condition that persists after a manual clear raises a new alarm (never reopens the old one)', async () => {
    h = await openHarness({ dir: await tempDir(), devices });
    const a = await smokeAlarm(h);
    await h.engine.clear(a.id, 'li');
    const b = await smokeAlarm(h, 10);
    expect(b.id).not.toBe(a.id);
    expect(b.count).toBe(1);
    expect((await h.engine.list({ type: 'smoke', limit: 10, offset: 0 })).total).toBe(2);
  });

  it('eventsSince replays from any seq, across a restart, with seq continuing', async () => {
    const dir = await tempDir();
    h = await openHarness({ dir, devices });
    const a = await smokeAlarm(h);
    await h.engine.ack(a.id, 'wang');
    await h.engine.comment(a.id, 'wang', 'checked');
    expect((await h.engine.eventsSince(0)).map((e) => [e.seq, e.type])).toEqual([[1, 'raised'], [2, 'acked'], [3, 'commented']]);
    expect((await h.engine.eventsSince(2)).map((e) => e.seq)).toEqual([3]);
    expect(await h.engine.eventsSince(3)).toEqual([]);
    expect((await h.engine.eventsSince(0, 1)).map((e) => e.seq)).toEqual([1]);
    await closeHarness(h);
    h = await openHarness({ dir, devices });
    expect(h.engine.active().map((x) => x.id)).toEqual([a.id]);
    await h.engine.clear(a.id, 'wang');
    const replay = await h.engine.eventsSince(0);
    expect(replay.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(replay[3]).toMatchObject({ type: 'cleared', alarm: { id: a.id, status: 'cleared_ack' } });
  });

  it('lists with filters and pagination; metrics count raised and active alarms', async () => {
    h = await openHarness({ dir: await tempDir(), devices });
    await smokeAlarm(h);
    await h.engine.accept([toReading(bin, 0, { fill: 85, battery: 15 })]);
    const q = (extra: object) => h!.engine.list({ limit: 10, offset: 0, ...extra });
    expect((await q({})).total).toBe(3);
    // Hazardous bin: 85 % is one level above the usual warning.
    expect((await q({ type: 'bin_fill' })).items[0]).toMatchObject({ severity: 'minor', site: 'yuhua', building: 'b9' });
    expect((await q({ site: 'yuhua' })).total).toBe(2);
    expect((await q({ severity: ['critical', 'minor'] })).total).toBe(2);
    expect((await q({ status: 'cleared_unack' })).total).toBe(0);
    const page = await h.engine.list({ limit: 1, offset: 1 });
    expect(page).toMatchObject({ total: 3 });
    expect(page.items).toHaveLength(1);
    const text = await h.metrics.metrics();
    expect(text).toContain('anju_alarms_raised_total{type="smoke",severity="critical"} 1');
    expect(text).toContain('anju_alarms_raised_total{type="bin_fill",severity="minor"} 1');
    expect(text).toContain('anju_alarms_active{severity="critical"} 1');
    expect(text).toContain('anju_alarms_active{severity="warning"} 1');
    await h.engine.clear(h.engine.active().find((a) => a.type === 'smoke')!.id, 'li');
    expect(await h.metrics.metrics()).toContain('anju_alarms_active{severity="critical"} 0');
  });
});

describe('rule configuration', () => {
  it('overrides per site, kind and device, most specific winning', async () => {
    const rules = {
      all: { bin_fill: { warnAt: 70 } },
      sites: { yuhua: { bin_fill: { warnAt: 60, clearBelow: 40 } } },
      devices: { 'bin-h': { bin_fill: { warnAt: 50 } } },
      kinds: { smoke_detector: { smoke: { threshold: 1, clearBelow: 0.5 } } },
    };
    h = await openHarness({ dir: await tempDir(), devices, rules });
    // 0.5 dB/m held 40 s: past the default 0.2 dB/m and its 30 s verification, not past this kind's 1 dB/m.
    await h.engine.accept([toReading(bin, 0, { fill: 55 }), toReading(sd, 0, { smoke: 0.5 }), toReading(sd, 40, { smoke: 0.5 })]);
    expect(h.engine.active().map((a) => a.type)).toEqual(['bin_fill']);
  });

  it('refuses unknown rules and out-of-range values with their path', () => {
    expect(() => parseRulesConfig({ all: { nope: {} } }, builtinRules)).toThrow(/unknown rule "nope"/);
    expect(() => parseRulesConfig({ sites: { s1: { smoke: { threshold: -1 } } } }, builtinRules)).toThrow(/sites\.s1\.smoke/);
    expect(() => parseRulesConfig({ all: { smoke: { treshold: 1 } } }, builtinRules)).toThrow(/unknown parameter "treshold"/);
    expect(() => parseRulesConfig({ kinds: { smart_bin: { bin_fill: { warnAt: 120 } } } }, builtinRules)).toThrow(/kinds\.smart_bin\.bin_fill\.warnAt/);
    expect(parseRulesConfig({}, builtinRules)).toEqual({ all: {}, kinds: {}, sites: {}, devices: {} });
  });

  it('a merged combination that breaks a cross-field constraint skips that rule for the device, counted', async () => {
    h = await openHarness({ dir: await tempDir(), devices, rules: { devices: { 'bin-h': { bin_fill: { warnAt: 95 } } } } });
    await h.engine.accept([toReading(bin, 0, { fill: 99, battery: 15 })]);
    expect(h.engine.active().map((a) => a.type)).toEqual(['battery']);
    expect(h.logLines.some((l) => l.msg === 'alert rule failed' && l.rule === 'bin_fill')).toBe(true);
  });

  it('a disabled rule does not run', async () => {
    h = await openHarness({ dir: await tempDir(), devices, rules: { devices: { 'sd-1': { smoke: { enabled: false } } } } });
    await h.engine.accept([toReading(sd, 0, { smoke: 5, alarm: true })]);
    expect(h.engine.active()).toEqual([]);
  });
});

describe('incident level from its members (GB 50116-2013 §4.1.6)', () => {
  const member = (device: string, type: string, status: Alarm['status'] = 'active_unack', clearTs?: number) => ({
    type, originator: { kind: 'device' as const, id: device }, status, ...(clearTs !== undefined ? { clearTs } : {}),
  });
  it('two detectors confirm; a call point alone confirms; CO on two devices does not', () => {
    expect(levelOf('fire', [member('a', 'smoke'), member('b', 'smoke')], T0)).toBe('fire');
    expect(levelOf('fire', [member('a', 'manual_call')], T0)).toBe('fire');
    expect(levelOf('fire', [member('a', 'co'), member('b', 'co')], T0)).toBe('pre_alarm');
    expect(levelOf('fire', [member('a', 'smoke'), member('a', 'heat_rise')], T0)).toBe('fire');
    expect(levelOf('water', [member('a', 'leak')], T0)).toBe('alarm');
  });
  it('follows each device\'s fire_risk settings: switched off it confirms nothing; a cleared signal counts for its window', () => {
    const off = (id: string) => (id === 'b' ? { enabled: false, windowS: 120 } : undefined);
    expect(levelOf('fire', [member('a', 'smoke'), member('b', 'smoke')], T0, off)).toBe('pre_alarm');
    const cleared = [member('a', 'smoke', 'cleared_unack', T0 - 100_000), member('b', 'smoke')];
    expect(levelOf('fire', cleared, T0)).toBe('fire');
    expect(levelOf('fire', cleared, T0, () => ({ enabled: true, windowS: 60 }))).toBe('pre_alarm');
  });
});

describe('incident events of one commit', () => {
  /** A transition as the store records it; `n` marks which decision it was. */
  const tr = (id: string, n: number, event: Partial<IncidentTransition['event']> = {}): IncidentTransition =>
    ({ incident: { id, lastUpdateTs: n } as unknown as Incident, event: { type: 'updated', ts: n, ...event } });
  const shape = (ts: readonly IncidentTransition[]) => ts.map((t) => `${t.incident.id}:${t.event.type}@${t.event.ts}`);

  it('records each run of quiet updates as its last; paging, response, ack and other events keep their places and break the run', () => {
    const input = [
      tr('A', 0, { type: 'raised' }),
      tr('A', 1), tr('B', 1), tr('A', 2),
      tr('A', 3, { previousLevel: 'pre_alarm' }), // 预警 → 火警: pages
      tr('A', 4), tr('B', 2),
      tr('B', 3, { type: 'acked' }),
      tr('A', 5), tr('A', 6, { previousSeverity: 'major' }), tr('A', 7),
      tr('C', 1, { type: 'assigned' }), tr('C', 2, { response: { step: 'proposed' } as never }), tr('C', 3), tr('C', 4),
    ];
    expect(shape(coalesceQuietUpdates(input))).toEqual([
      'A:raised@0', 'A:updated@2', 'B:updated@2', 'A:updated@3', 'A:updated@5', 'B:acked@3', 'A:updated@6', 'A:updated@7',
      'C:assigned@1', 'C:updated@2', 'C:updated@4',
    ]);
    // The events kept are the very transitions decided (their incidents as those left them).
    const out = coalesceQuietUpdates(input);
    expect(out.every((t) => input.includes(t))).toBe(true);
    expect(coalesceQuietUpdates([])).toEqual([]);
  });
});
