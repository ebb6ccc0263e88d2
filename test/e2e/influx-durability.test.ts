import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, startAnju, waitFor, type AnjuProcess } from '../helpers/anju-process.js';
import { influxdAvailability, startInfluxd, type Influxd } from '../helpers/influxd.js';
import { expectExactlyOnce, storedInInflux } from '../helpers/exactly-once.js';
import { startLoad, type AckedReading } from '../helpers/load.js';

const ADMIN = 'influx-admin-token-0123456789';
const DB = 'anju_e2e';
const { skip } = influxdAvailability();

/**
 * The durability promise (DESIGN §3: an acknowledged publish is never dropped), end to end with real
 * processes: once a device has its PUBACK, the reading reaches InfluxDB exactly once — through an
 * InfluxDB outage and through a SIGKILL of Anju.
 */
describe.skipIf(skip)(`Anju on InfluxDB (Debian influxd 1.6.7) ${skip ?? ''}`, () => {
  let influx: Influxd;
  let dataDir: string;
  let anju: AnjuProcess;
  const devices: Array<{ id: string; secret: string }> = [];
  const env = () => ({
    ANJU_DATA_DIR: dataDir, ANJU_SIM: '0', ANJU_ADMIN_TOKEN: ADMIN,
    ANJU_STORE: 'influxdb', ANJU_INFLUX_URL: influx.url, ANJU_INFLUX_DB: DB,
  });

  /** Every acked reading is in InfluxDB, once. */
  const expectStoredOnce = (acked: readonly AckedReading[], timeoutMs = 90_000) =>
    expectExactlyOnce(acked, (device, from, to) => storedInInflux(influx, DB, device, from, to), timeoutMs, () => anju.output());

  beforeAll(async () => {
    influx = await startInfluxd({ database: DB });
    dataDir = await mkdtemp(join(tmpdir(), 'anju-influx-e2e-'));
    anju = await startAnju('all', env());
    const api = apiClient(anju.http, ADMIN);
    for (let i = 0; i < 4; i++) {
      const res = await api<{ secret: string }>('POST', '/api/devices', { id: `ix-sd-${i}`, kind: 'smoke_detector', site: 'ix', building: `b${i % 2}` });
      expect(res.status).toBe(201);
      devices.push({ id: `ix-sd-${i}`, secret: res.body.secret });
    }
    const bin = await api<{ secret: string }>('POST', '/api/devices', { id: 'ix-bin-1', kind: 'smart_bin', site: 'ix', building: 'b1', category: 'hazardous' });
    devices.push({ id: 'ix-bin-1', secret: bin.body.secret });
  }, 120_000);

  afterAll(async () => {
    await anju?.stop();
    await influx?.cleanup();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('writes the documented schema (checked with raw InfluxQL, not through Anju)', async () => {
    const { id, secret } = devices.find((d) => d.id === 'ix-bin-1')!;
    const client = await mqtt.connectAsync(anju.mqtt, { protocolVersion: 4, clientId: id, username: id, password: secret, reconnectPeriod: 0 });
    const ts = Date.now() - 2_000;
    await client.publishAsync(`devices/${id}/telemetry`, JSON.stringify({ fill: 42, temperature: 19, tilt: false, seq: 1, ts }), { qos: 1 });
    await client.endAsync();
    const row = await waitFor('bin point', async () => {
      const r = await influx.query(`SELECT * FROM "smart_bin" WHERE "device" = '${id}'`, DB);
      const s = r.results[0]?.series?.[0];
      return s ? Object.fromEntries(s.columns.map((c: string, i: number) => [c, (s.values[0] as unknown[])[i]])) : undefined;
    });
    expect(row).toMatchObject({ site: 'ix', building: 'b1', device: id, category: 'hazardous', fill: 42, temperature: 19, tilt: false });
    const tags = await influx.query('SHOW TAG KEYS FROM "smart_bin"', DB);
    expect((tags.results[0]?.series?.[0]?.values ?? []).flat()).toEqual(['building', 'category', 'device', 'site']);
    const fields = await influx.query('SHOW FIELD KEYS FROM "smart_bin"', DB);
    expect(Object.fromEntries((fields.results[0]?.series?.[0]?.values ?? []) as Array<[string, string]>)).toMatchObject({ fill: 'float', temperature: 'float', tilt: 'boolean' });
  });

  it('loses nothing acknowledged while InfluxDB is down for 30 s', async () => {
    const smoke = devices.filter((d) => d.id.startsWith('ix-sd-'));
    const load = await startLoad(anju.mqtt, smoke, 100);
    await waitFor('readings acknowledged before the outage', () => load.acked().length >= 100);
    await influx.stop();
    const outageStarted = Date.now();
    const ackedBeforeOutage = load.acked().length;
    // Acknowledged during the outage: they are in the spool, not yet in the store.
    await waitFor('100 more readings acknowledged with InfluxDB down', () => load.acked().length > ackedBeforeOutage + 100, 60_000);
    const storeHealth = async () =>
      ((await (await fetch(`${anju.http}/health`)).json()) as { checks: Record<string, { status: string; detail?: string }> }).checks.store?.status;
    await waitFor('the store reported degraded', async () => (await storeHealth()) === 'degraded', 60_000);
    // The scenario is an outage of 30 s (longer than any single retry backoff): keep InfluxDB down for the rest of it.
    await new Promise((r) => setTimeout(r, Math.max(0, outageStarted + 30_000 - Date.now())));
    await influx.start();
    const ackedAtRecovery = load.acked().length;
    await waitFor('readings acknowledged after InfluxDB is back', () => load.acked().length > ackedAtRecovery + 50, 60_000);
    const acked = await load.stop();
    await expectStoredOnce(acked);
  }, 180_000);

  it('loses nothing acknowledged when Anju is killed (SIGKILL) mid-load and restarted on the same data dir', async () => {
    const smoke = devices.filter((d) => d.id.startsWith('ix-sd-'));
    const load = await startLoad(anju.mqtt, smoke, 50);
    await waitFor('readings acknowledged before the kill', () => load.acked().length > 100, 60_000);
    anju.child.kill('SIGKILL');
    await anju.stop();
    const acked = await load.stop();
    expect(acked.length).toBeGreaterThan(100);
    anju = await startAnju('all', env());
    await expectStoredOnce(acked);
  }, 180_000);

  it('refuses QoS 1 publishes (no PUBACK) while the spool is full, and takes them again once it drains', async () => {
    // A second Anju with a 2 MiB spool, so the quota is reached in seconds while InfluxDB is down.
    const smallDir = await mkdtemp(join(tmpdir(), 'anju-influx-quota-'));
    const small = await startAnju('all', { ...env(), ANJU_DATA_DIR: smallDir, ANJU_SPOOL_QUOTA_MB: '2' });
    try {
      const api = apiClient(small.http, ADMIN);
      const res = await api<{ secret: string }>('POST', '/api/devices', { id: 'ix-quota', kind: 'smoke_detector', site: 'ix', building: 'b9' });
      const secret = res.body.secret;
      await influx.stop();
      const client = await mqtt.connectAsync(small.mqtt, { protocolVersion: 4, clientId: 'ix-quota', username: 'ix-quota', password: secret, reconnectPeriod: 0 });
      const closed = new Promise<void>((r) => client.once('close', () => r()));
      const acked: AckedReading[] = [];
      const t0 = Date.now() - 600_000;
      let refusedAt = -1;
      for (let i = 0; i < 40_000 && refusedAt < 0; i += 200) {
        const batch = Array.from({ length: 200 }, (_, k) => i + k).map((n) =>
          client.publishAsync('devices/ix-quota/telemetry', JSON.stringify({ smoke: 0.01, seq: n, ts: t0 + n }), { qos: 1 })
            .then(() => { acked.push({ device: 'ix-quota', ts: t0 + n, ackedAt: Date.now() }); }, () => { if (refusedAt < 0) refusedAt = n; }));
        await Promise.race([Promise.all(batch), closed]);
        if (!client.connected) refusedAt = Math.max(refusedAt, i);
      }
      await closed;
      expect(refusedAt).toBeGreaterThan(0);
      const health = await (await fetch(`${small.http}/health`)).json() as { status: string; checks: Record<string, { status: string; detail?: string }> };
      expect(health.checks.spool).toMatchObject({ status: 'degraded' });
      expect(health.checks.spool?.detail).toMatch(/FULL/);
      const metrics = await api<string>('GET', '/metrics');
      expect(metrics.body).toMatch(/anju_broker_publishes_refused_total\{reason="ingest_refused"\} [1-9]/);
      client.end(true);

      await influx.start();
      await waitFor('spool drained', async () => {
        const h = await (await fetch(`${small.http}/health`)).json() as { checks: Record<string, { status: string }> };
        return h.checks.spool?.status === 'ok' ? true : undefined;
      }, 90_000);
      const again = await mqtt.connectAsync(small.mqtt, { protocolVersion: 4, clientId: 'ix-quota', username: 'ix-quota', password: secret, reconnectPeriod: 0 });
      await again.publishAsync('devices/ix-quota/telemetry', JSON.stringify({ smoke: 0.02, seq: 999_999, ts: Date.now() - 1000 }), { qos: 1 });
      await again.endAsync();
      await expectStoredOnce(acked);
    } finally {
      await small.stop();
      await rm(smallDir, { recursive: true, force: true });
    }
  }, 240_000);
});
