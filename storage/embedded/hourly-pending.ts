import { BIGINT, BOOLEAN, DOUBLE, VARCHAR, type DuckDBConnection } from '@duckdb/node-api';
import type { KindName, Reading } from '../../core/index.js';
import { hourMs, hourlyStagingName } from './hourly.js';
import { kindTables } from './schema.js';
import { appendToStaging } from './sql.js';

/**
 * The hourly aggregates of readings committed since the last flush, kept in memory (one entry per
 * kind, device and hour) and written to the hourly tables in one pass per flush, not per batch.
 *
 * Why: combining a batch into its hours in SQL (aggregate the staged batch, then MERGE into
 * `hourly_<kind>`) cost ~22 ms of DuckDB work per 2,000-reading batch — 60 % of the whole telemetry
 * write (measured by scratch timing on this machine; BENCHMARKS.md). The aggregate of a batch in JS
 * costs well under 1 ms, and the MERGE runs once per flush for every pending hour together.
 *
 * Crash safety: a (kind, device, hour) that becomes pending is written to `hourly_dirty` in the
 * same transaction as its readings, and the flush deletes the markers in the transaction that
 * writes the hours. So after a crash the hours that missed their flush are exactly the marked ones,
 * and `recoverDirtyHours` recomputes them from the kind table (which holds their readings) on open.
 */

/** One field's aggregate over the pending readings of an hour; first/last by reading time. */
interface FieldAgg { n: number; min: number; max: number; sum: number; first: number; firstTs: number; last: number; lastTs: number }

export interface PendingHour {
  readonly kind: KindName;
  readonly device: string;
  readonly hour: number;
  /** Site and building of the newest reading (the SQL aggregate's arg_max by ts). */
  site: string;
  building: string;
  loTs: number;
  lastTs: number;
  /**
   * A reading came at or before one already pending (late, a rewrite or a replay): the sums could
   * count a (device, ts) twice, so the flush recomputes this hour from the kind table instead.
   */
  late: boolean;
  readonly fields: (FieldAgg | undefined)[];
}

/**
 * Pending hours by kind, device and hour. Nested maps rather than one keyed by a
 * `kind|device|hour` string: every reading of every write looks its hour up twice, and a string key
 * was built and hashed each time (BENCHMARKS.md, 2026-12-05); the device ids are the directory's own
 * strings, whose hashes V8 keeps.
 */
type PendingMap = Map<KindName, Map<string, Map<number, PendingHour>>>;

export interface HourlyPending {
  /** The (device, hour) pairs of these readings (one kind's live readings, in the write's transaction) not pending yet, each once. */
  newHours(kind: KindName, rows: readonly Reading[]): { device: string; hour: number }[];
  /** After the write committed: its live readings join their pending hours. */
  add(kind: KindName, rows: readonly Reading[]): void;
  size(): number;
  /** Milliseconds since the oldest pending hour got its first reading (0 when none). */
  ageMs(now: number): number;
  /** Takes everything pending (for a flush); `restore` puts it back if that flush's transaction failed. */
  take(): PendingHour[];
  restore(hours: readonly PendingHour[]): void;
}

export function createHourlyPending(): HourlyPending {
  let pending: PendingMap = new Map();
  let count = 0;
  let since = 0;

  const find = (kind: KindName, device: string, hour: number) => pending.get(kind)?.get(device)?.get(hour);
  function insert(h: PendingHour): void {
    let byDevice = pending.get(h.kind);
    if (!byDevice) pending.set(h.kind, (byDevice = new Map()));
    let byHour = byDevice.get(h.device);
    if (!byHour) byDevice.set(h.device, (byHour = new Map()));
    byHour.set(h.hour, h);
    count += 1;
  }
  function all(): PendingHour[] {
    const out: PendingHour[] = [];
    for (const byDevice of pending.values()) for (const byHour of byDevice.values()) for (const h of byHour.values()) out.push(h);
    return out;
  }

  function fold(h: PendingHour, r: Reading): void {
    if (r.ts <= h.lastTs) h.late = true;
    if (r.ts < h.loTs) h.loTs = r.ts;
    if (r.ts >= h.lastTs) {
      h.lastTs = r.ts;
      h.site = r.site;
      h.building = r.building;
    }
    const defs = kindTables[h.kind].fields;
    for (let i = 0; i < defs.length; i++) {
      const v = r.fields[defs[i]!.name];
      if (v === undefined) continue;
      const x = typeof v === 'boolean' ? (v ? 1 : 0) : v;
      const f = h.fields[i];
      if (!f) {
        h.fields[i] = { n: 1, min: x, max: x, sum: x, first: x, firstTs: r.ts, last: x, lastTs: r.ts };
        continue;
      }
      f.n += 1;
      if (x < f.min) f.min = x;
      if (x > f.max) f.max = x;
      f.sum += x;
      if (r.ts < f.firstTs) {
        f.first = x;
        f.firstTs = r.ts;
      }
      if (r.ts >= f.lastTs) {
        f.last = x;
        f.lastTs = r.ts;
      }
    }
  }

  return {
    newHours(kind, rows) {
      const out: { device: string; hour: number }[] = [];
      // The hours already listed, per device (a replay of a year of 4-hourly readings lists thousands).
      const listed = new Map<string, Set<number>>();
      for (const r of rows) {
        const hour = r.ts - (r.ts % hourMs);
        if (find(kind, r.device, hour)) continue;
        let hours = listed.get(r.device);
        if (!hours) listed.set(r.device, (hours = new Set()));
        if (hours.has(hour)) continue;
        hours.add(hour);
        out.push({ device: r.device, hour });
      }
      return out;
    },
    add(kind, rows) {
      if (rows.length > 0 && count === 0) since = Date.now();
      for (const r of rows) {
        const hour = r.ts - (r.ts % hourMs);
        let h = find(kind, r.device, hour);
        if (!h) {
          h = { kind, device: r.device, hour, site: r.site, building: r.building, loTs: r.ts, lastTs: -Infinity, late: false, fields: [] };
          insert(h);
        }
        fold(h, r);
      }
    },
    size: () => count,
    ageMs: (now) => (count === 0 ? 0 : now - since),
    take() {
      const out = all();
      pending = new Map();
      count = 0;
      since = 0;
      return out;
    },
    restore(hours) {
      if (hours.length === 0) return;
      const later = all();
      pending = new Map();
      count = 0;
      for (const h of hours) insert(h);
      since = Date.now();
      // Hours that took readings after the take: both parts are in the kind table, so recompute from there.
      for (const h of later) {
        const restored = find(h.kind, h.device, h.hour);
        if (!restored) {
          insert(h);
          continue;
        }
        restored.late = true;
        restored.loTs = Math.min(restored.loTs, h.loTs);
        restored.lastTs = Math.max(restored.lastTs, h.lastTs);
      }
    },
  };
}

/** Columns of `stage_hourly_<kind>`: the hourly table's, then the pending hour's oldest reading and whether it must be recomputed. */
export function hourlyStagingTypes(kind: KindName) {
  const perField = kindTables[kind].fields.flatMap(() => [BIGINT, DOUBLE, DOUBLE, DOUBLE, DOUBLE, DOUBLE]);
  return [BIGINT, VARCHAR, VARCHAR, VARCHAR, ...perField, BIGINT, BIGINT, BOOLEAN];
}

/** Stages one kind's pending hours (Appender) in `stage_hourly_<kind>` for the flush's SQL. */
export async function stagePendingHours(conn: DuckDBConnection, kind: KindName, hours: readonly PendingHour[]): Promise<void> {
  const n = kindTables[kind].fields.length;
  await appendToStaging(conn, hourlyStagingName(kind), hourlyStagingTypes(kind), hours, (part) => {
    const cols: (number | bigint | string | boolean | null)[][] = [
      part.map((h) => BigInt(h.hour)), part.map((h) => h.device), part.map((h) => h.site), part.map((h) => h.building),
    ];
    for (let i = 0; i < n; i++) {
      const f = (h: PendingHour) => h.fields[i];
      cols.push(part.map((h) => BigInt(f(h)?.n ?? 0)));
      cols.push(part.map((h) => f(h)?.min ?? null), part.map((h) => f(h)?.max ?? null), part.map((h) => f(h)?.sum ?? null));
      cols.push(part.map((h) => f(h)?.first ?? null), part.map((h) => f(h)?.last ?? null));
    }
    cols.push(part.map((h) => BigInt(h.loTs)), part.map((h) => BigInt(h.lastTs)), part.map((h) => h.late));
    return cols;
  });
}
