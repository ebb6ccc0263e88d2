import type { BaselineSufficiency, G14Assessment, ReportWarning, SavingsClaim, SavingsLine, TemperatureRange } from './contracts.js';

/**
 * What a savings line may claim, and how lines must agree with their site.
 *
 * - The baseline is insufficient (CalTRACK 2.0 §2.2.1, reports/baseline/sufficiency.ts): withheld.
 * - More than 10 % of the reporting days with a temperature fell outside the baseline's temperature
 *   range: withheld. Those days are never projected (a baseline model says nothing about weather it
 *   has not seen, ASHRAE G14-2014 and CalTRACK both fit and predict within the observed range); the
 *   10 % is the share of missing data CalTRACK §2.2.1.2 tolerates in a baseline.
 * - No reporting day could be compared (none with complete data, or none with a temperature): withheld.
 * - Otherwise significant exactly when the ASHRAE G14 whole-building criteria are met
 *   (reports/baseline/fit.ts), else not significant, with the criterion that failed.
 */
export const maxShareOutsideRange = 0.1;

export function lineClaim(i: { sufficiency: BaselineSufficiency; range?: TemperatureRange; compared: number; withData: number;
  g14: G14Assessment }): SavingsClaim {
  const withheld: SavingsClaim['reasons'][number][] = [];
  if (i.sufficiency.status === 'insufficient') withheld.push('insufficient_baseline');
  if (i.range && i.range.days > 0 && i.range.outside / i.range.days > maxShareOutsideRange) withheld.push('temperature_out_of_range');
  // Nothing to compare, and the weather does not explain it: no reporting day has complete data.
  if (i.compared === 0 && !withheld.includes('temperature_out_of_range')) withheld.push('no_reporting_data');
  if (withheld.length > 0) return { status: 'withheld', reasons: withheld };
  if (i.g14.status === 'met') return { status: 'significant', reasons: [] };
  const reasons: SavingsClaim['reasons'][number][] = [];
  if (i.g14.fsu68 === null || i.g14.fsu68 >= i.g14.fsuMax) reasons.push('fsu_too_high');
  if (i.g14.cvrmse > i.g14.cvrmseMax) reasons.push('cvrmse_too_high');
  return { status: 'not_significant', reasons };
}

/**
 * Lines must reconcile with their site: a purpose or building line that claims a saving, or shows an
 * estimate it cannot claim (withheld), measures part of what the site
 * line measures (the master meter, or all meters), so its saving per compared day cannot exceed the
 * most the site line supports — its own saving plus its uncertainty — unless something else on the
 * site rose, or a model is wrong. Such a line keeps its numbers but gets a visible note and the
 * `exceeds_site` reason; it is for a person to look at, not for a report to resolve.
 */
export function reconcile(lines: SavingsLine[],
  note: (line: SavingsLine, site: SavingsLine, lineRate: number, siteRate: number) => ReportWarning): ReportWarning[] {
  const out: ReportWarning[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as SavingsLine;
    if (l.scope === 'site') continue;
    const site = lines.find((s) => s.scope === 'site' && s.utility === l.utility);
    if (!site || site.uncertainty.m === 0 || l.uncertainty.m === 0 || l.avoided <= 0) continue;
    // A line within its own noise claims nothing; an estimate shown (withheld) or a claim made is checked.
    if (l.claim?.status === 'not_significant') continue;
    if (site.meters.length === l.meters.length && site.meters.every((m) => l.meters.includes(m))) continue;
    const lineRate = l.avoided / l.uncertainty.m;
    const siteAbs = Number.isFinite(site.uncertainty.absolute) ? site.uncertainty.absolute : 0;
    const siteRate = (site.avoided + siteAbs) / site.uncertainty.m;
    if (lineRate <= siteRate) continue;
    const claim = l.claim ?? { status: l.significant ? 'significant' as const : 'not_significant' as const, reasons: [] };
    lines[i] = { ...l, claim: { ...claim, reasons: [...claim.reasons, 'exceeds_site'] } };
    out.push(note(l, site, lineRate, siteRate));
  }
  return out;
}
