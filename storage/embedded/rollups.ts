import { BIGINT, DOUBLE, INTEGER, VARCHAR, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { kindNames, type KindName, type Reading } from '../../core/index.js';
import { addDays } from '../../core/time.js';
import type { RegisterDay, RegisterDayQuery, RegisterReset, RegisterRollups } from '../rollups/contract.js';
import { dayBoundaries, planDay, registerFields, summarizeDay, touchedDays, type RegisterRead, type TouchedDay } from '../rollups/summarize.js';
import { toNumber, type SerialConnection } from './connection.js';
import { appendToStaging } from './sql.js';
import { kindTables, quoteIdent, registerDaysColumnList, registerDaysStaging, registerDaysTable } from './schema.js';

/**
 * Daily register rollups on the embedded database (storage/rollups/contract.ts), table
 * `register_days`. Maintained inside the telemetry write's transaction, on the writer connection
 * that alone writes telemetry: a batch's readings and the rows of the days they touch commit
 * together or not at all, so the table is complete by construction — a day without a row had no
 * register reading, which lets a new day's row be made from the batch alone. A late, replayed or
 * rewritten reading (at or before the row's last read) recomputes its day from the kind table.
 *
 * The writer alone writes the table, so it keeps each meter's latest row in memory (applied only once
 * the transaction committed): a live batch, which extends today's rows, reads nothing back.
 */

type Row = Record<string, DuckDBValue>;

const types = [VARCHAR, VARCHAR, VARCHAR, VARCHAR, VARCHAR, VARCHAR, VARCHAR, INTEGER, BIGINT, DOUBLE, BIGINT, DOUBLE, DOUBLE, BIGINT, VARCHAR];

function rowToDay(r: Row): RegisterDay {
  return {
    device: String(r.device), kind: String(r.kind) as KindName, site: String(r.site), building: String(r.building), field: String(r.field),
    date: String(r.date), timezone: String(r.timezone), reads: toNumber(r.reads ?? null) ?? 0,
    firstTs: toNumber(r.first_ts ?? null) ?? 0, firstValue: toNumber(r.first_value ?? null) ?? 0,
    lastTs: toNumber(r.last_ts ?? null) ?? 0, lastValue: toNumber(r.last_value ?? null) ?? 0,
    advance: toNumber(r.advance ?? null) ?? 0, coveredMs: toNumber(r.covered_ms ?? null) ?? 0,
    resets: JSON.parse(String(r.resets ?? '[]')) as RegisterReset[],
  };
}

/** Replaces the rows with the same (device, field, date) by `rows`: stage, delete, insert. */
async function upsert(conn: DuckDBConnection, rows: readonly RegisterDay[]): Promise<void> {
  if (rows.length === 0) return;
  await appendToStaging(conn, registerDaysStaging, types, rows, (part) => [
    part.map((d) => d.device), part.map((d) => d.field), part.map((d) => d.date), part.map((d) => d.kind), part.map((d) => d.site),
    part.map((d) => d.building), part.map((d) => d.timezone), part.map((d) => d.reads), part.map((d) => BigInt(d.firstTs)),
    part.map((d) => d.firstValue), part.map((d) => BigInt(d.lastTs)), part.map((d) => d.lastValue), part.map((d) => d.advance),
    part.map((d) => BigInt(d.coveredMs)), part.map((d) => JSON.stringify(d.resets)),
  ]);
  await conn.run(`DELETE FROM ${registerDaysTable} AS t USING ${registerDaysStaging} AS s
    WHERE t.device = s.device AND t.field = s.field AND t.date = s.date`);
  await conn.run(`INSERT INTO ${registerDaysTable} SELECT ${registerDaysColumnList.join(', ')} FROM ${registerDaysStaging}`);
  await conn.run(`DELETE FROM ${registerDaysStaging}`);
}

async function queryRows(conn: DuckDBConnection, sql: string, params: DuckDBValue[]): Promise<Row[]> {
  return (await conn.runAndReadAll(sql, params)).getRowObjects();
}

/** Register reads of `devices` in [from, to), ascending per device. */
async function readRegister(conn: DuckDBConnection, kind: KindName, field: string,
  devices: readonly string[], from: number, to: number): Promise<Map<string, RegisterRead[]>> {
  const out = new Map<string, RegisterRead[]>();
  if (devices.length === 0) return out;
  const params: DuckDBValue[] = [BigInt(from), BigInt(to), ...devices];
  const f = quoteIdent(field);
  const rows = await queryRows(conn, `SELECT device, ts, ${f} AS v FROM ${kindTables[kind].table}
    WHERE ts >= $1 AND ts < $2 AND ${f} IS NOT NULL AND device IN (${devices.map((_, i) => `$${i + 3}`).join(', ')}) ORDER BY device, ts`, params);
  for (const r of rows) {
    const device = String(r.device);
    let list = out.get(device);
    if (!list) out.set(device, (list = []));
    list.push({ ts: toNumber(r.ts ?? null) as number, value: toNumber(r.v ?? null) as number });
  }
  return out;
}

export interface EmbeddedRollups extends RegisterRollups {
  /**
   * Inside the writer's transaction, after the batch's merge: keeps the touched days' rows. Returns
   * what to run once the transaction has committed (nothing of a rolled-back batch is remembered).
   */
  maintain(conn: DuckDBConnection, batch: readonly Reading[], rawFloor?: number): Promise<() => void>;
  /** Builds every row from the kind tables when the table is empty but register readings exist (first open after the upgrade). */
  buildIfMissing(): Promise<number>;
}

export function createEmbeddedRollups(deps: {
  writer: SerialConnection; reader: SerialConnection; siteTimezone: (site: string) => string;
  /** Raw readings before this instant are gone (retention.ts): days that began before it cannot be made again. */
  rawFloor?: () => number;
}): EmbeddedRollups {
  const { writer, reader, siteTimezone } = deps;
  /** Each (device, field)'s latest row as committed by this writer. */
  const latest = new Map<string, RegisterDay>();
  const remember = (rows: readonly RegisterDay[]) => {
    if (latest.size > 200_000) latest.clear();
    for (const r of rows) {
      const k = `${r.device}\u0000${r.field}`;
      const have = latest.get(k);
      if (!have || have.date <= r.date) latest.set(k, r);
    }
  };

  async function recompute(conn: DuckDBConnection, days: readonly TouchedDay[]): Promise<RegisterDay[]> {
    const out: RegisterDay[] = [];
    const groups = new Map<string, TouchedDay[]>();
    for (const d of days) {
      const k = `${d.kind}\u0000${d.field}`;
      groups.set(k, [...(groups.get(k) ?? []), d]);
    }
    for (const group of groups.values()) {
      const { kind, field } = group[0] as TouchedDay;
      const from = Math.min(...group.map((d) => d.start));
      const to = Math.max(...group.map((d) => d.end));
      const reads = await readRegister(conn, kind, field, [...new Set(group.map((d) => d.device))], from, to);
      for (const d of group) {
        const mine = (reads.get(d.device) ?? []).filter((r) => r.ts >= d.start && r.ts < d.end);
        const row = summarizeDay(d, mine);
        if (row) out.push(row);
      }
    }
    return out;
  }

  async function rebuildOn(conn: DuckDBConnection,
    q: { site?: string; kind: KindName; field: string; from: number; to: number; timezone: string }): Promise<RegisterDay[]> {
    const params: DuckDBValue[] = [BigInt(q.from), BigInt(q.to)];
    if (q.site !== undefined) params.push(q.site);
    const f = quoteIdent(q.field);
    const rows = await queryRows(conn, `SELECT device, site, building, ts, ${f} AS v FROM ${kindTables[q.kind].table}
      WHERE ts >= $1 AND ts < $2 AND ${f} IS NOT NULL${q.site !== undefined ? ' AND site = $3' : ''} ORDER BY device, ts`, params);
    const bounds = dayBoundaries(q.timezone);
    const out: RegisterDay[] = [];
    let cur: { key: Omit<RegisterDay, 'reads' | 'firstTs' | 'firstValue' | 'lastTs' | 'lastValue' | 'advance' | 'coveredMs' | 'resets'>; reads: RegisterRead[] } | undefined;
    const flush = () => {
      if (!cur) return;
      const row = summarizeDay(cur.key, cur.reads);
      if (row) out.push(row);
      cur = undefined;
    };
    for (const r of rows) {
      const ts = toNumber(r.ts ?? null) as number;
      const device = String(r.device);
      const { date } = bounds.dateOf(ts);
      if (!cur || cur.key.device !== device || cur.key.date !== date) {
        flush();
        cur = { key: { device, kind: q.kind, site: String(r.site), building: String(r.building), field: q.field, date, timezone: q.timezone }, reads: [] };
      }
      cur.reads.push({ ts, value: toNumber(r.v ?? null) as number });
    }
    flush();
    return out;
  }

  return {
    async maintain(conn, batch, rawFloor = 0) {
      const touched = touchedDays(batch, siteTimezone);
      if (touched.length === 0) return () => undefined;
      const stored = new Map<string, RegisterDay>();
      const unknown: TouchedDay[] = [];
      for (const t of touched) {
        const mem = latest.get(`${t.device}\u0000${t.field}`);
        if (mem && mem.date === t.date) stored.set(`${t.device}\u0000${t.field}\u0000${t.date}`, mem);
        else unknown.push(t);
      }
      if (unknown.length > 0) {
        const devices = [...new Set(unknown.map((t) => t.device))];
        const dates = unknown.map((t) => t.date).sort();
        const rows = await queryRows(conn, `SELECT * FROM ${registerDaysTable} WHERE date >= $1 AND date <= $2
          AND device IN (${devices.map((_, i) => `$${i + 3}`).join(', ')})`, [dates[0] as string, dates[dates.length - 1] as string, ...devices]);
        for (const r of rows) {
          const d = rowToDay(r);
          stored.set(`${d.device}\u0000${d.field}\u0000${d.date}`, d);
        }
      }
      const next: RegisterDay[] = [];
      const again: TouchedDay[] = [];
      for (const t of touched) {
        // The table is complete (same transaction as every write), so a missing row means no reads yet.
        const plan = planDay(t, stored.get(`${t.device}\u0000${t.field}\u0000${t.date}`), true);
        if ('row' in plan) next.push(plan.row);
        else again.push(t);
      }
      // A day that began before the raw floor cannot be recomputed (its early readings are gone):
      // its row stands as it was; the reading is still stored raw and in its hour.
      next.push(...(await recompute(conn, again.filter((d) => d.start >= rawFloor))));
      await upsert(conn, next);
      return () => remember(next);
    },

    async days(q: RegisterDayQuery) {
      const params: DuckDBValue[] = [q.site, q.kind, q.field, q.fromDate, q.toDate];
      let devices = '';
      if (q.devices) {
        if (q.devices.length === 0) return [];
        devices = ` AND device IN (${q.devices.map((_, i) => `$${i + 6}`).join(', ')})`;
        params.push(...q.devices);
      }
      // One row per device with its days as JSON lists: a year of a site's meters is ~10,000 rows,
      // and turning each into a JS object costs several times what one JSON.parse per device does.
      const rows = await reader.query(`SELECT device, any_value(building) AS building,
          to_json(list(date ORDER BY date))::VARCHAR AS dates,
          to_json(list(timezone ORDER BY date))::VARCHAR AS zones,
          to_json(list([first_ts::DOUBLE, first_value, last_ts::DOUBLE, last_value, advance, covered_ms::DOUBLE, reads::DOUBLE] ORDER BY date))::VARCHAR AS nums,
          to_json(list(resets::JSON ORDER BY date))::VARCHAR AS resets
        FROM ${registerDaysTable}
        WHERE site = $1 AND kind = $2 AND field = $3 AND date >= $4 AND date <= $5${devices}
        GROUP BY device ORDER BY device`, params);
      const out: RegisterDay[] = [];
      for (const r of rows) {
        const device = String(r.device);
        const building = String(r.building);
        const dates = JSON.parse(String(r.dates)) as string[];
        const zones = JSON.parse(String(r.zones)) as string[];
        const nums = JSON.parse(String(r.nums)) as number[][];
        const resets = JSON.parse(String(r.resets)) as RegisterReset[][];
        dates.forEach((date, i) => {
          const [firstTs, firstValue, lastTs, lastValue, advance, coveredMs, reads] = nums[i] as number[];
          out.push({
            device, kind: q.kind, site: q.site, building, field: q.field, date, timezone: zones[i] as string, reads: reads as number,
            firstTs: firstTs as number, firstValue: firstValue as number, lastTs: lastTs as number, lastValue: lastValue as number,
            advance: advance as number, coveredMs: coveredMs as number, resets: resets[i] ?? [],
          });
        });
      }
      return out;
    },

    async rebuild(q) {
      latest.clear();
      const bounds = dayBoundaries(q.timezone);
      // Only days whose readings are all still stored raw: one that began before the raw floor lost
      // readings to retention, and its row (in the zone it was made in) is all that is left of it — a
      // rebuild that deleted it erased a savings report's baseline for good. Those rows stay as they are.
      const floor = deps.rawFloor?.() ?? 0;
      const floorDay = bounds.dateOf(floor).date;
      const firstWhole = bounds.startOf(floorDay) >= floor ? floorDay : addDays(floorDay, 1);
      const fromDate = q.fromDate > firstWhole ? q.fromDate : firstWhole;
      if (fromDate > q.toDate) return 0;
      const from = bounds.startOf(fromDate);
      const to = bounds.startOf(addDays(q.toDate, 1));
      return writer.transaction(async (conn) => {
        const rows = await rebuildOn(conn, { site: q.site, kind: q.kind, field: q.field, from, to, timezone: q.timezone });
        // Rows of the range in any zone go: a day of the old zone may have no counterpart in the new one.
        await conn.run(`DELETE FROM ${registerDaysTable} WHERE site = $1 AND kind = $2 AND field = $3 AND date >= $4 AND date <= $5`,
          [q.site, q.kind, q.field, fromDate, q.toDate]);
        await upsert(conn, rows.filter((r) => r.date >= fromDate && r.date <= q.toDate));
        return rows.length;
      });
    },

    async buildIfMissing() {
      const done = await reader.query(`SELECT value FROM rollup_state WHERE key = 'register_days'`);
      if (done.length > 0) return 0;
      // Not built yet (the upgrade that introduced them), or a build cut short: start over, then mark it done.
      latest.clear();
      await writer.run(`DELETE FROM ${registerDaysTable}`);
      let written = 0;
      for (const kind of kindNames) {
        for (const field of registerFields(kind)) {
          const sites = await reader.query(`SELECT site, min(ts) AS lo, max(ts) AS hi FROM ${kindTables[kind].table} WHERE ${quoteIdent(field)} IS NOT NULL GROUP BY site`);
          for (const s of sites) {
            const site = String(s.site);
            const timezone = siteTimezone(site);
            const bounds = dayBoundaries(timezone);
            // Month-sized windows on local midnights keep memory flat on a large store.
            let date = bounds.dateOf(toNumber(s.lo ?? null) as number).date;
            const last = bounds.dateOf(toNumber(s.hi ?? null) as number).date;
            while (date <= last) {
              const end = addDays(date, 31);
              const from = bounds.startOf(date);
              const to = bounds.startOf(end);
              written += await writer.transaction(async (conn) => {
                const rows = await rebuildOn(conn, { site, kind, field, from, to, timezone });
                await upsert(conn, rows);
                return rows.length;
              });
              date = end;
            }
          }
        }
      }
      await writer.run(`INSERT INTO rollup_state VALUES ('register_days', 'built') ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
      return written;
    },
  };
}
