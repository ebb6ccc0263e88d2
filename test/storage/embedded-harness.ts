import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createEmbeddedDatabase, type EmbeddedDatabase } from '../../storage/index.js';
import type { StoreHarness } from './contract-scaffold.js';

/**
 * What a store contract suite needs from the embedded database: a fresh one in its own directory,
 * one of its stores, a restart on the same files, and removal.
 */
export function embeddedStoreHarness<S>(name: string, pick: (db: EmbeddedDatabase) => S) {
  return async (): Promise<StoreHarness<S>> => {
    const dir = await mkdtemp(join(tmpdir(), `anju-${name}-`));
    const openDb = () => createEmbeddedDatabase({ dataDir: dir, memoryLimit: '128MB', threads: 1 }, { logger: pino({ level: 'silent' }) });
    let db = await openDb();
    return {
      store: pick(db),
      async reopen() {
        await db.close();
        db = await openDb();
        return pick(db);
      },
      async cleanup() {
        await db.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  };
}
