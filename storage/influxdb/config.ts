/**
 * How to reach InfluxDB (DESIGN.md §3, `ANJU_INFLUX_*`). Two API modes:
 * - 2.x / 3.x / Cloud: `token`, `org`, `bucket` → writes to `/api/v2/write`, `Authorization: Token`;
 * - 1.x: `db` (+ `rp`, `user`, `password`) → writes to the v1 `/write`, basic auth when a user is set.
 * Reads are InfluxQL over `/query` in both modes (`db` = the bucket on 2.x/3.x, through DBRP).
 */
export interface InfluxConfig {
  url: string;
  token?: string;
  org?: string;
  bucket?: string;
  db?: string;
  rp?: string;
  user?: string;
  password?: string;
  /** Per-request timeout; a write that timed out rejects as unavailable (a replay is idempotent). */
  timeoutMs?: number;
  /**
   * Precision of the timestamps in the lines written (default `ms`, the telemetry schema). `ns` lets
   * a writer keep points of one series and millisecond apart (the alarm event exporter).
   */
  precision?: 'ms' | 'ns';
}
