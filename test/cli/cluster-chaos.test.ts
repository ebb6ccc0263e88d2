import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startPlatform, type RunningPlatform } from '../../cli/platform.js';
import { loadConfig } from '../../core/config.js';
import { apiClient, bundleAnju, startAnju, type AnjuProcess } from '../helpers/anju-process.js';
import { expectExactlyOnce, storedInInflux } from '../helpers/exactly-once.js';
import { influxdAvailability, startInfluxd, type Influxd } from '../helpers/influxd.js';
import { startStormLoad } from '../helpers/load.js';
import { postgresAvailability, startPostgres, type Postgres } from '../helpers/postgres.js';
import { redisAvailability, startRedis, type RedisServer } from '../helpers/redis.js';
import { startTcpBalancer, type TcpBalancer } from '../helpers/tcp-balancer.js';

/**
 * Chaos on a two-node cluster (real Debian redis-server, PostgreSQL 15 and influxd): 300 smoke
 * detectors publish QoS 1 readings through a round-robin TCP balancer (HAProxy `mode tcp` would do the
 * same), so half of them are connected to node A — a separate `anju all` process — and half to node B.
 * A is SIGKILLed under load; its devices reconnect through the balancer to B; A is started again on its
 * data directory and rejoins. Every reading either node acknowledged is in InfluxDB exactly once —
 * those A had acknowledged but not yet written come from its spool when it returns — and a detector's
 * rate of rise that began on A completes on B with A's samples.
 */

const logger = pino({ level: 'silent' });
const skip = postgresAvailability().skip ?? influxdAvailability().skip ?? redisAvailability().skip;
const ADMIN = 'cluster-chaos-admin-token';
const DEVICES = 300;
const hostPort = (url: string) => new URL(url).host;

describe.skipIf(skip)(`cluster chaos: a node killed under load ${skip ?? ''}`, () => {
  let postgres: Postgres;
  let influxd: Influxd;
  let redis: RedisServer;
  let bundle: Awaited<ReturnType<typeof bundleAnju>> | undefined;
  let a: AnjuProcess | undefined;
  let b: RunningPlatform | undefined;
  let balancer: TcpBalancer | undefined;
  const backends: string[] = [];
  const dirs: string[] = [];
  let env: Record<string, string>;
  let dirA = '';

  beforeAll(async () => {
    [postgres, influxd, redis, bundle] = await Promise.all([startPostgres(), startInfluxd({ database: 'anju' }), startRedis(), bundleAnju()]);
    const url = (await postgres.createDatabase()).url;
    env = {
      ANJU_SIM: '0', ANJU_ADMIN_TOKEN: ADMIN, ANJU_DUCKDB_MEMORY: '128MB', ANJU_STORE: 'influxdb', ANJU_INFLUX_URL: influxd.url,
      ANJU_INFLUX_DB: 'anju', ANJU_POSTGRES_URL: url, ANJU_REDIS_URL: redis.url, ANJU_CLUSTER_HEARTBEAT_S: '1',
      // Behind a TCP balancer every device comes from the balancer's address: the per-address connect
      // limit would throttle the whole fleet (README, "Running a cluster").
      ANJU_CONNECT_RATE: '100000',
    };
    dirA = await mkdtemp(join(tmpdir(), 'anju-chaos-a-'));
    const dirB = await mkdtemp(join(tmpdir(), 'anju-chaos-b-'));
    dirs.push(dirA, dirB);
    b = await startPlatform(loadConfig({ ...env, ANJU_DATA_DIR: dirB, ANJU_HOST: '127.0.0.1', ANJU_MQTT_PORT: '0', ANJU_WS_PORT: '0', ANJU_HTTP_PORT: '0' }, 'all'), 'all', { logger });
    a = await startAnju('all', { ...env, ANJU_DATA_DIR: dirA }, 60_000, { entry: bundle.entry });
    backends.push(hostPort(a.mqtt), hostPort(b.urls.mqtt as string));
    balancer = await startTcpBalancer(() => backends);
  }, 180_000);
  afterAll(async () => {
    await balancer?.close();
    a?.child.kill('SIGKILL');
    await b?.stop();
    await Promise.all([postgres?.cleanup(), influxd?.cleanup(), redis?.cleanup(), bundle?.remove()]);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it(`${DEVICES} devices under QoS 1 load, node A SIGKILLed and restarted: every acknowledged reading stored once; a rate of rise begun on A completes on B`, async () => {
    const api = apiClient(b!.urls.http as string, ADMIN);
    const t0 = Date.now();
    const step = (what: string) => process.env.ANJU_TEST_TRACE && console.log(`${Date.now() - t0} ms: ${what}`);
    const devices: Array<{ id: string; secret: string }> = [];
    for (let i = 0; i < DEVICES; i += 25) {
      devices.push(...await Promise.all(Array.from({ length: Math.min(25, DEVICES - i) }, async (_, k) => {
        const id = `sd-chaos-${String(i + k).padStart(3, '0')}`;
        const r = await api<{ secret: string }>('POST', '/api/devices', { id, kind: 'smoke_detector', site: 's1', building: `b${(i + k) % 10}` });
        expect(r.status).toBe(201);
        return { id, secret: r.body.secret };
      })));
    }
    const heat = await api<{ secret: string }>('POST', '/api/devices', { id: 'sd-chaos-heat', kind: 'smoke_detector', site: 's1', building: 'b-heat' });
    expect(heat.status).toBe(201);

      step('provisioned');
    const load = startStormLoad(balancer!.url, devices, { intervalMs: 1_000, reconnectMs: 200 });
    const trace = process.env.ANJU_TEST_TRACE ? setInterval(() => step(`acks ${load.acked().length}, refusals ${JSON.stringify(load.refusals())}, routed ${JSON.stringify([...balancer!.routed])}`), 2_000) : undefined;
    try {
      await load.waitForAcks(3 * DEVICES, 60_000);
      expect(balancer!.routed.get(backends[0]!)).toBeGreaterThan(DEVICES / 4);

      // A detector on A whose temperature rises 12 °C/min, a report every 5 s (device time): 25 s of
      // samples on A — the fit needs 45 s (EN 54-5 class R, heat_rise) — then A dies.
      const base = Date.now() - 120_000;
      const reading = (k: number) => JSON.stringify({ ts: base + k * 5_000, smoke: 0.01, temperature: 20 + k, alarm: false, seq: k + 1 });
      const onA = await mqtt.connectAsync(a!.mqtt, { protocolVersion: 4, clientId: 'sd-chaos-heat', username: 'sd-chaos-heat', password: heat.body.secret, reconnectPeriod: 0 });
      onA.on('error', () => undefined);
      for (let k = 0; k <= 5; k++) await onA.publishAsync('devices/sd-chaos-heat/telemetry', reading(k), { qos: 1 });
      // Its rule state is written within the engine's flush interval (1 s).
      await new Promise((r) => setTimeout(r, 2_500));

      step('heat on A done');
      const acksBefore = load.acked().length;
      const routedToB = balancer!.routed.get(backends[1]!) ?? 0;
      const killedAt = Date.now();
      a!.child.kill('SIGKILL');
      backends.shift();
      onA.stream.destroy();
      // A's devices come back through the balancer to B, and the load goes on.
      await load.waitForAcks(5 * DEVICES, 60_000);
      const recoveredAt = Date.now();

      step('recovered on B');
      const onB = await mqtt.connectAsync(b!.urls.mqtt as string, { protocolVersion: 4, clientId: 'sd-chaos-heat', username: 'sd-chaos-heat', password: heat.body.secret, reconnectPeriod: 0 });
      for (let k = 6; k <= 9; k++) await onB.publishAsync('devices/sd-chaos-heat/telemetry', reading(k), { qos: 1 });
      const rise = await vi.waitFor(async () => {
        const r = await api<{ items: Array<{ type: string; startTime: string; details: { sinceTs?: number } }> }>('GET', '/api/alerts?site=s1&type=heat_rise');
        const found = r.body.items.find((x) => x.type === 'heat_rise');
        if (!found) throw new Error('no heat_rise alarm yet');
        return found;
      }, { timeout: 20_000, interval: 250 });
      // Raised on the 4th report on B (45 s of samples), its fit reaching back into A's reports.
      expect(new Date(rise.startTime).getTime()).toBe(base + 9 * 5_000);
      expect(rise.details.sinceTs).toBe(base);
      await onB.endAsync();

      step('heat alarm on B');
      // A comes back on its data directory: what it acknowledged and had not written comes from its spool.
      a = await startAnju('all', { ...env, ANJU_DATA_DIR: dirA }, 60_000, { entry: bundle!.entry });
      backends.push(hostPort(a.mqtt));
      await load.waitForAcks(2 * DEVICES, 60_000);
      step('A back, acks flowing');
      const acked = await load.stop();

      // The devices that were on A are those whose connection was lost when A died (the client sees
      // the socket close); each one's failover is the time from the kill to its first reading
      // acknowledged again, by B (resent readings included: they are acknowledged late).
      const lostAt = new Map<string, number>();
      for (const x of load.connectionsLost()) if (x.at >= killedAt && x.at < killedAt + 10_000 && !lostAt.has(x.device)) lostAt.set(x.device, x.at);
      const firstAckAfter = new Map<string, number>();
      for (const x of acked) {
        const lost = lostAt.get(x.device);
        if (lost !== undefined && x.ackedAt > lost) firstAckAfter.set(x.device, Math.min(firstAckAfter.get(x.device) ?? Infinity, x.ackedAt));
      }
      const failover = [...firstAckAfter.values()].map((at) => at - killedAt).sort((p, q) => p - q);
      const reconnected = (balancer!.routed.get(backends[0]!) ?? 0) - routedToB;
      const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? 0;
      console.log(`cluster chaos: ${acked.length} acknowledged (${acksBefore} before the kill); ${lostAt.size} of ${DEVICES} devices lost `
        + `their connection to A, ${reconnected} connections moved to B; `
        + `kill → acknowledged again on B: median ${pct(failover, 0.5)} ms, p95 ${pct(failover, 0.95)} ms, max ${failover.at(-1) ?? 0} ms; `
        + `${5 * DEVICES} acks after the kill took ${recoveredAt - killedAt} ms (${(5 * DEVICES) / DEVICES} s at the full rate)`);
      // A share of the fleet was on A (round robin, skewed by connect retries), and every one of them published again on B.
      expect(lostAt.size).toBeGreaterThan(DEVICES / 10);
      expect(reconnected).toBeGreaterThanOrEqual(lostAt.size);
      expect(failover.length).toBe(lostAt.size);

      step('figures');
      await expectExactlyOnce(acked, (device, from, to) => storedInInflux(influxd, 'anju', device, from, to), 120_000, () => a?.output() ?? '');
    } finally {
      if (trace) clearInterval(trace);
      await load.stop();
    }
  }, 300_000);
});
