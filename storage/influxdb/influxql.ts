import { kindNames, kindOf, type KindName } from '../../core/index.js';
import type { Aggregate, SeriesQuery } from '../contract.js';
import { fieldAggregate, resolveSeriesQuery } from '../series-query.js';

/**
 * InfluxQL text for the store's reads. Identifiers come only from core's kind and field tables
 * (checked against `identifier`, then double-quoted anyway); every user value (device, site,
 * building) is a single-quoted string literal with its escapes. Nothing from a request is ever
 * spliced into a statement raw.
 *
 * InfluxQL spec (influxql/scanner.go ScanString): quoted identifiers and string literals accept the
 * escapes `\\`, `\"` / `\'` and `\n`; a raw newline inside either is a parse error, hence escaped too.
 */

const identifier = /^[a-z_][a-z0-9_]*$/;

export function quoteIdent(name: string): string {
  if (!identifier.test(name)) throw new RangeError(`not a safe InfluxQL identifier: ${JSON.stringify(name)}`);
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

/** Epoch-ms integer as an InfluxQL time literal (`1735689600000ms`, the documented epoch form). */
function msLiteral(ms: number): string {
  if (!Number.isSafeInteger(ms)) throw new RangeError(`not an integer epoch ms: ${ms}`);
  return `${ms}ms`;
}

export interface KindFields {
  readonly kind: KindName;
  readonly fields: readonly { readonly name: string; readonly type: 'float' | 'bool' }[];
}

export const kindFields: Readonly<Record<KindName, KindFields>> = Object.fromEntries(
  kindNames.map((k): [KindName, KindFields] => {
    const fields = Object.entries(kindOf(k).fields).map(([name, f]) => {
      quoteIdent(name);
      return { name, type: f.type };
    });
    return [k, { kind: k, fields }];
  }),
) as Record<KindName, KindFields>;

/** One statement per kind, sent together (`;`-separated) so a lookup costs one round trip. */
export function latestStatements(device: string): string[] {
  return kindNames.map((k) => `SELECT * FROM ${quoteIdent(k)} WHERE "device" = ${quoteString(device)} ORDER BY time DESC LIMIT 1`);
}

/** LIMIT applies per series in a GROUP BY query: one newest point per device. */
export function latestAllStatements(): string[] {
  return kindNames.map((k) => `SELECT * FROM ${quoteIdent(k)} GROUP BY "device" ORDER BY time DESC LIMIT 1`);
}

/** Whether an aggregate of a boolean field needs the count of `true` values (InfluxQL cannot cast). */
export function needsTrueCount(agg: Aggregate): boolean {
  return agg === 'mean' || agg === 'min' || agg === 'max' || agg === 'sum';
}

export interface SeriesPlan {
  readonly kind: KindName;
  /** The fields asked for, in order. */
  readonly fields: KindFields['fields'];
  readonly statements: string[];
  readonly every?: number;
  readonly agg?: Aggregate;
  readonly limit?: number;
  /** For a limited raw query: builds the statement reading every point at one instant (tie-break). */
  readonly atInstant?: (ts: number) => string;
}

/**
 * Plans a series query, or returns undefined for an empty window. Raw mode selects every field of
 * the kind (not just the ones asked for) so a point whose asked-for fields are all null still comes
 * back as a row of nulls, as in the embedded store: InfluxQL drops rows whose selected fields are all
 * null. `device` is selected as a column (not GROUP BY) so LIMIT counts points across devices.
 *
 * Aggregated mode: `GROUP BY time(every), "device" fill(none)`, whose buckets InfluxQL aligns to the
 * epoch, like the contract. Numeric fields use the InfluxQL function of the same name. Boolean fields
 * count as 0/1; InfluxQL has no cast and `mean()`/`sum()` refuse booleans ("unsupported mean iterator
 * type"), so for mean/min/max/sum a boolean field is answered from two server-side counts: `count(b)`
 * in the main statement and `count(b) WHERE b = true` in one extra statement per field. count, first
 * and last work on booleans as they are. A state-code field answers mean and sum with last()
 * (series-query.ts `fieldAggregate`).
 */
export function seriesPlan(query: SeriesQuery): SeriesPlan | undefined {
  const q = resolveSeriesQuery(query);
  if (!q) return undefined;
  const k = kindFields[q.kind];
  const fields = q.fields;
  const tagFilters = q.tags.map(({ tag, value }) => `${quoteIdent(tag)} = ${quoteString(value)}`);
  const where = [`time >= ${msLiteral(q.from)}`, `time < ${msLiteral(q.to)}`, ...tagFilters].join(' AND ');
  const m = quoteIdent(q.kind);

  if (q.mode === 'raw') {
    const cols = ['"device"', ...k.fields.map((f) => quoteIdent(f.name))].join(', ');
    const select = `SELECT ${cols} FROM ${m}`;
    const limit = q.limit !== undefined ? ` LIMIT ${q.limit}` : '';
    return {
      kind: q.kind,
      fields,
      statements: [`${select} WHERE ${where} ORDER BY time ASC${limit}`],
      ...(q.limit !== undefined ? { limit: q.limit } : {}),
      atInstant: (ts) => `${select} WHERE ${[`time = ${msLiteral(ts)}`, ...tagFilters].join(' AND ')}`,
    };
  }

  const agg = q.agg;
  const group = `GROUP BY time(${q.every}ms), "device" fill(none)`;
  const main = fields.map((f) => {
    const fn = f.type === 'bool' && needsTrueCount(agg) ? 'count' : fieldAggregate(f, agg);
    return `${fn}(${quoteIdent(f.name)}) AS ${quoteIdent(f.name)}`;
  });
  const statements = [`SELECT ${main.join(', ')} FROM ${m} WHERE ${where} ${group}`];
  if (needsTrueCount(agg)) {
    for (const f of fields) {
      if (f.type !== 'bool') continue;
      const id = quoteIdent(f.name);
      statements.push(`SELECT count(${id}) AS ${id} FROM ${m} WHERE ${where} AND ${id} = true ${group}`);
    }
  }
  return { kind: q.kind, fields, statements, every: q.every, agg };
}
