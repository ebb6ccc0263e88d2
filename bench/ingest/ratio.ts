/**
 * `npm run bench:ratio`: Anju against the bare broker, measured from outside, in the same run.
 *
 * Devices (MQTT.js, QoS 1, each keeping `window` messages in flight) run in a child process and
 * each sends exactly N smoke-detector readings, their timestamps 1 ms apart, so every reading is a
 * distinct row in the store. Two servers, alternately, per load:
 *   - bare: a default Aedes on TCP — no authentication, no ACL, no subscriber, nothing stored;
 *   - anju: the real composition root, `startPlatform(config, 'all')` with the demo fleet off (scrypt
 *     device auth, ACL, admission, in-process ingest, durable spool with fsync — the PUBACK waits for
 *     it —, forwarder, DuckDB, latest cache, alerts engine, API), its devices provisioned beforehand.
 * msg/s = PUBACKs received / (first publish → last PUBACK), in the publishers' process. For Anju the
 * run then waits for the spool to drain (`anju_spool_depth_readings` on /metrics), stops the
 * platform, opens its DuckDB file and counts the rows: every acknowledged reading must be there.
 * Also printed: "stored msg/s" (first publish → spool drained), the server's CPU per message and event
 * loop busy share, the publishers' CPU per message (while publishing), and what 0.6× the bare rate
 * asks of Anju: CPU per message within the cores it shares with the publishers, and event-loop time
 * per message within its one thread.
 *
 * Loads (default both: few busy devices, and many quiet ones, which stress different per-message and
 * per-connection costs): 50 devices × 2,000 messages and 500 × 200, window 10.
 * Options: --loads 50x2000,500x200 --window 10 --rounds R (bare/anju pairs per load, default 1)
 * --only bare|anju (one side) --profile DIR (a V8 CPU profile of Anju's process per Anju phase, from
 * every device connected to the spool drained — start-up, CONNECTs and shutdown left out — to DIR)
 * --alloc-profile DIR (V8's sampling allocation profile over the same window, freed objects included)
 * --cpus SERVER:LOAD (Linux, 4 cores or more: this process — the bare broker, then Anju — on the
 * CPUs of SERVER, the publishers on those of LOAD, e.g. 0-1:2-3; bench/common/cpu-affinity.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import pino from 'pino';
import { startPlatform } from '../../cli/platform.js';
import { loadConfig } from '../../core/config.js';
import { kindTables } from '../../storage/embedded/schema.js';
import { createDeviceDirectory, createEmbeddedDatabase, embeddedDatabaseFile } from '../../storage/index.js';
import { startBareBroker } from '../common/bare-broker.js';
import { startAllocationProfile, startCpuProfile, type Capture } from '../common/profile.js';
import { givenSettings, printGivenSettings, provisionDetectors, storeThisMonthsReports } from '../common/hub.js';
import { killPublishers, runPublishers, type PublishersResult } from '../common/run-publishers.js';
import { median, rssSampler } from '../common/stats.js';
import { allowedCpus, pinBench } from '../common/cpu-affinity.js';

const { values } = parseArgs({ options: {
  loads: { type: 'string', default: '50x2000,500x200' }, window: { type: 'string', default: '10' },
  rounds: { type: 'string', default: '1' }, only: { type: 'string' }, profile: { type: 'string' },
  'alloc-profile': { type: 'string' }, cpus: { type: 'string' },
} });
const window = Number(values.window);
const rounds = Number(values.rounds);
const loads = values.loads.split(',').map((l) => {
  const [d, m] = l.split('x').map(Number);
  return { devices: d ?? NaN, messages: m ?? NaN };
});
if (!loads.every((l) => l.devices > 0 && l.messages > 0) || !(window > 0) || !(rounds > 0) || (values.only && !['bare', 'anju'].includes(values.only))) {
  console.error('bench/ingest/ratio: --loads DxM[,DxM…] --window W --rounds R --only bare|anju --cpus SERVER:LOAD');
  process.exit(2);
}
/** This process on the server's CPUs (the load's are the publishers'). */
const cpuSets = pinBench('bench/ingest/ratio', values.cpus);
const logger = pino({ level: 'warn' });

interface Side {
  acked: number; stored: number; msgPerS: number; storedPerS: number;
  cpuUsPerMsg: number; peakRssMiB: number; errors: number; load: number;
  /** The publishers' process while publishing (start-up and CONNECTs left out): what the devices' side costs on the same 2 cores. */
  pubCpuUsPerMsg: number;
  /** The server's event loop over the measured window (0–1): near 1, the main thread is the bound. */
  loopBusy: number;
  /** The event loop's busy time over that window per message acknowledged, µs. */
  loopUsPerMsg: number;
}

/** Generous: the count-mode publishers stop by count; this only bounds a hung run. */
const publishSeconds = (l: { devices: number; messages: number }) => Math.max(60, (l.devices * l.messages) / 500);

async function bare(l: { devices: number; messages: number }): Promise<Side> {
  const broker = await startBareBroker();
  const devices = Array.from({ length: l.devices }, (_, i) => ({ id: `bench-${i}`, secret: 'unused' }));
  const rss = rssSampler();
  const pub = await runPublishers({ url: broker.url, devices, seconds: publishSeconds(l), window, ratePerPublisher: 0, messages: l.messages,
    cpus: cpuSets?.load }, undefined,
    () => broker.measure());
  const m = await broker.stop();
  const peakRssMiB = rss.stop();
  const msgPerS = pub.acked / ((pub.lastAckAt - pub.firstAt) / 1000);
  return { acked: pub.acked, stored: NaN, msgPerS, storedPerS: NaN, cpuUsPerMsg: m.cpuUs / pub.acked, peakRssMiB, errors: pub.errors,
    load: loadavg()[0] ?? NaN, pubCpuUsPerMsg: (pub.publishCpuMs * 1000) / pub.acked,
    loopBusy: m.loopBusy, loopUsPerMsg: (m.loopActiveMs * 1000) / pub.acked };
}

async function spoolDepth(http: string, token: string): Promise<number> {
  const res = await fetch(`${http}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  const m = /^anju_spool_depth_readings (\d+)/m.exec(text);
  if (!m) throw new Error(`no anju_spool_depth_readings on /metrics (HTTP ${res.status})`);
  return Number(m[1]);
}

async function countStored(dir: string, prefix: string): Promise<number> {
  const instance = await DuckDBInstance.create(join(dir, embeddedDatabaseFile));
  const conn = await instance.connect();
  try {
    const reader = await conn.runAndReadAll(`SELECT count(*) AS n FROM ${kindTables.smoke_detector.table} WHERE starts_with(device, $1)`, [prefix]);
    return Number(reader.getRowObjects()[0]?.n ?? NaN);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

async function anju(l: { devices: number; messages: number }): Promise<Side> {
  const dir = await mkdtemp(join(tmpdir(), 'anju-bench-ratio-'));
  try {
    // Provisioned the way an operator's API call would, before the platform opens the file.
    const db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '512MB', threads: 2 }, { logger });
    const directory = createDeviceDirectory({ state: db.state });
    await directory.load();
    const devices = await provisionDetectors(directory, l.devices);
    await storeThisMonthsReports(db);
    await db.close();
    const token = `anju_bench_${randomBytes(16).toString('hex')}`;
    // Production defaults (fsync on, DuckDB 512MB / 2 threads, 1 GiB spool) but for ports, the demo
    // fleet, and the per-IP connect rate (every device connects from 127.0.0.1 here); and the ANJU_*
    // settings given to the bench (printed in its header).
    const config = loadConfig({
      ...givenSettings(), ANJU_DATA_DIR: dir, ANJU_HOST: '127.0.0.1', ANJU_MQTT_PORT: '0', ANJU_WS_PORT: '0', ANJU_HTTP_PORT: '0',
      ANJU_SIM: '0', ANJU_CONNECT_RATE: '1000000', ANJU_ADMIN_TOKEN: token,
    });
    const platform = await startPlatform(config, 'all', { logger });
    const http = platform.urls.http!;
    let pub: PublishersResult;
    const rss = rssSampler();
    // CPU and profile from the moment every device is connected (CONNECTs cost a scrypt each) to the spool drained.
    let profiler: Promise<Capture> | undefined;
    let allocProfiler: Promise<Capture> | undefined;
    let cpu0 = process.cpuUsage();
    let elu0 = performance.eventLoopUtilization();
    let cpu: NodeJS.CpuUsage;
    let elu: ReturnType<typeof performance.eventLoopUtilization>;
    let drainedAt: number;
    try {
      pub = await runPublishers({ url: platform.urls.mqtt!, devices, seconds: publishSeconds(l), window, ratePerPublisher: 0, messages: l.messages,
        cpus: cpuSets?.load },
        undefined, () => {
        cpu0 = process.cpuUsage();
        elu0 = performance.eventLoopUtilization();
        if (values.profile) profiler = startCpuProfile();
        if (values['alloc-profile']) allocProfiler = startAllocationProfile();
      });
      const deadline = Date.now() + 120_000;
      // Every 50 ms, not 10: each poll is an HTTP request and a /metrics render in Anju's own process,
      // counted in its CPU per message (0.9 µs per message at 10 ms in a 2026-12-05 profile).
      while ((await spoolDepth(http, token)) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      drainedAt = Date.now();
      cpu = process.cpuUsage(cpu0);
      elu = performance.eventLoopUtilization(elu0);
      await (await profiler)?.stop(join(values.profile!, `anju-${l.devices}x${l.messages}-${Date.now()}.cpuprofile`));
      await (await allocProfiler)?.stop(join(values['alloc-profile']!, `anju-${l.devices}x${l.messages}-${Date.now()}.heapprofile`));
    } finally {
      await platform.stop();
    }
    const peakRssMiB = rss.stop();
    const stored = await countStored(dir, 'bench-');
    return {
      acked: pub.acked, stored, msgPerS: pub.acked / ((pub.lastAckAt - pub.firstAt) / 1000), storedPerS: stored / ((drainedAt - pub.firstAt) / 1000),
      cpuUsPerMsg: (cpu.user + cpu.system) / pub.acked, peakRssMiB, errors: pub.errors, load: loadavg()[0] ?? NaN,
      pubCpuUsPerMsg: (pub.publishCpuMs * 1000) / pub.acked, loopBusy: elu.utilization, loopUsPerMsg: (elu.active * 1000) / pub.acked,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '—');

async function main(): Promise<void> {
  console.log(`bench/ingest/ratio: QoS 1, window ${window}, ${rounds} round(s) per load${cpuSets ? `; server on CPUs ${allowedCpus() ?? cpuSets.server}, publishers on ${cpuSets.load}` : ''}; node ${process.version}, ${new Date().toISOString()}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  printGivenSettings();
  const rows: string[] = [];
  const summary: string[] = [];
  for (const l of loads) {
    const name = `${l.devices} devices × ${l.messages.toLocaleString('en')}`;
    const ratios: number[] = [];
    const anjuRates: number[] = [];
    const bareRates: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const b = values.only === 'anju' ? undefined : await bare(l);
      const a = values.only === 'bare' ? undefined : await anju(l);
      const ratio = a && b ? a.msgPerS / b.msgPerS : NaN;
      if (Number.isFinite(ratio)) ratios.push(ratio);
      if (a) anjuRates.push(a.msgPerS);
      if (b) bareRates.push(b.msgPerS);
      if (b) rows.push(`| ${name} | bare Aedes (no auth, no subscriber) | ${b.acked} | — | ${fmt(b.msgPerS)} | — | ${fmt(b.cpuUsPerMsg)} | ${fmt(b.loopBusy * 100)} % | ${fmt(b.pubCpuUsPerMsg)} | ${b.peakRssMiB} | ${fmt(b.load, 1)} | ${b.errors} |`);
      if (a) rows.push(`| ${name} | Anju (all: auth, ACL, ingest, spool fsync, DuckDB, alerts) | ${a.acked} | ${a.stored} | ${fmt(a.msgPerS)} | ${fmt(a.storedPerS)} | ${fmt(a.cpuUsPerMsg)} | ${fmt(a.loopBusy * 100)} % | ${fmt(a.pubCpuUsPerMsg)} | ${a.peakRssMiB} | ${fmt(a.load, 1)} | ${a.errors} |`);
      console.log(`  ${name}, round ${r + 1}: bare ${fmt(b?.msgPerS ?? NaN)} msg/s, anju ${fmt(a?.msgPerS ?? NaN)} msg/s (${a?.stored ?? '—'} / ${a?.acked ?? '—'} stored), ratio ${fmt(ratio, 2)}`);
      if (a && b) {
        // What 0.6× the bare rate asks of Anju at the measured costs. Two bounds: the machine's cores,
        // which Anju shares with its publishers' process ((Anju + publishers) µs/msg × rate ≤ cores),
        // and Anju's event loop, one thread (loop µs/msg × rate ≤ 1 s/s).
        // With --cpus the publishers have CPUs of their own: the bound is the server's (this process is
        // pinned to them, and availableParallelism counts the CPUs it may use).
        const target = 0.6 * b.msgPerS;
        const cores = availableParallelism();
        const shared = cpuSets ? 0 : 1;
        const used = (s: Side) => ((s.cpuUsPerMsg + shared * s.pubCpuUsPerMsg) * s.msgPerS) / 1e6;
        console.log(`    cores used (server${cpuSets ? ', on its own CPUs' : ' + publishers'}): bare ${fmt(used(b), 2)}, Anju ${fmt(used(a), 2)} of ${cores}. For 0.6× (${fmt(target)} msg/s) Anju may spend`
          + ` ≤ ${fmt((cores * 1e6) / target - shared * a.pubCpuUsPerMsg)} µs of CPU per message (now ${fmt(a.cpuUsPerMsg)})`
          + ` and ≤ ${fmt(1e6 / target)} µs of its event loop (now ${fmt(a.loopUsPerMsg)})`);
      }
      if (a && a.stored !== a.acked) {
        console.log(`LOSS: ${a.acked - a.stored} acknowledged readings not in the store (${name})`);
        process.exitCode = 1;
      }
    }
    if (ratios.length > 0) {
      // The bare broker's rate swings between rounds on a shared machine (34,000–57,000 msg/s in one
      // run), so each round's ratio says as much about its neighbour's load as about Anju: the ratio of
      // the medians is printed beside the rounds'. An even count's median is the mean of its middle two.
      const sorted = [...ratios].sort((x, y) => x - y);
      summary.push(`${name}, window ${window}: Anju / bare by round ${sorted.map((x) => fmt(x, 2)).join(', ')} (median ${fmt(median(ratios), 2)});`
        + ` median Anju ${fmt(median(anjuRates))} / median bare ${fmt(median(bareRates))} msg/s = ${fmt(median(anjuRates) / median(bareRates), 2)}`);
    }
  }
  console.log('\n| load | server | PUBACKs | rows stored | msg/s (PUBACKs) | stored msg/s | server CPU µs/msg | server event loop busy | publishers CPU µs/msg | peak RSS MiB | load avg | errors |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(r);
  console.log('');
  for (const s of summary) console.log(s);
}

process.once('SIGINT', () => { killPublishers(); process.exit(130); });
main().then(() => process.exit(), (err: Error) => { console.error(err); killPublishers(); process.exit(1); });
