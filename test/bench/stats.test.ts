import { describe, expect, it } from 'vitest';
import { median, percentile } from '../../bench/common/stats.js';

describe('bench statistics', () => {
  it('median: the middle value, the mean of the middle two of an even count, NaN of nothing; the input is not reordered', () => {
    const rounds = [0.6, 0.43];
    expect(median(rounds)).toBeCloseTo(0.515, 10);
    expect(rounds).toEqual([0.6, 0.43]);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([5])).toBe(5);
    expect(median([])).toBeNaN();
  });

  it('percentile: nearest rank over sorted samples, the largest for p100', () => {
    const s = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(s, 50)).toBe(51);
    expect(percentile(s, 99)).toBe(100);
    expect(percentile(s, 100)).toBe(100);
    expect(percentile(new Float64Array(0), 50)).toBeNaN();
  });
});
