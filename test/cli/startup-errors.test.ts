import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleAnju, startAnju, waitFor } from '../helpers/anju-process.js';
import { anjuEnv, run } from './cli-helpers.js';

/**
 * Start-up errors a user can fix: each names the variable to change and what to do, exits 1 (2 for
 * a configuration mistake), and prints no stack trace and no unhandled 'error' event.
 */
describe('anju start-up errors name the setting to fix', () => {
  let entry: string;
  let remove: () => Promise<void>;
  let dir: string;
  let busy: Server;
  let busyPort: number;

  beforeAll(async () => {
    ({ entry, remove } = await bundleAnju());
    dir = await mkdtemp(join(tmpdir(), 'anju-startup-'));
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    busyPort = (busy.address() as { port: number }).port;
  }, 60_000);

  afterAll(async () => {
    await new Promise((resolve) => busy?.close(resolve));
    await remove?.();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const start = (role: string, env: Record<string, string>) =>
    run(process.execPath, [entry, role], anjuEnv({ ANJU_SIM: '0', ANJU_ADMIN_TOKEN: 'startup-admin-token-0123', ...env }));

  const expectNoStack = (stderr: string) => {
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stderr).not.toMatch(/Unhandled 'error' event/);
  };

  it.each([
    ['ANJU_MQTT_PORT', 'all', /MQTT: port \d+ on 127\.0\.0\.1 is already in use/],
    ['ANJU_WS_PORT', 'all', /MQTT over WebSocket: port \d+ on 127\.0\.0\.1 is already in use/],
    ['ANJU_HTTP_PORT', 'all', /HTTP \(API and control room\): port \d+ on 127\.0\.0\.1 is already in use/],
    ['ANJU_WS_PORT', 'broker', /MQTT over WebSocket: port \d+/],
  ])('a port in use (%s, anju %s) is reported with the variable that chose it', async (variable, role, message) => {
    const r = await start(role, { ANJU_DATA_DIR: join(dir, `port-${variable}-${role}`), [variable]: String(busyPort) });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain(`${variable}=<port>`);
    expectNoStack(r.stderr);
  }, 60_000);

  it('two listeners given the same port is a configuration error naming both variables', async () => {
    const r = await start('all', { ANJU_DATA_DIR: join(dir, 'same'), ANJU_MQTT_PORT: '18830', ANJU_WS_PORT: '18830' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ANJU_MQTT_PORT and ANJU_WS_PORT are both 18830/);
    expectNoStack(r.stderr);
  });

  it('a data directory that cannot be created names ANJU_DATA_DIR', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, '');
    const r = await start('all', { ANJU_DATA_DIR: join(file, 'data') });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/cannot create the data directory .*a-file\/data: a part of the path is a file/);
    expect(r.stderr).toContain('Set ANJU_DATA_DIR to a writable directory');
    expectNoStack(r.stderr);
  });

  // A read-only file system needs a mount: in a private mount namespace (unshare, as root) a
  // read-only tmpfs over the data directory. Where that is not allowed the case is skipped.
  const roDir = '/tmp/anju-ro-probe';
  const canMountReadOnly = spawnSync('unshare', ['-m', 'sh', '-c', `mkdir -p ${roDir} && mount -t tmpfs -o ro tmpfs ${roDir}`]).status === 0;
  it.skipIf(!canMountReadOnly)(`a read-only file system names ANJU_DATA_DIR ${canMountReadOnly ? '' : '(skipped: unshare/mount not permitted here)'}`, async () => {
    const ro = join(dir, 'ro');
    const script = `mkdir -p ${ro} && mount -t tmpfs -o ro tmpfs ${ro} && exec "${process.execPath}" "${entry}" all`;
    // The data directory on the read-only mount (a first start), and the mount itself (a volume mounted read-only).
    for (const [dataDir, doing] of [[join(ro, 'data'), 'create'], [ro, 'write in']] as const) {
      const r = await run('unshare', ['-m', 'sh', '-c', script], anjuEnv({ ANJU_SIM: '0', ANJU_DATA_DIR: dataDir }));
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`cannot ${doing} the data directory ${dataDir}: the file system is read-only (EROFS)`);
      expect(r.stderr).toContain('Set ANJU_DATA_DIR');
      expectNoStack(r.stderr);
    }
  }, 60_000);

  it('a hub without ANJU_MQTT_URL says so before opening anything', async () => {
    const dataDir = join(dir, 'hub');
    const r = await start('hub', { ANJU_DATA_DIR: dataDir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/anju hub needs ANJU_MQTT_URL: .*e\.g\. ANJU_MQTT_URL=mqtt:\/\//);
    expectNoStack(r.stderr);
    expect(spawnSync('test', ['-e', dataDir]).status, 'the data directory was created').not.toBe(0);
  });

  it('an unreachable InfluxDB is shown in the banner, and Anju keeps running', async () => {
    // A port that refuses connections: one that was just free.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const anju = await startAnju('all', {
      ANJU_DATA_DIR: join(dir, 'influx'), ANJU_SIM: '0', ANJU_ADMIN_TOKEN: 'startup-admin-token-0123',
      ANJU_STORE: 'influxdb', ANJU_INFLUX_URL: `http://127.0.0.1:${port}`, ANJU_INFLUX_DB: 'anju',
    }, 90_000, { entry });
    try {
      const out = await waitFor('the banner warning', async () => (/! InfluxDB at/.test(anju.output()) ? anju.output() : undefined), 30_000);
      expect(out).toContain(`! InfluxDB at http://127.0.0.1:${port} did not answer`);
      expect(out).toMatch(/Check ANJU_INFLUX_URL/);
      expect(anju.alive()).toBe(true);
      const health = await fetch(`${anju.http}/health`);
      expect(health.status).toBe(200);
    } finally {
      await anju.stop();
    }
  }, 120_000);
});
