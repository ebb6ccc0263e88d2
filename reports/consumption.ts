import type { Device, KindName, MeterPurpose } from '../core/index.js';
import type { TelemetryStore } from '../storage/contract.js';
import type { DataGap, DailyValue, MeterConsumption, RegisterReset, Utility } from './contracts.js';
import { addDays, alignedBucketMs, datesBetween, localMidnight } from './time.js';

/**
 * Daily consumption per meter from cumulative registers (`energy` kWh, `volume` m³).
 *
 * - Reads: the first register value of each bucket (`agg: 'first'`), buckets no wider than the
 *   zone's offset granularity (1 h for Asia/Shanghai, +08:00) so that epoch-aligned buckets — the
 *   store's, as InfluxQL GROUP BY time() — fall exactly on local midnights. A day's use is then the
 *   register at its closing midnight minus the register at its opening one, as a meter reader
 *   would take it.
 * - The advance between two consecutive reads belongs to the time between them. Reads up to
 *   `maxGapMs` apart are bridged (the advance is measured; only its split across a midnight, if
 *   any, is pro rata by time). Further apart: a gap — the advance is reported as `unallocated`,
 *   no day gets it, and the days it touches are incomplete (null). Nothing is invented.
 * - A negative advance is a register reset or rollover (meter replaced, register wrapped): it is
 *   flagged, never counted, and the new value is the start of a new run. The interval itself has
 *   no known consumption, so its days are incomplete too.
 * - A day is complete (has data) only when read intervals cover all of it; completeness =
 *   complete days / days in the period.
 */
export interface MeterRef {
  readonly device: string;
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
  return { device: d.id, kind: d.kind, building: d.building, purpose: d.purpose ?? 'other' };
}

export interface RegisterRead {
  readonly ts: number;
  readonly value: number;
}

/** The pure part: register reads → daily values, resets, gaps. */
export function dailyFromRegister(reads: readonly RegisterRead[], dates: readonly string[], timezone: string, maxGapMs: number) {
  const starts = [...dates, addDays(dates[dates.length - 1] as string, 1)].map((d) => localMidnight(d, timezone));
  const use = new Array<number>(dates.length).fill(0);
  const covered = new Array<number>(dates.length).fill(0);
  const resets: RegisterReset[] = [];
  const gaps: DataGap[] = [];
  const periodFrom = starts[0] as number;
  const periodTo = starts[starts.length - 1] as number;
  let day = 0;
  for (let i = 1; i < reads.length; i++) {
    const a = reads[i - 1] as RegisterRead;
    const b = reads[i] as RegisterRead;
    if (b.ts <= a.ts) continue;
    if (b.ts <= periodFrom || a.ts >= periodTo) continue;
    const delta = b.value - a.value;
    if (delta < 0) {
      resets.push({ ts: b.ts, previous: a.value, value: b.value });
      continue;
    }
    if (b.ts - a.ts > maxGapMs) {
      gaps.push({ from: a.ts, to: b.ts, unallocated: delta });
      continue;
    }
    // Spread [a.ts, b.ts) over the days it overlaps, pro rata by time.
    const span = b.ts - a.ts;
    while (day > 0 && (starts[day] as number) > a.ts) day--;
    while (day < dates.length && (starts[day + 1] as number) <= a.ts) day++;
    for (let d = day; d < dates.length && (starts[d] as number) < b.ts; d++) {
      const lo = Math.max(a.ts, starts[d] as number);
      const hi = Math.min(b.ts, starts[d + 1] as number);
      if (hi <= lo) continue;
      covered[d] = (covered[d] as number) + (hi - lo);
      use[d] = (use[d] as number) + (delta * (hi - lo)) / span;
    }
  }
  const days: DailyValue[] = dates.map((date, i) => {
    const length = (starts[i + 1] as number) - (starts[i] as number);
    return { date, value: (covered[i] as number) >= length - 1 ? round(use[i] as number) : null };
  });
  return { days, resets, gaps };
}

const round = (x: number): number => Math.round(x * 1e6) / 1e6;

/** Daily consumption of every given meter over [firstDate, lastDate] (local dates, inclusive). */
export async function dailyConsumption(store: TelemetryStore, meters: readonly MeterRef[], q: ConsumptionQuery): Promise<MeterConsumption[]> {
  const dates = datesBetween(q.firstDate, q.lastDate);
  const from = localMidnight(q.firstDate, q.timezone);
  const to = localMidnight(addDays(q.lastDate, 1), q.timezone);
  const bucket = alignedBucketMs(from, to, q.timezone);
  const out: MeterConsumption[] = [];
  const byKind = new Map<KindName, MeterRef[]>();
  for (const m of meters) if (meterFields[m.kind]) byKind.set(m.kind, [...(byKind.get(m.kind) ?? []), m]);
  for (const [kind, refs] of byKind) {
    const spec = meterFields[kind] as NonNullable<(typeof meterFields)[KindName]>;
    // One query per kind for the site; the closing read of the last day sits at or after `to`.
    const points = await store.series({ kind, site: q.site, from, to: to + q.maxGapMs + bucket, every: bucket, agg: 'first', fields: [spec.field] });
    const reads = new Map<string, RegisterRead[]>();
    for (const p of points) {
      const v = p.values[spec.field];
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      let list = reads.get(p.device);
      if (!list) reads.set(p.device, (list = []));
      list.push({ ts: p.ts, value: v });
    }
    for (const ref of refs) {
      const r = (reads.get(ref.device) ?? []).sort((x, y) => x.ts - y.ts);
      const { days, resets, gaps } = dailyFromRegister(r, dates, q.timezone, q.maxGapMs);
      const withData = days.filter((d) => d.value !== null);
      out.push({
        device: ref.device, kind, building: ref.building, purpose: ref.purpose, utility: spec.utility, field: spec.field, unit: spec.unit,
        days, total: round(withData.reduce((s, d) => s + (d.value as number), 0)),
        daysWithData: withData.length, daysInPeriod: dates.length, completeness: dates.length === 0 ? 0 : withData.length / dates.length,
        resets, gaps,
      });
    }
  }
  return out;
}
