import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Logger } from 'pino';
import type { StateStore } from '../state/contract.js';
import type { AlarmStore } from '../alarms/contract.js';
import type { IncidentStore } from '../incidents/contract.js';
import { createEmbeddedAlarmStore } from './alarms.js';
import { createEmbeddedIncidentStore } from './incidents.js';
import { createEmbeddedCommandStore } from './commands.js';
import type { CommandStore } from '../commands/contract.js';
import type { ResponsePolicyStore } from '../responses/contract.js';
import { createEmbeddedResponsePolicyStore } from './responses.js';
import type { ReportStore } from '../reports/contract.js';
import { createEmbeddedReportStore } from './reports.js';
import type { ServiceAccountStore } from '../service-accounts/contract.js';
import { createEmbeddedServiceAccountStore } from './service-accounts.js';
import type { AccountStore } from '../accounts/contract.js';
import { createEmbeddedAccountStore } from './accounts.js';
import type { AuditStore } from '../audit/contract.js';
import { createEmbeddedAuditStore } from './audit.js';
import type { RosterStore } from '../rosters/contract.js';
import { createEmbeddedRosterStore } from './rosters.js';
import { createEmbeddedRollups } from './rollups.js';
import { isValidTimezone } from '../../core/time.js';
import { defaultRollupTimezone } from '../rollups/contract.js';
import { createSerialQueue } from '../../core/util/index.js';
import { inTransaction, type SerialConnection } from './connection.js';
import { openReopening } from './reopen.js';
import { sqlLiteral } from './sql.js';
import { createStagingTables, kindTables, migrate, pendingMigrations } from './schema.js';
import {
  alarmCatalog, alarmFileName, alarmFileTables, attachAlarmFileSql, checkAlarmFile, copyTablesInTransaction, placeAlarmTables,
} from './alarm-file.js';
import { createEmbeddedStateStore } from './state.js';
import { createEmbeddedTelemetryStore, type EmbeddedTelemetryStore } from './telemetry.js';
import { buildHourlyIfMissing, createHourlyLateSql, createHourlyStagingSql, ensureHourlyTables, hourlyRows, recoverDirtyHours } from './hourly.js';
import { createEmbeddedRetention, type EmbeddedRetention, type RetentionConfig } from './retention.js';

export { DatabaseClosedError } from './connection.js';

export interface EmbeddedDatabaseConfig {
  dataDir: string;
  /** DuckDB `memory_limit`, e.g. "512MB". */
  memoryLimit: string;
  threads: number;
  /** DuckDB `checkpoint_threshold`, e.g. "64MB": the WAL size at which a commit folds it into the file; default `defaultCheckpointThreshold`. */
  checkpointThreshold?: string;
  /** Raw-reading retention (storage/embedded/retention.ts); absent = raw readings kept forever. Started by the caller. */
  retention?: RetentionConfig;
  /** How long hourly aggregates may wait in memory before they are written (storage/embedded/hourly-pending.ts); default 1,000 ms. */
  hourlyFlushMs?: number;
}

export interface EmbeddedDatabase {
  telemetry: EmbeddedTelemetryStore;
  state: StateStore;
  /** Alarms, their event log (written on a connection of its own) and alert rule state (saved on a connection of its own). */
  alarms: AlarmStore;
  /** Stored reports (migration 3), on the state connection. */
  reports: ReportStore;
  /** MQTT service accounts (migration 4), on the state connection. */
  serviceAccounts: ServiceAccountStore;
  /** People who log in (migration 9), on the state connection. */
  accounts: AccountStore;
  /** The audit trail of changes made through the API (migration 9), on the state connection. */
  audit: AuditStore;
  /** Sites' on-call rosters, every version (migration 11), on the state connection. */
  rosters: RosterStore;
  /** Incidents (migration 5): writes on a connection of their own, reads on the state connection. */
  incidents: IncidentStore;
  commands: CommandStore;
  /** Per-site response policies (migration 12), on the state connection. */
  responses: ResponsePolicyStore;
  /** A site's time zone as the registry says (what the daily rollups use; Asia/Shanghai when unknown). */
  siteTimezone(site: string): string;
  /** The background deletion of raw readings past their period; `start()` it where the hub starts. */
  retention: EmbeddedRetention;
  /** Rows in the hourly aggregate tables (for /metrics). */
  hourlyRows(): Promise<number>;
  /** Readings folded into their hour because they arrived older than the raw floor. */
  foldedTotal(): number;
  /** Times the database reopened itself after a failed COMMIT or a fatal error (storage/embedded/reopen.ts). */
  reopenedTotal(): number;
  /** Refuses telemetry writes while it throws (the disk monitor's guard, set by the hub). */
  setWriteGuard(guard: (() => void) | undefined): void;
  /**
   * Copies the whole database — both files, as of one transaction — into one new DuckDB file while
   * writes go on (ATTACH + COPY FROM DATABASE + the alarm file's tables, on a connection of its own;
   * temp staging tables are not part of it). The copy is a database Anju opens as it is. Resolves
   * with its schema version.
   */
  snapshot(file: string): Promise<{ schemaVersion: number }>;
  /** Closes all stores: waits for queued work, checkpoints the WAL into the file, closes it. */
  close(): Promise<void>;
}

export const embeddedDatabaseFile = 'anju.duckdb';

/**
 * When the WAL is folded into the database file. DuckDB checkpoints automatically in the commit that
 * takes the WAL past `checkpoint_threshold` (default 16 MB), and while it runs every other
 * connection's commit waits — telemetry writes, alarm and incident commits alike: 100–500 ms under
 * load, measured (BENCHMARKS.md, bench:alerts 2026-12-06), and about as long at 1, 16 or 64 MB of
 * WAL, so a larger threshold means as many times fewer stalls. At 90 % of saturation over 60 s, 16 MB
 * put publish → alarm on SSE p99 at 484 ms and publish → stored at 323; 64 MB: 142 and 186. The
 * price is what a crash leaves to replay on the next start (a WAL of 16 MB: 0.34 s; 64 MB: 1.2 s;
 * 256 MB: 7.7 s, measured) and that many megabytes more on disk; a clean stop checkpoints. Readings
 * not yet checkpointed stay in DuckDB's buffer pool, counted in `memory_limit`.
 */
export const defaultCheckpointThreshold = '64MB';

/**
 * Opens (creating if needed) `anju.duckdb` in the data dir, holding telemetry and state, with
 * `alarms.duckdb` beside it attached for the alarm, incident and rule-state tables (alarm-file.ts).
 *
 * Seven connections, each used strictly serially: the writer (telemetry batches; it alone owns the
 * temp staging tables and, being the only writer of the kind tables, keeps (device, ts) unique), the
 * hourly one (the pending hourly aggregates' flushes, so a telemetry write never queues behind one), the
 * reader (telemetry queries, so a long series query never delays a commit), state (registry and
 * tokens, alarm reads: small transactions on other tables that cannot conflict with telemetry
 * writes), alarms (the alarm event log's group commits alone, so a fire alarm never waits behind a
 * registry write or a rule-state flush), incidents (their commits, which follow every alarm commit,
 * so they never delay the next one), and rule-state (the alert engine's write-behind, whose large
 * transactions a device's CONNECT or an API read would otherwise queue behind).
 * The database closes when every store is closed, whichever way.
 */
export async function createEmbeddedDatabase(config: EmbeddedDatabaseConfig,
  deps: { logger: Logger; now?: () => number; onFolded?: (n: number) => void }): Promise<EmbeddedDatabase> {
  const log = deps.logger.child({ part: 'storage', store: 'embedded' });
  await mkdir(config.dataDir, { recursive: true });
  const path = join(config.dataDir, embeddedDatabaseFile);
  const checkpointThreshold = config.checkpointThreshold ?? defaultCheckpointThreshold;
  const alarmPath = join(config.dataDir, alarmFileName);
  const db = await openReopening(async () => {
    const instance = await DuckDBInstance.create(path, {
      memory_limit: config.memoryLimit, threads: String(config.threads), checkpoint_threshold: checkpointThreshold,
    });
    // The alarm file, on every (re)open: attachments belong to the instance (storage/embedded/alarm-file.ts).
    const c = await instance.connect();
    try {
      await c.run(attachAlarmFileSql(alarmPath));
    } catch (err) {
      instance.closeSync();
      throw err;
    } finally {
      c.closeSync();
    }
    return instance;
  }, { logger: log, label: path });
  let closing: Promise<void> | undefined;
  /** The writer's and the hourly connection's temp tables: per connection, so made again on every new connection. */
  const prepareHourly = async (w: SerialConnection) => {
    await w.run(createHourlyLateSql);
    for (const t of Object.values(kindTables)) await w.run(createHourlyStagingSql(t));
  };
  const prepareWriter = async (w: SerialConnection) => {
    await createStagingTables(w);
    await prepareHourly(w);
  };
  const writer = await db.connect('writer', prepareWriter);
  const hourlyConn = await db.connect('hourly', prepareHourly);
  const reader = await db.connect('reader');
  const stateConn = await db.connect('state');
  const alarmsConn = await db.connect('alarms');
  const incidentsConn = await db.connect('incidents');
  const ruleStateConn = await db.connect('rule-state');
  try {
    // Migrations run with the alarm tables in the main database; then they go to their own file.
    const { pending, fresh } = await pendingMigrations(stateConn);
    const files = { main: path, alarms: alarmPath, fresh };
    await stateConn.use((c) => checkAlarmFile(c, 'before', files));
    if (pending > 0) await stateConn.use((c) => placeAlarmTables(c, 'main'));
    const { from, to } = await migrate(stateConn);
    const moved = await stateConn.use((c) => placeAlarmTables(c, 'file'));
    await stateConn.use((c) => checkAlarmFile(c, 'after', files));
    if (moved.length > 0 && from > 0) log.info({ tables: moved, file: alarmPath }, 'alarm, incident and rule-state tables moved to their own file');
    await ensureHourlyTables(stateConn);
    if (to !== from) log.info({ from, to }, 'embedded database schema migrated');
    await prepareWriter(writer);
    await prepareHourly(hourlyConn);
    const recovered = await recoverDirtyHours(writer);
    if (recovered > 0) log.warn({ hours: recovered }, 'hourly aggregates of hours not flushed before the last stop recomputed from the stored readings');
  } catch (err) {
    db.closing();
    await Promise.allSettled([
      writer.close(), hourlyConn.close(), reader.close(), stateConn.close(), alarmsConn.close(), incidentsConn.close(), ruleStateConn.close(),
    ]);
    db.current().closeSync();
    throw err;
  }

  let stopRetention: () => Promise<void> = async () => undefined;
  const closeDatabase = (): Promise<void> => {
    closing ??= (async () => {
      await stopRetention();
      db.closing();
      await db.settled();
      await Promise.all([writer.close(), hourlyConn.close(), reader.close(), alarmsConn.close(), incidentsConn.close(), ruleStateConn.close()]);
      // Folding the WAL into the file now makes the next start fast and leaves a self-contained file.
      await stateConn.close(async (c) => {
        await c.run('CHECKPOINT');
        await c.run(`CHECKPOINT ${alarmCatalog}`);
      });
      db.current().closeSync();
      log.info({ path }, 'embedded database closed');
    })();
    return closing;
  };

  // One per store below: the database closes when the last of them does.
  let open = 11;
  const release = async () => {
    open -= 1;
    if (open === 0) await closeDatabase();
  };
  // Site zones for the daily rollups, from the registry, kept current by the state store's writes.
  const zones = new Map<string, string>();
  for (const r of await stateConn.query('SELECT id, timezone FROM sites')) zones.set(String(r.id), String(r.timezone));
  const siteTimezone = (site: string): string => {
    const tz = zones.get(site);
    return tz !== undefined && isValidTimezone(tz) ? tz : defaultRollupTimezone;
  };
  const now = deps.now ?? Date.now;
  const snapshots = createSerialQueue();
  let flushHourly = async (): Promise<void> => undefined;
  const retention = createEmbeddedRetention(config.retention ?? { rawDays: 0 }, { writer, logger: log, now, beforePass: () => flushHourly() });
  const rollups = createEmbeddedRollups({ writer, reader, siteTimezone, rawFloor: () => retention.floorAt(now()) });
  stopRetention = () => retention.stop();
  let guard: (() => void) | undefined;
  let folded = 0;
  const telemetry = createEmbeddedTelemetryStore({
    writer, hourly: hourlyConn, reader, logger: log, release, rollups, hourlyFlushMs: config.hourlyFlushMs,
    rawFloor: () => retention.floorAt(now()), admit: () => guard?.(), now,
    onFolded: (n) => {
      folded += n;
      deps.onFolded?.(n);
    },
  });
  flushHourly = () => telemetry.flushHourly();
  const state = createEmbeddedStateStore({ conn: stateConn, release, onSite: (s) => zones.set(s.id, s.timezone) });
  const alarms = createEmbeddedAlarmStore({ conn: stateConn, events: alarmsConn, ruleState: ruleStateConn, release });
  const reports = createEmbeddedReportStore({ conn: stateConn, release });
  const serviceAccounts = createEmbeddedServiceAccountStore({ conn: stateConn, release });
  const accounts = createEmbeddedAccountStore({ conn: stateConn, release });
  const audit = createEmbeddedAuditStore({ conn: stateConn, release });
  const rosters = createEmbeddedRosterStore({ conn: stateConn, release });
  const incidents = createEmbeddedIncidentStore({ conn: stateConn, events: incidentsConn, release });
  const commands = createEmbeddedCommandStore({ conn: stateConn, release });
  const responses = createEmbeddedResponsePolicyStore({ conn: stateConn, release });
  // First open after the rollups arrived (or a file restored without them): build them from the readings.
  const built = await rollups.buildIfMissing();
  if (built > 0) log.info({ rows: built }, 'daily register rollups built from the stored readings');
  const hours = await buildHourlyIfMissing(writer, reader);
  if (hours > 0) log.info({ rows: hours }, 'hourly aggregates built from the stored readings');
  // Before any device connects: the first write under load would otherwise read the bounds and plan
  // its statements while readings queue behind it (1.1 s with 500 devices publishing, BENCHMARKS.md).
  await telemetry.warm();
  log.info({ path, memoryLimit: config.memoryLimit, threads: config.threads, checkpointThreshold }, 'embedded database open');

  return {
    telemetry,
    state,
    alarms,
    reports,
    serviceAccounts,
    accounts,
    audit,
    rosters,
    incidents,
    commands,
    responses,
    siteTimezone,
    retention,
    hourlyRows: () => hourlyRows(reader),
    foldedTotal: () => folded,
    reopenedTotal: () => db.reopens(),
    setWriteGuard(g) {
      guard = g;
    },
    async snapshot(file) {
      if (closing) throw new Error('the embedded database is closed');
      // One at a time: the scheduled backup and one asked through the API or `anju backup` can
      // overlap, and DuckDB's attach alias is the whole instance's (the second ATTACH failed).
      return snapshots.run(() => db.withConnection(async (conn) => {
        const ident = (v: string) => `"${v.replace(/"/g, '""')}"`;
        const source = String((await conn.runAndReadAll('SELECT current_database() AS d')).getRowObjects()[0]?.d);
        await conn.run(`ATTACH ${sqlLiteral(file)} AS anju_snapshot`);
        try {
          // One transaction for both files, so the copy is of one moment: an incident with the
          // commands and response policy rows it refers to. The alarm file's tables go into the
          // snapshot itself: a backup is one database, with every table where the migrations expect
          // it; its first open moves them out again (storage/embedded/alarm-file.ts).
          await inTransaction(conn, async () => {
            // DuckDB opens a transaction's snapshot of each attached database when the transaction
            // first reads it: one statement reading both opens them at one moment.
            await conn.run(`SELECT (SELECT count(*) FROM ${ident(source)}.main.schema_version), (SELECT count(*) FROM ${alarmCatalog}.main.alarm_events)`);
            await conn.run(`COPY FROM DATABASE ${ident(source)} TO anju_snapshot`);
            await copyTablesInTransaction(conn, alarmCatalog, 'anju_snapshot', alarmFileTables);
          });
          const v = (await conn.runAndReadAll('SELECT max(version) AS v FROM anju_snapshot.schema_version')).getRowObjects()[0]?.v;
          return { schemaVersion: Number(v ?? 0) };
        } finally {
          await conn.run('DETACH anju_snapshot');
        }
      }));
    },
    async close() {
      await retention.stop();
      await Promise.all([
        telemetry.close(), state.close(), alarms.close(), reports.close(), serviceAccounts.close(),
        accounts.close(), audit.close(), rosters.close(), incidents.close(), commands.close(), responses.close(),
      ]);
      await closeDatabase();
    },
  };
}
