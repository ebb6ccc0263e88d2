import type { Page } from '../state/contract.js';

/**
 * The ReportStore contract: the monthly reports the scheduler generates, kept so
 * `GET /api/reports` can list them and `GET /api/reports/{id}` re-render them in any format and
 * language. The report is kept as its JSON data model; rendering happens on read. Implemented by
 * `embedded/reports.ts` (DuckDB) now, by PostgreSQL in cluster mode; both pass
 * `test/storage/report-store.contract.ts`. Times are epoch ms.
 */

export const storedReportKinds = ['savings', 'waste', 'fire_safety'] as const;
export type StoredReportKind = (typeof storedReportKinds)[number];

/** What a list shows of a stored report: everything but the report itself. */
export interface StoredReportMeta {
  readonly id: string;
  readonly kind: StoredReportKind;
  readonly site: string;
  /** Reporting period, [from, to) epoch ms. */
  readonly from: number;
  readonly to: number;
  readonly baselineFrom?: number;
  readonly baselineTo?: number;
  readonly createdAt: number;
  /** `schedule` for the monthly run (and its catch-up), `manual` for anything else. */
  readonly origin: 'schedule' | 'manual';
}

export interface StoredReport extends StoredReportMeta {
  /** The report's data model (reports/contracts.ts), as JSON.parse gives it back. */
  readonly data: unknown;
}

export interface StoredReportQuery {
  readonly limit: number;
  readonly offset: number;
  readonly site?: string;
  /** Only reports of these sites (a caller's site scope, applied before paging); an empty list matches none. */
  readonly sites?: readonly string[];
  readonly kind?: StoredReportKind;
}

export interface ReportStore {
  /** Inserts, or replaces a report with the same id (the scheduler's ids are deterministic, so a re-run overwrites). */
  save(report: StoredReport): Promise<void>;
  /** Newest reporting period first, then newest created. */
  list(q: StoredReportQuery): Promise<Page<StoredReportMeta>>;
  get(id: string): Promise<StoredReport | undefined>;
  /** The latest reporting-period end (`to`) stored for a site and kind with the given origin, if any. */
  latestTo(site: string, kind: StoredReportKind, origin?: StoredReportMeta['origin']): Promise<number | undefined>;
  close(): Promise<void>;
}
