import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { SpoolPosition } from './contract.js';
import { fsyncDir } from './segment.js';

export const checkpointFile = 'checkpoint.json';
const tempFile = 'checkpoint.json.tmp';

/**
 * Reads the checkpoint: where the first record the store has not acknowledged starts. Absent on a
 * fresh spool. Unreadable (it cannot be torn — it is only ever replaced by rename — but a disk can
 * rot): warn and start from the oldest segment, which replays acknowledged readings; the stores
 * overwrite same device+ts, so that costs time, not correctness.
 */
export async function readCheckpoint(dir: string, log: Logger): Promise<SpoolPosition | undefined> {
  await rm(join(dir, tempFile), { force: true }); // a write interrupted before its rename
  let text: string;
  try {
    text = await readFile(join(dir, checkpointFile), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const v = JSON.parse(text) as { segment?: unknown; offset?: unknown };
    if (Number.isSafeInteger(v.segment) && Number.isSafeInteger(v.offset) && (v.offset as number) >= 0) {
      return { segment: v.segment as number, offset: v.offset as number };
    }
  } catch { /* fall through */ }
  log.warn({ file: checkpointFile, content: text.slice(0, 200) }, 'spool checkpoint unreadable: replaying from the oldest segment');
  return undefined;
}

export interface CheckpointWriter {
  /** Resolves once a checkpoint at `pos` or later is durable. Calls must come in log order. */
  save(pos: SpoolPosition): Promise<void>;
  /** A save waiting out the interval is written now (a flush or a close waits for it). */
  hurry(): void;
}

/**
 * Atomic replace: write temp + fsync + rename + fsync dir, so after a crash the file holds either
 * the old or the new position, never a mix. Saves arriving while one is in flight, or within
 * `minIntervalMs` of the last write's start, coalesce into one write of the latest position.
 *
 * The interval bounds a write's cost (open, write, fsync, close, rename, fsync of the directory:
 * ~3 % of the event loop and two of every three fsyncs of the hub at saturation, BENCHMARKS.md) to a
 * few per second, whatever the forwarder's batch rate. What it costs: after a crash, the readings
 * acknowledged in the last interval are forwarded again — at most `minIntervalMs` of them, each a
 * (device, ts) the stores already hold, which they overwrite with the same values (idempotent
 * writes, as for the batch in flight at a crash). Nothing acknowledged to a device depends on it:
 * the PUBACK waits for the segment's fsync, not for the checkpoint.
 */
export function createCheckpointWriter(dir: string, fsync: boolean, minIntervalMs = 0): CheckpointWriter {
  let latest: SpoolPosition | undefined;
  let waiting: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  let running = false;
  let lastWriteAt = -Infinity;
  let hurried = false;
  let wake: (() => void) | undefined;

  async function writeOnce(pos: SpoolPosition): Promise<void> {
    const tmp = join(dir, tempFile);
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(`${JSON.stringify({ v: 1, segment: pos.segment, offset: pos.offset })}\n`);
      if (fsync) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(dir, checkpointFile));
    if (fsync) await fsyncDir(dir);
  }

  function pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => {
      wake = undefined;
    });
  }

  async function run(): Promise<void> {
    running = true;
    while (waiting.length > 0) {
      const wait = lastWriteAt + minIntervalMs - performance.now();
      if (wait > 0 && !hurried) await pause(wait);
      hurried = false;
      const batch = waiting;
      waiting = [];
      lastWriteAt = performance.now(); // monotonic: a wall clock stepped back must not hold checkpoints
      try {
        await writeOnce(latest!);
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    running = false;
  }

  return {
    save(pos) {
      latest = pos;
      const done = new Promise<void>((resolve, reject) => waiting.push({ resolve, reject }));
      if (!running) void run();
      return done;
    },
    hurry() {
      if (waiting.length === 0) return;
      hurried = true;
      wake?.();
    },
  };
}
