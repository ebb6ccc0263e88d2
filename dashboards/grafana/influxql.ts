import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import { kinds, type KindName } from '../../core/kinds/index.js';
import { opsMeasurements, type OpsMeasurementName } from '../../core/ops-metrics.js';

/**
 * A small typed InfluxQL target builder for Grafana's InfluxDB datasource (InfluxQL mode, raw
 * queries). The foundation SDK has no InfluxDB query builder, so this one writes the target JSON
 * Grafana stores: `{ refId, datasource, query, rawQuery: true, resultFormat }`.
 *
 * Measurement and field names come from `core/kinds` (DESIGN.md §3: one measurement per kind, the
 * reading fields as fields, tags `site`, `building`, `device`, `category`): a field that is not in
 * the kind's table throws when the dashboards are generated, so a renamed field cannot leave a
 * dashboard querying nothing. The operations measurements (alarm events, fleet status) take their
 * names from `core/ops-metrics.ts` the same way (`opsMeasurement()`, `opsField()`), and `subquery()`
 * wraps a built SELECT in an outer one (InfluxQL subqueries, InfluxDB ≥ 1.2).
 */

/** The provisioned datasource (`provisioning/datasources/*.yaml`). */
export const DATASOURCE = { type: 'influxdb', uid: 'anju-influxdb' } as const;

type OpsTags = { [M in OpsMeasurementName]: (typeof opsMeasurements)[M]['tags'][keyof (typeof opsMeasurements)[M]['tags']] }[OpsMeasurementName];
/** Tags of the storage schema (DESIGN.md §3) and of the operations measurements (core/ops-metrics.ts). */
export type Tag = 'site' | 'building' | 'device' | 'category' | OpsTags;

/** Grafana's macros and Anju's template variables, as they appear in a query. */
export const TIME_FILTER = '$timeFilter';
export const INTERVAL = '$__interval';
export const SITE_VAR = 'site';
export const BUILDING_VAR = 'building';

/** `"name"`, InfluxQL identifier quoting. */
export function ident(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The measurement of a kind (its wire name), quoted. */
export function measurement(kind: KindName): string {
  return ident(kinds[kind].name);
}

/** A field of a kind, checked against the kind's field table, quoted. */
export function field(kind: KindName, name: string): string {
  if (!Object.prototype.hasOwnProperty.call(kinds[kind].fields, name)) {
    throw new Error(`dashboards: ${kind} has no field ${name} (fields: ${Object.keys(kinds[kind].fields).join(', ')})`);
  }
  return ident(name);
}

/** The kind's main field (smoke, fill, volume, energy …), quoted. */
export function mainField(kind: KindName): string {
  return field(kind, kinds[kind].mainField);
}

/** An operations measurement (core/ops-metrics.ts), quoted. */
export function opsMeasurement(name: OpsMeasurementName): string {
  return ident(opsMeasurements[name].name);
}

/** A field of an operations measurement, checked against core/ops-metrics.ts, quoted. */
export function opsField(name: OpsMeasurementName, fieldName: string): string {
  const m = opsMeasurements[name];
  const known: string[] = [...Object.values(m.fields), ...('activeBySeverity' in m ? Object.values(m.activeBySeverity) : [])];
  if (!known.includes(fieldName)) throw new Error(`dashboards: ${m.name} has no field ${fieldName} (fields: ${known.join(', ')})`);
  return ident(fieldName);
}

/** `'value'`, an InfluxQL string literal. */
export function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** `"tag" = 'value'`. */
export function tagEquals(tag: Tag, value: string): string {
  return `${ident(tag)} = ${literal(value)}`;
}

/** `"tag" =~ /^$var$/`: matches one value, or several of a multi-value variable. */
export function tagMatchesVar(tag: Tag, variable: string): string {
  return `${ident(tag)} =~ /^$${variable}$/`;
}

/** GROUP BY, fill, ORDER BY, LIMIT and tz: the tail shared by measurement queries and subqueries. */
export interface TailSpec {
  /** `time(…)` first when set (e.g. `$__interval`, `1h`, `1d`). */
  groupByTime?: string | false;
  groupByTags?: readonly Tag[];
  /** `fill(…)` for a time grouping (default `none`). */
  fill?: 'none' | 'null' | 'previous' | '0' | 'linear';
  /** `ORDER BY time DESC` (newest first, e.g. an event table). */
  newestFirst?: boolean;
  limit?: number;
  /** `tz('…')`: day boundaries of a `time(1d)` grouping in this IANA zone. */
  tz?: string;
}

export interface SelectSpec extends TailSpec {
  /** The measurement: a device kind, or an operations measurement (exactly one). */
  kind?: KindName;
  ops?: OpsMeasurementName;
  /** Select expressions, e.g. `max("smoke")`; build them with `field()` / `mainField()` / `opsField()`. */
  select: readonly string[];
  /** Extra conditions, ANDed after the site and building filters. */
  where?: readonly string[];
  /** Filter by `$building` too (default true). */
  byBuilding?: boolean;
}

function tail(spec: TailSpec): string {
  const groupBy: string[] = [];
  const byTime = spec.groupByTime === undefined ? false : spec.groupByTime;
  if (byTime) groupBy.push(`time(${byTime})`);
  groupBy.push(...(spec.groupByTags ?? []).map(ident));
  let q = '';
  if (groupBy.length > 0) q += ` GROUP BY ${groupBy.join(', ')}`;
  if (byTime) q += ` fill(${spec.fill ?? 'none'})`;
  if (spec.newestFirst) q += ' ORDER BY time DESC';
  if (spec.limit !== undefined) q += ` LIMIT ${Math.floor(spec.limit)}`;
  if (spec.tz) q += ` tz(${literal(spec.tz)})`;
  return q;
}

/**
 * `SELECT … FROM "<measurement>" WHERE "site" =~ /^$site$/ AND "building" =~ /^$building$/ AND $timeFilter
 * GROUP BY time($__interval), "<tag>" fill(none)`.
 */
export function select(spec: SelectSpec): string {
  if ((spec.kind === undefined) === (spec.ops === undefined)) throw new Error('dashboards: select needs exactly one of kind and ops');
  const from = spec.kind !== undefined ? measurement(spec.kind) : opsMeasurement(spec.ops as OpsMeasurementName);
  const where = [tagMatchesVar('site', SITE_VAR)];
  if (spec.byBuilding !== false) where.push(tagMatchesVar('building', BUILDING_VAR));
  where.push(...(spec.where ?? []), TIME_FILTER);
  return `SELECT ${spec.select.join(', ')} FROM ${from} WHERE ${where.join(' AND ')}${tail(spec)}`;
}

export interface SubquerySpec extends TailSpec {
  /** The inner query, built with `select()` or `subquery()` (it carries the site, building and time filters). */
  from: string;
  select: readonly string[];
  /** Conditions on the inner query's columns, e.g. `"rate" > 0`. */
  where?: readonly string[];
  /** Adds `$timeFilter`: needed when the outer query groups by time. */
  timeFilter?: boolean;
}

/** `SELECT … FROM (<inner>) [WHERE …] [GROUP BY …]`: an InfluxQL subquery (InfluxDB ≥ 1.2). */
export function subquery(spec: SubquerySpec): string {
  const where = [...(spec.where ?? []), ...(spec.timeFilter ? [TIME_FILTER] : [])];
  return `SELECT ${spec.select.join(', ')} FROM (${spec.from})${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}${tail(spec)}`;
}

/** `SHOW TAG VALUES [FROM "<kind>"] WITH KEY = "<tag>" [WHERE …]`, for template variables. */
export function showTagValues(tag: Tag, options: { kind?: KindName; where?: readonly string[] } = {}): string {
  let q = 'SHOW TAG VALUES';
  if (options.kind) q += ` FROM ${measurement(options.kind)}`;
  q += ` WITH KEY = ${ident(tag)}`;
  if (options.where && options.where.length > 0) q += ` WHERE ${options.where.join(' AND ')}`;
  return q;
}

export type ResultFormat = 'time_series' | 'table';

/** The target JSON Grafana's InfluxDB datasource stores for a raw InfluxQL query. */
export interface InfluxQLTarget extends cog.Dataquery {
  refId: string;
  datasource: { type: string; uid: string };
  query: string;
  rawQuery: true;
  resultFormat: ResultFormat;
  /** Series alias, e.g. `$tag_device`. */
  alias?: string;
}

export class InfluxQLTargetBuilder implements cog.Builder<cog.Dataquery> {
  private readonly internal: Omit<InfluxQLTarget, '_implementsDataqueryVariant'>;

  constructor(query: string) {
    this.internal = { refId: 'A', datasource: { ...DATASOURCE }, query, rawQuery: true, resultFormat: 'time_series' };
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }

  alias(alias: string): this {
    this.internal.alias = alias;
    return this;
  }

  resultFormat(format: ResultFormat): this {
    this.internal.resultFormat = format;
    return this;
  }

  build(): InfluxQLTarget {
    // The variant marker is a method: JSON.stringify leaves it out of the dashboard.
    return { ...this.internal, _implementsDataqueryVariant() {} };
  }
}

export function influxql(query: string): InfluxQLTargetBuilder {
  return new InfluxQLTargetBuilder(query);
}
