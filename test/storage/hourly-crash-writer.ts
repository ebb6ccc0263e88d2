/**
 * Child process of test/storage/embedded-hourly.test.ts: opens the embedded database in argv[2],
 * writes the readings of the JSON file argv[3] in batches of 25 with hourly aggregates held in
 * memory for an hour (so none is flushed), prints "written" and waits to be killed — a crash after
 * the readings committed and before their hours were written. argv[4], if given, is the store's clock
 * (epoch ms).
 */
import { readFile } from 'node:fs/promises';
import { pino } from 'pino';
import type { Reading } from '../../core/index.js';
import { createEmbeddedDatabase } from '../../storage/index.js';

const [dir, file, clock] = process.argv.slice(2);
const now = clock === undefined ? undefined : () => Number(clock);
const db = await createEmbeddedDatabase({ dataDir: dir!, memoryLimit: '128MB', threads: 1, hourlyFlushMs: 3_600_000 }, { logger: pino({ level: 'silent' }), now });
const all = JSON.parse(await readFile(file!, 'utf8')) as Reading[];
for (let i = 0; i < all.length; i += 25) await db.telemetry.write(all.slice(i, i + 25));
process.stdout.write('written\n');
setInterval(() => undefined, 1_000);
