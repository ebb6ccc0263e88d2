import { DuckDBBlobValue, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import type { Logger } from 'pino';
import { isKindName, kindNames, type FieldValue, type KindName, type Reading } from '../../core/index.js';
import { InvalidBatchError, StoreUnavailableError, type EncodedReadings, type SeriesPoint, type SeriesQuery, type TelemetryStore } from '../contract.js';
import { registerFields } from '../rollups/summarize.js';
import { DatabaseClosedError, inTransaction, preparedStatement, runPrepared, toNumber, toStringOrUndefined, type SerialConnection } from './connection.js';
import type { EmbeddedRollups } from './rollups.js';
import { baseColumns, kindTables, quoteIdent, type KindTable } from './schema.js';
import { seriesCompleteFrom, seriesSql } from './series.js';
import { flushStagedHours, foldIntoHourly, hourlyTableName, hourMs, markDirtyHours } from './hourly.js';
import { createHourlyPending, stagePendingHours, type PendingHour } from './hourly-pending.js';
import { sqlLiteral } from './sql.js';

/**
 * A batch is written in one transaction on the single writer connection (or, when the whole write is
 * one straight INSERT, as that statement alone: `loneInsert`). When any of its readings may
 * match a stored row, it goes to a temp staging table (one JSON text, `jsonInsertSql`) and is merged
 * into the kind table; otherwise it is inserted directly (see `Newest`). MERGE gives idempotency
 * without a primary-key index (see schema.ts):
 * a reading whose (device, ts) exists updates it, others are inserted. Fields absent from the new
 * reading keep their stored value, as InfluxDB merges the field sets of two points with the same
 * series key and time. The `ts BETWEEN` bound is a constant, so DuckDB prunes row groups by zone map
 * and the merge touches only the batch's time span, not the whole table.
 */
function mergeSql(t: KindTable): string {
  const cols = [...baseColumns, ...t.fields.map((f) => f.name)].map(quoteIdent);
  const keep = (c: string) => `${c} = coalesce(s.${c}, t.${c})`;
  const set = [
    'site = s.site', 'building = s.building', 'category = s.category', keep('seq'),
    ...t.fields.map((f) => keep(quoteIdent(f.name))),
  ];
  return `MERGE INTO ${t.table} AS t USING ${t.staging} AS s
    ON t.device = s.device AND t.ts = s.ts AND t.ts BETWEEN $1 AND $2
    WHEN MATCHED THEN UPDATE SET ${set.join(', ')}
    WHEN NOT MATCHED THEN INSERT (${cols.join(', ')}) VALUES (${cols.map((c) => `s.${c}`).join(', ')})`;
}

const mergeStatements = Object.fromEntries(kindNames.map((k) => [k, mergeSql(kindTables[k])])) as Record<KindName, string>;

/*
 * A batch none of whose readings can match a stored row (each newer than anything stored for its
 * device) is inserted into the kind table directly instead of staged and merged: MERGE's join
 * against the table and two statements saved (BENCHMARKS.md).
 */
interface Newest {
  /** Per kind, per device: a time no stored reading of it is newer than. */
  readonly byKind: Map<KindName, Map<string, number>>;
  /** The bound of a device not in its kind's map. */
  readonly before: number;
}

/** How far back the newest-time bounds are read; a device with nothing stored since gets the cut as its bound. */
const NEWEST_LOOKBACK_MS = 2 * 24 * hourMs;

/**
 * Per kind and device, a time no stored reading is newer than — read once from the hourly tables,
 * which hold an hour for every stored reading once the pending hours of a crash are recovered (a row
 * without `last_ts` counts as its hour's end); ~60× fewer rows than the readings. Only the hours from
 * the cut on are read (a year of 10,000 devices is ~88 M hourly rows; zone maps skip the older row
 * groups): a device with no hour since holds nothing newer than the cut, so `before` is its bound.
 */
async function loadNewest(conn: DuckDBConnection, now: number): Promise<Newest> {
  const cut = now - NEWEST_LOOKBACK_MS - ((now - NEWEST_LOOKBACK_MS) % hourMs);
  const byKind = new Map<KindName, Map<string, number>>();
  for (const kind of kindNames) {
    const byDevice = new Map<string, number>();
    byKind.set(kind, byDevice);
    const rows = (await conn.runAndReadAll(
      `SELECT device, max(coalesce(last_ts, hour + ${hourMs - 1})) AS newest FROM ${hourlyTableName(kind)} WHERE hour >= $1 GROUP BY device`,
      [BigInt(cut)],
    )).getRowObjects();
    for (const r of rows) byDevice.set(String(r.device), toNumber(r.newest ?? null) ?? Infinity);
  }
  return { byKind, before: cut - 1 };
}

/**
 * Checks a batch before it touches the database, so a bad reading rejects the whole write (nothing
 * stored) with an InvalidBatchError the caller can tell from an unavailable store. Two readings of one
 * (device, ts) in a batch are merged here, later fields winning: MERGE may not match a target row twice.
 *
 * Per reading this is on the event loop at every write, so the common case costs no string key: a
 * device's readings that arrive in increasing ts cannot repeat a (device, ts), which one number per
 * device shows. Only a kind where some device goes back in time is keyed by (device, ts) in full.
 */
function groupBatch(batch: readonly Reading[]): Map<KindName, Reading[]> {
  const byKind = new Map<KindName, { rows: Reading[]; newest: Map<string, number>; keyed?: Map<string, number> }>();
  for (const r of batch) {
    if (!isKindName(r.kind)) throw new InvalidBatchError(`reading of ${r.device}: unknown kind ${String(r.kind)}`);
    if (!Number.isSafeInteger(r.ts) || r.ts < 0) throw new InvalidBatchError(`reading of ${r.device}: ts must be epoch ms, got ${r.ts}`);
    if (typeof r.device !== 'string' || r.device === '') throw new InvalidBatchError('reading without a device id');
    // Unknown fields are ignored, as ingest's schemas strip them; a wrong type is a bug upstream.
    for (const f of kindTables[r.kind].fields) {
      const v = r.fields[f.name];
      if (v !== undefined && typeof v !== (f.type === 'bool' ? 'boolean' : 'number')) {
        throw new InvalidBatchError(`reading of ${r.device}: field ${f.name} must be ${f.type}, got ${typeof v}`);
      }
    }
    let g = byKind.get(r.kind);
    if (!g) byKind.set(r.kind, (g = { rows: [], newest: new Map() }));
    const newest = g.newest.get(r.device);
    if (!g.keyed && (newest === undefined || r.ts > newest)) {
      g.newest.set(r.device, r.ts);
      g.rows.push(r);
      continue;
    }
    // This device went back in time: from here on the kind's readings are keyed by (device, ts).
    const keyed = (g.keyed ??= new Map(g.rows.map((x, i) => [`${x.device}\u0000${x.ts}`, i])));
    const key = `${r.device}\u0000${r.ts}`;
    const at = keyed.get(key);
    if (at === undefined) {
      keyed.set(key, g.rows.length);
      g.rows.push(r);
      continue;
    }
    const prev = g.rows[at]!;
    g.rows[at] = { ...r, seq: r.seq ?? prev.seq, fields: { ...prev.fields, ...r.fields } };
  }
  return new Map([...byKind].map(([k, g]) => [k, g.rows]));
}

/** Whether every reading is newer than its device's newest stored one, so none can match a stored row. */
function newerThanStored(newest: Newest, kind: KindName, rows: readonly Reading[]): boolean {
  const byDevice = newest.byKind.get(kind)!;
  const { before } = newest;
  return rows.every((r) => r.ts > (byDevice.get(r.device) ?? before));
}

/** The oldest and newest reading time of a non-empty list. */
function span(rows: readonly Reading[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of rows) {
    if (r.ts < lo) lo = r.ts;
    if (r.ts > hi) hi = r.ts;
  }
  return [lo, hi];
}

/**
 * Readings go to DuckDB as one JSON text per batch, bound to a prepared INSERT that unpacks it with
 * `json_transform` on DuckDB's own threads. An Appender would build and flush its data chunks
 * synchronously on the event loop — and its flush into a table waits there for DuckDB's locks
 * (4.9 µs per reading on the event loop in a profile at saturation, BENCHMARKS.md), while
 * `JSON.stringify` of the batch costs ~1 µs. Live batches skip even that: the spool wrote their JSON
 * already, and those bytes are bound as a BLOB (`encodedByKind`) — no second serialisation, and no
 * flattening of a batch-sized string into fresh memory (page faults were most of what the store
 * still cost the event loop, 2026-12-05). Numbers round-trip exactly through JSON (shortest
 * representation); readings' fields are checked by `groupBatch` first.
 */
function jsonInsertSql(t: KindTable, target: string, source = '$1::VARCHAR'): string {
  const structure: Record<string, unknown> = {
    ts: 'BIGINT', device: 'VARCHAR', site: 'VARCHAR', building: 'VARCHAR', category: 'VARCHAR', seq: 'BIGINT',
    fields: Object.fromEntries(t.fields.map((f) => [f.name, f.type === 'bool' ? 'BOOLEAN' : 'DOUBLE'])),
  };
  const literal = sqlLiteral(JSON.stringify([structure]));
  const cols = [...baseColumns, ...t.fields.map((f) => f.name)].map(quoteIdent);
  const values = [...baseColumns.map((c) => `r.${c}`), ...t.fields.map((f) => `struct_extract(r.fields, ${sqlLiteral(f.name)})`)];
  return `INSERT INTO ${target} (${cols.join(', ')}) SELECT ${values.join(', ')} FROM (SELECT unnest(json_transform(${source}, ${literal})) AS r)`;
}

/**
 * Per kind, the INSERT into its table (an append-only batch) and into its staging table (before a
 * MERGE), from a JSON text; and into its table from the spool's bytes (a BLOB; `decode` checks
 * they are UTF-8), see `encodedByKind`.
 */
const jsonInserts = Object.fromEntries(kindNames.map((k) => {
  const t = kindTables[k];
  return [k, { table: jsonInsertSql(t, t.table), staging: jsonInsertSql(t, t.staging), encoded: jsonInsertSql(t, t.table, 'decode($1::BLOB)') }];
})) as Record<KindName, { table: string; staging: string; encoded: string }>;

/**
 * The spool's bytes of a batch by kind, when they hold exactly the rows `groupBatch` made of it:
 * each part's readings all of one kind (the spool packs its records so), and no two readings of the
 * batch merged into one. Otherwise undefined, and the batch is serialised as before. Readings
 * older than the raw floor are the caller's to check (they are not inserted raw).
 */
function encodedByKind(
  batch: readonly Reading[], groups: Map<KindName, Reading[]>, encoded: readonly EncodedReadings[] | undefined,
): Map<KindName, Uint8Array[]> | undefined {
  if (!encoded || encoded.length === 0) return undefined;
  let rows = 0;
  for (const g of groups.values()) rows += g.length;
  if (rows !== batch.length) return undefined;
  const byKind = new Map<KindName, Uint8Array[]>();
  let at = 0;
  for (const part of encoded) {
    const kind = batch[at]?.kind;
    const { json } = part;
    // A non-empty JSON array, as the spool writes it; anything else is left alone.
    if (kind === undefined || !(part.count >= 1) || json.length < 3 || json[0] !== 0x5b || json[json.length - 1] !== 0x5d) return undefined;
    for (let i = at + 1; i < at + part.count; i += 1) if (batch[i]?.kind !== kind) return undefined;
    at += part.count;
    let list = byKind.get(kind);
    if (!list) byKind.set(kind, (list = []));
    list.push(json);
  }
  return at === batch.length ? byKind : undefined;
}

/**
 * Joins JSON arrays into one (`[a]`, `[b]` → `[a,b]`) in `scratch` when it has room, else in a
 * buffer of its own. The caller binds the result at once: DuckDB copies a BLOB when it is bound.
 */
function joinArrays(parts: readonly Uint8Array[], scratch: Buffer): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let len = 1 - parts.length;
  for (const p of parts) len += p.length;
  const out = len <= scratch.length ? scratch : Buffer.allocUnsafe(len);
  let pos = 0;
  for (let i = 0; i < parts.length; i += 1) {
    const p = parts[i]!;
    if (i === 0) {
      out.set(p, 0);
      pos = p.length;
    } else {
      out[pos - 1] = 0x2c; // the `]` before becomes a `,`, and this part's `[` is left out
      out.set(p.subarray(1), pos);
      pos += p.length - 1;
    }
  }
  return out.subarray(0, len);
}

/** Bytes kept for joining a write's parts: a forwarder batch of 2,000 readings is ~0.5 MiB. */
const SCRATCH_BYTES = 2 * 1024 * 1024;

async function appendStaged(conn: DuckDBConnection, t: KindTable, rows: readonly Reading[]): Promise<void> {
  await runPrepared(conn, jsonInserts[t.kind].staging, [JSON.stringify(rows)]);
}

function rowToReading(kind: KindName, row: Record<string, DuckDBValue>): Reading {
  const fields: Record<string, FieldValue> = {};
  for (const f of kindTables[kind].fields) {
    const v = row[f.name];
    if (v === null || v === undefined) continue;
    fields[f.name] = f.type === 'bool' ? Boolean(v) : (toNumber(v) as number);
  }
  const category = toStringOrUndefined(row.category ?? null);
  const seq = toNumber(row.seq ?? null);
  return {
    device: String(row.device),
    kind,
    site: String(row.site),
    building: String(row.building),
    ...(category !== undefined ? { category: category as Reading['category'] } : {}),
    ts: toNumber(row.ts ?? null) as number,
    ...(seq !== null ? { seq } : {}),
    fields,
  };
}

export interface EmbeddedTelemetryDeps {
  writer: SerialConnection;
  reader: SerialConnection;
  /**
   * Where the pending hourly aggregates are written (with its own hourly staging tables), so that
   * telemetry writes do not queue behind a flush: 50–85 ms each under load, once a second, which
   * was most of the stored p99 at half load (BENCHMARKS.md, "2026-12-05, eighth").
   */
  hourly: SerialConnection;
  logger: Logger;
  /** Daily register rollups, kept in each write's transaction. */
  rollups: EmbeddedRollups;
  /** Called once when this store is closed; the database closes when all its stores have. */
  release(): Promise<void>;
  /** The raw floor now (storage/embedded/retention.ts): older readings are folded into their hour, not kept raw. 0 = none. */
  rawFloor?: () => number;
  /** Counts readings folded into their hour because they arrived older than the raw floor. */
  onFolded?: (n: number) => void;
  /** The clock the newest-time bounds are cut by (default Date.now). */
  now?: () => number;
  /** Called before every write; throws to refuse it (the disk monitor's DiskFullError). */
  admit?: () => void;
  /**
   * How long readings' hourly aggregates may wait in memory before they are written to the hourly
   * tables (storage/embedded/hourly-pending.ts); a read of the hourly tables writes them first.
   * Default 1,000 ms.
   */
  hourlyFlushMs?: number;
}

/** Above this many pending (kind, device, hour) entries a write starts a flush whatever their age (~0.5 KiB each). */
const MAX_PENDING_HOURS = 50_000;

export interface EmbeddedTelemetryStore extends TelemetryStore {
  /** Writes the pending hourly aggregates now (the retention pass calls it before deleting). */
  flushHourly(): Promise<void>;
  /**
   * Does now, on the writer, what the first write would otherwise do under load: reads the newest-time
   * bounds (`loadNewest`) and prepares each kind's INSERT. Call it once the database is open, before
   * devices connect; a write that comes first, or after it failed, does the same itself.
   */
  warm(): Promise<void>;
}

/**
 * Writes every pending hour, kind by kind, inside the caller's transaction, and clears their crash
 * marks — but those of the hours `keep` names when asked (marked again by a write since they were taken).
 */
async function writePendingHours(
  conn: DuckDBConnection, hours: readonly PendingHour[], keep?: (kind: KindName) => readonly { device: string; hour: number }[],
): Promise<void> {
  const byKind = new Map<KindName, PendingHour[]>();
  for (const h of hours) {
    let list = byKind.get(h.kind);
    if (!list) byKind.set(h.kind, (list = []));
    list.push(h);
  }
  for (const [kind, list] of byKind) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const h of list) {
      if (h.loTs < lo) lo = h.loTs;
      if (h.lastTs > hi) hi = h.lastTs;
    }
    await stagePendingHours(conn, kind, list);
    await flushStagedHours(conn, kindTables[kind], lo, hi, keep && (() => keep(kind)));
  }
}

export function createEmbeddedTelemetryStore(deps: EmbeddedTelemetryDeps): EmbeddedTelemetryStore {
  const { writer, hourly, reader, logger } = deps;
  const flushMs = deps.hourlyFlushMs ?? 1_000;
  const now = deps.now ?? Date.now;
  const pending = createHourlyPending();
  let flushTimer: NodeJS.Timeout | undefined;
  /** Loaded on the first write; raised after every commit, never lowered (retention only deletes). */
  let newest: Newest | undefined;
  let closed = false;
  let closing: Promise<void> | undefined;
  const ensureOpen = () => {
    if (closed) throw new DatabaseClosedError('embedded telemetry store is closed');
  };

  /** Writes the pending hours inside `conn`'s open transaction; gives them back to pending if that fails. */
  async function flushInto(conn: DuckDBConnection): Promise<PendingHour[]> {
    const hours = pending.take();
    if (hours.length === 0) return hours;
    try {
      await writePendingHours(conn, hours);
    } catch (err) {
      pending.restore(hours);
      throw err;
    }
    return hours;
  }

  /** Writes the pending hours in a transaction of their own on `conn`, which the caller holds (a writer job). */
  async function flushPendingIn(conn: DuckDBConnection): Promise<void> {
    if (pending.size() === 0) return;
    let taken: PendingHour[] = [];
    try {
      await inTransaction(conn, async () => {
        taken = await flushInto(conn);
      });
    } catch (err) {
      pending.restore(taken);
      throw err;
    }
  }

  let scratch = Buffer.alloc(0);
  /** Joins and binds in one synchronous step, so `scratch` serves one statement at a time. */
  async function runEncoded(conn: DuckDBConnection, sql: string, bytes: readonly Uint8Array[]): Promise<void> {
    const stmt = await preparedStatement(conn, sql);
    let len = 0;
    for (const b of bytes) len += b.length;
    if (bytes.length > 1 && len > scratch.length && len <= SCRATCH_BYTES) {
      scratch = Buffer.allocUnsafe(Math.min(SCRATCH_BYTES, Math.max(len, 2 * scratch.length)));
    }
    stmt.clearBindings();
    stmt.bind([new DuckDBBlobValue(joinArrays(bytes, scratch))]);
    await stmt.run();
  }

  /** From the spool's bytes when they hold exactly these rows (encodedByKind), else as one JSON text. */
  async function insertStraight(conn: DuckDBConnection, kind: KindName, rows: readonly Reading[], bytes: readonly Uint8Array[] | undefined): Promise<void> {
    if (bytes) await runEncoded(conn, jsonInserts[kind].encoded, bytes);
    else await runPrepared(conn, jsonInserts[kind].table, [JSON.stringify(rows)]);
  }

  /**
   * A batch whose whole write is one straight INSERT: one kind, every reading newer than its device's
   * stored newest (none can match a stored row), no hour new to the pending aggregates (no crash marks
   * to write), no register field (no daily rollup rows: `rollups.maintain` touches only those). Such a
   * write needs no BEGIN and COMMIT around it: DuckDB commits a lone statement atomically (auto-commit),
   * and the two statements cost ~1 ms of CPU per write with DuckDB's threads woken for each
   * (BENCHMARKS.md, "2026-12-05, seventh"). Most writes at a steady load are this: a device's hour is
   * new once per flush of the pending hours.
   */
  function loneInsert(groups: ReadonlyMap<KindName, Reading[]>): [KindName, Reading[]] | undefined {
    if (groups.size !== 1 || !newest) return undefined;
    const [kind, rows] = groups.entries().next().value as [KindName, Reading[]];
    if (registerFields(kind).length > 0 || !newerThanStored(newest, kind, rows)) return undefined;
    return pending.newHours(kind, rows).length === 0 ? [kind, rows] : undefined;
  }

  async function insertAlone(
    conn: DuckDBConnection, [kind, rows]: [KindName, Reading[]], bytes: readonly Uint8Array[] | undefined,
  ): Promise<[KindName, Reading[]][]> {
    await insertStraight(conn, kind, rows, bytes);
    return [[kind, rows]];
  }

  let flushQueued = false;
  /**
   * Writes and flushes called and not finished (a flush holds the hours it took until it commits): a
   * read need not queue behind the writer when none is and nothing is pending.
   */
  let inFlight = 0;
  /**
   * Writes the pending hours, on the `hourly` connection (flushBeside). What it writes is taken in the
   * writer's queue, so it comes after every write queued before it has committed and added its hours:
   * a read or a close that awaits it sees them written. Never inside a telemetry write's transaction,
   * so a flush that keeps failing does not fail the readings' writes too — except a batch with readings
   * older than the raw floor, whose fold writes an hourly row directly and so needs the pending hours
   * written first (on the writer, in its transaction).
   */
  function flushHourly(): Promise<void> {
    flushQueued = true;
    inFlight += 1;
    return flushBeside().finally(() => {
      inFlight -= 1;
    });
  }

  /**
   * Flushes on `hourly` and writes that fold readings into their hours (both write hourly rows) run
   * one after another on this chain, never side by side. A link never holds one connection while it
   * waits for another, so a reopen (which holds every connection at once) cannot deadlock on it.
   */
  let hourlyChain: Promise<unknown> = Promise.resolve();
  const onHourlyChain = <T>(job: () => Promise<T>): Promise<T> => {
    const next = hourlyChain.catch(() => undefined).then(job);
    hourlyChain = next;
    return next;
  };
  /** The hours of the flush running on `hourly` (kind|device|hour), and those a write has marked dirty again since it took them. */
  let flushingHours: Set<string> | undefined;
  let remarked: Map<KindName, { device: string; hour: number }[]> = new Map();
  const hourKey = (kind: KindName, device: string, hour: number) => `${kind}|${device}|${hour}`;
  /** A write marks these hours dirty: those the running flush took stay marked when it commits. */
  function noteMarked(kind: KindName, hours: readonly { device: string; hour: number }[]): void {
    if (!flushingHours) return;
    for (const h of hours) {
      if (!flushingHours.has(hourKey(kind, h.device, h.hour))) continue;
      let list = remarked.get(kind);
      if (!list) remarked.set(kind, (list = []));
      list.push(h);
    }
  }

  /**
   * A flush on the `hourly` connection, beside the writer. The hours are taken in a writer job, so no
   * write is between its check of the pending hours (which decides its crash marks) and adding its
   * own: what is taken is whole. A write for a taken hour then marks it dirty again (it is no longer
   * pending); the flush's DELETE of the marks of what it wrote leaves out every hour so marked before
   * the DELETE is built (`noteMarked`), and a mark made after that commits after the flush's snapshot,
   * which its DELETE cannot see. Either way the new mark stays, for the next flush or for recovery.
   */
  function flushBeside(): Promise<void> {
    return onHourlyChain(async () => {
      const hours = await writer.use(async () => {
        flushQueued = false;
        const taken = pending.take();
        if (taken.length > 0) {
          flushingHours = new Set(taken.map((h) => hourKey(h.kind, h.device, h.hour)));
          remarked = new Map();
        }
        return taken;
      });
      if (hours.length === 0) return;
      try {
        await hourly.use((conn) => inTransaction(conn, () => writePendingHours(conn, hours, (kind) => remarked.get(kind) ?? [])));
      } catch (err) {
        pending.restore(hours);
        throw err;
      } finally {
        flushingHours = undefined;
        remarked = new Map();
      }
    });
  }

  function flushInBackground(): void {
    flushHourly().catch((err: unknown) => {
      if (!(err instanceof DatabaseClosedError)) logger.warn({ err }, 'writing the pending hourly aggregates failed; retrying in a moment');
      scheduleFlush();
    });
  }

  /** After a write: the pending hours are written within flushMs even when no later write comes to do it. */
  function scheduleFlush(): void {
    if (flushTimer || closed || pending.size() === 0) return;
    flushTimer = setTimeout(() => {
      flushTimer = undefined;
      flushInBackground();
    }, flushMs);
    flushTimer.unref();
  }

  return {
    name: 'embedded',
    rollups: deps.rollups,
    flushHourly,

    async warm() {
      ensureOpen();
      await writer.use(async (conn) => {
        newest ??= await loadNewest(conn, now());
        for (const kind of kindNames) {
          await preparedStatement(conn, jsonInserts[kind].table);
          await preparedStatement(conn, jsonInserts[kind].encoded);
        }
      });
    },

    async write(batch, encoded) {
      ensureOpen();
      if (batch.length === 0) return;
      deps.admit?.();
      const groups = groupBatch(batch);
      const parts = encodedByKind(batch, groups, encoded);
      const started = performance.now();
      let folded = 0;
      let counted = 0;
      let floor = 0;
      inFlight += 1;
      // A write that may fold readings into their hours runs on the hourly chain, never beside a flush.
      const floorNow = deps.rawFloor?.() ?? 0;
      const onChain = floorNow > 0 && batch.some((r) => r.ts < floorNow);
      try {
        // One writer job from the raw floor to the memory that mirrors the commit: a retention pass or
        // a flush queued meanwhile runs wholly before or after it, never between its floor and its rows.
        const job = () => writer.use(async (conn) => {
          floor = deps.rawFloor?.() ?? 0;
          const anyOld = floor > 0 && batch.some((r) => r.ts < floor);
          // A fold writes an hourly row directly, so the pending hours go first (rare: a backlog older than the raw period).
          if (anyOld) {
            // Never beside a flush on `hourly` (see onHourlyChain): the floor moved since this write was
            // queued off the chain. Rare (a retention pass, a backlog older than the raw period, a flush running).
            if (flushingHours && !onChain) throw new Error('the hourly aggregates are being written; the write is retried');
            await flushPendingIn(conn);
          }
          let committed: (() => void) | undefined;
          const lone = anyOld ? undefined : loneInsert(groups);
          const liveByKind = lone ? await insertAlone(conn, lone, parts?.get(lone[0])) : await inTransaction(conn, async () => {
            folded = 0;
            counted = 0;
            const live: Reading[] = [];
            const byKind: [KindName, Reading[]][] = [];
            for (const [kind, all] of groups) {
              const t = kindTables[kind];
              const old = floor > 0 ? all.filter((r) => r.ts < floor) : [];
              const rows = old.length > 0 ? all.filter((r) => r.ts >= floor) : all;
              if (old.length > 0) {
                // Past the raw period: its hour's readings are gone, so only the hourly aggregate takes it.
                await appendStaged(conn, t, old);
                const [oldLo, oldHi] = span(old);
                const n = await foldIntoHourly(conn, t, oldLo, oldHi);
                await conn.run(`DELETE FROM ${t.staging}`);
                folded += n;
                counted += old.length - n;
              }
              if (rows.length === 0) continue;
              newest ??= await loadNewest(conn, now());
              if (newerThanStored(newest, kind, rows)) {
                // None can match a stored row: inserted straight into the table (the staging table, MERGE and DELETE saved).
                await insertStraight(conn, kind, rows, old.length === 0 ? parts?.get(kind) : undefined);
              } else {
                const [lo, hi] = span(rows);
                await appendStaged(conn, t, rows);
                await runPrepared(conn, mergeStatements[kind], [BigInt(lo), BigInt(hi)]);
                await runPrepared(conn, `DELETE FROM ${t.staging}`);
              }
              // Their hours are aggregated in memory once this commits; marked here so a crash before the flush is recovered.
              const fresh = pending.newHours(kind, rows);
              noteMarked(kind, fresh);
              await markDirtyHours(conn, kind, fresh);
              live.push(...rows);
              byKind.push([kind, rows]);
            }
            committed = await deps.rollups.maintain(conn, live, floor);
            return byKind;
          });
          // Committed. Still in the writer's job, so the next job (a write's bound check and marks, a
          // flush) sees this batch. Plain Map updates; were one to throw, the write still counts as committed.
          try {
            for (const [kind, rows] of liveByKind) {
              if (newest) {
                // A device not in the map may hold readings up to `before`: a replay older than that must not lower its bound.
                const byDevice = newest.byKind.get(kind)!;
                const { before } = newest;
                for (const r of rows) {
                  if (r.ts > (byDevice.get(r.device) ?? before)) byDevice.set(r.device, r.ts);
                }
              }
            }
            // After the bounds: were this to throw, a replay of the batch must still merge, not be inserted twice.
            for (const [kind, rows] of liveByKind) pending.add(kind, rows);
            committed?.();
          } catch (err) {
            logger.error({ err }, 'updating memory after a committed telemetry write failed: the hourly aggregates of this batch may be incomplete');
          }
        });
        await (onChain ? onHourlyChain(job) : job());
      } catch (err) {
        if (err instanceof DatabaseClosedError) throw err;
        // Disk full, I/O error, write conflict: nothing was committed, so the caller may retry as is.
        throw new StoreUnavailableError(`embedded store write of ${batch.length} readings failed: ${(err as Error).message}`, undefined, { cause: err });
      } finally {
        inFlight -= 1;
      }
      if (!flushQueued && (pending.size() >= MAX_PENDING_HOURS || pending.ageMs(Date.now()) >= flushMs)) flushInBackground();
      else scheduleFlush();
      if (folded > 0) {
        deps.onFolded?.(folded);
        logger.info({ readings: folded, floor }, 'readings older than the raw retention period folded into their hourly aggregates');
      }
      if (counted > 0) {
        // Not lost: each is a (device, ts) its hour already counts (a replay, or an hour retention has not reached yet).
        logger.info({ readings: counted, floor }, 'readings older than the raw retention period already counted in their hour: not folded again');
      }
      logger.trace({ readings: batch.length, ms: Math.round(performance.now() - started) }, 'embedded store batch committed');
    },

    async latest(device) {
      ensureOpen();
      let best: Reading | undefined;
      for (const kind of kindNames) {
        const rows = await reader.query(`SELECT * FROM ${kindTables[kind].table} WHERE device = $1 ORDER BY ts DESC LIMIT 1`, [device]);
        const r = rows[0] ? rowToReading(kind, rows[0]) : undefined;
        if (r && (!best || r.ts > best.ts)) best = r;
      }
      return best;
    },

    async latestAll() {
      ensureOpen();
      const byDevice = new Map<string, Reading>();
      for (const kind of kindNames) {
        const rows = await reader.query(
          `SELECT * FROM ${kindTables[kind].table} QUALIFY row_number() OVER (PARTITION BY device ORDER BY ts DESC) = 1`,
        );
        for (const row of rows) {
          const r = rowToReading(kind, row);
          const prev = byDevice.get(r.device);
          if (!prev || r.ts > prev.ts) byDevice.set(r.device, r);
        }
      }
      return [...byDevice.values()].sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
    },

    completeFrom: (query: SeriesQuery) => seriesCompleteFrom(query, deps.rawFloor?.() ?? 0),

    async series(query: SeriesQuery): Promise<SeriesPoint[]> {
      ensureOpen();
      const plan = seriesSql(query, { rawFloor: deps.rawFloor?.() ?? 0 });
      if (!plan) return [];
      // Read-your-writes: what the readings say the hours hold is in the hourly tables before they are read.
      // A flush that fails (a full disk) still lets the read answer, with the hours as last written.
      if (plan.hourly && (pending.size() > 0 || inFlight > 0)) {
        await flushHourly().catch((err: unknown) => {
          if (err instanceof DatabaseClosedError) throw err;
          logger.warn({ err }, 'writing the pending hourly aggregates before a read failed; the read answers without them');
        });
      }
      const rows = await reader.query(plan.sql, plan.params);
      return rows.map((row) => {
        const values: Record<string, FieldValue | null> = {};
        for (const f of plan.fields) {
          const v = row[f.name] ?? null;
          values[f.name] = v === null ? null : f.asBoolean ? Boolean(v) : toNumber(v);
        }
        return { ts: toNumber(row[plan.tsColumn] ?? null) as number, device: String(row.device), values };
      });
    },

    close() {
      closed = true;
      clearTimeout(flushTimer);
      closing ??= flushHourly()
        .catch((err: unknown) => logger.warn({ err }, 'the pending hourly aggregates were not written at close; they are recomputed on the next open'))
        .then(() => deps.release());
      return closing;
    },
  };
}
