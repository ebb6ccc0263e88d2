import type { DuckDBValue } from '@duckdb/node-api';
import { isKindName } from '../../core/index.js';
import { aggregates, type Aggregate, type SeriesQuery } from '../contract.js';
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
export function seriesSql(q: SeriesQuery): SeriesPlan | undefined {
  if (!isKindName(q.kind)) throw new RangeError(`unknown kind ${String(q.kind)}`);
  if (!Number.isFinite(q.from) || !Number.isFinite(q.to)) throw new RangeError('from and to must be epoch ms');
  const t = kindTables[q.kind];
  const wanted = q.fields ?? t.fields.map((f) => f.name);
  const fields = wanted.map((name) => {
    const f = t.fields.find((x) => x.name === name);
    if (!f) throw new RangeError(`kind ${q.kind} has no field ${JSON.stringify(name)}`);
    return f;
  });
  // Half-open [from, to) on integer ms: a fractional bound is rounded up to the first ms it admits.
  const from = Math.max(0, Math.ceil(q.from));
  const to = Math.ceil(q.to);
  if (to <= from || fields.length === 0) return undefined;

  const params: DuckDBValue[] = [BigInt(from), BigInt(to)];
  const where = ['ts >= $1', 'ts < $2'];
  for (const tag of ['device', 'site', 'building'] as const) {
    const v = q[tag];
    if (v === undefined) continue;
    params.push(v);
    where.push(`${tag} = $${params.length}`);
  }

  if (q.every === undefined) {
    let limit = '';
    if (q.limit !== undefined) {
      if (!Number.isSafeInteger(q.limit) || q.limit < 0) throw new RangeError('limit must be a non-negative integer');
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

  if (!Number.isSafeInteger(q.every) || q.every <= 0) throw new RangeError('every must be a positive number of ms');
  const agg = q.agg ?? 'mean';
  if (!aggregates.includes(agg)) throw new RangeError(`unknown aggregate ${String(agg)}`);
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
