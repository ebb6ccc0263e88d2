import { kindNames, kindOf, type KindName } from '../../core/index.js';
import type { SerialConnection } from './connection.js';

/**
 * The embedded database's schema: state tables evolve through numbered migrations; telemetry tables
 * are generated from core's kind field tables and grow a column when a kind gains a field (the
 * embedded counterpart of InfluxDB's schemaless fields).
 *
 * Identifiers in SQL come only from core's kind and field names, checked against `identifier`;
 * user input only ever reaches SQL as a bound parameter.
 */

const identifier = /^[a-z_][a-z0-9_]*$/;

export function quoteIdent(name: string): string {
  if (!identifier.test(name)) throw new Error(`not a safe SQL identifier: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

/** Tag and bookkeeping columns every kind table starts with, in order. */
export const baseColumns = ['ts', 'device', 'site', 'building', 'category', 'seq'] as const;

export interface KindTable {
  readonly kind: KindName;
  /** Quoted table name. */
  readonly table: string;
  /** Quoted temp staging table the appender fills before the merge. */
  readonly staging: string;
  readonly fields: readonly { readonly name: string; readonly type: 'float' | 'bool' }[];
}

export function kindTable(kind: KindName): KindTable {
  const spec = kindOf(kind);
  const fields = Object.entries(spec.fields).map(([name, f]) => {
    // Field names share the table with the base columns; a kind may not shadow one.
    if ((baseColumns as readonly string[]).includes(name)) throw new Error(`kind ${kind}: field ${name} clashes with a base column`);
    quoteIdent(name);
    return { name, type: f.type };
  });
  return { kind, table: quoteIdent(kind), staging: quoteIdent(`stage_${kind}`), fields };
}

export const kindTables: Readonly<Record<KindName, KindTable>> = Object.fromEntries(
  kindNames.map((k) => [k, kindTable(k)]),
) as Record<KindName, KindTable>;

function sqlType(t: 'float' | 'bool'): string {
  return t === 'bool' ? 'BOOLEAN' : 'DOUBLE';
}

/**
 * `ts` is BIGINT epoch milliseconds: exactly what the contract speaks (no unit or zone conversion
 * on the way in or out), integer bucketing that matches InfluxQL's epoch-aligned GROUP BY time(),
 * and zone maps on it prune row groups just as well. `epoch_ms(ts)` gives a TIMESTAMP for ad-hoc SQL.
 *
 * No PRIMARY KEY: DuckDB keeps a primary key as an ART index that grows with the table (measured:
 * 5M rows → ~580 MB RSS and 3× slower upserts, over a 512 MB memory_limit); uniqueness of
 * (device, ts) is kept by the single serialized writer merging each batch instead (telemetry.ts).
 */
function createKindTableSql(t: KindTable, temp: boolean): string {
  const cols = [
    'ts BIGINT NOT NULL',
    'device VARCHAR NOT NULL',
    'site VARCHAR NOT NULL',
    'building VARCHAR NOT NULL',
    'category VARCHAR',
    'seq BIGINT',
    ...t.fields.map((f) => `${quoteIdent(f.name)} ${sqlType(f.type)}`),
  ];
  return `CREATE ${temp ? 'TEMP ' : ''}TABLE IF NOT EXISTS ${temp ? t.staging : t.table} (${cols.join(', ')})`;
}

/** Daily register rollups (storage/rollups/contract.ts), in column order; `ts`-like columns are epoch ms. */
export const registerDaysTable = 'register_days';
export const registerDaysStaging = 'stage_register_days';
export const registerDaysColumnList = [
  'device', 'field', 'date', 'kind', 'site', 'building', 'timezone', 'reads', 'first_ts', 'first_value', 'last_ts', 'last_value',
  'advance', 'covered_ms', 'resets',
] as const;
const registerDaysColumns = `device VARCHAR NOT NULL, field VARCHAR NOT NULL, date VARCHAR NOT NULL, kind VARCHAR NOT NULL,
  site VARCHAR NOT NULL, building VARCHAR NOT NULL, timezone VARCHAR NOT NULL, reads INTEGER NOT NULL,
  first_ts BIGINT NOT NULL, first_value DOUBLE NOT NULL, last_ts BIGINT NOT NULL, last_value DOUBLE NOT NULL,
  advance DOUBLE NOT NULL, covered_ms BIGINT NOT NULL, resets VARCHAR NOT NULL`;

/** State tables. Append new migrations at the end; never edit one that has shipped. */
export const migrations: readonly { readonly version: number; readonly description: string; readonly sql: readonly string[] }[] = [
  {
    version: 1,
    description: 'registry, device secrets, API tokens',
    sql: [
      `CREATE TABLE sites (id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, address VARCHAR, timezone VARCHAR NOT NULL)`,
      `CREATE TABLE buildings (site VARCHAR NOT NULL, id VARCHAR NOT NULL, name VARCHAR NOT NULL, floors INTEGER, PRIMARY KEY (site, id))`,
      `CREATE TABLE devices (
        id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, site VARCHAR NOT NULL, building VARCHAR NOT NULL,
        name VARCHAR NOT NULL, location VARCHAR, category VARCHAR, purpose VARCHAR,
        rated_current DOUBLE, q3 DOUBLE, parent VARCHAR, created_at BIGINT NOT NULL,
        secret_hash VARCHAR NOT NULL)`,
      `CREATE TABLE api_tokens (id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, role VARCHAR NOT NULL,
        created_at BIGINT NOT NULL, token_hash VARCHAR NOT NULL UNIQUE)`,
    ],
  },
  {
    version: 2,
    description: 'alarms, alarm event log, alert rule state (storage/embedded/alarms.ts)',
    sql: [
      `CREATE TABLE alarms (
        id VARCHAR PRIMARY KEY, type VARCHAR NOT NULL, originator_kind VARCHAR NOT NULL, originator_id VARCHAR NOT NULL,
        site VARCHAR NOT NULL, building VARCHAR NOT NULL, severity VARCHAR NOT NULL, status VARCHAR NOT NULL,
        start_ts BIGINT NOT NULL, last_update_ts BIGINT NOT NULL, ack_ts BIGINT, clear_ts BIGINT, assignee VARCHAR,
        escalation_level INTEGER NOT NULL, count BIGINT NOT NULL, active_key VARCHAR, details VARCHAR NOT NULL, timeline VARCHAR NOT NULL)`,
      `CREATE TABLE alarm_events (seq BIGINT PRIMARY KEY, ts BIGINT NOT NULL, type VARCHAR NOT NULL, alarm_id VARCHAR NOT NULL,
        previous_severity VARCHAR, alarm VARCHAR NOT NULL)`,
      `CREATE TABLE rule_state (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
    ],
  },
  {
    version: 3,
    description: 'stored reports (storage/embedded/reports.ts)',
    sql: [
      `CREATE TABLE reports (
        id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, site VARCHAR NOT NULL, from_ts BIGINT NOT NULL, to_ts BIGINT NOT NULL,
        baseline_from_ts BIGINT, baseline_to_ts BIGINT, created_at BIGINT NOT NULL, origin VARCHAR NOT NULL, data VARCHAR NOT NULL)`,
    ],
  },
  {
    version: 4,
    description: 'MQTT service accounts (storage/embedded/service-accounts.ts)',
    sql: [
      `CREATE TABLE service_accounts (
        id VARCHAR PRIMARY KEY, publish VARCHAR NOT NULL, subscribe VARCHAR NOT NULL, deny VARCHAR NOT NULL,
        origin VARCHAR NOT NULL, created_at BIGINT NOT NULL, secret_set_at BIGINT NOT NULL, secret_hash VARCHAR NOT NULL)`,
    ],
  },
  {
    version: 5,
    description: 'device reporting interval and connection mode; incidents (storage/embedded/incidents.ts)',
    sql: [
      `ALTER TABLE devices ADD COLUMN report_interval_s INTEGER`,
      `ALTER TABLE devices ADD COLUMN connection VARCHAR`,
      `CREATE TABLE incidents (
        id VARCHAR PRIMARY KEY, hazard VARCHAR NOT NULL, site VARCHAR NOT NULL, building VARCHAR NOT NULL, level VARCHAR NOT NULL,
        severity VARCHAR NOT NULL, status VARCHAR NOT NULL, start_ts BIGINT NOT NULL, last_update_ts BIGINT NOT NULL, ack_ts BIGINT,
        clear_ts BIGINT, assignee VARCHAR, escalation_level INTEGER NOT NULL, active_key VARCHAR, quiet_since_ts BIGINT,
        members VARCHAR NOT NULL, timeline VARCHAR NOT NULL)`,
      `CREATE TABLE incident_events (seq BIGINT PRIMARY KEY, ts BIGINT NOT NULL, type VARCHAR NOT NULL, incident_id VARCHAR NOT NULL,
        previous_severity VARCHAR, previous_level VARCHAR, alarm_id VARCHAR, incident VARCHAR NOT NULL, alarm VARCHAR)`,
      `CREATE TABLE incident_members (alarm_id VARCHAR PRIMARY KEY, incident_id VARCHAR NOT NULL)`,
      `CREATE TABLE incident_meta (key VARCHAR PRIMARY KEY, value BIGINT NOT NULL)`,
    ],
  },
  {
    version: 6,
    description: 'site grid region; daily rollups of cumulative registers (storage/embedded/rollups.ts)',
    sql: [
      `ALTER TABLE sites ADD COLUMN grid_region VARCHAR`,
      // One row per (device, field, date), kept unique by the single writer (no PRIMARY KEY: see
      // createKindTableSql on what an ART index costs); resets as a JSON array.
      `CREATE TABLE ${registerDaysTable} (${registerDaysColumns})`,
      // `register_days` = built: set once every stored reading is in the rollups (storage/embedded/rollups.ts).
      `CREATE TABLE rollup_state (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
    ],
  },
  {
    version: 7,
    description: 'raw-reading retention bookkeeping; hourly aggregates per kind (storage/embedded/hourly.ts, retention.ts)',
    sql: [
      // `raw_floor` = epoch ms before which raw readings were deleted; `deleted` = rows retention deleted in all.
      `CREATE TABLE retention_state (key VARCHAR PRIMARY KEY, value BIGINT NOT NULL)`,
      // The hourly tables are generated from the kinds like the kind tables (ensureHourlyTables);
      // clearing the mark makes the first open after this migration backfill them from the readings.
      `DELETE FROM rollup_state WHERE key = 'hourly'`,
    ],
  },
  {
    version: 8,
    description: 'device capabilities; commands to devices (storage/embedded/commands.ts)',
    sql: [
      // JSON array of core/commands.ts capability names.
      `ALTER TABLE devices ADD COLUMN capabilities VARCHAR`,
      `CREATE TABLE commands (
        id VARCHAR PRIMARY KEY, device VARCHAR NOT NULL, name VARCHAR NOT NULL, params VARCHAR, status VARCHAR NOT NULL,
        sent_by VARCHAR NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, sent_at BIGINT, delivered_at BIGINT,
        completed_at BIGINT, message VARCHAR, state VARCHAR)`,
    ],
  },
  {
    version: 9,
    description: 'people who log in: accounts with site-scoped role grants and a scrypt password hash (storage/embedded/accounts.ts); the audit trail',
    sql: [
      // Grants as JSON text ([{role, sites}]): read whole with the account, never queried by part.
      `CREATE TABLE accounts (id VARCHAR PRIMARY KEY, login VARCHAR NOT NULL UNIQUE, display_name VARCHAR NOT NULL, phone VARCHAR,
        wecom_user_id VARCHAR, dingtalk_user_id VARCHAR, grants VARCHAR NOT NULL, disabled BOOLEAN NOT NULL,
        created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, password_hash VARCHAR, password_set_at BIGINT)`,
      // The audit trail (storage/embedded/audit.ts): append-only, read newest first by time.
      `CREATE SEQUENCE audit_seq`,
      `CREATE TABLE audit_log (seq BIGINT NOT NULL DEFAULT nextval('audit_seq'), ts BIGINT NOT NULL, actor VARCHAR NOT NULL, actor_name VARCHAR NOT NULL,
        role VARCHAR NOT NULL, action VARCHAR NOT NULL, target VARCHAR, ip VARCHAR NOT NULL, method VARCHAR NOT NULL, path VARCHAR NOT NULL, status INTEGER NOT NULL)`,
    ],
  },
  {
    version: 11,
    description: 'on-call rosters, every version kept (storage/embedded/rosters.ts)',
    sql: [
      // The roster as JSON text (core/roster.ts rosterSchema): read whole, never queried by part.
      `CREATE TABLE roster_versions (site VARCHAR NOT NULL, version INTEGER NOT NULL, roster VARCHAR NOT NULL, updated_at BIGINT NOT NULL,
        updated_by VARCHAR NOT NULL, PRIMARY KEY (site, version))`,
    ],
  },
  {
    version: 12,
    description: 'incident response proposals and the proposal an incident event is about; per-site response policies (storage/embedded/responses.ts)',
    sql: [
      // JSON array of core/responses.ts Proposal, written with the incident in the same transaction.
      `ALTER TABLE incidents ADD COLUMN proposals VARCHAR`,
      // JSON {proposalId, step}: what a proposal event was about, for the stream's replay.
      `ALTER TABLE incident_events ADD COLUMN response VARCHAR`,
      `CREATE TABLE response_policies (site VARCHAR PRIMARY KEY, policy VARCHAR NOT NULL, updated_at BIGINT NOT NULL, updated_by VARCHAR NOT NULL)`,
    ],
  },
  {
    version: 13,
    description: 'readings folded into their hourly aggregate past the raw floor, so a replayed one is not counted twice (storage/embedded/hourly.ts)',
    sql: [
      // Only readings that arrive older than the raw retention period land here: rare, and small.
      `CREATE TABLE hourly_folded (kind VARCHAR NOT NULL, device VARCHAR NOT NULL, ts BIGINT NOT NULL)`,
    ],
  },
  {
    version: 14,
    description: 'alarm and incident revisions: the seq of the event that last wrote each, for compare-and-set writes (storage/revisions.ts)',
    sql: [
      `ALTER TABLE alarms ADD COLUMN rev BIGINT`,
      `ALTER TABLE incidents ADD COLUMN rev BIGINT`,
      // One pass over each log (grouped), not a scan per record. A record whose events were all pruned
      // gets 0: still a revision, so a copy read before a change elsewhere is refused like any other.
      `UPDATE alarms SET rev = m.rev FROM (SELECT alarm_id, max(seq) AS rev FROM alarm_events GROUP BY alarm_id) m WHERE m.alarm_id = alarms.id`,
      `UPDATE alarms SET rev = 0 WHERE rev IS NULL`,
      `UPDATE incidents SET rev = m.rev FROM (SELECT incident_id, max(seq) AS rev FROM incident_events GROUP BY incident_id) m WHERE m.incident_id = incidents.id`,
      `UPDATE incidents SET rev = 0 WHERE rev IS NULL`,
    ],
  },
  {
    version: 15,
    description: 'hours whose readings are committed but not yet written to the hourly aggregates (storage/embedded/hourly-pending.ts)',
    sql: [
      // Marked in the telemetry write's transaction, cleared by the flush's: what a crash leaves here is recomputed on open.
      `CREATE TABLE hourly_dirty (kind VARCHAR NOT NULL, device VARCHAR NOT NULL, hour BIGINT NOT NULL)`,
    ],
  },
];

/** The highest version this Anju knows: by number, not array position (migrations may be appended out of order). */
export const latestSchemaVersion = Math.max(0, ...migrations.map((m) => m.version));

/** How many known migrations the database has not applied; `fresh`: none ever was (a new file). */
export async function pendingMigrations(conn: SerialConnection): Promise<{ pending: number; fresh: boolean }> {
  const exists = (await conn.query(
    `SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'schema_version' AND schema_name = 'main' AND database_name = current_database()`,
  ))[0]?.n;
  const applied = Number(exists ?? 0) === 0 ? new Set<number>() : new Set((await conn.query('SELECT version FROM schema_version')).map((r) => Number(r.version)));
  return { pending: migrations.filter((m) => !applied.has(m.version)).length, fresh: applied.size === 0 };
}

/**
 * Runs the migrations not applied yet, on the main database. The alarm tables are there while they run
 * (storage/embedded/alarm-file.ts `placeAlarmTables`), so every migration, past or future, names tables
 * unqualified, as it always has.
 */
export async function migrate(conn: SerialConnection): Promise<{ from: number; to: number }> {
  await conn.run('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at BIGINT NOT NULL)');
  const applied = new Set((await conn.query('SELECT version FROM schema_version')).map((r) => Number(r.version)));
  const from = Math.max(0, ...applied);
  // Forward only: a file a newer Anju migrated may hold what this version cannot read or would
  // overwrite wrongly; refuse it whole rather than run on half a schema.
  const known = latestSchemaVersion;
  if (from > known) {
    throw new Error(`the embedded database is at schema version ${from}, written by a newer Anju; this version knows up to ${known}. Run the newer version again, or restore a backup taken before the upgrade (README, "Operating Anju")`);
  }
  let to = from;
  // By version, and every one not applied yet rather than only those above the highest applied:
  // migrations are numbered when work starts and may ship out of order (8 before 7), so a file at 8
  // can still be missing 7. Each migration touches only its own tables and columns, so order among
  // independent ones does not matter.
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(m.version)) continue;
    // Each migration commits with its version row, so a crash leaves the schema at a known step.
    await conn.transaction(async (c) => {
      for (const stmt of m.sql) await c.run(stmt);
      await c.run('INSERT INTO schema_version VALUES ($1, $2)', [m.version, BigInt(Date.now())]);
    });
    to = Math.max(to, m.version);
  }

  for (const t of Object.values(kindTables)) {
    await conn.run(createKindTableSql(t, false));
    const existing = new Set(
      (await conn.query(`SELECT column_name FROM duckdb_columns() WHERE table_name = $1 AND schema_name = 'main' AND database_name = current_database()`, [t.kind]))
        .map((r) => String(r.column_name)),
    );
    for (const f of t.fields) {
      if (!existing.has(f.name)) await conn.run(`ALTER TABLE ${t.table} ADD COLUMN ${quoteIdent(f.name)} ${sqlType(f.type)}`);
    }
  }
  return { from, to };
}

/** Temp staging tables live per connection (and outside the WAL): create them on the writer. */
export async function createStagingTables(conn: SerialConnection): Promise<void> {
  for (const t of Object.values(kindTables)) await conn.run(createKindTableSql(t, true));
  await conn.run(`CREATE TEMP TABLE IF NOT EXISTS ${registerDaysStaging} (${registerDaysColumns})`);
}
