import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../../core/index.js';
import { startHarness, type Harness } from './harness.js';

const T0 = Date.UTC(2025, 0, 1, 0, 0, 0); // 2025-01-01T00:00:00Z
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

describe('api latest and telemetry', () => {
  let h: Harness;
  beforeAll(async () => {
    // The clock stands three hours after T0, so the default window (last 24 h) covers the data.
    h = await startHarness({}, (d) => ({ ...d, now: () => T0 + 180 * MIN }));
    for (const id of ['sd-1', 'sd-quiet']) {
      await h.deps.directory.create({ id, kind: 'smoke_detector', site: 'chundu', building: 'b1' });
    }
    // One reading every 10 minutes for three hours: smoke rises 0.01 per reading, one co at t=0.
    const readings: Reading[] = Array.from({ length: 18 }, (_, i) => ({
      device: 'sd-1', kind: 'smoke_detector', site: 'chundu', building: 'b1', ts: T0 + i * 10 * MIN, seq: i,
      fields: { smoke: Number((0.01 * i).toFixed(2)), temperature: 20 + i, alarm: i === 17, ...(i === 0 ? { co: 3 } : {}) },
    }));
    await h.deps.telemetry.write(readings);
    h.deps.latest.accept(readings);
  });
  afterAll(async () => {
    await h.close();
  });

  const get = (url: string) => h.call('viewer', { method: 'GET', url });

  it('answers the latest reading with an ISO time', async () => {
    const res = await get('/api/devices/sd-1/latest');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      device: 'sd-1', kind: 'smoke_detector', site: 'chundu', building: 'b1',
      ts: iso(T0 + 170 * MIN), seq: 17, fields: { smoke: 0.17, temperature: 37, alarm: true },
    });
  });

  it('tells no_data (never reported) from not_found (unknown device)', async () => {
    const quiet = await get('/api/devices/sd-quiet/latest');
    expect(quiet.statusCode).toBe(404);
    expect(quiet.json().error.code).toBe('no_data');
    const unknown = await get('/api/devices/nope/latest');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('not_found');
    expect((await get('/api/devices/nope/telemetry')).json().error.code).toBe('not_found');
  });

  it('answers raw readings in an ISO window, oldest first, half-open', async () => {
    const res = await get(`/api/devices/sd-1/telemetry?from=${iso(T0)}&to=${iso(T0 + 30 * MIN)}`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ device: 'sd-1', kind: 'smoke_detector', from: iso(T0), to: iso(T0 + 30 * MIN), total: 3, truncated: false });
    expect(body.every).toBeUndefined();
    expect(body.items.map((p: { ts: string }) => p.ts)).toEqual([iso(T0), iso(T0 + 10 * MIN), iso(T0 + 20 * MIN)]);
    expect(body.items[0].values).toMatchObject({ smoke: 0, temperature: 20, alarm: false, co: 3 });
    expect(body.items[1].values.co).toBeNull();
  });

  it('accepts epoch ms and zoned ISO times alike', async () => {
    const epoch = await get(`/api/devices/sd-1/telemetry?from=${T0}&to=${T0 + 30 * MIN}`);
    // 08:00+08:00 is T0.
    const zoned = await get(`/api/devices/sd-1/telemetry?from=${encodeURIComponent('2025-01-01T08:00:00+08:00')}&to=${T0 + 30 * MIN}`);
    expect(epoch.statusCode).toBe(200);
    expect(zoned.json().items).toEqual(epoch.json().items);
    expect(epoch.json().total).toBe(3);
  });

  it('defaults to the last 24 hours', async () => {
    const res = await get('/api/devices/sd-1/telemetry');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ from: iso(T0 + 180 * MIN - 86_400_000), to: iso(T0 + 180 * MIN), total: 18 });
  });

  it('restricts fields and refuses unknown ones', async () => {
    const res = await get(`/api/devices/sd-1/telemetry?from=${T0}&to=${T0 + 10 * MIN}&fields=smoke,temperature`);
    expect(res.json().items).toEqual([{ ts: iso(T0), values: { smoke: 0, temperature: 20 } }]);
    const bad = await get(`/api/devices/sd-1/telemetry?from=${T0}&fields=smoke,fill`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'validation_failed', details: [{ path: 'fields' }] });
    expect(bad.json().error.details[0].message).toContain('fill');
  });

  it('aggregates per hour (mean by default, booleans as 0/1)', async () => {
    const res = await get(`/api/devices/sd-1/telemetry?from=${iso(T0)}&to=${iso(T0 + 180 * MIN)}&every=1h&fields=smoke,temperature,alarm`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ every: 3_600_000, agg: 'mean', total: 3 });
    expect(body.items.map((p: { ts: string }) => p.ts)).toEqual([iso(T0), iso(T0 + 60 * MIN), iso(T0 + 120 * MIN)]);
    expect(body.items[0].values.temperature).toBeCloseTo(22.5); // 20..25
    expect(body.items[0].values.smoke).toBeCloseTo(0.025);
    expect(body.items[2].values.alarm).toBeCloseTo(1 / 6);

    const max = await get(`/api/devices/sd-1/telemetry?from=${T0}&to=${T0 + 180 * MIN}&every=3600000&agg=max&fields=temperature`);
    expect(max.json().items.map((p: { values: { temperature: number } }) => p.values.temperature)).toEqual([25, 31, 37]);
    const count = await get(`/api/devices/sd-1/telemetry?from=${T0}&to=${T0 + 180 * MIN}&every=1h&agg=count&fields=co`);
    expect(count.json().items.map((p: { values: { co: number } }) => p.values.co)).toEqual([1, 0, 0]);
  });

  it('caps raw answers at limit and says so', async () => {
    const res = await get(`/api/devices/sd-1/telemetry?from=${T0}&to=${T0 + 180 * MIN}&limit=5`);
    expect(res.json()).toMatchObject({ total: 5, truncated: true });
    const all = await get(`/api/devices/sd-1/telemetry?from=${T0}&to=${T0 + 180 * MIN}&limit=18`);
    expect(all.json()).toMatchObject({ total: 18, truncated: false });
  });

  it.each([
    ['from=yesterday', 'validation_failed', 'from'],
    ['from=2025-01-01T08:00:00', 'validation_failed', 'from'], // local time without a zone
    [`from=${T0 + MIN}&to=${T0}`, 'validation_failed', 'from'],
    ['every=5x', 'validation_failed', 'every'],
    ['every=500', 'validation_failed', 'every'],
    ['agg=median&every=1h', 'validation_failed', 'agg'],
    ['agg=max', 'validation_failed', 'agg'],
    ['limit=0', 'validation_failed', 'limit'],
  ])('refuses %s', async (query, code, path) => {
    const res = await get(`/api/devices/sd-1/telemetry?${query}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code, details: [expect.objectContaining({ path })] });
  });

  it('refuses too many buckets and too wide a window', async () => {
    const points = await get(`/api/devices/sd-1/telemetry?from=${T0 - 30 * 86_400_000}&to=${T0}&every=1m`);
    expect(points.statusCode).toBe(400);
    expect(points.json().error.code).toBe('too_many_points');
    const wide = await get(`/api/devices/sd-1/telemetry?from=2020-01-01&to=2025-01-01&every=1d`);
    expect(wide.statusCode).toBe(400);
    expect(wide.json().error.code).toBe('window_too_large');
  });
});
