import type { Device } from '../core/index.js';
import type { TelemetryStore } from '../storage/contract.js';
import { addDays, alignedBucketMs, localMidnight } from './time.js';

/**
 * Hourly consumption of a site for one local day, from cumulative registers — what the control
 * room compares with the same weekday a week earlier.
 *
 * - Only top-level meters are summed: a household water meter that hangs under a master meter
 *   (`parent`) is already inside the master's register, and adding both would count it twice.
 * - Reads are the last register value of each bucket (buckets aligned to local hours, as in
 *   reports/consumption.ts). The advance between two consecutive reads is put in the hour of the
 *   later read; with meters reporting every 15 min that is the hour it was used in. A negative
 *   advance is a register reset or rollover and is not counted (as the reports do).
 * - An hour no meter has a read in is null (unknown), not 0; hours after `until` (later today) are null.
 */

export const HOUR_MS = 3_600_000;

export interface HourlyRegisterQuery {
  readonly site: string;
  readonly timezone: string;
  /** Local date, YYYY-MM-DD. */
  readonly date: string;
  /** Reads at or after this instant are ignored (now, for today). */
  readonly until: number;
}

export interface HourlyUse {
  /** One per local hour of the day (23 or 25 on DST change days). */
  readonly hours: (number | null)[];
  readonly total: number;
  readonly meters: number;
}

/** The pure part: one meter's bucket reads (ts ascending) → use per hour of the day starting at `dayStart`. */
export function hourlyFromRegister(reads: readonly { ts: number; value: number }[], dayStart: number, hourCount: number): (number | null)[] {
  const use = new Array<number | null>(hourCount).fill(null);
  let prev: number | undefined;
  for (const { ts, value } of reads) {
    const h = Math.floor((ts - dayStart) / HOUR_MS);
    if (h >= 0 && h < hourCount) {
      const delta = prev === undefined ? undefined : value - prev;
      use[h] = (use[h] ?? 0) + (delta !== undefined && delta >= 0 ? delta : 0);
    }
    prev = value;
  }
  return use;
}

const registers = { power_meter: 'energy', water_meter: 'volume' } as const;

export async function siteHourlyUse(
  store: Pick<TelemetryStore, 'series'>,
  devices: readonly Device[],
  kind: keyof typeof registers,
  q: HourlyRegisterQuery,
): Promise<HourlyUse> {
  const dayStart = localMidnight(q.date, q.timezone);
  const dayEnd = localMidnight(addDays(q.date, 1), q.timezone);
  const hourCount = Math.round((dayEnd - dayStart) / HOUR_MS);
  const ids = new Set(devices.filter((d) => d.kind === kind && d.site === q.site).map((d) => d.id));
  const topLevel = devices.filter((d) => ids.has(d.id) && !(d.parent && ids.has(d.parent))).map((d) => d.id);
  const hours = new Array<number | null>(hourCount).fill(null);
  const to = Math.min(dayEnd, q.until);
  if (topLevel.length === 0 || to <= dayStart) return { hours, total: 0, meters: topLevel.length };

  const field = registers[kind];
  // From an hour before midnight: the register at the day's start is the previous hour's last read.
  const from = dayStart - HOUR_MS;
  const every = alignedBucketMs(from, to, q.timezone);
  const points = await store.series({ kind, site: q.site, from, to, every, agg: 'last', fields: [field] });
  const byDevice = new Map<string, { ts: number; value: number }[]>();
  const wanted = new Set(topLevel);
  for (const p of points) {
    const v = p.values[field];
    if (!wanted.has(p.device) || typeof v !== 'number') continue;
    let list = byDevice.get(p.device);
    if (!list) byDevice.set(p.device, (list = []));
    list.push({ ts: p.ts, value: v });
  }
  for (const reads of byDevice.values()) {
    reads.sort((a, b) => a.ts - b.ts);
    hourlyFromRegister(reads, dayStart, hourCount).forEach((u, h) => {
      if (u !== null) hours[h] = (hours[h] ?? 0) + u;
    });
  }
  const total = hours.reduce<number>((s, u) => s + (u ?? 0), 0);
  return { hours, total, meters: topLevel.length };
}
