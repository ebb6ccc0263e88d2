import { describe, expect, it } from 'vitest';
import type { Reading } from '../../core/index.js';
import { createHourlyPending } from '../../storage/embedded/hourly-pending.js';

/** The in-memory side of the hourly aggregates (storage/embedded/hourly-pending.ts): what a flush takes and gives back. */

const HOUR = 3_600_000;
const T = Date.UTC(2026, 5, 1, 10);
const r = (device: string, ts: number, smoke: number, extra: Reading['fields'] = {}): Reading =>
  ({ device, kind: 'smoke_detector', site: 's1', building: 'b1', ts, fields: { smoke, ...extra } });

describe('hourly pending aggregates', () => {
  it('aggregates each (device, hour): count, min, max, sum, first and last by time, booleans as 0/1', () => {
    const p = createHourlyPending();
    p.add('smoke_detector', [r('a', T + 1_000, 0.3, { alarm: true }), r('a', T + 2_000, 0.1), r('a', T + 3_000, 0.5, { alarm: false }), r('b', T + HOUR, 1)]);
    const hours = p.take();
    expect(hours.map((h) => [h.device, h.hour, h.loTs, h.lastTs, h.late])).toEqual([['a', T, T + 1_000, T + 3_000, false], ['b', T + HOUR, T + HOUR, T + HOUR, false]]);
    const a = hours[0]!;
    const smoke = a.fields[0]!;
    expect([smoke.n, smoke.min, smoke.max, smoke.first, smoke.last]).toEqual([3, 0.1, 0.5, 0.3, 0.5]);
    expect(smoke.sum).toBeCloseTo(0.9, 12);
    const alarm = a.fields[3]!;
    expect([alarm.n, alarm.sum, alarm.first, alarm.last]).toEqual([2, 1, 1, 0]);
    expect(p.size()).toBe(0);
  });

  it('a reading at or before one already pending marks its hour late (recomputed, never added twice)', () => {
    const p = createHourlyPending();
    p.add('smoke_detector', [r('a', T + 5_000, 1)]);
    p.add('smoke_detector', [r('a', T + 5_000, 2), r('b', T + 1, 1)]);
    expect(p.take().map((h) => [h.device, h.late])).toEqual([['a', true], ['b', false]]);
  });

  it('hours given back after a failed flush are pending again; ones that took readings meanwhile are recomputed', () => {
    const p = createHourlyPending();
    p.add('smoke_detector', [r('a', T + 1_000, 1), r('b', T + 1_000, 1)]);
    const taken = p.take();
    p.add('smoke_detector', [r('a', T + 9_000, 2), r('c', T + 9_000, 3)]);
    p.restore(taken);
    const back = new Map(p.take().map((h) => [h.device, h]));
    expect([...back.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect([back.get('a')!.late, back.get('a')!.loTs, back.get('a')!.lastTs]).toEqual([true, T + 1_000, T + 9_000]);
    expect([back.get('b')!.late, back.get('c')!.late]).toEqual([false, false]);
  });

  it('new hours are those not pending yet, each once', () => {
    const p = createHourlyPending();
    p.add('smoke_detector', [r('a', T + 1, 1)]);
    expect(p.newHours('smoke_detector', [r('a', T + 2, 1), r('a', T + HOUR, 1), r('b', T + 3, 1), r('b', T + 4, 1)]))
      .toEqual([{ device: 'a', hour: T + HOUR }, { device: 'b', hour: T }]);
    expect(p.newHours('water_meter', [r('a', T + 2, 1)])).toEqual([{ device: 'a', hour: T }]);
  });
});
