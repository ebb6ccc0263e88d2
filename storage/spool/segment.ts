import { constants } from 'node:fs';
import { open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** A range of a segment file that holds no valid record (found by recovery): reads jump over it. */
export interface Skip {
  readonly from: number;
  readonly to: number;
}

/** A segment file as the spool tracks it. */
export interface Segment {
  readonly id: number;
  readonly path: string;
  /** Bytes of valid, committed records (the file may not be longer; recovery truncates torn tails). */
  size: number;
  /** Only the last (active) segment is appended to; sealed ones are read-only. */
  sealed: boolean;
  readonly skips: Skip[];
}

/** 20 digits: a u64 id sorts the same as a string, so `ls` shows the log in order. */
export const segmentFile = (id: number): string => `${String(id).padStart(20, '0')}.seg`;

export function segmentId(file: string): number | undefined {
  const m = /^(\d{20})\.seg$/.exec(file);
  return m ? Number(m[1]) : undefined;
}

export async function listSegmentIds(dir: string): Promise<number[]> {
  const ids = (await readdir(dir)).map(segmentId).filter((id): id is number => id !== undefined);
  return ids.sort((a, b) => a - b);
}

export const segmentPath = (dir: string, id: number): string => join(dir, segmentFile(id));

/**
 * fsync of the directory makes a created, renamed or deleted entry itself durable (POSIX leaves it
 * to the directory's own fsync; ext4 and xfs honour it). Some platforms refuse to open a directory
 * for fsync (Windows); there the rename is as durable as it gets, so the error is ignored.
 */
export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EISDIR' && (err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
  } finally {
    await fh?.close();
  }
}

/**
 * Whether this platform opens files with O_DSYNC (Linux, macOS and the BSDs do; Windows has no such
 * flag in Node): then a durable segment's every write returns once its data, and the file size that
 * reaches it, are on the disk — POSIX "synchronized I/O data integrity completion", which is what
 * write followed by fdatasync gives — in one call into libuv's thread pool instead of two
 * (PostgreSQL's `wal_sync_method = open_datasync`). Each call's completion waits for a turn of the
 * event loop, which under load is what a group commit mostly waits for (BENCHMARKS.md).
 */
export const writesSyncData = constants.O_DSYNC !== undefined;

/**
 * Opens a new segment for appending (created or truncated). `durable`: with O_DSYNC where the
 * platform has it (`writesSyncData`); elsewhere the writer calls fdatasync after its writes.
 */
export function openSegmentForAppend(path: string, durable: boolean): Promise<FileHandle> {
  if (!durable || !writesSyncData) return open(path, 'w');
  return open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_DSYNC);
}
