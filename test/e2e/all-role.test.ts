import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, startAnju, waitFor, type AnjuProcess } from '../helpers/anju-process.js';
import { requireBinary, runSync } from '../helpers/servers.js';

const ADMIN = 'e2e-admin-token-0123456789';
const mosquittoPub = requireBinary('mosquitto_pub', 'mosquitto-clients');

type Latest = { device: string; ts: string; seq?: number; fields: Record<string, unknown> };
type Series = { items: Array<{ ts: string; values: Record<string, unknown> }>; total: number };
type Rejects = { items: Array<{ reason: string; device?: string }>; total: number; counts: Record<string, number> };

describe('the all role end to end: device → MQTT → ingest → DuckDB → API', () => {
  let dataDir: string;
  let anju: AnjuProcess;
  let api: ReturnType<typeof apiClient>;
  const secrets: Record<string, string> = {};

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'anju-e2e-'));
    anju = await startAnju('all', { ANJU_DATA_DIR: dataDir, ANJU_SIM: '0', ANJU_ADMIN_TOKEN: ADMIN });
    api = apiClient(anju.http, ADMIN);
    for (const device of [
      { id: 'e2e-sd-1', kind: 'smoke_detector', site: 'e2e', building: 'b1', location: '1F stairwell' },
      { id: 'e2e-pm-1', kind: 'power_meter', site: 'e2e', building: 'b1', purpose: 'common_lighting', rated_current: 16 },
      { id: 'e2e-gone', kind: 'smart_bin', site: 'e2e', building: 'b2', category: 'kitchen' },
    ]) {
      const res = await api<{ secret: string }>('POST', '/api/devices', device);
      expect(res.status).toBe(201);
      secrets[device.id] = res.body.secret;
    }
  }, 90_000);

  afterAll(async () => {
    await anju?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('stores a reading published by a real mqtt.js device and serves it from /latest and /telemetry', async () => {
    const client = await mqtt.connectAsync(anju.mqtt, { protocolVersion: 4, clientId: 'e2e-sd-1', username: 'e2e-sd-1', password: secrets['e2e-sd-1'], reconnectPeriod: 0 });
    const ts = Date.now() - 5_000;
    await client.publishAsync('devices/e2e-sd-1/telemetry', JSON.stringify({ smoke: 0.03, temperature: 23.5, co: 1, alarm: false, battery: 91, seq: 1, ts }), { qos: 1 });
    await client.endAsync();
    const latest = await waitFor('latest', async () => {
      const r = await api<Latest>('GET', '/api/devices/e2e-sd-1/latest');
      return r.status === 200 ? r.body : undefined;
    });
    expect(latest).toMatchObject({ device: 'e2e-sd-1', seq: 1, ts: new Date(ts).toISOString(), fields: { smoke: 0.03, temperature: 23.5, co: 1, alarm: false, battery: 91 } });
    const series = await waitFor('telemetry', async () => {
      const r = await api<Series>('GET', `/api/devices/e2e-sd-1/telemetry?from=${ts - 60_000}&to=${new Date(ts + 60_000).toISOString()}`);
      return r.status === 200 && r.body.items.length > 0 ? r.body : undefined;
    });
    expect(series.items[0]).toMatchObject({ ts: new Date(ts).toISOString(), values: { smoke: 0.03 } });
  });

  it.skipIf(mosquittoPub.skip)(`stores a reading sent by mosquitto_pub (Debian mosquitto-clients) ${mosquittoPub.skip ?? ''}`, async () => {
    const port = String(anju.mqttPort);
    const payload = JSON.stringify({ energy: 1234.5, power: 830, voltage: 221.4, current: 3.75, seq: 1 });
    const r = runSync(mosquittoPub.path!, ['-h', '127.0.0.1', '-p', port, '-V', 'mqttv311', '-q', '1', '-i', 'e2e-pm-1', '-u', 'e2e-pm-1', '-P', secrets['e2e-pm-1']!, '-t', 'devices/e2e-pm-1/telemetry', '-m', payload]);
    expect(r.status, r.stderr).toBe(0);
    const latest = await waitFor('latest', async () => {
      const res = await api<Latest>('GET', '/api/devices/e2e-pm-1/latest');
      return res.status === 200 ? res.body : undefined;
    });
    expect(latest.fields).toEqual({ energy: 1234.5, power: 830, voltage: 221.4, current: 3.75 });
    // A wrong secret is refused by the broker: mosquitto_pub exits non-zero.
    const bad = runSync(mosquittoPub.path!, ['-h', '127.0.0.1', '-p', port, '-V', 'mqttv311', '-q', '1', '-i', 'e2e-pm-1', '-u', 'e2e-pm-1', '-P', 'wrong', '-t', 'devices/e2e-pm-1/telemetry', '-m', payload]);
    expect(bad.status).not.toBe(0);
  });

  it('keeps every good reading and counts every one of 1,000 hostile messages by reason, staying up', async () => {
    // A device deleted while connected: its messages are now from an unknown device.
    const gone = await mqtt.connectAsync(anju.mqtt, { protocolVersion: 4, clientId: 'e2e-gone', username: 'e2e-gone', password: secrets['e2e-gone'], reconnectPeriod: 0 });
    expect((await api('DELETE', '/api/devices/e2e-gone')).status).toBe(204);
    const client = await mqtt.connectAsync(anju.mqtt, { protocolVersion: 4, clientId: 'e2e-sd-1:load', username: 'e2e-sd-1', password: secrets['e2e-sd-1'], reconnectPeriod: 0 });
    const before = (await api<Rejects>('GET', '/api/ingest/rejects?limit=1')).body.counts;

    const now = Date.now();
    const start = now - 3_600_000;
    const hostile: Array<[string, string | Buffer]> = [
      ['malformed_json', '{"smoke": 0.1'],
      ['malformed_json', '{"smoke": NaN}'],
      ['malformed_json', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
      ['schema_violation', '{"smoke": "high"}'],
      ['schema_violation', '{"temperature": 20}'],
      ['schema_violation', '[1,2,3]'],
      ['schema_violation', '{"smoke": 1e400}'],
      ['timestamp_out_of_range', JSON.stringify({ smoke: 0.1, ts: 0 })],
      ['timestamp_out_of_range', JSON.stringify({ smoke: 0.1, ts: now + 366 * 86_400_000 })],
      // Past the range a Date can hold: refused with its reason, not an internal error.
      ['timestamp_out_of_range', JSON.stringify({ smoke: 0.1, ts: Number.MAX_SAFE_INTEGER })],
      ['payload_too_large', JSON.stringify({ smoke: 0.1, pad: 'x'.repeat(70_000) })],
    ];
    const expected: Record<string, number> = {};
    let good = 0;
    const publishes: Array<Promise<unknown>> = [];
    for (let i = 0; i < 1_000; i++) {
      const [reason, payload] = hostile[i % hostile.length]!;
      expected[reason] = (expected[reason] ?? 0) + 1;
      publishes.push(client.publishAsync('devices/e2e-sd-1/telemetry', payload, { qos: 1 }));
      if (i % 5 === 0) {
        good += 1;
        publishes.push(client.publishAsync('devices/e2e-sd-1/telemetry', JSON.stringify({ smoke: 0.01, temperature: 20 + (good % 5), seq: 1000 + good, ts: start + good * 1000 }), { qos: 1 }));
      }
    }
    for (let i = 0; i < 20; i++) publishes.push(gone.publishAsync('devices/e2e-gone/telemetry', JSON.stringify({ fill: 10 }), { qos: 1 }));
    expected.unknown_device = 20;
    await Promise.all(publishes);
    await client.endAsync();
    await gone.endAsync();

    const counts = await waitFor('reject counts', async () => {
      const c = (await api<Rejects>('GET', '/api/ingest/rejects?limit=1')).body.counts;
      const done = Object.entries(expected).every(([reason, n]) => (c[reason] ?? 0) - (before[reason] ?? 0) >= n);
      return done ? c : undefined;
    });
    for (const [reason, n] of Object.entries(expected)) expect((counts[reason] ?? 0) - (before[reason] ?? 0), reason).toBe(n);
    // No hostile value reached the internal-error path.
    expect((counts.internal_error ?? 0) - (before.internal_error ?? 0)).toBe(0);

    const series = await waitFor('all good readings', async () => {
      const r = await api<Series>('GET', `/api/devices/e2e-sd-1/telemetry?from=${start}&to=${start + 1_000 * (good + 1)}&limit=10000`);
      return r.status === 200 && r.body.items.length === good ? r.body : undefined;
    });
    expect(series.items.map((p) => Date.parse(p.ts))).toEqual(Array.from({ length: good }, (_, k) => start + (k + 1) * 1000));

    const rejects = await api<Rejects>('GET', '/api/ingest/rejects?reason=unknown_device&limit=5');
    expect(rejects.body.items[0]).toMatchObject({ reason: 'unknown_device', device: 'e2e-gone' });
    const metrics = await api<string>('GET', '/metrics');
    expect(metrics.body).toMatch(/anju_ingest_rejected_total\{reason="payload_too_large"\} \d+/);
    const health = await fetch(`${anju.http}/health`);
    expect(health.status).toBe(200);
    expect(anju.alive()).toBe(true);
  }, 60_000);

  it('survives a restart: history and latest are still there', async () => {
    const latestBefore = (await api<Latest>('GET', '/api/devices/e2e-sd-1/latest')).body;
    expect(await anju.stop()).toBe(0);
    anju = await startAnju('all', { ANJU_DATA_DIR: dataDir, ANJU_SIM: '0', ANJU_ADMIN_TOKEN: ADMIN });
    api = apiClient(anju.http, ADMIN);
    expect((await api<Latest>('GET', '/api/devices/e2e-sd-1/latest')).body).toEqual(latestBefore);
    const series = await api<Series>('GET', `/api/devices/e2e-sd-1/telemetry?from=${Date.now() - 7_200_000}&limit=10000`);
    expect(series.body.items.length).toBeGreaterThanOrEqual(200);
    // The device's credentials survived too (stored as a hash).
    const client = await mqtt.connectAsync(anju.mqtt, { protocolVersion: 4, clientId: 'e2e-sd-1', username: 'e2e-sd-1', password: secrets['e2e-sd-1'], reconnectPeriod: 0 });
    await client.endAsync();
  }, 90_000);
});
