import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createIncidents, defaultIncidentsConfig } from '../../alerts/incidents/manager.js';
import { buildHealth } from '../../cli/health.js';
import type { Device } from '../../core/index.js';
import type { Incident, IncidentEvent, IncidentStore } from '../../storage/incidents/contract.js';
import { closeHarness, deviceMap, openHarness, removeTempDirs, T0, tempDir, toReading, type Harness } from './harness.js';

/**
 * Incidents over alarms on the real engine and DuckDB stores: one per (site, building, hazard),
 * escalating with the evidence, acknowledged and cleared as one while each alarm keeps its own
 * timeline, one active per key under concurrency, a second writer and a restart.
 */

const MIN = 60_000;
const devices = deviceMap([
  { id: 'sd-k', kind: 'smoke_detector', site: 'chundu', building: 'b1', location: '301 kitchen', name: '1-301 厨房烟感' },
  { id: 'sd-h', kind: 'smoke_detector', site: 'chundu', building: 'b1', location: '301 hall' },
  { id: 'sd-s', kind: 'smoke_detector', site: 'chundu', building: 'b1', location: 'stairwell 3F' },
  { id: 'sd-x', kind: 'smoke_detector', site: 'chundu', building: 'b2', location: '2-101 kitchen' },
  { id: 'bin-1', kind: 'smart_bin', site: 'chundu', building: 'b1', category: 'residual' },
]);
const dev = (id: string): Device => devices.get(id) as Device;
const fire = { smoke: 0.6, temperature: 30, alarm: true };
const calm = { smoke: 0.02, temperature: 22, alarm: false };

let h: Harness | undefined;
afterEach(async () => {
  if (h) await closeHarness(h);
  h = undefined;
  await removeTempDirs();
});

async function settle(x: Harness): Promise<void> {
  await x.engine.idle();
  await x.incidents.idle();
}

describe('incidents', () => {
  it("a kitchen fire's flood of alarms — three detectors' smoke, heat and rate of rise, then their connections lost — is one fire incident and one device incident", async () => {
    h = await openHarness({ dir: await tempDir(), devices });
    for (let t = 0; t <= 120; t += 10) {
      const temp = 25 + t * 0.3;
      await h.engine.accept([
        toReading(dev('sd-k'), t, { smoke: 0.1 + t / 100, temperature: temp, alarm: t >= 20 }),
        toReading(dev('sd-h'), t, { smoke: t >= 60 ? 0.5 : 0.05, temperature: 24, alarm: t >= 60 }),
        toReading(dev('sd-s'), t, { smoke: t >= 90 ? 0.4 : 0.03, temperature: 23, alarm: t >= 90 }),
      ]);
    }
    for (const id of ['sd-k', 'sd-h', 'sd-s']) await h.engine.onPresence(id, 'offline', T0 + 130_000, 'lost');
    await settle(h);
    const alarms = (await h.engine.list({ limit: 100, offset: 0 })).items;
    expect(alarms.length).toBeGreaterThanOrEqual(8);
    const active = h.incidents.active();
    expect(active.map((i) => [i.hazard, i.level, i.building]).sort()).toEqual([['device', 'alarm', 'b1'], ['fire', 'fire', 'b1']]);
    const fireIncident = active.find((i) => i.hazard === 'fire')!;
    // Every fire alarm of the building is in it; the offline ones in the device incident.
    expect(new Set(fireIncident.members.map((m) => m.type))).toEqual(new Set(['smoke', 'heat', 'heat_rise', 'fire_risk']));
    expect(fireIncident.members.map((m) => m.id).sort()).toEqual(alarms.filter((a) => a.type !== 'offline').map((a) => a.id).sort());
    // Paged: opened (预警), then 火警 — not once per alarm.
    const paging = h.incidentEvents.filter((e) => e.incident.hazard === 'fire' && (e.type === 'raised' || e.previousLevel || e.previousSeverity));
    expect(paging.map((e) => [e.type, e.incident.level])).toEqual([['raised', 'pre_alarm'], ['updated', 'fire']]);
    // The store agrees, and lists it by any of its alarms.
    const byAlarm = await h.incidents.list({ alarmId: fireIncident.members[2]!.id, limit: 10, offset: 0 });
    expect(byAlarm.items.map((i) => i.id)).toEqual([fireIncident.id]);
  });

  it('acknowledged as one: every alarm acknowledged on its own timeline; a new alarm joining keeps it acknowledged, a level up does not', async () => {
    h = await openHarness({ dir: await tempDir(), devices });
    await h.engine.accept([toReading(dev('sd-k'), 0, fire)]);
    await settle(h);
    const [incident] = h.incidents.active();
    expect(incident).toMatchObject({ hazard: 'fire', level: 'pre_alarm', status: 'active_unack' });
    h.now.ms = T0 + MIN;
    const acked = await h.incidents.ack(incident!.id, 'wang');
    expect(acked).toMatchObject({ status: 'active_ack', ackTs: T0 + MIN });
    await settle(h);
    const smoke = h.engine.active().find((a) => a.type === 'smoke')!;
    expect(smoke.status).toBe('active_ack');
    expect(smoke.timeline.find((t) => t.event === 'acked')).toMatchObject({ actor: 'wang', ts: T0 + MIN });
    // A heat alarm on the same detector confirms the fire: 火警, and it needs acknowledging again.
    await h.engine.accept([toReading(dev('sd-k'), 70, { ...fire, temperature: 60 })]);
    await settle(h);
    const after = h.incidents.active()[0]!;
    expect(after).toMatchObject({ id: incident!.id, level: 'fire', status: 'active_unack' });
    const up = h.incidentEvents.find((e) => e.previousLevel === 'pre_alarm');
    expect(up).toMatchObject({ type: 'updated', incident: { level: 'fire' } });
    await expect(h.incidents.ack(incident!.id, 'wang')).resolves.toMatchObject({ status: 'active_ack' });
    await expect(h.incidents.ack(incident!.id, 'wang')).rejects.toMatchObject({ code: 'already_acknowledged' });
  });

  it('acknowledging every alarm of an incident through the alarms acknowledges the incident, naming who did', async () => {
    h = await openHarness({ dir: await tempDir(), devices });
    await h.engine.accept([toReading(dev('sd-k'), 0, fire), toReading(dev('bin-1'), 0, { fill: 95 })]);
    await settle(h);
    for (const a of h.engine.active().filter((x) => x.type === 'smoke')) await h.engine.ack(a.id, 'li');
    await settle(h);
    expect(h.incidents.active().find((i) => i.hazard === 'fire')).toMatchObject({ status: 'active_ack', timeline: expect.arrayContaining([expect.objectContaining({ event: 'acked', actor: 'li' })]) });
    expect(h.incidents.active().find((i) => i.hazard === 'waste')?.status).toBe('active_unack');
  });

  it('cleared as one: its active alarms cleared by the same person; a detector still in alarm starts a new incident', async () => {
    h = await openHarness({ dir: await tempDir(), devices });
    await h.engine.accept([toReading(dev('sd-k'), 0, fire), toReading(dev('sd-h'), 0, fire)]);
    await settle(h);
    const [incident] = h.incidents.active();
    expect(incident?.level).toBe('fire');
    h.now.ms = T0 + 5 * MIN;
    const cleared = await h.incidents.clear(incident!.id, 'zhao');
    expect(cleared).toMatchObject({ status: 'cleared_unack', clearTs: T0 + 5 * MIN });
    expect(cleared.members.every((m) => m.status === 'cleared_unack')).toBe(true);
    await settle(h);
    expect(h.engine.active()).toEqual([]);
    for (const id of cleared.members.map((m) => m.id)) {
      const a = await h.engine.get(id);
      expect(a?.timeline.at(-1)).toMatchObject({ event: 'cleared', actor: 'zhao' });
    }
    expect(h.incidents.active()).toEqual([]);
    await expect(h.incidents.clear(incident!.id, 'zhao')).rejects.toMatchObject({ code: 'already_cleared' });
    // A cleared incident can still be acknowledged.
    await expect(h.incidents.ack(incident!.id, 'zhao')).resolves.toMatchObject({ status: 'cleared_ack' });
    // Reset while the kitchen still burns: its next report raises a new alarm, a new incident.
    await h.engine.accept([toReading(dev('sd-k'), 310, fire)]);
    await settle(h);
    const next = h.incidents.active();
    expect(next).toHaveLength(1);
    expect(next[0]?.id).not.toBe(incident!.id);
  });

  it('cleared as one while a third detector goes into alarm mid-clear: the latecomer is cleared too, never left active under a cleared incident', async () => {
    h = await openHarness({ dir: await tempDir(), devices });
    const x = h;
    await x.engine.accept([toReading(dev('sd-k'), 0, fire), toReading(dev('sd-h'), 0, fire)]);
    await settle(x);
    const [incident] = x.incidents.active();
    // The stairwell detector alarms while the incident's first alarm is being cleared.
    const clear = x.engine.clear.bind(x.engine);
    let joined = false;
    x.engine.clear = async (id, actor) => {
      const result = await clear(id, actor);
      if (!joined) {
        joined = true;
        await x.engine.accept([toReading(dev('sd-s'), 5, fire)]);
        await x.engine.idle();
      }
      return result;
    };
    await x.incidents.clear(incident!.id, 'zhao');
    await settle(x);
    const stored = await x.incidents.get(incident!.id);
    const late = stored!.members.find((m) => m.originator.id === 'sd-s');
    expect(late, 'the stairwell alarm joined the incident being cleared').toBeDefined();
    for (const m of stored!.members) {
      const a = await x.engine.get(m.id);
      expect({ id: m.id, status: a?.status }).toEqual({ id: m.id, status: expect.stringMatching(/^cleared_/) });
      expect(a?.timeline.at(-1)).toMatchObject({ event: 'cleared', actor: 'zhao' });
    }
  });

  it('a 火警 stays until cleared by hand; a pre-alarm and other incidents clear themselves once their alarms stayed clear for the settle time', async () => {
    h = await openHarness({ dir: await tempDir(), devices, incidentsConfig: { settleMs: 2 * MIN } });
    await h.engine.accept([toReading(dev('sd-k'), 0, fire), toReading(dev('sd-h'), 0, fire), toReading(dev('sd-x'), 0, fire), toReading(dev('bin-1'), 0, { fill: 95 })]);
    await h.engine.accept([toReading(dev('sd-k'), 60, calm), toReading(dev('sd-h'), 60, calm), toReading(dev('sd-x'), 60, calm), toReading(dev('bin-1'), 60, { fill: 5 })]);
    await settle(h);
    expect(h.engine.active()).toEqual([]);
    const byBuilding = () => Object.fromEntries(h!.incidents.active().map((i) => [`${i.building}/${i.hazard}`, i.level]));
    expect(byBuilding()).toEqual({ 'b1/fire': 'fire', 'b2/fire': 'pre_alarm', 'b1/waste': 'alarm' });
    await h.incidents.tick(T0 + 60_000 + 2 * MIN - 1);
    expect(Object.keys(byBuilding()).sort()).toEqual(['b1/fire', 'b1/waste', 'b2/fire']);
    await h.incidents.tick(T0 + 60_000 + 2 * MIN);
    expect(byBuilding()).toEqual({ 'b1/fire': 'fire' });
    const cleared = h.incidentEvents.filter((e) => e.type === 'cleared');
    const stored = await Promise.all(cleared.map((e) => h!.db.incidents.get(e.incident.id)));
    expect(stored.map((i) => [i?.building, i?.hazard, i?.timeline.at(-1)?.actor])).toEqual([['b2', 'fire', 'rule:incident'], ['b1', 'waste', 'rule:incident']]);
    await h.incidents.tick(T0 + 60 * MIN);
    expect(byBuilding()).toEqual({ 'b1/fire': 'fire' });
  });

  it('an alarm raised again within the settle time rejoins its incident instead of opening another', async () => {
    h = await openHarness({ dir: await tempDir(), devices, incidentsConfig: { settleMs: 5 * MIN } });
    await h.engine.accept([toReading(dev('sd-x'), 0, fire)]);
    await h.engine.accept([toReading(dev('sd-x'), 30, calm)]);
    await h.incidents.tick(T0 + 2 * MIN);
    await h.engine.accept([toReading(dev('sd-x'), 180, fire)]);
    await settle(h);
    const all = await h.incidents.list({ limit: 10, offset: 0 });
    expect(all.total).toBe(1);
    expect(all.items[0]?.members).toHaveLength(2);
    expect(all.items[0]?.quietSinceTs).toBeUndefined();
  });

  it('one active incident per key: 200 concurrent fire readings from 20 detectors of one building', async () => {
    const many = new Map<string, Device>(Array.from({ length: 20 }, (_, i) => {
      const d: Device = { id: `sd-${i}`, kind: 'smoke_detector', site: 'chundu', building: 'b7', name: `sd-${i}`, createdAt: T0 };
      return [d.id, d];
    }));
    h = await openHarness({ dir: await tempDir(), devices: many });
    await Promise.all(Array.from({ length: 200 }, (_, k) => h!.engine.accept([toReading(many.get(`sd-${k % 20}`)!, Math.floor(k / 20), fire)])));
    await settle(h);
    const active = await h.incidents.list({ status: ['active_unack', 'active_ack'], limit: 10, offset: 0 });
    expect(active.total).toBe(1);
    expect(active.items[0]?.members.filter((m) => m.type === 'smoke')).toHaveLength(20);
    expect(h.incidentEvents.filter((e) => e.type === 'raised')).toHaveLength(1);
    expect(h.incidentEvents.map((e) => e.seq)).toEqual(h.incidentEvents.map((_, i) => i + 1));
  });

  it("a building's network lost: 200 offline alarms join one device incident in a few events, not 200 copies of a growing incident", async () => {
    const building = new Map<string, Device>(Array.from({ length: 200 }, (_, i) => {
      const d: Device = { id: `wm-${i}`, kind: 'water_meter', site: 'chundu', building: 'b8', name: `wm-${i}`, createdAt: T0 };
      return [d.id, d];
    }));
    const storm = async (coalesceQuietUpdates: boolean) => {
      const { maxCommitPauseMs } = defaultIncidentsConfig; // production pacing
      const x = await openHarness({ dir: await tempDir(), devices: building, incidentsConfig: { maxCommitPauseMs, coalesceQuietUpdates } });
      h = x;
      await Promise.all([...building.keys()].map((id) => x.engine.onPresence(id, 'offline', T0 + 1_000, 'lost')));
      await settle(x);
      const [incident] = x.incidents.active();
      const events = x.incidentEvents.filter((e) => e.incident.id === incident?.id);
      const bytes = events.reduce((n, e) => n + JSON.stringify(e.incident).length, 0);
      await closeHarness(x);
      h = undefined;
      return { incident: incident!, events, bytes };
    };
    const each = await storm(false);
    expect(each.events).toHaveLength(200); // one per change: the first alarm raises, 199 join
    const one = await storm(true);
    expect(one.incident.members).toHaveLength(200);
    expect(one.incident.hazard).toBe('device');
    // Raised with its first alarm, then the joins as few updates as there were commits (two here;
    // a loaded machine may split them further), the last carrying every member.
    expect(one.events[0]).toMatchObject({ type: 'raised' });
    expect(one.events.length).toBeGreaterThanOrEqual(2);
    expect(one.events.length).toBeLessThanOrEqual(20);
    expect(one.events.at(-1)!.incident.members).toHaveLength(200);
    expect(one.events.map((e) => e.seq)).toEqual(one.events.map((_, i) => i + 1));
    expect(one.bytes * 5).toBeLessThan(each.bytes);
    // What is stored is the same either way: the incident with every alarm, and a 'joined' line for each in its timeline.
    expect(one.incident.timeline.filter((t) => t.event === 'updated')).toHaveLength(199);
    const devicesOf = (i: Incident) => i.members.map((m) => `${m.type}:${m.originator.id}`).sort();
    expect(devicesOf(one.incident)).toEqual(devicesOf(each.incident));
    expect(devicesOf(one.incident)).toEqual([...building.keys()].map((id) => `offline:${id}`).sort());
  });

  it('an alarm raised and cleared within one commit interval is decided on the batch, without reading the store for its incident', async () => {
    let reads = 0;
    const counting = (store: IncidentStore): IncidentStore => ({ ...store, findActive: (key) => { reads += 1; return store.findActive(key); } });
    h = await openHarness({ dir: await tempDir(), devices, incidentStore: counting, incidentsConfig: { maxCommitPauseMs: 200, commitShare: 0.001 } });
    const x = h;
    // The first alarm commits at once; the next raise and its clear arrive within the interval, one batch.
    await x.engine.accept([toReading(dev('sd-x'), 0, fire)]);
    await x.engine.accept([toReading(dev('sd-k'), 1, fire)]);
    await x.engine.accept([toReading(dev('sd-k'), 2, calm)]);
    await settle(x);
    expect(reads).toBe(0);
    const b1 = x.incidents.active().find((i) => i.building === 'b1')!;
    expect(b1.members.map((m) => [m.originator.id, m.status])).toEqual([['sd-k', 'cleared_unack']]);
    expect(x.incidentEvents.filter((e) => e.incident.id === b1.id).map((e) => e.type)).toEqual(['raised', 'updated']);
  });

  it('a second writer holding the key: the incident it opened is joined, never duplicated', async () => {
    h = await openHarness({ dir: await tempDir(), devices });
    // Another manager on the same engine and store (as a second hub on a shared store would be).
    const other = createIncidents(defaultIncidentsConfig, { engine: h.engine, store: h.db.incidents, logger: pino({ level: 'silent' }), metrics: new Registry(), clock: () => h!.now.ms });
    await other.start();
    await h.engine.accept([toReading(dev('sd-k'), 0, fire)]);
    await h.engine.accept([toReading(dev('sd-h'), 5, fire)]);
    await settle(h);
    await other.idle();
    const active = await h.incidents.list({ status: ['active_unack', 'active_ack'], limit: 10, offset: 0 });
    expect(active.total).toBe(1);
    expect(new Set(active.items[0]?.members.map((m) => m.originator.id))).toEqual(new Set(['sd-k', 'sd-h', 'b1']));
    await other.close();
  });

  it('restart: alarm events whose incident change was never stored are replayed from the watermark; a clean restart repeats nothing', async () => {
    const dir = await tempDir();
    const events: IncidentEvent[] = [];
    const now = { ms: T0 };
    let down = true;
    const broken = (inner: IncidentStore): IncidentStore => ({
      ...inner,
      recordMany: async (entries, seq) => {
        if (down) throw new Error('disk full');
        return inner.recordMany(entries, seq);
      },
    });
    h = await openHarness({ dir, devices, incidentEvents: events, now });
    // Swap in a manager whose store refuses, and stop it mid-retry as a crash would.
    await h.incidents.close();
    const crashing = createIncidents({ ...defaultIncidentsConfig, retryMs: 10 }, {
      engine: h.engine, store: broken(h.db.incidents), logger: pino({ level: 'silent' }), metrics: new Registry(), clock: () => now.ms,
    });
    await crashing.start();
    await h.engine.accept([toReading(dev('sd-k'), 0, fire), toReading(dev('bin-1'), 0, { fill: 95 })]);
    await h.engine.idle();
    // Shut down while the incident store still refuses: nothing of it is stored, and close() does not hang.
    await crashing.close();
    expect(await h.db.incidents.lastSeq()).toBe(0);
    down = false;
    await closeHarness({ ...h, incidents: { close: async () => undefined } as never });
    h = undefined;
    // The alarms are stored, their incidents are not: a new start replays them.
    expect((await (async () => {
      const again = await openHarness({ dir, devices, incidentEvents: events, now });
      h = again;
      return again.incidents.active().map((i) => i.hazard).sort();
    })())).toEqual(['fire', 'waste']);
    const opened = events.filter((e) => e.type === 'raised').length;
    expect(opened).toBe(2);
    await closeHarness(h!);
    h = await openHarness({ dir, devices, incidentEvents: events, now });
    await settle(h);
    expect(events.filter((e) => e.type === 'raised')).toHaveLength(2);
    expect(h.incidents.active()).toHaveLength(2);
  });

  it('a store that keeps refusing shows on /health: degraded, since when, what waits; ok again once it takes the batch', async () => {
    let down = true;
    let clock = Date.now();
    h = await openHarness({ dir: await tempDir(), devices });
    await h.incidents.close();
    const inner = h.db.incidents;
    const events: IncidentEvent[] = [];
    const incidents = createIncidents({ ...defaultIncidentsConfig, retryMs: 10 }, {
      engine: h.engine, logger: pino({ level: 'silent' }), metrics: new Registry(), clock: () => h!.now.ms,
      store: { ...inner, recordMany: async (entries, seq) => { if (down) throw new Error('disk full'); return inner.recordMany(entries, seq); } },
    });
    incidents.subscribe((e) => events.push(e));
    await incidents.start();
    const health = buildHealth({
      spool: { stats: () => ({ depth: 0, bytes: 0, quotaBytes: 1, full: false, refusedTotal: 0 }) as never },
      forwarder: { stats: () => ({ forwarded: 0, failures: 0, dropped: 0, retrying: false }) as never },
      pipeline: { stats: () => ({ received: 0, accepted: 0, duplicates: 0, rejected: 0, refused: 0 }) },
      latest: { size: () => 0 }, incidents, clock: () => clock,
    });
    expect((await health()).checks.incidents).toEqual({ status: 'ok', detail: '0 alarm events and actions waiting, 0 commits refused' });

    const before = Date.now();
    await h.engine.accept([toReading(dev('sd-k'), 0, fire)]);
    await vi.waitFor(() => expect(incidents.stats().refusedTotal).toBeGreaterThanOrEqual(2));
    const stats = incidents.stats();
    expect(stats.waiting).toBeGreaterThanOrEqual(1);
    expect(stats.refusingSince).toBeGreaterThanOrEqual(before);
    clock = stats.refusingSince! + 42_000;
    const degraded = await health();
    expect(degraded.status).toBe('degraded');
    expect(degraded.checks.incidents?.status).toBe('degraded');
    expect(degraded.checks.incidents?.detail).toMatch(/^\d+ alarm events and actions waiting, the incident store refusing for 42 s \(retrying\)/);

    down = false;
    await incidents.idle();
    const after = incidents.stats();
    expect(after.waiting).toBe(0);
    expect(after.refusingSince).toBeUndefined();
    expect(after.refusedTotal).toBeGreaterThanOrEqual(stats.refusedTotal); // counted since start, not reset
    expect((await health()).checks.incidents?.status).toBe('ok');
    expect(events.map((e) => [e.type, e.incident.hazard])).toEqual([['raised', 'fire']]);
    await incidents.close();
    await closeHarness({ ...h, incidents: { close: async () => undefined } as never });
    h = undefined;
  });
});
