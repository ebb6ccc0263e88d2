import type { BaselineSufficiency } from '../contracts.js';

/**
 * CalTRACK 2.0 baseline data sufficiency (Section 2.2.1):
 * - §2.2.1.1: consumption and temperature data should allow a 365-day baseline period; §3.1.3:
 *   models are fit to the 365 days immediately before the intervention — a longer baseline is cut
 *   to its last 365 days (reports/index.ts), a shorter one is "insufficient";
 * - §2.2.1.2: no more than 37 days (10 %) of consumption or temperature data missing; applied as
 *   OpenEEmeter's CalTRACK 2.0 sufficiency criteria apply it, at least 90 % of the days usable.
 * An insufficient baseline still gets its numbers computed, and printed as such: no "significant"
 * and no G14 label rest on it (reports/claims.ts).
 */
export const caltrackBaselineDays = 365;
export const caltrackMinCoverage = 0.9;

/** `days`: calendar days of the baseline period; `usable`: days with data the model could use. */
export function baselineSufficiency(days: number, usable: number): BaselineSufficiency {
  const coverage = days > 0 ? usable / days : 0;
  const reasons: ('too_short' | 'low_coverage')[] = [];
  if (days < caltrackBaselineDays) reasons.push('too_short');
  if (coverage < caltrackMinCoverage) reasons.push('low_coverage');
  return { status: reasons.length === 0 ? 'sufficient' : 'insufficient', days, requiredDays: caltrackBaselineDays, coverage, minCoverage: caltrackMinCoverage, reasons };
}

/** The report's headline: the worst of its site lines (or of all lines when there is no site line). */
export function reportSufficiency(days: number, lines: readonly BaselineSufficiency[]): BaselineSufficiency {
  if (lines.length === 0) return baselineSufficiency(days, 0);
  const worst = lines.reduce((a, b) => (b.coverage < a.coverage ? b : a));
  return baselineSufficiency(days, worst.coverage * days);
}
