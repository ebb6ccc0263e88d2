import type { MeterPurpose } from '../core/index.js';
import { fitCaltrack } from './baseline/caltrack.js';
import { fitDayType, type DailyPoint, type FittedModel } from './baseline/day-type.js';
import { fitMetrics, g14Assessment, g14Limits, judge, reportingMonths, savingsUncertainty } from './baseline/fit.js';
import { baselineSufficiency } from './baseline/sufficiency.js';
import { lineClaim } from './claims.js';
import type {
  BaselineModelChoice, ConfidenceLevel, DailyComparison, EmissionFactorInfo, MeterConsumption, MonthlyComparison, ReportPeriod, ReportWarning,
  ResolvedReportsConfig, SavingsLine, SavingsScope, TemperatureRange, Utility,
} from './contracts.js';

/** One line of the savings report: whole site, a meter purpose or a building, for one utility. */
export interface LineSpec {
  key: string;
  scope: SavingsScope;
  utility: Utility;
  purpose?: MeterPurpose;
  building?: string;
  buildingName?: string;
  meters: string[];
}

export interface LineContext {
  readonly config: ResolvedReportsConfig;
  readonly factor: EmissionFactorInfo;
  readonly baseline: ReportPeriod;
  readonly baseDates: readonly string[];
  readonly repDates: readonly string[];
  readonly base: readonly MeterConsumption[];
  readonly rep: readonly MeterConsumption[];
  readonly temperatures: ReadonlyMap<string, number>;
  readonly model: BaselineModelChoice;
  readonly confidence: ConfidenceLevel;
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
type Note = Omit<ReportWarning, 'message'>;

/**
 * Fits the line's baseline (CalTRACK 2.0 daily degree-day models when daily outdoor temperatures
 * cover both periods, else mean use by day type), projects it onto the reporting days it can speak
 * for (a temperature inside the baseline's range, CalTRACK §3.5: none without a temperature), and
 * says what the result may claim (reports/claims.ts). Notes are returned as data; the caller words them.
 */
export function savingsLine(spec: LineSpec, c: LineContext): { line?: SavingsLine; notes: Note[] } {
  const notes: Note[] = [];
  const bm = c.base.filter((m) => spec.meters.includes(m.device));
  const rm = c.rep.filter((m) => spec.meters.includes(m.device));
  const bDaily = groupDaily(bm, c.baseDates);
  const rDaily = groupDaily(rm, c.repDates);
  const bPoints: DailyPoint[] = c.baseDates.flatMap((date, i) => (bDaily[i] === null ? [] : [{ date, value: bDaily[i] as number }]));
  if (bPoints.length < 2) {
    notes.push({ code: 'no_baseline_data', line: spec.key });
    return { notes };
  }
  const temps = c.temperatures;
  const cover = (dates: readonly string[]) => dates.filter((d) => temps.has(d)).length / Math.max(dates.length, 1);
  let fitted: FittedModel | undefined;
  const wantDD = c.model === 'degree_day' || (c.model === 'auto' && cover(bPoints.map((p) => p.date)) >= 0.9 && cover(c.repDates) >= 0.9);
  if (wantDD) {
    fitted = fitCaltrack(bPoints, temps);
    if (!fitted) notes.push({ code: 'no_weather', line: spec.key });
  }
  fitted ??= fitDayType(bPoints);
  const model = fitted;
  const used = bPoints.filter((p) => Number.isFinite(model.predict(p.date)));
  const fit = fitMetrics(used.map((p) => p.value), used.map((p) => model.predict(p.date)), model.p);
  const sufficiency = baselineSufficiency(c.baseline.days, used.length);

  // The weather the baseline saw; a reporting day outside it is not projected.
  const usedTemps = used.map((p) => temps.get(p.date)).filter((x): x is number => x !== undefined);
  const checkRange = usedTemps.length > 0 && c.repDates.some((d) => temps.has(d));
  const lo = checkRange ? Math.min(...usedTemps) : NaN;
  const hi = checkRange ? Math.max(...usedTemps) : NaN;
  let withTemp = 0;
  let outside = 0;

  const daily: DailyComparison[] = [];
  const months = new Map<string, { projected: number; actual: number; days: number }>();
  let projected = 0;
  let actual = 0;
  let m = 0;
  c.repDates.forEach((date, i) => {
    const ac = rDaily[i] as number | null;
    const t = temps.get(date);
    const out = checkRange && t !== undefined && (t < lo || t > hi);
    if (checkRange && t !== undefined && ac !== null) {
      withTemp += 1;
      if (out) outside += 1;
    }
    const pr = out ? NaN : model.predict(date);
    daily.push({ date, projected: Number.isFinite(pr) ? r(pr) : null, actual: ac === null ? null : r(ac) });
    if (ac === null || !Number.isFinite(pr)) return;
    projected += pr;
    actual += ac;
    m += 1;
    const key = date.slice(0, 7);
    const mo = months.get(key) ?? { projected: 0, actual: 0, days: 0 };
    mo.projected += pr; mo.actual += ac; mo.days += 1;
    months.set(key, mo);
  });
  const range: TemperatureRange | undefined = checkRange ? { baselineMin: r(lo, 2), baselineMax: r(hi, 2), days: withTemp, outside } : undefined;
  const avoided = projected - actual;
  const uncertainty = savingsUncertainty(fit, projected, avoided, m, c.confidence);
  const baseComplete = bPoints.length / c.baseDates.length;
  const withData = rDaily.filter((v) => v !== null).length;
  const completeness = { baseline: baseComplete, reporting: withData / c.repDates.length };
  const withheldBase = sufficiency.status === 'insufficient';
  const g14 = g14Assessment(fit, projected, avoided, m, withheldBase, withData);
  const claim = lineClaim({ sufficiency, range, compared: m, withData, g14 });
  const g14Final = claim.status === 'withheld' ? { ...g14, status: 'withheld' as const } : g14;
  const limits = g14Limits(reportingMonths(withData));

  if (baseComplete < 0.9 || completeness.reporting < 0.9) {
    notes.push({ code: 'low_completeness', line: spec.key, params: { baselinePct: baseComplete, reportingPct: completeness.reporting } });
  }
  if (range && outside > 0) {
    notes.push({
      code: 'temperature_out_of_range', line: spec.key,
      params: { outside, days: withTemp, min: range.baselineMin, max: range.baselineMax, variant: claim.reasons.includes('temperature_out_of_range') ? 'withheld' : 'excluded' },
    });
  }
  if (spec.scope !== 'building' && claim.status === 'not_significant') {
    notes.push({ code: 'savings_not_significant', line: spec.key, params: { fsuPct: g14.fsu68 ?? Infinity, cvrmsePct: fit.cvrmse, cvrmseMaxPct: g14.cvrmseMax } });
  }
  const tariff = spec.utility === 'electricity' ? c.config.tariffs.electricity : c.config.tariffs.water;
  const co2Factor = spec.utility === 'electricity' ? c.factor.kgCO2PerKWh : c.factor.kgCO2PerKWh * c.factor.waterKWhPerM3;
  const monthly: MonthlyComparison[] = [...months].map(([month, v]) => ({ month, projected: r(v.projected), actual: r(v.actual),
    avoided: r(v.projected - v.actual), days: v.days }));
  const line: SavingsLine = {
    key: spec.key, scope: spec.scope, utility: spec.utility, unit: spec.utility === 'electricity' ? 'kWh' : 'm³',
    ...(spec.purpose ? { purpose: spec.purpose } : {}), ...(spec.building ? { building: spec.building } : {}),
    ...(spec.buildingName ? { buildingName: spec.buildingName } : {}),
    meters: spec.meters, model: model.model, fit, limits, judgement: judge(fit, limits, g14Final), completeness,
    projected: r(projected), actual: r(actual), avoided: r(avoided), avoidedFraction: projected !== 0 ? avoided / projected : 0,
    uncertainty, significant: claim.status === 'significant', claim, g14: g14Final, sufficiency,
    ...(range ? { temperatureRange: range } : {}),
    cost: { currency: c.config.currency, tariff, costAvoided: r(avoided * tariff, 2), co2AvoidedKg: r(avoided * co2Factor, 2), co2Factor },
    monthly, daily,
  };
  return { line, notes };
}
