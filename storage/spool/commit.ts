import { rm, type FileHandle } from 'node:fs/promises';
import { fsyncDir, openSegmentForAppend, segmentPath, writesSyncData, type Segment } from './segment.js';

/** One run of a group commit: consecutive records that go to one segment. */
export interface Run<T extends { buf: Buffer }> {
  seg: Segment;
  /** A new segment this group opened (the one before it is sealed when the group lands). */
  fresh: boolean;
  /** Offset of the run's first record in its segment. */
  start: number;
  items: T[];
  bytes: number;
  /** The handle written through: the active segment's, or the fresh segment's own. */
  fh: FileHandle;
}

export interface GroupTarget {
  dir: string;
  active: Segment;
  fh: FileHandle;
  segmentBytes: number;
  fsync: boolean;
  /** Start a new segment before the first record, even if the active one has room. */
  roll: boolean;
}

/** Splits a group into runs per segment, rolling when the next record would overflow one. */
function plan<T extends { buf: Buffer }>(t: GroupTarget, batch: readonly T[]): Omit<Run<T>, 'fh'>[] {
  const runs: Omit<Run<T>, 'fh'>[] = [];
  let cur: Omit<Run<T>, 'fh'> = { seg: t.active, fresh: false, start: t.active.size, items: [], bytes: 0 };
  let nextId = t.active.id + 1;
  for (const p of batch) {
    const filled = cur.start + cur.bytes;
    if (filled > 0 && (filled + p.buf.length > t.segmentBytes || (t.roll && cur.seg === t.active))) {
      if (cur.items.length > 0) runs.push(cur);
      cur = { seg: { id: nextId, path: segmentPath(t.dir, nextId), size: 0, sealed: false, skips: [] }, fresh: true, start: 0, items: [], bytes: 0 };
      nextId += 1;
    }
    cur.items.push(p);
    cur.bytes += p.buf.length;
  }
  runs.push(cur);
  return runs;
}

async function writeFully(h: FileHandle, buf: Buffer, position: number): Promise<void> {
  for (let done = 0; done < buf.length;) {
    const { bytesWritten } = await h.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Writes one group: per segment touched, one positional write of all its records (concatenated:
 * a copy is cheap next to an fsync) and one fdatasync — fdatasync, not fsync, because only the data
 * and the file size must reach the disk, not the mtime. New segments' directory entries are made
 * durable by one fsync of the directory. Nothing in memory changes here: the caller applies the
 * result in one synchronous step. On failure the fresh files are removed and the error rethrown.
 */
export async function writeGroup<T extends { buf: Buffer }>(t: GroupTarget, batch: readonly T[]): Promise<Run<T>[]> {
  const planned = plan(t, batch);
  const runs: Run<T>[] = [];
  try {
    for (const p of planned) {
      const fh = p.fresh ? await openSegmentForAppend(p.seg.path, t.fsync) : t.fh;
      runs.push({ ...p, fh });
      await writeFully(fh, Buffer.concat(p.items.map((x) => x.buf), p.bytes), p.start);
      // A durable segment written with O_DSYNC is on the disk already (segment.ts writesSyncData).
      if (t.fsync && !writesSyncData) await fh.datasync();
    }
    if (t.fsync && runs.some((r) => r.fresh)) await fsyncDir(t.dir);
    return runs;
  } catch (err) {
    for (const r of runs.filter((x) => x.fresh)) {
      await r.fh.close().catch(() => {});
      await rm(r.seg.path, { force: true });
    }
    throw err;
  }
}
