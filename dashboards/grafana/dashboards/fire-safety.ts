import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { anjuDashboard, finish, stat, table, timeseries } from '../common.js';
import { field, influxql, INTERVAL, mainField, select } from '../influxql.js';

/** Fire safety: smoke obscuration, temperature and CO of the smoke detectors, by building. */
export function fireSafetyDashboard(): Dashboard {
  const kind = 'smoke_detector' as const;
  const smoke = mainField(kind);
  const temperature = field(kind, 'temperature');
  const co = field(kind, 'co');
  const battery = field(kind, 'battery');
  const byBuilding = (agg: string, f: string) =>
    influxql(select({ kind, select: [`${agg}(${f})`], groupByTime: INTERVAL, groupByTags: ['building'] })).alias('$tag_building');

  return finish(
    anjuDashboard('anju-fire-safety', 'Anju · Fire safety 消防安全', ['fire', 'smoke_detector'])
      .description('Smoke detectors (GB 4715 / EN 54-7) by building: obscuration, heat and CO. Alarms live in Anju, not InfluxDB: see the control room.')
      .withPanel(stat('Highest smoke 最高烟雾浓度', 'dB/m', [influxql(select({ kind, select: [`max(${smoke})`] }))], 'max'))
      .withPanel(stat('Highest temperature 最高温度', 'celsius', [influxql(select({ kind, select: [`max(${temperature})`] }))], 'max'))
      .withPanel(stat('Highest CO 最高一氧化碳', 'ppm', [influxql(select({ kind, select: [`max(${co})`] }))], 'max'))
      .withPanel(stat('Lowest battery 最低电量', 'percent', [influxql(select({ kind, select: [`min(${battery})`] }))], 'min'))
      .withPanel(timeseries('Smoke obscuration by building (max) 各楼烟雾浓度', 'dB/m', [byBuilding('max', smoke)]))
      .withPanel(timeseries('Temperature by building (max) 各楼温度', 'celsius', [byBuilding('max', temperature)]))
      .withPanel(timeseries('CO by building (max) 各楼一氧化碳', 'ppm', [byBuilding('max', co)]))
      .withPanel(timeseries('Smoke obscuration by detector 各探测器烟雾浓度', 'dB/m', [
        influxql(select({ kind, select: [`max(${smoke})`], groupByTime: INTERVAL, groupByTags: ['device'] })).alias('$tag_device'),
      ]))
      .withPanel(table('Latest reading per detector 各探测器最新读数', [
        influxql(select({
          kind,
          select: [`last(${smoke}) AS "smoke"`, `last(${temperature}) AS "temperature"`, `last(${co}) AS "co"`, `last(${battery}) AS "battery"`],
          groupByTags: ['building', 'device'],
        })).resultFormat('table'),
      ])),
  );
}
