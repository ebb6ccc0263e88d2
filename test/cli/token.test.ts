import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, bundleAnju, startAnju } from '../helpers/anju-process.js';
import { anjuEnv, run } from './cli-helpers.js';

/**
 * The first start as a user sees it at the default log level: a quiet log (no line per request or
 * per connecting device), the banner with the generated admin token last; and `anju token`, the
 * way back in when that token scrolled away.
 */
describe('the admin token: printed last on the first start, minted again offline with anju token', () => {
  let entry: string;
  let remove: () => Promise<void>;
  let dataDir: string;

  beforeAll(async () => {
    ({ entry, remove } = await bundleAnju());
    dataDir = await mkdtemp(join(tmpdir(), 'anju-token-'));
  }, 60_000);

  afterAll(async () => {
    await remove?.();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('prints the generated token at the end of start-up, logs requests at debug only, and refuses anju token while running', async () => {
    const anju = await startAnju('all', { ANJU_DATA_DIR: dataDir, ANJU_SIM: '0', ANJU_LOG_LEVEL: 'info' }, 90_000, { entry });
    try {
      const out = anju.output();
      const token = /ANJU_ADMIN_TOKEN=(anju_\S+)/.exec(out)?.[1];
      expect(token, out).toBeDefined();
      // Start-up logs come before the banner; the token and the way to get a new one close it.
      const lines = out.split('\n');
      const bannerAt = lines.findIndex((l) => l.includes('is running'));
      expect(lines.slice(0, bannerAt).filter((l) => l.startsWith('{')).length, 'start-up log lines').toBeLessThan(15);
      const hintAt = lines.findIndex((l) => l.includes('run `anju token`'));
      expect(lines[hintAt - 1]).toContain(`ANJU_ADMIN_TOKEN=${token}`);
      expect(lines.slice(bannerAt, hintAt).every((l) => !l.startsWith('{')), 'no log line inside the banner').toBe(true);
      const api = apiClient(anju.http, token as string);
      for (let i = 0; i < 5; i++) expect((await api('GET', '/api/devices')).status).toBe(200);
      expect(anju.output()).not.toMatch(/incoming request|request completed/);

      const busy = await run(process.execPath, [entry, 'token'], anjuEnv({ ANJU_DATA_DIR: dataDir }));
      expect(busy.code).toBe(2);
      expect(busy.stderr).toMatch(/stop it and run `anju token` again, or mint a token through the API/);
    } finally {
      expect(await anju.stop()).toBe(0);
    }
  }, 120_000);

  it('mints a working admin token offline; the next start does not print one but says how to get one', async () => {
    const minted = await run(process.execPath, [entry, 'token', '--name', 'rescue'], anjuEnv({ ANJU_DATA_DIR: dataDir }));
    expect(minted.code, minted.stderr).toBe(0);
    const token = /ANJU_ADMIN_TOKEN=(anju_\S+)/.exec(minted.stdout)?.[1];
    expect(token, minted.stdout).toBeDefined();
    expect(minted.stdout).toContain('A new admin API token "rescue"');

    const anju = await startAnju('all', { ANJU_DATA_DIR: dataDir, ANJU_SIM: '0' }, 90_000, { entry });
    try {
      expect(anju.output()).not.toContain('ANJU_ADMIN_TOKEN=');
      expect(anju.output()).toContain('lost it? stop Anju and run `anju token`');
      const api = apiClient(anju.http, token as string);
      const tokens = await api<{ items: Array<{ name: string; role: string }> }>('GET', '/api/tokens');
      expect(tokens.status).toBe(200);
      expect(tokens.body.items).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'rescue', role: 'admin' })]));
    } finally {
      await anju.stop();
    }
  }, 120_000);
});
