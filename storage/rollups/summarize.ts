import type { KindName, Reading } from '../../core/index.js';
import { kindOf } from '../../core/index.js';
import { addDays, localDate, localMidnight } from '../../core/time.js';
import type { RegisterDay, RegisterReset } from './contract.js';

/**
 * The pure part of the daily register rollups (contract.ts): reads of one device and one local day
 * → a RegisterDay; a row extended by newer reads; readings of a batch → the device-days they touch.
 * Both stores and the reports' fallback (a store without rollups) use these, so a row means the
 * same wherever it was computed.
 */

export interface RegisterRead {
  readonly ts: number;
  readonly value: number;
}

/** What identifies a row: everything but the summary. */
export type DayKey = Pick<RegisterDay, 'device' | 'kind' | 'site' | 'building' | 'field' | 'date' | 'timezone'>;

const round = (x: number): number => Math.round(x * 1e9) / 1e9;

/** Folds reads (ascending ts, after `day`'s last read) into a row; `day` undefined starts one. */
function fold(key: DayKey, day: RegisterDay | undefined, reads: readonly RegisterRead[]): RegisterDay | undefined {
  let row = day;
  let advance = day?.advance ?? 0;
  let covered = day?.coveredMs ?? 0;
  const resets: RegisterReset[] = [...(day?.resets ?? [])];
  let first = day ? { ts: day.firstTs, value: day.firstValue } : undefined;
  let last = day ? { ts: day.lastTs, value: day.lastValue } : undefined;
  let n = day?.reads ?? 0;
  for (const r of reads) {
    if (!Number.isFinite(r.value)) continue;
    if (last && r.ts <= last.ts) continue;
    if (last) {
      const delta = r.value - last.value;
      if (delta < 0) resets.push({ ts: r.ts, previous: last.value, value: r.value });
      else {
        advance += delta;
        covered += r.ts - last.ts;
      }
    }
    first ??= r;
    last = r;
    n += 1;
  }
  if (!first || !last) return row;
  row = {
    device: key.device, kind: key.kind, site: key.site, building: key.building, field: key.field, date: key.date, timezone: key.timezone, reads: n,
      firstTs: first.ts, firstValue: first.value, lastTs: last.ts, lastValue: last.value,
    advance: round(advance), coveredMs: covered, resets,
  };
  return row;
}

/** One device-day from its reads (any order; reads outside the day must not be passed). */
export function summarizeDay(key: DayKey, reads: readonly RegisterRead[]): RegisterDay | undefined {
  return fold(key, undefined, [...reads].sort((a, b) => a.ts - b.ts));
}

/** `day` extended by reads that all come after its last read (the common, live case). */
export function extendDay(day: RegisterDay, reads: readonly RegisterRead[]): RegisterDay {
  const { device, kind, site, building, field, date, timezone } = day;
  return fold({ device, kind, site, building, field, date, timezone }, day, [...reads].sort((a, b) => a.ts - b.ts)) as RegisterDay;
}

/** Local-day boundaries of a zone, cached per date (Intl is slow enough to matter in a backfill). */
export function dayBoundaries(timezone: string): { dateOf(ts: number): { date: string; start: number; end: number }; startOf(date: string): number } {
  const starts = new Map<string, number>();
  const startOf = (date: string): number => {
    let s = starts.get(date);
    if (s === undefined) {
      s = localMidnight(date, timezone);
      starts.set(date, s);
    }
    return s;
  };
  let cur: { date: string; start: number; end: number } | undefined;
  return {
    startOf,
    dateOf(ts) {
      if (cur && ts >= cur.start && ts < cur.end) return cur;
      // Instants in time order step from one day to the next: no Intl lookup but the midnight's.
      if (cur && ts >= cur.end && ts < cur.end + 2 * 86_400_000) {
        const next = addDays(cur.date, 1);
        const end = startOf(addDays(next, 1));
        if (ts < end) return (cur = { date: next, start: cur.end, end });
      }
      const date = localDate(ts, timezone);
      cur = { date, start: startOf(date), end: startOf(addDays(date, 1)) };
      return cur;
    },
  };
}

/** Register fields of a kind (`cumulative` in core's kind table). */
export function registerFields(kind: KindName): readonly string[] {
  return kindOf(kind).cumulative;
}

export interface TouchedDay extends DayKey {
  /** The day's instant range [start, end). */
  readonly start: number;
  readonly end: number;
  /** The batch's reads of this device-day, ascending. */
  readonly reads: RegisterRead[];
}

/**
 * The device-days a batch touches, per register field, with the batch's own reads of each. A
 * reading without the field (a rewrite carrying other fields only) touches nothing: the stored
 * register value at that instant is unchanged.
 */
export function touchedDays(batch: readonly Reading[], zoneOf: (site: string) => string): TouchedDay[] {
  const out = new Map<string, TouchedDay>();
  const bounds = new Map<string, ReturnType<typeof dayBoundaries>>();
  for (const r of batch) {
    const fields = registerFields(r.kind);
    if (fields.length === 0) continue;
    const timezone = zoneOf(r.site);
    let b = bounds.get(timezone);
    if (!b) bounds.set(timezone, (b = dayBoundaries(timezone)));
    for (const field of fields) {
      const v = r.fields[field];
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      const d = b.dateOf(r.ts);
      const key = `${r.device}\u0000${field}\u0000${d.date}`;
      let t = out.get(key);
      if (!t) {
        t = { device: r.device, kind: r.kind, site: r.site, building: r.building, field, date: d.date, timezone, start: d.start, end: d.end, reads: [] };
        out.set(key, t);
      }
      t.reads.push({ ts: r.ts, value: v });
    }
  }
  for (const t of out.values()) t.reads.sort((a, b) => a.ts - b.ts);
  return [...out.values()];
}

/**
 * What to do with a touched day given its stored row: extend the row (every new read is after its
 * last one), start one from the batch (no row, and the store vouches that a missing row means no
 * readings that day), or recompute the day from the store's readings (a late, replayed or
 * rewritten read; a row of another zone; or a missing row the store cannot vouch for).
 */
export function planDay(t: TouchedDay, stored: RegisterDay | undefined, trustMissing: boolean): { row: RegisterDay } | { recompute: true } {
  const reads = t.reads;
  if (stored && stored.timezone === t.timezone && (reads[0] as RegisterRead).ts > stored.lastTs) return { row: extendDay(stored, reads) };
  if (!stored && trustMissing) return { row: summarizeDay(t, reads) as RegisterDay };
  return { recompute: true };
}
