import type { KindName } from '../../core/index.js';

/**
 * Daily rollups of cumulative registers (power meters' `energy` kWh, water meters' `volume` m³):
 * one row per device, register field and local calendar day, kept by the store as readings arrive
 * so that a year of consumption is ~365 rows per meter instead of ~35,000 readings.
 *
 * A row summarises the chain of the day's own reads exactly; what happens between two days (the
 * interval from one day's last read to the next day's first) is left to the reader, who has both
 * rows and decides how to split it across the midnight, or to call it a gap (reports/consumption.ts).
 * So a row depends on nothing but the day's reads and the zone that defines the day: no gap
 * threshold or other policy is baked in, and late, replayed or backfilled reads only ever mean
 * "recompute the days they fall in".
 *
 * Every store keeps the same semantics (test/storage/rollups.contract.ts runs against all):
 * - `write` maintains the rows of every (device, field, day) a batch touches before it resolves:
 *   appending a newer read extends the row, anything else (a late or rewritten read, a replay)
 *   recomputes the day from the stored readings. A write that resolved has consistent rollups.
 * - Days are local days in the site's zone as the store knows it when writing (`siteTimezone`,
 *   default Asia/Shanghai); each row records its zone. A reader asking in another zone calls
 *   `rebuild` for the range first (the site's zone changed since), which rewrites every row of
 *   the range in the asked zone.
 */

export interface RegisterReset {
  readonly ts: number;
  readonly previous: number;
  readonly value: number;
}

export interface RegisterDay {
  readonly device: string;
  readonly kind: KindName;
  readonly site: string;
  readonly building: string;
  /** The cumulative field, e.g. `energy`. */
  readonly field: string;
  /** Local calendar date YYYY-MM-DD in `timezone`. */
  readonly date: string;
  readonly timezone: string;
  /** Register reads in the day (≥ 1; days without reads have no row). */
  readonly reads: number;
  readonly firstTs: number;
  readonly firstValue: number;
  readonly lastTs: number;
  readonly lastValue: number;
  /** Sum of the non-negative advances between consecutive reads of the day. */
  readonly advance: number;
  /** Time spanned by those intervals, ms (intervals ending in a reset are not covered: their use is unknown). */
  readonly coveredMs: number;
  /** Negative steps between consecutive reads of the day: meter replaced, register wrapped. Never counted. */
  readonly resets: readonly RegisterReset[];
}

export interface RegisterDayQuery {
  readonly site: string;
  readonly kind: KindName;
  readonly field: string;
  /** Inclusive local dates. */
  readonly fromDate: string;
  readonly toDate: string;
  /** Restrict to these devices; default every device of the site. */
  readonly devices?: readonly string[];
}

export interface RegisterRollups {
  /** Rows of the site's devices for the dates, whatever zone each was built in, ordered by device then date. */
  days(q: RegisterDayQuery): Promise<RegisterDay[]>;
  /**
   * Recomputes every row of the site's devices of `kind` over the local dates [fromDate, toDate]
   * in `timezone` from the stored readings; returns the number of rows written.
   */
  rebuild(q: Omit<RegisterDayQuery, 'devices'> & { readonly timezone: string }): Promise<number>;
  /**
   * Whether every stored reading is in the rollups. False while a store that held readings before
   * it kept rollups (an InfluxDB database written by an older release) builds them: readers then
   * read raw readings. Absent: always true.
   */
  ready?(): Promise<boolean>;
}

/** Where no site zone is known (as reports' default). */
export const defaultRollupTimezone = 'Asia/Shanghai';
