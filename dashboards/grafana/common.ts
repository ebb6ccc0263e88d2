import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import { CustomVariableBuilder, DashboardBuilder, QueryVariableBuilder, VariableRefresh, VariableSort, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { LegendDisplayMode, LegendPlacement, ReduceDataOptionsBuilder, VizLegendOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanelBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { BUILDING_VAR, DATASOURCE, SITE_VAR, showTagValues, tagMatchesVar, type InfluxQLTargetBuilder } from './influxql.js';

/** Shared pieces of Anju's dashboards: the site and building variables, panel helpers, numbering. */

export function siteVariable(): QueryVariableBuilder {
  const q = showTagValues('site');
  return new QueryVariableBuilder(SITE_VAR)
    .label('Site 小区')
    .datasource(DATASOURCE)
    .query(q)
    .definition(q)
    .refresh(VariableRefresh.OnDashboardLoad)
    .sort(VariableSort.AlphabeticalAsc);
}

export function buildingVariable(): QueryVariableBuilder {
  const q = showTagValues('building', { where: [tagMatchesVar('site', SITE_VAR)] });
  return new QueryVariableBuilder(BUILDING_VAR)
    .label('Building 楼栋')
    .datasource(DATASOURCE)
    .query(q)
    .definition(q)
    .refresh(VariableRefresh.OnDashboardLoad)
    .sort(VariableSort.NaturalAsc)
    .multi(true)
    .includeAll(true);
}

/** The `$tz` variable's default: the registry's default site zone (core/registry.ts siteSchema). */
export const DEFAULT_SITE_TIMEZONE = 'Asia/Shanghai';
/**
 * Where a day starts for the daily panels (`GROUP BY time(1d) tz('${tz:raw}')`): Grafana cannot take
 * it from the site, so it is a variable (a fixed list: add a zone here), defaulting to the registry's default zone. `:raw` keeps
 * Grafana from regex-escaping the `/` of an IANA name inside the string literal.
 */
export const TIMEZONE_REF = '${tz:raw}';
export function timezoneVariable(): CustomVariableBuilder {
  const zones = [DEFAULT_SITE_TIMEZONE, 'Asia/Hong_Kong', 'Asia/Taipei', 'Asia/Macau', 'Asia/Singapore', 'UTC'];
  return new CustomVariableBuilder('tz')
    .label('Day boundaries 日界时区')
    .values(zones.join(','))
    .current({ text: DEFAULT_SITE_TIMEZONE, value: DEFAULT_SITE_TIMEZONE, selected: true })
    .options(zones.map((z) => ({ text: z, value: z, selected: z === DEFAULT_SITE_TIMEZONE })))
    // The value goes raw into a string literal: only the listed zones, never text from a URL.
    .allowCustomValue(false);
}

/** A dashboard with Anju's tags, time range and both template variables. */
export function anjuDashboard(uid: string, title: string, tags: readonly string[]): DashboardBuilder {
  return new DashboardBuilder(title)
    .uid(uid)
    .tags(['anju', ...tags])
    .timezone('browser')
    .time({ from: 'now-7d', to: 'now' })
    .refresh('1m')
    .readonly()
    .withVariable(siteVariable())
    .withVariable(buildingVariable());
}

const legend = () => new VizLegendOptionsBuilder()
  .showLegend(true)
  .displayMode(LegendDisplayMode.Table)
  .placement(LegendPlacement.Bottom)
  .calcs(['mean', 'max', 'lastNotNull']);

export function timeseries(title: string, unit: string, targets: readonly InfluxQLTargetBuilder[]): TimeseriesPanelBuilder {
  return new TimeseriesPanelBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .unit(unit)
    .legend(legend())
    .targets([...targets])
    .height(9)
    .span(12);
}

export function stat(title: string, unit: string, targets: readonly InfluxQLTargetBuilder[], calc = 'lastNotNull'): StatPanelBuilder {
  return new StatPanelBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .unit(unit)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs([calc]).values(false))
    .targets([...targets])
    .height(5)
    .span(6);
}

export function table(title: string, targets: readonly InfluxQLTargetBuilder[]): TablePanelBuilder {
  return new TablePanelBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .targets([...targets])
    .height(10)
    .span(24);
}

/** Builds the dashboard and numbers its panels 1…n (ids are unique within a dashboard). */
export function finish(builder: cog.Builder<Dashboard>): Dashboard {
  const dashboard = builder.build();
  (dashboard.panels ?? []).forEach((panel, i) => {
    panel.id = i + 1;
  });
  return dashboard;
}
