import type { BaselineModel } from '../contracts.js';
import type { DailyPoint, FittedModel } from './day-type.js';

/**
 * The CalTRACK 2.0 daily usage-per-day model (CalTRACK Methods Documentation v2.0, Section 3):
 *
 * - §3.3.2: UPD = μ + β_H·HDD + β_C·CDD, with HDD = max(0, T_b,H − T̄), CDD = max(0, T̄ − T_b,C) for
 *   the day's mean temperature T̄ (§3.3.4–3.3.5); fitted by ordinary least squares (§3.4.1).
 * - §3.2.1.1–3.2.1.2: balance points searched over 30–90 °F for both terms, here in 1 °F steps
 *   (§3.2.3 allows at most 3 °F between candidates), converted exactly to °C;
 *   §3.2.2.1: in an HDD+CDD model the cooling balance point is ≥ the heating one.
 * - §3.2.2.2: a degree-day term qualifies only with at least 10 days of non-zero degree days
 *   (§3.2.2.2.1) and at least 20 degree days in total (§3.2.2.2.2). CalTRACK counts degree days in °F;
 *   20 °F·days = 100/9 ≈ 11.1 °C·days here. Both are "per year" in the text and applied, as the
 *   reference implementation (OpenEEmeter) applies them, to the baseline as given.
 * - §3.4.3.1: candidates intercept-only (adjusted R² = 0 by definition, §3.4.3.1.4), HDD-only,
 *   CDD-only, HDD+CDD; §3.4.3.2: a candidate qualifies only if no parameter estimate is negative —
 *   intercept included; §3.4.3.3: the qualifying candidate with the highest adjusted R²,
 *   R²_adj = 1 − (SS_res/(P − c − 1)) / (SS_tot/(P − 1)), is the final model. When no degree-day
 *   candidate qualifies the intercept-only model is what remains.
 * - CalTRACK 1.0 also required p < 0.1 for the degree-day coefficients; CalTRACK 2.0 dropped that
 *   screen in favour of the data-sufficiency and qualification rules above (it is absent from v2.0
 *   §3.4.3.2, and OpenEEmeter's CalTRACK 2.0 defaults set the maximum p-value to 1). Not applied.
 *
 * Every candidate is solved from sufficient statistics (Σh, Σh², Σhy … per balance point), so the
 * ~1,900 HDD+CDD pairs cost O(1) each: with T_b,H ≤ T_b,C no day has both HDD and CDD, so Σh·c = 0.
 */

const F_TO_C = (f: number): number => ((f - 32) * 5) / 9;
/** 30, 31, … 90 °F in °C (§3.2.1). */
export const balancePointGridC: readonly number[] = Array.from({ length: 61 }, (_, i) => F_TO_C(30 + i));
/** §3.2.2.2.1 */
export const minNonZeroDegreeDays = 10;
/** §3.2.2.2.2: 20 °F·days. */
export const minTotalDegreeDaysC = (20 * 5) / 9;

export const hdd = (t: number, b: number): number => Math.max(0, b - t);
export const cdd = (t: number, b: number): number => Math.max(0, t - b);

interface TermStats {
  readonly balance: number;
  /** Days with a non-zero degree day. */
  readonly nonZero: number;
  readonly s: number;
  readonly ss: number;
  readonly sy: number;
  readonly qualifies: boolean;
}

function termStats(t: readonly number[], y: readonly number[], b: number, dd: (t: number, b: number) => number): TermStats {
  let nonZero = 0;
  let s = 0;
  let ss = 0;
  let sy = 0;
  for (let i = 0; i < t.length; i++) {
    const x = dd(t[i] as number, b);
    if (x > 0) nonZero += 1;
    s += x;
    ss += x * x;
    sy += x * (y[i] as number);
  }
  return { balance: b, nonZero, s, ss, sy, qualifies: nonZero >= minNonZeroDegreeDays && s >= minTotalDegreeDaysC };
}

interface Candidate {
  readonly model: Extract<BaselineModel, { type: 'intercept_only' | 'hdd' | 'cdd' | 'hdd_cdd' }>;
  readonly p: number;
  readonly adjR2: number;
}

export interface CaltrackFit extends FittedModel {
  readonly model: Extract<BaselineModel, { type: 'intercept_only' | 'hdd' | 'cdd' | 'hdd_cdd' }>;
  predictT(t: number): number;
  /** How many candidates qualified, of how many were considered (for the methodology page). */
  readonly candidates: { readonly qualified: number; readonly considered: number };
}

/**
 * Fits the CalTRACK daily model to baseline days that have a temperature; undefined when fewer
 * than two such days, or when even the intercept-only model does not qualify (negative mean use).
 */
export function fitCaltrack(points: readonly DailyPoint[], temperature: ReadonlyMap<string, number>): CaltrackFit | undefined {
  const data = points.filter((p) => temperature.has(p.date));
  const n = data.length;
  if (n < 2) return undefined;
  const y = data.map((p) => p.value);
  const t = data.map((p) => temperature.get(p.date) as number);
  let sy = 0;
  let syy = 0;
  for (const v of y) { sy += v; syy += v * v; }
  const ybar = sy / n;
  const ssTot = Math.max(0, syy - sy * ybar);
  const adj = (ssRes: number, p: number) => (n - p > 0 && ssTot > 0 ? 1 - (ssRes / (n - p)) / (ssTot / (n - 1)) : 0);

  let considered = 1;
  let qualified = 0;
  let best: Candidate | undefined;
  // Ties (equal fits at several balance points, within rounding) go to the candidate met first:
  // the simpler model, then the lower balance point.
  const offer = (c: Candidate) => {
    qualified += 1;
    if (!best || c.adjR2 > best.adjR2 + 1e-12) best = c;
  };
  if (ybar >= 0) offer({ model: { type: 'intercept_only', intercept: ybar, adjR2: 0 }, p: 1, adjR2: 0 });

  const hs = balancePointGridC.map((b) => termStats(t, y, b, hdd));
  const cs = balancePointGridC.map((b) => termStats(t, y, b, cdd));
  const single = (st: TermStats, kind: 'hdd' | 'cdd') => {
    considered += 1;
    if (!st.qualifies || n < 3) return;
    const cxx = st.ss - (st.s * st.s) / n;
    if (!(cxx > 1e-12)) return;
    const cxy = st.sy - (st.s * sy) / n;
    const beta = cxy / cxx;
    const mu = (sy - beta * st.s) / n;
    if (beta < 0 || mu < 0) return;
    const ssRes = Math.max(0, ssTot - beta * cxy);
    const model = kind === 'hdd'
      ? { type: 'hdd' as const, intercept: mu, betaHdd: beta, hddBalance: st.balance, adjR2: adj(ssRes, 2) }
      : { type: 'cdd' as const, intercept: mu, betaCdd: beta, cddBalance: st.balance, adjR2: adj(ssRes, 2) };
    offer({ model, p: 2, adjR2: model.adjR2 });
  };
  for (const st of hs) single(st, 'hdd');
  for (const st of cs) single(st, 'cdd');
  for (const h of hs) {
    for (const c of cs) {
      if (c.balance < h.balance) continue;
      considered += 1;
      if (!h.qualifies || !c.qualifies || n < 4) continue;
      const chh = h.ss - (h.s * h.s) / n;
      const ccc = c.ss - (c.s * c.s) / n;
      const chc = -(h.s * c.s) / n;
      const chy = h.sy - (h.s * sy) / n;
      const ccy = c.sy - (c.s * sy) / n;
      const det = chh * ccc - chc * chc;
      if (!(det > 1e-9 * Math.max(1, chh * ccc))) continue;
      const bh = (ccc * chy - chc * ccy) / det;
      const bc = (chh * ccy - chc * chy) / det;
      const mu = (sy - bh * h.s - bc * c.s) / n;
      if (bh < 0 || bc < 0 || mu < 0) continue;
      const ssRes = Math.max(0, ssTot - bh * chy - bc * ccy);
      const a = adj(ssRes, 3);
      offer({ model: { type: 'hdd_cdd', intercept: mu, betaHdd: bh, betaCdd: bc, hddBalance: h.balance, cddBalance: c.balance, adjR2: a }, p: 3, adjR2: a });
    }
  }
  const chosen = best as Candidate | undefined;
  if (!chosen) return undefined;
  const m = chosen.model;
  const predictT = (ti: number): number => m.intercept
    + (m.betaHdd !== undefined && m.hddBalance !== undefined ? m.betaHdd * hdd(ti, m.hddBalance) : 0)
    + (m.betaCdd !== undefined && m.cddBalance !== undefined ? m.betaCdd * cdd(ti, m.cddBalance) : 0);
  return {
    model: m, p: chosen.p, predictT,
    predict: (date) => {
      const ti = temperature.get(date);
      return ti === undefined ? NaN : predictT(ti);
    },
    candidates: { qualified, considered },
  };
}
