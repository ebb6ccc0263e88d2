import type { FieldValue, KindName, Reading } from '../core/index.js';
import type { RegisterRollups } from './rollups/contract.js';
import { CodedError } from '../core/errors.js';

/**
 * The TelemetryStore contract. Every implementation (embedded DuckDB, InfluxDB) passes the same
 * suite in test/storage/store.contract.ts.
 *
 * Semantics every implementation keeps:
 * - `write` is idempotent: a reading with the same kind, tags (device) and `ts` overwrites the
 *   earlier one, as a point with the same series key and time does in InfluxDB. Replays are safe.
 * - `write` resolves only once the batch is durable in the store; it rejects (and stores nothing
 *   it did not say) when the store cannot take it, so the caller can retry.
 * - Times are epoch milliseconds in and out.
 */
export interface TelemetryStore {
  readonly name: string;
  /**
   * `encoded`, when given, is the batch as the spool wrote it (see EncodedReadings): a store may read
   * its rows from those bytes instead of serialising the readings again, with the same result.
   */
  write(batch: readonly Reading[], encoded?: readonly EncodedReadings[]): Promise<void>;
  /** The most recent reading of a device, or undefined if it never reported. */
  latest(device: string): Promise<Reading | undefined>;
  /** The most recent reading of every device (primes the in-memory latest cache on start). */
  latestAll(): Promise<Reading[]>;
  series(query: SeriesQuery): Promise<SeriesPoint[]>;
  /**
   * Daily rollups of cumulative registers, maintained by `write` (rollups/contract.ts); both stores
   * keep them. Optional for wrappers and test doubles: readers fall back to `series`.
   */
  readonly rollups?: RegisterRollups;
  /**
   * Where retention removed readings this query would need: the time from which its answer is
   * complete, or undefined when nothing it covers is gone. Optional: a store without retention of
   * its own (or one whose retention the operator runs, as InfluxDB's) leaves it out.
   */
  completeFrom?(query: SeriesQuery): number | undefined;
  close(): Promise<void>;
}

/**
 * Part of a batch as the spool's log holds it: one UTF-8 JSON array (`[` … `]`, the text of
 * `JSON.stringify` of `count` readings, CRC-checked when read back from disk). A write's parts, in
 * order, hold exactly its batch, reading for reading. Serialising a batch and flattening that text
 * into one native string was the store's largest cost on the event loop (issue 16, BENCHMARKS.md), so
 * the bytes written once for durability are handed on.
 */
export interface EncodedReadings {
  readonly json: Uint8Array;
  readonly count: number;
}

export const aggregates = ['mean', 'min', 'max', 'sum', 'count', 'first', 'last'] as const;
export type Aggregate = (typeof aggregates)[number];

export interface SeriesQuery {
  /** Which measurement to read. */
  readonly kind: KindName;
  /** Filters; all optional, combined with AND. */
  readonly device?: string;
  readonly site?: string;
  readonly building?: string;
  /** Half-open window [from, to), epoch ms. */
  readonly from: number;
  readonly to: number;
  /**
   * Bucket width in ms. Absent: raw readings. Present: one point per device per bucket, `ts` =
   * bucket start (aligned to the epoch, as InfluxQL `GROUP BY time()`), with `agg` applied to
   * every numeric field (booleans count as 0/1; a state-code field such as `valve` answers `mean`
   * and `sum` with its last state in the bucket, see series-query.ts `fieldAggregate`).
   */
  readonly every?: number;
  readonly agg?: Aggregate;
  /** Restrict to these fields; default all fields of the kind. */
  readonly fields?: readonly string[];
  /** Cap on points returned (raw mode), oldest first. */
  readonly limit?: number;
}

export interface SeriesPoint {
  readonly ts: number;
  readonly device: string;
  /** null where the field had no value in that reading or bucket. */
  readonly values: Readonly<Record<string, FieldValue | null>>;
}

/** Thrown by a store that cannot take a write right now; the caller retries. */
export class StoreUnavailableError extends CodedError {
  override name = 'StoreUnavailableError';
  constructor(message: string, readonly retryAfterMs?: number, options?: { cause?: unknown }) {
    super('unavailable', 'unavailable', message, options);
  }
}

/**
 * Thrown by a store that refuses a batch as malformed (unknown kind, ts not epoch ms, a field of the
 * wrong type). Nothing of the batch is stored and retrying cannot help, so the writer drops and counts it.
 */
export class InvalidBatchError extends CodedError {
  override name = 'InvalidBatchError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_batch', 'invalid', message, options);
  }
}

/**
 * The latest reading of every device, served from memory and primed from the store on start.
 * It is a reading consumer: ingest hands it every accepted batch.
 */
export interface LatestCache {
  readonly name: string;
  prime(): Promise<void>;
  get(device: string): Reading | undefined;
  /** Devices that reported at least once, with the time of their latest reading. */
  size(): number;
  accept(readings: readonly Reading[]): void;
  /** Forget a deleted device. */
  forget(device: string): void;
}
