import type { BaselineModel } from '../contracts.js';
import { ols } from '../stats.js';
import { fitMetrics } from './fit.js';
import type { DailyPoint, FittedModel } from './day-type.js';

/**
 * CalTRACK-style daily degree-day baselines (CalTRACK methods, daily: intercept-only, HDD-only,
 * CDD-only and HDD+CDD models, each balance point chosen by grid search, candidates kept only when
 * their degree-day coefficients are strictly positive, the winner by adjusted R²).
 *
 * Grid: heating balance points 40–80 °F (4.4–26.7 °C), cooling 50–90 °F (10–32.2 °C), in 1 °F
 * (5/9 °C) steps; HDD+CDD pairs need heating ≤ cooling balance point. CalTRACK 1.0's default grid
 * was narrower (55–65 °F heating, 66–75 °F cooling); CalTRACK issue #72 ("Expanded balance point
 * search range") widened it for extreme climates — the wide range suits Chinese climates from
 * Harbin to Guangzhou. HDD = max(0, Tb − T̄), CDD = max(0, T̄ − Tb) with T̄ the daily mean (°C).
 * (CalTRACK also drops coefficients with p-value > 0.1; not implemented — positivity only.)
 */
const F_TO_C = (f: number): number => ((f - 32) * 5) / 9;
const grid = (loF: number, hiF: number): number[] => Array.from({ length: hiF - loF + 1 }, (_, i) => Math.round(F_TO_C(loF + i) * 100) / 100);
export const hddBalanceGridC = grid(40, 80);
export const cddBalanceGridC = grid(50, 90);

export const hdd = (t: number, b: number): number => Math.max(0, b - t);
export const cdd = (t: number, b: number): number => Math.max(0, t - b);

interface Candidate { model: BaselineModel; p: number; adjR2: number; predict: (t: number) => number }

export function fitDegreeDay(points: readonly DailyPoint[], temperature: ReadonlyMap<string, number>): (FittedModel & { predictT(t: number): number }) | undefined {
  const data = points.filter((p) => temperature.has(p.date));
  if (data.length < 10) return undefined;
  const y = data.map((p) => p.value);
  const t = data.map((p) => temperature.get(p.date) as number);
  const n = y.length;
  const candidates: Candidate[] = [];
  const consider = (x: number[][], make: (beta: number[]) => Omit<Candidate, 'adjR2' | 'model'> & { model: Omit<BaselineModel & { type: 'hdd' }, 'adjR2' | 'type'> & { type: 'intercept_only' | 'hdd' | 'cdd' | 'hdd_cdd' } }) => {
    const beta = ols(x, y);
    if (!beta || beta.slice(1).some((b) => !(b > 0))) return;
    const c = make(beta);
    const fit = fitMetrics(y, t.map((ti) => c.predict(ti)), c.p);
    if (n - c.p <= 0) return;
    candidates.push({ ...c, adjR2: fit.adjR2, model: { ...c.model, adjR2: fit.adjR2 } });
  };
  consider(t.map(() => [1]), (b) => ({ p: 1, predict: () => b[0] as number, model: { type: 'intercept_only', intercept: b[0] as number } }));
  for (const hb of hddBalanceGridC) {
    consider(t.map((ti) => [1, hdd(ti, hb)]), (b) => ({ p: 2, predict: (ti) => (b[0] as number) + (b[1] as number) * hdd(ti, hb), model: { type: 'hdd', intercept: b[0] as number, betaHdd: b[1] as number, hddBalance: hb } }));
  }
  for (const cb of cddBalanceGridC) {
    consider(t.map((ti) => [1, cdd(ti, cb)]), (b) => ({ p: 2, predict: (ti) => (b[0] as number) + (b[1] as number) * cdd(ti, cb), model: { type: 'cdd', intercept: b[0] as number, betaCdd: b[1] as number, cddBalance: cb } }));
  }
  for (const hb of hddBalanceGridC) {
    for (const cb of cddBalanceGridC) {
      if (hb > cb) continue;
      consider(t.map((ti) => [1, hdd(ti, hb), cdd(ti, cb)]), (b) => ({
        p: 3,
        predict: (ti) => (b[0] as number) + (b[1] as number) * hdd(ti, hb) + (b[2] as number) * cdd(ti, cb),
        model: { type: 'hdd_cdd', intercept: b[0] as number, betaHdd: b[1] as number, betaCdd: b[2] as number, hddBalance: hb, cddBalance: cb },
      }));
    }
  }
  // Ties (e.g. a perfect fit found at several balance points) go to the simpler model, then the first.
  const best = candidates.reduce<Candidate | undefined>((a, c) => (!a || c.adjR2 > a.adjR2 + 1e-12 ? c : a), undefined);
  if (!best) return undefined;
  return {
    model: best.model, p: best.p,
    predictT: best.predict,
    predict: (date) => {
      const ti = temperature.get(date);
      return ti === undefined ? NaN : best.predict(ti);
    },
  };
}
