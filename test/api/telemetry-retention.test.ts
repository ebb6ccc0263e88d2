import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../../core/index.js';
import { seriesCompleteFrom } from '../../storage/embedded/series.js';
import { startHarness, type Harness } from './harness.js';

const T0 = Date.UTC(2025, 0, 1, 0, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;
const FLOOR = T0 + 2 * HOUR; // as if retention had deleted the raw readings of the first two hours
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The telemetry route tells a caller when retention has taken raw readings its window reaches
 * (the store's own answer is tested in test/storage/embedded-retention.test.ts); here the real
 * embedded store answers with the raw floor pinned, so the route's pass-through is what is tested.
 */
describe('api telemetry after retention', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({}, (d) => ({
      ...d,
      now: () => T0 + 4 * HOUR,
      telemetry: { ...d.telemetry, completeFrom: (q) => seriesCompleteFrom(q, FLOOR) },
    }));
    await h.deps.directory.create({ id: 'pm-1', kind: 'power_meter', site: 'chundu', building: 'b1' });
    const readings: Reading[] = Array.from({ length: 24 }, (_, i) => ({
      device: 'pm-1', kind: 'power_meter', site: 'chundu', building: 'b1', ts: FLOOR + i * 5 * MIN, fields: { power: 1_000 + i, energy: 10 + i } }));
    await h.deps.telemetry.write(readings);
  });
  afterAll(async () => {
    await h.close();
  });
  const get = (url: string) => h.call('viewer', { method: 'GET', url });

  it('raw readings and sub-hour buckets reaching before the floor say from when they are complete', async () => {
    const raw = await get(`/api/devices/pm-1/telemetry?from=${iso(T0)}&to=${iso(T0 + 4 * HOUR)}`);
    expect(raw.statusCode).toBe(200);
    expect(raw.json()).toMatchObject({ total: 24, completeFrom: iso(FLOOR) });
    const quarter = await get(`/api/devices/pm-1/telemetry?from=${iso(T0)}&to=${iso(T0 + 4 * HOUR)}&every=15m&agg=mean`);
    expect(quarter.json().completeFrom).toBe(iso(FLOOR));
  });

  it('windows inside the period and whole-hour buckets carry no such hint', async () => {
    const inside = await get(`/api/devices/pm-1/telemetry?from=${iso(FLOOR)}&to=${iso(T0 + 4 * HOUR)}`);
    expect(inside.json().total).toBe(24);
    expect(inside.json()).not.toHaveProperty('completeFrom');
    const hourly = await get(`/api/devices/pm-1/telemetry?from=${iso(T0)}&to=${iso(T0 + 4 * HOUR)}&every=1h&agg=max&fields=power`);
    expect(hourly.json()).not.toHaveProperty('completeFrom');
    expect(hourly.json().items.map((p: { values: { power: number } }) => p.values.power)).toEqual([1_011, 1_023]);
  });
});
