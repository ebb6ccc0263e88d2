import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createEmbeddedDatabase } from '../../storage/embedded/index.js';
import { auditStoreContract } from './audit.contract.js';

const logger = pino({ level: 'silent' });
const open = (dataDir: string) => createEmbeddedDatabase({ dataDir, memoryLimit: '256MB', threads: 1 }, { logger });

auditStoreContract('embedded DuckDB', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'anju-audit-'));
  let db = await open(dir);
  return {
    store: db.audit,
    async reopen() {
      await db.close();
      db = await open(dir);
      return db.audit;
    },
    async cleanup() {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
