import { isKindName, kindOf, type FieldSpec, type KindName } from '../core/index.js';
import { aggregates, type Aggregate, type SeriesQuery } from './contract.js';

/** One field of a kind, as both stores read it. */
export interface SeriesField {
  readonly name: string;
  readonly type: 'float' | 'bool';
  /** A state code (core FieldSpec `codes`): see `fieldAggregate`. */
  readonly coded?: boolean;
}

/**
 * The aggregate a field is actually read with. A state code's mean or sum names no state (valve
 * "open" 0 and "closed" 1 average to 0.5; a sum grows with the number of readings), so for a coded
 * field both answer the bucket's last state, as `last` would; min, max, count, first and last mean
 * what they say for codes too. Both stores build their statements from this, so they agree.
 */
export function fieldAggregate(field: SeriesField, agg: Aggregate): Aggregate {
  return field.coded && (agg === 'mean' || agg === 'sum') ? 'last' : agg;
}

/**
 * A series query checked against core's kind table, with the window rounded as every store
 * rounds it. The stores build their statements (SQL, InfluxQL) from this alone, so they refuse
 * the same queries with the same messages and answer the same window.
 */
export type ResolvedSeriesQuery = {
  readonly kind: KindName;
  /** The fields asked for, in order (default: every field of the kind). */
  readonly fields: readonly SeriesField[];
  /** Half-open [from, to) in integer epoch ms; `from < to`. */
  readonly from: number;
  readonly to: number;
  /** Tag filters that were given, in the order device, site, building. */
  readonly tags: readonly { readonly tag: 'device' | 'site' | 'building'; readonly value: string }[];
} & (
  | { readonly mode: 'raw'; readonly limit?: number }
  | { readonly mode: 'aggregated'; readonly every: number; readonly agg: Aggregate }
);

/**
 * Checks a series query. An unknown kind, field or aggregate, a non-finite bound, a bad limit or
 * bucket width is a RangeError (the API maps it to 400); nothing from the query reaches a
 * statement without passing here. Returns undefined for an empty window (nothing to read),
 * checked before the mode's options as the contract has always answered an empty window with [].
 */
export function resolveSeriesQuery(q: SeriesQuery): ResolvedSeriesQuery | undefined {
  if (!isKindName(q.kind)) throw new RangeError(`unknown kind ${String(q.kind)}`);
  if (!Number.isFinite(q.from) || !Number.isFinite(q.to)) throw new RangeError('from and to must be epoch ms');
  const known = kindOf(q.kind).fields as Readonly<Record<string, FieldSpec>>;
  const wanted = q.fields ?? Object.keys(known);
  const fields = wanted.map((name): SeriesField => {
    const f = Object.hasOwn(known, name) ? known[name] : undefined;
    if (!f) throw new RangeError(`kind ${q.kind} has no field ${JSON.stringify(name)}`);
    return { name, type: f.type, ...(f.codes ? { coded: true } : {}) };
  });
  // Half-open [from, to) on integer ms: a fractional bound is rounded up to the first ms it admits.
  const from = Math.max(0, Math.ceil(q.from));
  const to = Math.ceil(q.to);
  if (to <= from || fields.length === 0) return undefined;
  const tags: { tag: 'device' | 'site' | 'building'; value: string }[] = [];
  for (const tag of ['device', 'site', 'building'] as const) {
    const value = q[tag];
    if (value !== undefined) tags.push({ tag, value });
  }
  const base = { kind: q.kind, fields, from, to, tags };

  if (q.every === undefined) {
    if (q.limit !== undefined && (!Number.isSafeInteger(q.limit) || q.limit < 0)) throw new RangeError('limit must be a non-negative integer');
    return { ...base, mode: 'raw', ...(q.limit !== undefined ? { limit: q.limit } : {}) };
  }
  if (!Number.isSafeInteger(q.every) || q.every <= 0) throw new RangeError('every must be a positive number of ms');
  const agg = q.agg ?? 'mean';
  if (!aggregates.includes(agg)) throw new RangeError(`unknown aggregate ${String(agg)}`);
  return { ...base, mode: 'aggregated', every: q.every, agg };
}
