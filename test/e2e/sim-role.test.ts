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
});
