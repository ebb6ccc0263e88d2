/**
 * `npm run bench:demo-history`: how soon the demo's first start has its recent weeks in the
 * store and its live fleet ready — the work `anju all` does on an empty data directory
 * (cli/demo-history.ts, devices-sim/fleet.ts), in this process on the embedded DuckDB store in a
 * temp dir: the demo community's devices, seed 2026, 400 days ending now at 15-minute steps, the
 * last 35 days written first. Two ways, each on a fresh store, in the same run:
 *   - separate (the baseline): the backfill's recent pass (catch-up over 365 days, then 35 days
 *     written) while the fleet catches up its own profiles over 400 days on the same JS thread;
 *   - handed over (what Anju does): the recent pass alone, then the fleet continues its profiles
 *     from the plan's end (BackfillDeps.handOver / FleetConfig.continueFrom).
 * Printed: seconds until the recent weeks are written, until the fleet's profiles are at "now"
 * (live readings can start), and the recent pass's own split (catch-up vs compute-and-write).
 * Options: --runs N (default 1; the median is printed).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { chunduCommunity, type Device } from '../../core/index.js';
import { catchUpProfiles } from '../../devices-sim/catch-up.js';
import { runBackfill } from '../../devices-sim/backfill.js';
import { createProfiles, type Profile } from '../../devices-sim/kinds/index.js';
import { createEmbeddedDatabase } from '../../storage/embedded/index.js';
import { createDeviceDirectory } from '../../storage/state/directory.js';
import { median } from '../common/stats.js';

const DAY = 86_400_000;
const STEP = 15 * 60_000;
const SEED = 2026;
const logger = pino({ level: 'silent' });
const { values } = parseArgs({ options: { runs: { type: 'string', default: '1' } } });
const runs = Math.max(1, Number(values.runs));

interface Result { recentS: number; fleetS: number; writeS: number }

async function once(handOver: boolean): Promise<Result> {
  const dir = await mkdtemp(join(tmpdir(), 'anju-bench-history-'));
  const db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '512MB', threads: 2 }, { logger });
  try {
    const directory = createDeviceDirectory({ state: db.state });
    await directory.load();
    const devices: Device[] = [];
    for (const d of chunduCommunity().devices) devices.push((await directory.create(d)).device);
    const end = Math.floor(Date.now() / STEP) * STEP;
    const origin = end - 400 * DAY;
    const started = performance.now();
    const since = () => (performance.now() - started) / 1000;
    let handed: { profiles: ReadonlyMap<string, Profile>; at: number } | undefined;
    const recent = runBackfill(
      { days: 400, end, stepMs: STEP, seed: SEED, writeFrom: end - 35 * DAY },
      {
        store: db.telemetry, devices, logger,
        ...(handOver ? { handOver: (profiles: ReadonlyMap<string, Profile>, at: number) => { handed = { profiles, at }; } } : {}),
      },
    ).then((r) => ({ r, at: since() }));
    const fleet = (async () => {
      if (handOver) {
        await recent;
        await catchUpProfiles((handed as NonNullable<typeof handed>).profiles.values(), (handed as NonNullable<typeof handed>).at, Date.now());
      } else {
        await catchUpProfiles(createProfiles(devices, { seed: SEED, start: origin }).values(), origin, Date.now());
      }
      return since();
    })();
    const [{ r, at }, fleetS] = await Promise.all([recent, fleet]);
    return { recentS: at, fleetS, writeS: r.ms / 1000 };
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const results: Record<'separate' | 'handed', Result[]> = { separate: [], handed: [] };
for (let i = 0; i < runs; i++) {
  results.separate.push(await once(false));
  results.handed.push(await once(true));
}
console.log(`demo history, first start: ${chunduCommunity().devices.length} devices, 400 days at 15 min, recent 35 days first; ${runs} run(s), median; load ${loadavg()[0]?.toFixed(1)}`);
console.log('way                      recent weeks written s   fleet ready s   of which compute+write s');
for (const [name, rs] of Object.entries(results)) {
  const m = (k: keyof Result) => median(rs.map((x) => x[k])).toFixed(1);
  console.log(`${(name === 'separate' ? 'separate (baseline)' : 'handed over').padEnd(25)}${m('recentS').padStart(20)}${m('fleetS').padStart(16)}${m('writeS').padStart(27)}`);
}
