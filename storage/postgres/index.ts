import type { Logger } from 'pino';
import type { Site } from '../../core/index.js';
import type { AccountStore } from '../accounts/contract.js';
import type { AlarmStore } from '../alarms/contract.js';
import type { AuditStore } from '../audit/contract.js';
import type { CommandStore } from '../commands/contract.js';
import type { IncidentStore } from '../incidents/contract.js';
import type { ReportStore } from '../reports/contract.js';
import type { ResponsePolicyStore } from '../responses/contract.js';
import type { RosterStore } from '../rosters/contract.js';
import type { ServiceAccountStore } from '../service-accounts/contract.js';
import type { StateStore } from '../state/contract.js';
import { createPostgresAccountStore } from './accounts.js';
import { createPostgresAlarmStore } from './alarms.js';
import { createPostgresAuditStore } from './audit.js';
import { createPostgresCommandStore } from './commands.js';
import { createPool } from './connection.js';
import { createPostgresIncidentStore } from './incidents.js';
import { createStoreLifecycle } from './lifecycle.js';
import { createPostgresReportStore } from './reports.js';
import { createPostgresResponsePolicyStore } from './responses.js';
import { createPostgresRosterStore } from './rosters.js';
import { latestPostgresVersion, migratePostgres } from './schema.js';
import { createPostgresServiceAccountStore } from './service-accounts.js';
import { createPostgresStateStore } from './state.js';

export { latestPostgresVersion, migratePostgres, postgresMigrations } from './schema.js';

export interface PostgresConfig {
  /** `postgres://user:password@host:port/database` (ANJU_POSTGRES_URL). */
  url: string;
  /** Connections in this node's pool (each store call borrows one for a statement or a transaction). */
  maxConnections?: number;
}

/** The state stores of cluster mode, on one PostgreSQL database shared by every node. */
export interface PostgresDatabase {
  state: StateStore;
  /** Alarms, their event log and the alert rule state. */
  alarms: AlarmStore;
  /** Incidents and their event log. */
  incidents: IncidentStore;
  serviceAccounts: ServiceAccountStore;
  accounts: AccountStore;
  audit: AuditStore;
  reports: ReportStore;
  commands: CommandStore;
  /** Sites' on-call rosters, every version. */
  rosters: RosterStore;
  /** Per-site response policies. */
  responses: ResponsePolicyStore;
  /** `SELECT 1` within `timeoutMs` (default 2 s), for /health: whether PostgreSQL answers, and how fast. */
  ping(timeoutMs?: number): Promise<{ ok: true; ms: number } | { ok: false; error: string }>;
  /** Closes every store and ends the pool. */
  close(): Promise<void>;
}

const storeNames = ['state', 'alarm', 'incident', 'service-account', 'account', 'audit', 'report', 'command', 'roster', 'response-policy'] as const;

/**
 * Connects, migrates (once cluster-wide: see migratePostgres) and opens the stores on one pool. The
 * password in `url` is never logged: only host, port and database are.
 */
export async function createPostgres(config: PostgresConfig, deps: { logger: Logger; onSite?(site: Site): void }): Promise<PostgresDatabase> {
  const log = deps.logger.child({ part: 'storage', store: 'postgres' });
  const target = describeTarget(config.url);
  const pool = createPool({ url: config.url, max: config.maxConnections ?? 10, applicationName: 'anju' });
  // An idle client whose server went away emits here; without a listener it would end the process.
  pool.on('error', (err) => log.warn({ err: { message: err.message }, ...target }, 'PostgreSQL connection lost; the pool reconnects on the next use'));
  try {
    const { from, to } = await migratePostgres(pool);
    if (to !== from) log.info({ from, to, ...target }, 'PostgreSQL schema migrated');
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  const life = createStoreLifecycle(storeNames, async () => {
    await pool.end();
    log.info(target, 'PostgreSQL pool closed');
  });
  const state = createPostgresStateStore({ pool, life, ...(deps.onSite ? { onSite: deps.onSite } : {}) });
  const stores = { pool, life };
  const alarms = createPostgresAlarmStore(stores);
  const incidents = createPostgresIncidentStore(stores);
  const serviceAccounts = createPostgresServiceAccountStore(stores);
  const accounts = createPostgresAccountStore(stores);
  const audit = createPostgresAuditStore(stores);
  const reports = createPostgresReportStore(stores);
  const commands = createPostgresCommandStore(stores);
  const rosters = createPostgresRosterStore(stores);
  const responses = createPostgresResponsePolicyStore(stores);
  log.info({ ...target, schemaVersion: latestPostgresVersion }, 'PostgreSQL state stores open');
  const ping: PostgresDatabase['ping'] = async (timeoutMs = 2_000) => {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      // A hung server must not hang /health: the answer is "not within the time", the query may finish later.
      await Promise.race([pool.query('SELECT 1'), new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      })]);
      return { ok: true, ms: performance.now() - started };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
  };
  return { state, alarms, incidents, serviceAccounts, accounts, audit, reports, commands, rosters, responses, ping, close: () => life.closeAll() };
}

/** Where the database is, without credentials. */
function describeTarget(url: string): { host: string; port: string; database: string } {
  try {
    const u = new URL(url);
    return { host: u.hostname, port: u.port || '5432', database: u.pathname.replace(/^\//, '') };
  } catch {
    return { host: '?', port: '?', database: '?' };
  }
}
