/**
 * bench/alerts/incident-storm: a building's network lost — every device of it offline at once — on
 * the real alert engine and incident manager over the embedded DuckDB stores, with the production
 * incident settings (a pause after each commit as long as the commit, at most 100 ms), alarms joining one incident recorded one event each
 * (`--each`, the behaviour before) and as one event per commit (the default, `coalesceQuietUpdates`).
 * Prints, per building size: the incident events, the incident JSON they carry, and the time from the
 * first offline to the incident manager idle.
 *
 *   npm run bench:incident-storm -- [--devices 50,200,500,1000] [--each-max 500]
 *
 * One event per alarm is run only up to `--each-max` devices: at 1,000 it did not finish in 10 minutes
 * (1.7 GB RSS, the incident commit retried; BENCHMARKS.md).
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { defaultIncidentsConfig } from '../../alerts/incidents/manager.js';
import type { Device } from '../../core/index.js';
import { closeHarness, openHarness, removeTempDirs, T0, tempDir } from '../../test/alerts/harness.js';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '50,200,500,1000' }, 'each-max': { type: 'string', default: '500' } } });
const sizes = values.devices.split(',').map(Number);
const eachMax = Number(values['each-max']);

interface Run { events: number; mb: number; ms: number; members: number }

async function storm(n: number, coalesceQuietUpdates: boolean): Promise<Run> {
  const devices = new Map<string, Device>(Array.from({ length: n }, (_, i) => {
    const d: Device = { id: `wm-${i}`, kind: 'water_meter', site: 'bench', building: 'b1', name: `wm-${i}`, createdAt: T0 };
    return [d.id, d];
  }));
  const { maxCommitPauseMs } = defaultIncidentsConfig;
  const h = await openHarness({ dir: await tempDir(), devices, incidentsConfig: { maxCommitPauseMs, coalesceQuietUpdates } });
  try {
    const t = performance.now();
    await Promise.all([...devices.keys()].map((id) => h.engine.onPresence(id, 'offline', T0 + 1_000, 'lost')));
    await h.engine.idle();
    await h.incidents.idle();
    const ms = performance.now() - t;
    const bytes = h.incidentEvents.reduce((sum, e) => sum + JSON.stringify(e.incident).length, 0);
    return { events: h.incidentEvents.length, mb: bytes / 1e6, ms, members: h.incidents.active()[0]?.members.length ?? 0 };
  } finally {
    await closeHarness(h);
    await removeTempDirs();
  }
}

async function main(): Promise<void> {
  // The stores retry on unreferenced timers: were a commit to stall, the process would otherwise exit without a word.
  const keepAlive = setInterval(() => undefined, 1_000);
  console.log(`bench/alerts/incident-storm: node ${process.version}, ${new Date().toISOString()}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log('\n| devices offline at once | events: one per alarm | one per commit | incident JSON in events, MB: one per alarm | one per commit | first offline → incidents idle, ms: one per alarm | one per commit | members |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const n of sizes) {
    const each = n <= eachMax ? await storm(n, false) : undefined;
    const one = await storm(n, true);
    if ((each && each.members !== n) || one.members !== n) {
      console.log(`MISSING: ${n} devices offline, incident members ${each?.members ?? '—'} / ${one.members}`);
      process.exitCode = 1;
    }
    const f = (x: number | undefined, d: number) => (x === undefined ? '—' : x.toFixed(d));
    console.log(`| ${n} | ${each?.events ?? '—'} | ${one.events} | ${f(each?.mb, 2)} | ${one.mb.toFixed(2)} | ${f(each?.ms, 0)} | ${one.ms.toFixed(0)} | ${one.members} |`);
  }
  clearInterval(keepAlive);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
