import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAlertEngine, defaultAlertEngineConfig, type AlertEngine } from '../../alerts/index.js';
import { createEscalation, defaultEscalationConfig } from '../../alerts/escalation.js';
import { createIncidents, defaultIncidentsConfig, type Incidents } from '../../alerts/incidents/manager.js';
import type { Device } from '../../core/index.js';
import type { IncidentEvent } from '../../storage/incidents/contract.js';
import { createPostgres, type PostgresDatabase } from '../../storage/postgres/index.js';
import { postgresAvailability, startPostgres, type Postgres } from '../helpers/postgres.js';
import { deviceMap, T0, toReading } from './harness.js';

/**
 * A kitchen fire whose detectors report to different nodes of a cluster: each node runs its own
 * alert engine and incidents on one PostgreSQL database (each its own pool, as separate processes
 * would). Each node's incidents are a copy in memory; without compare-and-set writes a node would
 * write its older copy over the other's change — a member lost, an acknowledgement undone, a fire
 * confirmed by two detectors never seen as two, an escalation taken twice.
 */

const logger = pino({ level: 'silent' });
const { skip } = postgresAvailability();
const MIN = 60_000;
const devices = deviceMap([
  { id: 'sd-k', kind: 'smoke_detector', site: 'chundu', building: 'b1', location: '301 kitchen' },
  { id: 'sd-h', kind: 'smoke_detector', site: 'chundu', building: 'b1', location: '301 hall' },
  { id: 'sd-s', kind: 'smoke_detector', site: 'chundu', building: 'b1', location: 'stairwell 3F' },
]);
const dev = (id: string): Device => devices.get(id) as Device;
const fire = { smoke: 0.6, temperature: 30, alarm: true };

interface Node { db: PostgresDatabase; engine: AlertEngine; incidents: Incidents; events: IncidentEvent[]; metrics: Registry }

describe.skipIf(skip)(`incidents across cluster nodes on one PostgreSQL ${skip ?? ''}`, () => {
  let server: Postgres;
  let nodes: Node[] = [];
  const now = { ms: T0 };
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.cleanup();
  });
  afterEach(async () => {
    for (const n of nodes) {
      await n.engine.close();
      await n.incidents.close();
      await n.db.close();
    }
    nodes = [];
  });

  async function cluster(count: number): Promise<Node[]> {
    const { url } = await server.createDatabase();
    for (let i = 0; i < count; i++) {
      const db = await createPostgres({ url, maxConnections: 4 }, { logger });
      const metrics = new Registry();
      const engine = createAlertEngine(defaultAlertEngineConfig, {
        store: db.alarms, logger, metrics, clock: () => now.ms, devices: { get: (id) => devices.get(id), list: () => [...devices.values()] },
      });
      await engine.start();
      const incidents = createIncidents({ ...defaultIncidentsConfig, maxCommitPauseMs: 0 }, {
        engine, store: db.incidents, logger, metrics, clock: () => now.ms,
      });
      const events: IncidentEvent[] = [];
      incidents.subscribe((e) => events.push(e));
      await incidents.start();
      nodes.push({ db, engine, incidents, events, metrics });
    }
    return nodes;
  }

  const settle = async (...ns: Node[]) => {
    for (const n of ns) {
      await n.engine.idle();
      await n.incidents.idle();
    }
  };
  const detect = async (n: Node, id: string, t: number) => {
    now.ms = T0 + t * 1000;
    await n.engine.accept([toReading(dev(id), t, fire)]);
    await settle(n);
  };
  const fireIncidents = async (n: Node) => (await n.incidents.list({ hazard: 'fire', limit: 10, offset: 0 })).items;

  it('three detectors on two nodes are one fire incident with all three alarms, confirmed as 火警 by two independent signals', async () => {
    const [a, b] = await cluster(2) as [Node, Node];
    await detect(a, 'sd-k', 0);
    await detect(b, 'sd-h', 10);
    // Node A still holds the incident as it opened it (one detector): the third detector joins on A.
    expect(a.incidents.active().find((i) => i.hazard === 'fire')?.members.map((m) => m.originator.id)).toEqual(['sd-k']);
    await detect(a, 'sd-s', 20);
    const [stored, ...more] = await fireIncidents(a);
    expect(more).toHaveLength(0);
    // Without compare-and-set, A's write from its older copy dropped B's detector.
    expect(new Set(stored!.members.filter((m) => m.originator.kind === 'device').map((m) => m.originator.id))).toEqual(new Set(['sd-k', 'sd-h', 'sd-s']));
    expect(stored!.level).toBe('fire');
    // Each alarm is in it once, and the stored alarms are exactly its members.
    const alarms = (await a.engine.list({ limit: 50, offset: 0 })).items.filter((x) => x.type !== 'offline');
    expect(stored!.members.map((m) => m.id).sort()).toEqual(alarms.map((x) => x.id).sort());
    // 火警 was announced once, on the node that saw the second signal.
    const levelUps = [...a.events, ...b.events].filter((e) => e.incident.hazard === 'fire' && e.previousLevel);
    expect(levelUps.map((e) => [e.incident.level, e.previousLevel])).toEqual([['fire', 'pre_alarm']]);
    expect(Number((await a.db.incidents.lastSeq()))).toBe((await a.db.incidents.eventsSince(0)).length);
  });

  it('two detectors, one on each node: 火警, though neither node\'s rules saw two signals (no building fire_risk alarm)', async () => {
    const [a, b] = await cluster(2) as [Node, Node];
    await detect(a, 'sd-k', 0);
    await detect(b, 'sd-h', 10);
    const [stored] = await fireIncidents(a);
    expect(stored?.members.map((m) => m.type)).toEqual(['smoke', 'smoke']);
    expect(stored?.level).toBe('fire');
    const levelUps = [...a.events, ...b.events].filter((e) => e.previousLevel);
    expect(levelUps.map((e) => [e.incident.level, e.alarm?.originator.id])).toEqual([['fire', 'sd-h']]);
  });

  it('an acknowledgement on one node is not undone by a change another node decides on its older copy', async () => {
    const [a, b] = await cluster(2) as [Node, Node];
    await detect(a, 'sd-k', 0);
    await detect(b, 'sd-h', 10);
    const id = (await fireIncidents(b))[0]!.id;
    now.ms = T0 + 30_000;
    await b.incidents.assign(id, 'wang', 'operator');
    await b.incidents.comment(id, 'operator', '已派人到场');
    await settle(a, b);
    await detect(a, 'sd-s', 40);
    const stored = await a.incidents.get(id);
    expect(stored?.assignee).toBe('wang');
    expect(stored?.timeline.filter((t) => t.event === 'commented').map((t) => t.text)).toEqual(['已派人到场']);
    expect(stored?.members.filter((m) => m.originator.kind === 'device').map((m) => m.originator.id).sort()).toEqual(['sd-h', 'sd-k', 'sd-s']);
    // A changed incident is re-read and decided again, counted.
    const counted = (await a.metrics.getMetricsAsJSON()).find((m) => m.name === 'anju_incident_write_conflicts_total');
    expect(counted?.values.find((v) => v.labels.kind === 'changed')?.value).toBeGreaterThanOrEqual(1);
  });

  it('an alarm acknowledged through another node stays acknowledged when the node holding its detector repeats it', async () => {
    const [a, b] = await cluster(2) as [Node, Node];
    await detect(a, 'sd-k', 0);
    const alarm = (await a.engine.list({ limit: 10, offset: 0 })).items.find((x) => x.type === 'smoke')!;
    // The incident acknowledged through node B: B acknowledges each alarm, reading it from the store.
    const id = (await fireIncidents(b))[0]!.id;
    now.ms = T0 + 20_000;
    await b.incidents.ack(id, 'operator');
    await settle(a, b);
    expect((await b.engine.get(alarm.id))?.status).toBe('active_ack');
    // Node A still holds the alarm unacknowledged in memory; its detector keeps reporting smoke.
    await detect(a, 'sd-k', 30);
    await detect(a, 'sd-k', 40);
    const stored = await a.engine.get(alarm.id);
    expect(stored).toMatchObject({ status: 'active_ack', count: 3 });
    expect(stored?.timeline.filter((t) => t.event === 'acked')).toHaveLength(1);
    expect(a.engine.active().find((x) => x.id === alarm.id)?.status).toBe('active_ack');
    const counted = (await a.metrics.getMetricsAsJSON()).find((m) => m.name === 'anju_alarm_write_conflicts_total');
    expect(counted?.values.find((v) => v.labels.kind === 'changed')?.value).toBe(1);
    // Cleared through node B: A's next repeat does not bring the old alarm back; a new one is raised for the smoke still there.
    now.ms = T0 + 50_000;
    await b.engine.clear(alarm.id, 'operator');
    await detect(a, 'sd-k', 60);
    expect((await a.engine.get(alarm.id))?.status).toBe('cleared_ack');
    const smoke = (await a.engine.list({ limit: 10, offset: 0 })).items.filter((x) => x.type === 'smoke');
    expect(smoke.map((x) => x.status).sort()).toEqual(['active_unack', 'cleared_ack']);
  });

  it('escalation checked on both nodes from older copies escalates once per level', async () => {
    const [a, b] = await cluster(2) as [Node, Node];
    await detect(a, 'sd-k', 0);
    await detect(b, 'sd-h', 10);
    await settle(a, b);
    const id = (await fireIncidents(a))[0]!.id;
    const escalations = [a, b].map((n) => createEscalation({ ...defaultEscalationConfig }, { incidents: n.incidents, clock: () => now.ms, logger }));
    // Both nodes hold the incident at level 0; A escalates first, then B checks on its older copy.
    now.ms = T0 + 6 * MIN;
    expect((await escalations[0]!.runOnce(now.ms)).escalated).toEqual([id]);
    expect(b.incidents.active().find((i) => i.id === id)?.escalationLevel).toBe(0);
    expect((await escalations[1]!.runOnce(now.ms)).escalated).toEqual([]);
    const stored = await a.incidents.get(id);
    expect(stored?.escalationLevel).toBe(1);
    expect(stored?.timeline.filter((t) => t.event === 'escalated')).toHaveLength(1);
    // B now holds it as stored, and the next level comes once too.
    expect(b.incidents.active().find((i) => i.id === id)?.escalationLevel).toBe(1);
    now.ms = T0 + 11 * MIN;
    const second = await Promise.all(escalations.map((e) => e.runOnce(now.ms)));
    expect(second.flatMap((r) => r.escalated)).toEqual([id]);
    expect((await a.incidents.get(id))?.escalationLevel).toBe(2);
  });

  it('follow: a node takes in the incidents the other node opened and changed, without writing', async () => {
    const [a, b] = await cluster(2) as [Node, Node];
    await detect(a, 'sd-k', 0);
    expect(b.incidents.active()).toEqual([]);
    const seqBefore = await a.db.incidents.lastSeq();
    await b.incidents.follow();
    const held = b.incidents.active().find((i) => i.hazard === 'fire');
    expect(held?.members.map((m) => m.originator.id)).toEqual(['sd-k']);
    // Its timeline came with it (escalation and routing read it), and following wrote nothing.
    expect(held?.timeline.length).toBeGreaterThan(0);
    expect(await a.db.incidents.lastSeq()).toBe(seqBefore);
    // A acknowledges; B follows and holds it acknowledged, so B's next change starts from there.
    now.ms = T0 + 30_000;
    await a.incidents.ack(held!.id, 'operator');
    await b.incidents.follow();
    expect(b.incidents.active().find((i) => i.id === held!.id)?.status).toBe('active_ack');
    await detect(b, 'sd-h', 40);
    expect((await b.incidents.get(held!.id))?.members).toHaveLength(2);
    // A cleared incident leaves the active set of the node that follows.
    now.ms = T0 + 60_000;
    await b.incidents.clear(held!.id, 'operator');
    await settle(a, b);
    await a.incidents.follow();
    expect(a.incidents.active().find((i) => i.id === held!.id)).toBeUndefined();
  });

  it('a device that moves to another node takes its rule state along: a rate of rise begun on A completes on B', async () => {
    const [a, b] = await cluster(2) as [Node, Node];
    // 10 °C/min, a report every 10 s: the fit needs 45 s of samples (EN 54-5 class R, heat_rise).
    const rise = async (n: Node, t: number) => {
      now.ms = T0 + t * 1000;
      await n.engine.accept([toReading(dev('sd-k'), t, { smoke: 0.02, temperature: 25 + t / 6, alarm: false })]);
      await settle(n);
    };
    for (const t of [0, 10, 20, 30]) await rise(a, t);
    // The detector reconnects through the load balancer to B: A writes its state down, B reads it.
    await a.engine.release('sd-k');
    await b.engine.takeOver('sd-k');
    await rise(b, 40);
    await rise(b, 50);
    const raised = (await b.engine.list({ limit: 10, offset: 0 })).items.filter((x) => x.type === 'heat_rise');
    // 50 s of samples, 40 of them seen on A: raised on B at 50 s (from B's own samples alone it would take until 85 s).
    expect(raised.map((x) => [x.status, x.startTs])).toEqual([['active_unack', T0 + 50_000]]);
    expect(a.engine.active()).toEqual([]);
  });

  it('an alarm raised on the node a device left clears on the node it moved to, when its rules say so', async () => {
    const [a, b] = await cluster(2) as [Node, Node];
    await detect(a, 'sd-k', 0);
    const smoke = (await a.engine.list({ limit: 10, offset: 0 })).items.find((x) => x.type === 'smoke')!;
    await a.engine.release('sd-k');
    await b.engine.takeOver('sd-k');
    expect(b.engine.active().map((x) => x.id)).toEqual([smoke.id]);
    // The smoke is gone (below half the threshold): B's smoke rule clears A's alarm, and B's incident copy follows.
    now.ms = T0 + 60_000;
    await b.engine.accept([toReading(dev('sd-k'), 60, { smoke: 0.02, temperature: 22, alarm: false })]);
    await settle(b);
    const after = await b.engine.get(smoke.id);
    expect(after?.status).toBe('cleared_unack');
    expect(after?.timeline.at(-1)).toMatchObject({ event: 'cleared', actor: 'rule:smoke' });
    expect((await fireIncidents(b))[0]?.members.find((m) => m.id === smoke.id)?.status).toBe('cleared_unack');
  });
});
