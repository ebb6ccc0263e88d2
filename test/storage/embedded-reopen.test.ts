import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatabaseClosedError, needsReopen } from '../../storage/embedded/connection.js';
import { createEmbeddedDatabase } from '../../storage/embedded/index.js';
import { openReopening } from '../../storage/embedded/reopen.js';
import { createLogSink } from '../helpers/log-sink.js';
import { incident } from './incident-store.contract.js';

/*
 * A failed COMMIT leaves its keys in DuckDB's primary-key index (duckdb/duckdb#23645) and a FATAL
 * error invalidates the database: either way every later write of those keys, or every write at
 * all, fails until the database is opened again. Both are provoked here for real, with DuckDB's
 * memory limit: a transaction whose statements fit but whose commit does not, and one whose
 * statement and rollback both run out of memory.
 */
describe('embedded database: reopened after a failed COMMIT or a fatal error', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anju-reopen-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('a failed commit: the retried keys are taken after the reopen, not refused as duplicates; other connections carry on', async () => {
    const sink = createLogSink();
    const path = join(dir, 'pk.duckdb');
    const db = await openReopening(() => DuckDBInstance.create(path, { memory_limit: '16MB', threads: '1' }), { logger: pino(sink.stream), label: path });
    const writer = await db.connect('writer');
    const reader = await db.connect('reader');
    await writer.run('CREATE TABLE events (seq BIGINT PRIMARY KEY, body VARCHAR)');
    await writer.run("INSERT INTO events VALUES (1, 'a'), (2, 'b')");
    const body = 'x'.repeat(200_000);

    // 100 rows of 200 kB: each statement fits in 16 MB, the commit of all of them does not.
    const failed = await writer.transaction(async (c) => {
      for (let i = 0; i < 100; i += 1) await c.run(`INSERT INTO events VALUES (${3 + i}, '${body}')`);
    }).then(() => undefined, (err: unknown) => err);
    expect(needsReopen(failed)).toBe(true);
    expect(String((failed as Error).message)).toMatch(/^TransactionContext Error: Failed to commit/);

    // Queued at once, behind the reopen: without it, "Duplicate key seq: 3". The reader's query, queued
    // meanwhile, is answered by the new instance, before or after the insert.
    const [, count] = await Promise.all([
      writer.run("INSERT INTO events VALUES (3, 'c')"),
      reader.query('SELECT count(*) AS n FROM events'),
    ]);
    expect([2, 3]).toContain(Number(count[0]?.n));
    expect((await reader.query('SELECT seq FROM events ORDER BY seq')).map((r) => Number(r.seq))).toEqual([1, 2, 3]);
    expect(db.reopens()).toBe(1);
    expect(sink.lines.map((l) => l.msg)).toEqual(expect.arrayContaining([expect.stringContaining('reopening it'), 'embedded database reopened']));

    // A statement refused as such (a real duplicate) is the caller's error, not a reason to reopen.
    await expect(writer.run("INSERT INTO events VALUES (3, 'again')")).rejects.toThrow(/Duplicate key/);
    expect(db.reopens()).toBe(1);
    db.closing();
    await Promise.all([writer.close(), reader.close()]);
    db.current().closeSync();
  });

  it('shutdown while a reopen is under way: it finishes first, the connections then close on the new instance', async () => {
    const path = join(dir, 'shutdown.duckdb');
    const db = await openReopening(() => DuckDBInstance.create(path, { memory_limit: '16MB', threads: '1' }), { logger: pino({ level: 'silent' }), label: path });
    const writer = await db.connect('writer');
    await writer.run('CREATE TABLE events (seq BIGINT PRIMARY KEY, body VARCHAR)');
    await writer.run("INSERT INTO events VALUES (1, 'a'), (2, 'b')");
    const body = 'x'.repeat(200_000);
    const failing = writer.transaction(async (c) => {
      for (let i = 0; i < 100; i += 1) await c.run(`INSERT INTO events VALUES (${3 + i}, '${body}')`);
    });
    // The owner's shutdown, as createEmbeddedDatabase does it, queued while the commit is failing.
    const last = writer.run("INSERT INTO events VALUES (3, 'c')");
    await expect(failing).rejects.toSatisfy(needsReopen);
    db.closing();
    await db.settled();
    await last;
    await writer.close();
    expect(db.reopens()).toBe(1);
    db.current().closeSync();
    const again = await DuckDBInstance.create(path);
    const conn = await again.connect();
    expect((await conn.runAndReadAll('SELECT seq FROM events ORDER BY seq')).getRows().map((r) => Number(r[0]))).toEqual([1, 2, 3]);
    conn.closeSync();
    again.closeSync();
  });

  it('a database that cannot be opened again: every connection refuses with DatabaseClosedError, and it is logged as fatal', async () => {
    const sink = createLogSink();
    const path = join(dir, 'gone.duckdb');
    let opens = 0;
    const open = () => {
      opens += 1;
      return opens === 1 ? DuckDBInstance.create(path, { memory_limit: '16MB', threads: '1' }) : Promise.reject(new Error('disk gone'));
    };
    const db = await openReopening(open, { logger: pino(sink.stream), label: path });
    const writer = await db.connect('writer');
    const reader = await db.connect('reader');
    await writer.run('CREATE TABLE events (seq BIGINT PRIMARY KEY, body VARCHAR)');
    await writer.run("INSERT INTO events VALUES (1, 'a'), (2, 'b')");
    const body = 'x'.repeat(200_000);
    await expect(writer.transaction(async (c) => {
      for (let i = 0; i < 100; i += 1) await c.run(`INSERT INTO events VALUES (${3 + i}, '${body}')`);
    })).rejects.toThrow(/^(TransactionContext Error: Failed to commit|FATAL Error)/);
    await expect(reader.query('SELECT 1')).rejects.toBeInstanceOf(DatabaseClosedError);
    await expect(writer.run('SELECT 1')).rejects.toThrow(/could not be reopened/);
    expect(sink.lines.find((l) => l.level === 60)?.msg).toMatch(/could not be reopened/);
    db.closing();
    await Promise.all([writer.close(), reader.close()]);
  });

  it('a fatal error (a rollback out of memory): the incident store records again, the failed group left no trace', async () => {
    const sink = createLogSink();
    const open = () => createEmbeddedDatabase({ dataDir: dir, memoryLimit: '32MB', threads: 1 }, { logger: pino(sink.stream) });
    const db = await open();
    const T0 = Date.UTC(2025, 2, 3);
    const note = 'x'.repeat(30_000);
    const group = Array.from({ length: 900 }, (_, i) => ({
      incident: incident(`big-${i}`, { building: `bb${i}`, timeline: [{ ts: T0, event: 'raised', actor: note }] }),
      event: { type: 'raised' as const, ts: T0 },
    }));
    await expect(db.incidents.recordMany(group)).rejects.toThrow(/^FATAL Error/);

    const [raised] = await db.incidents.recordMany([{ incident: incident('small'), event: { type: 'raised', ts: T0 } }]);
    expect(raised?.seq).toBe(1);
    expect(db.reopenedTotal()).toBe(1);
    expect(await db.incidents.get('big-0')).toBeUndefined();
    await db.close();

    // What the file holds after a clean close: the one committed group.
    const again = await open();
    try {
      expect((await again.incidents.eventsSince(0)).map((e) => [e.seq, e.incident.id])).toEqual([[1, 'small']]);
      expect(again.reopenedTotal()).toBe(0);
    } finally {
      await again.close();
    }
  });
});
