import mqtt from 'mqtt';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { RunningPlatform } from '../../cli/platform.js';
import { clusterSkip, useCluster } from '../helpers/cluster.js';
import { openStream } from '../helpers/sse.js';

/**
 * Three `anju all` nodes in cluster mode — ANJU_POSTGRES_URL (state), ANJU_REDIS_URL (broker tier),
 * InfluxDB (telemetry) — on real Debian redis-server, PostgreSQL 15 and influxd: a device provisioned
 * on node A publishes on node B, B raises its alarm and opens the incident, and a subscriber connected
 * to node C receives each incident event once; every node's /health reports Redis.
 */

const skip = clusterSkip();
const ADMIN = 'redis-cluster-admin-token';

describe.skipIf(skip)(`anju all, three nodes on Redis and PostgreSQL ${skip ?? ''}`, () => {
  // 3 s: an unacknowledged critical incident escalates at the leader's next check (every 30 s).
  const cluster = useCluster(3, ADMIN, { ANJU_ESCALATE_CRITICAL_MIN: '0.05' });
  const nodes = cluster.nodes;
  const clients: mqtt.MqttClient[] = [];
  // Before the cluster's own afterAll (after hooks run in reverse).
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
  });

  const api = async (node: RunningPlatform, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${node.urls.http}${path}`, {
      method, headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const connect = async (node: RunningPlatform, options: mqtt.IClientOptions) => {
    const c = await mqtt.connectAsync(node.urls.mqtt as string, { protocolVersion: 4, reconnectPeriod: 0, ...options });
    clients.push(c);
    return c;
  };

  it('every node reports Redis in /health', async () => {
    for (const node of nodes) {
      const health = (await (await fetch(`${node.urls.http}/health`)).json()) as { status: string; checks: Record<string, { status: string; detail: string }> };
      expect(health.checks.backplane).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^Redis answered in/) });
    }
  });

  it('while Redis restarts, /health says so on every node; afterwards it is ok again without a node restart', async () => {
    const check = async (node: RunningPlatform) => {
      const health = (await (await fetch(`${node.urls.http}/health`)).json()) as { status: string; checks: Record<string, { status: string; detail: string }> };
      return health;
    };
    await cluster.redis.stop();
    try {
      for (const node of nodes) {
        await vi.waitFor(async () => {
          const h = await check(node);
          expect(h.status).toBe('degraded');
          expect(h.checks.backplane).toMatchObject({ status: 'degraded', detail: expect.stringMatching(/^Redis does not answer/) });
        }, { timeout: 10_000, interval: 200 });
      }
    } finally {
      await cluster.redis.start();
    }
    for (const node of nodes) {
      await vi.waitFor(async () => expect((await check(node)).checks.backplane?.status).toBe('ok'), { timeout: 20_000, interval: 200 });
    }
  }, 60_000);

  it('a device provisioned on A publishes on B; the incident B opens reaches a subscriber on C, once', async () => {
    const [a, b, c] = nodes as [RunningPlatform, RunningPlatform, RunningPlatform];
    const created = await api(a, 'POST', '/api/devices', { id: 'sd-cluster-1', kind: 'smoke_detector', site: 's1', building: 'b1' });
    expect(created.status).toBe(201);
    const panel = await api(a, 'POST', '/api/service-accounts', { id: 'panel-cluster', subscribe: ['anju/alerts/#'] });
    expect(panel.status).toBe(201);

    // The account made on A logs in on C at once (LISTEN/NOTIFY); its subscription is C's.
    const subscriber = await vi.waitFor(() => connect(c, { clientId: 'panel-cluster:1', username: 'panel-cluster', password: String(panel.body.secret) }), { timeout: 5_000, interval: 200 });
    await subscriber.subscribeAsync('anju/alerts/#', { qos: 1 });
    const events: Array<{ topic: string; body: { seq: number; type: string; incident: { id: string; building: string } } }> = [];
    subscriber.on('message', (topic, payload) => events.push({ topic, body: JSON.parse(payload.toString()) as never }));

    const device = await vi.waitFor(() => connect(b, { clientId: 'sd-cluster-1', username: 'sd-cluster-1', password: String(created.body.secret) }), { timeout: 5_000, interval: 200 });
    await device.publishAsync('devices/sd-cluster-1/telemetry', JSON.stringify({ ts: Date.now(), smoke: 0.5, alarm: true, seq: 1 }), { qos: 1 });

    const fire = () => events.filter((m) => m.topic === 'anju/alerts/s1/incident/fire' && m.body.incident.building === 'b1');
    await vi.waitFor(() => expect(fire().map((m) => m.body.type)).toContain('raised'), { timeout: 15_000, interval: 100 });
    // Raised once cluster-wide: B ingested the reading; A and C never saw it as their own. Each event
    // reaches the subscriber once (distinct seqs), however many nodes the message crossed.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(fire().filter((m) => m.body.type === 'raised')).toHaveLength(1);
    expect(new Set(fire().map((m) => m.body.seq)).size).toBe(fire().length);
    // And the alarm is stored once, readable from any node (PostgreSQL).
    const listed = await api(a, 'GET', '/api/alerts?site=s1');
    const items = (listed.body.items as Array<{ type: string; originator: { id: string } }>).filter((x) => x.originator.id === 'sd-cluster-1' && x.type === 'smoke');
    expect(items).toHaveLength(1);
    const incident = await api(c, 'GET', `/api/incidents/${fire()[0]?.body.incident.id ?? ''}`);
    expect(incident.status).toBe(200);
    // The control room on C counts it (every node's alarms, not only C's own), with the seq it includes.
    const overview = await vi.waitFor(async () => {
      const o = await api(c, 'GET', '/api/sites/s1/overview');
      expect(o.status).toBe(200);
      const b1 = (o.body.buildings as Array<{ id: string; worst: string | null; activeAlarms: number }>).find((b) => b.id === 'b1');
      expect(b1).toMatchObject({ worst: 'critical', activeAlarms: 1 });
      return o.body as { alarms: { seq: number } };
    }, { timeout: 10_000, interval: 250 });
    expect(overview.alarms.seq).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('a device whose connection to A was lost comes back on B: A clears the offline alarm it raised', async () => {
    const [a, b] = nodes as [RunningPlatform, RunningPlatform];
    const created = await api(a, 'POST', '/api/devices', { id: 'sd-cluster-2', kind: 'smoke_detector', site: 's1', building: 'b2' });
    expect(created.status).toBe(201);
    const password = String(created.body.secret);
    const first = await vi.waitFor(() => connect(a, { clientId: 'sd-cluster-2', username: 'sd-cluster-2', password }), { timeout: 5_000, interval: 200 });
    await first.publishAsync('devices/sd-cluster-2/telemetry', JSON.stringify({ ts: Date.now(), smoke: 0.01, seq: 1 }), { qos: 1 });
    // The connection drops without a DISCONNECT (MQTT 3.1.1 §3.1.2.10): A raises `offline` (lost).
    first.stream.destroy();
    const offline = await vi.waitFor(async () => {
      const listed = await api(a, 'GET', '/api/alerts?site=s1');
      const found = (listed.body.items as Array<{ id: string; type: string; status: string; originator: { id: string } }>)
        .find((x) => x.originator.id === 'sd-cluster-2' && x.type === 'offline');
      if (!found) throw new Error('no offline alarm yet');
      return found;
    }, { timeout: 10_000, interval: 200 });
    expect(offline.status).toBe('active_unack');

    // It comes back through the load balancer on B: alive, so the alarm A raised clears (A hears of
    // the connection through Redis; B never raised it and could not clear it from its own rule state).
    await connect(b, { clientId: 'sd-cluster-2', username: 'sd-cluster-2', password });
    await vi.waitFor(async () => {
      const got = await api(b, 'GET', `/api/alerts/${offline.id}`);
      expect(got.body.status).toBe('cleared_unack');
    }, { timeout: 10_000, interval: 200 });
  }, 60_000);

  it('a kitchen fire whose detectors connect to A and B is one 火警 incident; every node streams each of its events once; one node escalates it', async () => {
    const [a, b, c] = nodes as [RunningPlatform, RunningPlatform, RunningPlatform];
    const auth = { authorization: `Bearer ${ADMIN}` };
    const streams = await Promise.all(nodes.map(async (n) => ({
      incidents: await openStream(`${n.urls.http}/api/incidents/stream`, auth), alarms: await openStream(`${n.urls.http}/api/alerts/stream`, auth),
    })));
    try {
      const detectors = [['sd-kitchen-1', a], ['sd-kitchen-2', b]] as const;
      for (const [id, node] of detectors) {
        const created = await api(c, 'POST', '/api/devices', { id, kind: 'smoke_detector', site: 's1', building: 'b7', location: '7-302 厨房' });
        expect(created.status).toBe(201);
        const password = String(created.body.secret);
        const device = await vi.waitFor(() => connect(node, { clientId: id, username: id, password }), { timeout: 5_000, interval: 200 });
        // Alarm-only detectors (GB 4715 point type): the device's own alarm flag.
        await device.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ ts: Date.now(), alarm: true, seq: 1 }), { qos: 1 });
      }
      type Incoming = { incident: { id: string; building: string; level: string; members: Array<{ originator: { id: string } }> } };
      const kitchen = (events: Array<{ id?: string; data?: string }>) =>
        events.map((e) => ({ seq: Number(e.id), ...(JSON.parse(e.data!) as Incoming) })).filter((e) => e.incident.building === 'b7');
      // 火警 on every node's stream: two independent detectors, though no node saw both.
      for (const s of streams) {
        await s.incidents.waitFor(() => kitchen(s.incidents.events).some((e) => e.incident.level === 'fire'), 20_000).catch((err: Error) => {
          throw new Error(`${err.message}: ${JSON.stringify(s.incidents.events.map((e) => e.data))}`);
        });
      }
      const ids = new Set(streams.flatMap((s) => kitchen(s.incidents.events).map((e) => e.incident.id)));
      expect(ids.size).toBe(1);
      const [id] = [...ids] as [string];
      const stored = await api(c, 'GET', `/api/incidents/${id}`);
      expect(stored.body).toMatchObject({ level: 'fire' });
      expect((stored.body.alarms as Array<{ originator: { id: string } }>).map((m) => m.originator.id).sort()).toEqual(['sd-kitchen-1', 'sd-kitchen-2']);
      // Each node streamed the same events, each once and in seq order, whichever node decided it.
      const seqsOf = (s: (typeof streams)[number]) => kitchen(s.incidents.events).map((e) => e.seq);
      await vi.waitFor(() => {
        for (const s of streams) expect(seqsOf(s)).toEqual(seqsOf(streams[0]!));
      }, { timeout: 10_000, interval: 200 });
      for (const s of streams) expect([...seqsOf(s)].sort((x, y) => x - y)).toEqual(seqsOf(s));
      expect(new Set(seqsOf(streams[0]!)).size).toBe(seqsOf(streams[0]!).length);
      // And every node's alarm stream carries both detectors' alarms, raised on different nodes.
      for (const s of streams) {
        await s.alarms.waitFor(() => {
          const raised = s.alarms.events.filter((e) => e.event === 'raised')
            .map((e) => (JSON.parse(e.data!) as { alarm: { originator: { id: string } } }).alarm.originator.id);
          return raised.includes('sd-kitchen-1') && raised.includes('sd-kitchen-2');
        }, 10_000);
        expect(new Set(s.alarms.events.map((e) => e.id)).size).toBe(s.alarms.events.length);
      }

      // One node leads the schedules; the incident escalates once per level however many nodes check it.
      const leads = await Promise.all(nodes.map(async (n) => {
        const health = (await (await fetch(`${n.urls.http}/health`)).json()) as { checks: Record<string, { detail: string }> };
        return /this node runs the cluster's escalation/.test(health.checks.state?.detail ?? '');
      }));
      expect(leads.filter(Boolean)).toHaveLength(1);
      const escalated = await vi.waitFor(async () => {
        const got = await api(a, 'GET', `/api/incidents/${id}`);
        if (Number(got.body.escalationLevel) < 1) throw new Error('not escalated yet');
        return got.body as { escalationLevel: number; timeline: Array<{ event: string; details?: { level?: number } }> };
      }, { timeout: 45_000, interval: 500 });
      const levels = escalated.timeline.filter((t) => t.event === 'escalated').map((t) => t.details?.level);
      expect(levels).toEqual(Array.from({ length: escalated.escalationLevel }, (_, i) => i + 1));
    } finally {
      for (const s of streams) {
        await s.incidents.close();
        await s.alarms.close();
      }
    }
  }, 120_000);
});
