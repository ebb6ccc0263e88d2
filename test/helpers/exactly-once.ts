import { waitFor } from './anju-process.js';
import type { Influxd } from './influxd.js';
import type { AckedReading } from './load.js';

/** The timestamps of one device's stored readings in [from, to], duplicates kept. */
export type StoredTimestamps = (device: string, from: number, to: number) => Promise<number[]>;

/** Every acknowledged reading is in the store once, and no reading twice. */
export async function expectExactlyOnce(
  acked: readonly AckedReading[],
  stored: StoredTimestamps,
  timeoutMs: number,
  output: () => string,
): Promise<void> {
  const want = new Map<string, Set<number>>();
  for (const a of acked) (want.get(a.device) ?? want.set(a.device, new Set()).get(a.device)!).add(a.ts);
  let report = '';
  try {
    // The spool replays what the store had not yet taken: allow it many start-ups' worth.
    await waitFor('every acknowledged reading in the store', async () => {
      report = '';
      for (const [device, tss] of want) {
        const got = await stored(device, Math.min(...tss), Math.max(...tss));
        const seen = new Set(got);
        const missing = [...tss].filter((ts) => !seen.has(ts)).length;
        const twice = got.length - seen.size;
        if (missing > 0 || twice > 0) report += `${device}: ${missing} of ${tss.size} acknowledged missing, ${twice} stored twice; `;
      }
      return report ? undefined : true;
    }, timeoutMs);
  } catch {
    throw new Error(`${report}\nanju:\n${output().slice(-3000)}`);
  }
}

/** Timestamps of the readings of `device` in [from, to], duplicates kept, read with raw InfluxQL. */
export async function storedInInflux(db: Influxd, dbName: string, device: string, from: number, to: number): Promise<number[]> {
  const r = await db.query(`SELECT "smoke" FROM "smoke_detector" WHERE "device" = '${device}' AND time >= ${from}ms AND time <= ${to}ms`, dbName);
  return ((r.results[0]?.series?.[0]?.values ?? []) as Array<[number, number]>).map((v) => v[0]);
}
