import type { AlarmQuery } from './alarms/contract.js';
import type { IncidentQuery } from './incidents/contract.js';

/**
 * What a list query filters on, written once for every SQL store: each dialect (storage/embedded/sql.ts
 * for DuckDB, storage/postgres/connection.ts for PostgreSQL) supplies only how a condition is spelt.
 * A filter added to a query type is added here, so no store can answer it unfiltered.
 */
export interface WhereBuilder {
  /** `col = value`, when the value is given. */
  eq(col: string, v: string | undefined): void;
  /** `col` in one value or a list, when given; an empty list matches nothing. */
  in(col: string, v: string | readonly string[] | undefined): void;
  /** A condition with one bound value; `cond` receives its placeholder (`$n`). */
  bound(v: string, cond: (placeholder: string) => string): void;
}

export function alarmFilters(q: AlarmQuery, w: WhereBuilder): void {
  w.in('status', q.status);
  w.in('severity', q.severity);
  w.in('site', q.sites);
  w.eq('type', q.type);
  w.eq('site', q.site);
  w.eq('building', q.building);
  w.eq('originator_id', q.originatorId);
}

/** `membersTable`: where the incident members are (the embedded store qualifies it: storage/embedded/alarm-file.ts). */
export function incidentFilters(q: IncidentQuery, w: WhereBuilder, membersTable = 'incident_members'): void {
  w.in('status', q.status);
  w.in('severity', q.severity);
  w.in('hazard', q.hazard);
  w.in('level', q.level);
  w.eq('site', q.site);
  w.in('site', q.sites);
  w.eq('building', q.building);
  w.eq('assignee', q.assignee);
  if (q.alarmId !== undefined) w.bound(q.alarmId, (p) => `id IN (SELECT incident_id FROM ${membersTable} WHERE alarm_id = ${p})`);
}
