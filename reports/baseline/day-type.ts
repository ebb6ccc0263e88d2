import type { BaselineModel } from '../contracts.js';
import { isWeekend } from '../time.js';
import { mean } from '../stats.js';

/**
 * The day-type baseline for sites without weather data: mean daily use on weekdays and on weekend
 * days (Sat/Sun) of the baseline period, projected onto each reporting day by its type (p = 2).
 * With IPMVP Option C (whole facility, EVO IPMVP Core Concepts 2022), avoided use = projected
 * baseline − actual over the reporting period. Falls back to one mean when a type has no days.
 * (Chinese statutory holidays are not distinguished: a known limitation.)
 */
export interface DailyPoint {
  readonly date: string;
  readonly value: number;
}

export interface FittedModel {
  readonly model: BaselineModel;
  readonly p: number;
  predict(date: string): number;
}

export function fitDayType(points: readonly DailyPoint[]): FittedModel {
  const wk = points.filter((p) => !isWeekend(p.date)).map((p) => p.value);
  const we = points.filter((p) => isWeekend(p.date)).map((p) => p.value);
  const all = points.map((p) => p.value);
  const overall = all.length > 0 ? mean(all) : 0;
  const weekday = wk.length > 0 ? mean(wk) : overall;
  const weekend = we.length > 0 ? mean(we) : overall;
  const p = (wk.length > 0 ? 1 : 0) + (we.length > 0 ? 1 : 0) || 1;
  return {
    model: { type: 'day_type', weekday, weekend, nWeekday: wk.length, nWeekend: we.length },
    p,
    predict: (date) => (isWeekend(date) ? weekend : weekday),
  };
}
