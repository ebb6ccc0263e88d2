import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach } from 'vitest';
import { createEmbeddedDatabase, type Alarm, type EmbeddedDatabase } from '../../storage/index.js';

export const T0 = Date.UTC(2025, 0, 1);

/** An active critical smoke alarm of `device` at site s1, building b1. */
export const alarm = (id: string, device: string, over: Partial<Alarm> = {}): Alarm => ({
  id, type: 'smoke', originator: { kind: 'device', id: device }, site: 's1', building: 'b1', severity: 'critical', status: 'active_unack',
  startTs: T0, lastUpdateTs: T0, escalationLevel: 0, count: 1, details: { smoke: 0.5 }, timeline: [{ ts: T0, event: 'raised' }], ...over,
});

/** A fresh embedded database in its own directory for each test of the file; `reopen` restarts it on the same files. */
export function embeddedDatabasePerTest(): { readonly db: EmbeddedDatabase; reopen(): Promise<EmbeddedDatabase> } {
  let dir: string;
  let db: EmbeddedDatabase;
  const open = () => createEmbeddedDatabase({ dataDir: dir, memoryLimit: '128MB', threads: 1 }, { logger: pino({ level: 'silent' }) });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anju-alarms-'));
    db = await open();
  });
  afterEach(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    get db() {
      return db;
    },
    async reopen() {
      await db.close();
      db = await open();
      return db;
    },
  };
}
