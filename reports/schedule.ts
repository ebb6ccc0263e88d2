import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { ReportStore, StoredReport, StoredReportKind } from '../storage/index.js';
import { ReportError, type AnyReport } from './contracts.js';
import type { Reports } from './index.js';
import { caltrackBaselineDays } from './baseline/sufficiency.js';
import { addDays, isValidTimezone, localDate, localMidnight } from './time.js';
import { createSerialQueue } from '../core/util/index.js';

/**
 * Monthly reports: on the 1st of every month at 02:00 in each site's time zone, last month's
 * savings, waste and fire-safety reports for every site are generated, stored and announced.
 *
 * node-cron only decides *when* to look; `runDue(now)` decides *what* is due, from the store:
 * for each site and kind, every whole local month that ended at or before the last scheduled time
 * (the latest 1st-of-month 02:00 at the site) and is not yet stored is generated, oldest first.
 * That one rule is the schedule, the catch-up on start (the process was down over a 1st: the
 * months it missed are made, up to `maxCatchUpMonths`) and the retry of a failed month (a store
 * error stops that site's kind for this run; the next run tries again). A site with no scheduled
 * report yet gets only the last month, not its whole history. Ids are deterministic
 * (`monthly-<kind>-<site>-<YYYY-MM>`), so a repeated run overwrites instead of duplicating.
 *
 * A month the calculations refuse (ReportError: no data, unknown site …) is logged and skipped
 * for good: it would fail the same way every time, and it must not hold up the months after it.
 *
 * Savings baseline: a configured period (per site, or for all) — for retrofit M&V, the year before
 * the retrofit — or else the 365 days before the reported month, what CalTRACK 2.0 (§2.2.1.1,
 * §3.1.3) needs for a sufficient baseline: a monthly report then compares the month with a model of
 * the year before it, weather-normalised. (A one-month baseline, the same month a year earlier,
 * could never be sufficient and was dropped.)
 * One cron task per time zone in use (node-cron's `timezone` option); zones of sites added later
 * are picked up after each run.
 */

export interface ReportScheduleConfig {
  /** Five-field cron expression, evaluated in each site's zone. Default `0 2 1 * *` (the 1st, 02:00). */
  readonly cron?: string;
  /** Zone of a site whose registry entry names none. Default Asia/Shanghai. */
  readonly defaultTimezone?: string;
  /** Fixed savings baseline, local dates `YYYY-MM-DD` (`to` exclusive), per site id … */
  readonly baselines?: Readonly<Record<string, { readonly from: string; readonly to: string }>>;
  /** … or for every site without its own. Without either: the 365 days before the reported month. */
  readonly baseline?: { readonly from: string; readonly to: string };
  /** Most missed months generated per site and kind after a long outage. Default 12. */
  readonly maxCatchUpMonths?: number;
  /** Kinds to generate. Default all three. */
  readonly kinds?: readonly StoredReportKind[];
}

/** A stored report with its data model, as announced. */
export type ScheduledReport = StoredReport & { readonly data: AnyReport };

export interface ReportScheduleDeps {
  readonly reports: Pick<Reports, 'savings' | 'waste' | 'fireSafety'>;
  readonly store: Pick<ReportStore, 'save' | 'latestTo'>;
  /** Every site, with its IANA zone where known. */
  readonly sites: () => Promise<readonly { readonly id: string; readonly timezone?: string }[]>;
  /** Told about each stored report (the CLI sends it to the alerts webhook channel). Errors are logged, not retried. */
  readonly announce?: (report: ScheduledReport) => void | Promise<void>;
  readonly logger: Logger;
  readonly clock?: () => number;
  /** Cluster: whether this node leads (storage/postgres/leader.ts); runs (and the catch-up) happen only on the leader. */
  readonly leads?: () => boolean;
}

export interface RunSummary {
  readonly generated: readonly { readonly id: string; readonly kind: StoredReportKind; readonly site: string; readonly month: string }[];
  readonly failed: readonly { readonly kind: StoredReportKind; readonly site: string; readonly month: string; readonly error: string }[];
}

export interface ReportScheduler {
  /** Catches up missed months, then schedules the monthly runs. */
  start(): Promise<RunSummary>;
  /** Generates every month due at `now` (default: the clock). Serialized: concurrent calls run one after another. */
  runDue(now?: number): Promise<RunSummary>;
  /** Stops the cron tasks and waits for a run in progress. */
  stop(): Promise<void>;
}

export const defaultMonthlyCron = '0 2 1 * *';
const allKinds: readonly StoredReportKind[] = ['savings', 'waste', 'fire_safety'];

interface Month {
  readonly y: number;
  /** 1..12 */
  readonly m: number;
}

const addMonths = (x: Month, n: number): Month => {
  const i = x.y * 12 + (x.m - 1) + n;
  return { y: Math.floor(i / 12), m: (i % 12) + 1 };
};
const monthKey = (x: Month) => `${x.y}-${String(x.m).padStart(2, '0')}`;
const firstDay = (x: Month) => `${monthKey(x)}-01`;
const monthIndex = (x: Month) => x.y * 12 + x.m - 1;

/** The latest scheduled time (1st of a month, 02:00 local) at or before `now`, as the month it falls in. */
export function lastScheduledMonth(now: number, tz: string): Month {
  const [y, m] = localDate(now, tz).split('-').map(Number) as [number, number];
  const thisMonth = { y, m };
  const at = localMidnight(firstDay(thisMonth), tz) + 2 * 3_600_000;
  return now >= at ? thisMonth : addMonths(thisMonth, -1);
}

export function createReportScheduler(config: ReportScheduleConfig, deps: ReportScheduleDeps): ReportScheduler {
  const expr = config.cron ?? defaultMonthlyCron;
  if (!cron.validate(expr)) throw new Error(`report schedule: invalid cron expression "${expr}"`);
  const defaultTz = config.defaultTimezone ?? 'Asia/Shanghai';
  const maxCatchUp = Math.max(1, config.maxCatchUpMonths ?? 12);
  const kinds = config.kinds ?? allKinds;
  const clock = deps.clock ?? Date.now;
  const log = deps.logger.child({ part: 'reports', component: 'schedule' });
  const tasks = new Map<string, ScheduledTask>();
  let stopped = false;
  const runs = createSerialQueue();

  const zoneOf = (s: { timezone?: string }) => (s.timezone && isValidTimezone(s.timezone) ? s.timezone : defaultTz);

  async function generate(kind: StoredReportKind, site: string, month: Month): Promise<AnyReport> {
    const from = firstDay(month);
    const to = firstDay(addMonths(month, 1));
    if (kind === 'waste') return deps.reports.waste({ site, from, to });
    if (kind === 'fire_safety') return deps.reports.fireSafety({ site, from, to });
    const b = config.baselines?.[site] ?? config.baseline ?? { from: addDays(from, -caltrackBaselineDays), to: from };
    return deps.reports.savings({ site, from, to, baselineFrom: b.from, baselineTo: b.to });
  }

  async function runOnce(now: number): Promise<RunSummary> {
    const generated: RunSummary['generated'][number][] = [];
    const failed: RunSummary['failed'][number][] = [];
    for (const site of await deps.sites()) {
      const tz = zoneOf(site);
      // The last month that has ended by the last scheduled time.
      const last = addMonths(lastScheduledMonth(now, tz), -1);
      for (const kind of kinds) {
        if (stopped) break;
        const latestTo = await deps.store.latestTo(site.id, kind, 'schedule');
        let first = last;
        if (latestTo !== undefined) {
          // The month after the latest stored one: latestTo is the local midnight starting it.
          const [y, m] = localDate(latestTo, tz).split('-').map(Number) as [number, number];
          first = { y, m };
        }
        if (monthIndex(first) < monthIndex(last) - maxCatchUp + 1) first = addMonths(last, -maxCatchUp + 1);
        for (let month = first; monthIndex(month) <= monthIndex(last); month = addMonths(month, 1)) {
          const key = monthKey(month);
          let data: AnyReport;
          try {
            data = await generate(kind, site.id, month);
          } catch (err) {
            failed.push({ kind, site: site.id, month: key, error: err instanceof Error ? err.message : String(err) });
            if (err instanceof ReportError) {
              log.warn({ site: site.id, kind, month: key, code: err.code, err: err.message }, 'monthly report refused; skipped');
              continue;
            }
            log.error({ site: site.id, kind, month: key, err }, 'monthly report failed; retried on the next run');
            break;
          }
          const id = `monthly-${kind.replace('_', '-')}-${site.id}-${key}`;
          const stored: ScheduledReport = {
            id, kind, site: site.id, from: data.period.from, to: data.period.to,
            ...(data.type === 'savings' ? { baselineFrom: data.baseline.from, baselineTo: data.baseline.to } : {}),
            createdAt: clock(), origin: 'schedule', data: { ...data, id },
          };
          try {
            await deps.store.save(stored);
          } catch (err) {
            failed.push({ kind, site: site.id, month: key, error: err instanceof Error ? err.message : String(err) });
            log.error({ site: site.id, kind, month: key, err }, 'storing the monthly report failed; retried on the next run');
            break;
          }
          generated.push({ id, kind, site: site.id, month: key });
          log.info({ id, site: site.id, kind, month: key }, 'monthly report stored');
          try {
            await deps.announce?.(stored);
          } catch (err) {
            log.warn({ id, err }, 'announcing the monthly report failed');
          }
        }
      }
    }
    return { generated, failed };
  }

  function runDue(now = clock()): Promise<RunSummary> {
    if (deps.leads?.() === false) return Promise.resolve({ generated: [], failed: [] });
    return runs.run(() => runOnce(now));
  }

  async function ensureTasks(): Promise<void> {
    if (stopped) return;
    const zones = new Set((await deps.sites()).map(zoneOf));
    zones.add(defaultTz);
    for (const tz of zones) {
      // Stopped while the sites were read (or a task started): a task made now would outlive stop().
      if (stopped) return;
      if (tasks.has(tz)) continue;
      const task = cron.createTask(
        expr,
        async () => {
          try {
            const r = await runDue();
            log.info({ timezone: tz, generated: r.generated.length, failed: r.failed.length }, 'monthly report run finished');
            await ensureTasks();
          } catch (err) {
            log.error({ err, timezone: tz }, 'monthly report run failed');
          }
        },
        { timezone: tz, name: `reports-monthly-${tz}`, noOverlap: true },
      );
      tasks.set(tz, task);
      await task.start();
    }
  }

  return {
    async start() {
      const summary = await runDue();
      if (summary.generated.length || summary.failed.length) {
        log.info({ generated: summary.generated.length, failed: summary.failed.length }, 'monthly reports caught up');
      }
      await ensureTasks();
      return summary;
    },
    runDue,
    async stop() {
      stopped = true;
      for (const t of tasks.values()) await t.destroy();
      tasks.clear();
      await runs.idle();
    },
  };
}
