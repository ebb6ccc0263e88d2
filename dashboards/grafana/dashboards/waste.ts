import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { anjuDashboard, finish, stat, table, timeseries } from '../common.js';
import { field, ident, influxql, INTERVAL, mainField, select, subquery } from '../influxql.js';

/**
 * Waste: fill level of the smart bins, by bin and by sorting category (GB/T 19095-2019), and the
 * time until each bin is full.
 *
 * Time to full = (100 − current fill) / fill rate, per bin, in hours. The fill rate is the mean of
 * the bin's hourly fill increase over the dashboard's range (`non_negative_derivative` of the hourly
 * mean, so emptyings do not count as negative filling, and quiet night hours pull the mean down as
 * they will tomorrow): a day-averaged rate, steadier than the last hour's. Bins that did not fill
 * at all in the range have no finite time and are left out. The alert rule `bin_time_to_full`
 * (alerts/rules/bin-time-to-full.ts) predicts the 90 % overflow level from a least-squares line
 * since the last emptying; this panel is the fleet-wide overview of the same question.
 */
export function wasteDashboard(): Dashboard {
  const kind = 'smart_bin' as const;
  const fill = mainField(kind);
  const weight = field(kind, 'weight');
  const temperature = field(kind, 'temperature');
  const battery = field(kind, 'battery');
  const [rate, now, hours] = [ident('rate'), ident('fill'), ident('hours_to_full')];
  const hourly = select({ kind, select: [`non_negative_derivative(mean(${fill}), 1h) AS ${rate}`, `last(${fill}) AS ${now}`], groupByTime: '1h', groupByTags: ['device'] });
  const perBin = subquery({ from: hourly, select: [`last(${now}) AS ${now}`, `mean(${rate}) AS ${rate}`], groupByTags: ['device'] });
  const timeToFull = subquery({ from: perBin, select: [`(100 - ${now}) / ${rate} AS ${hours}`, now, rate], where: [`${rate} > 0`], groupByTags: ['device'] });

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
      .withPanel(table('Time to full per bin (hours) 各桶预计满溢时间（小时）', [influxql(timeToFull).resultFormat('table')]))
      .withPanel(table('Latest fill per bin 各桶最新满溢率', [
        influxql(select({
          kind,
          select: [`last(${fill}) AS "fill"`, `last(${weight}) AS "weight"`, `last(${temperature}) AS "temperature"`, `last(${battery}) AS "battery"`],
          groupByTags: ['building', 'category', 'device'],
        })).resultFormat('table'),
      ])),
  );
}
