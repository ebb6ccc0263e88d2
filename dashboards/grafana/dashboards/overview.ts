import { BigValueColorMode, GraphDrawStyle, StackingConfigBuilder, StackingMode } from '@grafana/grafana-foundation-sdk/common';
import { ThresholdsConfigBuilder, ThresholdsMode, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { severities, type Severity } from '../../../core/alarms.js';
import { severityNames } from '../../../core/labels.js';
import { fleetStatusMeasurement as ST, alarmEventMeasurement as EV } from '../../../core/ops-metrics.js';
import { anjuDashboard, finish, stat, table, timeseries } from '../common.js';
import { ident, influxql, INTERVAL, opsField, select, subquery, tagEquals } from '../influxql.js';

/**
 * Control-room overview: active alarms by severity, devices offline, alarms over time, and the
 * latest alarm events. Alarms and device status are not telemetry: the alarm & fleet status
 * exporter (alerts/exporters/influxdb.ts, `ANJU_STORE=influxdb`) writes them to InfluxDB, with the
 * names of core/ops-metrics.ts —
 * `anju_alarm_event` (one point per alarm event) and `anju_fleet_status` (one point per building
 * every ANJU_OPS_STATUS_INTERVAL_S, default 60 s).
 *
 * "Now" panels (stats, the buildings table) take each building's latest status point of the last
 * 10 minutes and sum the buildings: a dead exporter then shows "No data", never a stale "0 critical".
 * 10 minutes holds ten points at the default 60 s interval; an ANJU_OPS_STATUS_INTERVAL_S above
 * about 5 minutes needs a wider NOW window here.
 * A device counts as offline while the alerts engine holds an `offline` alarm for it; one not heard
 * from yet is "never reported" (alerts/connectivity.ts, core/ops-metrics.ts).
 */

/** Severity colours of the built-in control room (red, orange, yellow, blue), so both screens agree. */
const severityColour: Readonly<Record<Severity, string>> = { critical: 'red', major: 'orange', minor: 'yellow', warning: 'blue' };
const severityZh = severityNames['zh-CN'];

const status = 'fleetStatus' as const;
const events = 'alarmEvent' as const;
const f = (name: string) => opsField(status, name);
const n = ident('n');

/** Sum over the buildings of each building's latest value of a status field. */
const latestSum = (field: string) =>
  subquery({ from: select({ ops: status, select: [`last(${f(field)}) AS ${n}`], groupByTags: ['building'] }), select: [`sum(${n})`] });

/** Over time: per interval, the sum over the buildings of each building's last value. */
const sumOverTime = (fields: readonly string[]) =>
  subquery({
    from: select({ ops: status, select: fields.map((x) => `last(${f(x)}) AS ${ident(x)}`), groupByTime: INTERVAL, groupByTags: ['building'] }),
    select: fields.map((x) => `sum(${ident(x)}) AS ${ident(x)}`),
    timeFilter: true, groupByTime: INTERVAL,
  });

/** Window of the "now" panels (see above). */
const NOW = '10m';

const thresholds = (colour: string) => new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([{ value: null, color: 'green' }, { value: 1, color: colour }]);

export function overviewDashboard(): Dashboard {
  const severityStat = (s: Severity) =>
    stat(`Active ${s} 活动${severityZh[s]}告警`, 'none', [influxql(latestSum(ST.activeBySeverity[s]))]).timeFrom(NOW)
      .colorMode(BigValueColorMode.Background).thresholds(thresholds(severityColour[s]));
  const seq = opsField(events, EV.fields.seq);
  const eventColumns = [EV.tags.building, EV.tags.type, EV.tags.severity, EV.tags.event, EV.tags.originator].map(ident);

  return finish(
    anjuDashboard('anju-overview', 'Anju · Control room overview 监控中心总览', ['overview', 'alarms', 'fleet'])
      .description('Active alarms by severity, devices offline and alarm activity. Needs ANJU_STORE=influxdb: the alarm & fleet status exporter writes these measurements.')
      .time({ from: 'now-24h', to: 'now' })
      .refresh('30s')
      .withPanel(severityStat('critical'))
      .withPanel(severityStat('major'))
      .withPanel(severityStat('minor'))
      .withPanel(severityStat('warning'))
      .withPanel(stat('Unacknowledged alarms 未确认告警', 'none', [influxql(latestSum(ST.fields.alarmsUnacked))]).timeFrom(NOW)
        .colorMode(BigValueColorMode.Background).thresholds(thresholds('red')))
      .withPanel(stat('Devices offline 离线设备', 'none', [influxql(latestSum(ST.fields.devicesOffline))]).timeFrom(NOW)
        .colorMode(BigValueColorMode.Background).thresholds(thresholds('orange')))
      .withPanel(stat('Never reported 从未上报', 'none', [influxql(latestSum(ST.fields.devicesNeverReported))]).timeFrom(NOW))
      .withPanel(stat('Devices online 在线设备', 'none', [influxql(latestSum(ST.fields.devicesOnline))]).timeFrom(NOW))
      .withPanel(timeseries('Alarms raised by severity 新告警（按级别）', 'none', [
        influxql(select({
          ops: events, select: [`count(${seq})`], where: [tagEquals(EV.tags.event, 'raised')], groupByTime: INTERVAL, groupByTags: [EV.tags.severity], fill: '0',
        })).alias('$tag_severity'),
      ]).drawStyle(GraphDrawStyle.Bars).stacking(new StackingConfigBuilder().mode(StackingMode.Normal)))
      .withPanel(timeseries('Active alarms by severity 活动告警（按级别）', 'none', [
        influxql(sumOverTime(severities.map((s) => ST.activeBySeverity[s]))),
      ]).stacking(new StackingConfigBuilder().mode(StackingMode.Normal)))
      .withPanel(timeseries('Devices offline 离线设备数', 'none', [influxql(sumOverTime([ST.fields.devicesOffline, ST.fields.devicesNeverReported]))]))
      .withPanel(timeseries('Alarm activity by event 告警处置动态', 'none', [
        influxql(select({ ops: events, select: [`count(${seq})`], groupByTime: INTERVAL, groupByTags: [EV.tags.event], fill: '0' })).alias('$tag_event'),
      ]).drawStyle(GraphDrawStyle.Bars))
      .withPanel(table('Buildings now 各楼栋现状', [
        influxql(select({
          ops: status,
          select: [
            ST.fields.alarmsActive, ST.fields.alarmsUnacked, ...severities.map((s) => ST.activeBySeverity[s]),
            ST.fields.devicesTotal, ST.fields.devicesOnline, ST.fields.devicesOffline, ST.fields.devicesNeverReported,
          ].map((x) => `last(${f(x)}) AS ${ident(x)}`),
          groupByTags: ['building'],
        })).resultFormat('table'),
      ]).span(12).timeFrom(NOW))
      .withPanel(table('Alarms raised by type 告警类型统计', [
        influxql(select({ ops: events, select: [`count(${seq}) AS ${ident('raised')}`], where: [tagEquals(EV.tags.event, 'raised')], groupByTags: [EV.tags.type, EV.tags.severity] }))
          .resultFormat('table'),
      ]).span(12))
      .withPanel(table('Latest alarm events 最新告警事件', [
        influxql(select({
          ops: events,
          select: [...eventColumns, ...[EV.fields.status, EV.fields.count, EV.fields.escalationLevel, EV.fields.seq].map((x) => opsField(events, x))],
          newestFirst: true, limit: 100,
        })).resultFormat('table'),
      ])),
  );
}
