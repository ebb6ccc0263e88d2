import type { DuckDBValue } from '@duckdb/node-api';
import type { Aggregate, SeriesQuery } from '../contract.js';
import { fieldAggregate, resolveSeriesQuery, type ResolvedSeriesQuery } from '../series-query.js';
import { hourlyColumn, hourlyTableName, hourMs } from './hourly.js';
import { kindTables, quoteIdent } from './schema.js';

export interface SeriesPlan {
  readonly sql: string;
  readonly params: DuckDBValue[];
  /** Result columns to read back; `asBoolean` only for raw boolean fields. */
  readonly fields: readonly { readonly name: string; readonly asBoolean: boolean }[];
  /** Result column holding the point's time. */
  readonly tsColumn: 'ts' | 'bucket';
  /** Whether it reads the hourly aggregates (then the store writes its pending hours first). */
  readonly hourly?: boolean;
}

/**
 * One aggregate over one field. Booleans count as 0/1 (the contract), hence the DOUBLE cast.
 * first/last skip nulls, as InfluxQL FIRST()/LAST() return the oldest/newest non-null value;
 * ties on ts cannot happen within one device (one row per device and ts).
 */
function aggExpr(agg: Aggregate, col: string): string {
  const x = `CAST(${col} AS DOUBLE)`;
  switch (agg) {
    case 'mean': return `avg(${x})`;
    case 'min': return `min(${x})`;
    case 'max': return `max(${x})`;
    case 'sum': return `sum(${x})`;
    case 'count': return `count(${col})`;
    case 'first': return `arg_min(${x}, ts) FILTER (WHERE ${col} IS NOT NULL)`;
    case 'last': return `arg_max(${x}, ts) FILTER (WHERE ${col} IS NOT NULL)`;
  }
}

/**
 * Whether a query is answered from the hourly aggregates: buckets of whole hours, either aligned to
 * hours or reaching before the raw floor (where only the hourly rows are left).
 */
function readsHourly(q: ResolvedSeriesQuery, rawFloor: number): boolean {
  if (q.mode !== 'aggregated' || q.every % hourMs !== 0) return false;
  return (q.from % hourMs === 0 && q.to % hourMs === 0) || q.from < rawFloor;
}

/**
 * The time from which a query's answer is complete when retention has deleted raw readings it
 * would read (raw mode, or buckets narrower than an hour, reaching before the floor); undefined
 * when the answer is whole. Whole-hour buckets never lose anything: they read the hourly rows.
 */
export function seriesCompleteFrom(query: SeriesQuery, rawFloor: number): number | undefined {
  if (rawFloor <= 0) return undefined;
  const q = resolveSeriesQuery(query);
  if (!q || q.from >= rawFloor || readsHourly(q, rawFloor)) return undefined;
  return Math.min(rawFloor, q.to);
}

/**
 * Builds the SQL for a series query. Identifiers come from core's kind table only (an unknown kind,
 * field or aggregate is a RangeError, never spliced into SQL); every user value is a parameter.
 * Returns undefined for an empty window.
 */
export function seriesSql(query: SeriesQuery, opts: { rawFloor?: number } = {}): SeriesPlan | undefined {
  const q = resolveSeriesQuery(query);
  if (!q) return undefined;
  const t = kindTables[q.kind];
  const fields = q.fields;

  if (q.mode === 'aggregated' && readsHourly(q, opts.rawFloor ?? 0)) return hourlySql(q);

  const params: DuckDBValue[] = [BigInt(q.from), BigInt(q.to)];
  const where = ['ts >= $1', 'ts < $2'];
  for (const { tag, value } of q.tags) {
    params.push(value);
    where.push(`${tag} = $${params.length}`);
  }

  if (q.mode === 'raw') {
    let limit = '';
    if (q.limit !== undefined) {
      params.push(BigInt(q.limit));
      limit = ` LIMIT $${params.length}`;
    }
    const cols = fields.map((f) => quoteIdent(f.name)).join(', ');
    return {
      sql: `SELECT ts, device, ${cols} FROM ${t.table} WHERE ${where.join(' AND ')} ORDER BY ts, device${limit}`,
      params,
      fields: fields.map((f) => ({ name: f.name, asBoolean: f.type === 'bool' })),
      tsColumn: 'ts',
    };
  }

  const agg = q.agg;
  params.push(BigInt(q.every));
  const e = `$${params.length}`;
  // Buckets start on multiples of `every` since the epoch, like InfluxQL GROUP BY time(); times are
  // non-negative here, so ts - ts % every is the floor. Buckets without readings are left out (fill(none)).
  const bucket = `(ts - ts % ${e})`;
  const cols = fields.map((f) => `${aggExpr(fieldAggregate(f, agg), quoteIdent(f.name))} AS ${quoteIdent(f.name)}`).join(', ');
  return {
    sql: `SELECT ${bucket} AS bucket, device, ${cols} FROM ${t.table} WHERE ${where.join(' AND ')}
      GROUP BY ${bucket}, device ORDER BY bucket, device`,
    params,
    fields: fields.map((f) => ({ name: f.name, asBoolean: false })),
    tsColumn: 'bucket',
  };
}

/** One aggregate over one field's hourly columns; the same answer the raw readings give for whole hours. */
function hourlyAggExpr(agg: Aggregate, field: string): string {
  const c = (p: Parameters<typeof hourlyColumn>[1]) => hourlyColumn(field, p);
  switch (agg) {
    case 'mean': return `sum(${c('sum')}) / nullif(sum(${c('n')}), 0)`;
    case 'min': return `min(${c('min')})`;
    case 'max': return `max(${c('max')})`;
    case 'sum': return `sum(${c('sum')})`;
    case 'count': return `CAST(coalesce(sum(${c('n')}), 0) AS BIGINT)`;
    case 'first': return `arg_min(${c('first')}, hour) FILTER (WHERE ${c('first')} IS NOT NULL)`;
    case 'last': return `arg_max(${c('last')}, hour) FILTER (WHERE ${c('last')} IS NOT NULL)`;
  }
}

/**
 * Buckets of whole hours, read from the hourly aggregates (storage/embedded/hourly.ts): a year of a
 * community is ~60× fewer rows than its readings, and the range may reach before the raw floor.
 * The window takes the hours that start in it (exact when its bounds are on the hour).
 */
function hourlySql(q: Extract<ResolvedSeriesQuery, { mode: 'aggregated' }>): SeriesPlan {
  const from = q.from % hourMs === 0 ? q.from : q.from - (q.from % hourMs) + hourMs;
  const params: DuckDBValue[] = [BigInt(from), BigInt(q.to)];
  const where = ['hour >= $1', 'hour < $2'];
  for (const { tag, value } of q.tags) {
    params.push(value);
    where.push(`${tag} = $${params.length}`);
  }
  params.push(BigInt(q.every));
  const bucket = `(hour - hour % $${params.length})`;
  const cols = q.fields.map((f) => `${hourlyAggExpr(fieldAggregate(f, q.agg), f.name)} AS ${quoteIdent(f.name)}`).join(', ');
  return {
    sql: `SELECT ${bucket} AS bucket, device, ${cols} FROM ${hourlyTableName(q.kind)} WHERE ${where.join(' AND ')}
      GROUP BY ${bucket}, device ORDER BY bucket, device`,
    params,
    fields: q.fields.map((f) => ({ name: f.name, asBoolean: false })),
    tsColumn: 'bucket',
    hourly: true,
  };
}
