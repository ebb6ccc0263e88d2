import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEngine } from '../../alerts/index.js';
import type { Device, Reading } from '../../core/index.js';
import { startAlertsHarness, type Harness } from './harness.js';

/**
 * The control room's read models on the real DuckDB store and a real alert engine:
 * `/api/sites/{id}/overview` and `/api/sites/{id}/consumption`.
 */

// 2025-03-12 (a Wednesday) 10:30 in Asia/Shanghai; the compare day is Wednesday 2025-03-05.
const NOW = Date.UTC(2025, 2, 12, 2, 30);
const H = 3_600_000;
const midnight = (date: string) => Date.parse(`${date}T00:00:00+08:00`);

describe('site views for the control room', () => {
  const now = { ms: NOW };
  let h: Harness;
  let engine: AlertEngine;
  const dev: Record<string, Device> = {};

  beforeAll(async () => {
    ({ h, engine } = await startAlertsHarness(now, {}, (d) => ({ ...d, now: () => now.ms })));
    const dir = h.deps.directory;
    await h.deps.state.upsertSite({ id: 'chundu', name: '春都社区', timezone: 'Asia/Shanghai' });
    for (const b of ['b1', 'b2', 'b3']) await h.deps.state.upsertBuilding({ id: b, site: 'chundu', name: `${b.slice(1)}号楼` });
    const add = async (d: Parameters<typeof dir.create>[0]) => { dev[d.id] = (await dir.create(d)).device; };
    await add({ id: 'sd1', kind: 'smoke_detector', site: 'chundu', building: 'b1' });
    await add({ id: 'sd2', kind: 'smoke_detector', site: 'chundu', building: 'b2' });
    await add({ id: 'sd3', kind: 'smoke_detector', site: 'chundu', building: 'b3' });
    await add({ id: 'bin-r', kind: 'smart_bin', site: 'chundu', building: 'b1', category: 'residual' });
    await add({ id: 'bin-k', kind: 'smart_bin', site: 'chundu', building: 'b2', category: 'kitchen' });
    await add({ id: 'pm-main', kind: 'power_meter', site: 'chundu', building: 'b1', purpose: 'common_lighting' });
    await add({ id: 'wm-master', kind: 'water_meter', site: 'chundu', building: 'b1', purpose: 'master' });
    await add({ id: 'wm-101', kind: 'water_meter', site: 'chundu', building: 'b1', purpose: 'household', parent: 'wm-master' });
    await add({ id: 'other-sd', kind: 'smoke_detector', site: 'elsewhere', building: 'b1' });

    // Readings: smoke in b1 (fire alarm), a bin at 85 % in b2, sd3 disconnects (LWT), sd2 reports normally.
    const readings: Reading[] = [];
    const reading = (d: Device, ts: number, fields: Reading['fields']): Reading =>
      ({ device: d.id, kind: d.kind, site: d.site, building: d.building, ...(d.category ? { category: d.category } : {}), ts, fields });
    readings.push(reading(dev['bin-r'] as Device, NOW - 60_000, { fill: 30 }), reading(dev['bin-k'] as Device, NOW - 60_000, { fill: 85 }));
    readings.push(reading(dev.sd2 as Device, NOW - 60_000, { smoke: 0.02 }), reading(dev.sd3 as Device, NOW - 600_000, { smoke: 0.01 }));
    readings.push(reading(dev.sd1 as Device, NOW - 30_000, { smoke: 0.6, alarm: true }));
    // Registers every 15 min: the power meter uses 2 kWh per hour today and 3 kWh per hour on the compare day;
    // the master water meter 0.5 m³/h; the household meter under it 0.1 m³/h (must not be added again).
    for (const [date, kwh] of [['2025-03-12', 2], ['2025-03-05', 3]] as const) {
      const start = midnight(date) - H;
      const end = Math.min(midnight(date) + 24 * H, NOW);
      for (let ts = start, i = 0; ts < end; ts += H / 4, i += 1) {
        readings.push(reading(dev['pm-main'] as Device, ts, { energy: 1000 + (i * kwh) / 4 }));
        readings.push(reading(dev['wm-master'] as Device, ts, { volume: 50 + (i * 0.5) / 4 }));
        readings.push(reading(dev['wm-101'] as Device, ts, { volume: 5 + (i * 0.1) / 4 }));
      }
    }
    await h.deps.telemetry.write(readings);
    h.deps.latest.accept(readings);
    await engine.accept(readings);
    await engine.onPresence('sd3', 'offline', NOW - 20_000);
    await engine.idle();
  });
  afterAll(async () => {
    await h.close();
  });

  it('colours each building by its worst active alarm and counts devices by connectivity', async () => {
    const res = await h.call('viewer', { method: 'GET', url: '/api/sites/chundu/overview' });
    expect(res.statusCode).toBe(200);
    const o = res.json();
    expect(o.site).toEqual({ id: 'chundu', name: '春都社区', timezone: 'Asia/Shanghai' });
    const byId = Object.fromEntries(o.buildings.map((b: { id: string }) => [b.id, b]));
    expect(byId.b1).toMatchObject({ name: '1号楼', worst: 'critical' });
    expect(byId.b2).toMatchObject({ worst: 'warning', activeAlarms: 1 }); // bin over its fill threshold
    expect(byId.b3).toMatchObject({ worst: 'major', activeAlarms: 1, devices: { total: 1, online: 0, offline: 1, never: 0 } });
    // With the seq of the last alarm event the counts include: a control room painting live events adds only later ones.
    const events = await engine.eventsSince(0, 1_000);
    expect(o.alarms).toEqual({ active: 3, bySeverity: { critical: 1, major: 1, minor: 0, warning: 1 }, seq: events.at(-1)!.seq });
    expect(o.alarms.active).toBe(o.buildings.reduce((s: number, b: { activeAlarms: number }) => s + b.activeAlarms, 0));
    // 8 devices on the site (not the one elsewhere): sd1, sd2, bins and meters reported; sd3 is offline by LWT.
    expect(o.devices).toMatchObject({ total: 8, offline: 1, never: 0, online: 7 });
    expect(o.devices.byKind.smoke_detector).toEqual({ total: 3, online: 2, offline: 1, never: 0 });
    expect(o.bins.map((b: { id: string; fill: number; category: string }) => [b.id, b.fill, b.category])).toEqual([['bin-k', 85, 'kitchen'], ['bin-r', 30, 'residual']]);
    expect(o.bins[0]).toMatchObject({ online: 'online', ts: new Date(NOW - 60_000).toISOString() });
    expect(o.binStats).toEqual({ kitchen: { total: 1, reporting: 1, meanFill: 85 }, residual: { total: 1, reporting: 1, meanFill: 30 } });
    const one = (await h.call('viewer', { method: 'GET', url: '/api/sites/chundu/overview?bins=1' })).json();
    expect([one.binsTotal, one.bins.map((b: { id: string }) => b.id)]).toEqual([2, ['bin-k']]);
  });

  it('answers a fresh overview right after an alarm event, and a shared one otherwise', async () => {
    const before = await h.call('viewer', { method: 'GET', url: '/api/sites/chundu/overview' });
    expect(before.headers['content-type']).toBe('application/json; charset=utf-8');
    const b2 = (o: { buildings: Array<{ id: string; worst: string | null }> }) => o.buildings.find((b) => b.id === 'b2')?.worst;
    expect(b2(before.json())).toBe('warning');
    // sd2 (b2) sees smoke: the next read must show b2 critical, although the last answer is < 1 s old.
    const sd2 = dev.sd2 as Device;
    const raised: number[] = [];
    const off = engine.subscribe((e) => { if (e.type === 'raised') raised.push(e.seq); });
    await engine.accept([{ device: sd2.id, kind: sd2.kind, site: sd2.site, building: sd2.building, ts: NOW - 10_000, fields: { smoke: 0.7, alarm: true } }]);
    await engine.idle();
    const after = (await h.call('viewer', { method: 'GET', url: '/api/sites/chundu/overview' })).json();
    expect(b2(after)).toBe('critical');
    expect(after.alarms.bySeverity.critical).toBe(2);
    off();
    expect(raised).toHaveLength(1);
    expect([before.json().alarms.seq < raised[0]!, after.alarms.seq]).toEqual([true, raised[0]]);
  });

  it('compares energy and water per hour with the same weekday last week, master meters only', async () => {
    const res = await h.call('viewer', { method: 'GET', url: '/api/sites/chundu/consumption' });
    expect(res.statusCode).toBe(200);
    const c = res.json();
    expect(c).toMatchObject({ site: 'chundu', timezone: 'Asia/Shanghai', date: '2025-03-12', compareDate: '2025-03-05' });
    expect(c.hours).toHaveLength(24);
    expect(c.hours[0]).toBe('00');
    // Today: hours 00–09 complete (2 kWh each), hour 10 has its 10:00 and 10:15 reads (0.5 kWh since 09:45), later hours unknown.
    expect(c.energy.today.slice(0, 10)).toEqual(new Array(10).fill(2));
    expect(c.energy.today[10]).toBeCloseTo(1, 9);
    expect(c.energy.today.slice(11)).toEqual(new Array(13).fill(null));
    expect(c.energy.compare).toEqual(new Array(24).fill(3));
    expect(c.energy.totalToday).toBeCloseTo(21, 9);
    expect(c.energy.totalCompareSameHours).toBeCloseTo(31.5, 9); // 10 full hours and half of 10:00–11:00, × 3 kWh
    expect(c.energy.totalCompare).toBeCloseTo(72, 9);
    expect(c.water).toMatchObject({ unit: 'm³', meters: 1 });
    expect(c.water.compare[5]).toBeCloseTo(0.5, 9);
    expect(c.water.totalCompare).toBeCloseTo(12, 9);

    const past = (await h.call('viewer', { method: 'GET', url: '/api/sites/chundu/consumption?date=2025-03-05' })).json();
    expect(past.compareDate).toBe('2025-02-26');
    expect(past.energy.today).toEqual(new Array(24).fill(3));
    expect(past.energy.compare).toEqual(new Array(24).fill(null));
  });

  it('answers coded 4xx for unknown sites, bad dates and missing tokens', async () => {
    expect((await h.call('viewer', { method: 'GET', url: '/api/sites/nowhere/overview' })).json().error.code).toBe('not_found');
    for (const date of ['2025-13-45', '2025-02-30', '2025-03-13']) {
      const bad = await h.call('viewer', { method: 'GET', url: `/api/sites/chundu/consumption?date=${date}` });
      expect(bad.statusCode, date).toBe(400);
      expect(bad.json().error.code, date).toBe('validation_failed');
    }
    expect((await h.call(null, { method: 'GET', url: '/api/sites/chundu/overview' })).statusCode).toBe(401);
  });

  it("an admin sets a site's grid region (for its CO₂ factor), validated; others may only read it", async () => {
    const patch = (role: 'admin' | 'operator', payload: object, site = 'chundu') => h.call(role, { method: 'PATCH', url: `/api/sites/${site}`, payload });
    const set = await patch('admin', { gridRegion: 'east' });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toEqual({ id: 'chundu', name: '春都社区', timezone: 'Asia/Shanghai', gridRegion: 'east' });
    const listed = (await h.call('viewer', { method: 'GET', url: '/api/sites' })).json() as { items: { id: string; gridRegion?: string }[] };
    expect(listed.items.find((x) => x.id === 'chundu')?.gridRegion).toBe('east');
    expect((await patch('operator', { gridRegion: 'south' })).statusCode).toBe(403);
    const bad = await patch('admin', { gridRegion: 'mars' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('validation_failed');
    expect((await patch('admin', { timezone: 'Mars/Olympus' })).statusCode).toBe(400);
    expect((await patch('admin', { secret: 'x' })).statusCode).toBe(400);
    expect((await patch('admin', { gridRegion: 'south' }, 'nowhere')).statusCode).toBe(404);
    const unset = await patch('admin', { gridRegion: null });
    expect(unset.json()).toEqual({ id: 'chundu', name: '春都社区', timezone: 'Asia/Shanghai' });
  });

  it('tells the caller who they are', async () => {
    const res = await h.call('maintenance', { method: 'GET', url: '/api/session' });
    expect(res.json()).toEqual({ tokenId: 't-maintenance', name: 'test maintenance', role: 'maintenance', grants: [{ role: 'maintenance', sites: '*' }], sites: '*' });
    expect((await h.call(null, { method: 'GET', url: '/api/session' })).statusCode).toBe(401);
  });
});
