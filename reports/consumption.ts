import type { Device, KindName, MeterPurpose } from '../core/index.js';
import type { SeriesPoint, TelemetryStore } from '../storage/contract.js';
import type { RegisterDay } from '../storage/rollups/contract.js';
import { dayBoundaries, summarizeDay, type RegisterRead } from '../storage/rollups/summarize.js';
import type { DataGap, DailyValue, MeterConsumption, RegisterReset, Utility } from './contracts.js';
import { addDays, alignedBucketMs, datesBetween, localMidnight } from './time.js';

export type { RegisterRead } from '../storage/rollups/summarize.js';

/**
 * Daily consumption per meter from cumulative registers (`energy` kWh, `volume` m³), read from the
 * store's daily register rollups (storage/rollups/contract.ts: one row per meter and local day),
 * or — for a store without them — summarised here from hourly register reads the same way.
 *
 * - A day's own reads give their advance exactly (the rollup row), whatever the time between them:
 *   use within one day belongs to that day, so an hours-long silence inside a day loses nothing.
 * - The interval from one day's last read to the next day's first crosses midnight. Up to
 *   `maxGapMs` long, its advance is split across the midnight pro rata by time (as a meter reader
 *   would interpolate); longer, it is a gap: the advance is reported as `unallocated`, no day gets
 *   it, and the days it touches are incomplete (null). Nothing is invented.
 * - A negative step is a register reset or rollover (meter replaced, register wrapped): it is
 *   flagged, never counted, and its interval has no known consumption, so its day is incomplete.
 * - A day is complete (has data) only when read intervals cover all of it; completeness =
 *   complete days / days in the period. The day before the period and the day after are read too,
 *   for the intervals across the period's first and last midnights.
 */
export interface MeterRef {
  readonly device: string;
  readonly name?: string;
  readonly kind: KindName;
  readonly building: string;
  readonly purpose: MeterPurpose;
}

export interface ConsumptionQuery {
  readonly site: string;
  readonly timezone: string;
  readonly firstDate: string;
  readonly lastDate: string;
  readonly maxGapMs: number;
}

const meterFields: Partial<Record<KindName, { field: 'energy' | 'volume'; unit: 'kWh' | 'm³'; utility: Utility }>> = {
  power_meter: { field: 'energy', unit: 'kWh', utility: 'electricity' },
  water_meter: { field: 'volume', unit: 'm³', utility: 'water' },
};

export function isMeter(d: Pick<Device, 'kind'>): boolean {
  return meterFields[d.kind] !== undefined;
}

export function meterRef(d: Device): MeterRef {
  return { device: d.id, name: d.name, kind: d.kind, building: d.building, purpose: d.purpose ?? 'other' };
}

const round = (x: number): number => Math.round(x * 1e6) / 1e6;
const DAY = 86_400_000;

/** The pure part: one meter's day rows (ascending dates, any days around the period) → daily values, resets, gaps. */
export function daysFromRollups(rows: readonly RegisterDay[], dates: readonly string[], timezone: string, maxGapMs: number) {
  const starts = [...dates, addDays(dates[dates.length - 1] as string, 1)].map((d) => localMidnight(d, timezone));
  const index = new Map(dates.map((d, i) => [d, i]));
  const use = new Array<number>(dates.length).fill(0);
  const covered = new Array<number>(dates.length).fill(0);
  const resets: RegisterReset[] = [];
  const gaps: DataGap[] = [];
  const periodFrom = starts[0] as number;
  const periodTo = starts[starts.length - 1] as number;
  /** Day of an instant: −1 before the period, dates.length after it. */
  const dayOf = (ts: number): number => {
    if (ts < periodFrom) return -1;
    if (ts >= periodTo) return dates.length;
    let lo = 0;
    let hi = dates.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= ts) lo = mid; else hi = mid - 1;
    }
    return lo;
  };
  const between = (a: RegisterRead, b: RegisterRead) => {
    if (b.ts <= a.ts || b.ts <= periodFrom || a.ts >= periodTo) return;
    const delta = b.value - a.value;
    if (delta < 0) {
      if (b.ts < periodTo) resets.push({ ts: b.ts, previous: a.value, value: b.value });
      return;
    }
    const first = dayOf(a.ts);
    const last = dayOf(b.ts - 1);
    if (first === last) {
      // Both reads on one day (the second may be its closing midnight): all of it is that day's.
      covered[first] = (covered[first] as number) + (b.ts - a.ts);
      use[first] = (use[first] as number) + delta;
      return;
    }
    if (b.ts - a.ts > maxGapMs) {
      gaps.push({ from: a.ts, to: b.ts, unallocated: round(delta) });
      return;
    }
    const span = b.ts - a.ts;
    for (let d = Math.max(first, 0); d <= Math.min(last, dates.length - 1); d++) {
      const lo = Math.max(a.ts, starts[d] as number);
      const hi = Math.min(b.ts, starts[d + 1] as number);
      if (hi <= lo) continue;
      covered[d] = (covered[d] as number) + (hi - lo);
      use[d] = (use[d] as number) + (delta * (hi - lo)) / span;
    }
  };
  let prev: RegisterDay | undefined;
  for (const row of rows) {
    const i = index.get(row.date);
    if (i !== undefined) {
      use[i] = (use[i] as number) + row.advance;
      covered[i] = (covered[i] as number) + row.coveredMs;
      for (const x of row.resets) resets.push(x);
    }
    if (prev) between({ ts: prev.lastTs, value: prev.lastValue }, { ts: row.firstTs, value: row.firstValue });
    prev = row;
  }
  resets.sort((a, b) => a.ts - b.ts);
  const days: DailyValue[] = dates.map((date, i) => {
    const length = (starts[i + 1] as number) - (starts[i] as number);
    return { date, value: (covered[i] as number) >= length - 1 ? round(use[i] as number) : null };
  });
  return { days, resets, gaps };
}

/** Day rows of one meter from its reads (ascending), as a store keeping rollups would hold them. */
export function rowsFromReads(reads: readonly RegisterRead[],
  key: { device: string; kind: KindName; site: string; building: string; field: string; timezone: string }): RegisterDay[] {
  const bounds = dayBoundaries(key.timezone);
  const out: RegisterDay[] = [];
  let date: string | undefined;
  let day: RegisterRead[] = [];
  const flush = () => {
    if (date === undefined) return;
    const row = summarizeDay({ ...key, date }, day);
    if (row) out.push(row);
  };
  for (const r of reads) {
    const d = bounds.dateOf(r.ts).date;
    if (d !== date) {
      flush();
      date = d;
      day = [];
    }
    day.push(r);
  }
  flush();
  return out;
}

/** Register reads (any instants) → daily values, resets and gaps over local `dates`. */
export function dailyFromRegister(reads: readonly RegisterRead[], dates: readonly string[], timezone: string, maxGapMs: number) {
  const rows = rowsFromReads([...reads].sort((a, b) => a.ts - b.ts), { device: '', kind: 'power_meter', site: '', building: '', field: 'energy', timezone });
  return daysFromRollups(rows, dates, timezone, maxGapMs);
}

/**
 * Day rows of a site's meters of one kind over [from, to] (local dates): the store's rollups, made
 * again in the site's zone first if some were built in another (the site's zone changed); or, for a
 * store without rollups, summarised from the first register read of each hourly bucket.
 */
async function registerDays(store: TelemetryStore, kind: KindName, field: string, q: ConsumptionQuery,
  devices: readonly string[], fromDate: string, toDate: string): Promise<RegisterDay[]> {
  const rollups = store.rollups;
  if (rollups && (await rollups.ready?.() ?? true)) {
    const ask = { site: q.site, kind, field, fromDate, toDate, devices };
    const rows = await rollups.days(ask);
    if (rows.every((r) => r.timezone === q.timezone)) return rows;
    await rollups.rebuild({ site: q.site, kind, field, fromDate, toDate, timezone: q.timezone });
    return (await rollups.days(ask)).filter((r) => r.timezone === q.timezone);
  }
  const from = localMidnight(fromDate, q.timezone);
  const to = localMidnight(addDays(toDate, 1), q.timezone);
  const bucket = alignedBucketMs(from, to, q.timezone);
  // At most 366 days of hourly buckets per query (8,784): influxd answers at most 10,000 rows per series.
  const points: SeriesPoint[] = [];
  for (let start = from; start < to; start += 366 * DAY) {
    for (const p of await store.series({ kind, site: q.site, from: start, to: Math.min(to, start + 366 * DAY), every: bucket, agg: 'first', fields: [field] })) points.push(p);
  }
  const reads = new Map<string, RegisterRead[]>();
  for (const p of points) {
    const v = p.values[field];
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    let list = reads.get(p.device);
    if (!list) reads.set(p.device, (list = []));
    list.push({ ts: p.ts, value: v });
  }
  return devices.flatMap((device) => rowsFromReads((reads.get(device) ?? []).sort((a, b) => a.ts - b.ts), { device, kind, site: q.site, building: '', field, timezone: q.timezone }));
}

/** Periods further apart than this are read separately rather than with the days between them. */
const JOIN_GAP_DAYS = 400;

/**
 * Daily consumption of every given meter over each period [firstDate, lastDate] (local dates,
 * inclusive): one answer per period, in order. Periods close together (a baseline and the reporting
 * period after it) are read from the store in one query per meter kind.
 */
export async function dailyConsumption(
  store: TelemetryStore, meters: readonly MeterRef[], q: Omit<ConsumptionQuery, 'firstDate' | 'lastDate'>,
  periods: readonly { readonly firstDate: string; readonly lastDate: string }[],
): Promise<MeterConsumption[][]> {
  // The intervals across a period's edges: the days just outside it, as far as a bridged interval reaches.
  const margin = 1 + Math.ceil(q.maxGapMs / DAY);
  const out: MeterConsumption[][] = periods.map(() => []);
  const byKind = new Map<KindName, MeterRef[]>();
  for (const m of meters) if (meterFields[m.kind]) byKind.set(m.kind, [...(byKind.get(m.kind) ?? []), m]);
  const spans = [...periods].sort((a, b) => (a.firstDate < b.firstDate ? -1 : 1)).reduce<{ from: string; to: string }[]>((acc, p) => {
    const from = addDays(p.firstDate, -margin);
    const to = addDays(p.lastDate, margin);
    const last = acc[acc.length - 1];
    if (last && from <= addDays(last.to, JOIN_GAP_DAYS)) last.to = to > last.to ? to : last.to;
    else acc.push({ from, to });
    return acc;
  }, []);
  // The kinds are read side by side (InfluxDB answers concurrent queries on its own cores).
  const kindRows = await Promise.all([...byKind].map(async ([kind, refs]) => {
    const field = (meterFields[kind] as NonNullable<(typeof meterFields)[KindName]>).field;
    const rows: RegisterDay[] = [];
    for (const span of spans) rows.push(...await registerDays(store, kind, field, { ...q, firstDate: span.from, lastDate: span.to }, refs.map((r) => r.device),
      span.from, span.to));
    return rows;
  }));
  [...byKind].forEach(([kind, refs], k) => {
    const spec = meterFields[kind] as NonNullable<(typeof meterFields)[KindName]>;
    const byDevice = new Map<string, RegisterDay[]>();
    for (const row of kindRows[k] as RegisterDay[]) {
      let list = byDevice.get(row.device);
      if (!list) byDevice.set(row.device, (list = []));
      list.push(row);
    }
    for (const list of byDevice.values()) list.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
    periods.forEach((p, i) => {
      const dates = datesBetween(p.firstDate, p.lastDate);
      const lo = addDays(p.firstDate, -margin);
      const hi = addDays(p.lastDate, margin);
      for (const ref of refs) {
        const mine = (byDevice.get(ref.device) ?? []).filter((r) => r.date >= lo && r.date <= hi);
        const { days, resets, gaps } = daysFromRollups(mine, dates, q.timezone, q.maxGapMs);
        const withData = days.filter((d) => d.value !== null);
        (out[i] as MeterConsumption[]).push({
          device: ref.device, ...(ref.name !== undefined ? { name: ref.name } : {}), kind, building: ref.building, purpose: ref.purpose,
          utility: spec.utility, field: spec.field, unit: spec.unit,
          days, total: round(withData.reduce((s, d) => s + (d.value as number), 0)),
          daysWithData: withData.length, daysInPeriod: dates.length, completeness: dates.length === 0 ? 0 : withData.length / dates.length,
          resets, gaps,
        });
      }
    });
  });
  return out;
}
