/**
 * `npm run bench`: N simulated publishers at QoS 1 → broker → ingest → DuckDB, against two
 * baselines measured in the same run on the same machine (these machines are shared and noisy):
 *   1. bare broker: a default Aedes with one plain subscriber and no ingest;
 *   2. raw store: DuckDB `write()` of pre-built batches, no MQTT at all.
 * Prints sustained messages/s, p50/p99 publish-to-stored (or -received) latency and peak RSS, and
 * the pipeline/baseline ratio. Two loads: saturation (every publisher as fast as its PUBACKs
 * allow: throughput) and a fixed offered load (--rate msg/s per publisher: latency without a
 * backlog). Options: --publishers N (default 50), --seconds S (default 10), --window W in-flight
 * messages per publisher (default 10), --rate R msg/s per publisher for the fixed load (default 100),
 * --phases a comma list of bare, raw, raw-fixed, pipeline, pipeline-nosync, bare-fixed, pipeline-fixed
 * (default all but raw-fixed; e.g. `pipeline-nosync` alone to compare two checkouts' CPU cost per
 * message, run alternately; `raw,raw-fixed` for the store alone), --raw-batch N readings per write in
 * the raw phase (default 2,000; the forwarder's batches at saturation are ~200–600, and the store's
 * CPU per reading falls with the batch: its fixed cost per write is a few ms of DuckDB CPU).
 */
import { benchConfig, printGivenSettings, provisionDetectors, timedStore } from '../common/hub.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import pino from 'pino';
import { Registry } from 'prom-client';
import { assembleBroker, assembleIngest } from '../../cli/assemble/index.js';
import type { Reading } from '../../core/index.js';
import { openTelemetryPath } from '../../cli/telemetry-path.js';
import { createDeviceDirectory, createEmbeddedDatabase } from '../../storage/index.js';
import { runPublishers as runPublishersChild, type PublishersResult } from '../common/run-publishers.js';
import { Latencies, percentile, rssSampler, sentAt, waitUntil } from '../common/stats.js';

const { values } = parseArgs({ options: {
  publishers: { type: 'string', default: '50' }, seconds: { type: 'string', default: '10' },
  window: { type: 'string', default: '10' }, rate: { type: 'string', default: '100' },
  phases: { type: 'string', default: 'bare,raw,pipeline,pipeline-nosync,bare-fixed,pipeline-fixed' },
  'raw-batch': { type: 'string', default: '2000' },
} });
const rawBatch = Number(values['raw-batch']);
if (!Number.isSafeInteger(rawBatch) || rawBatch < 1) {
  console.error('bench/ingest: --raw-batch must be a positive integer (readings per write in the raw phase)');
  process.exit(2);
}
const publishers = Number(values.publishers);
const seconds = Number(values.seconds);
const window = Number(values.window);
const fixedRate = Number(values.rate);
const logger = pino({ level: 'warn' });

/** cpuUsPerMsg: CPU time of this process (broker, ingest, spool, store — the publishers run in a child) per message processed. */
interface PhaseResult { name: string; acked: number; processed: number; msgPerS: number; p50: number; p99: number; peakRssMiB: number; cpuUsPerMsg: number;
  errors: number;
  /** Publish → PUBACK in the publishers' process, ms (MQTT phases only). */
  ack50?: number; ack99?: number }

/** CPU time (user + system, all threads) this process has used since `from`, µs. */
function cpuSince(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return d.user + d.system;
}

function runPublishers(url: string, devices: Array<{ id: string; secret: string }>, rate: number): Promise<PublishersResult> {
  return runPublishersChild({ url, devices, seconds, window, ratePerPublisher: rate });
}

async function bareBroker(rate: number): Promise<PhaseResult> {
  const aedes = await Aedes.createBroker();
  const server = createServer(aedes.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const lat = new Latencies();
  let lastAt = 0;
  const sub = await mqtt.connectAsync(url, { protocolVersion: 4, clientId: 'bench-sub', reconnectPeriod: 0 });
  sub.on('message', (_t, payload) => { const now = Date.now(); lat.push(now - sentAt((JSON.parse(payload.toString()) as { seq: number }).seq)); lastAt = now; });
  await sub.subscribeAsync('devices/+/telemetry', { qos: 0 });
  const devices = Array.from({ length: publishers }, (_, i) => ({ id: `bench-${i}`, secret: 'unused' }));
  const rss = rssSampler();
  const cpu0 = process.cpuUsage();
  const { acked, errors, connectedAt: started, ack50, ack99 } = await runPublishers(url, devices, rate);
  await waitUntil(() => lat.count >= acked, 10_000);
  const peakRssMiB = rss.stop();
  const cpuUs = cpuSince(cpu0);
  const elapsed = (Math.max(lastAt, started + 1) - started) / 1000;
  await sub.endAsync();
  await new Promise<void>((r) => aedes.close(() => r()));
  server.close();
  const s = lat.sorted();
  return { name: `bare Aedes + 1 subscriber (baseline), ${loadName(rate)}`, acked, processed: lat.count, msgPerS: lat.count / elapsed, p50: percentile(s, 50), p99: percentile(s, 99), peakRssMiB, cpuUsPerMsg: cpuUs / lat.count, errors,
    ack50, ack99 };
}

function readingsFor(n: number, t0: number): Reading[] {
  return Array.from({ length: n }, (_, i) => ({
    device: `raw-${i % 500}`, kind: 'smoke_detector' as const, site: 'bench', building: 'b1', ts: t0 + Math.floor(i / 500), seq: i,
    fields: { smoke: 0.01, temperature: 21.5, co: 1, battery: 90 },
  }));
}

async function rawStore(): Promise<PhaseResult> {
  const dir = await mkdtemp(join(tmpdir(), 'anju-bench-raw-'));
  const db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '512MB', threads: 2 }, { logger });
  const batch = rawBatch;
  const total = 200_000;
  const lat = new Latencies();
  const rss = rssSampler();
  const cpu0 = process.cpuUsage();
  const t0 = Date.now() - 86_400_000;
  const all = readingsFor(total, t0);
  const started = performance.now();
  for (let i = 0; i < total; i += batch) {
    const b0 = performance.now();
    await db.telemetry.write(all.slice(i, i + batch));
    lat.push(performance.now() - b0);
  }
  const elapsed = (performance.now() - started) / 1000;
  const peakRssMiB = rss.stop();
  const cpuUs = cpuSince(cpu0);
  await db.close();
  await rm(dir, { recursive: true, force: true });
  const s = lat.sorted();
  return { name: `raw DuckDB write, batches of ${batch} (baseline; latency per batch)`, acked: total, processed: total, msgPerS: total / elapsed, p50: percentile(s, 50), p99: percentile(s, 99), peakRssMiB, cpuUsPerMsg: cpuUs / total, errors: 0 };
}

/**
 * The store alone at a steady moderate rate, as the forwarder feeds it below saturation: batches of
 * 100 readings (500 devices, in order) every 20 ms — 5,000 readings/s — for `seconds`. Latency per
 * write; CPU and event-loop time per reading, where a write's fixed cost per batch shows.
 */
async function rawStoreFixed(): Promise<PhaseResult> {
  const dir = await mkdtemp(join(tmpdir(), 'anju-bench-raw-fixed-'));
  const db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '512MB', threads: 2 }, { logger });
  const batch = 100;
  const everyMs = 20;
  const lat = new Latencies();
  const rss = rssSampler();
  const t0 = Date.now() - 3_600_000;
  let written = 0;
  const cpu0 = process.cpuUsage();
  const loop0 = performance.eventLoopUtilization();
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    const b0 = performance.now();
    const n = written;
    await db.telemetry.write(readingsFor(batch, t0).map((r, i) => ({ ...r, device: `raw-${(n + i) % 500}`, ts: t0 + n + i, seq: n + i })));
    written += batch;
    const took = performance.now() - b0;
    lat.push(took);
    await new Promise((r) => setTimeout(r, Math.max(0, everyMs - took)));
  }
  const elapsed = (performance.now() - started) / 1000;
  const loopMs = performance.eventLoopUtilization(loop0).active;
  const cpuUs = cpuSince(cpu0);
  const peakRssMiB = rss.stop();
  await db.close();
  await rm(dir, { recursive: true, force: true });
  const s = lat.sorted();
  const loop = `event loop ${(loopMs / elapsed).toFixed(0)} ms/s busy, ${(loopMs * 1000 / written).toFixed(1)} µs per reading`;
  return { name: `raw DuckDB write, ${batch}-reading batches every ${everyMs} ms (latency per batch; ${loop})`,
    acked: written, processed: written, msgPerS: written / elapsed, p50: percentile(s, 50), p99: percentile(s, 99), peakRssMiB,
    cpuUsPerMsg: cpuUs / written, errors: 0 };
}

async function pipeline(rate: number, fsync = true): Promise<PhaseResult> {
  const dir = await mkdtemp(join(tmpdir(), 'anju-bench-'));
  const db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '512MB', threads: 2 }, { logger });
  const directory = createDeviceDirectory({ state: db.state });
  await directory.load();
  const devices = await provisionDetectors(directory, publishers);
  const metrics = new Registry();
  const config = benchConfig(dir);
  const broker = await assembleBroker(config, { directory, logger, metrics });
  const lat = new Latencies();
  let lastAt = 0;
  // Measure at the store boundary: a reading counts once write() resolved (committed).
  const timed = timedStore(db.telemetry, (batch, now) => {
    for (const r of batch) lat.push(now - sentAt(r.seq ?? 0));
    lastAt = now;
  });
  const { writeIntervalMs, writeBatch } = config.spool;
  const path = await openTelemetryPath({ dataDir: dir, quotaBytes: 2 * 1024 ** 3, fsync, writeIntervalMs, writeBatch }, { store: timed, logger, metrics });
  // The spool alone as consumer: the ingest path without the alerts and the API (bench/alerts has the whole hub).
  const ingest = assembleIngest(config, { devices: directory, spool: path.spool, broker, logger, metrics });
  const pipe = ingest.pipeline;
  await ingest.start();
  await broker.open();

  const rss = rssSampler();
  const cpu0 = process.cpuUsage();
  const { acked, errors, connectedAt: started, ack50, ack99 } = await runPublishers(`mqtt://127.0.0.1:${broker.tcpPort}`, devices, rate);
  await path.forwarder.flush();
  await waitUntil(() => lat.count >= acked, 10_000);
  const peakRssMiB = rss.stop();
  const cpuUs = cpuSince(cpu0);
  const elapsed = (Math.max(lastAt, started + 1) - started) / 1000;
  await ingest.stop();
  await path.close();
  await broker.close();
  await db.close();
  await rm(dir, { recursive: true, force: true });
  const s = lat.sorted();
  const stats = pipe.stats();
  return { name: `Anju broker (auth, ACL) → ingest → spool (fsync ${fsync ? 'on' : 'off'}) → DuckDB, ${loadName(rate)}`, acked, processed: lat.count, msgPerS: lat.count / elapsed, p50: percentile(s, 50), p99: percentile(s, 99), peakRssMiB, cpuUsPerMsg: cpuUs / lat.count, errors: errors + stats.rejected,
    ack50, ack99 };
}

function loadName(rate: number): string {
  return rate > 0 ? `offered ${rate * publishers} msg/s` : 'saturation';
}

async function main(): Promise<void> {
  console.log(`bench/ingest: ${publishers} publishers, QoS 1, window ${window}, ${seconds} s per phase; node ${process.version}, ${new Date().toISOString()}`);
  printGivenSettings();
  const results: PhaseResult[] = [];
  const all: Record<string, () => Promise<PhaseResult>> = {
    bare: () => bareBroker(0), raw: () => rawStore(), 'raw-fixed': () => rawStoreFixed(), pipeline: () => pipeline(0), 'pipeline-nosync': () => pipeline(0, false),
    'bare-fixed': () => bareBroker(fixedRate), 'pipeline-fixed': () => pipeline(fixedRate),
  };
  const wanted = (values.phases ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  const unknown = wanted.filter((p) => !(p in all));
  if (unknown.length > 0) throw new Error(`unknown phases ${unknown.join(', ')}; known: ${Object.keys(all).join(', ')}`);
  const byName = new Map<string, PhaseResult>();
  for (const name of wanted) {
    const r = await (all[name] as () => Promise<PhaseResult>)();
    results.push(r);
    byName.set(name, r);
    console.log(`  done: ${r.name}`);
  }
  const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '—');
  console.log('\n| phase | msgs acked | msgs processed | msg/s | p50 ms | p99 ms | publish→PUBACK p50 / p99 ms | peak RSS MiB | server CPU µs/msg | errors |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const ack = r.ack50 === undefined ? '—' : `${fmt(r.ack50, 1)} / ${fmt(r.ack99 ?? NaN, 1)}`;
    console.log(`| ${r.name} | ${r.acked} | ${r.processed} | ${fmt(r.msgPerS)} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${ack} | ${r.peakRssMiB} | ${fmt(r.cpuUsPerMsg)} | ${r.errors} |`);
  }
  const bare = byName.get('bare');
  const raw = byName.get('raw');
  const pipe = byName.get('pipeline');
  const pipeNoSync = byName.get('pipeline-nosync');
  const bareFixed = byName.get('bare-fixed');
  const pipeFixed = byName.get('pipeline-fixed');
  console.log('');
  if (pipe && bare) console.log(`saturation throughput, pipeline / bare broker:  ${fmt(pipe.msgPerS / bare.msgPerS, 2)}`);
  if (pipe && raw) console.log(`saturation throughput, pipeline / raw store:    ${fmt(pipe.msgPerS / raw.msgPerS, 2)}`);
  if (pipe && pipeNoSync) console.log(`cost of "PUBACK means durable" (fsync on / off): ${fmt(pipe.msgPerS / pipeNoSync.msgPerS, 2)}`);
  if (pipeFixed && bareFixed) console.log(`fixed load p50 latency, pipeline / bare broker: ${fmt(pipeFixed.p50 / bareFixed.p50, 1)} (${fmt(pipeFixed.p50, 1)} ms vs ${fmt(bareFixed.p50, 1)} ms)`);
  for (const r of [pipe, pipeNoSync, pipeFixed]) {
    if (r && r.processed < r.acked) {
      console.log(`LOSS: ${r.acked - r.processed} acknowledged messages were not stored (${r.name})`);
      process.exitCode = 1;
    }
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
