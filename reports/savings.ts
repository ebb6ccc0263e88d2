import type { Device, MeterPurpose } from '../core/index.js';
import type { TelemetryStore } from '../storage/contract.js';
import { fitDayType, type DailyPoint, type FittedModel } from './baseline/day-type.js';
import { fitDegreeDay } from './baseline/degree-day.js';
import { fitMetrics, g14Limits, judge, savingsUncertainty } from './baseline/fit.js';
import { dailyConsumption, isMeter, meterRef } from './consumption.js';
import type {
  BaselineModelChoice, ConfidenceLevel, DailyComparison, MeterConsumption, MonthlyComparison, ReportPeriod, ReportSite,
  ReportWarning, ResolvedReportsConfig, SavingsLine, SavingsReport, SavingsScope, Utility,
} from './contracts.js';
import { emissionFactor } from './emissions.js';
import { datesBetween } from './time.js';
import { dailyOutdoorTemperature } from './weather.js';

export interface SavingsInput {
  readonly site: ReportSite;
  readonly period: ReportPeriod;
  readonly baseline: ReportPeriod;
  readonly devices: readonly Device[];
  readonly confidence: ConfidenceLevel;
  readonly model: BaselineModelChoice;
  /**
   * Daily mean outdoor temperature, °C, by local date, given with the request (CSV upload): it
   * overrides, day by day, the daily means of the site's weather stations, read from the store.
   */
  readonly temperatures: ReadonlyMap<string, number>;
  readonly now: number;
}

interface LineSpec { key: string; scope: SavingsScope; utility: Utility; purpose?: MeterPurpose; building?: string; meters: string[] }

/** The lines of the report: whole site per utility (IPMVP Option C), per purpose, per building. */
function lineSpecs(meters: readonly MeterConsumption[]): LineSpec[] {
  const specs: LineSpec[] = [];
  for (const utility of ['electricity', 'water'] as const) {
    const ms = meters.filter((m) => m.utility === utility);
    if (ms.length === 0) continue;
    // The whole facility is its master meter when it has one; else the sum of its sub-meters.
    const masters = ms.filter((m) => m.purpose === 'master');
    const site = masters.length > 0 ? masters : ms;
    specs.push({ key: `site:${utility}`, scope: 'site', utility, meters: site.map((m) => m.device) });
    for (const purpose of [...new Set(ms.map((m) => m.purpose))]) {
      specs.push({ key: `purpose:${utility}:${purpose}`, scope: 'purpose', utility, purpose, meters: ms.filter((m) => m.purpose === purpose).map((m) => m.device) });
    }
    for (const building of [...new Set(ms.filter((m) => m.purpose !== 'master').map((m) => m.building))].sort()) {
      specs.push({ key: `building:${utility}:${building}`, scope: 'building', utility, building, meters: ms.filter((m) => m.building === building && m.purpose !== 'master').map((m) => m.device) });
    }
  }
  return specs;
}

/** Sum of the meters per day; null where any meter lacks the day. */
function groupDaily(meters: readonly MeterConsumption[], dates: readonly string[]): (number | null)[] {
  return dates.map((_, i) => {
    let s = 0;
    for (const m of meters) {
      const v = m.days[i]?.value;
      if (v === null || v === undefined) return null;
      s += v;
    }
    return s;
  });
}

const r = (x: number, d = 3): number => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);

export async function savingsReport(store: TelemetryStore, config: ResolvedReportsConfig, input: SavingsInput): Promise<SavingsReport> {
  const { site, period, baseline } = input;
  const refs = input.devices.filter((d) => d.site === site.id && isMeter(d)).map(meterRef);
  const q = { site: site.id, timezone: site.timezone, maxGapMs: config.maxInterpolationGapMs };
  const base = await dailyConsumption(store, refs, { ...q, firstDate: baseline.firstDate, lastDate: baseline.lastDate });
  const rep = await dailyConsumption(store, refs, { ...q, firstDate: period.firstDate, lastDate: period.lastDate });
  const baseDates = datesBetween(baseline.firstDate, baseline.lastDate);
  const repDates = datesBetween(period.firstDate, period.lastDate);
  const factor = emissionFactor(config);
  const temperatures = new Map<string, number>();
  for (const p of [baseline, period]) {
    const station = await dailyOutdoorTemperature(store, { site: site.id, timezone: site.timezone, firstDate: p.firstDate, lastDate: p.lastDate, devices: input.devices });
    for (const [date, t] of station) temperatures.set(date, t);
  }
  for (const [date, t] of input.temperatures) temperatures.set(date, t);
  const warnings: ReportWarning[] = [];
  for (const m of [...base, ...rep]) {
    for (const x of m.resets) warnings.push({ code: 'register_reset', device: m.device, message: `register went from ${x.previous} to ${x.value} at ${new Date(x.ts).toISOString()}: treated as a reset, not counted` });
    for (const g of m.gaps) warnings.push({ code: 'data_gap', device: m.device, message: `no reads from ${new Date(g.from).toISOString()} to ${new Date(g.to).toISOString()} (${r(g.unallocated)} ${m.unit} not allocated to days)` });
  }

  const lines: SavingsLine[] = [];
  for (const spec of lineSpecs(rep)) {
    const bm = base.filter((m) => spec.meters.includes(m.device));
    const rm = rep.filter((m) => spec.meters.includes(m.device));
    const bDaily = groupDaily(bm, baseDates);
    const rDaily = groupDaily(rm, repDates);
    const bPoints: DailyPoint[] = baseDates.flatMap((date, i) => (bDaily[i] === null ? [] : [{ date, value: bDaily[i] as number }]));
    if (bPoints.length < 2) {
      warnings.push({ code: 'no_baseline_data', message: `${spec.key}: fewer than 2 complete baseline days; no savings computed` });
      continue;
    }
    const tempCover = (dates: readonly string[]) => dates.filter((d) => temperatures.has(d)).length / Math.max(dates.length, 1);
    let fitted: FittedModel | undefined;
    const wantDD = input.model === 'degree_day' || (input.model === 'auto' && tempCover(bPoints.map((p) => p.date)) >= 0.9 && tempCover(repDates) >= 0.9);
    if (wantDD) {
      fitted = fitDegreeDay(bPoints, temperatures);
      if (!fitted) warnings.push({ code: 'no_weather', message: `${spec.key}: too little temperature data for a degree-day model; using the day-type model` });
    }
    fitted ??= fitDayType(bPoints);
    const model = fitted;
    const used = bPoints.filter((p) => Number.isFinite(model.predict(p.date)));
    const fit = fitMetrics(used.map((p) => p.value), used.map((p) => model.predict(p.date)), model.p);
    const limits = g14Limits.hourly;
    const judgement = judge(fit, limits);
    if (!judgement.pass) warnings.push({ code: 'fit_fails_g14', message: `${spec.key}: baseline fit CV(RMSE) ${r(fit.cvrmse * 100, 1)} %, NMBE ${r(fit.nmbe * 100, 2)} % outside ${limits.source}` });

    const daily: DailyComparison[] = [];
    const months = new Map<string, { projected: number; actual: number; days: number }>();
    let projected = 0;
    let actual = 0;
    let m = 0;
    repDates.forEach((date, i) => {
      const pr = model.predict(date);
      const ac = rDaily[i] as number | null;
      daily.push({ date, projected: r(pr), actual: ac === null ? null : r(ac) });
      if (ac === null || !Number.isFinite(pr)) return;
      projected += pr;
      actual += ac;
      m += 1;
      const key = date.slice(0, 7);
      const mo = months.get(key) ?? { projected: 0, actual: 0, days: 0 };
      mo.projected += pr; mo.actual += ac; mo.days += 1;
      months.set(key, mo);
    });
    const avoided = projected - actual;
    const uncertainty = savingsUncertainty(fit, projected, avoided, m, input.confidence);
    const completeness = { baseline: bPoints.length / baseDates.length, reporting: m / repDates.length };
    if (completeness.baseline < 0.9 || completeness.reporting < 0.9) {
      warnings.push({ code: 'low_completeness', message: `${spec.key}: data completeness baseline ${r(completeness.baseline * 100, 1)} %, reporting ${r(completeness.reporting * 100, 1)} %` });
    }
    const significant = Math.abs(avoided) > uncertainty.absolute;
    if (spec.scope !== 'building' && !significant) warnings.push({ code: 'savings_not_significant', message: `${spec.key}: avoided ${r(avoided)} is within its ±${r(uncertainty.absolute)} uncertainty at ${input.confidence} %` });
    const tariff = spec.utility === 'electricity' ? config.tariffs.electricity : config.tariffs.water;
    const co2Factor = spec.utility === 'electricity' ? factor.kgCO2PerKWh : factor.kgCO2PerKWh * factor.waterKWhPerM3;
    const monthly: MonthlyComparison[] = [...months].map(([month, v]) => ({ month, projected: r(v.projected), actual: r(v.actual), avoided: r(v.projected - v.actual), days: v.days }));
    lines.push({
      key: spec.key, scope: spec.scope, utility: spec.utility, unit: spec.utility === 'electricity' ? 'kWh' : 'm³',
      ...(spec.purpose ? { purpose: spec.purpose } : {}), ...(spec.building ? { building: spec.building } : {}),
      meters: spec.meters, model: model.model, fit, limits, judgement, completeness,
      projected: r(projected), actual: r(actual), avoided: r(avoided), avoidedFraction: projected !== 0 ? avoided / projected : 0,
      uncertainty, significant,
      cost: { currency: config.currency, tariff, costAvoided: r(avoided * tariff, 2), co2AvoidedKg: r(avoided * co2Factor, 2), co2Factor },
      monthly, daily,
    });
  }
  const siteLines = lines.filter((l) => l.scope === 'site');
  return {
    type: 'savings', generatedAt: input.now, site, period, baseline, warnings,
    method: {
      ipmvp: 'Option C', model: input.model,
      description: 'IPMVP Option C (whole facility): avoided use = baseline model projected onto the reporting period − actual, over days with complete meter data',
    },
    emissionFactor: factor,
    tariffs: { currency: config.currency, electricity: config.tariffs.electricity, water: config.tariffs.water },
    lines,
    meters: rep.map(({ days: _days, ...rest }) => rest),
    totals: { currency: config.currency, costAvoided: r(siteLines.reduce((s, l) => s + l.cost.costAvoided, 0), 2), co2AvoidedKg: r(siteLines.reduce((s, l) => s + l.cost.co2AvoidedKg, 0), 2) },
  };
}
