import type pg from 'pg';
import { isActive, type Alarm } from '../alarms/contract.js';
import { incidentCols, WATERMARK } from '../embedded/incidents.js';
import {
  ActiveIncidentConflictError, IncidentChangedError, incidentKey, type Incident, type IncidentEvent, type IncidentQuery, type IncidentStore,
} from '../incidents/contract.js';
import type { Page } from '../state/contract.js';
import { ms, pageOf, present, type Queryable, rows, where, whereBuilder } from './connection.js';
import { eventRowsSince, insertChunked, lastSeqOf, pruneBefore, writeGroup, type KeyedLogSpec, type KeyedRecord } from './keyed-log.js';
import type { StoreLifecycle } from './lifecycle.js';
import { incidentFilters } from '../query-filters.js';

/**
 * The IncidentStore on PostgreSQL, with the semantics of the embedded one
 * (storage/embedded/incidents.ts; same columns) and test/storage/incident-store.contract.ts as the
 * judge. One active incident per (site, building, hazard) is the database's rule — the unique
 * partial index `incidents_one_active` — so a kitchen fire whose detectors report to two nodes is
 * one incident whichever node commits first; the other's commit is refused with
 * ActiveIncidentConflictError. The alarm watermark is written in the same transaction as the group.
 */

const spec: KeyedLogSpec = {
  table: 'incidents', cols: incidentCols, oneActiveIndex: 'incidents_one_active',
  events: 'incident_events', eventCols: ['seq', 'ts', 'type', 'incident_id', 'previous_severity', 'previous_level', 'alarm_id', 'incident', 'alarm', 'response'],
  seqName: 'incident_events',
  conflict: (message, cause) => new ActiveIncidentConflictError(`incident ${message}`, cause === undefined ? undefined : { cause }),
  revisions: { changed: (id, expected, stored) => new IncidentChangedError(id, expected, stored) },
};

function record(i: Incident): KeyedRecord {
  const key = incidentKey(i);
  const active = isActive(i.status);
  return {
    id: i.id, key, active, ...(i.rev !== undefined ? { rev: i.rev } : {}),
    values: [
      i.id, i.hazard, i.site, i.building, i.level, i.severity, i.status, ms(i.startTs), ms(i.lastUpdateTs), ms(i.ackTs), ms(i.clearTs),
      i.assignee ?? null, i.escalationLevel, active ? key : null, ms(i.quietSinceTs), JSON.stringify(i.members), JSON.stringify(i.timeline),
      i.proposals && i.proposals.length > 0 ? JSON.stringify(i.proposals) : null,
    ],
  };
}

type Row = Record<string, unknown>;

function rowToIncident(r: Row): Incident {
  return {
    id: String(r.id), hazard: String(r.hazard) as Incident['hazard'], site: String(r.site), building: String(r.building),
    level: String(r.level) as Incident['level'], severity: String(r.severity) as Incident['severity'], status: String(r.status) as Incident['status'],
    startTs: Number(r.start_ts), lastUpdateTs: Number(r.last_update_ts),
    ...present({ ackTs: r.ack_ts as number | null, clearTs: r.clear_ts as number | null, assignee: r.assignee as string | null }),
    escalationLevel: Number(r.escalation_level), ...present({ quietSinceTs: r.quiet_since_ts as number | null }),
    members: r.members as Incident['members'], timeline: r.timeline as Incident['timeline'],
    ...present({ proposals: r.proposals as Incident['proposals'] | null }),
    ...(r.rev === null || r.rev === undefined ? {} : { rev: Number(r.rev) }),
  };
}

function rowToEvent(r: Row): IncidentEvent {
  return {
    seq: Number(r.seq), ts: Number(r.ts), type: String(r.type) as IncidentEvent['type'], incident: r.incident as Incident,
    ...present({
      previousSeverity: r.previous_severity as IncidentEvent['previousSeverity'] | null, previousLevel: r.previous_level as IncidentEvent['previousLevel'] | null,
      alarm: r.alarm as Alarm | null, response: r.response as IncidentEvent['response'] | null,
    }),
  };
}

async function writeWatermark(q: Queryable, alarmSeq: number): Promise<void> {
  // GREATEST: the watermark never moves back, whichever node gets there first.
  await q.query(
    'INSERT INTO incident_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = greatest(incident_meta.value, excluded.value)',
    [WATERMARK, Math.max(0, Math.floor(alarmSeq))],
  );
}

/** Indexes the member alarms not indexed yet: an incident's members only ever grow. */
async function indexMembers(c: pg.PoolClient, incidents: readonly Incident[]): Promise<void> {
  const known = new Set((await rows<{ alarm_id: string }>(c, 'SELECT alarm_id FROM incident_members WHERE incident_id = ANY($1::text[])',
    [incidents.map((i) => i.id)])).map((r) => r.alarm_id));
  const members = incidents.flatMap((i) => i.members.filter((m) => !known.has(m.id)).map((m) => [m.id, i.id]));
  await insertChunked(c, 'incident_members', ['alarm_id', 'incident_id'], members, 'ON CONFLICT (alarm_id) DO NOTHING');
}

const withoutTimeline = <T extends { timeline: unknown }>(x: T): T => ({ ...x, timeline: [] });

export function createPostgresIncidentStore(deps: { pool: pg.Pool; life: StoreLifecycle }): IncidentStore {
  const { pool, life } = deps;
  const open = () => life.open('incident');

  return {
    async recordMany(entries, alarmSeq) {
      open();
      if (entries.length === 0) {
        if (alarmSeq !== undefined) await writeWatermark(pool, alarmSeq);
        return [];
      }
      const byId = new Map(entries.map((e) => [e.incident.id, e.incident]));
      const first = await writeGroup(pool, spec, entries.map((e) => record(e.incident)), (start) => entries.map(({ incident, event: e }, i) => [
        start + i, ms(e.ts), e.type, incident.id, e.previousSeverity ?? null, e.previousLevel ?? null, e.alarm?.id ?? null,
        JSON.stringify({ ...withoutTimeline(incident), rev: start + i }), e.alarm ? JSON.stringify(withoutTimeline(e.alarm)) : null,
        e.response ? JSON.stringify(e.response) : null,
      ]), async (c) => {
        await indexMembers(c, [...byId.values()]);
        if (alarmSeq !== undefined) await writeWatermark(c, alarmSeq);
      });
      return entries.map(({ incident, event: e }, i) => ({
        seq: first + i, ts: e.ts, type: e.type, incident: { ...withoutTimeline(incident), rev: first + i },
        ...(e.previousSeverity ? { previousSeverity: e.previousSeverity } : {}), ...(e.previousLevel ? { previousLevel: e.previousLevel } : {}),
        ...(e.alarm ? { alarm: withoutTimeline(e.alarm) } : {}), ...(e.response ? { response: e.response } : {}),
      }));
    },
    async saveAlarmWatermark(alarmSeq) {
      open();
      await writeWatermark(pool, alarmSeq);
    },
    async alarmWatermark() {
      open();
      return (await rows<{ value: number }>(pool, 'SELECT value FROM incident_meta WHERE key = $1', [WATERMARK]))[0]?.value ?? 0;
    },
    async get(id) {
      open();
      const r = await rows(pool, `SELECT ${incidentCols.join(', ')} FROM incidents WHERE id = $1`, [id]);
      return r[0] ? rowToIncident(r[0]) : undefined;
    },
    async findActive(key) {
      open();
      const r = await rows(pool, `SELECT ${incidentCols.join(', ')} FROM incidents WHERE active_key = $1`, [incidentKey(key)]);
      return r[0] ? rowToIncident(r[0]) : undefined;
    },
    async list(q: IncidentQuery): Promise<Page<Incident>> {
      open();
      const w = where();
      incidentFilters(q, whereBuilder(w));
      const { rows: found, total } = await pageOf<Row>(pool, 'incidents', incidentCols.join(', '), w, 'start_ts DESC, id', q);
      return { items: found.map(rowToIncident), total };
    },
    async eventsSince(after, limit = 1_000) {
      open();
      return (await eventRowsSince<Row>(pool, 'incident_events', after, limit)).map(rowToEvent);
    },
    async lastSeq() {
      open();
      return lastSeqOf(pool, 'incident_events');
    },
    async pruneEvents(beforeTs) {
      open();
      return pruneBefore(pool, 'incident_events', beforeTs);
    },
    close: () => life.release('incident'),
  };
}
