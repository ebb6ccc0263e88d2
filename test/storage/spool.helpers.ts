import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Reading } from '../../core/index.js';
import { createEmbeddedDatabase, StoreUnavailableError, type EmbeddedDatabase, type EncodedReadings, type TelemetryStore } from '../../storage/index.js';

export const T0 = Date.UTC(2025, 0, 1);
const dirs: string[] = [];
const dbs: EmbeddedDatabase[] = [];

export async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'anju-spool-'));
  dirs.push(dir);
  return dir;
}

export async function openDb(dir: string): Promise<EmbeddedDatabase> {
  const db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '256MB', threads: 1 }, { logger: pino({ level: 'silent' }) });
  dbs.push(db);
  return db;
}

export async function cleanup(): Promise<void> {
  for (const db of dbs.splice(0)) await db.close().catch(() => {});
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
}

export const reading = (device: string, ts: number, smoke = 0.1): Reading => ({ device, kind: 'smoke_detector', site: 's1', building: 'b1', ts, fields: { smoke } });

/** `n` readings of one device, one second apart from `from`. */
export const many = (n: number, device = 'd', from = 0): Reading[] => Array.from({ length: n }, (_, i) => reading(device, T0 + (from + i) * 1000, i));

/** A logger whose lines (level ≥ info) are kept as parsed objects. */
export function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

/**
 * The narrow seam for outage tests: the real DuckDB store, down on demand (StoreUnavailableError)
 * and recording what it acknowledged, in order.
 */
export function flakyStore(real: TelemetryStore) {
  const state = {
    down: false, retryAfterMs: undefined as number | undefined, written: [] as Reading[], attempts: 0, delayMs: 0, attemptedAt: [] as number[],
    /** The spool's bytes each acknowledged write was handed (undefined: none). */
    encoded: [] as Array<readonly EncodedReadings[] | undefined>,
  };
  const store: TelemetryStore = {
    ...real,
    name: real.name,
    write: async (batch, encoded) => {
      state.attempts += 1;
      state.attemptedAt.push(performance.now());
      if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
      if (state.down) throw new StoreUnavailableError('injected outage', state.retryAfterMs);
      await real.write(batch, encoded);
      state.written.push(...batch);
      state.encoded.push(encoded);
    },
  };
  return { store, state };
}

export async function storedCount(store: TelemetryStore): Promise<number> {
  return (await store.series({ kind: 'smoke_detector', from: 0, to: T0 + 1e10 })).length;
}

export async function metricValue(reg: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const m = (await reg.getMetricsAsJSON()).find((x) => x.name === name);
  const values = m?.values as { value: number; labels: Record<string, string | number>; metricName?: string }[] | undefined;
  return values?.find((v) => Object.entries(labels).every(([k, val]) => String(v.labels[k]) === val))?.value;
}
