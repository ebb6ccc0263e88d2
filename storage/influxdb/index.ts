import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { kindNames, type FieldValue, type KindName, type Reading } from '../../core/index.js';
import { StoreUnavailableError, type SeriesPoint, type SeriesQuery, type TelemetryStore } from '../contract.js';
import type { InfluxConfig } from './config.js';
import { createInfluxHttp, type QueryResult, type QuerySeries } from './http.js';
import { kindFields, latestAllStatements, latestStatements, needsTrueCount, seriesPlan, type SeriesPlan } from './influxql.js';
import { chunkLines, mergeBatch, toLine } from './lines.js';
import { createInfluxRollups } from './rollups.js';
import { registerFields } from '../rollups/summarize.js';
import { defaultRollupTimezone } from '../rollups/contract.js';

export type { InfluxConfig } from './config.js';
export { parseRetryAfter } from './http.js';
export { quoteIdent, quoteString } from './influxql.js';
export { toLine } from './lines.js';

export interface InfluxStoreDeps {
  logger: Logger;
  metrics?: Registry;
  /** Used for `/query`; writes go through the client's own Node HTTP transport. */
  fetch?: typeof fetch;
  /** A site's IANA zone, for the local days of the daily register rollups (default Asia/Shanghai). */
  siteTimezone?: (site: string) => string | undefined;
}

/** Lines per request body (InfluxData's recommended batch size) and a byte cap well under 25 MB. */
const BODY_LINES = 5_000;
const BODY_BYTES = 4 * 1024 * 1024;

type Row = Record<string, unknown>;

function rowsOf(s: QuerySeries): Row[] {
  return s.values.map((v) => {
    const row: Row = { ...s.tags };
    s.columns.forEach((c, i) => (row[c] = v[i]));
    return row;
  });
}

function toReading(kind: KindName, row: Row): Reading {
  const fields: Record<string, FieldValue> = {};
  for (const f of kindFields[kind].fields) {
    const v = row[f.name];
    if (v === null || v === undefined) continue;
    fields[f.name] = f.type === 'bool' ? v === true : Number(v);
  }
  const category = typeof row.category === 'string' && row.category !== '' ? (row.category as Reading['category']) : undefined;
  return {
    device: String(row.device),
    kind,
    site: String(row.site),
    building: String(row.building),
    ...(category !== undefined ? { category } : {}),
    ts: Number(row.time),
    ...(typeof row.seq === 'number' ? { seq: row.seq } : {}),
    fields,
  };
}

/** Results of the per-kind statements (in kindNames order) → readings. */
function readingsOf(results: QueryResult[]): Reading[] {
  const out: Reading[] = [];
  results.forEach((r, i) => {
    const kind = kindNames[i] as KindName;
    for (const s of r.series ?? []) for (const row of rowsOf(s)) out.push(toReading(kind, row));
  });
  return out;
}

const byTsThenDevice = (a: { ts: number; device: string }, b: { ts: number; device: string }) =>
  a.ts - b.ts || (a.device < b.device ? -1 : a.device > b.device ? 1 : 0);

function rawPoints(plan: SeriesPlan, result: QueryResult | undefined): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  for (const s of result?.series ?? []) {
    for (const row of rowsOf(s)) {
      const values: Record<string, FieldValue | null> = {};
      for (const f of plan.fields) {
        const v = row[f.name];
        values[f.name] = v === null || v === undefined ? null : f.type === 'bool' ? v === true : Number(v);
      }
      out.push({ ts: Number(row.time), device: String(row.device), values });
    }
  }
  return out.sort(byTsThenDevice);
}

/**
 * Aggregated rows → points. Booleans count as 0/1 (the contract): first/last come back as booleans;
 * mean/min/max/sum of a boolean are derived from n = count(b) and t = count(b WHERE b = true), the
 * second set of statements (see influxql.ts). InfluxQL answers count() of a field without values in a
 * bucket as null under fill(none); the contract says 0.
 */
function aggregatedPoints(plan: SeriesPlan, results: QueryResult[]): SeriesPoint[] {
  const agg = plan.agg ?? 'mean';
  const key = (ts: number, device: string) => `${ts}\u0000${device}`;
  const trues = new Map<string, number>();
  const boolFields = plan.fields.filter((f) => f.type === 'bool');
  if (needsTrueCount(agg)) {
    boolFields.forEach((f, i) => {
      for (const s of results[i + 1]?.series ?? []) {
        for (const row of rowsOf(s)) trues.set(`${key(Number(row.time), String(row.device))}\u0000${f.name}`, Number(row[f.name] ?? 0));
      }
    });
  }
  const out: SeriesPoint[] = [];
  for (const s of results[0]?.series ?? []) {
    for (const row of rowsOf(s)) {
      const ts = Number(row.time);
      const device = String(row.device);
      const values: Record<string, FieldValue | null> = {};
      for (const f of plan.fields) {
        const v = row[f.name];
        if (agg === 'count') values[f.name] = v === null || v === undefined ? 0 : Number(v);
        else if (f.type === 'bool' && needsTrueCount(agg)) {
          const n = v === null || v === undefined ? 0 : Number(v);
          const t = trues.get(`${key(ts, device)}\u0000${f.name}`) ?? 0;
          values[f.name] = n === 0 ? null : agg === 'mean' ? t / n : agg === 'sum' ? t : agg === 'min' ? (t === n ? 1 : 0) : t > 0 ? 1 : 0;
        } else values[f.name] = v === null || v === undefined ? null : typeof v === 'boolean' ? (v ? 1 : 0) : Number(v);
      }
      out.push({ ts, device, values });
    }
  }
  return out.sort(byTsThenDevice);
}

/**
 * The InfluxDB TelemetryStore (1.x, 2.x, 3.x). `write` resolves only once InfluxDB answered 204 for
 * every body of the batch; a failure rejects with StoreUnavailableError (retry later, `retryAfterMs`
 * from `Retry-After`) or InvalidBatchError (400: retrying cannot help). Bodies of a batch are sent in
 * order; when one fails the earlier ones stay written, which is harmless because a replay overwrites
 * the same points (same measurement, tag set and time: InfluxDB merges the field sets).
 */
export function createInfluxStore(config: InfluxConfig, deps: InfluxStoreDeps): TelemetryStore {
  const http = createInfluxHttp(config, deps);
  const { logger } = deps;
  const rollups = createInfluxRollups({
    http, siteTimezone: (site) => deps.siteTimezone?.(site) ?? defaultRollupTimezone, logger, ...(config.rp ? { retentionPolicy: config.rp } : {}),
  });
  let closed = false;
  const inFlight = new Set<Promise<void>>();
  const ensureOpen = () => {
    if (closed) throw new Error('influxdb telemetry store is closed');
  };

  async function writeAll(batch: readonly Reading[]): Promise<void> {
    const merged = mergeBatch(batch);
    const lines = merged.map(toLine).filter((l): l is string => l !== undefined);
    const started = performance.now();
    // The first meter readings a database gets decide whether it needs its rollups built (rollups.ts).
    if (merged.some((r) => registerFields(r.kind).some((f) => r.fields[f] !== undefined))) {
      await rollups.prepare().catch((err: unknown) => {
        throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError(`daily register rollups not ready: ${(err as Error).message}`, undefined, { cause: err });
      });
    }
    for (const body of chunkLines(lines, BODY_LINES, BODY_BYTES)) await http.write(body);
    // The batch is not done until the days it touched are rolled up: any failure here is retried
    // whole (the readings overwrite themselves), never reported as an invalid batch to be dropped.
    await rollups.maintain(merged).catch((err: unknown) => {
      throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError(`daily register rollups not updated: ${(err as Error).message}`, undefined, { cause: err });
    });
    logger.trace({ readings: batch.length, lines: lines.length, ms: Math.round(performance.now() - started) }, 'influxdb batch acknowledged');
  }

  async function series(query: SeriesQuery): Promise<SeriesPoint[]> {
    const plan = seriesPlan(query);
    if (!plan) return [];
    const results = await http.query(plan.statements);
    if (plan.every !== undefined) return aggregatedPoints(plan, results);
    const pts = rawPoints(plan, results[0]);
    // LIMIT cuts InfluxDB's time-ordered merge of the series, whose order among points of one instant
    // is by series key. The contract breaks ties by device: re-read the boundary instant whole.
    if (plan.limit === undefined || plan.limit === 0 || pts.length < plan.limit || !plan.atInstant) return pts;
    const edge = (pts[pts.length - 1] as SeriesPoint).ts;
    const atEdge = rawPoints(plan, (await http.query([plan.atInstant(edge)]))[0]);
    return [...pts.filter((p) => p.ts < edge), ...atEdge].slice(0, plan.limit);
  }

  logger.debug({ url: config.url, mode: http.mode }, 'influxdb telemetry store ready');

  return {
    name: 'influxdb',
    rollups,

    async write(batch) {
      ensureOpen();
      if (batch.length === 0) return;
      const p = writeAll(batch);
      inFlight.add(p);
      try {
        await p;
      } finally {
        inFlight.delete(p);
      }
    },

    async latest(device) {
      ensureOpen();
      let best: Reading | undefined;
      for (const r of readingsOf(await http.query(latestStatements(device)))) {
        if (!best || r.ts > best.ts) best = r;
      }
      return best;
    },

    async latestAll() {
      ensureOpen();
      const byDevice = new Map<string, Reading>();
      for (const r of readingsOf(await http.query(latestAllStatements()))) {
        const prev = byDevice.get(r.device);
        if (!prev || r.ts > prev.ts) byDevice.set(r.device, r);
      }
      return [...byDevice.values()].sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
    },

    async series(query) {
      ensureOpen();
      return series(query);
    },

    async close() {
      closed = true;
      // Let acknowledged-or-failed answers of writes already sent arrive before the caller moves on.
      await Promise.allSettled([...inFlight]);
    },
  };
}
