import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { isActive } from '../alarms/contract.js';
import type { Page } from '../state/contract.js';
import {
  ActiveIncidentConflictError, IncidentChangedError, incidentKey, type Incident, type IncidentEvent, type IncidentQuery, type IncidentRecordEntry,
  type IncidentStore,
} from '../incidents/contract.js';
import { DatabaseClosedError, toNumber, type SerialConnection } from './connection.js';
import { big, inList, newestFirstPage, type Row, rows, storedRevisions, where, whereBuilder } from './sql.js';
import { incidentFilters } from '../query-filters.js';
import { checkRevisions, idsToCheck, revisionsOf } from '../revisions.js';

/**
 * The IncidentStore on the embedded database (tables of migration 5: incidents, incident_events,
 * incident_members, incident_meta), on two connections:
 * - `events` (its own: an incident commit never delays an alarm commit): `recordMany`, the watermark and pruning — one
 *   transaction per call, strictly in order, which keeps `seq` gap-free and makes the
 *   one-active-incident-per-key check atomic with the write;
 * - `conn` (the state connection): reads.
 *
 * As for alarms, `active_key` holds the key while the incident is active and NULL after, checked
 * by the store itself rather than a UNIQUE index (DuckDB checks index constraints eagerly on
 * UPDATE, which misfires on rows updated back and forth); each incident is upserted once per group.
 * `incident_members` maps every alarm to its incident (an alarm joins one incident, once).
 */

const cols = [
  'id', 'hazard', 'site', 'building', 'level', 'severity', 'status', 'start_ts', 'last_update_ts', 'ack_ts', 'clear_ts', 'assignee',
  'escalation_level', 'active_key', 'quiet_since_ts', 'members', 'timeline', 'proposals', 'rev',
] as const;

/** The columns, shared with the PostgreSQL store (one schema, two engines). */
export const incidentCols = cols;

const ROWS_PER_STATEMENT = 100;
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
  const currentSeq = async (c: DuckDBConnection) => (seq ??= toNumber((await rows(c, 'SELECT coalesce(max(seq), 0) AS s FROM incident_events'))[0]?.s ?? null) ?? 0);

  async function checkActiveKeys(c: DuckDBConnection, entries: readonly IncidentRecordEntry[]): Promise<void> {
    const keys = [...new Set(entries.map((e) => incidentKey(e.incident)))];
    const holder = new Map<string, string>();
    for (let i = 0; i < keys.length; i += 500) {
      const params: DuckDBValue[] = [];
      for (const r of await rows(c, `SELECT id, active_key FROM incidents WHERE ${inList('active_key', keys.slice(i, i + 500), params)}`, params)) {
        holder.set(String(r.active_key), String(r.id));
      }
    }
    for (const { incident } of entries) {
      const key = incidentKey(incident);
      const other = holder.get(key);
      if (isActive(incident.status)) {
        if (other !== undefined && other !== incident.id) throw new ActiveIncidentConflictError(`incident ${other} is already active for ${key}`);
        holder.set(key, incident.id);
      } else if (other === incident.id) {
        holder.delete(key);
      }
    }
  }

  async function writeWatermark(c: DuckDBConnection, alarmSeq: number): Promise<void> {
    // GREATEST: the watermark never moves back, whichever writer gets there first.
    await c.run(
      `INSERT INTO incident_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = greatest(incident_meta.value, excluded.value)`,
      [WATERMARK, BigInt(Math.max(0, Math.floor(alarmSeq)))],
    );
  }

  async function writeGroup(c: DuckDBConnection, entries: readonly IncidentRecordEntry[], first: number): Promise<void> {
    const records = entries.map((e) => e.incident);
    const checked = idsToCheck(records);
    if (checked.length > 0) checkRevisions(records, await storedRevisions(c, 'incidents', checked), (id, expected, now) => new IncidentChangedError(id, expected, now));
    const revisions = revisionsOf(records, first);
    await checkActiveKeys(c, entries);
    const last = new Map<string, Incident>();
    for (const { incident } of entries) last.set(incident.id, incident);
    const incidents = [...last.values()];
    const n = cols.length;
    for (let i = 0; i < incidents.length; i += ROWS_PER_STATEMENT) {
      const chunk = incidents.slice(i, i + ROWS_PER_STATEMENT);
      await c.run(
        `INSERT INTO incidents (${cols.join(', ')}) VALUES ${chunk.map((_, j) => `(${cols.map((__, k) => `$${j * n + k + 1}`).join(', ')})`).join(', ')}
         ON CONFLICT (id) DO UPDATE SET ${cols.slice(1).map((col) => `${col} = excluded.${col}`).join(', ')}`,
        chunk.flatMap((x) => values(x, revisions.get(x.id) ?? first)),
      );
    }
    // Only the alarms not indexed yet: an incident's members only ever grow, and rewriting the index on every change would grow with them.
    const known = new Set<string>();
    for (let i = 0; i < incidents.length; i += 500) {
      const params: DuckDBValue[] = [];
      const ids = incidents.slice(i, i + 500).map((x) => x.id);
      for (const r of await rows(c, `SELECT alarm_id FROM incident_members WHERE ${inList('incident_id', ids, params)}`, params)) known.add(String(r.alarm_id));
    }
    const members = incidents.flatMap((i) => i.members.filter((m) => !known.has(m.id)).map((m) => [m.id, i.id] as const));
    for (let i = 0; i < members.length; i += ROWS_PER_STATEMENT) {
      const chunk = members.slice(i, i + ROWS_PER_STATEMENT);
      await c.run(
        `INSERT INTO incident_members (alarm_id, incident_id) VALUES ${chunk.map((_, j) => `($${2 * j + 1}, $${2 * j + 2})`).join(', ')} ON CONFLICT (alarm_id) DO NOTHING`,
        chunk.flatMap(([a, inc]) => [a, inc]),
      );
    }
    const ev = 10;
    for (let i = 0; i < entries.length; i += ROWS_PER_STATEMENT) {
      const chunk = entries.slice(i, i + ROWS_PER_STATEMENT);
      await c.run(
        `INSERT INTO incident_events (seq, ts, type, incident_id, previous_severity, previous_level, alarm_id, incident, alarm, response)
         VALUES ${chunk.map((_, j) => `(${Array.from({ length: ev }, (__, k) => `$${j * ev + k + 1}`).join(', ')})`).join(', ')}`,
        chunk.flatMap(({ incident, event: e }, j) => [
          BigInt(first + i + j), big(e.ts), e.type, incident.id, e.previousSeverity ?? null, e.previousLevel ?? null, e.alarm?.id ?? null,
          JSON.stringify({ ...incident, timeline: [], rev: first + i + j }), e.alarm ? JSON.stringify({ ...e.alarm, timeline: [] }) : null,
          e.response ? JSON.stringify(e.response) : null,
        ]),
      );
    }
  }

  return {
    async recordMany(entries, alarmSeq) {
      open();
      if (entries.length === 0) {
        if (alarmSeq !== undefined) await events.use((c) => writeWatermark(c, alarmSeq));
        return [];
      }
      return events.use(async (c) => {
        const first = (await currentSeq(c)) + 1;
        await c.run('BEGIN TRANSACTION');
        try {
          await writeGroup(c, entries, first);
          if (alarmSeq !== undefined) await writeWatermark(c, alarmSeq);
          await c.run('COMMIT');
        } catch (err) {
          await c.run('ROLLBACK').catch(() => undefined);
          throw err;
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
      await events.use((c) => writeWatermark(c, alarmSeq));
    },
    async alarmWatermark() {
      open();
      const r = await conn.query('SELECT value FROM incident_meta WHERE key = $1', [WATERMARK]);
      return toNumber(r[0]?.value ?? null) ?? 0;
    },
    async get(id) {
      open();
      const r = await conn.query(`SELECT ${cols.join(', ')} FROM incidents WHERE id = $1`, [id]);
      return r[0] ? rowToIncident(r[0]) : undefined;
    },
    async findActive(key) {
      open();
      const r = await conn.query(`SELECT ${cols.join(', ')} FROM incidents WHERE active_key = $1`, [incidentKey(key)]);
      return r[0] ? rowToIncident(r[0]) : undefined;
    },
    async list(q: IncidentQuery): Promise<Page<Incident>> {
      open();
      const w = where();
      incidentFilters(q, whereBuilder(w));
      const { rows: page, total } = await newestFirstPage(conn, 'incidents', cols, w, q);
      return { items: page.map(rowToIncident), total };
    },
    async eventsSince(after, limit = 1_000) {
      open();
      const r = await conn.query('SELECT * FROM incident_events WHERE seq > $1 ORDER BY seq LIMIT $2', [BigInt(Math.max(0, Math.floor(after))), BigInt(limit)]);
      return r.map(rowToEvent);
    },
    async lastSeq() {
      open();
      return events.use(currentSeq);
    },
    async pruneEvents(beforeTs) {
      open();
      return (await events.query('DELETE FROM incident_events WHERE ts < $1 RETURNING seq', [big(beforeTs)])).length;
    },
    close() {
      closed = true;
      closing ??= deps.release();
      return closing;
    },
  };
}
