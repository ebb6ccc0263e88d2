import { describe, expect, it } from 'vitest';
import { emptySlope, slopeOver, type SlopeState } from '../../../alerts/rules/windows.js';

/** The least-squares slope (per minute) through `pts`, computed directly, the way the fit is defined. */
function directSlope(pts: ReadonlyArray<[number, number]>): number {
  const n = pts.length;
  const t0 = pts[0]![0];
  const mx = pts.reduce((a, [t]) => a + (t - t0) / 60_000, 0) / n;
  const my = pts.reduce((a, [, v]) => a + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [t, v] of pts) {
    const dx = (t - t0) / 60_000 - mx;
    sxy += dx * (v - my);
    sxx += dx * dx;
  }
  return sxy / sxx;
}

/** A small deterministic generator (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('slopeOver: running sums', () => {
  it('answers what a direct fit through its samples answers, over dense, sparse, repeated and late samples', () => {
    for (let seed = 1; seed <= 20; seed += 1) {
      const rnd = random(seed);
      const s = emptySlope();
      let now = Date.UTC(2026, 11, 5);
      let checked = 0;
      for (let i = 0; i < 3_000; i += 1) {
        // Gaps from 1 ms (thinned) to 2 min (longer than the window); sometimes the same instant or a late one.
        const r = rnd();
        const gap = r < 0.05 ? 0 : r < 0.08 ? -500 : r < 0.5 ? Math.ceil(rnd() * 20) : r < 0.95 ? Math.ceil(rnd() * 5_000) : Math.ceil(rnd() * 120_000);
        now += gap;
        const value = 20 + (now % 3_600_000) / 60_000 + Math.round(rnd() * 10) / 10;
        const slope = slopeOver(s, now, value, 60_000, 45_000);
        if (gap < 0) now -= gap; // a late sample is ignored; time goes on from where it was
        if (!slope) continue;
        expect(slope.n).toBe(s.pts.length);
        expect(slope.spanMs).toBe(now - s.pts[0]![0]);
        expect(slope.perMin).toBeCloseTo(directSlope(s.pts), 6);
        checked += 1;
      }
      expect(checked).toBeGreaterThan(100);
    }
  });

  it('keeps at most one sample per 1/240 of the window, the newest, so a fast reporter spans the window', () => {
    const s = emptySlope();
    const t0 = Date.UTC(2026, 11, 5);
    // 100 reports a second for 90 s, rising 10 per minute.
    let last;
    for (let ms = 0; ms <= 90_000; ms += 10) last = slopeOver(s, t0 + ms, (ms / 60_000) * 10, 60_000, 45_000);
    expect(s.pts.length).toBeLessThanOrEqual(242);
    expect(last?.spanMs).toBeGreaterThanOrEqual(59_000);
    expect(last?.perMin).toBeCloseTo(10, 6);
    expect(s.pts.at(-1)).toEqual([t0 + 90_000, 15]);
  });

  it('takes state saved without sums (an earlier version) and state that went through JSON', () => {
    const t0 = Date.UTC(2026, 11, 5);
    const fresh = emptySlope();
    for (let i = 0; i < 12; i += 1) slopeOver(fresh, t0 + i * 5_000, 20 + i, 60_000, 45_000);
    const old: SlopeState = { pts: fresh.pts.map(([t, v]) => [t, v]) };
    const saved = JSON.parse(JSON.stringify(fresh)) as SlopeState;
    const next = [old, saved, fresh].map((s) => slopeOver(s, t0 + 60_000, 32, 60_000, 45_000));
    expect(next[0]).toEqual(next[2]);
    expect(next[1]).toEqual(next[2]);
    expect(next[2]?.perMin).toBeCloseTo(12, 6);
  });
});
