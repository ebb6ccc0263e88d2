import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { assembleBroker, assembleHub, type AssembledBroker, type AssembledHub } from '../../cli/assemble/index.js';
import { loadConfig } from '../../core/config.js';
import type { Reading } from '../../core/index.js';
import { createDeviceDirectory, createEmbeddedDatabase, createServiceAccountDirectory, createSpool, type EmbeddedDatabase, type TelemetryStore } from '../../storage/index.js';
import { refusal } from '../broker/harness.js';

// MQTT 3.1.1 §3.2.2.3.
const SERVER_UNAVAILABLE = 3;
const logger = pino({ level: 'silent' });

/**
 * The composition the CLI, the benchmarks and these tests share (cli/assemble/): an embedded
 * broker and a hub in one process, on real Aedes, DuckDB, spool and Fastify.
 */
describe('assembleBroker and assembleHub', () => {
  let dir: string | undefined;
  let db: EmbeddedDatabase | undefined;
  let broker: AssembledBroker | undefined;
  let hub: AssembledHub | undefined;
  afterEach(async () => {
    await broker?.close();
    await hub?.stop();
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = db = broker = hub = undefined;
  });

  /** A data dir, the embedded database and the directories of one hub, with the smoke detector sd-1 registered. */
  async function openParts() {
    const dataDir = await mkdtemp(join(tmpdir(), 'anju-assemble-'));
    dir = dataDir;
    const config = loadConfig({
      ANJU_DATA_DIR: dataDir, ANJU_HOST: '127.0.0.1', ANJU_MQTT_PORT: '0', ANJU_WS_PORT: '0', ANJU_HTTP_PORT: '0', ANJU_ADMIN_TOKEN: 'assemble-test-admin-token',
    }, 'all');
    const opened = await createEmbeddedDatabase({ dataDir, memoryLimit: config.duckdb.memoryLimit, threads: 1 }, { logger });
    db = opened;
    const directory = createDeviceDirectory({ state: opened.state });
    const serviceAccounts = createServiceAccountDirectory({ store: opened.serviceAccounts });
    await directory.load();
    await serviceAccounts.load();
    const { secret } = await directory.create({ id: 'sd-1', kind: 'smoke_detector', site: 's1', building: 'b1' });
    return { config, db: opened, dataDir, directory, serviceAccounts, secret };
  }

  it('a broker opened before the hub answers CONNACK 3; once the hub is assembled a publish is stored and a platform message delivered', async () => {
    const { config, db: opened, directory, serviceAccounts, secret } = await openParts();
    const metrics = new Registry();
    broker = await assembleBroker(config, { directory, serviceAccounts, logger, metrics });
    const device = { protocolVersion: 4 as const, clientId: 'sd-1', username: 'sd-1', password: secret, reconnectPeriod: 0 };

    // Opened early on purpose: with nothing attached behind it, a device is refused, never acknowledged.
    await broker.open();
    const url = broker.urls().mqtt as string;
    expect(url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    expect(await refusal(mqtt.connectAsync(url, device))).toBe(SERVER_UNAVAILABLE);

    hub = await assembleHub(config, { db: opened, directory, serviceAccounts, broker, logger, metrics });
    expect(hub.urls.http).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = await mqtt.connectAsync(url, device);
    const commands = new Promise<string>((resolve) => client.on('message', (_t, payload) => resolve(payload.toString())));
    await client.subscribeAsync('devices/sd-1/commands/#', { qos: 1 });
    await client.publishAsync('devices/sd-1/telemetry', JSON.stringify({ smoke: 0.01, seq: 1 }), { qos: 1 });
    // The PUBACK came after the spool had it; the forwarder writes it to the store.
    await vi.waitFor(async () => expect((await hub!.telemetry.latest('sd-1'))?.fields.smoke).toBe(0.01), { timeout: 15_000, interval: 100 });
    expect(hub.pipeline.stats().accepted).toBe(1);

    // The platform publishes through the broker's own publish(), not Aedes.
    await broker.publish({ topic: 'devices/sd-1/commands/silence', payload: 'now', qos: 1, retain: false });
    expect(await commands).toBe('now');
    const health = await hub.app.inject({ method: 'GET', url: '/health' });
    expect(health.json().checks.broker.status).toBe('ok');

    await client.endAsync();
    expect(broker.closed).toBe(false);
    await broker.close();
    expect(broker.closed).toBe(true);
    expect((await hub.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(503);
  }, 60_000);

  it('after a restart the latest values hold the readings the last run left in the spool, before the store has them', async () => {
    // Found in review: the cache was primed by a store query while the forwarder replayed the backlog,
    // and readings stored after that query never reached it — a device whose last readings were in the
    // backlog showed older values, or "never reported", until it sent again.
    const { config, db: opened, directory, serviceAccounts, dataDir } = await openParts();
    // What a previous run acknowledged (in the spool) and did not store.
    const at = Date.now() - 60_000;
    const reading = (ts: number, smoke: number): Reading => ({ device: 'sd-1', kind: 'smoke_detector', site: 's1', building: 'b1', ts, fields: { smoke } });
    const spool = await createSpool({ dir: join(dataDir, 'spool'), segmentBytes: 1 << 20, quotaBytes: 64 << 20, groupCommitMs: 0, fsync: false }, { logger, metrics: new Registry() });
    await spool.append([reading(at, 0.01), reading(at + 1_000, 0.02)]);
    await spool.close();
    // The store takes the backlog only when the test lets it (a narrow seam over the real DuckDB store).
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    const real = opened.telemetry;
    const write: TelemetryStore['write'] = async (batch, encoded) => {
      await held;
      return real.write(batch, encoded);
    };
    const telemetry = new Proxy(real, { get: (t, k, r) => (k === 'write' ? write : Reflect.get(t, k, r) as unknown) });
    const metrics = new Registry();
    broker = await assembleBroker(config, { directory, serviceAccounts, logger, metrics });
    hub = await assembleHub(config, { db: opened, directory, serviceAccounts, broker, logger, metrics, telemetry });
    await vi.waitFor(() => expect(hub!.latest.get('sd-1')).toMatchObject({ ts: at + 1_000, fields: { smoke: 0.02 } }));
    expect(await real.latest('sd-1')).toBeUndefined();
    release();
    await hub.path.forwarder.flush();
    expect(await real.latest('sd-1')).toMatchObject({ ts: at + 1_000, fields: { smoke: 0.02 } });
  }, 60_000);

  it('the alerts keep the clock the caller gives the hub: a human action is stamped with it, not the wall clock', async () => {
    const { config, db: opened, directory, serviceAccounts } = await openParts();
    const metrics = new Registry();
    broker = await assembleBroker(config, { directory, serviceAccounts, logger, metrics });
    // 2025-03-03 08:00 at +08:00: years from the wall clock, so a stamp from Date.now cannot pass for it.
    const T = Date.UTC(2025, 2, 3, 0, 0, 0);
    hub = await assembleHub(config, { db: opened, directory, serviceAccounts, broker, logger, metrics, clock: () => T });
    const { engine } = hub.alerts;
    // Five times the smoke threshold raises at once (alerts/rules/smoke.ts `immediateAt`).
    await engine.accept([{ device: 'sd-1', kind: 'smoke_detector', site: 's1', building: 'b1', ts: T - 1_000, fields: { smoke: 2 } }]);
    const raised = await vi.waitFor(() => {
      const a = engine.active().find((x) => x.originator.id === 'sd-1' && x.type === 'smoke');
      expect(a).toBeDefined();
      return a!;
    });
    const acked = await engine.ack(raised.id, 'tester');
    expect(acked.ackTs).toBe(T);
  }, 60_000);
});
