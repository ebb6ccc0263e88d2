import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { isActive } from '../alarms/contract.js';
import type { Page } from '../state/contract.js';
import {
  ActiveIncidentConflictError, IncidentChangedError, incidentKey, type Incident, type IncidentEvent, type IncidentQuery, type IncidentRecordEntry,
  type IncidentStore,
} from '../incidents/contract.js';
import { DatabaseClosedError, toNumber, type SerialConnection } from './connection.js';
import { big, isDuplicatePrimaryKey, newestFirstPage, type Row, rows, runScript, sqlLiteral, where, whereBuilder, writeRowsScript } from './sql.js';
import { incidentFilters } from '../query-filters.js';
import { checkRevisions, idsToCheck, revisionsOf } from '../revisions.js';
import { alarmFileTables, inAlarmFile, type AlarmFileTable } from './alarm-file.js';

/** This store's tables, in the alarm file (storage/embedded/alarm-file.ts). */
const T = Object.fromEntries(alarmFileTables.map((t) => [t, inAlarmFile(t)])) as Record<AlarmFileTable, string>;
import { createStoredRecordIndex } from './record-index.js';

/**
 * The IncidentStore on the embedded database (tables of migration 5: incidents, incident_events,
 * incident_members, incident_meta), on two connections:
 * - `events` (its own: an incident commit never delays an alarm commit): `recordMany`, the watermark and pruning — one
 *   transaction per call, strictly in order, which keeps `seq` gap-free; nothing else writes these
 *   tables, so the checks (revisions, one active incident per key), answered just before the
 *   transaction from what this connection committed (`index`), still hold at its commit. A group is
 *   one call into DuckDB (a script), with a read first only for incidents the index does not hold;
 * - `conn` (the state connection): reads.
 *
 * As for alarms, `active_key` holds the key while the incident is active and NULL after, checked
 * by the store itself rather than a UNIQUE index (DuckDB checks index constraints eagerly on
 * UPDATE, which misfires on rows updated back and forth); each incident is written once per group.
 * `incident_members` maps every alarm to its incident (an alarm joins one incident, once).
 */

const cols = [
  'id', 'hazard', 'site', 'building', 'level', 'severity', 'status', 'start_ts', 'last_update_ts', 'ack_ts', 'clear_ts', 'assignee',
  'escalation_level', 'active_key', 'quiet_since_ts', 'members', 'timeline', 'proposals', 'rev',
] as const;

/** The columns, shared with the PostgreSQL store (one schema, two engines). */
export const incidentCols = cols;

const ROWS_PER_STATEMENT = 100;
/** Incidents whose indexed members the store keeps in memory (see `storedMembers`). */
const MAX_INDEXED_MEMBERSHIPS = 10_000;
export const WATERMARK = 'alarm_seq';

function values(i: Incident, rev: number): DuckDBValue[] {
  return [
    i.id, i.hazard, i.site, i.building, i.level, i.severity, i.status, big(i.startTs), big(i.lastUpdateTs), big(i.ackTs), big(i.clearTs),
    i.assignee ?? null, i.escalationLevel, isActive(i.status) ? incidentKey(i) : null, big(i.quietSinceTs),
    JSON.stringify(i.members), JSON.stringify(i.timeline), i.proposals && i.proposals.length > 0 ? JSON.stringify(i.proposals) : null,
    BigInt(rev),
  ];
}

function rowToIncident(r: Row): Incident {
  const n = (c: string) => toNumber(r[c] ?? null);
  const ackTs = n('ack_ts');
  const clearTs = n('clear_ts');
  const quiet = n('quiet_since_ts');
  const rev = n('rev');
  const assignee = r.assignee === null || r.assignee === undefined ? undefined : String(r.assignee);
  return {
    id: String(r.id), hazard: String(r.hazard) as Incident['hazard'], site: String(r.site), building: String(r.building),
    level: String(r.level) as Incident['level'], severity: String(r.severity) as Incident['severity'], status: String(r.status) as Incident['status'],
    startTs: n('start_ts') ?? 0, lastUpdateTs: n('last_update_ts') ?? 0,
    ...(ackTs !== null ? { ackTs } : {}), ...(clearTs !== null ? { clearTs } : {}), ...(assignee !== undefined ? { assignee } : {}),
    escalationLevel: n('escalation_level') ?? 0, ...(quiet !== null ? { quietSinceTs: quiet } : {}),
    members: JSON.parse(String(r.members)) as Incident['members'], timeline: JSON.parse(String(r.timeline)) as Incident['timeline'],
    ...(r.proposals !== null && r.proposals !== undefined ? { proposals: JSON.parse(String(r.proposals)) as Incident['proposals'] } : {}),
    ...(rev !== null ? { rev } : {}),
  };
}

function rowToEvent(r: Row): IncidentEvent {
  const opt = (c: string) => (r[c] === null || r[c] === undefined ? undefined : String(r[c]));
  const prevSev = opt('previous_severity');
  const prevLevel = opt('previous_level');
  const alarm = opt('alarm');
  const response = opt('response');
  return {
    seq: toNumber(r.seq ?? null) ?? 0, ts: toNumber(r.ts ?? null) ?? 0, type: String(r.type) as IncidentEvent['type'],
    incident: JSON.parse(String(r.incident)) as Incident,
    ...(prevSev ? { previousSeverity: prevSev as IncidentEvent['previousSeverity'] & string } : {}),
    ...(prevLevel ? { previousLevel: prevLevel as IncidentEvent['previousLevel'] & string } : {}),
    ...(alarm ? { alarm: JSON.parse(alarm) as NonNullable<IncidentEvent['alarm']> } : {}),
    ...(response ? { response: JSON.parse(response) as NonNullable<IncidentEvent['response']> } : {}),
  };
}

export function createEmbeddedIncidentStore(deps: { conn: SerialConnection; events?: SerialConnection; release(): Promise<void> }): IncidentStore {
  const { conn } = deps;
  const events = deps.events ?? conn;
  let closed = false;
  let closing: Promise<void> | undefined;
  let seq: number | undefined;
  const open = () => {
    if (closed) throw new DatabaseClosedError('embedded incident store is closed');
  };
  // Every event writes its seq into its incident's rev and incidents are never deleted, so max(rev) keeps the
  // highest seq ever given even when pruneEvents took every event: the seq (and so the revisions and
  // an SSE client's Last-Event-ID) never goes back after a restart, as with Postgres's sequence.
  const currentSeq = async (c: DuckDBConnection) => (seq ??= toNumber((await rows(c,
    `SELECT greatest((SELECT coalesce(max(seq), 0) FROM ${T.incident_events}), (SELECT coalesce(max(rev), 0) FROM ${T.incidents})) AS s`))[0]?.s ?? null) ?? 0);

  const watermarkSql = (alarmSeq: number) =>
    // GREATEST: the watermark never moves back, whichever writer gets there first.
    `INSERT INTO ${T.incident_meta} (key, value) VALUES (${sqlLiteral(WATERMARK)}, ${sqlLiteral(BigInt(Math.max(0, Math.floor(alarmSeq))))})
     ON CONFLICT (key) DO UPDATE SET value = greatest(${T.incident_meta}.value, excluded.value)`;

  /** What the checks need to know of `incidents`, in memory (storage/embedded/record-index.ts). */
  const index = createStoredRecordIndex<Incident>({ keyOf: incidentKey, isActive: (i) => isActive(i.status) });
  /**
   * The alarms indexed in `incident_members` for incidents whose revision the index holds (an
   * incident's members only grow, and only this store's `events` connection writes them), at most
   * MAX_INDEXED_MEMBERSHIPS incidents, the least recently written dropped first.
   */
  const storedMembers = new Map<string, Set<string>>();
  const rememberMembers = (id: string, alarms: Iterable<string>) => {
    const known = storedMembers.get(id) ?? new Set<string>();
    storedMembers.delete(id);
    for (const a of alarms) known.add(a);
    storedMembers.set(id, known);
    if (storedMembers.size > MAX_INDEXED_MEMBERSHIPS) storedMembers.delete(storedMembers.keys().next().value as string);
  };
  const forget = () => {
    index.forget();
    storedMembers.clear();
  };

  /**
   * What the group's checks and writes need to know: the stored revision of each of its incidents
   * (which also says which are stored), the holder of each of its keys, and the alarms already
   * indexed as members. `fromIndex` answers from memory, reading the table only for incidents it
   * does not hold (and, once, the active keys); a commit then is one call into DuckDB instead of
   * two (the read took 7–41 ms at half load, BENCHMARKS.md). Otherwise everything is read, in one
   * query. Either runs before the group's transaction opens, which is as safe as inside it:
   * `events` is the only connection that writes these tables, one job at a time.
   */
  async function readGroup(c: DuckDBConnection, records: readonly Incident[], fromIndex: boolean) {
    const list = (xs: Iterable<string>) => [...new Set(xs)].map(sqlLiteral).join(', ');
    const stored = new Map<string, number | undefined>();
    const members = new Set<string>();
    const storedRows = async (ids: readonly string[], keys?: readonly string[]) => {
      const holders = keys ? `UNION ALL SELECT 'key', id, NULL, active_key FROM ${T.incidents} WHERE active_key IN (${list(keys)})` : '';
      return rows(c, `SELECT 'rev' AS what, id, rev, NULL AS other FROM ${T.incidents} WHERE id IN (${list(ids)}) ${holders}
        UNION ALL SELECT 'member', incident_id, NULL, alarm_id FROM ${T.incident_members} WHERE incident_id IN (${list(ids)})`);
    };
    if (!fromIndex) {
      const holder = new Map<string, string>();
      for (const r of await storedRows(records.map((i) => i.id), records.map(incidentKey))) {
        if (r.what === 'rev') stored.set(String(r.id), toNumber(r.rev ?? null) ?? undefined);
        else if (r.what === 'key') holder.set(String(r.other), String(r.id));
        else members.add(String(r.other));
      }
      return { stored, members, holderOf: (key: string) => holder.get(key) };
    }
    if (!index.loaded) {
      const active = await rows(c, `SELECT id, active_key FROM ${T.incidents} WHERE active_key IS NOT NULL`);
      index.load(active.map((r) => ({ id: String(r.id), key: String(r.active_key) })));
    }
    // What the index knows is taken before it learns anything: learning may push out this group's revisions.
    const revised = new Set(idsToCheck(records));
    const unknown: string[] = [];
    for (const id of new Set(records.map((i) => i.id))) {
      const known = storedMembers.get(id);
      if (index.knowsRevision(id) && known) {
        stored.set(id, index.revision(id));
        for (const a of known) members.add(a);
      } else if (revised.has(id) || index.stored(id)) unknown.push(id);
      // Else new: no revision, and not stored as far as the index knows (the INSERT's key says otherwise).
    }
    if (unknown.length > 0) {
      const found = new Map<string, number | undefined>();
      const alarms = new Map<string, string[]>();
      for (const r of await storedRows(unknown)) {
        if (r.what === 'rev') found.set(String(r.id), toNumber(r.rev ?? null) ?? undefined);
        else {
          const id = String(r.id);
          let list = alarms.get(id);
          if (!list) alarms.set(id, (list = []));
          list.push(String(r.other));
          members.add(String(r.other));
        }
      }
      for (const [id, rev] of found) {
        stored.set(id, rev);
        rememberMembers(id, alarms.get(id) ?? []);
      }
      index.learn([...found].map(([id, rev]) => ({ id, rev })));
    }
    return { stored, members, holderOf: (key: string) => index.activeFor(key) };
  }

  /** The one-active-incident-per-key rule, entry by entry in order, against the holders as stored. */
  function checkActiveKeys(entries: readonly IncidentRecordEntry[], holderOf: (key: string) => string | undefined): void {
    const changed = new Map<string, string | undefined>();
    const holder = (key: string) => (changed.has(key) ? changed.get(key) : holderOf(key));
    for (const { incident } of entries) {
      const key = incidentKey(incident);
      const other = holder(key);
      if (isActive(incident.status)) {
        if (other !== undefined && other !== incident.id) throw new ActiveIncidentConflictError(`incident ${other} is already active for ${key}`);
        changed.set(key, incident.id);
      } else if (other === incident.id) {
        changed.set(key, undefined);
      }
    }
  }

  /**
   * The group as one script, one call into DuckDB (as the alarm store's, storage/embedded/alarms.ts):
   * BEGIN, the incidents (`writeRowsScript`), the members not indexed yet, the events, the
   * watermark, COMMIT.
   */
  function groupScript(
    entries: readonly IncidentRecordEntry[], first: number, read: Awaited<ReturnType<typeof readGroup>>, alarmSeq: number | undefined,
  ): string[] {
    const records = entries.map((e) => e.incident);
    const revisions = revisionsOf(records, first);
    const last = new Map<string, Incident>();
    for (const incident of records) last.set(incident.id, incident);
    const incidents = [...last.values()];
    const script = ['BEGIN TRANSACTION', ...writeRowsScript(T.incidents, cols, incidents.map((x) => values(x, revisions.get(x.id) ?? first)), (id) => read.stored.has(id))];
    // Only the alarms not indexed yet: an incident's members only ever grow, and rewriting the index on every change would grow with them.
    const members = incidents.flatMap((i) => i.members.filter((m) => !read.members.has(m.id)).map((m) => `(${sqlLiteral(m.id)}, ${sqlLiteral(i.id)})`));
    for (let i = 0; i < members.length; i += ROWS_PER_STATEMENT) {
      script.push(`INSERT INTO ${T.incident_members} (alarm_id, incident_id) VALUES ${members.slice(i, i + ROWS_PER_STATEMENT).join(', ')} ON CONFLICT (alarm_id) DO NOTHING`);
    }
    for (let i = 0; i < entries.length; i += ROWS_PER_STATEMENT) {
      const rowsOf = entries.slice(i, i + ROWS_PER_STATEMENT).map(({ incident, event: e }, j) => `(${[
        BigInt(first + i + j), big(e.ts), e.type, incident.id, e.previousSeverity ?? null, e.previousLevel ?? null, e.alarm?.id ?? null,
        JSON.stringify({ ...incident, timeline: [], rev: first + i + j }), e.alarm ? JSON.stringify({ ...e.alarm, timeline: [] }) : null,
        e.response ? JSON.stringify(e.response) : null,
      ].map(sqlLiteral).join(', ')})`);
      script.push(`INSERT INTO ${T.incident_events} (seq, ts, type, incident_id, previous_severity, previous_level, alarm_id, incident, alarm, response)
         VALUES ${rowsOf.join(', ')}`);
    }
    if (alarmSeq !== undefined) script.push(watermarkSql(alarmSeq));
    script.push('COMMIT');
    return script;
  }

  return {
    async recordMany(entries, alarmSeq) {
      open();
      if (entries.length === 0) {
        if (alarmSeq !== undefined) await events.use((c) => c.run(watermarkSql(alarmSeq)));
        return [];
      }
      return events.use(async (c) => {
        const first = (await currentSeq(c)) + 1;
        const records = entries.map((e) => e.incident);
        const write = async (fromIndex: boolean) => {
          const read = await readGroup(c, records, fromIndex);
          checkRevisions(records, read.stored, (id, expected, now) => new IncidentChangedError(id, expected, now));
          checkActiveKeys(entries, read.holderOf);
          try {
            await runScript(c, groupScript(entries, first, read, alarmSeq));
          } catch (err) {
            // A failed statement leaves the script's transaction aborted (or, before BEGIN ran, none open).
            await c.run('ROLLBACK').catch(() => undefined);
            throw err;
          }
        };
        try {
          await write(true);
        } catch (err) {
          if (err instanceof IncidentChangedError || err instanceof ActiveIncidentConflictError) throw err;
          // Nothing of the group is stored; the index is loaded again on the next group. Where the index
          // is what failed it (an incident written without a revision, stored but not known to it, taken
          // for new: the primary key refused it), the group is checked against the tables and written again.
          forget();
          if (!isDuplicatePrimaryKey(err)) throw err;
          await write(false);
        }
        if (index.loaded) {
          const revisions = revisionsOf(records, first);
          const last = new Map(records.map((i) => [i.id, i]));
          index.committed(last.values(), (id) => revisions.get(id) ?? first);
          for (const i of last.values()) rememberMembers(i.id, i.members.map((m) => m.id));
        }
        seq = first + entries.length - 1;
        return entries.map(({ incident, event: e }, i) => ({
          seq: first + i, ts: e.ts, type: e.type, incident: { ...incident, timeline: [], rev: first + i },
          ...(e.previousSeverity ? { previousSeverity: e.previousSeverity } : {}), ...(e.previousLevel ? { previousLevel: e.previousLevel } : {}),
          ...(e.alarm ? { alarm: { ...e.alarm, timeline: [] } } : {}), ...(e.response ? { response: e.response } : {}),
        }));
      });
    },
    async saveAlarmWatermark(alarmSeq) {
      open();
      await events.use((c) => c.run(watermarkSql(alarmSeq)));
    },
    async alarmWatermark() {
      open();
      const r = await conn.query(`SELECT value FROM ${T.incident_meta} WHERE key = $1`, [WATERMARK]);
      return toNumber(r[0]?.value ?? null) ?? 0;
    },
    async get(id) {
      open();
      const r = await conn.query(`SELECT ${cols.join(', ')} FROM ${T.incidents} WHERE id = $1`, [id]);
      return r[0] ? rowToIncident(r[0]) : undefined;
    },
    async findActive(key) {
      open();
      const r = await conn.query(`SELECT ${cols.join(', ')} FROM ${T.incidents} WHERE active_key = $1`, [incidentKey(key)]);
      return r[0] ? rowToIncident(r[0]) : undefined;
    },
    async list(q: IncidentQuery): Promise<Page<Incident>> {
      open();
      const w = where();
      incidentFilters(q, whereBuilder(w), T.incident_members);
      const { rows: page, total } = await newestFirstPage(conn, T.incidents, cols, w, q);
      return { items: page.map(rowToIncident), total };
    },
    async eventsSince(after, limit = 1_000) {
      open();
      const r = await conn.query(`SELECT * FROM ${T.incident_events} WHERE seq > $1 ORDER BY seq LIMIT $2`, [BigInt(Math.max(0, Math.floor(after))), BigInt(limit)]);
      return r.map(rowToEvent);
    },
    async lastSeq() {
      open();
      return events.use(currentSeq);
    },
    async pruneEvents(beforeTs) {
      open();
      return (await events.query(`DELETE FROM ${T.incident_events} WHERE ts < $1 RETURNING seq`, [big(beforeTs)])).length;
    },
    close() {
      closed = true;
      closing ??= deps.release();
      return closing;
    },
  };
}
