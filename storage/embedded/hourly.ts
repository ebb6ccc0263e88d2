import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { kindNames, type KindName } from '../../core/index.js';
import { runPrepared, toNumber, type SerialConnection } from './connection.js';
import { kindTables, quoteIdent, type KindTable } from './schema.js';

/**
 * Hourly aggregates of every kind, the embedded counterpart of an InfluxDB continuous query into a
 * long-lived retention policy: one row per (device, hour) in `hourly_<kind>`, per field its count,
 * min, max, sum, first and last. They stay when retention deletes the raw readings, so charts and
 * reports over long ranges still answer. Kept in the telemetry write's transaction: a batch's
 * readings and the hours they touch commit together, so the table matches the readings by
 * construction.
 *
 * `last_ts` is the newest reading time in the hour. Readings newer than it (devices report in
 * order, so nearly all of them) are added to the row: count, min, max and sum combine, `last` moves
 * on, `first` stays — O(batch), where recomputing the hour from the kind table cost O(readings in
 * the hour) per batch and so grew through the hour. A reading at or before `last_ts` (late, or a
 * rewrite of a stored (device, ts) that MERGE updates) makes its hour be recomputed from the kind
 * table, as does a row without `last_ts` (written before the column existed).
 */

export const hourMs = 3_600_000;

/** Per field, in order: the suffixes of its aggregate columns. */
const parts = [
  ['n', 'BIGINT'], ['min', 'DOUBLE'], ['max', 'DOUBLE'], ['sum', 'DOUBLE'], ['first', 'DOUBLE'], ['last', 'DOUBLE'],
] as const;
export type HourlyPart = (typeof parts)[number][0];

export function hourlyTableName(kind: KindName): string {
  return quoteIdent(`hourly_${kind}`);
}

export function hourlyColumn(field: string, part: HourlyPart): string {
  return quoteIdent(`${field}__${part}`);
}

function fieldColumns(t: KindTable): { name: string; type: string }[] {
  return t.fields.flatMap((f) => parts.map(([p, type]) => ({ name: `${f.name}__${p}`, type })));
}

/** Newest reading time in the hour (epoch ms); NULL on rows made before it was kept, or folded past the raw floor. */
const lastTs = 'last_ts';

export function createHourlySql(t: KindTable): string {
  const cols = ['hour BIGINT NOT NULL', 'device VARCHAR NOT NULL', 'site VARCHAR NOT NULL', 'building VARCHAR NOT NULL',
    ...fieldColumns(t).map((c) => `${quoteIdent(c.name)} ${c.type}`), `${lastTs} BIGINT`];
  return `CREATE TABLE IF NOT EXISTS ${hourlyTableName(t.kind)} (${cols.join(', ')})`;
}

/** Adds the aggregate columns of fields a kind gained since the table was made. */
export async function ensureHourlyTables(conn: SerialConnection): Promise<void> {
  for (const t of Object.values(kindTables)) {
    await conn.run(createHourlySql(t));
    const existing = new Set((await conn.query(
      `SELECT column_name FROM duckdb_columns() WHERE table_name = $1 AND schema_name = 'main' AND database_name = current_database()`, [`hourly_${t.kind}`],
    )).map((r) => String(r.column_name)));
    for (const c of [...fieldColumns(t), { name: lastTs, type: 'BIGINT' }]) {
      if (!existing.has(c.name)) await conn.run(`ALTER TABLE ${hourlyTableName(t.kind)} ADD COLUMN ${quoteIdent(c.name)} ${c.type}`);
    }
  }
}

const allColumns = (t: KindTable) => ['hour', 'device', 'site', 'building', ...fieldColumns(t).map((c) => c.name)].map(quoteIdent);

/** SELECT list aggregating raw rows of `src` (alias t) into hours; booleans count as 0/1. */
function aggregateSelect(t: KindTable): string {
  const per = t.fields.flatMap((f) => {
    const c = `t.${quoteIdent(f.name)}`;
    const x = `CAST(${c} AS DOUBLE)`;
    return [
      `count(${c})`, `min(${x})`, `max(${x})`, `sum(${x})`,
      `arg_min(${x}, t.ts) FILTER (WHERE ${c} IS NOT NULL)`, `arg_max(${x}, t.ts) FILTER (WHERE ${c} IS NOT NULL)`,
    ];
  });
  return ['t.ts - t.ts % 3600000', 't.device', 'arg_max(t.site, t.ts)', 'arg_max(t.building, t.ts)', ...per].join(', ');
}

/**
 * SET clauses adding the aggregates of `s` to the row `h`: count, min, max and sum combine; the
 * hour's first value stays if it has one; `last` from the batch when its readings are all newer
 * (`'batch'`), else the hour's own when it has one (`'hour'`: a fold, whose times are not compared).
 */
function combineSet(t: KindTable, last: 'batch' | 'hour'): string[] {
  return t.fields.flatMap((f) => {
    const c = (p: HourlyPart) => hourlyColumn(f.name, p);
    return [
      `${c('n')} = coalesce(h.${c('n')}, 0) + s.${c('n')}`,
      `${c('min')} = least(h.${c('min')}, s.${c('min')})`,
      `${c('max')} = greatest(h.${c('max')}, s.${c('max')})`,
      `${c('sum')} = CASE WHEN h.${c('sum')} IS NULL AND s.${c('sum')} IS NULL THEN NULL ELSE coalesce(h.${c('sum')}, 0) + coalesce(s.${c('sum')}, 0) END`,
      `${c('first')} = coalesce(h.${c('first')}, s.${c('first')})`,
      last === 'batch' ? `${c('last')} = coalesce(s.${c('last')}, h.${c('last')})` : `${c('last')} = coalesce(h.${c('last')}, s.${c('last')})`,
    ];
  });
}

/** The writer's scratch table of (device, hour) rows to recompute; TEMP, so per connection and outside the WAL. */
export const hourlyLateTable = 'hourly_late';
export const createHourlyLateSql = `CREATE TEMP TABLE IF NOT EXISTS ${hourlyLateTable} (device VARCHAR NOT NULL, hour BIGINT NOT NULL)`;

/** The writer's TEMP table of one kind's pending hours (storage/embedded/hourly-pending.ts), staged for a flush. */
export function hourlyStagingName(kind: KindName): string {
  return `stage_hourly_${kind}`;
}

export function createHourlyStagingSql(t: KindTable): string {
  const cols = ['hour BIGINT', 'device VARCHAR', 'site VARCHAR', 'building VARCHAR',
    ...fieldColumns(t).map((c) => `${quoteIdent(c.name)} ${c.type}`), 'lo_ts BIGINT', `${lastTs} BIGINT`, 'late BOOLEAN'];
  return `CREATE TEMP TABLE IF NOT EXISTS ${quoteIdent(hourlyStagingName(t.kind))} (${cols.join(', ')})`;
}

/** Recomputes the (device, hour) rows listed in `hourly_late` from the kind table, then empties the list. */
async function recomputeLateHours(conn: DuckDBConnection, t: KindTable, range: DuckDBValue[]): Promise<void> {
  const table = hourlyTableName(t.kind);
  // The constant bound lets DuckDB skip the row groups of other hours by zone map.
  await conn.run(`DELETE FROM ${table} AS h USING ${hourlyLateTable} AS s WHERE h.device = s.device AND h.hour = s.hour AND h.hour >= $1 AND h.hour < $2`,
    range);
  await conn.run(`INSERT INTO ${table} (${allColumns(t).join(', ')}, ${lastTs})
    SELECT ${aggregateSelect(t)}, max(t.ts) FROM ${t.table} AS t JOIN ${hourlyLateTable} AS s ON t.device = s.device AND t.ts - t.ts % 3600000 = s.hour
    WHERE t.ts >= $1 AND t.ts < $2 GROUP BY 1, 2`, range);
  await conn.run(`DELETE FROM ${hourlyLateTable}`);
}

/**
 * Marks hours that became pending in `hourly_dirty`, inside the telemetry write's transaction: they
 * stay marked until a flush writes them, so a crash before it leaves exactly the hours to recompute
 * on open (`recoverDirtyHours`).
 */
export async function markDirtyHours(conn: DuckDBConnection, kind: KindName, hours: readonly { device: string; hour: number }[]): Promise<void> {
  if (hours.length === 0) return;
  // As JSON, unpacked on DuckDB's threads: an Appender's flush into a table blocks the event loop on DuckDB's locks.
  await runPrepared(conn, `INSERT INTO hourly_dirty SELECT $1, h.device, h.hour
    FROM (SELECT unnest(json_transform($2::VARCHAR, '[{"device":"VARCHAR","hour":"BIGINT"}]')) AS h)`, [kind, JSON.stringify(hours)]);
}

/**
 * Writes one kind's pending hours (already staged in `stage_hourly_<kind>`) into `hourly_<kind>`
 * and clears their crash marks, inside a writer transaction. An hour whose stored `last_ts` is not older than its oldest pending
 * reading, one marked late in memory, or a stored row without `last_ts` (written before the column
 * existed) is recomputed from the kind table, which holds every pending reading by now; every other
 * hour takes the pending aggregate incrementally: count, min, max and sum combine, `last` moves on.
 * `lo`/`hi` bound the pending readings' times, so reads prune row groups by zone map.
 */
export async function flushStagedHours(
  conn: DuckDBConnection, t: KindTable, lo: number, hi: number, keep?: () => readonly { device: string; hour: number }[],
): Promise<void> {
  const table = hourlyTableName(t.kind);
  const staged = quoteIdent(hourlyStagingName(t.kind));
  const range = [BigInt(lo - (lo % hourMs)), BigInt(hi - (hi % hourMs) + hourMs)];
  const late = await runPrepared(conn, `INSERT INTO ${hourlyLateTable}
    SELECT s.device, s.hour FROM ${staged} AS s
    LEFT JOIN ${table} AS h ON h.device = s.device AND h.hour = s.hour AND h.hour >= $1 AND h.hour < $2
    WHERE s.late OR (h.device IS NOT NULL AND (h.${lastTs} IS NULL OR h.${lastTs} >= s.lo_ts))`, range);
  if (late.rowsChanged > 0) await recomputeLateHours(conn, t, range);
  // A recomputed hour now ends at or after its newest pending reading, so only in-order hours match here.
  const set = combineSet(t, 'batch');
  const cols = [...allColumns(t), lastTs];
  await runPrepared(conn, `MERGE INTO ${table} AS h USING ${staged} AS s
    ON h.device = s.device AND h.hour = s.hour AND h.hour >= $1 AND h.hour < $2
    WHEN MATCHED AND h.${lastTs} < s.lo_ts THEN UPDATE SET site = s.site, building = s.building, ${lastTs} = s.${lastTs}, ${set.join(', ')}
    WHEN NOT MATCHED THEN INSERT (${cols.join(', ')}) VALUES (${cols.map((c) => `s.${c}`).join(', ')})`, range);
  // Asked only now, after the transaction's snapshot was taken (storage/embedded/telemetry.ts, flushBeside).
  const kept = keep?.() ?? [];
  if (kept.length > 0) {
    await runPrepared(conn, `DELETE FROM ${staged} AS s USING (SELECT unnest(json_transform($1::VARCHAR, '[{"device":"VARCHAR","hour":"BIGINT"}]')) AS k) AS r
      WHERE s.device = r.k.device AND s.hour = r.k.hour`, [JSON.stringify(kept)]);
  }
  // Only these hours' crash marks: one marked since, or left by a failed flush, stays for the next flush or open.
  await runPrepared(conn, `DELETE FROM hourly_dirty AS d USING ${staged} AS s WHERE d.kind = $1 AND d.device = s.device AND d.hour = s.hour`, [t.kind]);
  await runPrepared(conn, `DELETE FROM ${staged}`);
}

/**
 * On open, before any write: the hours marked pending when the process stopped without flushing
 * them (a crash, a kill) are recomputed from the kind tables, and the marks cleared. Returns how
 * many hours were recomputed.
 */
export async function recoverDirtyHours(writer: SerialConnection): Promise<number> {
  let recovered = 0;
  for (const kind of kindNames) {
    const t = kindTables[kind];
    recovered += await writer.transaction(async (conn) => {
      const span = (await conn.runAndReadAll(`SELECT count(*) AS n, min(hour) AS lo, max(hour) AS hi FROM
        (SELECT DISTINCT device, hour FROM hourly_dirty WHERE kind = $1)`, [kind])).getRowObjects()[0];
      const n = toNumber(span?.n ?? null) ?? 0;
      if (n === 0) return 0;
      await conn.run(`INSERT INTO ${hourlyLateTable} SELECT DISTINCT device, hour FROM hourly_dirty WHERE kind = $1`, [kind]);
      await recomputeLateHours(conn, t, [BigInt(toNumber(span?.lo ?? null) ?? 0), BigInt((toNumber(span?.hi ?? null) ?? 0) + hourMs)]);
      await conn.run('DELETE FROM hourly_dirty WHERE kind = $1', [kind]);
      return n;
    });
  }
  return recovered;
}

/**
 * A reading older than the raw floor (its hour's readings are gone) is folded into its hour: count,
 * min, max and sum take it in; first and last keep the hour's values when it has them, since the
 * times they came from are no longer known. Reads the staged (old) readings, `lo`..`hi` their times.
 *
 * Exactly once per (device, ts): a staged reading whose (device, ts) is still in the kind table
 * (retention has not deleted its hour yet, so the hour already counts it) or was folded before (a
 * spool replay after a crash between the store's commit and the checkpoint) is left out; the rest
 * is remembered in `hourly_folded`. Returns how many readings were folded.
 */
export async function foldIntoHourly(conn: DuckDBConnection, t: KindTable, lo: number, hi: number): Promise<number> {
  await conn.run(`DELETE FROM ${t.staging} AS s WHERE EXISTS (SELECT 1 FROM ${t.table} AS r WHERE r.device = s.device AND r.ts = s.ts AND r.ts BETWEEN $1 AND $2)
    OR EXISTS (SELECT 1 FROM hourly_folded AS f WHERE f.kind = $3 AND f.device = s.device AND f.ts = s.ts AND f.ts BETWEEN $1 AND $2)`,
  [BigInt(lo), BigInt(hi), t.kind]);
  const set = combineSet(t, 'hour');
  const cols = allColumns(t);
  await conn.run(`MERGE INTO ${hourlyTableName(t.kind)} AS h
    USING (SELECT ${aggregateSelect(t)} FROM ${t.staging} AS t GROUP BY 1, 2) AS s (${cols.join(', ')})
    ON h.device = s.device AND h.hour = s.hour
    WHEN MATCHED THEN UPDATE SET ${set.join(', ')}
    WHEN NOT MATCHED THEN INSERT (${cols.join(', ')}) VALUES (${cols.map((c) => `s.${c}`).join(', ')})`);
  const r = await conn.runAndReadAll(`INSERT INTO hourly_folded SELECT $1, device, ts FROM ${t.staging}`, [t.kind]);
  return Number(r.rowsChanged);
}

/** Rows of every hourly table (for /metrics). */
export async function hourlyRows(conn: SerialConnection): Promise<number> {
  let n = 0;
  for (const k of kindNames) n += toNumber((await conn.query(`SELECT count(*) AS n FROM ${hourlyTableName(k)}`))[0]?.n ?? null) ?? 0;
  return n;
}

/**
 * Builds the hourly rows from the stored readings once (the upgrade that introduced them, or a file
 * restored without them), 30-day windows at a time so memory stays flat, then marks them built.
 */
export async function buildHourlyIfMissing(writer: SerialConnection, reader: SerialConnection): Promise<number> {
  if ((await reader.query(`SELECT value FROM rollup_state WHERE key = 'hourly'`)).length > 0) return 0;
  let written = 0;
  const window = 30 * 24 * hourMs;
  for (const kind of kindNames) {
    const t = kindTables[kind];
    await writer.run(`DELETE FROM ${hourlyTableName(kind)}`);
    const span = (await reader.query(`SELECT min(ts) AS lo, max(ts) AS hi FROM ${t.table}`))[0];
    const lo = toNumber(span?.lo ?? null);
    const hi = toNumber(span?.hi ?? null);
    if (lo === null || hi === null) continue;
    for (let from = lo - (lo % hourMs); from <= hi; from += window) {
      const params: DuckDBValue[] = [BigInt(from), BigInt(from + window)];
      written += await writer.transaction(async (conn) => {
        const r = await conn.runAndReadAll(`INSERT INTO ${hourlyTableName(kind)} (${allColumns(t).join(', ')}, ${lastTs})
          SELECT ${aggregateSelect(t)}, max(t.ts) FROM ${t.table} AS t WHERE t.ts >= $1 AND t.ts < $2 GROUP BY 1, 2`, params);
        return Number(r.rowsChanged);
      });
    }
  }
  await writer.run(`INSERT INTO rollup_state VALUES ('hourly', 'built') ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
  return written;
}
