/**
 * `npm run bench:influx`: what Anju's path into InfluxDB costs, against one influxd (Debian's 1.6.7,
 * started here on a temp dir and a free port) measured in the same run on the same machine:
 *   a. ceiling: pre-built line protocol POSTed straight to influxd `/write?precision=ms` with fetch,
 *      5,000 points per request, one request in flight (--ceiling-writers to vary), until --seconds
 *      passed or --points were written; latency is per request;
 *   b. Anju into InfluxDB: N publishers (separate process, QoS 1, W in flight each) → embedded broker
 *      (scrypt device auth, ACL) → in-process ingest → durable spool (fsync on: PUBACK after the
 *      group commit) → forwarder → InfluxDB store; latency is publish → InfluxDB answered 204;
 *   c. the same pipeline into DuckDB (the embedded store), latency publish → committed;
 *   d. b with the spool's fsync off: the cost of "PUBACK means durable".
 * Each InfluxDB phase writes into a fresh database and ends with a raw `SELECT count(*)`: fewer points
 * than PUBACKs prints LOSS and exits 1. Options: --publishers N (50), --seconds S (10), --window W
 * (10), --points M (2,000,000: cap of phase a), --ceiling-writers K (1).
 */
import { benchConfig, printGivenSettings, provisionDetectors, timedStore } from '../common/hub.js';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { Registry } from 'prom-client';
import { assembleBroker, assembleIngest } from '../../cli/assemble/index.js';
import { openTelemetryPath } from '../../cli/telemetry-path.js';
import { createDeviceDirectory, createEmbeddedDatabase, createInfluxStore, createLatestCache, type TelemetryStore } from '../../storage/index.js';
import { toLine } from '../../storage/influxdb/index.js';
import { startInfluxd, type Influxd } from '../../test/helpers/influxd.js';
import { killPublishers, runPublishers } from '../common/run-publishers.js';
import { Latencies, percentile, rssSampler, sentAt, waitUntil } from '../common/stats.js';

const { values } = parseArgs({ options: {
  publishers: { type: 'string', default: '50' }, seconds: { type: 'string', default: '10' },
  window: { type: 'string', default: '10' }, points: { type: 'string', default: '2000000' },
  'ceiling-writers': { type: 'string', default: '1' },
} });
const publishers = Number(values.publishers);
const seconds = Number(values.seconds);
const window = Number(values.window);
const maxPoints = Number(values.points);
const ceilingWriters = Number(values['ceiling-writers']);
for (const [name, v] of Object.entries({ publishers, seconds, window, points: maxPoints, 'ceiling-writers': ceilingWriters })) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
}
const logger = pino({ level: 'warn' });
const RAW_BATCH = 5_000;
const measurement = 'smoke_detector';

interface PhaseResult {
  name: string;
  /** Points InfluxDB answered 204 for (a) or PUBACKs the publishers got (b–d). */
  acked: number;
  /** Points found afterwards: raw count(*) in InfluxDB, or readings whose DuckDB write resolved. */
  stored: number;
  storedBy: 'count(*)' | 'store writes';
  ptsPerS: number;
  p50: number;
  p99: number;
  /** CPU cores used on average over the measured interval, per process. */
  cores: { anju: number; publishers: number; influxd: number };
  /** Share of the measured interval Anju's event loop was busy (broker, ingest, spool, store client all run on it). */
  elu: number;
  /** From the publishers' last PUBACK to the last store write: the backlog left between spool and store. */
  drainMs: number;
  /** 1-minute load average at the end of the phase (the machine is shared). */
  load: number;
  peakRssMiB: number;
  errors: number;
}

// ---------------------------------------------------------------- cleanup, time bounds, interrupts

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms); });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/** Resources to release in reverse order; every open scope is also released on an interrupt or failure. */
class Scope {
  static readonly open = new Set<Scope>();
  private readonly items: Array<{ name: string; release: () => unknown }> = [];
  constructor() { Scope.open.add(this); }
  hold(name: string, release: () => unknown): void { this.items.push({ name, release }); }
  async close(): Promise<void> {
    for (let item = this.items.pop(); item; item = this.items.pop()) {
      try {
        await withTimeout(Promise.resolve(item.release()), 20_000, `closing ${item.name}`);
      } catch (err) {
        console.error(`  cleanup: ${(err as Error).message}`);
      }
    }
    Scope.open.delete(this);
  }
  static async closeAll(): Promise<void> {
    for (const s of [...Scope.open].reverse()) await s.close();
  }
}

let aborting = false;
async function abort(reason: string, code: number): Promise<never> {
  if (!aborting) {
    aborting = true;
    console.error(`bench/influx: ${reason}; cleaning up`);
    killPublishers();
    await Scope.closeAll();
  }
  process.exit(code);
}

// ---------------------------------------------------------------- influxd

async function startServer(scope: Scope): Promise<Influxd> {
  const influx = await startInfluxd();
  scope.hold('influxd', async () => {
    // SIGTERM and wait (bounded); a server that does not stop is killed. Either way its dir goes.
    await withTimeout(influx.cleanup(), 15_000, 'influxd stop').catch(async (err: Error) => {
      console.error(`  cleanup: ${err.message}; killing it`);
      await influx.kill();
      await rm(influx.dir, { recursive: true, force: true });
    });
  });
  return influx;
}

/** influxd's pid, found by its own config file (no name matching), for its CPU time. */
function influxdPid(influx: Influxd): number | undefined {
  const conf = join(influx.dir, 'influxdb.conf');
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').includes(conf)) return Number(d);
    } catch { /* gone */ }
  }
  return undefined;
}

const clockTicks = (() => {
  try { return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100; } catch { return 100; }
})();

/** CPU time (ms) of a process from /proc/<pid>/stat (utime + stime), NaN when unknown. */
function procCpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / clockTicks;
  } catch {
    return NaN;
  }
}

function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Points in a measurement, by a raw InfluxQL count(*): the smallest per-field count (every point has every field). */
async function countPoints(influx: Influxd, db: string): Promise<number> {
  const answer = await withTimeout(influx.query(`SELECT count(*) FROM "${measurement}"`, db), 60_000, 'count(*)');
  const row = answer.results[0]?.series?.[0]?.values[0];
  if (!row) return 0;
  const counts = row.slice(1).map(Number).filter((n) => Number.isFinite(n));
  return counts.length > 0 ? Math.min(...counts) : 0;
}

// ---------------------------------------------------------------- a. ceiling

/**
 * Pre-built bodies of 5,000 lines in the exact shape the store writes (same measurement, tags, fields,
 * `seq`; as many devices as there are publishers, so the same series cardinality), yesterday's time.
 */
function buildBodies(total: number): Buffer[] {
  const t0 = Date.now() - 86_400_000;
  const bodies: Buffer[] = [];
  for (let start = 0; start < total; start += RAW_BATCH) {
    const lines: string[] = [];
    for (let j = start; j < Math.min(total, start + RAW_BATCH); j++) {
      const d = j % publishers;
      const ts = t0 + Math.floor(j / publishers);
      lines.push(toLine({
        device: `bench-${d}`, kind: 'smoke_detector', site: 'bench', building: `b${d % 4}`, ts, seq: ts * 1000 + (j % 1000),
        fields: { smoke: 0.01, temperature: 21.5, co: 1, battery: 90 },
      }) as string);
    }
    bodies.push(Buffer.from(lines.join('\n')));
  }
  return bodies;
}

async function ceiling(influx: Influxd, pid: number | undefined): Promise<PhaseResult> {
  const db = 'anju_bench_a_ceiling';
  await influx.createDatabase(db);
  const bodies = buildBodies(maxPoints);
  const url = `${influx.url}/write?db=${db}&precision=ms`;
  const lat = new Latencies();
  let next = 0;
  let written = 0;
  let errors = 0;
  const rss = rssSampler();
  const cpu0 = { anju: ownCpuMs(), influxd: procCpuMs(pid) };
  const elu0 = performance.eventLoopUtilization();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const writer = async (): Promise<void> => {
    while (performance.now() < deadline && next < bodies.length) {
      const i = next++;
      const body = bodies[i]!;
      const b0 = performance.now();
      const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'text/plain; charset=utf-8' }, signal: AbortSignal.timeout(30_000) });
      const text = await res.text();
      if (res.status !== 204) {
        errors += 1;
        console.error(`  ceiling: influxd answered ${res.status}: ${text.slice(0, 200)}`);
        continue;
      }
      lat.push(performance.now() - b0);
      written += Math.min(RAW_BATCH, maxPoints - i * RAW_BATCH);
    }
  };
  await Promise.all(Array.from({ length: ceilingWriters }, writer));
  const elapsedMs = performance.now() - started;
  const cores = { anju: (ownCpuMs() - cpu0.anju) / elapsedMs, publishers: 0, influxd: (procCpuMs(pid) - cpu0.influxd) / elapsedMs };
  const elu = performance.eventLoopUtilization(elu0).utilization;
  const peakRssMiB = rss.stop();
  bodies.length = 0;
  const stored = await countPoints(influx, db);
  await influx.dropDatabase(db);
  const s = lat.sorted();
  return {
    name: `a. raw line protocol → influxd /write, ${RAW_BATCH} points/request, ${ceilingWriters} in flight (ceiling; latency per request)`,
    acked: written, stored, storedBy: 'count(*)', ptsPerS: written / (elapsedMs / 1000), p50: percentile(s, 50), p99: percentile(s, 99), cores, elu, drainMs: NaN, load: loadavg()[0]!, peakRssMiB, errors,
  };
}

// ---------------------------------------------------------------- b, c, d. the pipeline

async function pipeline(name: string, target: { influx: Influxd; db: string; pid: number | undefined } | undefined, fsync: boolean): Promise<PhaseResult> {
  const scope = new Scope();
  try {
    const dir = await mkdtemp(join(tmpdir(), 'anju-bench-influx-'));
    scope.hold('temp dir', () => rm(dir, { recursive: true, force: true }));
    // Devices live in the embedded state store whichever store takes telemetry, as in production.
    const db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '512MB', threads: 2 }, { logger });
    scope.hold('duckdb', () => db.close());
    const directory = createDeviceDirectory({ state: db.state });
    await directory.load();
    const devices = await provisionDetectors(directory, publishers);
    const metrics = new Registry();
    let inner: TelemetryStore = db.telemetry;
    if (target) {
      await target.influx.createDatabase(target.db);
      const influxStore = createInfluxStore({ url: target.influx.url, db: target.db, timeoutMs: 30_000 }, { logger, metrics });
      scope.hold('influxdb store', () => influxStore.close());
      inner = influxStore;
    }
    const config = benchConfig(dir);
    const broker = await assembleBroker(config, { directory, logger, metrics });
    scope.hold('broker', () => broker.close());
    const lat = new Latencies();
    let lastAt = 0;
    // Measured at the store boundary: a reading counts once write() resolved (InfluxDB's 204, DuckDB's commit).
    const timed = timedStore(inner, (batch, now) => {
      for (const r of batch) lat.push(now - sentAt(r.seq ?? 0));
      lastAt = now;
    });
    // The production composition (cli/platform.ts): the spool is the durable consumer, the latest cache beside it.
    const { writeIntervalMs, writeBatch } = config.spool;
    const path = await openTelemetryPath({ dataDir: dir, quotaBytes: 2 * 1024 ** 3, fsync, writeIntervalMs, writeBatch }, { store: timed, logger, metrics });
    scope.hold('spool and forwarder', () => path.close());
    const latest = createLatestCache({ store: timed });
    await latest.prime();
    const ingest = assembleIngest(config, { devices: directory, spool: path.spool, consumers: [latest], broker, logger, metrics });
    const pipe = ingest.pipeline;
    await ingest.start();
    await broker.open();
    scope.hold('ingest source', () => ingest.stop());

    const rss = rssSampler();
    const cpu0 = { anju: ownCpuMs(), influxd: procCpuMs(target?.pid) };
    const elu0 = performance.eventLoopUtilization();
    const { acked, errors, connectedAt: started, cpuMs: publishersCpuMs } = await runPublishers({ url: `mqtt://127.0.0.1:${broker.tcpPort}`, devices, seconds, window, ratePerPublisher: 0 });
    const publishersDoneAt = Date.now();
    await withTimeout(path.forwarder.flush(), 60_000, 'forwarder flush');
    await waitUntil(() => lat.count >= acked, 10_000);
    const endedAt = Math.max(lastAt, started + 1);
    const elapsedMs = Date.now() - started;
    const cores = { anju: (ownCpuMs() - cpu0.anju) / elapsedMs, publishers: publishersCpuMs / elapsedMs,
      influxd: (procCpuMs(target?.pid) - cpu0.influxd) / elapsedMs };
    const elu = performance.eventLoopUtilization(elu0).utilization;
    const peakRssMiB = rss.stop();
    const fwd = path.forwarder.stats();
    const stats = pipe.stats();
    await scope.close();
    const stored = target ? await countPoints(target.influx, target.db) : lat.count;
    if (target) await target.influx.dropDatabase(target.db);
    const s = lat.sorted();
    return {
      name, acked, stored, storedBy: target ? 'count(*)' : 'store writes', ptsPerS: lat.count / ((endedAt - started) / 1000),
      p50: percentile(s, 50), p99: percentile(s, 99), cores, elu, drainMs: Math.max(0, lastAt - publishersDoneAt), load: loadavg()[0]!, peakRssMiB,
        errors: errors + stats.rejected + stats.refused + fwd.failures + fwd.dropped,
    };
  } finally {
    await scope.close();
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  console.log(`bench/influx: ${publishers} publishers, QoS 1, window ${window}, ${seconds} s per phase; ceiling ≤ ${maxPoints} points; node ${process.version}, ${cpus().length} cores, ${new Date().toISOString()}, load average ${loadavg()[0]!.toFixed(1)}`);
  printGivenSettings();
  const root = new Scope();
  const influx = await startServer(root);
  const pid = influxdPid(influx);
  const version = (await fetch(`${influx.url}/ping`)).headers.get('x-influxdb-version') ?? '?';
  console.log(`  influxd ${version} at ${influx.url} (pid ${pid ?? '?'}), wal-fsync-delay 0`);

  const pipelineName = (store: string, fsync: boolean) => `Anju broker (auth, ACL) → ingest → spool (fsync ${fsync ? 'on' : 'off'}) → forwarder → ${store}`;
  const phases: Array<() => Promise<PhaseResult>> = [
    () => ceiling(influx, pid),
    () => pipeline(`b. ${pipelineName('InfluxDB', true)}`, { influx, db: 'anju_bench_b_pipeline', pid }, true),
    () => pipeline(`c. ${pipelineName('DuckDB', true)}`, undefined, true),
    () => pipeline(`d. ${pipelineName('InfluxDB', false)}`, { influx, db: 'anju_bench_d_pipeline_nofsync', pid }, false),
  ];
  const results: PhaseResult[] = [];
  for (const phase of phases) {
    const r = await phase();
    results.push(r);
    console.log(`  done: ${r.name} (load average ${r.load.toFixed(1)})`);
  }
  await root.close();

  const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '—');
  console.log('\n| phase | points acked | points stored | points/s | p50 ms | p99 ms | drain ms | CPU cores anju / publishers / influxd | anju event loop busy | peak RSS MiB | errors |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const cores = `${fmt(r.cores.anju, 2)} / ${fmt(r.cores.publishers, 2)} / ${fmt(r.cores.influxd, 2)}`;
    console.log(`| ${r.name} | ${r.acked} | ${r.stored}${r.storedBy === 'count(*)' ? '' : '¹'} | ${fmt(r.ptsPerS)} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${fmt(r.drainMs)} | ${cores} | ${fmt(r.elu * 100)} % | ${r.peakRssMiB} | ${r.errors} |`);
  }
  console.log('\n"points stored": a raw InfluxQL count(*) in the phase\'s own database (¹ readings whose DuckDB write resolved).');
  console.log('"drain ms": from the last PUBACK to the last store write (the spool → store backlog). CPU cores: CPU time / interval, per process.');
  const [a, b, c, d] = results as [PhaseResult, PhaseResult, PhaseResult, PhaseResult];
  console.log(`\npipeline → InfluxDB / ceiling (b/a):                ${fmt(b.ptsPerS / a.ptsPerS, 2)}`);
  console.log(`pipeline → DuckDB / ceiling (c/a):                  ${fmt(c.ptsPerS / a.ptsPerS, 2)}`);
  console.log(`pipeline → DuckDB / pipeline → InfluxDB (c/b):      ${fmt(c.ptsPerS / b.ptsPerS, 2)}`);
  console.log(`cost of "PUBACK means durable", fsync on / off (b/d): ${fmt(b.ptsPerS / d.ptsPerS, 2)} (p50 ${fmt(b.p50, 1)} vs ${fmt(d.p50, 1)} ms)`);
  if (a.stored < a.acked) {
    console.log(`LOSS: influxd acknowledged ${a.acked} points of the ceiling phase but holds ${a.stored}`);
    process.exitCode = 1;
  }
  for (const r of [b, c, d]) {
    if (r.stored < r.acked) {
      console.log(`LOSS: ${r.acked - r.stored} acknowledged messages were not stored (${r.name})`);
      process.exitCode = 1;
    }
  }
  if (process.exitCode !== 1) console.log('no acknowledged point missing in any phase');
}

process.once('SIGINT', () => void abort('interrupted (SIGINT)', 130));
process.once('SIGTERM', () => void abort('terminated (SIGTERM)', 143));
// Everything is bounded: influxd start, then per phase setup + publishers + drain + count.
const budgetMs = 60_000 + 4 * (seconds * 1000 + 180_000);
setTimeout(() => void abort(`did not finish within ${Math.round(budgetMs / 1000)} s`, 1), budgetMs).unref();

main().then(
  () => process.exit(),
  (err: Error) => { console.error(err); void abort('failed', 1); },
);
