import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackupStaging } from '../../storage/index.js';
import { startHarness, type Harness } from './harness.js';

/** /api/backups over app.inject on the real embedded database: admin only, file by file, checksummed. */
describe('/api/backups', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({}, undefined, async (db, deps) => {
      // The harness's database has no spool: the backup then holds the database alone.
      const dataDir = mkdtempSync(join(tmpdir(), 'anju-api-backups-'));
      return {
        deps: { ...deps, backups: createBackupStaging({ dir: join(dataDir, 'backups') }, { source: { dataDir, snapshot: (f) => db.snapshot(f) } }) },
        close: async () => rmSync(dataDir, { recursive: true, force: true }),
      };
    });
  });
  afterAll(() => h?.close());

  it('is for admins only', async () => {
    expect((await h.call(null, { method: 'POST', url: '/api/backups' })).statusCode).toBe(401);
    for (const role of ['viewer', 'operator', 'maintenance'] as const) {
      expect((await h.call(role, { method: 'POST', url: '/api/backups' })).statusCode, role).toBe(403);
    }
  });

  it('stages a backup, hands out only the files its manifest lists, and deletes it', async () => {
    const created = await h.call('admin', { method: 'POST', url: '/api/backups' });
    expect(created.statusCode).toBe(201);
    const body = created.json<{ id: string; files: Array<{ path: string; bytes: number; sha256: string }>; schemaVersion: number }>();
    const db = body.files.find((f) => f.path === 'anju.duckdb');
    expect(db).toBeDefined();
    const file = await h.call('admin', { method: 'GET', url: `/api/backups/${body.id}/files/anju.duckdb` });
    expect(file.statusCode).toBe(200);
    expect(file.rawPayload.length).toBe(db!.bytes);
    expect(file.headers['x-anju-sha256']).toBe(db!.sha256);
    for (const bad of ['../anju.duckdb', 'manifest.json', '..%2F..%2Fetc%2Fpasswd']) {
      const r = await h.call('admin', { method: 'GET', url: `/api/backups/${body.id}/files/${bad}` });
      expect(r.statusCode, bad).toBe(404);
      expect(r.json()).toMatchObject({ error: { code: 'not_found' } });
    }
    expect((await h.call('admin', { method: 'GET', url: '/api/backups/../files/anju.duckdb' })).statusCode).toBe(404);
    expect((await h.call('admin', { method: 'DELETE', url: `/api/backups/${body.id}` })).statusCode).toBe(204);
    expect((await h.call('admin', { method: 'GET', url: `/api/backups/${body.id}/files/anju.duckdb` })).statusCode).toBe(404);
    expect((await h.call('admin', { method: 'DELETE', url: `/api/backups/${body.id}` })).statusCode).toBe(404);
    expect((await h.call('admin', { method: 'DELETE', url: '/api/backups/not-an-id' })).statusCode).toBe(400);
  });
});
