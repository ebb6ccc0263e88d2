import { describe, expect, it } from 'vitest';
import { HOUR_MS, hourlyFromRegister } from '../../reports/hourly.js';

/** Hand-computed hourly use from register reads (reports/hourly.ts). */
describe('hourly use from a cumulative register', () => {
  const day = Date.UTC(2025, 0, 1);

  it('puts each advance in the hour of the later read, skips resets, leaves unread hours null', () => {
    const reads = [
      { ts: day - HOUR_MS, value: 100 }, // the previous evening: the opening register
      { ts: day, value: 101.5 }, // hour 0: +1.5
      { ts: day + HOUR_MS, value: 103 }, // hour 1: +1.5
      // hour 2 has no read; hour 3's read carries both hours' use
      { ts: day + 3 * HOUR_MS, value: 106 }, // hour 3: +3
      { ts: day + 4 * HOUR_MS, value: 2 }, // meter replaced: a reset, not −104
      { ts: day + 5 * HOUR_MS, value: 4 }, // hour 5: +2
    ];
    expect(hourlyFromRegister(reads, day, 6)).toEqual([1.5, 1.5, null, 3, 0, 2]);
  });

  it('counts nothing for a first read without an earlier one', () => {
    expect(hourlyFromRegister([{ ts: day + 2 * HOUR_MS, value: 9 }, { ts: day + 3 * HOUR_MS, value: 10 }], day, 4)).toEqual([null, null, 0, 1]);
  });
});
