import { crc32 as zlibCrc32 } from 'node:zlib';

/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) of every spool record, by zlib's native
 * implementation (`zlib.crc32`, Node ≥ 20.15 and 22.2; package.json asks for ≥ 20.19 / 22.12). It
 * replaced a table-driven JS loop of one byte per step (0.5–1 GB/s): every reading is checksummed
 * once on its way to the PUBACK, and the native one runs many times faster (BENCHMARKS.md, 2026-12-05).
 * Check value: crc32("123456789") = 0xCBF43926.
 */
export function crc32(buf: Uint8Array, start = 0, end = buf.length, seed = 0): number {
  return zlibCrc32(start === 0 && end === buf.length ? buf : buf.subarray(start, end), seed);
}
