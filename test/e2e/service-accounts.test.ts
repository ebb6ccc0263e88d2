import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, startAnju, waitFor, type AnjuProcess } from '../helpers/anju-process.js';
import { requireBinary, runSync } from '../helpers/servers.js';

const ADMIN = 'accounts-admin-token-0123456789';
const mosquittoPub = requireBinary('mosquitto_pub', 'mosquitto-clients');

type Account = { id: string; secret: string };

/**
 * Service accounts through the whole platform (`anju all` as a real process): made, rotated and
 * deleted through the API, used over MQTT by real clients, their deny filters applied by the
 * broker, and their live connections closed when their credentials change.
 */
describe('service accounts, end to end', () => {
  let dataDir: string;
  let anju: AnjuProcess;
  let api: ReturnType<typeof apiClient>;
  let deviceSecret = '';

  const connect = (username: string, password: string, clientId = username) =>
    mqtt.connectAsync(anju.mqtt, { protocolVersion: 4, clientId, username, password, reconnectPeriod: 0, connectTimeout: 5_000 });
  const refusedWith = async (p: Promise<unknown>) => p.then(() => 'accepted', (err: { code?: number }) => err.code);

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'anju-accounts-'));
    anju = await startAnju('all', { ANJU_DATA_DIR: dataDir, ANJU_SIM: '0', ANJU_ADMIN_TOKEN: ADMIN, ANJU_INGEST_PASSWORD: 'ingest-from-env-1' });
    api = apiClient(anju.http, ADMIN);
    const d = await api<{ secret: string }>('POST', '/api/devices', { id: 'sa-sd-1', kind: 'smoke_detector', site: 'sa', building: 'b1' });
    deviceSecret = d.body.secret;
  }, 90_000);

  afterAll(async () => {
    await anju?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('lists the ingest account from the environment and lets it in with the environment password', async () => {
    const list = await api<{ items: Array<{ id: string; origin: string; subscribe: string[] }> }>('GET', '/api/service-accounts');
    expect(list.body.items).toEqual([expect.objectContaining({ id: 'anju-ingest', origin: 'env', subscribe: expect.arrayContaining(['devices/+/telemetry']) })]);
    const ingest = await connect('anju-ingest', 'ingest-from-env-1', 'anju-ingest:e2e');
    await ingest.endAsync();
  });

  it('a new account subscribes and publishes within its filters; its deny filter refuses a command (connection closed)', async () => {
    const res = await api<Account>('POST', '/api/service-accounts', {
      id: 'bms-1', publish: ['devices/+/commands/#'], subscribe: ['devices/#'], deny: ['devices/+/commands/reboot', 'devices/sa-sd-2/#'],
    });
    expect(res.status).toBe(201);
    const bms = await connect('bms-1', res.body.secret, 'bms-1:main');
    const got: string[] = [];
    bms.on('message', (topic) => got.push(topic));
    await bms.subscribeAsync('devices/+/telemetry', { qos: 1 });
    const device = await connect('sa-sd-1', deviceSecret);
    await device.publishAsync('devices/sa-sd-1/telemetry', JSON.stringify({ smoke: 0.01, seq: 1 }), { qos: 1 });
    await waitFor('telemetry at the BMS', async () => (got.includes('devices/sa-sd-1/telemetry') ? true : undefined));
    await bms.publishAsync('devices/sa-sd-1/commands/silence', '{}', { qos: 1 });
    const closed = new Promise<void>((r) => bms.once('close', () => r()));
    bms.publish('devices/sa-sd-1/commands/reboot', '{}', { qos: 1 });
    await closed;
    await device.endAsync();
  });

  it('rotating the secret closes the live connection and refuses the old secret (code 4)', async () => {
    const made = await api<Account>('POST', '/api/service-accounts', { id: 'panel-1', subscribe: ['anju/alerts/#'] });
    const live = await connect('panel-1', made.body.secret);
    const closed = new Promise<void>((r) => live.once('close', () => r()));
    const rotated = await api<Account>('POST', '/api/service-accounts/panel-1/secret');
    expect(rotated.status).toBe(200);
    await closed;
    expect(await refusedWith(connect('panel-1', made.body.secret))).toBe(4);
    const again = await connect('panel-1', rotated.body.secret);

    // Deleting closes it too, and the account is gone for good.
    const gone = new Promise<void>((r) => again.once('close', () => r()));
    expect((await api('DELETE', '/api/service-accounts/panel-1')).status).toBe(204);
    await gone;
    expect(await refusedWith(connect('panel-1', rotated.body.secret))).toBe(4);
  });

  it.skipIf(mosquittoPub.skip)(`works for a third-party client: mosquitto_pub with the account's credentials ${mosquittoPub.skip ?? ''}`, async () => {
    const made = await api<Account>('POST', '/api/service-accounts', { id: 'gw-1', publish: ['devices/+/commands/#'] });
    const base = ['-h', '127.0.0.1', '-p', String(anju.mqttPort), '-V', 'mqttv311', '-q', '1', '-u', 'gw-1', '-P', made.body.secret, '-i', 'gw-1:cli'];
    const ok = runSync(mosquittoPub.path as string, [...base, '-t', 'devices/sa-sd-1/commands/silence', '-m', '{}']);
    expect(ok.status, ok.stderr).toBe(0);
    // A client id in another principal's namespace (the former `<id>-x` style) is refused.
    const dashed = runSync(mosquittoPub.path as string, [...base.slice(0, -2), '-i', 'gw-1-cli', '-t', 'devices/sa-sd-1/commands/silence', '-m', '{}']);
    expect(dashed.status).not.toBe(0);
  });

  it('keeps accounts across a restart, and the environment account follows the environment', async () => {
    expect(await anju.stop()).toBe(0);
    anju = await startAnju('all', { ANJU_DATA_DIR: dataDir, ANJU_SIM: '0', ANJU_ADMIN_TOKEN: ADMIN, ANJU_INGEST_PASSWORD: 'ingest-from-env-2' });
    api = apiClient(anju.http, ADMIN);
    const ids = (await api<{ items: Array<{ id: string }> }>('GET', '/api/service-accounts')).body.items.map((a) => a.id);
    expect(ids).toEqual(['anju-ingest', 'bms-1', 'gw-1']);
    expect(await refusedWith(connect('anju-ingest', 'ingest-from-env-1', 'anju-ingest:e2e'))).toBe(4);
    const ingest = await connect('anju-ingest', 'ingest-from-env-2', 'anju-ingest:e2e');
    await ingest.endAsync();
  }, 90_000);
});
