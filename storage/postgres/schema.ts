import type pg from 'pg';
import { rows, transaction } from './connection.js';

/**
 * The PostgreSQL schema of the state stores: numbered, forward-only migrations of its own (table
 * `schema_migrations`), independent of the embedded database's numbering. Append new migrations
 * at the end; never edit one that has shipped.
 *
 * Types: epoch ms and seqs are BIGINT (what the contracts speak, no zone conversion); JSON values
 * (details, timelines, filter lists, grants, snapshots) are JSONB, written as JSON text and parsed
 * back by the driver.
 *
 * What the cluster relies on the database for, rather than one process's memory:
 * - one active alarm per (originator, type, site) and one active incident per (site, building,
 *   hazard): unique partial indexes on `active_key` (the key while active, NULL after), so two nodes
 *   raising the same key at once cannot both commit;
 * - gap-free event seqs shared by every node: a counter row per log in `event_seqs`, incremented
 *   inside the writing transaction (a rolled-back write gives its seqs back, and commits land in seq
 *   order because the row lock is held until commit).
 */

/** Fixed key of the advisory lock that serializes migrations when several nodes start at once. */
const MIGRATION_LOCK = 0x616e6a75; // "anju"

export const postgresMigrations: readonly { readonly version: number; readonly description: string; readonly sql: readonly string[] }[] = [
  {
    version: 1,
    description: 'registry, device secrets, API tokens, alarms and their log, rule state, incidents, reports, service accounts, accounts, audit, commands',
    sql: [
      `CREATE TABLE sites (id TEXT PRIMARY KEY, name TEXT NOT NULL, address TEXT, timezone TEXT NOT NULL, grid_region TEXT)`,
      `CREATE TABLE buildings (site TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, floors INTEGER, PRIMARY KEY (site, id))`,
      `CREATE TABLE devices (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, site TEXT NOT NULL, building TEXT NOT NULL, name TEXT NOT NULL, location TEXT,
        category TEXT, purpose TEXT, rated_current DOUBLE PRECISION, q3 DOUBLE PRECISION, parent TEXT, report_interval_s INTEGER,
        connection TEXT, capabilities JSONB, created_at BIGINT NOT NULL, secret_hash TEXT NOT NULL)`,
      `CREATE INDEX devices_site_building ON devices (site, building)`,
      `CREATE TABLE api_tokens (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, created_at BIGINT NOT NULL, token_hash TEXT NOT NULL UNIQUE)`,

      `CREATE TABLE event_seqs (name TEXT PRIMARY KEY, value BIGINT NOT NULL)`,
      `INSERT INTO event_seqs (name, value) VALUES ('alarm_events', 0), ('incident_events', 0)`,

      `CREATE TABLE alarms (
        id TEXT PRIMARY KEY, type TEXT NOT NULL, originator_kind TEXT NOT NULL, originator_id TEXT NOT NULL, site TEXT NOT NULL,
        building TEXT NOT NULL, severity TEXT NOT NULL, status TEXT NOT NULL, start_ts BIGINT NOT NULL, last_update_ts BIGINT NOT NULL,
        ack_ts BIGINT, clear_ts BIGINT, assignee TEXT, escalation_level INTEGER NOT NULL, count BIGINT NOT NULL, active_key TEXT,
        details JSONB NOT NULL, timeline JSONB NOT NULL)`,
      `CREATE UNIQUE INDEX alarms_one_active ON alarms (active_key) WHERE active_key IS NOT NULL`,
      `CREATE INDEX alarms_newest ON alarms (start_ts DESC, id)`,
      `CREATE TABLE alarm_events (seq BIGINT PRIMARY KEY, ts BIGINT NOT NULL, type TEXT NOT NULL, alarm_id TEXT NOT NULL,
        previous_severity TEXT, alarm JSONB NOT NULL)`,
      `CREATE INDEX alarm_events_ts ON alarm_events (ts)`,
      `CREATE TABLE rule_state (key TEXT PRIMARY KEY, value JSONB NOT NULL)`,

      `CREATE TABLE incidents (
        id TEXT PRIMARY KEY, hazard TEXT NOT NULL, site TEXT NOT NULL, building TEXT NOT NULL, level TEXT NOT NULL, severity TEXT NOT NULL,
        status TEXT NOT NULL, start_ts BIGINT NOT NULL, last_update_ts BIGINT NOT NULL, ack_ts BIGINT, clear_ts BIGINT, assignee TEXT,
        escalation_level INTEGER NOT NULL, active_key TEXT, quiet_since_ts BIGINT, members JSONB NOT NULL, timeline JSONB NOT NULL)`,
      `CREATE UNIQUE INDEX incidents_one_active ON incidents (active_key) WHERE active_key IS NOT NULL`,
      `CREATE INDEX incidents_newest ON incidents (start_ts DESC, id)`,
      `CREATE TABLE incident_events (seq BIGINT PRIMARY KEY, ts BIGINT NOT NULL, type TEXT NOT NULL, incident_id TEXT NOT NULL,
        previous_severity TEXT, previous_level TEXT, alarm_id TEXT, incident JSONB NOT NULL, alarm JSONB)`,
      `CREATE INDEX incident_events_ts ON incident_events (ts)`,
      `CREATE TABLE incident_members (alarm_id TEXT PRIMARY KEY, incident_id TEXT NOT NULL)`,
      `CREATE INDEX incident_members_incident ON incident_members (incident_id)`,
      `CREATE TABLE incident_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL)`,

      `CREATE TABLE reports (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, site TEXT NOT NULL, from_ts BIGINT NOT NULL, to_ts BIGINT NOT NULL, baseline_from_ts BIGINT,
        baseline_to_ts BIGINT, created_at BIGINT NOT NULL, origin TEXT NOT NULL, data JSONB NOT NULL)`,
      `CREATE TABLE service_accounts (
        id TEXT PRIMARY KEY, publish JSONB NOT NULL, subscribe JSONB NOT NULL, deny JSONB NOT NULL, origin TEXT NOT NULL,
        created_at BIGINT NOT NULL, secret_set_at BIGINT NOT NULL, secret_hash TEXT NOT NULL)`,
      `CREATE TABLE accounts (
        id TEXT PRIMARY KEY, login TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL, phone TEXT, wecom_user_id TEXT, dingtalk_user_id TEXT,
        grants JSONB NOT NULL, disabled BOOLEAN NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, password_hash TEXT,
        password_set_at BIGINT)`,
      `CREATE TABLE audit_log (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, ts BIGINT NOT NULL, actor TEXT NOT NULL, actor_name TEXT NOT NULL, role TEXT NOT NULL,
        action TEXT NOT NULL, target TEXT, ip TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL, status INTEGER NOT NULL)`,
      `CREATE INDEX audit_log_ts ON audit_log (ts DESC, seq DESC)`,
      `CREATE TABLE commands (
        id TEXT PRIMARY KEY, device TEXT NOT NULL, name TEXT NOT NULL, params JSONB, status TEXT NOT NULL, sent_by TEXT NOT NULL,
        created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, sent_at BIGINT, delivered_at BIGINT, completed_at BIGINT, message TEXT, state TEXT)`,
      `CREATE INDEX commands_newest ON commands (created_at DESC, id DESC)`,
      `CREATE INDEX commands_expiry ON commands (expires_at, id)`,
    ],
  },
  {
    version: 2,
    description: 'notify every committed change of a device or a service account to the nodes listening (storage/postgres/listen.ts)',
    sql: [
      `CREATE FUNCTION anju_notify_device() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         -- 's:' when the secret changed (or the device is gone): caches of verified secrets must go; 'd:' otherwise.
         PERFORM pg_notify('anju_devices', CASE
           WHEN TG_OP = 'DELETE' THEN 's:' || OLD.id
           WHEN TG_OP = 'UPDATE' AND NEW.secret_hash IS DISTINCT FROM OLD.secret_hash THEN 's:' || NEW.id
           ELSE 'd:' || NEW.id END);
         RETURN NULL;
       END $$`,
      `CREATE TRIGGER devices_notify AFTER INSERT OR UPDATE OR DELETE ON devices FOR EACH ROW EXECUTE FUNCTION anju_notify_device()`,
      `CREATE FUNCTION anju_notify_service_account() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         PERFORM pg_notify('anju_service_accounts', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
         RETURN NULL;
       END $$`,
      `CREATE TRIGGER service_accounts_notify AFTER INSERT OR UPDATE OR DELETE ON service_accounts FOR EACH ROW EXECUTE FUNCTION anju_notify_service_account()`,
    ],
  },
  {
    version: 3,
    description: 'incident response proposals and the proposal an event is about; on-call roster versions; per-site response policies',
    sql: [
      // Embedded migrations 11 and 12, same meaning: proposals a JSON array (core/responses.ts Proposal), NULL when none.
      `ALTER TABLE incidents ADD COLUMN proposals JSONB`,
      `ALTER TABLE incident_events ADD COLUMN response JSONB`,
      // Insert-only: each change a new (site, version) row; the primary key refuses two nodes taking one version.
      `CREATE TABLE roster_versions (site TEXT NOT NULL, version INTEGER NOT NULL, roster JSONB NOT NULL, updated_at BIGINT NOT NULL,
        updated_by TEXT NOT NULL, PRIMARY KEY (site, version))`,
      `CREATE TABLE response_policies (site TEXT PRIMARY KEY, policy JSONB NOT NULL, updated_at BIGINT NOT NULL, updated_by TEXT NOT NULL)`,
    ],
  },
  {
    version: 4,
    description: 'alarm and incident revisions for compare-and-set writes across nodes; a notification of every committed alarm and incident event',
    sql: [
      // Embedded migration 14, same meaning: the seq of the event that last wrote the record.
      `ALTER TABLE alarms ADD COLUMN rev BIGINT`,
      `ALTER TABLE incidents ADD COLUMN rev BIGINT`,
      // One pass over each log (grouped: alarm_events has no index on alarm_id); 0 where every event was pruned.
      `UPDATE alarms a SET rev = m.rev FROM (SELECT alarm_id, max(seq) AS rev FROM alarm_events GROUP BY alarm_id) m WHERE m.alarm_id = a.id`,
      `UPDATE alarms SET rev = 0 WHERE rev IS NULL`,
      `UPDATE incidents i SET rev = m.rev FROM (SELECT incident_id, max(seq) AS rev FROM incident_events GROUP BY incident_id) m WHERE m.incident_id = i.id`,
      `UPDATE incidents SET rev = 0 WHERE rev IS NULL`,
      // Nodes follow each other's alarm and incident events (alerts/incidents/manager.ts follow, the
      // cluster's event streams): one notification per committed statement, delivered after the
      // commit (identical ones in a transaction are folded into one by PostgreSQL). One function for
      // both logs, the channel its trigger's argument.
      `CREATE FUNCTION anju_notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         PERFORM pg_notify(TG_ARGV[0], '');
         RETURN NULL;
       END $$`,
      `CREATE TRIGGER incident_events_notify AFTER INSERT ON incident_events FOR EACH STATEMENT EXECUTE FUNCTION anju_notify_events('anju_incident_events')`,
      `CREATE TRIGGER alarm_events_notify AFTER INSERT ON alarm_events FOR EACH STATEMENT EXECUTE FUNCTION anju_notify_events('anju_alarm_events')`,
    ],
  },
  {
    version: 5,
    description: 'which node holds which device (storage/postgres/holders.ts): devices no live node holds are timed by the leader',
    sql: [
      `CREATE TABLE cluster_nodes (node_id TEXT PRIMARY KEY, seen_at TIMESTAMPTZ NOT NULL)`,
      `CREATE TABLE device_holders (device_id TEXT PRIMARY KEY, node_id TEXT NOT NULL, since TIMESTAMPTZ NOT NULL)`,
      `CREATE INDEX device_holders_node ON device_holders (node_id)`,
    ],
  },
];

export const latestPostgresVersion = Math.max(0, ...postgresMigrations.map((m) => m.version));

/**
 * Applies every migration not applied yet, each in its own transaction with its version row. Several
 * nodes may start at once: each transaction first takes a transaction-scoped advisory lock and reads
 * the applied versions under it, so a migration runs exactly once cluster-wide.
 */
export async function migratePostgres(pool: pg.Pool): Promise<{ from: number; to: number }> {
  await pool.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)')
    .catch(async (err: unknown) => {
      // Two nodes creating it at the same moment: one wins, the other sees a duplicate type or relation.
      if ((await rows(pool, `SELECT to_regclass('schema_migrations') AS t`))[0]?.t === null) throw err;
    });
  const appliedNow = async (q: pg.Pool | pg.PoolClient) => new Set((await rows<{ version: number }>(q, 'SELECT version FROM schema_migrations')).map((r) => r.version));
  const before = await appliedNow(pool);
  const from = Math.max(0, ...before);
  if (from > latestPostgresVersion) {
    throw new Error(`the PostgreSQL database is at schema version ${from}, written by a newer Anju; this version knows up to ${latestPostgresVersion}. Run the newer version`);
  }
  let to = from;
  for (const m of [...postgresMigrations].sort((a, b) => a.version - b.version)) {
    if (before.has(m.version)) continue;
    await transaction(pool, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      if ((await appliedNow(c)).has(m.version)) return;
      for (const stmt of m.sql) await c.query(stmt);
      await c.query('INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)', [m.version, m.description, Date.now()]);
    });
    to = Math.max(to, m.version);
  }
  return { from, to };
}
