import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, startAnju, type AnjuProcess } from '../helpers/anju-process.js';

const ADMIN = 'sim-admin-token-0123456789';
const root = fileURLToPath(new URL('../../', import.meta.url));

describe('anju sim against a running broker, with devices provisioned through the API', () => {
  let dataDir: string;
  let anju: AnjuProcess;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'anju-sim-'));
    anju = await startAnju('all', { ANJU_DATA_DIR: dataDir, ANJU_SIM: '0', ANJU_ADMIN_TOKEN: ADMIN });
  }, 90_000);

  afterAll(async () => {
    await anju?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('publishes every provisioned device with its own credentials', async () => {
    const api = apiClient(anju.http, ADMIN);
    const answers: unknown[] = [];
    for (const device of [
      { id: 'sim-sd-1', kind: 'smoke_detector', site: 'sim', building: 'b1' },
      { id: 'sim-bin-1', kind: 'smart_bin', site: 'sim', building: 'b1', category: 'recyclable' },
      { id: 'sim-wm-1', kind: 'water_meter', site: 'sim', building: 'b1', purpose: 'household' },
      { id: 'sim-pm-1', kind: 'power_meter', site: 'sim', building: 'b1', purpose: 'elevator', rated_current: 32 },
    ]) {
      const res = await api('POST', '/api/devices', device);
      expect(res.status).toBe(201);
      answers.push(res.body);
    }
    const credentials = join(dataDir, 'fleet.json');
    await writeFile(credentials, JSON.stringify(answers));

    const sim = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'sim', '--broker', anju.mqtt, '--credentials', credentials, '--interval', '0.5', '--duration', '4'], {
      cwd: root, env: { PATH: process.env.PATH ?? '', ANJU_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    sim.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    sim.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const code = await new Promise<number | null>((resolve) => sim.once('exit', resolve));
    expect(code, out).toBe(0);
    expect(out).toMatch(/connected 4\/4/);

    for (const id of ['sim-sd-1', 'sim-bin-1', 'sim-wm-1', 'sim-pm-1']) {
      const series = await api<{ items: unknown[] }>('GET', `/api/devices/${id}/telemetry?from=${Date.now() - 60_000}`);
      expect(series.body.items.length, id).toBeGreaterThanOrEqual(3);
    }
    const rejects = await api<{ total: number }>('GET', '/api/ingest/rejects');
    expect(rejects.body.total).toBe(0);
  }, 60_000);

  it('runs again with --api: existing devices get a new secret through the API and connect with it', async () => {
    const args = ['--api', anju.http, '--token', ADMIN, '--broker', anju.mqtt, '--sites', '1', '--devices', '14', '--seed', '11', '--interval', '1', '--duration', '3'];
    const first = await runSim(args);
    expect(first.code, first.out).toBe(0);
    expect(first.out).toMatch(/provisioned 14 devices .*\(14 created, 0 existing with a new secret\)/);
    const second = await runSim(args);
    expect(second.code, second.out).toBe(0);
    expect(second.out).toMatch(/provisioned 14 devices .*\(0 created, 14 existing with a new secret\)/);
    expect(second.out).toMatch(/connected 14\/14/);
    expect(second.out).not.toMatch(/Body cannot be empty/);
  }, 90_000);
});

describe('anju sim against a broker that throttles connects (ANJU_CONNECT_RATE)', () => {
  let dataDir: string;
  let anju: AnjuProcess;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'anju-sim-rate-'));
    anju = await startAnju('all', { ANJU_DATA_DIR: dataDir, ANJU_SIM: '0', ANJU_ADMIN_TOKEN: ADMIN, ANJU_CONNECT_RATE: '4' });
  }, 90_000);

  afterAll(async () => {
    await anju?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('reports the connections the broker closed before CONNACK and names ANJU_CONNECT_RATE, instead of errors 0', async () => {
    const r = await runSim(['--api', anju.http, '--token', ADMIN, '--broker', anju.mqtt, '--sites', '1', '--devices', '14', '--interval', '1', '--duration', '4']);
    expect(r.code, r.out).toBe(0);
    const closed = Number(/closed before CONNACK (\d+)/.exec(r.out)?.[1]);
    expect(closed, r.out).toBeGreaterThan(0);
    expect(r.out).toMatch(/warning: the broker closed \d+ connection attempts without answering CONNACK.*ANJU_CONNECT_RATE/);
    const connected = Number(/connected (\d+)\/14/.exec(r.out)?.[1]);
    expect(connected).toBeLessThan(14);
  }, 90_000);
});

async function runSim(args: string[]): Promise<{ code: number | null; out: string }> {
  const sim = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'sim', ...args], {
    cwd: root, env: { PATH: process.env.PATH ?? '', ANJU_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  sim.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  sim.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const code = await new Promise<number | null>((resolve) => sim.once('exit', resolve));
  return { code, out };
}
