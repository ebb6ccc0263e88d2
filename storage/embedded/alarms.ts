import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import {
  ActiveAlarmConflictError, AlarmChangedError, alarmKey, isActive, type Alarm, type AlarmEvent, type AlarmEventInput, type AlarmQuery, type AlarmRecordEntry,
  type AlarmStore, type Severity,
} from '../alarms/contract.js';
import type { Page } from '../state/contract.js';
import { DatabaseClosedError, runPrepared, toNumber, type SerialConnection } from './connection.js';
import { big, inList, isDuplicatePrimaryKey, newestFirstPage, type Row, rows, runScript, sqlLiteral, where, whereBuilder, writeRowsScript } from './sql.js';
import { alarmFilters } from '../query-filters.js';
import { checkRevisions, idsToCheck, revisionsOf } from '../revisions.js';
import { alarmFileTables, inAlarmFile, type AlarmFileTable } from './alarm-file.js';

/** This store's tables, in the alarm file (storage/embedded/alarm-file.ts). */
const T = Object.fromEntries(alarmFileTables.map((t) => [t, inAlarmFile(t)])) as Record<AlarmFileTable, string>;
import { createStoredAlarmIndex } from './alarm-index.js';

/** Upserts rule-state entries given as one JSON list of {k, v} (v: the value's JSON text). */
const upsertRuleStateSql = `INSERT INTO ${T.rule_state} (key, value)
  SELECT e.k, e.v FROM (SELECT unnest(json_transform($1::VARCHAR, '[{"k":"VARCHAR","v":"VARCHAR"}]')) AS e)
  ON CONFLICT (key) DO UPDATE SET value = excluded.value`;

/**
 * The AlarmStore on the embedded database (tables from migration 2: alarms, alarm_events,
 * rule_state), on two connections:
 * - `events`, its own: `record` / `recordMany` (and `pruneEvents`, the other writer of the event
 *   log). Nothing else runs there — not the registry, not the rule-state write-behind — so an alarm
 *   commit never queues behind them. Every call is one transaction, run strictly in order, which is
 *   what makes `seq` gap-free and monotonic; and since nothing else writes `alarms`, the checks
 *   (revisions, one active alarm per key) answered before the transaction still hold at its
 *   commit. `recordMany` is the group commit: many events, one BEGIN … COMMIT, sent as one script;
 *   the checks answer from memory (storage/embedded/alarm-index.ts).
 * - `conn`, the state connection it shares with the registry: reads (get, list, findActive,
 *   eventsSince — a commit on `events` is visible to every later statement here), loading the rule
 *   state, and the rules configuration. Different tables than the event writes: no write-write conflicts.
 * - `ruleState`, its own: the rule-state write-behind (`saveRuleState`), thousands of keys a second
 *   with a large fleet, one transaction of 0.1–0.5 s each at bench rates — which, on the state
 *   connection, every registry read (a device's CONNECT on a cache miss) and API read queued behind.
 *   Its rows are never the configuration's row, so the two connections never write the same row.
 *
 * `active_key` holds the alarm's key while it is active and NULL once cleared; `record` refuses to
 * make a second alarm active under a key (ActiveAlarmConflictError). Not a UNIQUE index: DuckDB
 * checks index constraints eagerly on UPDATE, which misfires on rows updated back and forth.
 * For the same reason a group commit writes each alarm id once (its last version in the group).
 * Details, timeline and event snapshots are JSON text (no JSON extension needed).
 *
 * The rules configuration (`PUT /api/rules`) is one row of rule_state under RULES_CONFIG_KEY:
 * rule-state keys always contain a `/` (`<rule>/device/<id>`, `engine/last/<id>`), so the key cannot
 * collide, and loadRuleState leaves it out. No migration needed.
 */

export const RULES_CONFIG_KEY = 'rule_config';

export const alarmCols = [
  'id', 'type', 'originator_kind', 'originator_id', 'site', 'building', 'severity', 'status', 'start_ts', 'last_update_ts',
  'ack_ts', 'clear_ts', 'assignee', 'escalation_level', 'count', 'active_key', 'details', 'timeline', 'rev',
] as const;

function alarmValues(a: Alarm, rev: number): DuckDBValue[] {
  const key = isActive(a.status) ? alarmKey({ originator: a.originator, type: a.type, site: a.site }) : null;
  return [
    a.id, a.type, a.originator.kind, a.originator.id, a.site, a.building, a.severity, a.status, big(a.startTs), big(a.lastUpdateTs),
    big(a.ackTs), big(a.clearTs), a.assignee ?? null, a.escalationLevel, BigInt(a.count), key, JSON.stringify(a.details), JSON.stringify(a.timeline),
    BigInt(rev),
  ];
}

function rowToAlarm(r: Row): Alarm {
  const opt = (col: string) => toNumber(r[col] ?? null);
  const ackTs = opt('ack_ts');
  const clearTs = opt('clear_ts');
  const assignee = r.assignee === null || r.assignee === undefined ? undefined : String(r.assignee);
  return {
    id: String(r.id), type: String(r.type),
    originator: { kind: String(r.originator_kind) as Alarm['originator']['kind'], id: String(r.originator_id) },
    site: String(r.site), building: String(r.building), severity: String(r.severity) as Alarm['severity'], status: String(r.status) as Alarm['status'],
    startTs: opt('start_ts') ?? 0, lastUpdateTs: opt('last_update_ts') ?? 0,
    ...(ackTs !== null ? { ackTs } : {}), ...(clearTs !== null ? { clearTs } : {}), ...(assignee !== undefined ? { assignee } : {}),
    escalationLevel: opt('escalation_level') ?? 0, count: opt('count') ?? 0, ...(opt('rev') !== null ? { rev: opt('rev')! } : {}),
    details: JSON.parse(String(r.details)) as Alarm['details'], timeline: JSON.parse(String(r.timeline)) as Alarm['timeline'],
  };
}

function rowToEvent(r: Row): AlarmEvent {
  const prev = r.previous_severity;
  return {
    seq: toNumber(r.seq ?? null) ?? 0, ts: toNumber(r.ts ?? null) ?? 0, type: String(r.type) as AlarmEvent['type'],
    alarm: JSON.parse(String(r.alarm)) as Alarm, ...(prev !== null && prev !== undefined ? { previousSeverity: String(prev) as Severity } : {}),
  };
}

/** Rows per multi-row INSERT statement of a group's script. */
const ROWS_PER_STATEMENT = 100;

const keyOfAlarm = (a: Alarm) => alarmKey({ originator: a.originator, type: a.type, site: a.site });

/**
 * The store on `conn` (state connection: reads, rules configuration), `events` (its own: event
 * writes) and `ruleState` (its own: rule-state saves). Passing the same SerialConnection more than
 * once is allowed (everything then runs on it, in order).
 */
export function createEmbeddedAlarmStore(deps: {
  conn: SerialConnection; events?: SerialConnection; ruleState?: SerialConnection; release(): Promise<void>;
}): AlarmStore {
  const { conn } = deps;
  const events = deps.events ?? conn;
  const ruleState = deps.ruleState ?? conn;
  let closed = false;
  let closing: Promise<void> | undefined;
  /** The last seq committed; read from the table on first use. */
  let seq: number | undefined;
  const open = () => {
    if (closed) throw new DatabaseClosedError('embedded alarm store is closed');
  };
  // Every event writes its seq into its alarm's rev and alarms are never deleted, so max(rev) keeps the
  // highest seq ever given even when pruneEvents took every event: the seq (and so the revisions and
  // an SSE client's Last-Event-ID) never goes back after a restart, as with Postgres's sequence.
  const currentSeq = async (c: DuckDBConnection) => (seq ??= toNumber((await rows(c,
    `SELECT greatest((SELECT coalesce(max(seq), 0) FROM ${T.alarm_events}), (SELECT coalesce(max(rev), 0) FROM ${T.alarms})) AS s`))[0]?.s ?? null) ?? 0);

  /** What the checks need to know of `alarms`, in memory (storage/embedded/alarm-index.ts). */
  const index = createStoredAlarmIndex();

  /**
   * The group's checks: each alarm's revision (refused with AlarmChangedError when another writer
   * changed it since it was read) and the one-active-per-key rule, entry by entry in order
   * (ActiveAlarmConflictError). They run before the group's transaction opens, which is as safe as
   * inside it: `events` is the only connection that writes `alarms`, and it runs one job at a time.
   * `fromIndex` answers from the index, reading the table only for revisions it does not hold (once
   * for the active keys, at first); otherwise everything is read from the table, in one query.
   * Returns the ids of the group that are stored.
   */
  async function checkGroup(c: DuckDBConnection, records: readonly Alarm[], fromIndex: boolean): Promise<Set<string>> {
    const ids = [...new Set(records.map((a) => a.id))];
    const stored = new Map<string, number | undefined>();
    const holder = new Map<string, string | undefined>();
    let holderOf: (key: string) => string | undefined;
    let exists: (id: string) => boolean;
    if (fromIndex) {
      if (!index.loaded) {
        const active = await rows(c, `SELECT id, active_key FROM ${T.alarms} WHERE active_key IS NOT NULL`);
        index.load(active.map((r) => ({ id: String(r.id), key: String(r.active_key) })));
      }
      // What the index knows of the group is taken before it learns anything: learning may push
      // out its least recently written revisions, which can be this group's.
      const known = new Set<string>();
      for (const id of ids) {
        if (index.knowsRevision(id)) stored.set(id, index.revision(id));
        if (index.stored(id)) known.add(id);
      }
      const unknown = idsToCheck(records).filter((id) => !stored.has(id));
      if (unknown.length > 0) {
        const found = (await rows(c, `SELECT id, rev FROM ${T.alarms} WHERE id IN (${unknown.map(sqlLiteral).join(', ')})`))
          .map((r) => ({ id: String(r.id), rev: toNumber(r.rev ?? null) ?? undefined }));
        for (const { id, rev } of found) {
          stored.set(id, rev);
          known.add(id);
        }
        index.learn(found);
      }
      holderOf = (key) => (holder.has(key) ? holder.get(key) : index.activeFor(key));
      exists = (id) => known.has(id);
    } else {
      const keys = [...new Set(records.map(keyOfAlarm))];
      const found = await rows(c, `SELECT id, rev, active_key FROM ${T.alarms}
        WHERE id IN (${ids.map(sqlLiteral).join(', ')}) OR active_key IN (${keys.map(sqlLiteral).join(', ')})`);
      for (const r of found) {
        stored.set(String(r.id), toNumber(r.rev ?? null) ?? undefined);
        if (r.active_key !== null && r.active_key !== undefined) holder.set(String(r.active_key), String(r.id));
      }
      holderOf = (key) => holder.get(key);
      exists = (id) => stored.has(id);
    }
    checkRevisions(records, stored, (id, expected, now) => new AlarmChangedError(id, expected, now));
    for (const alarm of records) {
      const key = keyOfAlarm(alarm);
      const other = holderOf(key);
      if (isActive(alarm.status)) {
        if (other !== undefined && other !== alarm.id) throw new ActiveAlarmConflictError(`alarm ${other} is already active for ${key}`);
        holder.set(key, alarm.id);
      } else if (other === alarm.id) {
        holder.set(key, undefined);
      }
    }
    return new Set(ids.filter(exists));
  }

  /**
   * The group's writes as one script, one call into DuckDB: BEGIN, the alarms (`writeRowsScript`:
   * INSERT of the new, UPDATE of the stored), the events' INSERT, COMMIT. Sent statement by statement with bound
   * parameters, a group took ~11 trips through the thread pool and the event loop, which under load
   * cost more than the writes; and a plain INSERT or UPDATE costs half of an upsert (ON CONFLICT).
   */
  function groupScript(entries: readonly AlarmRecordEntry[], first: number, existing: ReadonlySet<string>): string[] {
    const revisions = revisionsOf(entries.map((e) => e.alarm), first);
    // Each alarm once, as its last version in the group (see the note on UPDATE above).
    const last = new Map<string, Alarm>();
    for (const { alarm } of entries) last.set(alarm.id, alarm);
    const alarms = [...last.values()].map((a) => alarmValues(a, revisions.get(a.id) ?? first));
    const script = ['BEGIN TRANSACTION', ...writeRowsScript(T.alarms, alarmCols, alarms, (id) => existing.has(id))];
    for (let i = 0; i < entries.length; i += ROWS_PER_STATEMENT) {
      const values = entries.slice(i, i + ROWS_PER_STATEMENT).map(({ alarm, event: ev }, j) => {
        const s = first + i + j;
        return `(${[BigInt(s), big(ev.ts), ev.type, alarm.id, ev.previousSeverity ?? null, JSON.stringify({ ...alarm, rev: s })].map(sqlLiteral).join(', ')})`;
      });
      script.push(`INSERT INTO ${T.alarm_events} (seq, ts, type, alarm_id, previous_severity, alarm) VALUES ${values.join(', ')}`);
    }
    script.push('COMMIT');
    return script;
  }

  /** The group's script (one call into DuckDB), rolled back if it fails. */
  async function writeGroup(c: DuckDBConnection, entries: readonly AlarmRecordEntry[], first: number, existing: ReadonlySet<string>): Promise<void> {
    try {
      await runScript(c, groupScript(entries, first, existing));
    } catch (err) {
      // A failed statement leaves the script's transaction aborted (or, before BEGIN ran, none open).
      await c.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  const recordMany = async (entries: readonly AlarmRecordEntry[]): Promise<AlarmEvent[]> => {
    open();
    if (entries.length === 0) return [];
    return events.use(async (c) => {
      const first = (await currentSeq(c)) + 1;
      const records = entries.map((e) => e.alarm);
      try {
        await writeGroup(c, entries, first, await checkGroup(c, records, true));
      } catch (err) {
        if (err instanceof AlarmChangedError || err instanceof ActiveAlarmConflictError) throw err;
        // Nothing of the group is stored; the index is loaded again on the next group. Where the
        // index is what failed it (an alarm written without a revision, stored but not known to
        // it, taken for new: the primary key refused it), the group is checked against the table
        // and written once more.
        index.forget();
        if (!isDuplicatePrimaryKey(err)) throw err;
        await writeGroup(c, entries, first, await checkGroup(c, records, false));
      }
      seq = first + entries.length - 1;
      if (index.loaded) {
        const revisions = revisionsOf(records, first);
        index.committed(new Map(records.map((a) => [a.id, a])).values(), (id) => revisions.get(id) ?? first);
      }
      return entries.map(({ alarm, event: ev }, i) => ({
        seq: first + i, ts: ev.ts, type: ev.type, alarm: { ...alarm, rev: first + i },
        ...(ev.previousSeverity ? { previousSeverity: ev.previousSeverity } : {}),
      }));
    });
  };

  return {
    async record(alarm: Alarm, ev: AlarmEventInput) {
      const [out] = await recordMany([{ alarm, event: ev }]);
      if (!out) throw new Error('alarm event was not recorded');
      return out;
    },
    recordMany,
    async get(id) {
      open();
      const r = await conn.query(`SELECT ${alarmCols.join(', ')} FROM ${T.alarms} WHERE id = $1`, [id]);
      return r[0] ? rowToAlarm(r[0]) : undefined;
    },
    async findActive(key) {
      open();
      const r = await conn.query(`SELECT ${alarmCols.join(', ')} FROM ${T.alarms} WHERE active_key = $1`, [alarmKey(key)]);
      return r[0] ? rowToAlarm(r[0]) : undefined;
    },
    async list(q: AlarmQuery): Promise<Page<Alarm>> {
      open();
      const w = where();
      alarmFilters(q, whereBuilder(w));
      const { rows: page, total } = await newestFirstPage(conn, T.alarms, alarmCols, w, q);
      return { items: page.map(rowToAlarm), total };
    },
    async eventsSince(after, limit = 1_000) {
      open();
      const r = await conn.query(`SELECT * FROM ${T.alarm_events} WHERE seq > $1 ORDER BY seq LIMIT $2`, [BigInt(Math.max(0, Math.floor(after))), BigInt(limit)]);
      return r.map(rowToEvent);
    },
    async lastSeq() {
      open();
      return events.use(currentSeq);
    },
    async pruneEvents(beforeTs) {
      open();
      return (await events.query(`DELETE FROM ${T.alarm_events} WHERE ts < $1 RETURNING seq`, [big(beforeTs)])).length;
    },
    async loadRuleState(keys) {
      open();
      const params: DuckDBValue[] = [RULES_CONFIG_KEY];
      const only = keys === undefined ? '' : keys.length === 0 ? ' AND false' : ` AND ${inList('key', keys, params)}`;
      const r = await conn.query(`SELECT key, value FROM ${T.rule_state} WHERE key <> $1${only}`, params);
      return new Map(r.map((x) => [String(x.key), JSON.parse(String(x.value)) as unknown]));
    },
    async saveRuleState(changes) {
      open();
      if (changes.size === 0) return;
      // Serialised here, before the first await: the caller's values may change once this returns its promise.
      const gone: string[] = [];
      const kept: { k: string; v: string }[] = [];
      for (const [k, v] of changes) {
        if (v === undefined) gone.push(k);
        else kept.push({ k, v: JSON.stringify(v) });
      }
      const keptJson = kept.length > 0 ? JSON.stringify(kept) : undefined;
      await ruleState.transaction(async (c) => {
        for (let i = 0; i < gone.length; i += 500) {
          const params: DuckDBValue[] = [];
          await c.run(`DELETE FROM ${T.rule_state} WHERE ${inList('key', gone.slice(i, i + 500), params)}`, params);
        }
        // One prepared statement for any number of entries, unpacked on DuckDB's threads (the engine
        // writes every touched key each second: thousands with a large fleet).
        if (keptJson !== undefined) await runPrepared(c, upsertRuleStateSql, [keptJson]);
      });
    },
    async loadRulesConfig() {
      open();
      const r = await conn.query(`SELECT value FROM ${T.rule_state} WHERE key = $1`, [RULES_CONFIG_KEY]);
      return r[0] ? (JSON.parse(String(r[0].value)) as unknown) : undefined;
    },
    async saveRulesConfig(config) {
      open();
      await conn.query(`INSERT INTO ${T.rule_state} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [
        RULES_CONFIG_KEY, JSON.stringify(config),
      ]);
    },
    close() {
      closed = true;
      closing ??= deps.release();
      return closing;
    },
  };
}
