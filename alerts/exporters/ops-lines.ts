import { escape } from '@influxdata/influxdb-client';
import { alarmEventMeasurement as ev, fleetStatusMeasurement as st, severities } from '../../core/index.js';
import type { AlarmEvent } from '../contracts.js';
import type { StatusRow } from './status.js';

/**
 * Alarm events and fleet status → InfluxDB line protocol (nanosecond timestamps), with the names of
 * `core/ops-metrics.ts`. Pure: the exporter sends what these return.
 */


const tag = escape.tag;
/** A string field value, quoted and escaped. */
const str = (v: string) => escape.quoted(v);
const NS_PER_MS = 1_000_000n;

/**
 * Time of an event's point: its ms time plus (seq mod 10⁶) ns. Events of one series within one
 * millisecond (a tick raising `offline` for a whole building at once) stay distinct points, and a
 * replay of the same event lands on the same point (InfluxDB overwrites: same series and time).
 */
export function eventTimeNs(e: Pick<AlarmEvent, 'ts' | 'seq'>): bigint {
  return BigInt(e.ts) * NS_PER_MS + BigInt(e.seq % 1_000_000);
}

export function eventLine(e: AlarmEvent): string {
  const a = e.alarm;
  const t = ev.tags;
  const f = ev.fields;
  // Tags sorted by key (InfluxDB's advice for write performance).
  const tags = [
    [t.building, a.building], [t.event, e.type], [t.originator, a.originator.id], [t.severity, a.severity], [t.site, a.site], [t.type, a.type],
  ].sort((x, y) => (x[0]! < y[0]! ? -1 : 1)).map(([k, v]) => `${tag(k!)}=${tag(v!)}`).join(',');
  const fields = [
    `${f.alarm}=${str(a.id)}`,
    `${f.count}=${a.count}i`,
    `${f.escalationLevel}=${a.escalationLevel}i`,
    ...(e.previousSeverity ? [`${f.previousSeverity}=${str(e.previousSeverity)}`] : []),
    `${f.seq}=${e.seq}i`,
    `${f.status}=${str(a.status)}`,
  ].join(',');
  return `${escape.measurement(ev.name)},${tags} ${fields} ${eventTimeNs(e)}`;
}

export function statusLine(row: StatusRow, ts: number): string {
  const f = st.fields;
  const fields: Array<[string, number]> = [
    [f.alarmsActive, row.alarmsActive],
    [f.alarmsUnacked, row.alarmsUnacked],
    ...severities.map((s): [string, number] => [st.activeBySeverity[s], row.bySeverity[s]]),
    [f.devicesTotal, row.devicesTotal],
    [f.devicesOnline, row.devicesOnline],
    [f.devicesOffline, row.devicesOffline],
    [f.devicesNeverReported, row.devicesNeverReported],
  ];
  const body = fields.map(([k, v]) => `${k}=${v}i`).join(',');
  return `${escape.measurement(st.name)},${st.tags.building}=${tag(row.building)},${st.tags.site}=${tag(row.site)} ${body} ${BigInt(ts) * NS_PER_MS}`;
}
