import type pg from 'pg';
import {
  ActiveAlarmConflictError, AlarmChangedError, alarmKey, isActive, type Alarm, type AlarmEvent, type AlarmQuery, type AlarmRecordEntry, type AlarmStore,
  type Severity,
} from '../alarms/contract.js';
import type { Page } from '../state/contract.js';
import { ms, pageOf, present, rows, transaction, where, whereBuilder } from './connection.js';
import { eventRowsSince, insertChunked, lastSeqOf, pruneBefore, writeGroup, type KeyedLogSpec, type KeyedRecord } from './keyed-log.js';
import type { StoreLifecycle } from './lifecycle.js';
import { alarmCols, RULES_CONFIG_KEY } from '../embedded/alarms.js';
import { alarmFilters } from '../query-filters.js';

/**
 * The AlarmStore on PostgreSQL, with the semantics of the embedded one (storage/embedded/alarms.ts)
 * and the contract suite (test/storage/alarm-store.contract.ts) as the judge. One active alarm per
 * (originator, type, site) is the database's rule — the unique partial index `alarms_one_active` —
 * so two nodes raising the same alarm at once cannot both commit; seqs come from a counter row
 * shared by every node (storage/postgres/keyed-log.ts).
 *
 * The rules configuration (`PUT /api/rules`) is one row of rule_state under the embedded store's
 * RULES_CONFIG_KEY, and the columns are the embedded store's: one schema, two engines.
 */

const spec: KeyedLogSpec = {
  table: 'alarms', cols: alarmCols, oneActiveIndex: 'alarms_one_active',
  events: 'alarm_events', eventCols: ['seq', 'ts', 'type', 'alarm_id', 'previous_severity', 'alarm'], seqName: 'alarm_events',
  conflict: (message, cause) => new ActiveAlarmConflictError(`alarm ${message}`, cause === undefined ? undefined : { cause }),
  revisions: { changed: (id, expected, stored) => new AlarmChangedError(id, expected, stored) },
};

const keyOf = (a: Alarm) => alarmKey({ originator: a.originator, type: a.type, site: a.site });

function record(a: Alarm): KeyedRecord {
  const key = keyOf(a);
  const active = isActive(a.status);
  return {
    id: a.id, key, active, ...(a.rev !== undefined ? { rev: a.rev } : {}),
    values: [
      a.id, a.type, a.originator.kind, a.originator.id, a.site, a.building, a.severity, a.status, ms(a.startTs), ms(a.lastUpdateTs),
      ms(a.ackTs), ms(a.clearTs), a.assignee ?? null, a.escalationLevel, a.count, active ? key : null, JSON.stringify(a.details), JSON.stringify(a.timeline),
    ],
  };
}

type Row = Record<string, unknown>;

function rowToAlarm(r: Row): Alarm {
  return {
    id: String(r.id), type: String(r.type),
    originator: { kind: String(r.originator_kind) as Alarm['originator']['kind'], id: String(r.originator_id) },
    site: String(r.site), building: String(r.building), severity: String(r.severity) as Alarm['severity'], status: String(r.status) as Alarm['status'],
    startTs: Number(r.start_ts), lastUpdateTs: Number(r.last_update_ts),
    ...present({ ackTs: r.ack_ts as number | null, clearTs: r.clear_ts as number | null, assignee: r.assignee as string | null }),
    escalationLevel: Number(r.escalation_level), count: Number(r.count),
    details: r.details as Alarm['details'], timeline: r.timeline as Alarm['timeline'],
    ...(r.rev === null || r.rev === undefined ? {} : { rev: Number(r.rev) }),
  };
}

function rowToEvent(r: Row): AlarmEvent {
  return {
    seq: Number(r.seq), ts: Number(r.ts), type: String(r.type) as AlarmEvent['type'], alarm: r.alarm as Alarm,
    ...present({ previousSeverity: r.previous_severity as Severity | null }),
  };
}

export function createPostgresAlarmStore(deps: { pool: pg.Pool; life: StoreLifecycle }): AlarmStore {
  const { pool, life } = deps;
  const open = () => life.open('alarm');

  const recordMany = async (entries: readonly AlarmRecordEntry[]): Promise<AlarmEvent[]> => {
    open();
    if (entries.length === 0) return [];
    const first = await writeGroup(pool, spec, entries.map((e) => record(e.alarm)), (start) => entries.map(({ alarm, event: ev }, i) => [
      start + i, ms(ev.ts), ev.type, alarm.id, ev.previousSeverity ?? null, JSON.stringify({ ...alarm, rev: start + i }),
    ]));
    return entries.map(({ alarm, event: ev }, i) => ({
      seq: first + i, ts: ev.ts, type: ev.type, alarm: { ...alarm, rev: first + i }, ...(ev.previousSeverity ? { previousSeverity: ev.previousSeverity } : {}),
    }));
  };

  return {
    async record(alarm, ev) {
      const [out] = await recordMany([{ alarm, event: ev }]);
      if (!out) throw new Error('alarm event was not recorded');
      return out;
    },
    recordMany,
    async get(id) {
      open();
      const r = await rows(pool, `SELECT ${alarmCols.join(', ')} FROM alarms WHERE id = $1`, [id]);
      return r[0] ? rowToAlarm(r[0]) : undefined;
    },
    async findActive(key) {
      open();
      const r = await rows(pool, `SELECT ${alarmCols.join(', ')} FROM alarms WHERE active_key = $1`, [alarmKey(key)]);
      return r[0] ? rowToAlarm(r[0]) : undefined;
    },
    async list(q: AlarmQuery): Promise<Page<Alarm>> {
      open();
      const w = where();
      alarmFilters(q, whereBuilder(w));
      const { rows: found, total } = await pageOf<Row>(pool, 'alarms', alarmCols.join(', '), w, 'start_ts DESC, id', q);
      return { items: found.map(rowToAlarm), total };
    },
    async eventsSince(after, limit = 1_000) {
      open();
      return (await eventRowsSince<Row>(pool, 'alarm_events', after, limit)).map(rowToEvent);
    },
    async lastSeq() {
      open();
      return lastSeqOf(pool, 'alarm_events');
    },
    async pruneEvents(beforeTs) {
      open();
      return pruneBefore(pool, 'alarm_events', beforeTs);
    },
    async loadRuleState(keys) {
      open();
      const r = keys === undefined
        ? await rows<{ key: string; value: unknown }>(pool, 'SELECT key, value FROM rule_state WHERE key <> $1', [RULES_CONFIG_KEY])
        : await rows<{ key: string; value: unknown }>(pool, 'SELECT key, value FROM rule_state WHERE key <> $1 AND key = ANY($2::text[])', [RULES_CONFIG_KEY, keys]);
      return new Map(r.map((x) => [x.key, x.value]));
    },
    async saveRuleState(changes) {
      open();
      if (changes.size === 0) return;
      const entries = [...changes];
      const gone = entries.filter(([, v]) => v === undefined).map(([k]) => k);
      const kept = entries.filter(([, v]) => v !== undefined).map(([k, v]) => [k, JSON.stringify(v)]);
      await transaction(pool, async (c) => {
        if (gone.length) await c.query('DELETE FROM rule_state WHERE key = ANY($1::text[])', [gone]);
        await insertChunked(c, 'rule_state', ['key', 'value'], kept, 'ON CONFLICT (key) DO UPDATE SET value = excluded.value');
      });
    },
    async loadRulesConfig() {
      open();
      return (await rows<{ value: unknown }>(pool, 'SELECT value FROM rule_state WHERE key = $1', [RULES_CONFIG_KEY]))[0]?.value;
    },
    async saveRulesConfig(config) {
      open();
      await pool.query('INSERT INTO rule_state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [
        RULES_CONFIG_KEY, JSON.stringify(config),
      ]);
    },
    close: () => life.release('alarm'),
  };
}
