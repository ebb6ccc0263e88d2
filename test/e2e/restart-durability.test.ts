import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, bundleAnju, startAnju, waitFor, type AnjuProcess } from '../helpers/anju-process.js';
import { influxdAvailability, startInfluxd, type Influxd } from '../helpers/influxd.js';
import { expectExactlyOnce, storedInInflux } from '../helpers/exactly-once.js';
import { startStormLoad, type StormLoad } from '../helpers/load.js';
import { freePort, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { requireBinary } from '../helpers/servers.js';

const ADMIN = 'restart-admin-token-0123456789';
const RESTARTS = 10;
const DEVICES = 4;
const influx = influxdAvailability();
const mosquitto = requireBinary('mosquitto', 'mosquitto');

/** One esbuild bundle of cli/main.ts for the whole file: 46 start-ups at about half the cost of tsx each. */
let bundle: Awaited<ReturnType<typeof bundleAnju>> | undefined;
beforeAll(async () => {
  bundle = await bundleAnju();
}, 60_000);
afterAll(async () => {
  await bundle?.remove();
});

/**
 * The promise, end to end with real processes: a QoS 1 PUBACK means the reading is stored, exactly
 * once — while Anju is killed (SIGKILL) or stopped (SIGTERM) under load and restarted on the same
 * data dir, 10 times in a row, with devices reconnecting every 10 ms so that they hit every moment
 * of start-up and shutdown. Run on the embedded DuckDB store and on InfluxDB (Debian's influxd).
 *
 * Time limits come from what is measured: each wait is a multiple of the first start-up time of
 * this run (a loaded machine starts slowly and gets proportionally longer), never a fixed guess.
 */
for (const store of ['embedded', 'influxdb'] as const) {
  const skip = store === 'influxdb' ? influx.skip : undefined;

  describe.skipIf(skip)(`acknowledged = stored, exactly once, across restarts (${store}) ${skip ?? ''}`, () => {
    let db: Influxd | undefined;
    let dataDir: string;
    let mqttPort: number;
    let anju: AnjuProcess;
    /** The first start-up of this run, in ms: the unit of every time limit below. */
    let startupMs = 0;
    const devices: Array<{ id: string; secret: string }> = [];
    const dbName = 'anju_restarts';

    const env = (): Record<string, string> => ({
      ANJU_DATA_DIR: dataDir, ANJU_SIM: '0', ANJU_ADMIN_TOKEN: ADMIN, ANJU_MQTT_PORT: String(mqttPort),
      // Devices reconnecting every 10 ms from one address: no connect-rate limit in the way.
      ANJU_CONNECT_RATE: '1000000',
      ...(store === 'influxdb' && db ? { ANJU_STORE: 'influxdb', ANJU_INFLUX_URL: db.url, ANJU_INFLUX_DB: dbName } : {}),
    });
    const start = () => startAnju('all', env(), Math.max(45_000, 10 * startupMs), { entry: bundle?.entry });

    beforeAll(async () => {
      if (store === 'influxdb') db = await startInfluxd({ database: dbName });
      dataDir = await mkdtemp(join(tmpdir(), `anju-restarts-${store}-`));
      mqttPort = await freePort();
      const t0 = Date.now();
      anju = await start();
      startupMs = Date.now() - t0;
      const api = apiClient(anju.http, ADMIN);
      for (let i = 0; i < DEVICES; i++) {
        const id = `rs-sd-${i}`;
        const res = await api<{ secret: string }>('POST', '/api/devices', { id, kind: 'smoke_detector', site: 'rs', building: `b${i % 2}` });
        expect(res.status).toBe(201);
        devices.push({ id, secret: res.body.secret });
      }
    }, 180_000);

    afterAll(async () => {
      await anju?.stop();
      await db?.cleanup();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    const stored = (device: string, from: number, to: number) =>
      db ? storedInInflux(db, dbName, device, from, to) : storedThroughApi(anju, device, from, to);

    for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
      it(`${signal} under QoS 1 load, restarted ${RESTARTS} times on the same data dir while devices reconnect every 10 ms`, async () => {
        const load = startStormLoad(`mqtt://127.0.0.1:${mqttPort}`, devices, { intervalMs: 20, reconnectMs: 10 });
        try {
          await restartUnderLoad(RESTARTS, signal, load, { limitMs: Math.max(30_000, 10 * startupMs), current: () => anju,
            restart: async () => { anju = await start(); } });
        } finally {
          await load.stop();
        }
        expect(load.refusals()).not.toHaveProperty('6'); // keep-alive is never refused with the reserved code
        await expectExactlyOnce(load.acked(), stored, Math.max(60_000, 20 * startupMs), () => anju.output());
      }, 600_000);
    }
  });
}

/**
 * The hub role on an external broker (Debian's mosquitto): devices publish to mosquitto, which
 * acknowledges them and queues them for the hub's persistent session; the hub acknowledges each
 * to mosquitto only once it is in the spool. Killed or stopped and restarted under load, the hub
 * still stores every message mosquitto acknowledged, exactly once.
 */
describe.skipIf(mosquitto.skip)(`hub on an external broker: every message the broker acknowledged is stored once, across hub restarts ${mosquitto.skip ?? ''}`, () => {
  const HUB_RESTARTS = 3;
  let broker: Mosquitto;
  let dataDir: string;
  let hub: AnjuProcess;
  let startupMs = 0;
  const devices = Array.from({ length: DEVICES }, (_, i) => ({ id: `hs-sd-${i}`, secret: 'device-secret', username: 'devices' }));
  const env = () => ({
    ANJU_DATA_DIR: dataDir, ANJU_ADMIN_TOKEN: ADMIN, ANJU_MQTT_URL: broker.url,
    ANJU_INGEST_USER: 'anju-ingest', ANJU_INGEST_PASSWORD: 'ingest-secret',
  });
  const start = () => startAnju('hub', env(), Math.max(45_000, 10 * startupMs), { entry: bundle?.entry });

  beforeAll(async () => {
    broker = await startMosquitto({ 'anju-ingest': 'ingest-secret', devices: 'device-secret' });
    dataDir = await mkdtemp(join(tmpdir(), 'anju-restarts-hub-'));
    const t0 = Date.now();
    hub = await start();
    startupMs = Date.now() - t0;
    const api = apiClient(hub.http, ADMIN);
    for (const d of devices) expect((await api('POST', '/api/devices', { id: d.id, kind: 'smoke_detector', site: 'hs', building: 'b1' })).status).toBe(201);
  }, 180_000);

  afterAll(async () => {
    await hub?.stop();
    await broker?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    it(`${signal}: the hub restarted ${HUB_RESTARTS} times while devices keep publishing to mosquitto`, async () => {
      // 40 msg/s in all, well below what one hub ingests (it takes one message at a time, each
      // after its fsync'd spool append): a backlog that outgrew mosquitto's queue for the hub's
      // session (max_queued_messages, test/helpers/mosquitto.ts) would be dropped by mosquitto.
      const load = startStormLoad(broker.url, devices, { intervalMs: 100, reconnectMs: 10 });
      try {
        // mosquitto acknowledges whether or not the hub is up: each hub must also have taken messages itself.
        const limitMs = Math.max(30_000, 10 * startupMs);
        const hubTook = () => waitFor('the hub ingesting', async () => ((await ingested(hub)) >= 10 ? true : undefined), limitMs);
        await restartUnderLoad(HUB_RESTARTS, signal, load, { limitMs, current: () => hub, restart: async () => { hub = await start(); }, flowing: hubTook });
      } finally {
        await load.stop();
      }
      await expectExactlyOnce(load.acked(), (device, from, to) => storedThroughApi(hub, device, from, to), Math.max(60_000, 20 * startupMs), () => `${hub.output()}\nmosquitto:\n${broker.log()}`);
    }, 600_000);
  }
});

/** Waits for PUBACKs on the current instance, stops it with `signal`, starts the next; `times` times. */
async function restartUnderLoad(
  times: number,
  signal: 'SIGKILL' | 'SIGTERM',
  load: StormLoad,
  o: { limitMs: number; current: () => AnjuProcess; restart: () => Promise<void>; flowing?: () => Promise<unknown> },
): Promise<void> {
  for (let i = 0; i < times; i++) {
    // The load is flowing on this instance before each stop; how far into it varies.
    await load.waitForAcks(10 + 5 * (i % 4), o.limitMs);
    await o.flowing?.();
    const proc = o.current();
    if (signal === 'SIGKILL') {
      proc.child.kill('SIGKILL');
      await proc.stop();
    } else {
      expect(await proc.stop()).toBe(0);
    }
    await o.restart();
  }
  // And on the last instance.
  await load.waitForAcks(20, o.limitMs);
  expect(load.acked().length).toBeGreaterThan(times * 10);
}

/** Messages this instance's ingest received so far (from /health). */
async function ingested(proc: AnjuProcess): Promise<number> {
  const res = await fetch(`${proc.http}/health`);
  const body = await res.json() as { checks: Record<string, { detail?: string }> };
  return Number(/(\d+) received/.exec(body.checks.ingest?.detail ?? '')?.[1] ?? 0);
}

/** The same through Anju's API (the embedded store is locked by the running process). */
async function storedThroughApi(proc: AnjuProcess, device: string, from: number, to: number): Promise<number[]> {
  const q = new URLSearchParams({ from: String(from), to: String(to + 1), limit: '10000' });
  const res = await apiClient(proc.http, ADMIN)<{ items: Array<{ ts: string }>; truncated: boolean }>('GET', `/api/devices/${device}/telemetry?${q}`);
  if (res.status !== 200) throw new Error(`telemetry answered ${res.status}: ${JSON.stringify(res.body)}`);
  expect(res.body.truncated).toBe(false);
  return res.body.items.map((i) => Date.parse(i.ts));
}
