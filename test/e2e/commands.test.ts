import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, startAnju, waitFor, type AnjuProcess } from '../helpers/anju-process.js';
import { requireBinary, run } from '../helpers/servers.js';

const ADMIN = 'e2e-admin-token-commands-0123';
const mosquittoPub = requireBinary('mosquitto_pub', 'mosquitto-clients');
const mosquittoSub = requireBinary('mosquitto_sub', 'mosquitto-clients');
const skip = mosquittoSub.skip ?? mosquittoPub.skip;

type Cmd = { id: string; status: string; sentBy: string; state?: string; deliveredAt?: string; completedAt?: string };

/**
 * `anju all` as a real process: the composition root wires the dispatcher to the embedded broker and
 * the API. A valve-controlled meter is provisioned through the API and played by mosquitto's clients.
 */
describe.skipIf(skip)(`commands through anju all ${skip ?? ''}`, () => {
  let dataDir: string;
  let anju: AnjuProcess;
  let api: ReturnType<typeof apiClient>;
  let secret: string;
  const env = () => ({ ANJU_DATA_DIR: dataDir, ANJU_SIM: '0', ANJU_ADMIN_TOKEN: ADMIN });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'anju-e2e-commands-'));
    anju = await startAnju('all', env());
    api = apiClient(anju.http, ADMIN);
    const res = await api<{ secret: string }>('POST', '/api/devices', {
      id: 'e2e-wm-1', kind: 'water_meter', site: 'e2e', building: 'b1', purpose: 'household', capabilities: ['valve'],
    });
    expect(res.status).toBe(201);
    secret = res.body.secret;
  }, 90_000);

  afterAll(async () => {
    await anju?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('a command sent while the meter is offline reaches it on reconnect; its reply completes it; who sent it is shown', async () => {
    const as = ['-h', '127.0.0.1', '-p', String(anju.mqttPort), '-V', 'mqttv311', '-u', 'e2e-wm-1', '-P', secret];
    const session = await run(mosquittoSub.path!, [...as, '-i', 'e2e-wm-1', '-c', '-q', '1', '-t', 'devices/e2e-wm-1/commands/#', '-E']);
    expect(session.status, session.stderr).toBe(0);

    const sent = await api<Cmd>('POST', '/api/devices/e2e-wm-1/commands', { name: 'close', ttlSeconds: 120 });
    expect(sent.status).toBe(202);
    expect(sent.body).toMatchObject({ status: 'sent', sentBy: 'token:bootstrap-admin' });

    const got = await run(mosquittoSub.path!, [...as, '-i', 'e2e-wm-1', '-c', '-q', '1', '-t', 'devices/e2e-wm-1/commands/#', '-C', '1', '-W', '20'], 25_000);
    expect(got.status, got.stderr).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({ id: sent.body.id, name: 'close' });
    await waitFor('delivered', async () => ((await api<Cmd>('GET', `/api/commands/${sent.body.id}`)).body.status === 'delivered' ? true : undefined));

    const reply = await run(mosquittoPub.path!, [...as, '-i', 'e2e-wm-1:r', '-q', '1', '-t', 'devices/e2e-wm-1/replies',
      '-m', JSON.stringify({ id: sent.body.id, outcome: 'succeeded', state: 'closed' })]);
    expect(reply.status, reply.stderr).toBe(0);
    const done = await waitFor('succeeded', async () => {
      const r = await api<Cmd>('GET', `/api/commands/${sent.body.id}`);
      return r.body.status === 'succeeded' ? r.body : undefined;
    });
    expect(done).toMatchObject({ state: 'closed', sentBy: 'token:bootstrap-admin' });
    const list = await api<{ items: Cmd[]; total: number }>('GET', '/api/commands?device=e2e-wm-1&status=succeeded');
    expect(list.body.total).toBe(1);

    const refused = await api<{ error: { code: string } }>('POST', '/api/devices/e2e-wm-1/commands', { name: 'reset' });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('command_not_supported');
  });

  it('a command the broker held in memory for an offline meter survives a restart of anju and reaches the meter after it', async () => {
    const as = () => ['-h', '127.0.0.1', '-p', String(anju.mqttPort), '-V', 'mqttv311', '-u', 'e2e-wm-1', '-P', secret];
    const session = await run(mosquittoSub.path!, [...as(), '-i', 'e2e-wm-1', '-c', '-q', '1', '-t', 'devices/e2e-wm-1/commands/#', '-E']);
    expect(session.status, session.stderr).toBe(0);
    const sent = await api<Cmd>('POST', '/api/devices/e2e-wm-1/commands', { name: 'open', ttlSeconds: 300 });
    expect(sent.body).toMatchObject({ status: 'sent' });

    await anju.stop();
    anju = await startAnju('all', env());
    api = apiClient(anju.http, ADMIN);
    // The session and its queue were in the broker's memory: the command is held again.
    await waitFor('held again', async () => ((await api<Cmd>('GET', `/api/commands/${sent.body.id}`)).body.status === 'queued' ? true : undefined));

    const got = await run(mosquittoSub.path!, [...as(), '-i', 'e2e-wm-1', '-c', '-q', '1', '-t', 'devices/e2e-wm-1/commands/#', '-C', '1', '-W', '20'], 25_000);
    expect(got.status, got.stderr).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({ id: sent.body.id, name: 'open' });
    await waitFor('delivered after the restart', async () =>
      ((await api<Cmd>('GET', `/api/commands/${sent.body.id}`)).body.status === 'delivered' ? true : undefined));
  }, 120_000);
});
