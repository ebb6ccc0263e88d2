import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { dirname } from 'node:path';

/**
 * V8 profiles of this process over one measured window (the benches run Anju in their own process),
 * written as JSON on stop: `bench/profile-top.ts` turns a CPU profile into tables.
 */
export type Capture = { stop(file: string): Promise<void> };

/** One inspector capture of this process (the Anju side) over one measured window, written as JSON on stop. */
async function capture(label: string, start: (session: Session) => Promise<void>, stop: (session: Session) => Promise<unknown>): Promise<Capture> {
  const session = new Session();
  session.connect();
  await start(session);
  return {
    async stop(file) {
      const profile = await stop(session);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, JSON.stringify(profile));
      session.disconnect();
      console.log(`  ${label}: ${file}`);
    },
  };
}

/** The V8 CPU profiler, sampling every 200 µs. */
export const startCpuProfile = (): Promise<Capture> => capture('CPU profile', async (s) => {
  await s.post('Profiler.enable');
  await s.post('Profiler.setSamplingInterval', { interval: 200 });
  await s.post('Profiler.start');
}, async (s) => (await s.post('Profiler.stop')).profile);

/**
 * V8's sampling heap profiler, counting every sampled allocation, also those the young or old
 * generation's collector freed since (what the scavenger pays for), not only the survivors. Open the
 * `.heapprofile` in Chrome DevTools' Memory tab.
 */
export const startAllocationProfile = (): Promise<Capture> => capture('allocation profile', async (s) => {
  await s.post('HeapProfiler.enable');
  await s.post('HeapProfiler.startSampling', { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
}, async (s) => (await s.post('HeapProfiler.stopSampling')).profile);
