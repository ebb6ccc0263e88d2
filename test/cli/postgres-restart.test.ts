import mqtt from 'mqtt';
import { describe, expect, it, vi } from 'vitest';
import type { RunningPlatform } from '../../cli/platform.js';
import { apiClient } from '../helpers/anju-process.js';
import { clusterSkip, provisionDetectors, useCluster } from '../helpers/cluster.js';
import { expectExactlyOnce, storedInInflux } from '../helpers/exactly-once.js';
import { startStormLoad } from '../helpers/load.js';

/**
 * PostgreSQL restarted under load on a two-node cluster (real redis-server, PostgreSQL 15, influxd):
 * both nodes say so in /health and answer the API's state reads with 503 rather than stale or empty
 * answers; readings keep being acknowledged (telemetry goes to the spool and InfluxDB, not
 * PostgreSQL) and are stored exactly once; a fire that begins during the outage is raised once
 * PostgreSQL is back — by the detector's next report, since an alarm is never announced before it is
 * stored — and every node recovers without a restart.
 */

const skip = clusterSkip();
const ADMIN = 'pg-restart-admin-token';
const DEVICES = 40;

describe.skipIf(skip)(`cluster mode: PostgreSQL restarted under load ${skip ?? ''}`, () => {
  const cluster = useCluster(2, ADMIN, { ANJU_CONNECT_RATE: '100000' });
  const nodes = cluster.nodes;

  const health = async (n: RunningPlatform) =>
    (await (await fetch(`${n.urls.http}/health`)).json()) as { status: string; checks: Record<string, { status: string; detail: string }> };

  it('degrades visibly, keeps acknowledging and storing readings exactly once, raises the fire that began meanwhile, and recovers', async () => {
    const [a, b] = nodes as [RunningPlatform, RunningPlatform];
    const api = apiClient(a.urls.http as string, ADMIN);
    const devices = await provisionDetectors(api, 'sd-pgr-', DEVICES);
    const fire = await api<{ secret: string }>('POST', '/api/devices', { id: 'sd-pgr-fire', kind: 'smoke_detector', site: 's1', building: 'b2' });
    const late = await api<{ secret: string }>('POST', '/api/devices', { id: 'sd-pgr-late', kind: 'smoke_detector', site: 's1', building: 'b3' });
    const half = DEVICES / 2;
    const loads = [startStormLoad(a.urls.mqtt as string, devices.slice(0, half), { intervalMs: 200, reconnectMs: 200 }),
      startStormLoad(b.urls.mqtt as string, devices.slice(half), { intervalMs: 200, reconnectMs: 200 })];
    let detector: mqtt.MqttClient | undefined;
    try {
      await Promise.all(loads.map((l) => l.waitForAcks(100, 30_000)));
      // The detector is connected (and its secret verified) before the outage; all is calm.
      detector = await mqtt.connectAsync(b.urls.mqtt as string, { protocolVersion: 4, clientId: 'sd-pgr-fire', username: 'sd-pgr-fire', password: fire.body.secret, reconnectPeriod: 200 });
      await detector.publishAsync('devices/sd-pgr-fire/telemetry', JSON.stringify({ ts: Date.now(), smoke: 0.01, alarm: false, seq: 1 }), { qos: 1 });

      await cluster.postgres.stop();
      try {
        for (const n of nodes) {
          await vi.waitFor(async () => {
            const h = await health(n);
            expect(h.status).toBe('degraded');
            expect(h.checks.state).toMatchObject({ status: 'degraded', detail: expect.stringMatching(/^PostgreSQL does not answer/) });
          }, { timeout: 15_000, interval: 250 });
        }
        // State reads are refused, not answered from nothing.
        expect((await api('GET', '/api/alerts')).status).toBe(503);
        // Readings are still acknowledged on both nodes: they do not wait for PostgreSQL.
        await Promise.all(loads.map((l) => l.waitForAcks(100, 30_000)));
        // A device whose secret this node has not verified lately (provisioned through A) cannot be checked now: refused with
        // code 3 "server unavailable" (MQTT 3.1.1 §3.2.2.3), so it retries, rather than let in unchecked.
        const refused = await mqtt.connectAsync(b.urls.mqtt as string, { protocolVersion: 4, clientId: 'sd-pgr-late', username: 'sd-pgr-late', password: late.body.secret, reconnectPeriod: 0 })
          .then(async (c) => { await c.endAsync(); return 0; }, (err: { code?: number }) => err.code);
        expect(refused).toBe(3);
        // A fire begins on B while PostgreSQL is away: the detector reports every second.
        for (let k = 0; k < 3; k++) {
          await detector.publishAsync('devices/sd-pgr-fire/telemetry', JSON.stringify({ ts: Date.now(), smoke: 0.6, alarm: true, seq: k + 2 }), { qos: 1 });
          await new Promise((r) => setTimeout(r, 1_000));
        }
      } finally {
        await cluster.postgres.start();
      }
      for (const n of nodes) await vi.waitFor(async () => expect((await health(n)).checks.state?.status).toBe('ok'), { timeout: 30_000, interval: 250 });
      // The detector keeps reporting its alarm: raised now, once, and readable from either node.
      let seq = 10;
      const smoke = await vi.waitFor(async () => {
        await detector!.publishAsync('devices/sd-pgr-fire/telemetry', JSON.stringify({ ts: Date.now(), smoke: 0.6, alarm: true, seq: seq++ }), { qos: 1 });
        const r = await apiClient(b.urls.http as string, ADMIN)<{ items: Array<{ type: string; status: string; originator: { id: string } }> }>('GET', '/api/alerts?site=s1');
        const found = r.body.items.filter((x) => x.originator.id === 'sd-pgr-fire' && x.type === 'smoke');
        if (found.length === 0) throw new Error(`no smoke alarm yet (${r.status})`);
        return found;
      }, { timeout: 30_000, interval: 1_000 });
      expect(smoke.map((x) => x.status)).toEqual(['active_unack']);
      // And the device refused meanwhile gets in now.
      const now = await mqtt.connectAsync(b.urls.mqtt as string, { protocolVersion: 4, clientId: 'sd-pgr-late', username: 'sd-pgr-late', password: late.body.secret, reconnectPeriod: 0 });
      await now.endAsync();
      const incidents = await api<{ items: Array<{ building: string; hazard: string }> }>('GET', '/api/incidents?site=s1&hazard=fire');
      expect(incidents.body.items.filter((i) => i.building === 'b2')).toHaveLength(1);

      const acked = (await Promise.all(loads.map((l) => l.stop()))).flat();
      await expectExactlyOnce(acked, (device, from, to) => storedInInflux(cluster.influxd, 'anju', device, from, to), 60_000, () => '');
    } finally {
      await detector?.endAsync(true).catch(() => undefined);
      await Promise.all(loads.map((l) => l.stop()));
    }
  }, 180_000);
});
