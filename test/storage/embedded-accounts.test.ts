import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createEmbeddedDatabase } from '../../storage/embedded/index.js';
import { embeddedDatabaseFile } from '../../storage/embedded/index.js';
import { migrations } from '../../storage/embedded/schema.js';
import { accountStoreContract } from './accounts.contract.js';

const logger = pino({ level: 'silent' });
const open = (dataDir: string) => createEmbeddedDatabase({ dataDir, memoryLimit: '256MB', threads: 1 }, { logger });

accountStoreContract('embedded DuckDB', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'anju-acc-'));
  let db = await open(dir);
  return {
    store: db.accounts,
    async reopen() {
      await db.close();
      db = await open(dir);
      return db.accounts;
    },
    async cleanup() {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('embedded schema migrations', () => {
  it('applies a migration missing below the highest one applied (parallel branches land in any order)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'anju-gap-'));
    try {
      const db = await open(dir);
      await db.accounts.create({ id: 'a', login: 'a', displayName: 'A', grants: [], disabled: false, createdAt: 1, updatedAt: 1 });
      await db.close();
      // Undo migration 6 while 9 stays applied: the state a database at 9 is in when a lower
      // number from another branch ships after it.
      const inst = await DuckDBInstance.create(join(dir, embeddedDatabaseFile));
      const c = await inst.connect();
      for (const stmt of ['ALTER TABLE sites DROP COLUMN grid_region', 'DROP TABLE register_days', 'DROP TABLE rollup_state', 'DELETE FROM schema_version WHERE version = 6']) {
        await c.run(stmt);
      }
      c.closeSync();
      inst.closeSync();
      const again = await open(dir);
      expect((await again.accounts.all()).map((a) => a.id)).toEqual(['a']);
      await again.close();
      const check = await DuckDBInstance.create(join(dir, embeddedDatabaseFile));
      const cc = await check.connect();
      const applied = (await cc.runAndReadAll('SELECT version FROM schema_version ORDER BY version')).getRowObjects().map((r) => Number(r.version));
      const tables = (await cc.runAndReadAll(`SELECT table_name FROM duckdb_tables() WHERE table_name IN ('register_days', 'rollup_state')`)).getRowObjects();
      const cols = (await cc.runAndReadAll(`SELECT column_name FROM duckdb_columns() WHERE table_name = 'sites' AND column_name = 'grid_region'`)).getRowObjects();
      cc.closeSync();
      check.closeSync();
      expect(applied).toEqual(migrations.map((m) => m.version).sort((x, y) => x - y));
      expect(tables).toHaveLength(2);
      expect(cols).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
