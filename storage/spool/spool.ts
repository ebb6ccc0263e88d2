import { mkdir, rm, type FileHandle } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Reading } from '../../core/index.js';
import { createCheckpointWriter } from './checkpoint.js';
import { encodeArrays, HEADER_BYTES } from './codec.js';
import {
  comparePositions, SpoolClosedError, SpoolFullError, type SpoolLog, type SpoolPosition, type SpoolRecord, type SpoolStats,
} from './contract.js';
import { createSpoolMetrics } from './metrics.js';
import { readSegment } from './reader.js';
import { recoverSpool } from './recovery.js';
import { fsyncDir, openSegmentForAppend, segmentFile, segmentPath, type Segment } from './segment.js';
import { writeGroup } from './commit.js';
import { createRecordCache } from './record-cache.js';

export interface SpoolConfig {
  dir: string;
  /** A segment is rolled when the next record would take it past this (e.g. 16 MiB). */
  segmentBytes: number;
  /** Bound on the bytes of segment files; at least 2 × segmentBytes, since segments are freed whole. */
  quotaBytes: number;
  /** How long the first append of a group waits for others to share its write + fdatasync (2–5 ms). */
  groupCommitMs: number;
  /** Off: appends resolve once written to the OS (survive a process crash, not a power cut). */
  fsync: boolean;
  /** Encoded bytes of recent appends kept in memory so the forwarder skips the disk; default 32 MiB. */
  cacheBytes?: number;
  /**
   * At most one checkpoint write starts per this many ms; acknowledgements in between coalesce
   * (checkpoint.ts: what a crash then replays). `checkpointNow` and the close write at once. Default 200.
   */
  checkpointIntervalMs?: number;
}

export interface SpoolDeps {
  logger: Logger;
  metrics: Registry;
  clock?: () => number;
}

/**
 * An append waiting for its group: its readings already as JSON, `bytes` its size as a record of its
 * own (an upper bound of its share), `kind` that of all its readings (undefined when they mix kinds).
 */
interface Pending { json: string; bytes: number; readings: readonly Reading[]; appendedAt: number; kind: Reading['kind'] | undefined }

function kindOfAll(readings: readonly Reading[]): Reading['kind'] | undefined {
  const kind = readings[0]!.kind;
  for (let i = 1; i < readings.length; i += 1) if (readings[i]!.kind !== kind) return undefined;
  return kind;
}

/**
 * The outcome every append of one group shares: the group is written and synced as one, so its
 * appends succeed or fail together. One promise per group, not per append: at saturation thousands
 * of appends wait at once, and a promise with its resolve and reject closures each was garbage the
 * young generation copied while the fsync ran.
 */
interface Group { readonly done: Promise<void>; resolve: () => void; reject: (err: unknown) => void }

function openGroup(): Group {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const done = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
  return { done, resolve, reject };
}

/** One record of a group commit: consecutive appends, encoded once. */
interface GroupRecord { buf: Buffer; readings: readonly Reading[]; appendedAt: number }

/**
 * Bounds of one record. Several appends share a header, a CRC and a buffer (allocation and GC per
 * message were the spool's main cost); the bound keeps what one corrupt record can take with it,
 * and the forwarder's batches, small.
 */
const RECORD_MAX_READINGS = 256;
const RECORD_MAX_JSON = 256 * 1024;

/**
 * A group's appends, those of one kind together (in append order within a kind; a device has one
 * kind, so its readings keep their order). The whole group is one fdatasync and succeeds or fails
 * as one, so nothing depends on the order between kinds — and a record of one kind is what a store
 * can insert from the record's bytes as they are (storage/contract.ts EncodedReadings).
 */
function byKind(batch: readonly Pending[]): readonly Pending[] {
  const first = batch[0]?.kind;
  if (first !== undefined && batch.every((p) => p.kind === first)) return batch;
  const groups = new Map<Reading['kind'] | undefined, Pending[]>();
  for (const p of batch) {
    let g = groups.get(p.kind);
    if (!g) groups.set(p.kind, (g = []));
    g.push(p);
  }
  return [...groups.values()].flat();
}

/** A group's appends as records of one kind each (appends that mix kinds aside), in order; an append is never split. */
function packRecords(group: readonly Pending[]): GroupRecord[] {
  const batch = byKind(group);
  const out: GroupRecord[] = [];
  for (let i = 0; i < batch.length;) {
    const first = batch[i]!;
    const arrays = [first.json];
    const lengths = [first.bytes - HEADER_BYTES];
    let count = first.readings.length;
    let chars = first.json.length;
    let j = i + 1;
    for (; j < batch.length; j += 1) {
      const p = batch[j]!;
      if (p.kind !== first.kind || count + p.readings.length > RECORD_MAX_READINGS || chars + p.json.length > RECORD_MAX_JSON) break;
      arrays.push(p.json);
      lengths.push(p.bytes - HEADER_BYTES);
      count += p.readings.length;
      chars += p.json.length;
    }
    const readings = j === i + 1 ? first.readings : batch.slice(i, j).flatMap((p) => p.readings);
    out.push({ buf: encodeArrays(arrays, count, first.appendedAt, lengths), readings, appendedAt: first.appendedAt });
    i = j;
  }
  return out;
}

export async function createSpool(config: SpoolConfig, deps: SpoolDeps): Promise<SpoolLog> {
  const { dir, segmentBytes, quotaBytes, fsync } = config;
  if (!(segmentBytes >= 4096) || !(quotaBytes >= 2 * segmentBytes) || !(config.groupCommitMs >= 0)) {
    throw new RangeError('spool: need segmentBytes >= 4096, quotaBytes >= 2 * segmentBytes, groupCommitMs >= 0');
  }
  const cacheBytes = config.cacheBytes ?? 32 * 1024 * 1024;
  const clock = deps.clock ?? Date.now;
  const log = deps.logger.child({ part: 'storage', component: 'spool', dir });
  const m = createSpoolMetrics(deps.metrics, () => stats(), clock);
  await mkdir(dir, { recursive: true });

  let corruptTotal = 0;
  const onCorrupt = () => { corruptTotal += 1; m.corrupt.inc(); };
  const rec = await recoverSpool(dir, log, onCorrupt);
  const segments: Segment[] = rec.segments;
  let usedBytes = segments.reduce((n, s) => n + s.size, 0);
  // Appends always start a fresh segment: whatever the last run left at its tail stays read-only.
  const firstId = Math.max(rec.start.segment, (segments.at(-1)?.id ?? 0) + 1);
  let active: Segment = { id: firstId, path: segmentPath(dir, firstId), size: 0, sealed: false, skips: [] };
  let fh: FileHandle = await openSegmentForAppend(active.path, fsync);
  if (fsync) await fsyncDir(dir);
  segments.push(active);

  let cursor: SpoolPosition = rec.start;
  let depth = rec.depth;
  /** Append time of the first record handed out and not yet acknowledged; else a lower bound. */
  let outstandingAt: number | undefined;
  let floorAt = rec.oldestUnsentAt;
  let full = false;
  let refusedTotal = 0;
  let appendedTotal = 0;
  let commitsTotal = 0;
  let pending: Pending[] = [];
  /** The outcome of the appends in `pending`; opened by the first of them. */
  let group: Group | undefined;
  let inflightBytes = 0;
  let committing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let rollNext = false;
  let closed = false;
  let lastSave: Promise<void> = Promise.resolve();
  const cache = createRecordCache(cacheBytes);
  let waiters: (() => void)[] = [];
  const checkpoint = createCheckpointWriter(dir, fsync, config.checkpointIntervalMs ?? 200);

  if (rec.depth > 0 || rec.corrupt > 0) {
    log.info({ depth: rec.depth, segments: segments.length - 1, from: rec.start, corrupt: rec.corrupt }, 'spool recovered unacknowledged readings');
  }

  const endPos = (): SpoolPosition => ({ segment: active.id, offset: active.size });
  const segmentOf = (id: number) => segments.find((s) => s.id === id);
  /** A position at the end of a sealed segment is the start of the next one. */
  function normalize(p: SpoolPosition): SpoolPosition {
    for (;;) {
      const seg = segmentOf(p.segment);
      if (seg && (!seg.sealed || p.offset < seg.size)) return p;
      const next = segments.find((s) => s.id > p.segment);
      if (!next) return p;
      p = { segment: next.id, offset: 0 };
    }
  }

  function updateFull(): void {
    // Hysteresis: stay refusing until a segment's worth is free (or nothing is left to free), so a
    // spool at the brink does not flap between full and not with every acknowledged batch.
    if (full && (usedBytes + inflightBytes <= quotaBytes - segmentBytes || depth === 0)) {
      full = false;
      log.info({ bytes: usedBytes, quotaBytes }, 'spool has room again: accepting appends');
    }
  }

  function stats(): SpoolStats {
    let oldest: number | undefined;
    if (depth > 0) {
      const head = cache.peek();
      oldest = outstandingAt ?? (head && comparePositions(head.position, cursor) === 0 ? head.appendedAt : floorAt);
    }
    return {
      depth, bytes: usedBytes, quotaBytes, oldestUnsentAt: oldest, segments: segments.length, full,
      refusedTotal, appendedTotal, commitsTotal, corruptTotal,
    };
  }

  /** One group: its records in one write per segment touched, one fdatasync each, then every append resolves. */
  async function commit(batch: Pending[], outcome: Group): Promise<void> {
    const endTimer = m.commitSeconds.startTimer();
    const reserved = batch.reduce((n, p) => n + p.bytes, 0);
    let runs;
    try {
      runs = await writeGroup({ dir, active, fh, segmentBytes, fsync, roll: rollNext }, packRecords(batch));
    } catch (err) {
      log.error({ err, appends: batch.length, segment: segmentFile(active.id) }, 'spool write failed: appends refused');
      // Cut what part of the group reached the active segment; if even that fails, start a new one.
      await fh.truncate(active.size).catch(() => { rollNext = true; });
      inflightBytes -= reserved;
      outcome.reject(err);
      return;
    }
    // Bookkeeping in one synchronous step, so the reader never sees a half-committed group.
    const wasEmpty = depth === 0;
    const retired: FileHandle[] = [];
    for (const run of runs) {
      if (run.fresh) {
        active.sealed = true;
        retired.push(fh);
        fh = run.fh;
        active = run.seg;
        segments.push(active);
        rollNext = false;
      }
      let off = run.start;
      for (const p of run.items) {
        const r: SpoolRecord = { position: { segment: run.seg.id, offset: off }, next: { segment: run.seg.id, offset: off + p.buf.length },
          appendedAt: p.appendedAt, readings: p.readings, json: p.buf.subarray(HEADER_BYTES) };
        off += p.buf.length;
        cache.push(r, p.buf.length);
        depth += p.readings.length;
        appendedTotal += p.readings.length;
        m.appended.inc(p.readings.length);
      }
      run.seg.size = off;
    }
    if (wasEmpty) floorAt = batch[0]!.appendedAt;
    usedBytes += runs.reduce((n, run) => n + run.bytes, 0);
    inflightBytes -= reserved;
    commitsTotal += 1;
    endTimer();
    outcome.resolve();
    const w = waiters;
    waiters = [];
    for (const resolve of w) resolve();
    for (const h of retired) await h.close().catch((err: unknown) => log.warn({ err }, 'spool: closing a sealed segment failed'));
  }

  function runCommits(): void {
    timer = undefined;
    if (committing) return;
    committing = (async () => {
      // Appends that arrived during an fsync already waited one: they go in the next group at once.
      while (pending.length > 0) {
        const batch = pending;
        const outcome = group!;
        pending = [];
        group = undefined;
        await commit(batch, outcome);
      }
    })().finally(() => { committing = undefined; if (pending.length > 0) runCommits(); });
  }

  function append(readings: readonly Reading[]): Promise<void> {
    if (closed) return Promise.reject(new SpoolClosedError('spool is closed'));
    if (readings.length === 0) return Promise.resolve();
    const appendedAt = clock();
    // Serialised once, here; the group commit joins the arrays (codec.ts encodeArrays).
    const json = JSON.stringify(readings);
    const bytes = HEADER_BYTES + Buffer.byteLength(json);
    updateFull();
    if (full || usedBytes + inflightBytes + bytes > quotaBytes) {
      refusedTotal += readings.length;
      m.refused.inc(readings.length);
      if (!full) log.warn({ bytes: usedBytes, quotaBytes, depth }, 'spool full: refusing appends until the store catches up');
      full = true;
      return Promise.reject(new SpoolFullError(`spool full: ${usedBytes} of ${quotaBytes} bytes hold unacknowledged readings`));
    }
    inflightBytes += bytes;
    pending.push({ json, bytes, readings, appendedAt, kind: kindOfAll(readings) });
    group ??= openGroup();
    // The first append of a group opens the window; a commit in flight picks the rest up itself.
    if (!committing && !timer) timer = setTimeout(runCommits, config.groupCommitMs);
    return group.done;
  }

  async function deleteBefore(id: number): Promise<void> {
    // The list and the byte count change in one synchronous step, the files go after. Deletions run
    // side by side (acknowledgements merged into one checkpoint write resolve together), and one that
    // awaited a file's removal with a stale list spliced index -1 — the active segment — out of it:
    // the reader then found no next segment and the forwarder spun with readings left unstored.
    const gone = segments.filter((s) => s.id < id && s.sealed);
    for (const seg of gone) {
      segments.splice(segments.indexOf(seg), 1);
      usedBytes -= seg.size;
    }
    updateFull();
    for (const seg of gone) await rm(seg.path, { force: true });
  }

  // Segments wholly before the checkpoint (the last one acknowledged to its end) go now, not at the next ack.
  cursor = normalize(cursor);
  await deleteBefore(cursor.segment);

  return {
    name: 'spool',
    append,
    accept: append,
    stats,
    readPosition: () => (cursor = normalize(cursor)),
    endPosition: endPos,
    async read(maxReadings) {
      for (;;) {
        cursor = normalize(cursor);
        if (comparePositions(cursor, endPos()) >= 0) return [];
        let out: SpoolRecord[] = [];
        const head = cache.peek();
        if (head && comparePositions(head.position, cursor) === 0) {
          let n = 0;
          for (let r = cache.peek(); r && (out.length === 0 || n + r.readings.length <= maxReadings); r = cache.peek()) {
            n += r.readings.length;
            out.push(cache.shift()!);
          }
        } else {
          const seg = segmentOf(cursor.segment)!;
          const limit = head && head.position.segment === seg.id ? head.position.offset : seg.size;
          const res = await readSegment(seg, cursor.offset, limit, maxReadings, (offset, reason) => {
            onCorrupt();
            log.warn({ segment: segmentFile(seg.id), offset, reason }, 'spool: corrupt record found while forwarding, rest of the segment skipped');
          });
          out = res.records;
          cursor = { segment: seg.id, offset: res.next };
        }
        if (out.length > 0) {
          cursor = out.at(-1)!.next;
          outstandingAt ??= out[0]!.appendedAt;
          floorAt = out.at(-1)!.appendedAt;
          return out;
        }
      }
    },
    waitForRecords() {
      cursor = normalize(cursor);
      if (comparePositions(cursor, endPos()) < 0) return Promise.resolve();
      // Closed: nothing will ever arrive; a forwarder still running idles until its own close.
      if (closed) return new Promise<void>(() => {});
      return new Promise<void>((resolve) => waiters.push(resolve));
    },
    nextCommit() {
      // Closed: no commit will come (resolving at once would let a caller that loops on it spin).
      if (closed) return new Promise<void>(() => {});
      return new Promise<void>((resolve) => waiters.push(resolve));
    },
    acknowledge(upTo, readings) {
      depth = Math.max(0, depth - readings);
      const pos = normalize(upTo);
      if (comparePositions(pos, normalize(cursor)) >= 0) outstandingAt = undefined;
      // Everything is acknowledged but the spool is full: roll, so the active segment can go too.
      if (depth === 0 && full) rollNext = true;
      updateFull();
      lastSave = checkpoint.save(pos).then(() => deleteBefore(pos.segment));
      return lastSave;
    },
    checkpointNow() {
      checkpoint.hurry();
    },
    async close() {
      if (closed) return;
      closed = true;
      if (timer) { clearTimeout(timer); runCommits(); }
      while (committing) await committing;
      checkpoint.hurry();
      await lastSave.catch(() => {});
      await fh.close();
      // An empty active segment is noise for the next open, which starts its own anyway.
      if (active.size === 0) { segments.splice(segments.indexOf(active), 1); await rm(active.path, { force: true }); }
      for (const resolve of waiters.splice(0)) resolve();
      log.info(stats(), 'spool closed');
    },
  };
}
