import { HttpError, InfluxDB, type WriteApi } from '@influxdata/influxdb-client';
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import { getOrCreateMetric } from '../../core/util/index.js';
import { InvalidBatchError, StoreUnavailableError } from '../contract.js';
import type { InfluxConfig } from './config.js';

/**
 * The two HTTP conversations with InfluxDB: line-protocol writes through the client's write API, and
 * InfluxQL reads over `/query` with fetch.
 *
 * Writes. A fresh WriteApi per request body, with maxRetries 0, no flush timer, batchSize and
 * maxBatchBytes out of reach, and a `writeFailed` hook that returns the rejection: then `flush()`
 * settles exactly when InfluxDB answered this body, nothing is kept in the client's retry buffer, and
 * nothing is written to the client's global logger. Left to itself the WriteApi shares one buffer
 * between concurrent callers, flushes full batches in the background with their errors swallowed, and
 * retries from memory, all of which would hide from the spool forwarder whether a batch is durable.
 * Retry, with backoff and in order, is the forwarder's job; this layer only classifies the failure.
 * `Retry-After` is read here too: the client's HttpError.retryAfter() reads the header as
 * milliseconds, while RFC 9110 §10.2.3 (and InfluxDB Cloud) send seconds or an HTTP-date.
 */

export interface InfluxHttpDeps {
  logger: Logger;
  metrics?: Registry;
  fetch?: typeof fetch;
}

export interface InfluxHttp {
  /** Writes one body; resolves on 204, else StoreUnavailableError / InvalidBatchError. */
  write(lines: readonly string[]): Promise<void>;
  /** Runs `;`-joined InfluxQL statements; answers one result per statement. */
  query(statements: readonly string[]): Promise<QueryResult[]>;
  readonly mode: 'v1' | 'v2';
}

export interface QuerySeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}
export interface QueryResult {
  statement_id?: number;
  series?: QuerySeries[];
  error?: string;
  partial?: boolean;
}

/** Seconds or an HTTP-date (RFC 9110 §10.2.3) → ms from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | null | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v === null || v.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function metricsFor(registry: Registry | undefined) {
  if (!registry) return undefined;
  return {
    seconds: getOrCreateMetric(registry, 'anju_influx_request_seconds', () => new Histogram({
      name: 'anju_influx_request_seconds', help: 'InfluxDB request round trip, by operation',
      labelNames: ['op'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry],
    })),
    errors: getOrCreateMetric(registry, 'anju_influx_errors_total', () => new Counter({
      name: 'anju_influx_errors_total', help: 'InfluxDB requests that failed, by HTTP status (or "network")',
      labelNames: ['status'], registers: [registry],
    })),
  };
}

function basicAuth(user: string, password: string | undefined): string {
  return `Basic ${Buffer.from(`${user}:${password ?? ''}`).toString('base64')}`;
}

/** Larger bodies are gzipped (Content-Encoding: gzip); line protocol compresses about 10:1. */
const GZIP_THRESHOLD = 64 * 1024;

export function createInfluxHttp(config: InfluxConfig, deps: InfluxHttpDeps): InfluxHttp {
  const mode: 'v1' | 'v2' = config.token && config.org && config.bucket ? 'v2' : 'v1';
  if (mode === 'v1' && !config.db) throw new Error('InfluxDB needs token, org and bucket (2.x/3.x) or db (1.x)');
  const timeout = config.timeoutMs ?? 10_000;
  const base = config.url.replace(/\/+$/, '');
  const authHeader = mode === 'v2' ? `Token ${config.token}` : config.user !== undefined ? basicAuth(config.user, config.password) : undefined;
  const headers: Record<string, string> = authHeader ? { Authorization: authHeader } : {};
  const metrics = metricsFor(deps.metrics);
  const doFetch = deps.fetch ?? fetch;
  // v1 auth goes in our own header (the client only knows `Token`), so the client gets no token.
  const client = new InfluxDB({ url: base, timeout });

  // v1 `/write` takes db, rp and precision (`ms`, or `n` for nano: v1 spells micro `u`, nano `n`). In
  // v2 mode the client's own path `/api/v2/write?org=…&bucket=…&precision=ms|ns` is used as is.
  const precision = config.precision ?? 'ms';
  const v1Path = () => {
    const p = new URLSearchParams({ db: config.db as string, precision: precision === 'ns' ? 'n' : 'ms' });
    if (config.rp) p.set('rp', config.rp);
    return `/write?${p.toString()}`;
  };
  // `db`/`rp` map to a bucket through DBRP on 2.x (virtual DBRP: db = bucket name) and 3.x.
  const queryDb = { db: mode === 'v2' ? (config.bucket as string) : (config.db as string), rp: config.rp };

  const failed = (status: string) => metrics?.errors.inc({ status });

  function classifyWrite(err: unknown, lines: number): Error {
    if (err instanceof HttpError) {
      failed(String(err.statusCode));
      const detail = (err.json as { error?: string; message?: string } | undefined)?.error ?? err.message;
      const msg = `InfluxDB refused a write of ${lines} lines: ${err.statusCode} ${detail}`;
      // 400: bad line protocol or a partial write (field type conflict, points beyond the retention
      // policy); resending the same body gets the same answer. Everything else (5xx, 429, 401/403 while
      // credentials are fixed, 404 until the database/bucket exists) may pass later: keep the batch.
      if (err.statusCode === 400 || err.statusCode === 422) return new InvalidBatchError(msg, { cause: err });
      return new StoreUnavailableError(msg, parseRetryAfter(err.headers?.['retry-after']), { cause: err });
    }
    failed('network');
    return new StoreUnavailableError(`InfluxDB unreachable for a write of ${lines} lines: ${(err as Error).message}`, undefined, { cause: err });
  }

  async function writeBody(lines: readonly string[]): Promise<void> {
    const api: WriteApi = client.getWriteApi(config.org ?? '', config.bucket ?? '', precision, {
      batchSize: lines.length + 1,
      maxBatchBytes: Number.POSITIVE_INFINITY,
      flushInterval: 0,
      maxRetries: 0,
      gzipThreshold: GZIP_THRESHOLD,
      headers,
      writeFailed: (error: Error) => Promise.reject(error),
    });
    if (mode === 'v1') api.path = v1Path();
    const end = metrics?.seconds.startTimer({ op: 'write' });
    try {
      api.writeRecords(lines as string[]);
      await api.flush();
    } catch (err) {
      // 413: this body is over the server's max-body-size; halves may fit.
      if (err instanceof HttpError && err.statusCode === 413 && lines.length > 1) {
        failed('413');
        const mid = Math.ceil(lines.length / 2);
        await writeBody(lines.slice(0, mid));
        await writeBody(lines.slice(mid));
        return;
      }
      throw classifyWrite(err, lines.length);
    } finally {
      end?.();
      api.dispose();
    }
  }

  async function query(statements: readonly string[]): Promise<QueryResult[]> {
    const params = new URLSearchParams({ db: queryDb.db, epoch: 'ms', q: statements.join(';\n') });
    if (queryDb.rp) params.set('rp', queryDb.rp);
    const end = metrics?.seconds.startTimer({ op: 'query' });
    let res: Response;
    let text: string;
    try {
      res = await doFetch(`${base}/query?${params.toString()}`, { headers, signal: AbortSignal.timeout(timeout) });
      text = await res.text();
    } catch (err) {
      failed('network');
      throw new StoreUnavailableError(`InfluxDB unreachable for a query: ${(err as Error).message}`, undefined, { cause: err });
    } finally {
      end?.();
    }
    let body: { results?: QueryResult[]; error?: string } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      failed(String(res.status));
      const msg = `InfluxDB query failed: ${res.status} ${body?.error ?? text.slice(0, 200)}`;
      if (res.status >= 500 || res.status === 429) throw new StoreUnavailableError(msg, parseRetryAfter(res.headers.get('retry-after')));
      throw new Error(msg);
    }
    if (!body?.results) throw new Error(`InfluxDB query answered no results: ${text.slice(0, 200)}`);
    for (const r of body.results) {
      if (r.error) throw new Error(`InfluxQL error: ${r.error}`);
      // Never answer a silently truncated result: `[http] max-row-limit` cut it short.
      if (r.partial || r.series?.some((s) => (s as { partial?: boolean }).partial)) {
        throw new Error('InfluxDB truncated the result (server max-row-limit); narrow the query window');
      }
    }
    return body.results;
  }

  return { mode, write: writeBody, query };
}
