import type { ConfidenceLevel, FitJudgement, FitLimits, FitMetrics, G14Assessment, SavingsUncertainty } from '../contracts.js';
import { mean, tCritical } from '../stats.js';

/**
 * Goodness of fit, savings uncertainty and the ASHRAE Guideline 14-2014 whole-building criteria.
 *
 * Fit metrics, with n − p degrees of freedom (p = parameters incl. the intercept), as G14 and
 * CalTRACK 2.0 §4.3.2.2 define them: CV(RMSE) = √(Σ(y − ŷ)²/(n − p)) / ȳ; NMBE = Σ(y − ŷ)/((n − p)·ȳ).
 * NMBE of a least-squares fit with an intercept (and of a day-type mean) on its own baseline is zero
 * by construction: it satisfies G14's net determination bias limit (0.005 %) automatically and is no
 * evidence that the model is good. It is printed, never used to judge.
 *
 * Savings uncertainty (CalTRACK 2.0 §4.3.1.4, ASHRAE G14-2014 Annex B after Reddy & Claridge 2000,
 * with the autocorrelation correction of Sun & Baltazar 2013 for daily data):
 *   ΔU_save = t · (a·M² + b·M + d) · CV(RMSE) · U_baseline,Q · √((n/n′) · (1 + 2/n′) · (1/Q))
 * with Q reporting days compared, M = Q/30 their months, U_baseline,Q the baseline projection over
 * them (so FSU = ΔU_save / U_save = … / F, F = U_save / U_baseline,Q, §4.3.1.4.5), n baseline days,
 * n′ = n(1 − ρ)/(1 + ρ) for lag-1 residual autocorrelation ρ (taken ≥ 0: a negative ρ would make n′
 * exceed n), t the two-sided Student t at the confidence with n − p degrees of freedom, and the daily
 * coefficients a = −0.00024, b = 0.03535, d = 1.00286 (§4.3.1.4.6; G14's monthly form has 1.26).
 *
 * G14 whole-building criteria (Guideline 14-2014, Section 4, whole-building approach): the savings
 * uncertainty must be below 50 % of the reported savings at 68 % confidence (performance path), and
 * the baseline model's CV(RMSE) within 20 % for energy use when fewer than 12 months of reporting
 * data are compared, 25 % for 12–60 months, 30 % beyond (prescriptive path). A line meets G14 when
 * both hold; that is what "significant" means in these reports.
 */

export const g14FsuMax = 0.5;
export const g14Confidence: ConfidenceLevel = 68;
/** G14 net determination bias limit (0.005 %): met by construction, see above. */
export const g14BiasMax = 0.00005;

/** Months of reporting data: days with data, 365 of them to 12 months. */
export const reportingMonths = (days: number): number => (days * 12) / 365;

/** G14 prescriptive CV(RMSE) limit for energy use, by months of reporting data. */
export function g14CvrmseMax(months: number): number {
  if (months < 12) return 0.2;
  return months <= 60 ? 0.25 : 0.3;
}

export function g14Limits(months: number): FitLimits {
  const max = g14CvrmseMax(months);
  return {
    basis: 'whole_building', cvrmseMax: max, nmbeMax: g14BiasMax,
    source: `ASHRAE Guideline 14-2014, whole-building approach: savings uncertainty < 50 % at 68 % confidence; baseline CV(RMSE) <= ${Math.round(max * 100)} % for ${months < 12 ? 'under 12' : months <= 60 ? '12 to 60' : 'over 60'} months of reporting data`,
    note: 'NMBE of a least-squares baseline with an intercept is zero by construction: shown, not used to judge',
  };
}

export function fitMetrics(y: readonly number[], yHat: readonly number[], p: number): FitMetrics {
  const n = y.length;
  const meanY = n > 0 ? mean(y) : 0;
  let ssRes = 0;
  let ssTot = 0;
  let bias = 0;
  const res: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = (y[i] as number) - (yHat[i] as number);
    res.push(r);
    ssRes += r * r;
    bias += r;
    ssTot += ((y[i] as number) - meanY) ** 2;
  }
  const dof = Math.max(n - p, 1);
  const rmse = Math.sqrt(ssRes / dof);
  const r2 = ssTot > 0 ? 1 - ssRes / ssTot : 0;
  const adjR2 = n - p > 0 && ssTot > 0 ? 1 - (ssRes / (n - p)) / (ssTot / (n - 1)) : 0;
  return {
    n, p, meanY, r2, adjR2, rmse,
    cvrmse: meanY !== 0 ? rmse / meanY : Infinity,
    nmbe: meanY !== 0 ? bias / (dof * meanY) : 0,
    rho: lag1(res),
  };
}

/** Lag-1 autocorrelation of residuals. */
export function lag1(res: readonly number[]): number {
  if (res.length < 3) return 0;
  const m = mean(res);
  let num = 0;
  let den = 0;
  for (let i = 0; i < res.length; i++) {
    const d = (res[i] as number) - m;
    den += d * d;
    if (i > 0) num += d * ((res[i - 1] as number) - m);
  }
  return den > 0 ? num / den : 0;
}

/** Sun & Baltazar's daily-data factor (CalTRACK §4.3.1.4.6), for M months of reporting data. */
export const autocorrelationFactor = (months: number): number => -0.00024 * months ** 2 + 0.03535 * months + 1.00286;

/** Absolute and fractional savings uncertainty over m compared reporting days (see the header). */
export function savingsUncertainty(fit: FitMetrics, projected: number, avoided: number, m: number, confidence: ConfidenceLevel): SavingsUncertainty {
  const n = fit.n;
  const rho = Math.max(0, Math.min(fit.rho, 0.99));
  const nEff = n * (1 - rho) / (1 + rho);
  const t = tCritical(confidence / 100, Math.max(n - fit.p, 1));
  const cv = Number.isFinite(fit.cvrmse) ? fit.cvrmse : 0;
  const absolute = m > 0 && n > 0 && nEff > 0
    ? t * autocorrelationFactor(m / 30) * cv * Math.abs(projected) * Math.sqrt((n / nEff) * (1 + 2 / nEff) / m)
    : Infinity;
  return {
    confidence, t, absolute,
    fractional: avoided !== 0 ? Math.abs(absolute / avoided) : null,
    onFraction: projected !== 0 ? absolute / Math.abs(projected) : Infinity,
    nEffective: nEff, m,
    method: 'CalTRACK 2.0 §4.3.1.4 (ASHRAE Guideline 14-2014 Annex B): ΔU = t·(aM²+bM+d)·CV(RMSE)·U_baseline·√((n/n′)(1+2/n′)/Q), n′ = n(1−ρ)/(1+ρ)',
  };
}

/**
 * The G14 whole-building criteria for a line, or `withheld` when its baseline cannot support a
 * claim. `daysOfData`: reporting days with data (what G14's "months of post-retrofit data" counts),
 * which may exceed the m days compared (days outside the baseline's temperatures are not compared).
 */
export function g14Assessment(fit: FitMetrics, projected: number, avoided: number, m: number, withheld: boolean, daysOfData = m): G14Assessment {
  const months = reportingMonths(daysOfData);
  const u68 = savingsUncertainty(fit, projected, avoided, m, g14Confidence);
  const cvrmseMax = g14CvrmseMax(months);
  const fsu68 = u68.fractional;
  const met = fsu68 !== null && fsu68 < g14FsuMax && fit.cvrmse <= cvrmseMax;
  return { status: withheld ? 'withheld' : met ? 'met' : 'not_met', fsu68, fsuMax: g14FsuMax, cvrmse: fit.cvrmse, cvrmseMax, reportingMonths: months };
}

/** The fit verdicts in the G14 terms above (for the `judgement` field). */
export function judge(fit: FitMetrics, limits: FitLimits, g14: G14Assessment): FitJudgement {
  return { cvrmse: fit.cvrmse <= limits.cvrmseMax, nmbe: Math.abs(fit.nmbe) <= limits.nmbeMax, pass: g14.status === 'met' };
}
