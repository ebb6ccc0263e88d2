import { open, readFile, rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { SpoolPosition } from './contract.js';
import { findNextHeader, parseRecord } from './codec.js';
import { readCheckpoint } from './checkpoint.js';
import { listSegmentIds, segmentFile, segmentPath, type Segment, type Skip } from './segment.js';

export interface Recovered {
  /** Segments still holding unacknowledged bytes, oldest first, all sealed. */
  segments: Segment[];
  /** Where the forwarder resumes: the checkpoint, or the start of the oldest segment. */
  start: SpoolPosition;
  /** Readings in valid records after `start`. */
  depth: number;
  oldestUnsentAt?: number;
  corrupt: number;
}

/**
 * Opens the log after a clean close or a crash. Segments before the checkpoint are acknowledged
 * (deleting them may have been cut short) and go. The rest is scanned from the checkpoint, record by
 * record, checking length and both CRCs. A bad record is skipped with a warn line naming segment and
 * offset: exactly, when its header (and so its length) is intact; otherwise up to the next valid
 * header. Damage that runs to the end of a file — the torn write of a crash — is truncated away, so
 * the next open does not warn again. New appends always go to a fresh segment (see spool.ts).
 */
export async function recoverSpool(dir: string, log: Logger, onCorrupt: () => void): Promise<Recovered> {
  const checkpoint = await readCheckpoint(dir, log);
  const ids = await listSegmentIds(dir);
  const segments: Segment[] = [];
  let depth = 0;
  let oldestUnsentAt: number | undefined;
  let corrupt = 0;
  let start: SpoolPosition | undefined;

  for (const id of ids) {
    const path = segmentPath(dir, id);
    if (checkpoint && id < checkpoint.segment) {
      await rm(path, { force: true });
      continue;
    }
    const buf = await readFile(path);
    let off = checkpoint && id === checkpoint.segment ? Math.min(checkpoint.offset, buf.length) : 0;
    start ??= { segment: id, offset: off };
    const skips: Skip[] = [];
    let tail: number | undefined;
    const bad = (from: number, to: number | undefined, reason: string) => {
      corrupt += 1;
      onCorrupt();
      log.warn({ segment: segmentFile(id), offset: from, bytes: (to ?? buf.length) - from, reason },
        to === undefined ? 'spool: corrupt or torn record at the end of a segment, truncated' : 'spool: corrupt record skipped');
      if (to === undefined) tail = from;
      else skips.push({ from, to });
    };
    while (off < buf.length && tail === undefined) {
      const r = parseRecord(buf, off, buf.length, false);
      if (r.kind === 'ok') {
        depth += r.record.count;
        oldestUnsentAt ??= r.record.appendedAt;
        off += r.record.size;
      } else if (r.kind === 'incomplete') {
        bad(off, undefined, 'truncated');
      } else if (r.kind === 'bad-payload') {
        if (off + r.size >= buf.length) bad(off, undefined, 'payload checksum');
        else { bad(off, off + r.size, 'payload checksum'); off += r.size; }
      } else {
        const next = findNextHeader(buf, off + 1, buf.length);
        if (next === -1) bad(off, undefined, 'header checksum');
        else { bad(off, next, 'header checksum'); off = next; }
      }
    }
    let size = buf.length;
    if (tail !== undefined) {
      const fh = await open(path, 'r+');
      try {
        await fh.truncate(tail);
        await fh.sync();
      } finally {
        await fh.close();
      }
      size = tail;
    }
    segments.push({ id, path, size, sealed: true, skips });
  }
  // A checkpoint past every remaining segment (all acknowledged, or files removed by hand).
  start ??= { segment: (checkpoint?.segment ?? 0) + 1, offset: 0 };
  return { segments, start, depth, oldestUnsentAt, corrupt };
}
