import { kindOf, type Device } from '../../core/index.js';

/**
 * How the rules read a condition over time from samples that arrive every 5 s or every 5 min, at a
 * sensor's resolution, with gaps. Each reading stands for the interval until the next one (a
 * sample-and-hold, as a meter's register or a detector's averaged value does), but never for more
 * than a couple of its reporting intervals: a missing report is not evidence.
 *
 * - `dutyWithin`: time a condition held within a sliding window — what an intermittent fault
 *   (leakage current alternating 250/450 mA) accumulates when it never holds on two reports in a row.
 * - `slopeOver`: the least-squares slope over a window — a rate of rise that survives a 1 °C
 *   resolution (a 10 °C/min ramp sampled every 5 s reads 0 or +1 °C per step; a step-by-step rate
 *   would reset on every flat step).
 * State is plain JSON (rule state is persisted), bounded by the window.
 */

/** The device's nominal reporting interval: its own (`report_interval_s`), else its kind's. */
export function reportIntervalMs(device: Pick<Device, 'kind' | 'report_interval_s'>): number {
  return (device.report_interval_s ?? kindOf(device.kind).reportingIntervalS) * 1000;
}

/** How long one sample may stand for the condition: two reporting intervals. */
export function maxSampleMs(device: Pick<Device, 'kind' | 'report_interval_s'>): number {
  return 2 * reportIntervalMs(device);
}

export interface DutyState {
  /** The previous sample. */
  last?: { ts: number; on: boolean };
  /** [start, end] spans the condition held, oldest first, none ending before the window. */
  spans: Array<[number, number]>;
  /** Times of the samples that met the condition, within the window. */
  hits: number[];
}

export const emptyDuty = (): DutyState => ({ spans: [], hits: [] });

export interface Duty {
  /** Milliseconds within (now − window, now] the condition held. */
  onMs: number;
  /** Samples within the window that met it. */
  samples: number;
}

/** Adds the sample at `now` and returns the condition's time within the window ending at `now`. */
export function dutyWithin(s: DutyState, on: boolean, now: number, windowMs: number, sampleMs: number): Duty {
  const prev = s.last;
  if (prev?.on && now > prev.ts) {
    const end = Math.min(now, prev.ts + sampleMs);
    const tail = s.spans[s.spans.length - 1];
    if (tail && tail[1] >= prev.ts) tail[1] = Math.max(tail[1], end);
    else s.spans.push([prev.ts, end]);
  }
  if (!prev || now >= prev.ts) s.last = { ts: now, on };
  if (on) s.hits.push(now);
  const from = now - windowMs;
  s.spans = s.spans.filter(([, end]) => end > from);
  s.hits = s.hits.filter((t) => t > from);
  let onMs = 0;
  for (const [start, end] of s.spans) onMs += Math.max(0, Math.min(end, now) - Math.max(start, from));
  return { onMs, samples: s.hits.length };
}

export interface SlopeState {
  /** [ts, value] samples: those in the window, and always at least the two latest. */
  pts: Array<[number, number]>;
  /**
   * The fit's running sums over `pts`, x in minutes from `at`: [at, Σx, Σy, Σx², Σxy] — so a sample
   * costs the same with 240 in the window as with 2. Derived from `pts`: rebuilt when absent (state
   * saved before it existed) and whenever the oldest sample has moved a whole span past `at`, so x
   * stays within twice the span (no cancellation in n·Σx² − (Σx)²) and rounding from adding and
   * taking away samples never builds up over more than about one window's samples.
   */
  sums?: [number, number, number, number, number];
}

export const emptySlope = (): SlopeState => ({ pts: [] });

export interface Slope {
  /** Least-squares slope, per minute. */
  perMin: number;
  /** Time the fitted samples span. */
  spanMs: number;
  n: number;
}

type Sums = NonNullable<SlopeState['sums']>;

/** The sums of `pts`, x from their oldest sample (from `at` when there is none yet). */
function sumsOf(pts: ReadonlyArray<[number, number]>, at: number): Sums {
  const sums: Sums = [pts[0]?.[0] ?? at, 0, 0, 0, 0];
  for (const [t, v] of pts) addSample(sums, t, v, 1);
  return sums;
}

function addSample(sums: Sums, t: number, v: number, sign: 1 | -1): void {
  const x = (t - sums[0]) / 60_000;
  sums[1] += sign * x;
  sums[2] += sign * v;
  sums[3] += sign * x * x;
  sums[4] += sign * x * v;
}

/** Samples a window holds at most: closer ones are thinned (see `slopeOver`). */
const MAX_SLOPE_POINTS = 240;

/**
 * Adds the sample and fits a line through the samples of the last `windowMs` (at least the two
 * latest, so a device reporting less often than the window is judged on its last interval).
 * Undefined until the fitted samples span at least `minSpanMs`: two samples a few seconds apart at
 * 1 °C resolution would read as a huge rate.
 *
 * A device that reports many times a second is thinned to one sample per 1/240 of the window (the
 * newest in each): a cap on the count alone kept the last 240 samples, which at 8 reports a second
 * span 30 s, under the heat rule's 45 s minimum, so such a device was never judged at all.
 */
export function slopeOver(s: SlopeState, now: number, value: number, windowMs: number, minSpanMs: number): Slope | undefined {
  const pts = s.pts;
  const last = pts[pts.length - 1];
  if (last && now < last[0]) return undefined;
  const sums = (s.sums = s.sums?.length === 5 ? s.sums : sumsOf(pts, now));
  const step = windowMs / MAX_SLOPE_POINTS;
  if (last && (now === last[0] || Math.floor(now / step) === Math.floor(last[0] / step))) {
    // The same instant again, or the same 1/240 of a window: the newest sample stands for it.
    addSample(sums, last[0], last[1], -1);
    last[0] = now;
    last[1] = value;
  } else {
    pts.push([now, value]);
  }
  addSample(sums, now, value, 1);
  while (pts.length > 2 && ((pts[0] as [number, number])[0] < now - windowMs || pts.length > MAX_SLOPE_POINTS + 2)) {
    const [t, v] = pts.shift()!;
    addSample(sums, t, v, -1);
  }
  const n = pts.length;
  const t0 = (pts[0] as [number, number])[0];
  const spanMs = now - t0;
  const fit = t0 - sums[0] > spanMs ? (s.sums = sumsOf(pts, t0)) : sums;
  if (n < 2 || spanMs < minSpanMs) return undefined;
  const [, sx, sy, sxx, sxy] = fit;
  const den = n * sxx - sx * sx;
  if (den <= 0) return undefined;
  return { perMin: (n * sxy - sx * sy) / den, spanMs, n };
}

export interface MeanSquareState {
  last?: { ts: number; v: number };
  /** [start, end, value²] spans, oldest first, none ending before the window. */
  segs: Array<[number, number, number]>;
}

export const emptyMeanSquare = (): MeanSquareState => ({ segs: [] });

/**
 * Adds the sample and returns the root mean square of the value over the time the window's samples
 * cover (each standing until the next, at most `sampleMs`) — the equivalent steady value for
 * anything that heats as the square (a conductor: I²R) — and how much of the window is covered.
 */
export function rmsWithin(s: MeanSquareState, v: number, now: number, windowMs: number, sampleMs: number): { rms: number; coveredMs: number } {
  const prev = s.last;
  if (prev && now > prev.ts) s.segs.push([prev.ts, Math.min(now, prev.ts + sampleMs), prev.v * prev.v]);
  if (!prev || now >= prev.ts) s.last = { ts: now, v };
  const from = now - windowMs;
  s.segs = s.segs.filter(([, end]) => end > from);
  let covered = 0;
  let sum = 0;
  for (const [start, end, sq] of s.segs) {
    const ms = Math.max(0, Math.min(end, now) - Math.max(start, from));
    covered += ms;
    sum += ms * sq;
  }
  return { rms: covered > 0 ? Math.sqrt(sum / covered) : Math.abs(v), coveredMs: covered };
}
