import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, startAnju, waitFor, type AnjuProcess } from '../helpers/anju-process.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { requireBinary, runSync } from '../helpers/servers.js';

const ADMIN = 'hub-admin-token-0123456789';
const mosquitto = requireBinary('mosquitto', 'mosquitto');
const mosquittoPub = requireBinary('mosquitto_pub', 'mosquitto-clients');
const skip = mosquitto.skip ?? mosquittoPub.skip;

describe.skipIf(skip)(`the hub role consuming from an external broker (Debian mosquitto) ${skip ?? ''}`, () => {
  let broker: Mosquitto;
  let dataDir: string;
  let hub: AnjuProcess;

  beforeAll(async () => {
    broker = await startMosquitto({ 'anju-ingest': 'ingest-secret-1', 'hub-pm-1': 'meter-secret-1' });
    dataDir = await mkdtemp(join(tmpdir(), 'anju-hub-'));
    hub = await startAnju('hub', {
      ANJU_DATA_DIR: dataDir, ANJU_ADMIN_TOKEN: ADMIN, ANJU_MQTT_URL: broker.url,
      ANJU_INGEST_USER: 'anju-ingest', ANJU_INGEST_PASSWORD: 'ingest-secret-1',
    });
  }, 90_000);

  afterAll(async () => {
    await hub?.stop();
    await broker?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('ingests what devices publish to the external broker and serves it through its API', async () => {
    const api = apiClient(hub.http, ADMIN);
    expect((await api('POST', '/api/devices', { id: 'hub-pm-1', kind: 'power_meter', site: 'ext', building: 'b1', purpose: 'water_pump' })).status).toBe(201);
    const r = runSync(mosquittoPub.path!, ['-h', '127.0.0.1', '-p', String(broker.port), '-V', 'mqttv311', '-q', '1', '-u', 'hub-pm-1', '-P', 'meter-secret-1', '-t', 'devices/hub-pm-1/telemetry', '-m', JSON.stringify({ energy: 77.25, power: 1500, seq: 1 })]);
    expect(r.status, r.stderr).toBe(0);
    const latest = await waitFor('latest', async () => {
      const res = await api<{ fields: Record<string, number> }>('GET', '/api/devices/hub-pm-1/latest');
      return res.status === 200 ? res.body : undefined;
    });
    expect(latest.fields).toEqual({ energy: 77.25, power: 1500 });
    // The hub runs no broker of its own: it prints no MQTT listener.
    expect(hub.output()).not.toMatch(/MQTT\s+mqtt:/);
  });
});
