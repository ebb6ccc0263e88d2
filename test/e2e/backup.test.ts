import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { apiClient, startAnju, type AnjuProcess } from '../helpers/anju-process.js';

const ADMIN = 'e2e-backup-admin-token-0123456789';
const root = fileURLToPath(new URL('../../', import.meta.url));

/** `anju <args>` as a real child process with its own environment; resolves with exit code and output. */
function anjuCli(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], {
      cwd: root, timeout: timeoutMs, encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ANJU_LOG_LEVEL: 'warn', ...env },
    }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

type Series = { items: Array<{ ts: string; values: Record<string, unknown> }> };

/**
 * `anju backup` while a device publishes, then `anju restore` into a new data dir: every reading
 * acknowledged (PUBACK) before the backup began is in the restored node, and so is the registry.
 */
describe('anju backup while ingesting, anju restore on a stopped node', () => {
  let dir: string;
  let anju: AnjuProcess | undefined;
  let restored: AnjuProcess | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anju-e2e-backup-'));
  });
  afterAll(async () => {
    if (anju?.alive()) await anju.stop();
    if (restored?.alive()) await restored.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps every reading acknowledged before the backup began', async () => {
    const dataDir = join(dir, 'data');
    const backupDir = join(dir, 'backup');
    anju = await startAnju('all', { ANJU_DATA_DIR: dataDir, ANJU_SIM: '0', ANJU_ADMIN_TOKEN: ADMIN });
    const api = apiClient(anju.http, ADMIN);
    const created = await api<{ secret: string }>('POST', '/api/devices', { id: 'bk-pm-1', kind: 'power_meter', site: 'bk', building: 'b1' });
    expect(created.status).toBe(201);

    // A meter publishing QoS 1 as fast as its PUBACKs come, each reading at its own time.
    const device = await mqtt.connectAsync(anju.mqtt, { protocolVersion: 4, clientId: 'bk-pm-1', username: 'bk-pm-1', password: created.body.secret, reconnectPeriod: 0 });
    const base = Date.now() - 3_600_000;
    const acked: number[] = [];
    let publishing = true;
    const publisher = (async () => {
      for (let n = 0; publishing; n++) {
        await device.publishAsync('devices/bk-pm-1/telemetry', JSON.stringify({ energy: 100 + n * 0.01, seq: n + 1, ts: base + n * 1000 }), { qos: 1 });
        acked.push(n);
      }
    })();
    await vi.waitFor(() => expect(acked.length).toBeGreaterThan(300), { timeout: 30_000, interval: 50 });

    const ackedBefore = acked.length;
    const backup = await anjuCli(['backup', backupDir, '--api', anju.http, '--token', ADMIN], {});
    const ackedAfter = acked.length;
    publishing = false;
    await publisher;
    await device.endAsync();
    expect(backup.code, backup.out).toBe(0);
    expect(backup.out).toMatch(/backup written to/);
    // Ingest went on while the backup was taken.
    expect(ackedAfter).toBeGreaterThan(ackedBefore);
    const manifest = JSON.parse(await readFile(join(backupDir, 'manifest.json'), 'utf8')) as { files: Array<{ path: string }>; schemaVersion: number };
    expect(manifest.files.map((f) => f.path)).toContain('anju.duckdb');

    // The node is running: restoring over its data dir is refused, and nothing is touched.
    const busy = await anjuCli(['restore', backupDir], { ANJU_DATA_DIR: dataDir });
    expect(busy.code).not.toBe(0);
    expect(busy.out).toMatch(/running on .* stop it/);
    expect(anju.alive()).toBe(true);
    expect(await anju.stop()).toBe(0);

    const newDir = join(dir, 'restored');
    const restore = await anjuCli(['restore', backupDir], { ANJU_DATA_DIR: newDir });
    expect(restore.code, restore.out).toBe(0);
    restored = await startAnju('all', { ANJU_DATA_DIR: newDir, ANJU_SIM: '0' });
    const api2 = apiClient(restored.http, ADMIN);
    expect((await api2('GET', '/api/devices/bk-pm-1')).status).toBe(200);
    const stored = await vi.waitFor(async () => {
      // The window of the readings acknowledged before the backup (later ones may or may not be in it).
      const r = await api2<Series>('GET', `/api/devices/bk-pm-1/telemetry?from=${base}&to=${base + ackedBefore * 1000 - 1}&limit=10000`);
      expect(r.status).toBe(200);
      const times = new Set(r.body.items.map((i) => Date.parse(i.ts)));
      const missing = Array.from({ length: ackedBefore }, (_, n) => base + n * 1000).filter((t) => !times.has(t));
      expect(missing, `${missing.length} of ${ackedBefore} readings acknowledged before the backup are missing`).toEqual([]);
      return r.body.items;
    }, { timeout: 30_000, interval: 250 });
    // Nothing doubled by the spool's replay: one row per time.
    expect(new Set(stored.map((i) => i.ts)).size).toBe(stored.length);
    expect(await restored.stop()).toBe(0);
  }, 180_000);

  it('refuses a damaged backup, a folder that is not one, and an empty DIR', async () => {
    const backupDir = join(dir, 'backup');
    const damaged = join(dir, 'damaged');
    await cp(backupDir, damaged, { recursive: true });
    const db = await readFile(join(damaged, 'anju.duckdb'));
    db[db.length - 1] = (db[db.length - 1] ?? 0) ^ 0xff;
    await writeFile(join(damaged, 'anju.duckdb'), db);
    const r1 = await anjuCli(['restore', damaged], { ANJU_DATA_DIR: join(dir, 'x1') });
    expect(r1.code).toBe(2);
    expect(r1.out).toMatch(/anju\.duckdb does not match its checksum/);
    const r2 = await anjuCli(['restore', dir], { ANJU_DATA_DIR: join(dir, 'x2') });
    expect(r2.out).toMatch(/holds no manifest\.json/);
    const r3 = await anjuCli(['backup'], { ANJU_ADMIN_TOKEN: ADMIN });
    expect(r3.code).toBe(2);
    expect(r3.out).toMatch(/needs one DIR/);
  }, 60_000);
});
