/**
 * Operations metrics in InfluxDB: the alarm event log and the fleet status gauge that the alarm &
 * fleet status exporter (`alerts/exporters/`) writes when `ANJU_STORE=influxdb`, and that the
 * control-room overview dashboard (`dashboards/grafana/dashboards/overview.ts`) reads. Every
 * measurement, tag and field name is defined here once (DESIGN §2: names come from core).
 *
 * `anju_alarm_event`: one point per stored alarm event (the alarm store's event log, in seq order).
 *   tags   site, building, type (alarm type: smoke, offline, bin_fill …), severity (after the event),
 *          event (raised, updated, acked, assigned, commented, cleared, escalated),
 *          originator (the device id, or the building id for building-level alarms)
 *   fields seq (integer, the store's gap-free event seq: the exporter's resume cursor), alarm (id),
 *          status, count (integer), escalation_level (integer), previous_severity (only on upgrades)
 *   time   the event's time (ms) plus (seq mod 10⁶) ns: unique per event within its series, and
 *          the same on every replay, so a replay overwrites the point instead of adding one.
 *
 * `anju_fleet_status`: one point per site and building every status interval (default 60 s).
 *   tags   site, building
 *   fields alarms_active, alarms_unacked, alarms_<severity> (active alarms by severity),
 *          devices_total, devices_online, devices_offline, devices_never_reported (all integers)
 *   Connectivity is what the alerts engine believes (alerts/connectivity.ts, as in the built-in
 *   control room): offline = an active `offline` alarm; never reported = no alarm and no reading
 *   yet (the offline rule raises one after its grace); online = the rest. The three add up to total.
 */

import { severities, type Severity } from './alarms.js';


export const alarmEventMeasurement = {
  name: 'anju_alarm_event',
  tags: { site: 'site', building: 'building', type: 'type', severity: 'severity', event: 'event', originator: 'originator' },
  fields: {
    seq: 'seq',
    alarm: 'alarm',
    status: 'status',
    count: 'count',
    escalationLevel: 'escalation_level',
    previousSeverity: 'previous_severity',
  },
} as const;

const activeBySeverity = Object.fromEntries(severities.map((s) => [s, `alarms_${s}`])) as { readonly [S in Severity]: `alarms_${S}` };

export const fleetStatusMeasurement = {
  name: 'anju_fleet_status',
  tags: { site: 'site', building: 'building' },
  fields: {
    alarmsActive: 'alarms_active',
    alarmsUnacked: 'alarms_unacked',
    devicesTotal: 'devices_total',
    devicesOnline: 'devices_online',
    devicesOffline: 'devices_offline',
    devicesNeverReported: 'devices_never_reported',
  },
  /** Active alarms of one severity: `alarms_critical`, `alarms_major`, … */
  activeBySeverity,
} as const;

export const opsMeasurements = { alarmEvent: alarmEventMeasurement, fleetStatus: fleetStatusMeasurement } as const;
export type OpsMeasurementName = keyof typeof opsMeasurements;
