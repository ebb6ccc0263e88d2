import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createEmbeddedDatabase, type EmbeddedDatabase } from '../../storage/index.js';
import { incidentStoreContract } from './incident-store.contract.js';

const logger = pino({ level: 'silent' });

incidentStoreContract('embedded DuckDB', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'anju-incidents-'));
  const openDb = () => createEmbeddedDatabase({ dataDir: dir, memoryLimit: '128MB', threads: 1 }, { logger });
  let db: EmbeddedDatabase = await openDb();
  return {
    store: db.incidents,
    async reopen() {
      await db.close();
      db = await openDb();
      return db.incidents;
    },
    async cleanup() {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
