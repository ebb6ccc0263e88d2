import { describe, expect, it } from 'vitest';
import { resolveSeriesQuery } from '../../storage/series-query.js';
import type { SeriesQuery } from '../../storage/contract.js';

const base: SeriesQuery = { kind: 'power_meter', from: 1_000, to: 2_000 };

describe('resolveSeriesQuery', () => {
  it('defaults to every field of the kind, raw, with the given tags in a fixed order', () => {
    const q = resolveSeriesQuery({ ...base, building: 'b1', device: 'm1' });
    expect(q?.mode).toBe('raw');
    expect(q?.fields.map((f) => f.name)).toContain('energy');
    expect(q?.tags).toEqual([{ tag: 'device', value: 'm1' }, { tag: 'building', value: 'b1' }]);
  });

  it('keeps the asked fields in order with their types', () => {
    const q = resolveSeriesQuery({ kind: 'smoke_detector', from: 0, to: 10, fields: ['alarm', 'smoke'] });
    expect(q?.fields).toEqual([{ name: 'alarm', type: 'bool' }, { name: 'smoke', type: 'float' }]);
  });

  it('rounds the half-open window up to whole ms and answers an empty window with undefined', () => {
    const q = resolveSeriesQuery({ ...base, from: -5.5, to: 10.2 });
    expect([q?.from, q?.to]).toEqual([0, 11]);
    expect(resolveSeriesQuery({ ...base, from: 2_000, to: 2_000 })).toBeUndefined();
    expect(resolveSeriesQuery({ ...base, fields: [] })).toBeUndefined();
    // An empty window is empty whatever else is asked (the contract answers [] without checking further).
    expect(resolveSeriesQuery({ ...base, to: 0, every: -1 })).toBeUndefined();
  });

  it('defaults the aggregate to mean', () => {
    expect(resolveSeriesQuery({ ...base, every: 60_000 })).toMatchObject({ mode: 'aggregated', every: 60_000, agg: 'mean' });
  });

  it.each<[string, Partial<SeriesQuery>, RegExp]>([
    ['an unknown kind', { kind: 'toaster' as never }, /unknown kind toaster/],
    ['an unknown field', { fields: ['volume'] }, /kind power_meter has no field "volume"/],
    ['an inherited property as a field', { fields: ['constructor'] }, /no field "constructor"/],
    ['a non-finite bound', { to: Number.NaN }, /from and to must be epoch ms/],
    ['a negative limit', { limit: -1 }, /limit must be a non-negative integer/],
    ['a fractional bucket', { every: 1.5 }, /every must be a positive number of ms/],
    ['an unknown aggregate', { every: 1_000, agg: 'median' as never }, /unknown aggregate median/],
  ])('refuses %s with a RangeError', (_name, patch, message) => {
    expect(() => resolveSeriesQuery({ ...base, ...patch })).toThrow(RangeError);
    expect(() => resolveSeriesQuery({ ...base, ...patch })).toThrow(message);
  });
});
