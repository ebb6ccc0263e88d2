import mqtt from 'mqtt';
import { describe, expect, it, vi } from 'vitest';
import type { RunningPlatform } from '../../cli/platform.js';
import { apiClient } from '../helpers/anju-process.js';
import { clusterSkip, provisionDetectors, useCluster } from '../helpers/cluster.js';
import { expectExactlyOnce, storedInInflux } from '../helpers/exactly-once.js';
import { startStormLoad } from '../helpers/load.js';

/**
 * Redis restarted under load on a two-node cluster (real redis-server, PostgreSQL 15, influxd). The
 * test's Redis keeps nothing across the restart (no snapshot, no AOF): the harshest case, worse than
 * the compose profile's `--appendonly yes`. Both nodes say so in /health; readings keep being
 * acknowledged and are stored exactly once (telemetry goes to each node's spool and InfluxDB, never
 * through Redis); a fire that begins on A meanwhile is raised at once and its alarm event reaches a
 * subscriber on B once Redis is back; afterwards messages cross between the nodes again, and nothing
 * needed a restart.
 */

const skip = clusterSkip();
const ADMIN = 'redis-restart-admin-token';
const DEVICES = 40;

describe.skipIf(skip)(`cluster mode: Redis restarted under load ${skip ?? ''}`, () => {
  const cluster = useCluster(2, ADMIN, { ANJU_CONNECT_RATE: '100000' });
  const nodes = cluster.nodes;

  const health = async (n: RunningPlatform) =>
    (await (await fetch(`${n.urls.http}/health`)).json()) as { status: string; checks: Record<string, { status: string; detail: string }> };

  it('degrades visibly, keeps acknowledging and storing readings exactly once, delivers the fire begun meanwhile across nodes, and recovers', async () => {
    const [a, b] = nodes as [RunningPlatform, RunningPlatform];
    const api = apiClient(a.urls.http as string, ADMIN);
    const devices = await provisionDetectors(api, 'sd-rr-', DEVICES);
    const fire = await api<{ secret: string }>('POST', '/api/devices', { id: 'sd-rr-fire', kind: 'smoke_detector', site: 's1', building: 'b2' });
    const later = await api<{ secret: string }>('POST', '/api/devices', { id: 'sd-rr-later', kind: 'smoke_detector', site: 's1', building: 'b3' });
    const panel = await api<{ secret: string }>('POST', '/api/service-accounts', { id: 'panel-rr', subscribe: ['anju/alerts/#'] });
    expect(panel.status).toBe(201);
    const half = DEVICES / 2;
    const loads = [startStormLoad(a.urls.mqtt as string, devices.slice(0, half), { intervalMs: 200, reconnectMs: 200 }),
      startStormLoad(b.urls.mqtt as string, devices.slice(half), { intervalMs: 200, reconnectMs: 200 })];
    const clients: mqtt.MqttClient[] = [];
    try {
      await Promise.all(loads.map((l) => l.waitForAcks(100, 30_000)));
      // The control room's panel on B follows every alarm event, whichever node raised it.
      const subscriber = await vi.waitFor(() => mqtt.connectAsync(b.urls.mqtt as string, {
        protocolVersion: 4, clientId: 'panel-rr:1', username: 'panel-rr', password: panel.body.secret, reconnectPeriod: 500,
      }), { timeout: 5_000, interval: 200 });
      clients.push(subscriber);
      await subscriber.subscribeAsync('anju/alerts/#', { qos: 1 });
      const events: Array<{ topic: string; body: { seq: number; type: string; alarm?: { type: string; originator: { id: string } } } }> = [];
      subscriber.on('message', (topic, payload) => events.push({ topic, body: JSON.parse(payload.toString()) as never }));
      const raisedFor = (device: string, list = events) => list.filter((m) => m.body.type === 'raised' && m.body.alarm?.type === 'smoke' && m.body.alarm.originator.id === device);
      // And one on A, the node that decides the fire below.
      const panelA = await mqtt.connectAsync(a.urls.mqtt as string, {
        protocolVersion: 4, clientId: 'panel-rr:0', username: 'panel-rr', password: panel.body.secret, reconnectPeriod: 500,
      });
      clients.push(panelA);
      await panelA.subscribeAsync('anju/alerts/#', { qos: 1 });
      const eventsA: typeof events = [];
      panelA.on('message', (topic, payload) => eventsA.push({ topic, body: JSON.parse(payload.toString()) as never }));
      // A detector on A, connected and calm before the outage.
      const detector = await mqtt.connectAsync(a.urls.mqtt as string, { protocolVersion: 4, clientId: 'sd-rr-fire', username: 'sd-rr-fire', password: fire.body.secret, reconnectPeriod: 200 });
      clients.push(detector);
      await detector.publishAsync('devices/sd-rr-fire/telemetry', JSON.stringify({ ts: Date.now(), smoke: 0.01, alarm: false, seq: 1 }), { qos: 1 });

      await cluster.redis.stop();
      try {
        for (const n of nodes) {
          await vi.waitFor(async () => {
            const h = await health(n);
            expect(h.status).toBe('degraded');
            expect(h.checks.backplane).toMatchObject({ status: 'degraded', detail: expect.stringMatching(/^Redis does not answer/) });
          }, { timeout: 15_000, interval: 250 });
        }
        // Readings are still acknowledged on both nodes: telemetry does not go through Redis.
        await Promise.all(loads.map((l) => l.waitForAcks(100, 30_000)));
        // A fire begins on A: the alarm is raised and stored (PostgreSQL) while Redis is away.
        await detector.publishAsync('devices/sd-rr-fire/telemetry', JSON.stringify({ ts: Date.now(), smoke: 0.6, alarm: true, seq: 2 }), { qos: 1 });
        await vi.waitFor(async () => {
          const r = await apiClient(b.urls.http as string, ADMIN)<{ items: Array<{ type: string; originator: { id: string } }> }>('GET', '/api/alerts?site=s1');
          expect(r.body.items.filter((x) => x.originator.id === 'sd-rr-fire' && x.type === 'smoke')).toHaveLength(1);
        }, { timeout: 15_000, interval: 250 });
      } finally {
        await cluster.redis.start();
      }
      for (const n of nodes) await vi.waitFor(async () => expect((await health(n)).checks.backplane?.status).toBe('ok'), { timeout: 30_000, interval: 250 });
      // The alarm event raised on A during the outage reaches the panel on B once Redis is back: once.
      await vi.waitFor(() => expect([raisedFor('sd-rr-fire').length, raisedFor('sd-rr-fire', eventsA).length]).toEqual([1, 1]), { timeout: 20_000, interval: 250 });
      // Messages cross between the nodes again: a new device on B, its alarm seen by a panel on A.
      const device = await mqtt.connectAsync(b.urls.mqtt as string, { protocolVersion: 4, clientId: 'sd-rr-later', username: 'sd-rr-later', password: later.body.secret, reconnectPeriod: 0 });
      clients.push(device);
      const onA = await mqtt.connectAsync(a.urls.mqtt as string, { protocolVersion: 4, clientId: 'panel-rr:2', username: 'panel-rr', password: panel.body.secret, reconnectPeriod: 0 });
      clients.push(onA);
      await onA.subscribeAsync('anju/alerts/#', { qos: 1 });
      const seenOnA: string[] = [];
      onA.on('message', (_topic, payload) => {
        const body = JSON.parse(payload.toString()) as { type: string; alarm?: { type: string; originator: { id: string } } };
        if (body.type === 'raised' && body.alarm?.originator.id === 'sd-rr-later') seenOnA.push(body.alarm.type);
      });
      await device.publishAsync('devices/sd-rr-later/telemetry', JSON.stringify({ ts: Date.now(), smoke: 0.6, alarm: true, seq: 1 }), { qos: 1 });
      await vi.waitFor(() => expect(seenOnA).toContain('smoke'), { timeout: 15_000, interval: 250 });
      await vi.waitFor(() => expect(raisedFor('sd-rr-later')).toHaveLength(1), { timeout: 15_000, interval: 250 });
      expect([raisedFor('sd-rr-fire').length, raisedFor('sd-rr-fire', eventsA).length]).toEqual([1, 1]);
      for (const list of [events, eventsA]) expect(new Set(list.map((m) => `${m.topic}/${m.body.seq}`)).size).toBe(list.length);

      const acked = (await Promise.all(loads.map((l) => l.stop()))).flat();
      await expectExactlyOnce(acked, (d, from, to) => storedInInflux(cluster.influxd, 'anju', d, from, to), 60_000, () => '');
    } finally {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
      await Promise.all(loads.map((l) => l.stop()));
    }
  }, 180_000);
});
