import type { Reading } from '../../core/index.js';
import { CodedError } from '../../core/errors.js';

/**
 * The durable spool between ingest and any store (so no acknowledged reading is lost while a store is down): an append-only log on disk of segment
 * files with checksummed records. Ingest appends accepted readings and — for QoS 1 — only then lets
 * the broker send the PUBACK; a forwarder consumes the log in order and advances its checkpoint
 * only after the store acknowledged a batch. A store outage grows the spool; an ingest restart
 * replays from the checkpoint; nothing acknowledged is lost.
 */
export interface Spool {
  readonly name: string;
  /**
   * Appends readings; resolves once they are durable (fsync'd by the group commit, or written to
   * the OS when fsync is off). Rejects with SpoolFullError when the disk quota would be exceeded:
   * the caller must then refuse the message (no PUBACK), never drop it silently. Rejects with
   * SpoolClosedError after close, and with the I/O error when the disk write failed (nothing of
   * that append counts as durable; the caller refuses it as for a full spool).
   */
  append(readings: readonly Reading[]): Promise<void>;
  /** As a reading consumer of the ingest pipeline: `accept` = `append`. */
  accept(readings: readonly Reading[]): Promise<void>;
  stats(): SpoolStats;
  /** Waits for appends in progress to be committed, then closes; later appends reject. */
  close(): Promise<void>;
}

export interface SpoolStats {
  /** Readings appended but not yet acknowledged by the store. */
  readonly depth: number;
  /** Bytes of segment files on disk (what the quota bounds). */
  readonly bytes: number;
  readonly quotaBytes: number;
  /** Append time (epoch ms) of the oldest reading not yet acknowledged by the store. */
  readonly oldestUnsentAt?: number;
  readonly segments: number;
  /** True while appends are refused for the quota. */
  readonly full: boolean;
  readonly refusedTotal: number;
  readonly appendedTotal: number;
  /** Group commits (each one write + at most one fdatasync per segment touched) since open. */
  readonly commitsTotal: number;
  /** Corrupt records skipped since open (recovery and reads). */
  readonly corruptTotal: number;
}

/** A place in the log: a byte offset in a segment. Records are ordered by (segment, offset). */
export interface SpoolPosition {
  readonly segment: number;
  readonly offset: number;
}

/** One append, as read back for the forwarder. */
export interface SpoolRecord {
  readonly position: SpoolPosition;
  /** Where the following record starts: the checkpoint once this record is acknowledged. */
  readonly next: SpoolPosition;
  readonly appendedAt: number;
  readonly readings: readonly Reading[];
  /** The record's payload: `readings` as the one JSON array the log holds (codec.ts), byte for byte. */
  readonly json: Uint8Array;
}

/**
 * The consumer side of a spool, used by exactly one forwarder. The read cursor lives in memory and
 * starts at the durable checkpoint on open; `acknowledge` advances (and persists) the checkpoint.
 */
export interface SpoolLog extends Spool {
  /**
   * Records after the read cursor, whole, holding at most `maxReadings` readings unless a single
   * record holds more (then that record alone); moves the cursor past them. Empty when caught up.
   * Served from memory when the records are still cached from their append, else from disk.
   */
  read(maxReadings: number): Promise<SpoolRecord[]>;
  /** Resolves as soon as there is something after the read cursor, or the spool is closing. */
  waitForRecords(): Promise<void>;
  /** Resolves after the next group commit, whatever is unread already; when the spool closes; never after. */
  nextCommit(): Promise<void>;
  /**
   * The store took every record before `upTo` (`readings` of them, dropped ones included): the
   * checkpoint moves there (atomically, durably) and fully acknowledged segments are deleted.
   * Resolves when the checkpoint is on disk: at most one checkpoint write starts per interval
   * (`checkpointNow` cuts the wait short), so a crash may replay the last interval's readings.
   */
  acknowledge(upTo: SpoolPosition, readings: number): Promise<void>;
  /** An acknowledgement whose checkpoint waits out the spool's checkpoint interval is written now. */
  checkpointNow(): void;
  /** The read cursor: everything before it has been handed to the forwarder. */
  readPosition(): SpoolPosition;
  /** The end of the committed log: what `flush` must see acknowledged. */
  endPosition(): SpoolPosition;
}

export class SpoolFullError extends CodedError {
  override name = 'SpoolFullError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('spool_full', 'unavailable', message, options);
  }
}

export class SpoolClosedError extends CodedError {
  override name = 'SpoolClosedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('spool_closed', 'unavailable', message, options);
  }
}

export function comparePositions(a: SpoolPosition, b: SpoolPosition): number {
  return a.segment - b.segment || a.offset - b.offset;
}
