import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Incidents } from '../../alerts/incidents/manager.js';
import type { AlertEngine } from '../../alerts/index.js';
import type { Device } from '../../core/index.js';
import { openStream } from '../helpers/sse.js';
import { feed, startAlertsHarness, T0, type Harness } from './harness.js';

/**
 * `/api/incidents` on the real DuckDB stores with a real engine and incidents: the list with its
 * filters and each incident's alarm ids, texts in Chinese or English (`lang`, Accept-Language),
 * acknowledge and clear as one, roles, coded errors, and the incident SSE stream with replay.
 */

describe('api incidents', () => {
  const now = { ms: T0 };
  let h: Harness;
  let engine: AlertEngine;
  let incidents: Incidents;
  let base: string;
  const dev: Record<string, Device> = {};

  beforeAll(async () => {
    ({ h, engine, incidents } = await startAlertsHarness(now));
    await h.deps.state.upsertSite({ id: 'chundu', name: '春都社区', timezone: 'Asia/Shanghai' });
    await h.deps.state.upsertBuilding({ id: 'b3', site: 'chundu', name: '3号楼' });
    const make = async (id: string, building: string, name: string, location: string) => {
      dev[id] = (await h.deps.directory.create({ id, kind: 'smoke_detector', site: 'chundu', building, name, location })).device;
    };
    await make('sd-k', 'b3', '3-301 厨房烟感', '301 kitchen');
    await make('sd-h', 'b3', '3-301 客厅烟感', '301 hall');
    await make('sd-x', 'b4', '4-101 厨房烟感', '101 kitchen');
    dev.bin = (await h.deps.directory.create({ id: 'bin-1', kind: 'smart_bin', site: 'chundu', building: 'b3', category: 'kitchen', name: '1号垃圾分类站 厨余垃圾' })).device;
    await feed(engine, dev['sd-k']!, T0, { smoke: 0.6, temperature: 62, alarm: true });
    await feed(engine, dev['sd-h']!, T0 + 5_000, { smoke: 0.4, alarm: true });
    await feed(engine, dev['sd-x']!, T0 + 10_000, { smoke: 0.5, alarm: true });
    await feed(engine, dev.bin!, T0 + 20_000, { fill: 95 });
    await engine.idle();
    await incidents.idle();
    now.ms = T0 + 60_000;
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(h.app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await h.close();
  });

  const get = (url: string, headers: Record<string, string> = {}) => h.call('viewer', { method: 'GET', url, headers });

  it('lists one incident per building and hazard, each with its alarm ids and alarms folded, filtered like alarms', async () => {
    const res = await get('/api/incidents?site=chundu');
    expect(res.statusCode).toBe(200);
    const body = res.json() as { total: number; items: Array<{ id: string; hazard: string; level: string; building: string; alarmIds: string[];
      alarms: Array<{ type: string }> }> };
    expect(body.items.map((i) => [i.building, i.hazard, i.level])).toEqual([['b3', 'waste', 'alarm'], ['b4', 'fire', 'pre_alarm'], ['b3', 'fire', 'fire']]);
    const fire = body.items.find((i) => i.building === 'b3' && i.hazard === 'fire')!;
    const alarms = (await engine.list({ building: 'b3', limit: 50, offset: 0 })).items.filter((a) => a.type !== 'bin_fill');
    expect([...fire.alarmIds].sort()).toEqual(alarms.map((a) => a.id).sort());
    expect(new Set(fire.alarms.map((a) => a.type))).toEqual(new Set(['smoke', 'heat', 'fire_risk']));
    expect((await get('/api/incidents?hazard=fire&level=fire')).json().total).toBe(1);
    expect((await get('/api/incidents?building=b4')).json().items[0].hazard).toBe('fire');
    expect((await get(`/api/incidents?alarm=${alarms[0]!.id}`)).json().items.map((i: { id: string }) => i.id)).toEqual([fire.id]);
    expect((await get('/api/incidents?status=cleared_ack')).json().total).toBe(0);
    expect((await get('/api/incidents?limit=1&offset=1')).json()).toMatchObject({ total: 3, items: [{ building: 'b4' }] });
    const bad = await get('/api/incidents?hazard=volcano');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('validation_failed');
  });

  it('speaks Chinese by default and English when asked: summary and evidence with names, locations and units', async () => {
    const zh = (await get('/api/incidents?building=b3&hazard=fire')).json().items[0];
    expect(zh.summary).toMatch(/^火警 · 3号楼 火灾：2 个设备（3-301 厨房烟感（301 kitchen）、3-301 客厅烟感（301 hall）），/);
    expect(zh.evidence).toEqual(expect.arrayContaining(['温度过高（定温） · 3-301 厨房烟感（301 kitchen）：温度 62.0 °C，阈值 57 °C']));
    expect(zh.evidence).toContain('火警确认（两个独立信号） · 3号楼：独立报警信号 3-301 厨房烟感（301 kitchen） 温度+烟雾');
    expect(zh.alarms.find((a: { type: string; summary: string }) => a.type === 'smoke' && a.summary.includes('301 hall')).summary).toBe('3号楼 3-301 客厅烟感（301 hall）：烟雾报警，探测器自身报警，烟雾浓度 0.40 dB/m');
    const en = (await get('/api/incidents?building=b3&hazard=fire&lang=en')).json().items[0];
    expect(en.summary).toMatch(/^Fire alarm · 3号楼 Fire: 2 devices \(3-301 厨房烟感 \(301 kitchen\), /);
    expect(en.evidence).toEqual(expect.arrayContaining(['Heat (fixed temperature) · 3-301 厨房烟感 (301 kitchen): Temperature 62.0 °C, Threshold 57 °C']));
    const byHeader = (await get('/api/incidents?building=b3&hazard=fire', { 'accept-language': 'en-GB,en;q=0.9,zh;q=0.5' })).json().items[0];
    expect(byHeader.summary).toBe(en.summary);
    const alarm = (await get(`/api/alerts/${zh.alarmIds[0]}?lang=zh-CN`)).json();
    expect(alarm.summary).toContain('3号楼 3-301 厨房烟感（301 kitchen）：');
    expect(alarm.evidence.length).toBeGreaterThan(0);
  });

  it('acknowledges and clears as one, by role; its alarms follow with the same actor; coded errors', async () => {
    const fire = (await get('/api/incidents?building=b3&hazard=fire')).json().items[0];
    expect((await h.call('viewer', { method: 'POST', url: `/api/incidents/${fire.id}/ack` })).statusCode).toBe(403);
    const acked = await h.call('maintenance', { method: 'POST', url: `/api/incidents/${fire.id}/ack` });
    expect(acked.statusCode, acked.body).toBe(200);
    expect(acked.json()).toMatchObject({ status: 'active_ack', timeline: expect.arrayContaining([expect.objectContaining({ event: 'acked', actor: 'test maintenance' })]) });
    await engine.idle();
    for (const id of fire.alarmIds) expect((await engine.get(id))?.status).toBe('active_ack');
    expect((await h.call('maintenance', { method: 'POST', url: `/api/incidents/${fire.id}/ack` })).json().error.code).toBe('already_acknowledged');
    const assigned = await h.call('operator', { method: 'POST', url: `/api/incidents/${fire.id}/assign`, payload: { assignee: '王师傅' } });
    expect(assigned.json().assignee).toBe('王师傅');
    expect((await h.call('maintenance', { method: 'POST', url: `/api/incidents/${fire.id}/comment`, payload: { text: '消防队已到场' } })).statusCode).toBe(200);
    const cleared = await h.call('maintenance', { method: 'POST', url: `/api/incidents/${fire.id}/clear` });
    expect(cleared.json()).toMatchObject({ status: 'cleared_ack' });
    await engine.idle();
    for (const id of fire.alarmIds) expect((await engine.get(id))?.timeline.at(-1)).toMatchObject({ event: 'cleared', actor: 'test maintenance' });
    const again = await h.call('maintenance', { method: 'POST', url: `/api/incidents/${fire.id}/clear` });
    expect([again.statusCode, again.json().error.code]).toEqual([409, 'already_cleared']);
    expect((await h.call('maintenance', { method: 'POST', url: '/api/incidents/nope/ack' })).statusCode).toBe(404);
    expect((await h.call(null, { method: 'POST', url: `/api/incidents/${fire.id}/ack` })).statusCode).toBe(401);
    const one = await get(`/api/incidents/${fire.id}`);
    expect(one.json().timeline.map((t: { event: string }) => t.event)).toEqual(expect.arrayContaining(['raised', 'acked', 'assigned', 'commented', 'cleared']));
  });

  it('streams incident events over SSE with their own ids, resumable with Last-Event-ID', async () => {
    const all = await incidents.eventsSince(0, 1_000);
    const s = await openStream(`${base}/api/incidents/stream?lastEventId=0&access_token=${h.tokens.viewer}`);
    await s.waitFor(() => s.events.length === all.length);
    expect(s.events.map((e) => Number(e.id))).toEqual(all.map((e) => e.seq));
    expect(JSON.parse(s.events[0]!.data!)).toMatchObject({ seq: 1, type: 'raised', incident: { hazard: 'fire', alarmIds: [expect.any(String)] } });
    // Live: a new fire in building 4 joins its pre-alarm and confirms it.
    await feed(engine, dev['sd-x']!, T0 + 90_000, { smoke: 0.6, temperature: 70, alarm: true });
    await s.waitFor(() => s.events.some((e) => e.event === 'updated' && JSON.parse(e.data!).previousLevel === 'pre_alarm'));
    const ids = s.events.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    await s.close();
    expect((await fetch(`${base}/api/incidents/stream`)).status).toBe(401);
  });
});
