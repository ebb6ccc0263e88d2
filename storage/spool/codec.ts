import type { Reading } from '../../core/index.js';
import { crc32 } from './crc32.js';

/**
 * One spool record = the appends of one kind in one group commit (storage/spool/spool.ts), up to a
 * bound, as one JSON array: a header, a CRC and a buffer per group instead of per message. The
 * payload is also what a store may insert from (storage/contract.ts EncodedReadings). Little-endian,
 * 28-byte header then the payload:
 *
 *   0  u32  magic "ANJ\x01" (0x014A4E41) — lets recovery re-synchronise after a corrupt header
 *   4  u32  payload length in bytes
 *   8  u32  number of readings (depth is known on open without parsing payloads)
 *  12  f64  append time, epoch ms (oldest-unsent age survives a restart)
 *  20  u32  CRC-32 of the payload
 *  24  u32  CRC-32 of header bytes 0..23 — a valid header means its length field can be trusted,
 *           so a record with a bad payload is skipped exactly, not by guessing
 *  28  payload: the readings as a UTF-8 JSON array (JSON.stringify/parse run at several hundred
 *      MB/s in V8, well above what the fsync'd log absorbs; a binary codec was not worth its bugs)
 */
export const HEADER_BYTES = 28;
export const MAGIC = 0x014a4e41;
const MAGIC_BYTES = Buffer.from([0x41, 0x4e, 0x4a, 0x01]);
/** Far above any append (an MQTT packet is at most 256 MiB, ingest caps payloads much lower). */
export const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;

export interface DecodedRecord {
  readonly count: number;
  readonly appendedAt: number;
  /** Bytes of header + payload. */
  readonly size: number;
  /** Undefined when only the header was asked for (recovery counts without parsing). */
  readonly readings?: Reading[];
}

export function encodeRecord(readings: readonly Reading[], appendedAt: number): Buffer {
  return encodeArrays([JSON.stringify(readings)], readings.length, appendedAt);
}

/**
 * One record of several appends' readings, each already a JSON array (`JSON.stringify` of a
 * non-empty list, done once at append time): their elements are joined into one array, so nothing
 * is serialised twice. `count` is the readings in all of them; `byteLengths`, when given, each
 * array's `Buffer.byteLength` (a wrong one corrupts the record: the spool passes what it measured).
 *
 * Joined in the buffer, not as a string: each array is encoded where it goes, its `[` written over
 * the `]` of the one before and then made a `,` — no sliced copies and no joined string of the
 * whole group to flatten and encode again.
 */
export function encodeArrays(arrays: readonly string[], count: number, appendedAt: number, byteLengths?: readonly number[]): Buffer {
  // Joining overwrites one byte of each array: an empty list, or an empty array, has nothing to join.
  if (arrays.length === 0) throw new RangeError('spool: encodeArrays needs at least one JSON array');
  if (byteLengths && byteLengths.length !== arrays.length) throw new RangeError('spool: encodeArrays needs one byte length per array');
  let len = 1 - arrays.length;
  for (let i = 0; i < arrays.length; i += 1) {
    const a = arrays[i]!;
    if (a.length < 3) throw new RangeError('spool: encodeArrays joins non-empty JSON arrays only');
    // UTF-8 lengths the caller measured already (the spool, for its quota): measured once per append.
    len += byteLengths ? byteLengths[i]! : Buffer.byteLength(a);
  }
  const buf = Buffer.allocUnsafe(HEADER_BYTES + len);
  let pos = HEADER_BYTES;
  for (let i = 0; i < arrays.length; i += 1) {
    const n = buf.write(arrays[i]!, pos, 'utf8');
    if (i > 0) buf[pos] = 0x2c; // ','
    pos += n - 1;
  }
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt32LE(len, 4);
  buf.writeUInt32LE(count, 8);
  buf.writeDoubleLE(appendedAt, 12);
  buf.writeUInt32LE(crc32(buf, HEADER_BYTES, HEADER_BYTES + len), 20);
  buf.writeUInt32LE(crc32(buf, 0, 24), 24);
  return buf;
}

export type ParseResult =
  | { kind: 'ok'; record: DecodedRecord }
  /** The buffer ends inside this record: `need` bytes from the offset are required. */
  | { kind: 'incomplete'; need: number }
  /** Magic or header CRC wrong: the length cannot be trusted. */
  | { kind: 'bad-header' }
  /** Header fine, payload CRC (or JSON) wrong: skip exactly `size` bytes. */
  | { kind: 'bad-payload'; size: number };

function headerValid(buf: Buffer, off: number): boolean {
  return buf.readUInt32LE(off) === MAGIC
    && buf.readUInt32LE(off + 24) === crc32(buf, off, off + 24)
    && buf.readUInt32LE(off + 4) <= MAX_PAYLOAD_BYTES;
}

/** Parses the record at `buf[off..end)`; `withReadings` false checks the CRC but skips JSON.parse. */
export function parseRecord(buf: Buffer, off: number, end: number, withReadings: boolean): ParseResult {
  if (end - off < HEADER_BYTES) return { kind: 'incomplete', need: HEADER_BYTES };
  if (!headerValid(buf, off)) return { kind: 'bad-header' };
  const len = buf.readUInt32LE(off + 4);
  const size = HEADER_BYTES + len;
  if (end - off < size) return { kind: 'incomplete', need: size };
  const start = off + HEADER_BYTES;
  if (crc32(buf, start, start + len) !== buf.readUInt32LE(off + 20)) return { kind: 'bad-payload', size };
  const count = buf.readUInt32LE(off + 8);
  const appendedAt = buf.readDoubleLE(off + 12);
  if (!withReadings) return { kind: 'ok', record: { count, appendedAt, size } };
  let readings: Reading[];
  try {
    readings = JSON.parse(buf.toString('utf8', start, start + len)) as Reading[];
  } catch {
    return { kind: 'bad-payload', size }; // a CRC collision on garbage; never seen, still handled
  }
  if (!Array.isArray(readings) || readings.length !== count) return { kind: 'bad-payload', size };
  return { kind: 'ok', record: { count, appendedAt, size, readings } };
}

/** The next offset after `from` where a header with a valid CRC starts, or -1. */
export function findNextHeader(buf: Buffer, from: number, end: number): number {
  for (let i = buf.indexOf(MAGIC_BYTES, from); i !== -1 && i + HEADER_BYTES <= end; i = buf.indexOf(MAGIC_BYTES, i + 1)) {
    if (headerValid(buf, i)) return i;
  }
  return -1;
}
