import mqtt from 'mqtt';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { RunningPlatform } from '../../cli/platform.js';
import { createRedisBackplane } from '../../broker/index.js';
import { startBroker } from '../broker/harness.js';
import { apiClient } from '../helpers/anju-process.js';
import { clusterSkip, useCluster } from '../helpers/cluster.js';

/**
 * Devices no live node holds, on a two-node cluster (real redis-server, PostgreSQL 15, influxd): a
 * detector that never connects after it is installed, and a periodic water meter whose node stopped
 * while it was disconnected between two reports (no Will: it left cleanly), are timed by the leader
 * (storage/postgres/holders.ts, cli/alerts.ts) and reported offline once each; a detector reporting on
 * the other node is never taken for silent. Time is shortened: 1 s heartbeats (a node is dead after
 * 3), a 0.5 s alarm tick (the leader adopts after leading 10 ticks), report intervals of 2 s (8 s for the meter).
 */

const skip = clusterSkip();
const ADMIN = 'cluster-unheld-admin-token';

describe.skipIf(skip)(`cluster mode: devices no node holds are timed by the leader ${skip ?? ''}`, () => {
  const cluster = useCluster(2, ADMIN, { ANJU_CLUSTER_HEARTBEAT_S: '1', ANJU_ALERT_TICK_S: '0.5' });

  it('a detector that never connects and a periodic meter whose node stopped are reported offline once; a live detector on the other node never is', async () => {
    const [a, b] = cluster.nodes as [RunningPlatform, RunningPlatform];
    const api = apiClient(a.urls.http as string, ADMIN);
    // Node A started first and leads (the scheduler's advisory lock).
    const health = async (n: RunningPlatform) => ((await (await fetch(`${n.urls.http}/health`)).json()) as { checks: { state: { detail: string } } }).checks.state.detail;
    await vi.waitFor(async () => expect(await health(a)).toMatch(/this node runs the cluster's escalation/), { timeout: 15_000, interval: 250 });
    expect(await health(b)).toMatch(/run on the leading node/);

    const add = async (id: string, extra: Record<string, unknown>) => {
      const r = await api<{ secret: string }>('POST', '/api/devices', { id, site: 's1', building: 'b1', report_interval_s: 2, ...extra });
      expect(r.status).toBe(201);
      return r.body.secret;
    };
    await add('sd-never', { kind: 'smoke_detector' });
    const live = await add('sd-live', { kind: 'smoke_detector' });
    // Reporting every 8 s: B would call it offline after 24 s of silence, well after B is gone.
    const meter = await add('wm-periodic', { kind: 'water_meter', connection: 'periodic', report_interval_s: 8 });

    // A detector reporting every second on B (not the leader) all along.
    const onB = await vi.waitFor(() => mqtt.connectAsync(b.urls.mqtt as string, { protocolVersion: 4, clientId: 'sd-live', username: 'sd-live', password: live, reconnectPeriod: 0 }),
      { timeout: 5_000, interval: 200 });
    let seq = 0;
    const reporting = setInterval(() => {
      void onB.publishAsync('devices/sd-live/telemetry', JSON.stringify({ ts: Date.now(), smoke: 0.01, seq: ++seq }), { qos: 1 }).catch(() => undefined);
    }, 1_000);
    try {
      // The meter reports on B and leaves cleanly, as a periodic device does; then B stops.
      const m = await mqtt.connectAsync(b.urls.mqtt as string, { protocolVersion: 4, clientId: 'wm-periodic', username: 'wm-periodic', password: meter, reconnectPeriod: 0 });
      await m.publishAsync('devices/wm-periodic/telemetry', JSON.stringify({ ts: Date.now(), volume: 12.5, flow: 0, seq: 1 }), { qos: 1 });
      await m.endAsync();

      const reportedAt = Date.now();
      const offline = async () => {
        const r = await api<{ items: Array<{ type: string; startTime: string; originator: { id: string }; details: { reason?: string } }> }>(
          'GET', '/api/alerts?site=s1&type=offline&limit=100');
        return r.body.items;
      };
      // The never-connected detector: timed by the leader (A), which adopted it — nobody held it.
      const never = await vi.waitFor(async () => {
        const found = (await offline()).filter((x) => x.originator.id === 'sd-never');
        expect(found).toHaveLength(1);
        return found[0]!;
      }, { timeout: 30_000, interval: 500 });
      expect(never.details.reason).toBe('silent');
      // The meter is B's: not claimed, not yet silent for long enough (24 s).
      expect((await offline()).filter((x) => x.originator.id === 'wm-periodic')).toEqual([]);
      // Past the live detector's limit (3 × 2 s) and many ticks of the leader: it is B's, and B hears it.
      await new Promise((r) => setTimeout(r, 7_000));
      expect((await offline()).filter((x) => x.originator.id === 'sd-live')).toEqual([]);
      // The meter is held by B (it connected there) and timed there: B now stops.
      clearInterval(reporting);
      await onB.endAsync(true);
      const stoppedAt = Date.now();
      await b.stop();
      const periodic = await vi.waitFor(async () => {
        const found = (await offline()).filter((x) => x.originator.id === 'wm-periodic');
        expect(found).toHaveLength(1);
        return found[0]!;
      }, { timeout: 45_000, interval: 500 });
      // Raised by the leader after B was gone, once the meter's 24 s had passed.
      expect(periodic.details.reason).toBe('silent');
      // (Its last report was received a moment before the test noted `reportedAt`.)
      const raisedAt = new Date(periodic.startTime).getTime();
      expect([raisedAt > stoppedAt, raisedAt >= reportedAt + 24_000 - 1_000]).toEqual([true, true]);
      // Once: no second alarm for either device over a few more ticks.
      await new Promise((r) => setTimeout(r, 2_000));
      const all = await offline();
      expect(['sd-never', 'wm-periodic'].map((id) => all.filter((x) => x.originator.id === id).length)).toEqual([1, 1]);
    } finally {
      clearInterval(reporting);
      await onB.endAsync(true).catch(() => undefined);
    }
  }, 120_000);

  it('while a node the brokers hear does not say which devices it holds (an older version), the leader claims nothing', async () => {
    const [a] = cluster.nodes as [RunningPlatform];
    const api = apiClient(a.urls.http as string, ADMIN);
    // A broker on the same Redis that writes no holders, as a node of the version before would run.
    const backplane = await createRedisBackplane({ url: cluster.redis.url }, { logger: pino({ level: 'silent' }) });
    const old = await startBroker({ heartbeatMs: 1_000 }, { backplane });
    let oldUp = true;
    try {
      const r = await api<{ secret: string }>('POST', '/api/devices', { id: 'sd-never-2', kind: 'smoke_detector', site: 's1', building: 'b2', report_interval_s: 1 });
      expect(r.status).toBe(201);
      const offlineFor = async (id: string) => (await api<{ items: Array<{ originator: { id: string } }> }>('GET', '/api/alerts?site=s1&type=offline&limit=100'))
        .body.items.filter((x) => x.originator.id === id);
      // Limit 3 s, adoption every 0.5 s: ample time to claim it, were claims allowed.
      await new Promise((res) => setTimeout(res, 8_000));
      expect(await offlineFor('sd-never-2')).toEqual([]);
      // The old node goes (dead after 3 missed 1 s heartbeats): the leader claims it now.
      await old.close();
      await backplane.close();
      oldUp = false;
      await vi.waitFor(async () => expect(await offlineFor('sd-never-2')).toHaveLength(1), { timeout: 20_000, interval: 500 });
    } finally {
      if (oldUp) {
        await old.close();
        await backplane.close();
      }
    }
  }, 60_000);
});
