import type { DuckDBValue } from '@duckdb/node-api';
import type { Aggregate, SeriesQuery } from '../contract.js';
import { resolveSeriesQuery } from '../series-query.js';
import { kindTables, quoteIdent } from './schema.js';

export interface SeriesPlan {
  readonly sql: string;
  readonly params: DuckDBValue[];
  /** Result columns to read back; `asBoolean` only for raw boolean fields. */
  readonly fields: readonly { readonly name: string; readonly asBoolean: boolean }[];
  /** Result column holding the point's time. */
  readonly tsColumn: 'ts' | 'bucket';
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
 * Builds the SQL for a series query. Identifiers come from core's kind table only (an unknown kind,
 * field or aggregate is a RangeError, never spliced into SQL); every user value is a parameter.
 * Returns undefined for an empty window.
 */
export function seriesSql(query: SeriesQuery): SeriesPlan | undefined {
  const q = resolveSeriesQuery(query);
  if (!q) return undefined;
  const t = kindTables[q.kind];
  const fields = q.fields;

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
  const cols = fields.map((f) => `${aggExpr(agg, quoteIdent(f.name))} AS ${quoteIdent(f.name)}`).join(', ');
  return {
    sql: `SELECT ${bucket} AS bucket, device, ${cols} FROM ${t.table} WHERE ${where.join(' AND ')}
      GROUP BY ${bucket}, device ORDER BY bucket, device`,
    params,
    fields: fields.map((f) => ({ name: f.name, asBoolean: false })),
    tsColumn: 'bucket',
  };
}
