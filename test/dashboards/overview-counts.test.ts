import { describe, expect, it } from 'vitest';
import type { AlarmEvent, Overview } from '../../dashboards/web/src/types.js';
import { paintAlarmEvent } from '../../dashboards/web/src/views/overview-counts.js';

/**
 * The control room's live painting of alarm events onto the site overview's counts
 * (dashboards/web/src/views/overview-counts.ts): an event the counts already include — replayed by
 * the stream after a reconnect, or raised just before the overview was read — is never added twice
 * (a restart test once saw one fire shown as "Critical ×2").
 */

const overview = (seq: number): Overview => ({
  site: { id: 's1', name: 'S1', timezone: 'Asia/Shanghai' }, generatedAt: '2026-12-04T08:00:00.000Z',
  alarms: { active: 1, bySeverity: { critical: 1, major: 0, minor: 0, warning: 0 }, seq },
  devices: { total: 2, online: 2, offline: 0, never: 0, byKind: {} },
  buildings: [{ id: 'b2', name: 'B2', worst: 'critical', activeAlarms: 1, devices: { total: 2, online: 2, offline: 0, never: 0 } }],
  binStats: {}, binsTotal: 0, bins: [],
});
const raised = (seq: number, severity: 'critical' | 'major' = 'critical'): AlarmEvent => ({
  seq, type: 'raised', time: '2026-12-04T08:00:00.000Z',
  alarm: { id: `a${seq}`, type: 'smoke', site: 's1', building: 'b2', severity, status: 'active_unack' },
} as unknown as AlarmEvent);

describe('painting live alarm events onto the overview', () => {
  it('adds an event after the overview\'s seq once, and none it already includes', () => {
    const data = overview(7);
    // Raised before the overview was read (seq 7 ≤ 7): already counted.
    expect(paintAlarmEvent(data, 's1', raised(7))).toBe(false);
    expect(data.buildings[0]!.activeAlarms).toBe(1);
    // A later one: counted, once — the same event replayed again is not.
    expect(paintAlarmEvent(data, 's1', raised(8, 'major'))).toBe(true);
    expect(paintAlarmEvent(data, 's1', raised(8, 'major'))).toBe(false);
    expect([data.buildings[0]!.activeAlarms, data.alarms.active, data.alarms.bySeverity.major, data.alarms.seq]).toEqual([2, 2, 1, 8]);
  });

  it('ignores other sites\' events and events of alarms no longer active', () => {
    const data = overview(0);
    expect(paintAlarmEvent(data, 's2', raised(1))).toBe(false);
    const cleared = { ...raised(2), alarm: { ...raised(2).alarm, status: 'cleared_ack' } } as AlarmEvent;
    expect(paintAlarmEvent(data, 's1', cleared)).toBe(false);
    expect(data.buildings[0]!.activeAlarms).toBe(1);
  });
});
