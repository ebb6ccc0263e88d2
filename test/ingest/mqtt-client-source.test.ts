import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Device, Reading } from '../../core/index.js';
import { createMqttClientSource, createPipeline, createRejectLog, defaultPipelineConfig, type IngestSource } from '../../ingest/index.js';
import { waitFor } from '../helpers/anju-process.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { requireBinary, runSync } from '../helpers/servers.js';

const mosquitto = requireBinary('mosquitto', 'mosquitto');
const mosquittoPub = requireBinary('mosquitto_pub', 'mosquitto-clients');
const skip = mosquitto.skip ?? mosquittoPub.skip;

const device: Device = { id: 'ext-sd-1', kind: 'smoke_detector', site: 's1', building: 'b1', name: 'external', createdAt: 0 };

describe.skipIf(skip)(`MQTT-client ingest source against Debian's mosquitto ${skip ?? ''}`, () => {
  let broker: Mosquitto;
  const readings: Reading[] = [];
  const metrics = new Registry();
  const rejects = createRejectLog({ capacity: 100 }, { metrics });
  const pipeline = createPipeline(defaultPipelineConfig, {
    devices: { get: (id) => (id === device.id ? device : undefined) },
    consumers: [{ name: 'collect', accept: (b) => void readings.push(...b) }],
    rejects, logger: pino({ level: 'silent' }), metrics,
  });
  const source = (): IngestSource => createMqttClientSource(
    { url: broker.url, username: 'anju-ingest', password: 'ingest-pass', clientId: 'anju-ingest-test' },
    { logger: pino({ level: 'silent' }) },
  );
  const publish = (payload: string) => {
    const r = runSync(mosquittoPub.path!, ['-h', '127.0.0.1', '-p', String(broker.port), '-V', 'mqttv311', '-q', '1', '-u', 'ext-sd-1', '-P', 'device-pass', '-t', 'devices/ext-sd-1/telemetry', '-m', payload]);
    expect(r.status, r.stderr).toBe(0);
  };

  beforeAll(async () => {
    broker = await startMosquitto({ 'anju-ingest': 'ingest-pass', 'ext-sd-1': 'device-pass' });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('runs the same pipeline on messages from an external broker', async () => {
    const s = source();
    await s.start((m) => pipeline.handle(m));
    publish(JSON.stringify({ smoke: 0.04, seq: 1, ts: Date.now() - 1000 }));
    publish('{broken');
    await waitFor('reading', async () => (readings.length >= 1 && rejects.counts().malformed_json >= 1 ? true : undefined));
    expect(readings[0]).toMatchObject({ device: 'ext-sd-1', seq: 1, fields: { smoke: 0.04 } });
    expect(readings[0]?.ts).toBeLessThan(Date.now());
    const [reject] = rejects.list({ limit: 1, offset: 0 }).items;
    expect(reject?.source).toMatch(/^mqtt:127\.0\.0\.1:/);
    await s.stop();
  });

  it('loses nothing published while ingest was down: the persistent session held it', async () => {
    const before = readings.length;
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < 5; i++) publish(JSON.stringify({ smoke: 0.01, seq: 100 + i, ts: t0 + i }));
    const s = source();
    await s.start((m) => pipeline.handle(m));
    await waitFor('queued readings', async () => (readings.length >= before + 5 ? true : undefined));
    expect(readings.slice(before).map((r) => r.seq)).toEqual([100, 101, 102, 103, 104]);
    await s.stop();
  });

  it('fails to start with a clear message when the service account is refused', async () => {
    const s = createMqttClientSource(
      { url: broker.url, username: 'anju-ingest', password: 'wrong', clientId: 'anju-ingest-bad' },
      { logger: pino({ level: 'silent' }) },
    );
    await expect(s.start(async () => {})).rejects.toThrow(/cannot connect the ingest source/);
  });
});
