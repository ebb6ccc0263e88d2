import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { anjuDashboard, finish, stat, table, timeseries } from '../common.js';
import { field, influxql, INTERVAL, mainField, select } from '../influxql.js';

/** Waste: fill level of the smart bins, by bin and by sorting category (GB/T 19095-2019). */
export function wasteDashboard(): Dashboard {
  const kind = 'smart_bin' as const;
  const fill = mainField(kind);
  const weight = field(kind, 'weight');
  const temperature = field(kind, 'temperature');
  const battery = field(kind, 'battery');

  return finish(
    anjuDashboard('anju-waste', 'Anju · Waste 垃圾分类', ['waste', 'smart_bin'])
      .description('Smart bins by bin and sorting category: fill level, load and temperature.')
      .withPanel(stat('Fullest bin 最满的桶', 'percent', [influxql(select({ kind, select: [`max(${fill})`] }))], 'max'))
      .withPanel(stat('Mean fill 平均满溢率', 'percent', [influxql(select({ kind, select: [`mean(${fill})`] }))], 'mean'))
      .withPanel(stat('Heaviest bin 最重的桶', 'masskg', [influxql(select({ kind, select: [`max(${weight})`] }))], 'max'))
      .withPanel(stat('Lowest battery 最低电量', 'percent', [influxql(select({ kind, select: [`min(${battery})`] }))], 'min'))
      .withPanel(timeseries('Fill by bin 各桶满溢率', 'percent', [
        influxql(select({ kind, select: [`max(${fill})`], groupByTime: INTERVAL, groupByTags: ['device'] })).alias('$tag_device'),
      ]).min(0).max(100))
      .withPanel(timeseries('Fill by category (mean) 各类别满溢率', 'percent', [
        influxql(select({ kind, select: [`mean(${fill})`], groupByTime: INTERVAL, groupByTags: ['category'] })).alias('$tag_category'),
      ]).min(0).max(100))
      .withPanel(timeseries('Weight by bin 各桶重量', 'masskg', [
        influxql(select({ kind, select: [`mean(${weight})`], groupByTime: INTERVAL, groupByTags: ['device'] })).alias('$tag_device'),
      ]))
      .withPanel(timeseries('Temperature inside bins (max) 桶内温度', 'celsius', [
        influxql(select({ kind, select: [`max(${temperature})`], groupByTime: INTERVAL, groupByTags: ['category'] })).alias('$tag_category'),
      ]))
      .withPanel(table('Latest fill per bin 各桶最新满溢率', [
        influxql(select({
          kind,
          select: [`last(${fill}) AS "fill"`, `last(${weight}) AS "weight"`, `last(${temperature}) AS "temperature"`, `last(${battery}) AS "battery"`],
          groupByTags: ['building', 'category', 'device'],
        })).resultFormat('table'),
      ])),
  );
}
