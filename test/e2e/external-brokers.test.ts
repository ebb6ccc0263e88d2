import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, startAnju, waitFor, type AnjuProcess } from '../helpers/anju-process.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { requireBinary, runSync } from '../helpers/servers.js';

/**
 * `anju hub` against Debian's mosquitto as the company's existing broker: Zigbee2MQTT and Tasmota
 * topics mapped to devices and codecs, a persistent session that survives SIGKILL, and two hubs
 * splitting one stream through a shared subscription.
 */
const ADMIN = 'external-admin-token-0123456789';
const TOPICS = 'zigbee2mqtt/{id}=zigbee2mqtt,tele/{id}/SENSOR=tasmota';
const mosquitto = requireBinary('mosquitto', 'mosquitto');
const mosquittoPub = requireBinary('mosquitto_pub', 'mosquitto-clients');
const skip = mosquitto.skip ?? mosquittoPub.skip;

type Telemetry = { items: Array<{ ts: string; values: Record<string, number> }> };

describe.skipIf(skip)(`anju hub on an external broker (Debian mosquitto) ${skip ?? ''}`, () => {
  let broker: Mosquitto;
  const dirs: string[] = [];
  const hubs: AnjuProcess[] = [];
  // Whole seconds, ten minutes ago: every message of a stream gets its own instant inside the accepted window.
  const base = Math.floor(Date.now() / 1_000) * 1_000 - 600_000;

  const startHub = async (dataDir: string, clientId: string, extra: Record<string, string> = {}) => {
    const hub = await startAnju('hub', {
      ANJU_DATA_DIR: dataDir, ANJU_ADMIN_TOKEN: ADMIN, ANJU_MQTT_URL: broker.url, ANJU_INGEST_USER: 'anju-ingest',
      ANJU_INGEST_PASSWORD: 'ingest-secret', ANJU_INGEST_CLIENT_ID: clientId, ANJU_MQTT_TOPICS: TOPICS, ...extra,
    });
    hubs.push(hub);
    return hub;
  };
  const dataDir = async () => {
    const d = await mkdtemp(join(tmpdir(), 'anju-external-'));
    dirs.push(d);
    return d;
  };
  const register = async (hub: AnjuProcess, id: string, kind: string) => {
    const r = await apiClient(hub.http, ADMIN)('POST', '/api/devices', { id, kind, site: 'ext', building: 'b1' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  };
  const mosquittoPublish = (topic: string, payload: unknown) => {
    const r = runSync(mosquittoPub.path!, ['-h', '127.0.0.1', '-p', String(broker.port), '-V', 'mqttv311', '-q', '1', '-u', 'bridge', '-P', 'bridge-secret', '-t', topic, '-m', JSON.stringify(payload)]);
    expect(r.status, r.stderr).toBe(0);
  };
  const stored = async (hub: AnjuProcess, device: string, field: string): Promise<number[]> => {
    const r = await apiClient(hub.http, ADMIN)<Telemetry>('GET', `/api/devices/${device}/telemetry?from=${base}&to=${base + 3_600_000}&limit=5000`);
    expect(r.status).toBe(200);
    return r.body.items.map((i) => i.values[field] as number);
  };
  /** A Tasmota SENSOR message numbered `seq`: Total grows with it; Time carries an offset (SetOption52). */
  const tasmota = (seq: number) => ({
    Time: new Date(base + seq * 1_000).toISOString().replace(/\.\d{3}Z$/, '+00:00'),
    ENERGY: { TotalStartTime: '2025-01-01T00:00:00', Total: 1_000 + seq, Yesterday: 1.2, Today: 0.4, Period: 0, Power: seq, Voltage: 230, Current: 0.5 },
  });

  beforeAll(async () => {
    broker = await startMosquitto({ 'anju-ingest': 'ingest-secret', bridge: 'bridge-secret' });
  });
  afterAll(async () => {
    for (const hub of hubs) await hub.stop();
    await broker?.stop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('ingests Zigbee2MQTT and Tasmota topics published with mosquitto_pub, and dead-letters what cannot be read', async () => {
    const hub = await startHub(await dataDir(), 'anju-hub-formats');
    await register(hub, 'tasmota_A1B2C3', 'power_meter');
    await register(hub, 'aqara-smoke', 'smoke_detector');
    await register(hub, 'heiman-smoke', 'smoke_detector');
    await register(hub, 'leak-sensor', 'water_meter');
    const api = apiClient(hub.http, ADMIN);

    mosquittoPublish('tele/tasmota_A1B2C3/SENSOR', { Time: '2025-11-25T10:00:00', ENERGY: { TotalStartTime: '2025-01-01T00:00:00', Total: 123.456, Yesterday: 1.2, Today: 0.5, Period: 1, Power: 830, ApparentPower: 850, ReactivePower: 180, Factor: 0.98, Voltage: 221, Current: 3.75 } });
    mosquittoPublish('zigbee2mqtt/aqara-smoke', { battery: 97, linkquality: 120, smoke: true, smoke_density: 5, smoke_density_dbm: 0.1, test: false });
    mosquittoPublish('zigbee2mqtt/heiman-smoke', { battery: 91, battery_low: false, linkquality: 87, smoke: true, tamper: false });
    // A Z2M leak sensor has no volume register: it cannot be a water meter, and says so.
    mosquittoPublish('zigbee2mqtt/leak-sensor', { battery: 88, linkquality: 90, water_leak: true });

    const latest = async (id: string) => waitFor(`latest of ${id}`, async () => {
      const r = await api<{ fields: Record<string, unknown> }>('GET', `/api/devices/${id}/latest`);
      return r.status === 200 ? r.body.fields : undefined;
    });
    expect(await latest('tasmota_A1B2C3')).toEqual({ energy: 123.456, power: 830, voltage: 221, current: 3.75 });
    expect(await latest('aqara-smoke')).toEqual({ smoke: 0.1, alarm: true, test: false, battery: 97 });
    // An alarm-only smoke sensor (no obscuration value) is taken as what it is: the alarm state.
    expect(await latest('heiman-smoke')).toEqual({ alarm: true, battery: 91 });
    const rejects = await waitFor('the leak sensor refusal', async () => {
      const r = await api<{ items: Array<{ reason: string; device?: string; detail: string }> }>('GET', '/api/ingest/rejects?device=leak-sensor');
      return r.body.items?.[0];
    });
    expect(rejects).toMatchObject({ reason: 'schema_violation', device: 'leak-sensor' });
    expect(rejects.detail).toMatch(/volume/);
  }, 120_000);

  it('loses nothing when the hub is SIGKILLed mid-stream and restarted with the same client id', async () => {
    const dir = await dataDir();
    let hub = await startHub(dir, 'anju-hub-durable');
    await register(hub, 'tasmota_stream', 'power_meter');
    const publisher = await mqtt.connectAsync(broker.url, { username: 'bridge', password: 'bridge-secret', clientId: 'tasmota-stream', protocolVersion: 4 });
    const N = 300;
    const publish = (seq: number) => publisher.publishAsync('tele/tasmota_stream/SENSOR', JSON.stringify(tasmota(seq)), { qos: 1 });
    try {
      // Mid-stream: the first 200 go out back to back and the hub dies once the broker has taken 50 of
      // them, so some are stored, some in flight to the hub (delivered, not acknowledged) and the
      // rest queued by mosquitto for the persistent session.
      const victim = hub;
      const first = Array.from({ length: 200 }, (_, i) => publish(i + 1));
      await first[49];
      victim.child.kill('SIGKILL');
      await Promise.all([...first, new Promise((r) => (victim.alive() ? victim.child.once('exit', r) : r(undefined)))]);
      hub = await startHub(dir, 'anju-hub-durable');
      for (let seq = 201; seq <= N; seq++) await publish(seq);
    } finally {
      await publisher.endAsync();
    }
    const h = hub;
    const energies = await waitFor('every seq stored', async () => {
      const e = await stored(h, 'tasmota_stream', 'energy');
      return e.length >= N ? e : undefined;
    }, 60_000);
    expect(energies.sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => 1_001 + i));
  }, 180_000);

  it('two hubs on a shared subscription store every message exactly once between them', async () => {
    const share = { ANJU_MQTT_SHARE_GROUP: 'anju' };
    const [a, b] = await Promise.all([startHub(await dataDir(), 'anju-hub-a', share), startHub(await dataDir(), 'anju-hub-b', share)]);
    for (const hub of [a!, b!]) await register(hub, 'z2m-plug', 'power_meter');
    const publisher = await mqtt.connectAsync(broker.url, { username: 'bridge', password: 'bridge-secret', clientId: 'z2m-bridge', protocolVersion: 4 });
    const N = 200;
    try {
      for (let seq = 1; seq <= N; seq++) {
        // Z2M metering plug state; last_seen (epoch) gives each message its own instant.
        const state = { energy: seq, power: 60, voltage: 230, current: 0.26, state: 'ON', linkquality: 150, last_seen: base + seq * 1_000 };
        await publisher.publishAsync('zigbee2mqtt/z2m-plug', JSON.stringify(state), { qos: 1 });
      }
    } finally {
      await publisher.endAsync();
    }
    const [inA, inB] = await waitFor('the union of both stores to hold every message', async () => {
      const both = [await stored(a!, 'z2m-plug', 'energy'), await stored(b!, 'z2m-plug', 'energy')] as const;
      return both[0].length + both[1].length >= N ? both : undefined;
    }, 60_000);
    // The broker split the stream (Mosquitto honours $share from MQTT 3.1.1 clients) …
    expect(inA.length).toBeGreaterThan(0);
    expect(inB.length).toBeGreaterThan(0);
    // … and no message reached both hubs, none was lost.
    expect(inA.filter((e) => inB.includes(e))).toEqual([]);
    expect([...inA, ...inB].sort((x, y) => x - y)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
  }, 180_000);
});
