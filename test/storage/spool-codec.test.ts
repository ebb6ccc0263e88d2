import { describe, expect, it } from 'vitest';
import { crc32 } from '../../storage/spool/crc32.js';
import { encodeArrays, encodeRecord, findNextHeader, HEADER_BYTES, parseRecord } from '../../storage/spool/codec.js';
import { reading, T0 } from './spool.helpers.js';

describe('crc32', () => {
  it('matches the IEEE 802.3 check values', () => {
    const b = (s: string) => Buffer.from(s, 'latin1');
    expect(crc32(b('123456789'))).toBe(0xcbf43926);
    expect(crc32(b(''))).toBe(0);
    expect(crc32(b('a'))).toBe(0xe8b7be43);
    expect(crc32(b('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
    expect(crc32(Buffer.alloc(32))).toBe(0x190a55ad);
    expect(crc32(Buffer.alloc(32, 0xff))).toBe(0xff6cab0b);
  });

  it('continues over several buffers and honours start/end', () => {
    const all = Buffer.from('123456789');
    expect(crc32(all, 4, 9, crc32(all, 0, 4))).toBe(0xcbf43926);
    expect(crc32(Buffer.from('xx123456789yy'), 2, 11)).toBe(0xcbf43926);
  });
});

describe('spool record codec', () => {
  const rs = [reading('a', T0, 0.5), { ...reading('b', T0 + 1), seq: 7 }];

  it('joins several appends\' arrays into one, byte for byte the JSON of all their readings (multi-byte text too)', () => {
    const groups = [[reading('a', T0, 0.5)], [{ ...reading('楼-1', T0 + 1), seq: 7 }, reading('b', T0 + 2)], [reading('c', T0 + 3, -0.25)]];
    const buf = encodeArrays(groups.map((g) => JSON.stringify(g)), 4, 9);
    expect(buf.subarray(HEADER_BYTES).toString('utf8')).toBe(JSON.stringify(groups.flat()));
    const r = parseRecord(buf, 0, buf.length, true);
    expect(r).toEqual({ kind: 'ok', record: { count: 4, appendedAt: 9, size: buf.length, readings: groups.flat() } });
    expect(encodeArrays([JSON.stringify(groups[1])], 2, 9).subarray(HEADER_BYTES).toString('utf8')).toBe(JSON.stringify(groups[1]));
    // Nothing to join is a caller's bug, refused rather than written as a record of garbage.
    expect(() => encodeArrays([], 0, 9)).toThrow(RangeError);
    expect(() => encodeArrays([JSON.stringify(groups[0]), '[]'], 1, 9)).toThrow(RangeError);
    // With the UTF-8 lengths the spool measured for its quota: the same bytes; one length short is refused.
    const texts = groups.map((g) => JSON.stringify(g));
    expect(encodeArrays(texts, 4, 9, texts.map((t) => Buffer.byteLength(t)))).toEqual(buf);
    expect(() => encodeArrays(texts, 4, 9, [1, 2])).toThrow(RangeError);
  });

  it('round-trips readings, count and append time', () => {
    const buf = encodeRecord(rs, 1234.5);
    const r = parseRecord(buf, 0, buf.length, true);
    expect(r).toEqual({ kind: 'ok', record: { count: 2, appendedAt: 1234.5, size: buf.length, readings: rs } });
    expect(parseRecord(buf, 0, buf.length, false)).toEqual({ kind: 'ok', record: { count: 2, appendedAt: 1234.5, size: buf.length } });
  });

  it('tells a torn record from a corrupt payload from a corrupt header', () => {
    const buf = encodeRecord(rs, 1);
    expect(parseRecord(buf, 0, buf.length - 3, true)).toEqual({ kind: 'incomplete', need: buf.length });
    expect(parseRecord(buf, 0, 10, true)).toEqual({ kind: 'incomplete', need: HEADER_BYTES });
    const payloadFlip = Buffer.from(buf);
    payloadFlip[HEADER_BYTES + 5]! ^= 0x04;
    expect(parseRecord(payloadFlip, 0, buf.length, true)).toEqual({ kind: 'bad-payload', size: buf.length });
    const headerFlip = Buffer.from(buf);
    headerFlip[5]! ^= 0x01; // the length field
    expect(parseRecord(headerFlip, 0, buf.length, true)).toEqual({ kind: 'bad-header' });
  });

  it('finds the next valid header after garbage', () => {
    const a = encodeRecord(rs, 1);
    const b = encodeRecord(rs, 2);
    const joined = Buffer.concat([a, b]);
    joined[1]! ^= 0xff;
    expect(parseRecord(joined, 0, joined.length, false).kind).toBe('bad-header');
    expect(findNextHeader(joined, 1, joined.length)).toBe(a.length);
    expect(findNextHeader(joined, a.length + 1, joined.length)).toBe(-1);
  });
});
