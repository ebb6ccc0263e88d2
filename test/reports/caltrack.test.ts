import { describe, expect, it } from 'vitest';
import { balancePointGridC, cdd, fitCaltrack, hdd, minNonZeroDegreeDays, minTotalDegreeDaysC } from '../../reports/baseline/caltrack.js';
import { ols, studentTCdf } from '../../reports/stats.js';

/**
 * The CalTRACK 2.0 daily model rules (reports/baseline/caltrack.ts), each on data built by hand so
 * the answer is known, plus a brute-force oracle: every candidate solved by plain least squares
 * (stats.ols), qualified by the rules as written, best adjusted R² — which the sufficient-statistics
 * solver must reproduce on noisy data.
 */

const day = (i: number) => new Date(Date.UTC(2025, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
const series = (temps: readonly number[], use: (t: number, i: number) => number) => {
  const map = new Map<string, number>();
  const pts = temps.map((t, i) => {
    map.set(day(i), t);
    return { date: day(i), value: use(t, i) };
  });
  return { pts, temps: map };
};
const fToC = (f: number) => ((f - 32) * 5) / 9;

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Every candidate by plain OLS, qualified as §3.2.2 and §3.4.3.2 say, the best adjusted R² (§3.4.3.3). */
function oracle(pts: readonly { date: string; value: number }[], temps: ReadonlyMap<string, number>) {
  const y = pts.map((p) => p.value);
  const t = pts.map((p) => temps.get(p.date) as number);
  const n = y.length;
  const ybar = y.reduce((a, b) => a + b, 0) / n;
  const ssTot = y.reduce((a, v) => a + (v - ybar) ** 2, 0);
  const term = (b: number, f: typeof hdd) => {
    const x = t.map((ti) => f(ti, b));
    return { x, ok: x.filter((v) => v > 0).length >= 10 && x.reduce((a, v) => a + v, 0) >= (20 * 5) / 9 };
  };
  let best = { type: 'intercept_only', adjR2: 0, beta: [ybar], hb: NaN, cb: NaN };
  const consider = (type: string, cols: number[][], hb: number, cb: number) => {
    const beta = ols(cols.map((_, i) => cols[i] as number[]), y);
    if (!beta || beta.some((v) => v < 0)) return;
    const ss = y.reduce((a, v, i) => a + (v - (cols[i] as number[]).reduce((s, c, k) => s + c * (beta[k] as number), 0)) ** 2, 0);
    const p = beta.length;
    const adjR2 = 1 - (ss / (n - p)) / (ssTot / (n - 1));
    if (adjR2 > best.adjR2 + 1e-12) best = { type, adjR2, beta, hb, cb };
  };
  for (const hb of balancePointGridC) {
    const h = term(hb, hdd);
    if (h.ok) consider('hdd', h.x.map((v) => [1, v]), hb, NaN);
  }
  for (const cb of balancePointGridC) {
    const c = term(cb, cdd);
    if (c.ok) consider('cdd', c.x.map((v) => [1, v]), NaN, cb);
  }
  for (const hb of balancePointGridC) {
    for (const cb of balancePointGridC) {
      if (cb < hb) continue;
      const h = term(hb, hdd);
      const c = term(cb, cdd);
      if (h.ok && c.ok) consider('hdd_cdd', h.x.map((v, i) => [1, v, c.x[i] as number]), hb, cb);
    }
  }
  return best;
}

describe('CalTRACK 2.0 daily model rules', () => {
  it('§3.2.1, §3.2.3: balance points 30–90 °F in 1 °F steps, exactly in °C', () => {
    expect(balancePointGridC).toHaveLength(61);
    expect(balancePointGridC[0]).toBeCloseTo(fToC(30), 12);
    expect(balancePointGridC[60]).toBeCloseTo(fToC(90), 12);
    for (let i = 1; i < 61; i++) expect((balancePointGridC[i] as number) - (balancePointGridC[i - 1] as number)).toBeCloseTo(5 / 9, 12);
    // §3.2.2.2: 10 days, 20 °F·days = 11.1 °C·days.
    expect(minNonZeroDegreeDays).toBe(10);
    expect(minTotalDegreeDaysC).toBeCloseTo(11.1111, 4);
  });

  it('§3.3.2, §3.4.1: recovers a known HDD+CDD model exactly (59 °F and 72 °F balance points)', () => {
    const temps = Array.from({ length: 200 }, (_, i) => -5 + (40 * ((i * 37) % 200)) / 200);
    const { pts, temps: map } = series(temps, (t) => 100 + 3 * hdd(t, fToC(59)) + 5 * cdd(t, fToC(72)));
    const m = fitCaltrack(pts, map);
    expect(m?.model.type).toBe('hdd_cdd');
    const mm = m?.model as { intercept: number; betaHdd: number; betaCdd: number; hddBalance: number; cddBalance: number; adjR2: number };
    expect(mm.hddBalance).toBeCloseTo(15, 9);
    expect(mm.cddBalance).toBeCloseTo(fToC(72), 9);
    expect(mm.intercept).toBeCloseTo(100, 6);
    expect(mm.betaHdd).toBeCloseTo(3, 6);
    expect(mm.betaCdd).toBeCloseTo(5, 6);
    expect(mm.adjR2).toBeCloseTo(1, 9);
    expect(m?.predictT(0)).toBeCloseTo(100 + 3 * 15, 6);
  });

  it('§3.2.2.2.1: a heating term with 9 non-zero days is not considered; with 10 it is', () => {
    // Warm days at 35 °C (above every balance point: no HDD, and usage that falls with CDD), cold days at −0.5 °C.
    const build = (cold: number) => series(
      Array.from({ length: 30 }, (_, i) => (i < cold ? -0.5 : 35)),
      (t) => (t < 0 ? 30 : 10),
    );
    const nine = build(9);
    const m9 = fitCaltrack(nine.pts, nine.temps);
    // Nothing qualifies: the intercept-only model, the mean: (9·30 + 21·10)/30 = 16.
    expect(m9?.model).toEqual({ type: 'intercept_only', intercept: 16, adjR2: 0 });
    const ten = build(10);
    const m10 = fitCaltrack(ten.pts, ten.temps);
    expect(m10?.model.type).toBe('hdd');
    expect(m10?.model.adjR2).toBeCloseTo(1, 9);
    // §3.2.2.2.2: 33 °F (0.56 °C) would fit perfectly too, but gives 10 × 1.06 = 10.6 °C·days < 11.1:
    // the first balance point considered is 34 °F (10 × 1.61 = 16.1 °C·days).
    expect((m10?.model as { hddBalance: number }).hddBalance).toBeCloseTo(fToC(34), 9);
    expect(m10?.model.intercept).toBeCloseTo(10, 9);
    expect(m10?.predictT(-0.5)).toBeCloseTo(30, 9);
  });

  it('§3.4.3.2: a candidate with a negative coefficient is not considered, however well it fits', () => {
    // Below every balance point use rises with temperature (10 … 30): every HDD fit is exact with
    // β_H = −2; CDD is zero everywhere. The intercept-only model is all that qualifies.
    const { pts, temps } = series(Array.from({ length: 11 }, (_, i) => -15 + i), (t) => 40 + 2 * t);
    const unconstrained = ols(pts.map((p) => [1, hdd(temps.get(p.date) as number, 20)]), pts.map((p) => p.value));
    expect(unconstrained?.[1]).toBeCloseTo(-2, 9);
    expect(fitCaltrack(pts, temps)?.model).toEqual({ type: 'intercept_only', intercept: 20, adjR2: 0 });
  });

  it('§3.4.3.2: a candidate with a negative intercept is not considered', () => {
    // use = 2 × HDD(20 °C) − 5 on days from 0 to 19 °C: every balance point ≥ 19 °C fits exactly,
    // with intercept 35 − 2·T_b < 0. The model chosen is the best one with a non-negative intercept.
    const { pts, temps } = series(Array.from({ length: 40 }, (_, i) => (i % 20) * 0.95), (t) => 2 * (20 - t) - 5);
    const exact = ols(pts.map((p) => [1, hdd(temps.get(p.date) as number, 20)]), pts.map((p) => p.value));
    expect(exact?.[0]).toBeCloseTo(-5, 9);
    const m = fitCaltrack(pts, temps);
    expect(m?.model.intercept).toBeGreaterThanOrEqual(0);
    expect(m?.model.adjR2).toBeLessThan(1);
    const o = oracle(pts, temps);
    expect(m?.model.type).toBe(o.type);
    expect(m?.model.adjR2).toBeCloseTo(o.adjR2, 9);
  });

  it('§3.4.3.1.4: intercept-only, adjusted R² 0 by definition, when usage does not follow the weather', () => {
    const { pts, temps } = series(Array.from({ length: 30 }, (_, i) => -5 + i), (_t, i) => [12, 8, 10][i % 3] as number);
    expect(fitCaltrack(pts, temps)?.model).toEqual({ type: 'intercept_only', intercept: 10, adjR2: 0 });
  });

  it('CalTRACK 2.0 has no p-value screen: a weak positive heating slope (p ≈ 0.2) is selected on adjusted R²', () => {
    const rnd = lcg(6);
    const temps: number[] = [];
    const use: number[] = [];
    for (let i = 0; i < 60; i++) {
      const t = -5 + 30 * rnd();
      const noise = (rnd() + rnd() + rnd() - 1.5) * 4;
      temps.push(Math.round(t * 10) / 10);
      use.push(Math.round((20 + 0.12 * hdd(t, 15) + noise) * 100) / 100);
    }
    const { pts, temps: map } = series(temps, (_t, i) => use[i] as number);
    const m = fitCaltrack(pts, map);
    expect(m?.model.type).toBe('hdd');
    const b = (m?.model as { hddBalance: number }).hddBalance;
    const x = pts.map((p) => hdd(map.get(p.date) as number, b));
    const n = x.length;
    const xm = x.reduce((a, v) => a + v, 0) / n;
    const beta = (m?.model as { betaHdd: number }).betaHdd;
    const res = pts.map((p, i) => p.value - (m?.model.intercept as number) - beta * (x[i] as number));
    const se = Math.sqrt(res.reduce((a, r) => a + r * r, 0) / (n - 2) / x.reduce((a, v) => a + (v - xm) ** 2, 0));
    const pValue = 2 * (1 - studentTCdf(beta / se, n - 2));
    // CalTRACK 1.0 would have refused it (p < 0.1 required).
    expect(pValue).toBeGreaterThan(0.1);
    expect(m?.model.adjR2).toBeGreaterThan(0);
  });

  it('§3.4.3.3: on noisy data the fast solver picks the candidate a plain least-squares search picks', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const rnd = lcg(seed);
      const temps: number[] = [];
      const use: number[] = [];
      for (let i = 0; i < 120; i++) {
        const t = Math.round((-8 + 42 * rnd()) * 10) / 10;
        temps.push(t);
        use.push(60 + (seed % 2 ? 2.5 : 0) * hdd(t, 14 + seed) + (seed % 3 ? 3.5 : 0) * cdd(t, 20 + seed) + (rnd() - 0.5) * 20);
      }
      const { pts, temps: map } = series(temps, (_t, i) => use[i] as number);
      const m = fitCaltrack(pts, map);
      const o = oracle(pts, map);
      expect(m?.model.type, `seed ${seed}`).toBe(o.type);
      expect(m?.model.adjR2).toBeCloseTo(o.adjR2, 9);
      expect(m?.model.intercept).toBeCloseTo(o.beta[0] as number, 6);
      if (o.type !== 'intercept_only') {
        const mm = m?.model as { hddBalance?: number; cddBalance?: number };
        if (!Number.isNaN(o.hb)) expect(mm.hddBalance).toBeCloseTo(o.hb, 9);
        if (!Number.isNaN(o.cb)) expect(mm.cddBalance).toBeCloseTo(o.cb, 9);
      }
    }
  });

  it('CalTRACK §3.5: days without a temperature are left out of the fit', () => {
    const { pts, temps } = series(Array.from({ length: 30 }, () => 20), (_t, i) => (i < 10 ? 100 : 10));
    for (let i = 0; i < 10; i++) temps.delete(day(i));
    expect(fitCaltrack(pts, temps)?.model).toEqual({ type: 'intercept_only', intercept: 10, adjR2: 0 });
    expect(fitCaltrack(pts.slice(0, 10), temps)).toBeUndefined();
  });
});
