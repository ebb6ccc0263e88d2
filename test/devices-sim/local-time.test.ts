import { describe, expect, it } from 'vitest';
import { dayOfYear, localTime } from '../../devices-sim/kinds/common.js';

const DAY = 86_400_000;

/** The arithmetic day of the year against the calendar of Date, day by day over three centuries. */
describe('dayOfYear', () => {
  it('agrees with Date for every day from 1900 to 2200, leap days and centuries included', () => {
    const mismatches: string[] = [];
    for (let d = Math.floor(Date.UTC(1900, 0, 1) / DAY); d < Date.UTC(2200, 0, 1) / DAY; d++) {
      const date = new Date(d * DAY);
      const expected = Math.floor((d * DAY - Date.UTC(date.getUTCFullYear(), 0, 1)) / DAY);
      if (dayOfYear(d) !== expected) mismatches.push(`${date.toISOString().slice(0, 10)}: ${dayOfYear(d)} ≠ ${expected}`);
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(dayOfYear(Math.floor(Date.UTC(2024, 11, 31) / DAY))).toBe(365);
    expect(dayOfYear(Math.floor(Date.UTC(2100, 2, 1) / DAY))).toBe(59);
  });

  it('localTime reads the day of the year in local time (Asia/Shanghai, +8 h)', () => {
    // 2026-01-01 20:00 UTC is 2 January 04:00 in Shanghai.
    expect(localTime(Date.UTC(2026, 0, 1, 20), 480)).toMatchObject({ dayOfYear: 1, weekday: 5 });
  });
});
