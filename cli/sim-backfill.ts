import { resolve } from 'node:path';
import { Registry as Metrics } from 'prom-client';
import { ConfigError, type AnjuConfig } from '../core/config.js';
import type { Device, DeviceInput } from '../core/index.js';
import { DEFAULT_BACKFILL_STEP_MS, createCommunity, parseRegistry, parseRetrofits, parseScenarioFile, runBackfill } from '../devices-sim/index.js';
import { createEmbeddedDatabase, type EmbeddedDatabase, type TelemetryStore } from '../storage/index.js';
import { parseCommandArgs } from './args.js';
import { writeDemoHistoryPlan } from './demo-history.js';
import { barLine, duration, startTicker } from './sim-progress.js';
import { readText, type SimDeps } from './sim.js';
import { selectTelemetryStore } from './telemetry-path.js';

export const backfillUsage = `  anju sim backfill [options]  write history straight into the configured store
                            (ANJU_STORE, ANJU_DATA_DIR, ANJU_INFLUX_*), not through MQTT
      --days N              length of the history, ending now (default 400)
      --step DURATION       reporting step of every device, e.g. 15m, 1h (default 15m)
      --retrofit LIST       preset:YYYY-MM-DD[,...], e.g. led:2026-03-01,vfd:2026-03-01,lowflow:2026-04-01
      --seed N              (default 2026: the demo fleet's seed)
      --scenario-file FILE  bad days inside the period
      devices: those registered in ANJU_DATA_DIR, or --registry FILE, or --sites/--buildings/--devices`;

const options = {
  days: { type: 'string', default: '400' }, step: { type: 'string' }, retrofit: { type: 'string' },
  seed: { type: 'string', default: '2026' }, 'scenario-file': { type: 'string' }, registry: { type: 'string' },
  sites: { type: 'string' }, buildings: { type: 'string' }, devices: { type: 'string' },
} as const;

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const asDevice = (d: DeviceInput): Device => ({ ...d, name: d.name ?? d.id, createdAt: 0 });

function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`--${flag} must be a positive integer`);
  return n;
}

/**
 * `anju sim backfill`: devices-sim's runBackfill into the store the platform is configured with,
 * with a progress bar on stderr. The embedded DuckDB file takes one process at a time: while
 * `anju all` runs on the same data directory it cannot be opened, and the error says so.
 */
export async function runBackfillCommand(argv: string[], config: AnjuConfig, usage: string, deps: SimDeps): Promise<number> {
  const { values: v } = parseCommandArgs(argv, options, usage);
  const days = Number(v.days);
  if (!(days > 0 && days <= 3_660)) throw new ConfigError('--days must be a number of days, 0 < days ≤ 3660');
  const seed = Number(v.seed);
  if (!Number.isInteger(seed)) throw new ConfigError('--seed must be an integer');
  let stepMs = DEFAULT_BACKFILL_STEP_MS;
  if (v.step !== undefined) {
    const m = /^(\d+)([smhd])$/.exec(v.step);
    if (!m) throw new ConfigError('--step must look like 30s, 15m, 1h');
    stepMs = Number(m[1]) * (UNIT_MS[m[2] as string] ?? 0);
  }
  let retrofits: ReturnType<typeof parseRetrofits> = [];
  try { retrofits = v.retrofit ? parseRetrofits(v.retrofit) : []; } catch (err) { throw new ConfigError(`--retrofit: ${(err as Error).message}`); }
  const end = Math.floor(Date.now() / stepMs) * stepMs;
  let scenarios: ReturnType<typeof parseScenarioFile> = [];
  if (v['scenario-file']) {
    // Offsets in the file count from the start of the backfilled period.
    try { scenarios = parseScenarioFile(await readText('scenario-file', v['scenario-file']), end - Math.round(days * 86_400_000)); } catch (err) { throw new ConfigError(`--scenario-file: ${(err as Error).message}`); }
  }

  let devices: Device[] | undefined;
  if (v.registry) {
    try { devices = parseRegistry(await readText('registry', v.registry)).devices.map(asDevice); } catch (err) { throw new ConfigError(`--registry: ${(err as Error).message}`); }
  } else if (v.sites ?? v.buildings ?? v.devices) {
    try {
      devices = createCommunity({ sites: positiveInt('sites', v.sites) ?? 1, buildings: positiveInt('buildings', v.buildings), devices: positiveInt('devices', v.devices), seed }).devices.map(asDevice);
    } catch (err) { throw new ConfigError(`synthetic community: ${(err as Error).message}`); }
  }

  const dataDir = resolve(config.dataDir);
  let db: EmbeddedDatabase | undefined;
  if (config.store === 'embedded' || devices === undefined) {
    try {
      db = await createEmbeddedDatabase({ dataDir, memoryLimit: config.duckdb.memoryLimit, threads: config.duckdb.threads,
        checkpointThreshold: config.duckdb.checkpointThreshold }, { logger: deps.logger });
    } catch (err) {
      throw new ConfigError(
        `cannot open the embedded database in ${dataDir}: ${(err as Error).message}\n` +
        'DuckDB locks its file while another process has it open: stop `anju all` (or `anju hub`) on this data directory and run the backfill again' +
        (config.store === 'embedded' ? '.' : ', or pass --registry/--sites so the backfill needs only InfluxDB.'),
      );
    }
  }
  let store: TelemetryStore | undefined;
  try {
    if (devices === undefined) {
      devices = await (db as EmbeddedDatabase).state.allDevices();
      if (devices.length === 0) throw new ConfigError(`no devices are registered in ${dataDir}: run \`anju all\` once (it registers the demo community), or pass --registry FILE or --sites N`);
    }
    // For InfluxDB selectTelemetryStore builds a client and never reads the embedded store it is given.
    store = db && config.store === 'embedded' ? db.telemetry : selectTelemetryStore(config, db?.telemetry as TelemetryStore, { logger: deps.logger, metrics: new Metrics(), siteTimezone: db?.siteTimezone });
    const started = Date.now();
    let done = 0;
    let total = 0;
    deps.stderr.write(`backfilling ${days} days of ${devices.length} devices into ${config.store === 'embedded' ? `DuckDB (${dataDir})` : `InfluxDB (${config.influx.url})`}, step ${duration(stepMs / 1000)}${retrofits.length ? `, retrofits ${v.retrofit}` : ''}\n`);
    const ticker = startTicker(deps.stderr, () => barLine(done, total, started, Date.now()), { ttyMs: 500, plainMs: 10_000 });
    const result = await runBackfill(
      { days, end, stepMs, seed, retrofits, scenarios },
      { store, devices, logger: deps.logger, onProgress: (d, t) => { done = d; total = t; } },
    ).finally(() => ticker.stop());
    // The registered devices' history: the demo fleet continues its registers from it (demo-history.ts).
    if (!v.registry && !(v.sites ?? v.buildings ?? v.devices) && !v['scenario-file']) {
      await writeDemoHistoryPlan(dataDir, { origin: result.from, end: result.to, seed, stepMs, retrofits: v.retrofit ?? '', completedAt: Date.now() });
    }
    deps.stderr.write(`backfilled ${result.readings} readings from ${new Date(result.from).toISOString()} to ${new Date(result.to).toISOString()} in ${duration(result.ms / 1000)} (${result.rate.toLocaleString('en-US')} readings/s)\n`);
    return 0;
  } finally {
    if (store && store !== db?.telemetry) await store.close();
    await db?.close();
  }
}
