import type { DuckDBConnection } from '@duckdb/node-api';
import { inTransaction } from './connection.js';
import { sqlLiteral } from './sql.js';

/**
 * Alarms, incidents and the alert rule state live in a DuckDB file of their own (`alarms.duckdb`,
 * attached to the instance as `anju_alarms`), beside `anju.duckdb`, which keeps telemetry and the
 * rest of the state.
 *
 * Why: DuckDB folds a database's WAL into its file in the commit that takes the WAL past
 * `checkpoint_threshold`, and while that checkpoint runs every other commit to the same database
 * waits — 100–500 ms under load (BENCHMARKS.md, bench:alerts 2026-12-06). Telemetry fills the WAL
 * (64 MB in about a minute at 20,000 readings/s); alarms and incidents write a few rows. In one file
 * a fire alarm's commit waited for the telemetry's checkpoint (alarm commits' max 115–144 ms in a
 * probe); in a file of its own, with its own WAL, it does not (31–33 ms). Reads across the two files
 * are ordinary queries; a transaction may write to one of them only (DuckDB's rule), and nothing here
 * writes both in one.
 *
 * Where the tables are is settled at every open (`placeAlarmTables`): the schema's migrations run on
 * the main database, as they always have, so a file whose migrations are pending has its alarm tables
 * moved back into it first, then out again. A backup is one file again (the snapshot copies them in),
 * and a file restored from one, or written by an older Anju, has them in the main database: they are
 * moved on its first open. A move copies the tables whole in one transaction on the target, then drops
 * them from the source in another; a crash between leaves them in both, and then the main database's
 * copy is the one kept — in either direction it is the copy as of the move, since nothing else writes
 * while the database opens.
 */

/** The alias the alarm file is attached under (instance-wide). */
export const alarmCatalog = 'anju_alarms';
export const alarmFileName = 'alarms.duckdb';

/** The tables kept in the alarm file: what the alert engine and the incident correlator write. */
export const alarmFileTables = [
  'alarms', 'alarm_events', 'rule_state', 'incidents', 'incident_events', 'incident_members', 'incident_meta',
] as const;
export type AlarmFileTable = (typeof alarmFileTables)[number];

/** A table of the alarm file, qualified for SQL run on any connection of the instance. */
export function inAlarmFile(table: AlarmFileTable): string {
  return `${alarmCatalog}.main.${table}`;
}

export function attachAlarmFileSql(path: string): string {
  return `ATTACH IF NOT EXISTS ${sqlLiteral(path)} AS ${alarmCatalog}`;
}

const ident = (v: string) => `"${v.replace(/"/g, '""')}"`;

async function tablesIn(conn: DuckDBConnection, catalog: string): Promise<Map<string, string>> {
  const reader = await conn.runAndReadAll(
    `SELECT table_name, sql FROM duckdb_tables() WHERE database_name = $1 AND schema_name = 'main' AND NOT temporary`, [catalog]);
  return new Map(reader.getRowObjects().map((r) => [String(r.table_name), String(r.sql)]));
}

/**
 * Copies `tables` (those of them `from` holds) into `to` as they are — columns, keys, constraints and
 * indexes as DuckDB describes them, replacing any table of the same name there — inside the caller's
 * transaction (which writes `to` only). Returns the names copied. The connection's default database
 * is what it was afterwards.
 */
export async function copyTablesInTransaction(conn: DuckDBConnection, from: string, to: string, tables: readonly string[]): Promise<string[]> {
  const source = await tablesIn(conn, from);
  const copied = tables.filter((t) => source.has(t));
  if (copied.length === 0) return copied;
  const indexes = (await conn.runAndReadAll(
    `SELECT table_name, sql FROM duckdb_indexes() WHERE database_name = $1 AND schema_name = 'main' AND sql IS NOT NULL`, [from],
  )).getRowObjects();
  const home = String((await conn.runAndReadAll('SELECT current_database() AS d')).getRowObjects()[0]?.d);
  try {
    // The DDL DuckDB gives names the table unqualified: run it with the target as the default database.
    await conn.run(`USE ${ident(to)}`);
    for (const t of copied) {
      await conn.run(`DROP TABLE IF EXISTS ${ident(to)}.main.${ident(t)}`);
      await conn.run(source.get(t)!);
      await conn.run(`INSERT INTO ${ident(to)}.main.${ident(t)} SELECT * FROM ${ident(from)}.main.${ident(t)}`);
      for (const ix of indexes) if (String(ix.table_name) === t) await conn.run(String(ix.sql));
    }
  } finally {
    await conn.run(`USE ${ident(home)}`);
  }
  return copied;
}

/** `copyTablesInTransaction` in a transaction of its own. */
export function copyTables(conn: DuckDBConnection, from: string, to: string, tables: readonly string[]): Promise<string[]> {
  return inTransaction(conn, () => copyTablesInTransaction(conn, from, to, tables));
}

/** Moves `tables` from `from` to `to`: copied whole and committed, then dropped from `from`. */
async function moveTables(conn: DuckDBConnection, from: string, to: string, tables: readonly string[]): Promise<string[]> {
  const moved = await copyTables(conn, from, to, tables);
  if (moved.length > 0) {
    await inTransaction(conn, async () => {
      for (const t of moved) await conn.run(`DROP TABLE ${ident(from)}.main.${ident(t)}`);
    });
  }
  return moved;
}

/**
 * Puts the alarm tables where they belong now: `main` while migrations run (`to: 'main'`), the alarm
 * file otherwise. Tables the main database holds are the truth (see above): moving them out replaces
 * whatever the alarm file has of the same name; moving them in takes only those the main database
 * lacks. Returns the tables moved.
 */
export async function placeAlarmTables(conn: DuckDBConnection, to: 'main' | 'file'): Promise<string[]> {
  const home = String((await conn.runAndReadAll('SELECT current_database() AS d')).getRowObjects()[0]?.d);
  if (to === 'file') return moveTables(conn, home, alarmCatalog, alarmFileTables);
  const inMain = await tablesIn(conn, home);
  return moveTables(conn, alarmCatalog, home, alarmFileTables.filter((t) => !inMain.has(t)));
}

/**
 * Refuses a pair of files that do not belong together, before anything is moved (`fresh`: the main
 * database has no schema yet) or after (every alarm table must then be in the alarm file). ATTACH
 * makes an empty alarm file where there is none, so without this a data directory that lost its
 * `alarms.duckdb` would start and fail every alarm read, and an `alarms.duckdb` left beside a new
 * `anju.duckdb` would be taken for its own.
 */
export async function checkAlarmFile(conn: DuckDBConnection, when: 'before' | 'after', paths: { main: string; alarms: string; fresh: boolean }): Promise<void> {
  const held = [...(await tablesIn(conn, alarmCatalog)).keys()].filter((t) => (alarmFileTables as readonly string[]).includes(t));
  if (when === 'before' && paths.fresh && held.length > 0) {
    throw new Error(`${paths.alarms} holds alarm tables, but ${paths.main} is a new database: the alarm file belongs to another one `
      + '(anju.duckdb removed or replaced, or a file left behind). Put its anju.duckdb back, or move alarms.duckdb away to start without its alarms');
  }
  const missing = alarmFileTables.filter((t) => !held.includes(t));
  if (when === 'after' && missing.length > 0) {
    throw new Error(`${paths.alarms} lacks the tables ${missing.join(', ')}, which ${paths.main} says exist: the alarm file was removed or `
      + 'replaced. Restore both files from a backup (anju restore), or move anju.duckdb and alarms.duckdb away together to start empty');
  }
}
