import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FieldValue, Reading } from '../../core/index.js';
import { kindTables } from '../../storage/embedded/schema.js';
import { createEmbeddedDatabase, embeddedDatabaseFile, type EmbeddedDatabase } from '../../storage/index.js';

/**
 * The hourly aggregates against a reference computed here from what was written (a later write of
 * the same (device, ts) merging its fields over the earlier one, as the store does): in order
 * (the incremental path), out of order and rewritten (the recompute path), rows from before
 * `last_ts` existed, and readings past the raw floor folded exactly once however often they come.
 * Each case runs with the pending hours written at every write (flush interval 0) and held in
 * memory until the close (an hour); then: an hourly read sees what was just written, and a crash
 * before the flush leaves marked hours that the next open recomputes.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 5, 1, 12, 20);
const RAW_DAYS = 30;
const fields = kindTables.smoke_detector.fields;

const dirs: string[] = [];
const dbs: EmbeddedDatabase[] = [];
afterEach(async () => {
  await Promise.all(dbs.splice(0).map((d) => d.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function open(dir: string, now: () => number, hourlyFlushMs = 0): Promise<EmbeddedDatabase> {
  const db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '128MB', threads: 1, retention: { rawDays: RAW_DAYS }, hourlyFlushMs },
    { logger: pino({ level: 'silent' }), now });
  dbs.push(db);
  return db;
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'anju-hourly-'));
  dirs.push(dir);
  return dir;
}

async function closeDb(db: EmbeddedDatabase): Promise<void> {
  dbs.splice(dbs.indexOf(db), 1);
  await db.close();
}

/** Runs SQL on the closed database's file. */
async function onFile<T>(dir: string, fn: (q: (sql: string) => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(join(dir, embeddedDatabaseFile));
  const conn = await instance.connect();
  try {
    return await fn(async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[]);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** Holds the first statement `sql` run on any connection until `release()`; `reached` resolves once it is held. */
function holdFirst(sql: string): { reached: Promise<void>; release(): void; restore(): void } {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  let held = false;
  const run = DuckDBConnection.prototype.run;
  const spy = vi.spyOn(DuckDBConnection.prototype, 'run').mockImplementation(async function (this: DuckDBConnection, statement, ...rest) {
    if (statement === sql && !held) {
      held = true;
      reach();
      await released;
    }
    return run.call(this, statement, ...rest);
  });
  return {
    reached, release, restore: () => {
      release();
      spy.mockRestore();
    },
  };
}

/** What the store holds after these writes: one row per (device, ts), later fields over earlier ones. */
class Reference {
  readonly rows = new Map<string, Reading>();
  write(batch: readonly Reading[]): void {
    for (const r of batch) {
      const key = `${r.device}\u0000${r.ts}`;
      const prev = this.rows.get(key);
      this.rows.set(key, prev ? { ...r, fields: { ...prev.fields, ...r.fields } } : r);
    }
  }

  /** The hourly rows, as the table's columns, keyed `device hour`. */
  hourly(): Map<string, Record<string, unknown>> {
    const groups = new Map<string, Reading[]>();
    for (const r of this.rows.values()) {
      const key = `${r.device} ${r.ts - (r.ts % HOUR)}`;
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    const out = new Map<string, Record<string, unknown>>();
    for (const [key, rs] of groups) {
      rs.sort((a, b) => a.ts - b.ts);
      const last = rs.at(-1)!;
      const row: Record<string, unknown> = { site: last.site, building: last.building, last_ts: last.ts };
      for (const f of fields) {
        const vs = rs.filter((r) => r.fields[f.name] !== undefined).map((r) => Number(r.fields[f.name] as FieldValue));
        row[`${f.name}__n`] = vs.length;
        row[`${f.name}__min`] = vs.length ? Math.min(...vs) : null;
        row[`${f.name}__max`] = vs.length ? Math.max(...vs) : null;
        row[`${f.name}__sum`] = vs.length ? vs.reduce((a, b) => a + b, 0) : null;
        row[`${f.name}__first`] = vs.length ? vs[0] : null;
        row[`${f.name}__last`] = vs.length ? vs.at(-1) : null;
      }
      out.set(key, row);
    }
    return out;
  }
}

async function storedHourly(dir: string): Promise<Map<string, Record<string, unknown>>> {
  const rows = await onFile(dir, (q) => q('SELECT * FROM hourly_smoke_detector'));
  return new Map(rows.map((r) => {
    const { hour, device, ...rest } = r;
    const norm = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]));
    return [`${String(device)} ${Number(hour)}`, norm];
  }));
}

function expectSame(stored: Map<string, Record<string, unknown>>, want: Map<string, Record<string, unknown>>, columns?: (c: string) => boolean): void {
  expect([...stored.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [key, w] of want) {
    const s = stored.get(key)!;
    for (const [c, v] of Object.entries(w)) {
      if (columns && !columns(c)) continue;
      if (typeof v === 'number' && typeof s[c] === 'number') expect(s[c], `${key} ${c}`).toBeCloseTo(v, 9);
      else expect(s[c], `${key} ${c}`).toEqual(v);
    }
  }
}

/** Readings of `devices` detectors from `start`, `step` ms apart, some fields missing, booleans among them. */
function readings(devices: number, count: number, start: number, step: number, salt = 0): Reading[] {
  const out: Reading[] = [];
  for (let i = 0; i < count; i++) {
    const fields: Record<string, FieldValue> = { smoke: ((i * 31 + salt) % 17) / 10 };
    if (i % 4 !== 0) fields.temperature = 20 + ((i * 13 + salt) % 11) / 3;
    if (i % 5 === 0) fields.alarm = (i + salt) % 10 === 0;
    out.push({ device: `sd-${i % devices}`, kind: 'smoke_detector', site: 's1', building: i % 7 ? 'b1' : 'b2', ts: start + Math.floor(i / devices) * step, fields });
  }
  return out;
}

describe.each([
  ['written at every write', 0],
  ['held in memory until the close', HOUR],
])('embedded hourly aggregates, %s', (_label, flushMs) => {
  it('in order: batch after batch through the hours, the aggregates equal those of the readings', async () => {
    const dir = await tempDir();
    const db = await open(dir, () => NOW, flushMs);
    const ref = new Reference();
    // 3 devices, a reading every 7 minutes each: ~9 per hour per device, batches cut inside hours.
    const all = readings(3, 600, NOW - 2 * DAY, 7 * 60_000);
    for (let i = 0; i < all.length; i += 25) {
      const batch = all.slice(i, i + 25);
      await db.telemetry.write(batch);
      ref.write(batch);
    }
    await closeDb(db);
    const stored = await storedHourly(dir);
    expect(stored.size).toBe(3 * 24); // 200 readings 7 minutes apart per device span 24 hours
    expectSame(stored, ref.hourly());
  }, 60_000);

  it('out of order, rewritten and replayed: each touched hour is recomputed, none counted twice', async () => {
    const dir = await tempDir();
    const db = await open(dir, () => NOW, flushMs);
    const ref = new Reference();
    const all = readings(2, 400, NOW - DAY, 3 * 60_000);
    const write = async (batch: Reading[]) => {
      await db.telemetry.write(batch);
      ref.write(batch);
    };
    // Every other batch first, then the skipped ones (older than what their hours hold by then).
    const batches: Reading[][] = [];
    for (let i = 0; i < all.length; i += 20) batches.push(all.slice(i, i + 20));
    for (const b of batches.filter((_, i) => i % 2 === 0)) await write(b);
    for (const b of batches.filter((_, i) => i % 2 === 1).reverse()) await write(b);
    // A replay of stored readings (the spool after a crash), then rewrites of some with other values.
    await write(all.slice(100, 180));
    await write(all.slice(150, 230).map((r) => ({ ...r, fields: { smoke: (r.fields.smoke as number) + 1 } })));
    // One batch mixing an in-order hour with a late one.
    await write([...readings(2, 10, NOW - DAY + 500 * 60_000, 60_000, 3), ...readings(2, 4, NOW - DAY + 60_000 + 1, 1, 5)]);
    await closeDb(db);
    const stored = await storedHourly(dir);
    expectSame(stored, ref.hourly());
    const raw = await onFile(dir, (q) => q('SELECT count(*) AS n, count(DISTINCT (device, ts)) AS d FROM smoke_detector'));
    expect(Number(raw[0]!.n)).toBe(ref.rows.size);
    expect(Number(raw[0]!.d)).toBe(ref.rows.size);
  }, 60_000);

  it('rows written before last_ts existed are recomputed the first time a batch touches them', async () => {
    const dir = await tempDir();
    let db = await open(dir, () => NOW, flushMs);
    const ref = new Reference();
    const all = readings(2, 200, NOW - DAY, 2 * 60_000);
    await db.telemetry.write(all.slice(0, 100));
    ref.write(all.slice(0, 100));
    await closeDb(db);
    // As an older Anju left them: the column added by ensureHourlyTables on open, empty.
    await onFile(dir, (q) => q('UPDATE hourly_smoke_detector SET last_ts = NULL'));
    db = await open(dir, () => NOW, flushMs);
    await db.telemetry.write(all.slice(100));
    ref.write(all.slice(100));
    await closeDb(db);
    const stored = await storedHourly(dir);
    expectSame(stored, ref.hourly(), (c) => c !== 'last_ts');
    // Every hour the second write touched was recomputed (and keeps last_ts from then on); the others wait.
    const touched = new Set(all.slice(100).map((r) => `${r.device} ${r.ts - (r.ts % HOUR)}`));
    for (const [key, row] of ref.hourly()) expect(stored.get(key)?.last_ts, key).toEqual(touched.has(key) ? row.last_ts : null);
  }, 60_000);

  it('past the raw floor a reading is folded into its hour once: a replay of it, or of a reading still raw, is not counted again', async () => {
    const dir = await tempDir();
    let now = NOW - 45 * DAY;
    let db = await open(dir, () => now, flushMs);
    const hour = NOW - 40 * DAY - (NOW % HOUR);
    const inHour = readings(1, 6, hour, 5 * 60_000);
    await db.telemetry.write(inHour);
    // The period moves past that hour; retention has not run yet, so its readings are still raw.
    now = NOW;
    expect(db.retention.floorAt(now)).toBeGreaterThan(hour + HOUR);
    const late: Reading = { device: 'sd-0', kind: 'smoke_detector', site: 's1', building: 'b1', ts: hour + 2 * 60_000, fields: { smoke: 9, temperature: 99 } };
    await db.telemetry.write([late]);
    expect(db.foldedTotal()).toBe(1);
    // The same late reading again (a spool replay), and a replay of one of the raw ones: neither is folded.
    await db.telemetry.write([late]);
    await db.telemetry.write([inHour[3]!, late]);
    expect(db.foldedTotal()).toBe(1);
    await db.retention.runOnce();
    // After retention deleted the hour's readings, a replay still finds the folded one remembered.
    await db.telemetry.write([late]);
    expect(db.foldedTotal()).toBe(1);
    await closeDb(db);

    const ref = new Reference();
    ref.write([...inHour, late]);
    const want = ref.hourly();
    // first and last stay those of the raw readings: a folded reading's time is not compared with theirs.
    const rawOnly = new Reference();
    rawOnly.write(inHour);
    const key = `sd-0 ${hour}`;
    for (const [c, v] of Object.entries(rawOnly.hourly().get(key)!)) if (/__(first|last)$|^last_ts$/.test(c)) want.get(key)![c] = v;
    expect(want.get(key)!.smoke__n).toBe(7);
    expectSame(await storedHourly(dir), want);
    expect(await onFile(dir, (q) => q('SELECT count(*) AS n FROM smoke_detector'))).toEqual([{ n: 0n }]);
    db = await open(dir, () => NOW, flushMs);
  }, 60_000);
});

describe('embedded hourly aggregates held in memory', () => {
  it('an hourly series answers what was just written, before the flush is due', async () => {
    const dir = await tempDir();
    const db = await open(dir, () => NOW, HOUR);
    const ref = new Reference();
    const all = readings(3, 300, NOW - DAY, 4 * 60_000);
    for (let i = 0; i < all.length; i += 30) {
      await db.telemetry.write(all.slice(i, i + 30));
      ref.write(all.slice(i, i + 30));
    }
    const from = NOW - DAY - (NOW % HOUR);
    const points = await db.telemetry.series({ kind: 'smoke_detector', from, to: from + DAY + HOUR, every: HOUR, agg: 'sum', fields: ['smoke'] });
    const want = ref.hourly();
    expect(points.length).toBe(want.size);
    for (const p of points) expect(p.values.smoke, `${p.device} ${p.ts}`).toBeCloseTo(want.get(`${p.device} ${p.ts}`)!.smoke__sum as number, 9);
  }, 60_000);

  // Four days old (past the newest-time lookback), each batch may match stored rows (merged, in a transaction that marks its new hours);
  // from the last hours, in order, most batches fall in hours already marked and are inserted alone
  // (auto-commit, telemetry.ts loneInsert), the rest in a transaction that marks their new hours.
  it.each([
    ['merged into stored rows', NOW - 4 * DAY, 5 * 60_000],
    ['inserted alone where their hours are marked', NOW - 8 * HOUR, 60_000],
  ])('a crash before the flush, readings %s: the hours marked in the readings\' transactions are recomputed on the next open', async (_label, start, step) => {
    const dir = await tempDir();
    const ref = new Reference();
    // A first part flushed (written at the close), then a second part into the same and later hours, never flushed.
    const all = readings(3, 600, start, step);
    let db = await open(dir, () => NOW, HOUR);
    await db.telemetry.write(all.slice(0, 250));
    ref.write(all.slice(0, 250));
    await closeDb(db);
    const file = join(dir, 'readings.json');
    await writeFile(file, JSON.stringify(all.slice(250)));
    ref.write(all.slice(250));
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./hourly-crash-writer.ts', import.meta.url)), dir, file, String(NOW)],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('written')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the writer exited (${code}) before writing`)));
    });
    child.kill('SIGKILL');
    await exited;
    // What the crash left: every reading, the hours of the second part not written but marked.
    const left = await onFile(dir, async (q) => ({
      raw: await q('SELECT count(*) AS n FROM smoke_detector'),
      marked: await q('SELECT count(DISTINCT (device, hour)) AS n FROM hourly_dirty'),
      counted: await q('SELECT sum(smoke__n) AS n FROM hourly_smoke_detector'),
    }));
    expect(Number(left.raw[0]!.n)).toBe(ref.rows.size);
    const secondHours = new Set(all.slice(250).map((r) => `${r.device} ${r.ts - (r.ts % HOUR)}`));
    expect(Number(left.marked[0]!.n)).toBe(secondHours.size);
    expect(Number(left.counted[0]!.n)).toBe(250); // every reading has smoke: only the first part is in its hours
    db = await open(dir, () => NOW, HOUR);
    // The spool replays what it had not checkpointed: the crashed batches again, now older than nothing the hours know.
    for (let i = 250; i < all.length; i += 25) await db.telemetry.write(all.slice(i, i + 25));
    await closeDb(db);
    expectSame(await storedHourly(dir), ref.hourly());
    expect(await onFile(dir, (q) => q('SELECT count(*) AS n FROM hourly_dirty'))).toEqual([{ n: 0n }]);
    const raw = await onFile(dir, (q) => q('SELECT count(*) AS n, count(DISTINCT (device, ts)) AS d FROM smoke_detector'));
    expect([Number(raw[0]!.n), Number(raw[0]!.d)]).toEqual([ref.rows.size, ref.rows.size]);
  }, 60_000);

  it('a write with a reading past the raw floor, racing a retention pass as the floor moves, loses nothing from its hour', async () => {
    const dir = await tempDir();
    const floorNow = (t: number) => t - RAW_DAYS * DAY - ((t - RAW_DAYS * DAY) % HOUR);
    let now = NOW;
    const db = await open(dir, () => now, HOUR); // flushed only when asked: by the retention pass, and the close
    const hour = floorNow(now); // the hour just past the floor: raw now, past the floor an hour later
    const early = readings(1, 2, hour + 60_000, 60_000);
    await db.telemetry.write(early);
    await db.telemetry.flushHourly();
    // One reading older than the floor (folded) and one more in that hour; meanwhile the clock passes
    // the next hour and a retention pass deletes the hour's raw readings.
    const old: Reading = { device: 'sd-0', kind: 'smoke_detector', site: 's1', building: 'b1', ts: hour - 3 * HOUR, fields: { smoke: 5 } };
    const late: Reading = { ...early[0]!, ts: hour + 90_000, fields: { smoke: 0.7 } }; // between the two: its hour is recomputed
    const writing = db.telemetry.write([old, late]);
    now += HOUR;
    const pass = db.retention.runOnce();
    await Promise.all([writing, pass]);
    await closeDb(db);
    const stored = await storedHourly(dir);
    expect(stored.get(`sd-0 ${hour}`)?.smoke__n).toBe(3);
    expect(stored.get(`sd-0 ${hour - 3 * HOUR}`)?.smoke__n).toBe(1);
  }, 60_000);

  it('a read queued behind a write in flight answers with that write too', async () => {
    const dir = await tempDir();
    const db = await open(dir, () => NOW, 0);
    const ref = new Reference();
    const first = readings(2, 40, NOW - DAY, 60_000);
    await db.telemetry.write(first);
    ref.write(first);
    const from = NOW - DAY - (NOW % HOUR);
    const query = { kind: 'smoke_detector' as const, from, to: from + DAY + HOUR, every: HOUR, agg: 'count' as const, fields: ['smoke'] };
    for (let round = 0; round < 10; round++) {
      const more = readings(2, 200, NOW - DAY + (40 + round * 100) * 60_000, 60_000, round);
      const writing = db.telemetry.write(more);
      ref.write(more);
      const points = await db.telemetry.series(query);
      await writing;
      const want = ref.hourly();
      expect(points.length, `round ${round}`).toBe(want.size);
      for (const p of points) expect(p.values.smoke, `round ${round} ${p.device} ${p.ts}`).toBe(want.get(`${p.device} ${p.ts}`)!.smoke__n);
    }
  }, 60_000);

  it('after a reopen, a replay of readings older than the newest-time lookback still merges: stored once', async () => {
    const dir = await tempDir();
    const ref = new Reference();
    // Two devices 5 days back (past the 2-day lookback), one of them also recent.
    const old = readings(2, 60, NOW - 5 * DAY, 60_000);
    const recent = readings(1, 20, NOW - HOUR, 60_000);
    let db = await open(dir, () => NOW, HOUR);
    await db.telemetry.write([...old, ...recent]);
    ref.write([...old, ...recent]);
    await closeDb(db);
    db = await open(dir, () => NOW, HOUR);
    // sd-1 has no hour since the cut: its replay alone in a batch must merge by the cut's bound.
    const replays = [old.filter((r) => r.device === 'sd-1').slice(5, 25), [...old.slice(10, 50), ...recent.slice(5), { ...recent[0]!, ts: NOW, fields: { smoke: 0.5 } }]];
    for (const replay of replays) {
      await db.telemetry.write(replay);
      ref.write(replay);
    }
    await closeDb(db);
    const raw = await onFile(dir, (q) => q('SELECT count(*) AS n, count(DISTINCT (device, ts)) AS d FROM smoke_detector'));
    expect([Number(raw[0]!.n), Number(raw[0]!.d)]).toEqual([ref.rows.size, ref.rows.size]);
    expectSame(await storedHourly(dir), ref.hourly());
  }, 60_000);

  it('after a reopen, an in-order replay of an old backlog in several batches is stored once (the first batch does not lower the bound)', async () => {
    const dir = await tempDir();
    const ref = new Reference();
    const old = readings(1, 40, NOW - 5 * DAY, 60_000);
    let db = await open(dir, () => NOW, HOUR);
    for (const batch of [old.slice(0, 20), old.slice(20)]) {
      await db.telemetry.write(batch);
      ref.write(batch);
    }
    await closeDb(db);
    db = await open(dir, () => NOW, HOUR);
    for (const batch of [old.slice(0, 20), old.slice(20)]) await db.telemetry.write(batch);
    await closeDb(db);
    const raw = await onFile(dir, (q) => q('SELECT count(*) AS n, count(DISTINCT (device, ts)) AS d FROM smoke_detector'));
    expect([Number(raw[0]!.n), Number(raw[0]!.d)]).toEqual([40, 40]);
    expectSame(await storedHourly(dir), ref.hourly());
  }, 60_000);

  // Held at its BEGIN, the flush has no snapshot yet (the write's mark is visible to it, and left out by
  // name); held at its COMMIT, it has cleared its marks (the write's, committed later, it never saw).
  it.each([
    ['BEGIN TRANSACTION', 'before the flush has a snapshot'],
    ['COMMIT', 'while the flush commits'],
  ])('a write into an hour a flush has taken, committed %s (%s), keeps its crash mark: what a crash then leaves recovers the hour whole', async (heldAt) => {
    const dir = await tempDir();
    const db = await open(dir, () => NOW, HOUR);
    const ref = new Reference();
    const all = readings(2, 80, NOW - 2 * HOUR, 60_000);
    const first = all.slice(0, 40);
    const second = all.slice(40);
    await db.telemetry.write(first);
    ref.write(first);
    // The flush (on its own connection) is held: it has taken every pending hour.
    const hold = holdFirst(heldAt);
    try {
      const flushing = db.telemetry.flushHourly();
      await hold.reached;
      // Into the same hours and on: no longer pending, so marked dirty again.
      await db.telemetry.write(second);
      ref.write(second);
      hold.release();
      await flushing;
    } finally {
      hold.restore();
    }
    // What a crash now would leave (the database as of one transaction), opened as after that crash.
    const crashed = await tempDir();
    await db.snapshot(join(crashed, embeddedDatabaseFile));
    const marked = await onFile(crashed, (q) => q('SELECT DISTINCT device, hour FROM hourly_dirty'));
    expect(marked.map((r) => `${String(r.device)} ${Number(r.hour)}`).sort()).toEqual([...new Set(second.map((r) => `${r.device} ${r.ts - (r.ts % HOUR)}`))].sort());
    await closeDb(await open(crashed, () => NOW, HOUR));
    expectSame(await storedHourly(crashed), ref.hourly());
  }, 60_000);

  it('a read while a flush holds the hours it took, not yet committed, waits for that flush', async () => {
    const dir = await tempDir();
    const db = await open(dir, () => NOW, HOUR);
    const ref = new Reference();
    const all = readings(2, 80, NOW - DAY, 60_000);
    await db.telemetry.write(all);
    ref.write(all);
    // The flush's COMMIT is held until released: by then it has taken every pending hour, and no write is in flight.
    const hold = holdFirst('COMMIT');
    try {
      const flushing = db.telemetry.flushHourly();
      await hold.reached;
      const from = NOW - DAY - (NOW % HOUR);
      let answered = false;
      const reading = db.telemetry.series({ kind: 'smoke_detector', from, to: from + DAY, every: HOUR, agg: 'count', fields: ['smoke'] })
        .finally(() => (answered = true));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(answered).toBe(false);
      hold.release();
      await flushing;
      const points = await reading;
      const want = ref.hourly();
      expect(points.length).toBe(want.size);
      for (const p of points) expect(p.values.smoke, `${p.device} ${p.ts}`).toBe(want.get(`${p.device} ${p.ts}`)!.smoke__n);
    } finally {
      hold.restore();
    }
  }, 60_000);

});
