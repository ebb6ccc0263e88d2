import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingestAccountRights } from '../../core/index.js';
import { verifySecret } from '../../core/secrets.js';
import { createEmbeddedDatabase, type EmbeddedDatabase } from '../../storage/embedded/index.js';
import { createServiceAccountDirectory, DuplicateError, type ServiceAccountChange } from '../../storage/index.js';
import { embeddedStoreHarness } from './embedded-harness.js';
import { serviceAccountStoreContract } from './service-accounts.contract.js';

const logger = pino({ level: 'silent' });
const open = (dataDir: string) => createEmbeddedDatabase({ dataDir, memoryLimit: '256MB', threads: 1 }, { logger });

serviceAccountStoreContract('embedded DuckDB', embeddedStoreHarness('service-accounts', (db) => db.serviceAccounts));

describe('service-account directory', () => {
  let dir: string;
  let db: EmbeddedDatabase;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anju-sa-dir-'));
    db = await open(dir);
  });
  afterEach(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers a secret once, keeps only its scrypt hash, and tells listeners of every change', async () => {
    const changes: string[] = [];
    const d = createServiceAccountDirectory({ store: db.serviceAccounts });
    await d.load();
    d.onChange((id, change: ServiceAccountChange) => changes.push(`${id}:${change}`));
    const { account, secret } = await d.create({ id: 'bms', publish: ['bms/#'], subscribe: [], deny: [] });
    expect(account).not.toHaveProperty('secretHash');
    expect(JSON.stringify(await db.serviceAccounts.all())).not.toContain(secret);
    expect(await verifySecret(secret, d.get('bms')?.secretHash ?? '')).toBe(true);
    const rotated = await d.rotateSecret('bms');
    expect(rotated).toBeDefined();
    expect(await verifySecret(secret, d.get('bms')?.secretHash ?? '')).toBe(false);
    expect(await d.rotateSecret('nobody')).toBeUndefined();
    expect(await d.delete('bms')).toBe(true);
    expect(changes).toEqual(['bms:created', 'bms:secret_rotated', 'bms:deleted']);
  });

  it('refuses an id a device has, and a second account with the same id', async () => {
    const d = createServiceAccountDirectory({ store: db.serviceAccounts, isTaken: (id) => id === 'sd-1' });
    await d.load();
    await expect(d.create({ id: 'sd-1', publish: [], subscribe: [], deny: [] })).rejects.toBeInstanceOf(DuplicateError);
    await d.create({ id: 'bms', publish: [], subscribe: [], deny: [] });
    await expect(d.create({ id: 'bms', publish: [], subscribe: [], deny: [] })).rejects.toBeInstanceOf(DuplicateError);
  });

  it('takes the ingest account from the environment: created, kept while the password matches, re-hashed when it changes, removed when unset', async () => {
    const d = createServiceAccountDirectory({ store: db.serviceAccounts });
    await d.load();
    await d.syncFromEnvironment([{ id: 'anju-ingest', password: 'pw-1', rights: ingestAccountRights }]);
    const first = d.get('anju-ingest');
    expect(first).toMatchObject({ origin: 'env', publish: ['anju/#'] });
    await d.syncFromEnvironment([{ id: 'anju-ingest', password: 'pw-1', rights: ingestAccountRights }]);
    expect(d.get('anju-ingest')?.secretHash).toBe(first?.secretHash);
    await d.syncFromEnvironment([{ id: 'anju-ingest', password: 'pw-2', rights: ingestAccountRights }]);
    expect(await verifySecret('pw-2', d.get('anju-ingest')?.secretHash ?? '')).toBe(true);
    // An account made through the API is not the environment's to take over.
    await d.create({ id: 'bms', publish: [], subscribe: [], deny: [] });
    await expect(d.syncFromEnvironment([{ id: 'bms', password: 'x', rights: ingestAccountRights }])).rejects.toBeInstanceOf(DuplicateError);
    await d.syncFromEnvironment([]);
    expect(d.get('anju-ingest')).toBeUndefined();
    expect(d.get('bms')).toBeDefined();
    // Survives a restart.
    const again = createServiceAccountDirectory({ store: db.serviceAccounts });
    await again.load();
    expect(again.list().map((a) => a.id)).toEqual(['bms']);
  });
});
