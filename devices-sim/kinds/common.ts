import type { Device, KindName, KindPayload } from '../../core/index.js';
import { createRng } from '../random.js';

/** A simulated device's data source: a pure function of time and its own random streams (no timers). */
export interface Profile {
  readonly device: Device;
  readonly kind: KindName;
  /** The payload the device reports at `now` (epoch ms). Calls must come with non-decreasing `now`. */
  next(now: number): KindPayload;
}

export interface ProfileOptions {
  /**
   * Local time offset from UTC in minutes, for daily rhythms. Default +480 (Asia/Shanghai; China
   * has kept one offset without daylight saving since 1991, so a fixed offset is exact there).
   */
  utcOffsetMin?: number;
  /**
   * Step changes of this device's consumption rate (power, water drawn) from a date on: a retrofit.
   * Meters integrate the scaled rate, so their registers stay monotonic and consistent.
   */
  scale?: readonly RateStep[];
}

/** From `at` (epoch ms) on, the consumption rate is multiplied by `factor` (LED lighting: 0.6). */
export interface RateStep {
  readonly at: number;
  readonly factor: number;
}

/** The product of the factors of the steps taken by `t`. */
export function rateFactor(steps: readonly RateStep[] | undefined, t: number): number {
  let f = 1;
  for (const s of steps ?? []) if (s.at <= t) f *= s.factor;
  return f;
}

/** ∫ factor·d(integral) over [t0, t1] for an interval integral, exact for step factors: split at the steps. */
export function scaledInterval(steps: readonly RateStep[] | undefined, t0: number, t1: number, integral: (a: number, b: number) => number): number {
  if (!steps || steps.length === 0) return integral(t0, t1);
  const cuts = [t0, ...steps.map((s) => s.at).filter((at) => at > t0 && at < t1).sort((a, b) => a - b), t1];
  let sum = 0;
  for (let i = 0; i + 1 < cuts.length; i++) {
    const a = cuts[i] as number;
    const b = cuts[i + 1] as number;
    sum += rateFactor(steps, a) * integral(a, b);
  }
  return sum;
}

/**
 * A running integral (litres drawn since the start) scaled by step factors. The raw integral at
 * each step is read once, the first time a later instant is asked for, so callers must move
 * forward in time (profiles do; event tracks keep 6 h of history for exactly this).
 */
export function createScaledIntegral(steps: readonly RateStep[] | undefined, integral: (t: number) => number): (t: number) => number {
  if (!steps || steps.length === 0) return integral;
  const sorted = [...steps].sort((a, b) => a.at - b.at);
  const marks = new Map<number, number>();
  return (t) => {
    let sum = 0;
    let prevRaw = 0;
    let factor = 1;
    for (const s of sorted) {
      if (s.at > t) break;
      let raw = marks.get(s.at);
      if (raw === undefined) marks.set(s.at, (raw = integral(s.at)));
      sum += factor * (raw - prevRaw);
      prevRaw = raw;
      factor *= s.factor;
    }
    return sum + factor * (integral(t) - prevRaw);
  };
}

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
export const DEFAULT_UTC_OFFSET_MIN = 480;

export interface LocalTime {
  /** Fractional local hour of day, 0 ≤ hour < 24. */
  hour: number;
  /** 0 = Sunday … 6 = Saturday. */
  weekday: number;
  weekend: boolean;
  /** 0-based day of the year (approximate: 365-day year, good enough for seasons). */
  dayOfYear: number;
  /** Local calendar days since the epoch: a stable key for per-day randomness. */
  dayIndex: number;
}

export function localTime(now: number, utcOffsetMin = DEFAULT_UTC_OFFSET_MIN): LocalTime {
  const local = now + utcOffsetMin * MINUTE;
  const dayIndex = Math.floor(local / DAY);
  const hour = (local - dayIndex * DAY) / HOUR;
  const weekday = (((dayIndex + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
  return { hour, weekday, weekend: weekday === 0 || weekday === 6, dayOfYear: dayOfYear(dayIndex), dayIndex };
}

/**
 * Days since 1 January of the (proleptic Gregorian) year of `dayIndex`, days since 1970-01-01 —
 * by arithmetic (H. Hinnant, "chrono-compatible low-level date algorithms", civil_from_days), not a
 * Date per call: the profiles ask for it every simulated minute, and a year of history's catch-up
 * spent a sixth of its time building Dates here. Same answers as the Date-based form (test/devices-sim).
 */
export function dayOfYear(dayIndex: number): number {
  const z = dayIndex + 719_468; // days from 0000-03-01
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097; // [0, 146096]
  const yoe = Math.floor((doe - Math.floor(doe / 1_460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365); // [0, 399]
  const doyFromMarch = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100)); // [0, 365], 1 March = 0
  const mp = Math.floor((5 * doyFromMarch + 2) / 153); // [0, 11], March = 0
  if (mp >= 10) return doyFromMarch - 306; // January and February: 306 days after 1 March of the year before
  const year = yoe + era * 400;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return doyFromMarch + 59 + (leap ? 1 : 0);
}

/** A bump centred on `center` (hours) with width `sd` hours, wrapping around midnight. */
export function hourBump(hour: number, center: number, sd: number): number {
  let d = Math.abs(hour - center) % 24;
  if (d > 12) d = 24 - d;
  return Math.exp(-0.5 * (d / sd) ** 2);
}

/** Divides a daily shape by its 24-hour mean, so `shape(h)` averages 1 over a day. */
export function normalizeDaily(shape: (hour: number) => number): (hour: number) => number {
  let sum = 0;
  const n = 288;
  for (let i = 0; i < n; i++) sum += shape((i * 24) / n);
  const mean = sum / n;
  return (h) => shape(h) / mean;
}

/** Cosine over the year peaking on `peakDay` (day of year): +1 there, −1 half a year away. */
export function annualCosine(dayOfYear: number, peakDay: number): number {
  return Math.cos((2 * Math.PI * (dayOfYear - peakDay)) / 365);
}

/**
 * Outdoor air temperature of a Yangtze-delta city (the demo is a Shanghai-style compound): monthly
 * means run from about 5 °C in January to about 29 °C in late July, with a daily swing of a few
 * degrees peaking mid-afternoon. An illustrative climate, not a weather record.
 */
export function outdoorTemperature(now: number, utcOffsetMin?: number): number {
  const t = localTime(now, utcOffsetMin);
  return 17 + 12 * annualCosine(t.dayOfYear, 205) + 3.5 * Math.cos((2 * Math.PI * (t.hour - 14.5)) / 24);
}

/** Stairwells and flats of older unheated compounds follow outdoors about halfway. */
export function indoorTemperature(now: number, utcOffsetMin?: number): number {
  return 0.45 * outdoorTemperature(now, utcOffsetMin) + 0.55 * 21;
}

/** A multiplicative factor drawn once per local day, e.g. "a busy Saturday": pure in (salt, day). */
export function dayFactor(salt: number, dayIndex: number, sd: number): number {
  return Math.max(0.3, createRng(salt, 'day', dayIndex).normal(1, sd));
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function clamp(x: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, x));
}

/**
 * A cumulative register as a meter shows it: rounded to its resolution and never decreasing
 * (floating-point sums of the same total in another order can differ in the last bit).
 */
export function createRegister(digits: number): (raw: number) => number {
  let last = -Infinity;
  return (raw) => {
    last = Math.max(last, round(raw, digits));
    return last;
  };
}

/** Adds the envelope every payload carries: `ts` (epoch ms) and the per-device `seq`. */
export function createStamp(): (now: number, fields: Record<string, number | boolean>) => KindPayload {
  let seq = 0;
  return (now, fields) => ({ ts: Math.round(now), seq: seq++, ...fields });
}

/** Keeps `now` from running backwards: a profile's state only moves forward. */
export function createForwardClock(start: number): (now: number) => { now: number; dt: number } {
  let last = start;
  return (now) => {
    const t = Math.max(now, last);
    const dt = t - last;
    last = t;
    return { now: t, dt };
  };
}
