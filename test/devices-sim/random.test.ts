import { describe, expect, it } from 'vitest';
import { createRng, deviceRng, hashSeed } from '../../devices-sim/index.js';

const draw = (n: number, f: () => number) => Array.from({ length: n }, f);

describe('seeded random', () => {
  it('same seed gives the same stream, different seeds differ', () => {
    expect(draw(100, createRng(7).next)).toEqual(draw(100, createRng(7).next));
    expect(draw(100, createRng(7).next)).not.toEqual(draw(100, createRng(8).next));
  });

  it('device streams depend only on (seed, device id)', () => {
    const a = draw(20, deviceRng(1, 'dev-a').next);
    expect(draw(20, deviceRng(1, 'dev-a').next)).toEqual(a);
    expect(draw(20, deviceRng(1, 'dev-b').next)).not.toEqual(a);
    expect(draw(20, deviceRng(2, 'dev-a').next)).not.toEqual(a);
  });

  it('forks do not depend on how much the parent was consumed', () => {
    const r1 = createRng(3);
    const r2 = createRng(3);
    draw(50, r2.next);
    expect(draw(10, r1.fork('x').next)).toEqual(draw(10, r2.fork('x').next));
    expect(draw(10, r1.fork('x').next)).not.toEqual(draw(10, r1.fork('y').next));
  });

  it('hash separates its parts', () => {
    expect(hashSeed('ab', 'c')).not.toBe(hashSeed('a', 'bc'));
    expect(hashSeed(1, 'x')).not.toBe(hashSeed('1', 'x'));
  });

  it('helpers have the right ranges and moments', () => {
    const r = createRng(11);
    const n = 20_000;
    const u = draw(n, () => r.uniform(2, 4));
    expect(Math.min(...u)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...u)).toBeLessThan(4);
    const ints = draw(1000, () => r.int(1, 3));
    expect(new Set(ints)).toEqual(new Set([1, 2, 3]));
    const g = draw(n, () => r.normal(10, 2));
    const mean = g.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(g.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    expect(mean).toBeCloseTo(10, 1);
    expect(sd).toBeGreaterThan(1.9);
    expect(sd).toBeLessThan(2.1);
    for (const lambda of [0.2, 4, 50]) {
      const p = draw(5000, () => r.poisson(lambda));
      expect(p.reduce((a, b) => a + b, 0) / 5000).toBeCloseTo(lambda, lambda < 1 ? 1 : 0);
      expect(p.every((k) => Number.isInteger(k) && k >= 0)).toBe(true);
    }
    const e = draw(n, () => r.exponential(5));
    expect(e.reduce((a, b) => a + b, 0) / n).toBeGreaterThan(4.8);
    expect(e.reduce((a, b) => a + b, 0) / n).toBeLessThan(5.2);
    expect(r.poisson(0)).toBe(0);
  });
});
