import { escape } from '@influxdata/influxdb-client';
import type { Logger } from 'pino';
import { kindNames, type KindName, type Reading } from '../../core/index.js';
import { addDays } from '../../core/time.js';
import type { RegisterDay, RegisterDayQuery, RegisterReset, RegisterRollups } from '../rollups/contract.js';
import { dayBoundaries, planDay, registerFields, summarizeDay, touchedDays, type RegisterRead, type TouchedDay } from '../rollups/summarize.js';
import type { InfluxHttp, QueryResult } from './http.js';
import { quoteIdent, quoteString } from './influxql.js';
import { chunkLines } from './lines.js';
import { createSerialQueue } from '../../core/util/index.js';

/**
 * Daily register rollups on InfluxDB (storage/rollups/contract.ts), measurement `anju_register_day`,
 * maintained by Anju itself after each write rather than by a continuous query (1.x) or a task
 * (2.x), because:
 * - a CQ runs over the latest interval only (at most RESAMPLE FOR back): readings that arrive late —
 *   a hub replaying its spool after an outage, a meter that buffered a day, `anju sim backfill` —
 *   are never rolled up; a task has the same window, and 3.x has neither;
 * - InfluxQL cannot express the row: the chain of consecutive reads with resets set aside and the
 *   time they cover, in the site's local day (GROUP BY time(1d) with tz() gets the day but not the
 *   chain);
 * - and the write path knows exactly which device-days a batch touched.
 * So `write` resolves only after the touched days' rows are written: a batch whose rollup update
 * failed is retried whole by the spool forwarder (the readings overwrite themselves), never left
 * with stale rows. Within a process the updates run one at a time; across processes (a backfill
 * into the same database while a hub runs) two updates of one device-day can interleave, which the
 * next write of that day repairs — live days are rewritten with every reading.
 *
 * A database that held register readings before Anju kept rollups in it gets them built, in the
 * background, the first time a reader asks (`ready`); until the build has written its mark
 * (`anju_rollup_state`), readers read raw readings.
 *
 * Series key (device, register) and time = the date's UTC midnight (a label, not an instant), so a
 * row is replaced whatever zone built it. Two fields: `advance` (float: the day's own use, for
 * InfluxQL panels) and `day`, the whole row as one JSON string — influxd's query time grows with the
 * number of fields read, and a year of a site's meters read as one field answers about five times
 * faster than as nine. A row with `reads = 0` is a tombstone left by `rebuild` (InfluxQL over /query
 * cannot delete on 2.x): readers skip it.
 */

const measurement = 'anju_register_day';
/** Statements per /query request (each answers one device-day or one device's rows). */
const STATEMENTS = 50;

const dateTime = (date: string): number => Date.parse(`${date}T00:00:00Z`);
const dateOfTime = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const stringField = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** The `day` field: [firstTs, firstValue, lastTs, lastValue, advance, coveredMs, reads, timezone, resets]. */
type Packed = [number, number, number, number, number, number, number, string, RegisterReset[]];

function toLine(d: RegisterDay): string {
  const tags = `building=${escape.tag(d.building)},device=${escape.tag(d.device)},kind=${escape.tag(d.kind)},register=${escape.tag(d.field)},site=${escape.tag(d.site)}`;
  const day: Packed = [d.firstTs, d.firstValue, d.lastTs, d.lastValue, d.advance, d.coveredMs, d.reads, d.timezone, [...d.resets]];
  return `${measurement},${tags} advance=${String(d.advance)},day=${stringField(JSON.stringify(day))} ${dateTime(d.date)}`;
}

function tombstone(key: Pick<RegisterDay, 'device' | 'kind' | 'site' | 'building' | 'field' | 'date' | 'timezone'>): RegisterDay {
  return { ...key, reads: 0, firstTs: 0, firstValue: 0, lastTs: 0, lastValue: 0, advance: 0, coveredMs: 0, resets: [] };
}

function rowsOf(results: readonly QueryResult[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const r of results) {
    for (const s of r.series ?? []) {
      for (const v of s.values) {
        const row: Record<string, unknown> = { ...s.tags };
        s.columns.forEach((c, i) => { if (v[i] !== null) row[c] = v[i]; });
        out.push(row);
      }
    }
  }
  return out;
}

function toDay(r: Record<string, unknown>): RegisterDay {
  const [firstTs, firstValue, lastTs, lastValue, advance, coveredMs, reads, timezone, resets] = JSON.parse(String(r.day)) as Packed;
  return {
    device: String(r.device), kind: String(r.kind) as KindName, site: String(r.site), building: String(r.building), field: String(r.register),
    date: dateOfTime(Number(r.time)), timezone, reads, firstTs, firstValue, lastTs, lastValue, advance, coveredMs, resets,
  };
}

async function queryAll(http: InfluxHttp, statements: readonly string[]): Promise<QueryResult[]> {
  const out: QueryResult[] = [];
  for (let i = 0; i < statements.length; i += STATEMENTS) out.push(...(await http.query(statements.slice(i, i + STATEMENTS))));
  return out;
}

export interface InfluxRollups extends RegisterRollups {
  /**
   * Before the first write of this process: a database without register readings is marked built
   * (everything from now on is rolled up as it is written), so readers need no build.
   */
  prepare(): Promise<void>;
  /** After a batch is acknowledged: keeps the rows of the days it touched. */
  maintain(batch: readonly Reading[]): Promise<void>;
}

/** An InfluxDB duration as SHOW RETENTION POLICIES prints it ("720h0m0s", "0s" = forever) in ms; undefined if unreadable. */
export function parseInfluxDuration(text: string): number | undefined {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!m || text === '') return undefined;
  return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000;
}

export function createInfluxRollups(deps: {
  http: InfluxHttp; siteTimezone: (site: string) => string; logger?: Logger;
  /** The retention policy raw readings are written to (1.x `rp`); the database's default when absent. */
  retentionPolicy?: string;
  now?: () => number;
}): InfluxRollups {
  const { http, siteTimezone } = deps;
  const now = deps.now ?? Date.now;

  /**
   * From when every raw reading of `kind` at `site` is still stored, so a day from then on can be made
   * again from them. InfluxDB drops a shard group once its end is older than now − the retention
   * policy's duration, so nothing newer than that is ever gone (0: the policy keeps data forever).
   * Where the policy cannot be read (2.x/3.x need not answer SHOW RETENTION POLICIES), the earliest
   * raw reading of the kind at the site stands in: what is older may have expired.
   */
  async function rawFloor(site: string, kind: KindName, field: string): Promise<number> {
    try {
      const [answer] = await http.query(['SHOW RETENTION POLICIES']);
      const s = answer?.series?.[0];
      if (s) {
        const col = (name: string) => s.columns.indexOf(name);
        const policy = s.values.find((v) => (deps.retentionPolicy !== undefined ? v[col('name')] === deps.retentionPolicy : v[col('default')] === true));
        const duration = policy ? parseInfluxDuration(String(policy[col('duration')])) : undefined;
        if (duration !== undefined) return duration === 0 ? 0 : now() - duration;
      }
    } catch (err) {
      deps.logger?.debug({ err }, 'InfluxDB did not list its retention policies; the earliest stored reading bounds the rollup rebuild instead');
    }
    const first = await http.query([`SELECT first(${quoteIdent(field)}) FROM ${quoteIdent(kind)} WHERE "site" = ${quoteString(site)}`]);
    const lo = first[0]?.series?.[0]?.values[0]?.[0];
    return typeof lo === 'number' ? lo : now();
  }
  let built = false;
  let building: Promise<void> | undefined;
  const markBuilt = async () => {
    await http.write([`anju_rollup_state,name=register_days built=true ${Date.now()}`]);
    built = true;
  };
  /** Every site's register readings, month by month, into rows; then the mark. */
  const buildAll = async () => {
    for (const kind of kindNames) {
      for (const field of registerFields(kind)) {
        const sites = await http.query([`SHOW TAG VALUES FROM ${quoteIdent(kind)} WITH KEY = "site"`]);
        for (const row of rowsOf(sites)) {
          const site = String(row.value);
          const timezone = siteTimezone(site);
          const span = await http.query([
            `SELECT first(${quoteIdent(field)}) FROM ${quoteIdent(kind)} WHERE "site" = ${quoteString(site)}`,
            `SELECT last(${quoteIdent(field)}) FROM ${quoteIdent(kind)} WHERE "site" = ${quoteString(site)}`,
          ]);
          const lo = span[0]?.series?.[0]?.values[0]?.[0];
          const hi = span[1]?.series?.[0]?.values[0]?.[0];
          if (typeof lo !== 'number' || typeof hi !== 'number') continue;
          const bounds = dayBoundaries(timezone);
          const last = bounds.dateOf(hi).date;
          for (let date = bounds.dateOf(lo).date; date <= last; date = addDays(date, 31)) {
            const to = addDays(date, 30);
            // Everything the readings hold, however old: a first build has no rows to keep.
            await serial(() => rebuildRange({ site, kind, field, fromDate: date, toDate: to < last ? to : last, timezone }));
          }
        }
      }
    }
    await markBuilt();
  };
  const queue = createSerialQueue();
  const serial = <T>(job: () => Promise<T>): Promise<T> => queue.run(job);

  const write = async (rows: readonly RegisterDay[]) => {
    for (const body of chunkLines(rows.map(toLine), 5_000, 4 * 1024 * 1024)) await http.write(body);
  };

  /** Raw register reads of each device-day: one statement per day (under influxd's 10,000-row answers). */
  async function recompute(days: readonly TouchedDay[]): Promise<RegisterDay[]> {
    const statements = days.map((d) => `SELECT ${quoteIdent(d.field)} FROM ${quoteIdent(d.kind)} WHERE "device" = ${quoteString(d.device)} AND time >= ${d.start}ms AND time < ${d.end}ms`);
    const results = await queryAll(http, statements);
    const out: RegisterDay[] = [];
    days.forEach((d, i) => {
      const reads: RegisterRead[] = [];
      for (const s of results[i]?.series ?? []) {
        const col = s.columns.indexOf(d.field);
        for (const v of s.values) if (typeof v[col] === 'number') reads.push({ ts: Number(v[0]), value: v[col] as number });
      }
      const row = summarizeDay(d, reads);
      if (row) out.push(row);
    });
    return out;
  }

  async function storedRows(touched: readonly TouchedDay[]): Promise<Map<string, RegisterDay>> {
    const span = new Map<string, { device: string; field: string; lo: string; hi: string }>();
    for (const t of touched) {
      const k = `${t.device}\u0000${t.field}`;
      const s = span.get(k);
      if (!s) span.set(k, { device: t.device, field: t.field, lo: t.date, hi: t.date });
      else { if (t.date < s.lo) s.lo = t.date; if (t.date > s.hi) s.hi = t.date; }
    }
    const statements = [...span.values()].map((s) => `SELECT "day" FROM ${measurement} WHERE "device" = ${quoteString(s.device)} AND "register" = ${quoteString(s.field)} AND time >= ${dateTime(s.lo)}ms AND time <= ${dateTime(s.hi)}ms GROUP BY *`);
    const out = new Map<string, RegisterDay>();
    for (const r of rowsOf(await queryAll(http, statements))) {
      const d = toDay(r);
      if (d.reads > 0) out.set(`${d.device}\u0000${d.field}\u0000${d.date}`, d);
    }
    return out;
  }

  /** Marked built, or now marked because there is nothing to build; false: readings without rollups exist. */
  const checkMark = async (): Promise<boolean> => {
    if (built) return true;
    const mark = await http.query(['SELECT "built" FROM anju_rollup_state LIMIT 1']);
    if (mark[0]?.series?.length) return (built = true);
    const any = await http.query(kindNames.flatMap((k) => registerFields(k).map((f) => `SELECT first(${quoteIdent(f)}) FROM ${quoteIdent(k)}`)));
    if (any.some((r) => r.series?.length)) return false;
    await markBuilt();
    return true;
  };
  let prepared: Promise<void> | undefined;

  const self: InfluxRollups = {
    prepare() {
      prepared ??= checkMark().then(() => undefined, (err: unknown) => {
        prepared = undefined;
        throw err;
      });
      return prepared;
    },

    async ready() {
      if (await checkMark()) return true;
      building ??= buildAll().then(
        () => deps.logger?.info('daily register rollups built from the readings stored before them'),
        (err: unknown) => {
          building = undefined;
          deps.logger?.warn({ err }, 'building the daily register rollups failed; the next report tries again');
        },
      );
      return false;
    },

    maintain(batch) {
      return serial(async () => {
        const touched = touchedDays(batch, siteTimezone);
        if (touched.length === 0) return;
        const stored = await storedRows(touched);
        const next: RegisterDay[] = [];
        const again: TouchedDay[] = [];
        for (const t of touched) {
          // Readings written before the rollups existed (or by another process) may lie in a day
          // without a row: a missing row is recomputed from the store, never assumed empty.
          const plan = planDay(t, stored.get(`${t.device}\u0000${t.field}\u0000${t.date}`), false);
          if ('row' in plan) next.push(plan.row);
          else again.push(t);
        }
        next.push(...(await recompute(again)));
        await write(next);
      });
    },

    async days(q: RegisterDayQuery) {
      if (q.devices && q.devices.length === 0) return [];
      const devices = q.devices ? ` AND (${q.devices.map((d) => `"device" = ${quoteString(d)}`).join(' OR ')})` : '';
      // GROUP BY device: influxd's row limit counts per series, so a long range stays answerable.
      const rows = rowsOf(await http.query([`SELECT "day" FROM ${measurement} WHERE "site" = ${quoteString(q.site)} AND "kind" = ${quoteString(q.kind)} AND "register" = ${quoteString(q.field)} AND time >= ${dateTime(q.fromDate)}ms AND time <= ${dateTime(q.toDate)}ms${devices} GROUP BY *`]));
      return rows.map(toDay).filter((d) => d.reads > 0).sort((a,
        b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
    },

    rebuild(q) {
      return serial(async () => {
        // Only days whose readings are all still stored raw (the embedded store's rule,
        // storage/embedded/rollups.ts): a day that began before the raw floor lost readings to the
        // retention policy, and its row, in the zone it was made in, is all that is left of it — a
        // tombstone would erase a savings report's baseline for good. Those rows stay as they are.
        const bounds = dayBoundaries(q.timezone);
        const floor = await rawFloor(q.site, q.kind, q.field);
        const floorDay = bounds.dateOf(floor).date;
        const firstWhole = bounds.startOf(floorDay) >= floor ? floorDay : addDays(floorDay, 1);
        if (firstWhole > q.toDate) return 0;
        return rebuildRange(firstWhole > q.fromDate ? { ...q, fromDate: firstWhole } : q);
      });
    },
  };

  /** Every row of the range made again from the raw readings, in the asked zone; days without any, tombstoned. */
  async function rebuildRange(q: Parameters<RegisterRollups['rebuild']>[0]): Promise<number> {
    const bounds = dayBoundaries(q.timezone);
    const existing = rowsOf(await http.query([`SELECT "day" FROM ${measurement} WHERE "site" = ${quoteString(q.site)} AND "kind" = ${quoteString(q.kind)} AND "register" = ${quoteString(q.field)} AND time >= ${dateTime(q.fromDate)}ms AND time <= ${dateTime(q.toDate)}ms GROUP BY *`])).map(toDay);
    const devices = new Map<string, { site: string; building: string }>();
    for (const d of existing) devices.set(d.device, { site: d.site, building: d.building });
    // Devices with readings in the range but no rows yet.
    const from = bounds.startOf(q.fromDate);
    const to = bounds.startOf(addDays(q.toDate, 1));
    const seen = await http.query([`SELECT last(${quoteIdent(q.field)}) FROM ${quoteIdent(q.kind)} WHERE "site" = ${quoteString(q.site)} AND time >= ${from}ms AND time < ${to}ms GROUP BY "device", "building"`]);
    for (const s of seen[0]?.series ?? []) if (s.tags?.device) devices.set(s.tags.device, { site: q.site, building: s.tags.building ?? '' });
    const days: TouchedDay[] = [];
    for (const [device, where] of devices) {
      for (let date = q.fromDate; date <= q.toDate; date = addDays(date, 1)) {
        days.push({ device, kind: q.kind, site: where.site, building: where.building, field: q.field, date, timezone: q.timezone,
          start: bounds.startOf(date), end: bounds.startOf(addDays(date, 1)), reads: [] });
      }
    }
    const rows = await recompute(days);
    const have = new Set(rows.map((r) => `${r.device}\u0000${r.date}`));
    const tombstones = days.filter((d) => !have.has(`${d.device}\u0000${d.date}`)).map((d) => tombstone(d));
    await write([...rows, ...tombstones]);
    return rows.length;
  }
  return self;
}
