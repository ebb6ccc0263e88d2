import { open } from 'node:fs/promises';
import type { SpoolRecord } from './contract.js';
import { HEADER_BYTES, parseRecord } from './codec.js';
import type { Segment } from './segment.js';

/** Bytes read per syscall when replaying from disk: large enough to amortise, small enough to hold. */
const BLOCK_BYTES = 1024 * 1024;

export interface DiskRead {
  records: SpoolRecord[];
  /** Offset in the segment after what was consumed (records, skipped ranges). */
  next: number;
}

/**
 * Reads whole records of one segment from `offset` up to `limit`, stopping before the record that
 * would take the total past `maxReadings` (but always returning at least one). Ranges recovery found
 * corrupt are jumped silently (recovery logged them). Damage found here is new — the disk changed
 * under a running spool — and `onCorrupt` reports it; the rest of the segment is then abandoned,
 * because a record whose header is bad has no length to trust.
 */
export async function readSegment(
  seg: Segment, offset: number, limit: number, maxReadings: number,
  onCorrupt: (offset: number, reason: string) => void,
): Promise<DiskRead> {
  const records: SpoolRecord[] = [];
  let count = 0;
  let pos = offset;
  const fh = await open(seg.path, 'r');
  try {
    let buf = Buffer.alloc(0);
    let bufStart = pos;
    while (pos < limit) {
      const skip = seg.skips.find((s) => s.from <= pos && pos < s.to);
      if (skip) { pos = skip.to; continue; }
      let at = pos - bufStart;
      if (at + 28 > buf.length || parseRecord(buf, at, buf.length, false).kind === 'incomplete') {
        // Refill from pos: a block, or the whole record when it is larger.
        const head = Buffer.alloc(Math.min(28, limit - pos));
        await fh.read(head, 0, head.length, pos);
        const need = head.length === 28 ? 28 + head.readUInt32LE(4) : head.length;
        const len = Math.min(limit - pos, Math.max(BLOCK_BYTES, need));
        buf = Buffer.allocUnsafe(len);
        const { bytesRead } = await fh.read(buf, 0, len, pos);
        buf = buf.subarray(0, bytesRead);
        bufStart = pos;
        at = 0;
      }
      const r = parseRecord(buf, at, buf.length, true);
      if (r.kind !== 'ok') {
        onCorrupt(pos, r.kind);
        pos = r.kind === 'bad-payload' ? pos + r.size : limit;
        continue;
      }
      const rec = r.record;
      if (records.length > 0 && count + rec.count > maxReadings) break;
      records.push({
        position: { segment: seg.id, offset: pos },
        next: { segment: seg.id, offset: pos + rec.size },
        appendedAt: rec.appendedAt,
        readings: rec.readings!,
        json: buf.subarray(at + HEADER_BYTES, at + rec.size),
      });
      count += rec.count;
      pos += rec.size;
      if (count >= maxReadings) break;
    }
  } finally {
    await fh.close();
  }
  return { records, next: pos };
}
