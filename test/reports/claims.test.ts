import { describe, expect, it } from 'vitest';
import { hdd } from '../../reports/baseline/caltrack.js';
import { g14Assessment, g14CvrmseMax, savingsUncertainty } from '../../reports/baseline/fit.js';
import { baselineSufficiency, reportSufficiency } from '../../reports/baseline/sufficiency.js';
import { reconcile } from '../../reports/claims.js';
import { createReports, reportsConfigSchema, type MeterConsumption, type ReportPeriod, type SavingsLine } from '../../reports/index.js';
import { emissionFactor } from '../../reports/emissions.js';
import { savingsLine, type LineContext, type LineSpec } from '../../reports/savings-line.js';
import { addDays, datesBetween } from '../../reports/time.js';
import type { AlarmStore } from '../../storage/alarms/contract.js';
import type { TelemetryStore } from '../../storage/contract.js';

/**
 * What a savings line may claim (reports/claims.ts, reports/savings-line.ts), on daily values built
 * by hand: CalTRACK 2.0 baseline sufficiency, no extrapolation beyond the baseline's temperatures,
 * the ASHRAE G14 whole-building criterion behind "significant", lines reconciled with their site,
 * and the grid CO₂ factor chosen by the site's region.
 */

const config = reportsConfigSchema.parse({});

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function meter(device: string, dates: readonly string[], value: (date: string, i: number) => number | null,
  extra: Partial<MeterConsumption> = {}): MeterConsumption {
  const days = dates.map((date, i) => ({ date, value: value(date, i) }));
  const have = days.filter((d) => d.value !== null);
  return {
    device, name: `${device} 表`, kind: 'power_meter', building: 'b1', purpose: 'household', utility: 'electricity', field: 'energy', unit: 'kWh',
    days, total: have.reduce((s, d) => s + (d.value as number), 0), daysWithData: have.length, daysInPeriod: dates.length,
    completeness: have.length / dates.length, resets: [], gaps: [], ...extra,
  };
}

const period = (firstDate: string, days: number): ReportPeriod => ({ from: 0, to: 0, firstDate, lastDate: addDays(firstDate, days - 1), days });

interface Scenario {
  baselineDays: number;
  reportingDays: number;
  /** Reporting days (indexes) that are 40 °C, outside the baseline's −5…30 °C. */
  hot?: number;
  noise: number;
  saving: number;
}

/** Use = 50 + 2·HDD(15 °C) ± noise; temperatures −5…30 °C over the baseline, the same in the reporting period but the first `hot` days. */
function scenario(s: Scenario): { spec: LineSpec; ctx: LineContext; temps: Map<string, number> } {
  const baseline = period('2024-01-01', s.baselineDays);
  const repFirst = addDays(baseline.lastDate, 1);
  const reporting = period(repFirst, s.reportingDays);
  const baseDates = datesBetween(baseline.firstDate, baseline.lastDate);
  const repDates = datesBetween(reporting.firstDate, reporting.lastDate);
  const temps = new Map<string, number>();
  const tempAt = (i: number) => -5 + (35 * ((i * 7) % 36)) / 35;
  baseDates.forEach((d, i) => temps.set(d, tempAt(i)));
  repDates.forEach((d, i) => temps.set(d, i < (s.hot ?? 0) ? 40 : tempAt(i + 3)));
  const rnd = lcg(42);
  const use = (t: number) => 50 + 2 * hdd(t, 15) + (rnd() - 0.5) * 2 * s.noise;
  const base = [meter('m1', baseDates, (d) => use(temps.get(d) as number))];
  const rep = [meter('m1', repDates, (d) => (1 - s.saving) * use(temps.get(d) as number))];
  return {
    spec: { key: 'site:electricity', scope: 'site', utility: 'electricity', meters: ['m1'] },
    ctx: { config, factor: emissionFactor(config), baseline, baseDates, repDates, base, rep, temperatures: temps, model: 'auto', confidence: 90 },
    temps,
  };
}

describe('CalTRACK 2.0 baseline sufficiency (§2.2.1)', () => {
  it('365 days with at least 90 % usable, hand-counted', () => {
    expect(baselineSufficiency(365, 329)).toMatchObject({ status: 'sufficient', reasons: [] });
    expect(baselineSufficiency(365, 328)).toMatchObject({ status: 'insufficient', reasons: ['low_coverage'] });
    expect(baselineSufficiency(364, 364)).toMatchObject({ status: 'insufficient', reasons: ['too_short'] });
    expect(baselineSufficiency(31, 20)).toMatchObject({ status: 'insufficient', days: 31, requiredDays: 365, minCoverage: 0.9, reasons: ['too_short', 'low_coverage'] });
    expect(baselineSufficiency(365, 329).coverage).toBeCloseTo(329 / 365, 12);
    // The report's headline is its worst site line.
    expect(reportSufficiency(365, [baselineSufficiency(365, 365), baselineSufficiency(365, 300)]).status).toBe('insufficient');
  });

  it('a short baseline keeps its estimate but withholds "significant" and the G14 label', () => {
    const { spec, ctx } = scenario({ baselineDays: 200, reportingDays: 100, noise: 1, saving: 0.2 });
    const { line } = savingsLine(spec, ctx);
    expect(line?.sufficiency).toMatchObject({ status: 'insufficient', days: 200, reasons: ['too_short'] });
    expect(line?.claim).toEqual({ status: 'withheld', reasons: ['insufficient_baseline'] });
    expect(line?.g14?.status).toBe('withheld');
    expect(line?.judgement.pass).toBe(false);
    expect(line?.significant).toBe(false);
    expect(line?.avoidedFraction).toBeGreaterThan(0.18);
  });

  it('a longer baseline is cut to its last 365 days (§3.1.3), and says so', async () => {
    const devices = [{ id: 'm1', kind: 'power_meter' as const, site: 's', building: 'b', name: '1号表', createdAt: 0, purpose: 'household' as const }];
    const store = { name: 'stub', series: async () => [] } as unknown as TelemetryStore;
    const reports = createReports({}, { store, alarms: {} as AlarmStore, devices: { list: () => devices }, clock: () => 0 });
    const r = await reports.savings({ site: 's', baselineFrom: '2024-01-01', baselineTo: '2025-02-04', from: '2025-02-04', to: '2025-03-01' });
    expect(r.requestedBaseline?.days).toBe(400);
    expect(r.baseline).toMatchObject({ firstDate: '2024-02-05', lastDate: '2025-02-03', days: 365 });
    const note = r.warnings.find((w) => w.code === 'baseline_truncated');
    expect(note).toMatchObject({ params: { requestedFrom: '2024-01-01', usedFrom: '2024-02-05' } });
    expect(note?.message).toContain('its last 365 days (2024-02-05 to 2025-02-03) are used (CalTRACK 2.0 §3.1.3)');
  });
});

describe('no extrapolation beyond the baseline temperatures', () => {
  it('reporting days outside the range are not projected; up to 10 % of them leaves the claim standing', () => {
    const { spec, ctx } = scenario({ baselineDays: 365, reportingDays: 100, hot: 10, noise: 1, saving: 0.2 });
    const { line, notes } = savingsLine(spec, ctx);
    expect(line?.temperatureRange).toMatchObject({ baselineMin: -5, baselineMax: 30, days: 100, outside: 10 });
    expect(line?.uncertainty.m).toBe(90);
    expect(line?.daily.slice(0, 10).every((d) => d.projected === null)).toBe(true);
    expect(line?.daily[10]?.projected).not.toBeNull();
    expect(line?.claim?.status).toBe('significant');
    expect(notes).toContainEqual(expect.objectContaining({ code: 'temperature_out_of_range', params: expect.objectContaining({ outside: 10, days: 100, variant: 'excluded' }) }));
  });

  it('more than 10 % outside: the line claims no saving, and the estimate still never extrapolates', () => {
    const { spec, ctx } = scenario({ baselineDays: 365, reportingDays: 100, hot: 11, noise: 1, saving: 0.2 });
    const { line, notes } = savingsLine(spec, ctx);
    expect(line?.claim).toEqual({ status: 'withheld', reasons: ['temperature_out_of_range'] });
    expect(line?.significant).toBe(false);
    expect(line?.uncertainty.m).toBe(89);
    expect(Math.abs((line?.avoidedFraction ?? 0) - 0.2)).toBeLessThan(0.02);
    expect(notes).toContainEqual(expect.objectContaining({ code: 'temperature_out_of_range', params: expect.objectContaining({ variant: 'withheld' }) }));
  });
});

describe('ASHRAE Guideline 14 whole-building criteria behind "significant"', () => {
  it('CV(RMSE) limits by months of reporting data', () => {
    expect(g14CvrmseMax(11.99)).toBe(0.2);
    expect(g14CvrmseMax(12)).toBe(0.25);
    expect(g14CvrmseMax(60)).toBe(0.25);
    expect(g14CvrmseMax(60.1)).toBe(0.3);
  });

  it('savings uncertainty below 50 % at 68 % confidence and CV(RMSE) within its limit, hand-checked', () => {
    const fit = { n: 365, p: 2, meanY: 100, r2: 0.8, adjR2: 0.8, rmse: 10, cvrmse: 0.1, nmbe: 0, rho: 0.2 };
    const u68 = savingsUncertainty(fit, 10_000, 1_000, 100, 68);
    const met = g14Assessment(fit, 10_000, 1_000, 100, false);
    expect(met).toMatchObject({ status: 'met', fsuMax: 0.5, cvrmseMax: 0.2 });
    expect(met.fsu68).toBeCloseTo(u68.absolute / 1_000, 12);
    // A saving smaller than twice its 68 % uncertainty is not significant.
    const small = g14Assessment(fit, 10_000, u68.absolute * 1.9, 100, false);
    expect(small.status).toBe('not_met');
    expect(small.fsu68).toBeGreaterThan(0.5);
    // A baseline whose CV(RMSE) is over the limit does not meet G14 even with a large saving.
    expect(g14Assessment({ ...fit, cvrmse: 0.21 }, 10_000, 5_000, 100, false).status).toBe('not_met');
    // NMBE plays no part: it is zero by construction for these models.
    expect(g14Assessment({ ...fit, nmbe: 0.3 }, 10_000, 1_000, 100, false).status).toBe('met');
  });

  it('a noisy baseline: not significant, and the line says which criterion failed', () => {
    const { spec, ctx } = scenario({ baselineDays: 365, reportingDays: 60, noise: 45, saving: 0.05 });
    const { line, notes } = savingsLine(spec, ctx);
    expect(line?.claim?.status).toBe('not_significant');
    expect(line?.claim?.reasons).toContain('cvrmse_too_high');
    expect(line?.g14?.status).toBe('not_met');
    expect(notes).toContainEqual(expect.objectContaining({ code: 'savings_not_significant', line: 'site:electricity' }));
  });
});

describe('lines reconcile with their site', () => {
  it('a building line claiming more than the whole site supports gets the exceeds_site reason and a note', () => {
    const { ctx, temps } = scenario({ baselineDays: 365, reportingDays: 60, noise: 1, saving: 0 });
    const rep = ctx.repDates;
    // The master meter saw nothing saved; building 3's households "saved" 30 %.
    const b3 = (d: string, k: number) => (k < ctx.baseDates.length ? 1 : 0.7) * (20 + hdd(temps.get(d) as number, 15));
    const all = [...ctx.baseDates, ...rep];
    const baseB3 = meter('hh-b3', ctx.baseDates, (d) => b3(d, all.indexOf(d)), { building: 'b3', utility: 'water', unit: 'm³' });
    const repB3 = meter('hh-b3', rep, (d) => b3(d, all.indexOf(d)), { building: 'b3', utility: 'water', unit: 'm³' });
    const c = { ...ctx, base: [...ctx.base, baseB3], rep: [...ctx.rep, repB3] };
    const site = savingsLine({ key: 'site:water', scope: 'site', utility: 'water', meters: ['m1'] }, c).line as SavingsLine;
    const building = savingsLine({ key: 'building:water:b3', scope: 'building', utility: 'water', building: 'b3', meters: ['hh-b3'] }, c).line as SavingsLine;
    expect(Math.abs(site.avoidedFraction)).toBeLessThan(0.02);
    expect(building.avoidedFraction).toBeCloseTo(0.3, 2);
    const lines = [site, building];
    const notes = reconcile(lines, (l, s, lineRate, siteRate) => ({ code: 'exceeds_site', line: l.key, message: '', params: { lineRate, siteRate, siteLine: s.key } }));
    expect(lines[1]?.claim?.reasons).toContain('exceeds_site');
    expect(lines[0]?.claim?.reasons).not.toContain('exceeds_site');
    expect(notes).toHaveLength(1);
    const p = notes[0]?.params as { lineRate: number; siteRate: number };
    expect(p.lineRate).toBeCloseTo(building.avoided / 60, 9);
    expect(p.siteRate).toBeCloseTo((site.avoided + site.uncertainty.absolute) / 60, 9);
    expect(p.lineRate).toBeGreaterThan(p.siteRate);
  });
});

describe('grid CO₂ factors (MEE/NBS 2023)', () => {
  it('the site region selects its regional factor; without one, the national average', () => {
    expect(emissionFactor(config, { gridRegion: 'east' })).toMatchObject({ key: 'east-2023', kgCO2PerKWh: 0.55, year: 2023, scope: 'east' });
    expect(emissionFactor(config, { gridRegion: 'southwest' })).toMatchObject({ key: 'southwest-2023', kgCO2PerKWh: 0.2472 });
    expect(emissionFactor(config, { gridRegion: 'north' }).kgCO2PerKWh).toBe(0.6361);
    expect(emissionFactor(config, {})).toMatchObject({ key: 'national-2023', kgCO2PerKWh: 0.5306, year: 2023, scope: 'national' });
    expect(emissionFactor(config).source).toMatch(/MEE and NBS/);
    // A deployment may name another default, or add its own factor with year and source.
    const custom = reportsConfigSchema.parse({ gridFactor: 'plant-2024', customGridFactors: { 'plant-2024': { kgCO2PerKWh: 0.31, year: 2024, source: 'own PPA' } } });
    expect(emissionFactor(custom, {})).toMatchObject({ key: 'plant-2024', kgCO2PerKWh: 0.31, year: 2024, source: 'own PPA' });
    expect(() => emissionFactor(reportsConfigSchema.parse({ gridFactor: 'mars-2023' }))).toThrow(/unknown grid emission factor "mars-2023"/);
  });
});
