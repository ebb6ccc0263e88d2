import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import cron from 'node-cron';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ReportError, type AnyReport, type FireSafetyParams, type SavingsParams, type WasteParams } from '../../reports/contracts.js';
import { createReportScheduler, lastScheduledMonth, type ScheduledReport } from '../../reports/schedule.js';
import { localMidnight } from '../../reports/time.js';
import { createEmbeddedDatabase, type EmbeddedDatabase } from '../../storage/embedded/index.js';
import { fireSafetyReport, savingsReport, wasteReport } from './render-fixtures.js';

/**
 * The monthly schedule against the real embedded report store, with an injected clock and
 * calculations stubbed to return the fixture reports for the period asked (the calculations have
 * their own tests).
 */

const logger = pino({ level: 'silent' });
const SH = 'Asia/Shanghai';
const NY = 'America/New_York';

type Call = { kind: string; params: SavingsParams | WasteParams | FireSafetyParams };

function stubReports(zones: Record<string, string>, fail?: (kind: string, from: string) => Error | undefined) {
  const calls: Call[] = [];
  const period = (p: { site: string; from: unknown; to: unknown }) => {
    const tz = zones[p.site] ?? SH;
    const from = localMidnight(String(p.from), tz);
    const to = localMidnight(String(p.to), tz);
    return { site: { id: p.site, name: p.site, timezone: tz }, period: { from, to, firstDate: String(p.from), lastDate: String(p.to),
      days: Math.round((to - from) / 86_400_000) } };
  };
  const run = async <R extends AnyReport>(kind: string, params: Call['params'], base: R): Promise<R> => {
    calls.push({ kind, params });
    const e = fail?.(kind, String(params.from));
    if (e) throw e;
    return { ...base, ...period(params) };
  };
  return {
    calls,
    reports: {
      savings: (p: SavingsParams) => run('savings', p, { ...savingsReport, baseline: { ...savingsReport.baseline, from: localMidnight(String(p.baselineFrom), SH), to: localMidnight(String(p.baselineTo), SH) } }),
      waste: (p: WasteParams) => run('waste', p, wasteReport),
      fireSafety: (p: FireSafetyParams) => run('fire_safety', p, fireSafetyReport),
    },
  };
}

describe('lastScheduledMonth', () => {
  it('is this month from 02:00 local on the 1st, else the previous one', () => {
    // 2025-05-01 01:59 +08:00 (still April 30 in UTC) → April's run (April 1) is the last.
    expect(lastScheduledMonth(Date.UTC(2025, 3, 30, 17, 59), SH)).toEqual({ y: 2025, m: 4 });
    expect(lastScheduledMonth(Date.UTC(2025, 3, 30, 18, 0), SH)).toEqual({ y: 2025, m: 5 });
    // The same instant in New York is still April 30 local.
    expect(lastScheduledMonth(Date.UTC(2025, 3, 30, 18, 0), NY)).toEqual({ y: 2025, m: 4 });
    // January 1 01:00 local rolls back to December.
    expect(lastScheduledMonth(Date.UTC(2024, 11, 31, 17), SH)).toEqual({ y: 2024, m: 12 });
    expect(lastScheduledMonth(Date.UTC(2025, 0, 1, 12), SH)).toEqual({ y: 2025, m: 1 });
  });
});

describe('monthly report schedule', () => {
  let dir: string;
  let db: EmbeddedDatabase;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anju-sched-'));
    db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '256MB', threads: 1 }, { logger });
  });
  afterEach(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  const sites = [{ id: 'site-1', timezone: SH }];

  it('generates last month for each kind, stores and announces it; the baseline is the 365 days before the month', async () => {
    const stub = stubReports({});
    const announced: ScheduledReport[] = [];
    const s = createReportScheduler({}, { reports: stub.reports, store: db.reports, sites: async () => sites, announce: (r) => { announced.push(r); },
      logger });
    const r = await s.runDue(Date.UTC(2025, 3, 30, 18, 30)); // 2025-05-01 02:30 +08:00
    expect(r.generated.map((g) => `${g.kind}/${g.month}`)).toEqual(['savings/2025-04', 'waste/2025-04', 'fire_safety/2025-04']);
    expect(stub.calls[0]?.params).toEqual({ site: 'site-1', from: '2025-04-01', to: '2025-05-01', baselineFrom: '2024-04-01', baselineTo: '2025-04-01' });
    expect(announced.map((a) => a.id)).toEqual(['monthly-savings-site-1-2025-04', 'monthly-waste-site-1-2025-04', 'monthly-fire-safety-site-1-2025-04']);
    const list = await db.reports.list({ limit: 10, offset: 0, site: 'site-1' });
    expect(list.total).toBe(3);
    const got = await db.reports.get('monthly-savings-site-1-2025-04');
    expect(got?.origin).toBe('schedule');
    expect(got?.from).toBe(localMidnight('2025-04-01', SH));
    expect(got?.baselineFrom).toBe(localMidnight('2024-04-01', SH));
    expect((got?.data as AnyReport).type).toBe('savings');
    expect((got?.data as AnyReport).id).toBe('monthly-savings-site-1-2025-04');
    // Running again at the same time finds nothing due.
    expect((await s.runDue(Date.UTC(2025, 3, 30, 19))).generated).toEqual([]);
    await s.stop();
  });

  it('stopped while it reads the sites to schedule them: no task is made afterwards', async () => {
    // Found in review: stop() returned at once (no task yet, no run), then the schedule made and started
    // its tasks — a timer that outlived the database and would have run against it, closed, on the 1st.
    let calls = 0;
    let reached!: () => void;
    const reading = new Promise<void>((r) => { reached = r; });
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    const s = createReportScheduler({}, {
      reports: stubReports({}).reports, store: db.reports, logger, clock: () => Date.UTC(2025, 3, 15),
      sites: async () => {
        calls += 1;
        if (calls === 2) {
          reached();
          await held;
        }
        return sites;
      },
    });
    const started = s.start();
    await reading;
    await s.stop();
    release();
    await started;
    const live = [...cron.getTasks().values()].filter((t) => t.name?.startsWith('reports-monthly-') === true && t.getStatus() !== 'destroyed');
    expect(live.map((t) => t.name)).toEqual([]);
  });

  it('does not run before 02:00 local on the 1st', async () => {
    const stub = stubReports({});
    const s = createReportScheduler({ kinds: ['waste'] }, { reports: stub.reports, store: db.reports, sites: async () => sites, logger });
    await s.runDue(Date.UTC(2025, 2, 31, 18, 30)); // April 1 02:30 → March
    const r = await s.runDue(Date.UTC(2025, 3, 30, 17, 59)); // May 1 01:59 +08:00: April not yet due
    expect(r.generated).toEqual([]);
    expect(stub.calls.map((c) => c.params.from)).toEqual(['2025-03-01']);
  });

  it('catches up missed months on start, oldest first, and uses a configured baseline', async () => {
    const stub = stubReports({});
    let now = Date.UTC(2025, 2, 31, 19); // 2025-04-01 03:00 +08:00
    const s1 = createReportScheduler({ kinds: ['savings'] }, { reports: stub.reports, store: db.reports, sites: async () => sites, logger, clock: () => now });
    expect((await s1.runDue()).generated.map((g) => g.month)).toEqual(['2025-03']);
    await s1.stop();
    // Down until mid-July: April, May and June were missed.
    now = Date.UTC(2025, 6, 15, 4);
    const s2 = createReportScheduler(
      { kinds: ['savings'], baselines: { 'site-1': { from: '2024-01-01', to: '2025-01-01' } } },
      { reports: stub.reports, store: db.reports, sites: async () => sites, logger, clock: () => now },
    );
    const r = await s2.start();
    expect(r.generated.map((g) => g.month)).toEqual(['2025-04', '2025-05', '2025-06']);
    expect(stub.calls.slice(1).map((c) => [c.params.from, (c.params as SavingsParams).baselineFrom])).toEqual([
      ['2025-04-01', '2024-01-01'], ['2025-05-01', '2024-01-01'], ['2025-06-01', '2024-01-01'],
    ]);
    // A cron task per zone, firing on the 1st at 02:00 Shanghai time (18:00 UTC the day before);
    // node-cron computes its next run from the real clock, so only the local wall time is checked.
    const task = [...cron.getTasks().values()].find((t) => t.name === `reports-monthly-${SH}`);
    expect(task).toBeDefined();
    const local = new Date((task?.getNextRun()?.getTime() ?? 0) + 8 * 3_600_000);
    expect([local.getUTCDate(), local.getUTCHours(), local.getUTCMinutes()]).toEqual([1, 2, 0]);
    await s2.stop();
    expect([...cron.getTasks().values()].some((t) => t.name === `reports-monthly-${SH}`)).toBe(false);
  });

  it('caps the catch-up, skips months the calculations refuse, and retries after a store error', async () => {
    let storeDown = true;
    const stub = stubReports({}, (kind, from) => {
      if (from === '2025-02-01') return new ReportError('no_data', 'no meters reported in February');
      if (from === '2025-04-01' && storeDown) return new Error('telemetry store unavailable');
      return undefined;
    });
    const s = createReportScheduler({ kinds: ['waste'], maxCatchUpMonths: 3 }, { reports: stub.reports, store: db.reports, sites: async () => sites, logger });
    await db.reports.save({ id: 'old', kind: 'waste', site: 'site-1', from: localMidnight('2024-01-01', SH), to: localMidnight('2024-02-01', SH), createdAt: 0, origin: 'schedule', data: wasteReport });
    // Now: 2025-05-10. Due: Feb 2024 … Apr 2025, capped to the last 3: Feb, Mar, Apr 2025.
    const r1 = await s.runDue(Date.UTC(2025, 4, 10));
    expect(r1.failed.map((f) => f.month)).toEqual(['2025-02', '2025-04']);
    expect(r1.generated.map((g) => g.month)).toEqual(['2025-03']);
    storeDown = false;
    const r2 = await s.runDue(Date.UTC(2025, 4, 10, 1));
    expect(r2.generated.map((g) => g.month)).toEqual(['2025-04']);
    expect(r2.failed).toEqual([]);
  });

  it('follows each site’s own time zone', async () => {
    const stub = stubReports({ ny: NY });
    const s = createReportScheduler({ kinds: ['fire_safety'] }, {
      reports: stub.reports, store: db.reports, logger,
      sites: async () => [{ id: 'sh', timezone: SH }, { id: 'ny', timezone: NY }, { id: 'nozone' }],
    });
    // 2025-05-01 02:30 in Shanghai = 2025-04-30 14:30 in New York.
    const r = await s.runDue(Date.UTC(2025, 3, 30, 18, 30));
    expect(r.generated.map((g) => `${g.site}/${g.month}`)).toEqual(['sh/2025-04', 'ny/2025-03', 'nozone/2025-04']);
    const ny = await db.reports.get('monthly-fire-safety-ny-2025-03');
    expect(ny?.from).toBe(localMidnight('2025-03-01', NY));
  });
});
