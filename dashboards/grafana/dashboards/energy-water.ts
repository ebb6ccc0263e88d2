import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { anjuDashboard, finish, stat, timeseries, timezoneVariable, TIMEZONE_REF } from '../common.js';
import { field, ident, influxql, INTERVAL, mainField, select, subquery } from '../influxql.js';

/**
 * Energy and water: consumption per meter (each meter has one purpose in the registry: common
 * lighting, elevator, water pump, household, master), today against the same day last week, and
 * the minimum night flow.
 *
 * Minimum night flow (MNF), the standard leakage indicator of the IWA Water Loss Task Force
 * (Farley & Trow, "Losses in Water Distribution Networks", IWA Publishing 2003, ch. 6; UK Water
 * Industry "Managing Leakage" Report E, 1994): at night legitimate use is near zero, so the lowest
 * hourly consumption of a day is mostly leakage — a leak keeps it above zero. Computed here as the
 * minimum, per meter and per local day (`tz`), of the hourly consumption (the difference of the
 * cumulative register per hour), in L/h. InfluxQL 1.x has no hour-of-day function, so the window
 * cannot be narrowed to 02:00–04:00; the minimum over the day falls in those hours for residential
 * meters, and a meter whose minimum hour is not at night is itself worth a look.
 * Purpose is a registry attribute, not a storage tag (DESIGN.md §3), so panels split by meter; the
 * device ids carry the purpose (`…-pm-light`, `…-pm-lift`, `…-pm-pump`, `…-wm-master`).
 */

export function energyWaterDashboard(): Dashboard {
  const power = 'power_meter' as const;
  const water = 'water_meter' as const;
  const energy = mainField(power);
  const volume = mainField(water);
  const activePower = field(power, 'power');
  const flow = field(water, 'flow');

  /** Use of a cumulative register per interval and meter. */
  const usePerInterval = (kind: typeof power | typeof water, register: string) =>
    influxql(select({ kind, select: [`non_negative_difference(last(${register}))`], groupByTime: INTERVAL, groupByTags: ['device'] })).alias('$tag_device');
  /** Total use over the panel's range: the spread of each register, summed over meters. */
  const totalUse = (kind: typeof power | typeof water, register: string) =>
    influxql(subquery({ from: select({ kind, select: [`spread(${register}) AS "used"`], groupByTags: ['device'] }), select: ['sum("used")'] }));
  const used = ident('used');
  /** MNF: the smallest hourly consumption of each local day, per meter, m³ → L. */
  const nightFlow = subquery({
    from: select({ kind: water, select: [`non_negative_difference(last(${volume})) AS ${used}`], groupByTime: '1h', groupByTags: ['device'] }),
    select: [`min(${used}) * 1000`],
    timeFilter: true, groupByTime: '1d', groupByTags: ['device'], tz: TIMEZONE_REF,
  });

  return finish(
    anjuDashboard('anju-energy-water', 'Anju · Energy & water 能耗与用水', ['energy', 'water', 'power_meter', 'water_meter'])
      .withVariable(timezoneVariable())
      .description('Electricity and water by meter, today vs the same day last week, and minimum night flow for leak detection.')
      .withPanel(stat('Electricity today 今日用电', 'kwatth', [totalUse(power, energy)]).timeFrom('now/d'))
      .withPanel(stat('Electricity same day last week 上周同日用电', 'kwatth', [totalUse(power, energy)]).timeFrom('now/d').timeShift('7d'))
      .withPanel(stat('Water today 今日用水', 'm3', [totalUse(water, volume)]).timeFrom('now/d'))
      .withPanel(stat('Water same day last week 上周同日用水', 'm3', [totalUse(water, volume)]).timeFrom('now/d').timeShift('7d'))
      .withPanel(timeseries('Electricity by meter (purpose) 各用途用电', 'kwatth', [usePerInterval(power, energy)]))
      .withPanel(timeseries('Active power by meter 有功功率', 'watt', [
        influxql(select({ kind: power, select: [`mean(${activePower})`], groupByTime: INTERVAL, groupByTags: ['device'] })).alias('$tag_device'),
      ]))
      .withPanel(timeseries('Water by meter (purpose) 各用途用水', 'm3', [usePerInterval(water, volume)]))
      .withPanel(timeseries('Minimum night flow (lowest hourly use per day) 最小夜间流量', 'L/h', [influxql(nightFlow).alias('$tag_device')]))
      .withPanel(timeseries('Lowest instantaneous flow per day 每日最低瞬时流量', 'L/min', [
        influxql(select({ kind: water, select: [`min(${flow})`], groupByTime: '1d', groupByTags: ['device'], tz: TIMEZONE_REF })).alias('$tag_device'),
      ])),
  );
}
