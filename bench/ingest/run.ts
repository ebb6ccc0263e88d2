/**
 * `npm run bench`: N simulated publishers at QoS 1 → broker → ingest → DuckDB, against two
 * baselines measured in the same run on the same machine (these machines are shared and noisy):
 *   1. bare broker: a default Aedes with one plain subscriber and no ingest;
 *   2. raw store: DuckDB `write()` of pre-built batches, no MQTT at all.
 * Prints sustained messages/s, p50/p99 publish-to-stored (or -received) latency and peak RSS, and
 * the pipeline/baseline ratio. Options: --publishers N (default 50), --seconds S (default 10),
 * --window W in-flight messages per publisher (default 10), --rate R msg/s per publisher (0 = max).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createBroker } from '../../broker/index.js';
import type { Reading } from '../../core/index.js';
import { createInProcessSource, createPipeline, createRejectLog, defaultPipelineConfig } from '../../ingest/index.js';
import { createDeviceDirectory, createEmbeddedDatabase, createStoreWriter, type TelemetryStore } from '../../storage/index.js';

const { values } = parseArgs({ options: {
  publishers: { type: 'string', default: '50' }, seconds: { type: 'string', default: '10' },
  window: { type: 'string', default: '10' }, rate: { type: 'string', default: '0' },
} });
const publishers = Number(values.publishers);
const seconds = Number(values.seconds);
const window = Number(values.window);
const rate = Number(values.rate);
const logger = pino({ level: 'warn' });

interface PhaseResult { name: string; acked: number; processed: number; msgPerS: number; p50: number; p99: number; peakRssMiB: number; errors: number }

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

class Latencies {
  private buf = new Float64Array(1 << 16);
  private n = 0;
  push(v: number): void {
    if (this.n === this.buf.length) { const b = new Float64Array(this.buf.length * 2); b.set(this.buf); this.buf = b; }
    this.buf[this.n++] = v;
  }
  get count(): number { return this.n; }
  sorted(): Float64Array { return this.buf.slice(0, this.n).sort(); }
}

function rssSampler(): { stop(): number } {
  let peak = process.memoryUsage().rss;
  const t = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 100);
  return { stop() { clearInterval(t); return Math.round(Math.max(peak, process.memoryUsage().rss) / 2 ** 20); } };
}

function runPublishers(url: string, devices: Array<{ id: string; secret: string }>): Promise<{ acked: number; errors: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./publishers.ts', import.meta.url), {
      workerData: { url, devices, seconds, window, ratePerPublisher: rate }, execArgv: ['--import', 'tsx'],
    });
    worker.on('message', (m: { type: string; acked: number; errors: number; message?: string }) => {
      if (m.type === 'done') resolve({ acked: m.acked, errors: m.errors });
      if (m.type === 'error') reject(new Error(m.message));
    });
    worker.on('error', reject);
  });
}

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<void> {
  const start = Date.now();
  while (!cond() && Date.now() - start < timeoutMs) await new Promise((r) => setTimeout(r, 20));
}

async function bareBroker(): Promise<PhaseResult> {
  const aedes = await Aedes.createBroker();
  const server = createServer(aedes.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const lat = new Latencies();
  let lastAt = 0;
  const sub = await mqtt.connectAsync(url, { protocolVersion: 4, clientId: 'bench-sub', reconnectPeriod: 0 });
  sub.on('message', (_t, payload) => { const now = Date.now(); lat.push(now - (JSON.parse(payload.toString()) as { ts: number }).ts); lastAt = now; });
  await sub.subscribeAsync('devices/+/telemetry', { qos: 0 });
  const devices = Array.from({ length: publishers }, (_, i) => ({ id: `bench-${i}`, secret: 'unused' }));
  const rss = rssSampler();
  const started = Date.now();
  const { acked, errors } = await runPublishers(url, devices);
  await waitUntil(() => lat.count >= acked, 10_000);
  const peakRssMiB = rss.stop();
  const elapsed = (Math.max(lastAt, started + 1) - started) / 1000;
  await sub.endAsync();
  await new Promise<void>((r) => aedes.close(() => r()));
  server.close();
  const s = lat.sorted();
  return { name: 'bare Aedes + 1 subscriber (baseline)', acked, processed: lat.count, msgPerS: lat.count / elapsed, p50: percentile(s, 50), p99: percentile(s, 99), peakRssMiB, errors };
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
  const batch = 2_000;
  const total = 200_000;
  const lat = new Latencies();
  const rss = rssSampler();
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
  await db.close();
  await rm(dir, { recursive: true, force: true });
  const s = lat.sorted();
  return { name: `raw DuckDB write, batches of ${batch} (baseline; latency per batch)`, acked: total, processed: total, msgPerS: total / elapsed, p50: percentile(s, 50), p99: percentile(s, 99), peakRssMiB, errors: 0 };
}

async function pipeline(): Promise<PhaseResult> {
  const dir = await mkdtemp(join(tmpdir(), 'anju-bench-'));
  const db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '512MB', threads: 2 }, { logger });
  const directory = createDeviceDirectory({ state: db.state });
  await directory.load();
  const devices: Array<{ id: string; secret: string }> = [];
  for (let i = 0; i < publishers; i++) {
    const { device, secret } = await directory.create({ id: `bench-${i}`, kind: 'smoke_detector', site: 'bench', building: `b${i % 4}` });
    devices.push({ id: device.id, secret });
  }
  const metrics = new Registry();
  const broker = await createBroker(
    { host: '127.0.0.1', port: 0, wsPort: 0, maxFrameBytes: 256 * 1024, connectRatePerMinute: 100_000, drainTimeoutMs: 30_000 },
    { policy: { authenticateDevice: (id, secret) => directory.verify(id, secret), serviceAccounts: [] }, logger, metrics },
  );
  const lat = new Latencies();
  let lastAt = 0;
  // Measure at the store boundary: a reading counts once write() resolved (committed).
  const timed: TelemetryStore = {
    name: db.telemetry.name,
    latest: (d) => db.telemetry.latest(d),
    latestAll: () => db.telemetry.latestAll(),
    series: (q) => db.telemetry.series(q),
    close: () => db.telemetry.close(),
    async write(batch) {
      await db.telemetry.write(batch);
      const now = Date.now();
      for (const r of batch) lat.push(now - r.ts);
      lastAt = now;
    },
  };
  const writer = createStoreWriter({ maxBatch: 2_000, flushIntervalMs: 200, maxBuffered: 500_000 }, { store: timed, logger, metrics });
  const rejects = createRejectLog({ capacity: 100 }, { metrics });
  const pipe = createPipeline(defaultPipelineConfig, { devices: directory, consumers: [writer], rejects, logger, metrics });
  const source = createInProcessSource({}, { aedes: broker.aedes });
  await source.start((m) => pipe.handle(m));

  const rss = rssSampler();
  const started = Date.now();
  const { acked, errors } = await runPublishers(`mqtt://127.0.0.1:${broker.tcpPort}`, devices);
  await writer.flush();
  await waitUntil(() => lat.count >= acked, 10_000);
  const peakRssMiB = rss.stop();
  const elapsed = (Math.max(lastAt, started + 1) - started) / 1000;
  await source.stop();
  await writer.close();
  await broker.close();
  await db.close();
  await rm(dir, { recursive: true, force: true });
  const s = lat.sorted();
  const stats = pipe.stats();
  return { name: 'Anju: auth+ACL broker → ingest → DuckDB (publish → committed)', acked, processed: lat.count, msgPerS: lat.count / elapsed, p50: percentile(s, 50), p99: percentile(s, 99), peakRssMiB, errors: errors + stats.rejected };
}

async function main(): Promise<void> {
  console.log(`bench/ingest: ${publishers} publishers, QoS 1, window ${window}, ${seconds} s per phase, rate ${rate || 'max'}; node ${process.version}, ${new Date().toISOString()}`);
  const results: PhaseResult[] = [];
  for (const phase of [bareBroker, rawStore, pipeline]) {
    const r = await phase();
    results.push(r);
    console.log(`  done: ${r.name}`);
  }
  const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '—');
  console.log('\n| phase | msgs acked | msgs processed | msg/s | p50 ms | p99 ms | peak RSS MiB | errors |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) console.log(`| ${r.name} | ${r.acked} | ${r.processed} | ${fmt(r.msgPerS)} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${r.peakRssMiB} | ${r.errors} |`);
  const [bare, raw, pipe] = results as [PhaseResult, PhaseResult, PhaseResult];
  console.log(`\npipeline / bare broker throughput: ${fmt(pipe.msgPerS / bare.msgPerS, 2)}`);
  console.log(`pipeline / raw store write rate:   ${fmt(pipe.msgPerS / raw.msgPerS, 2)}`);
  if (pipe.processed < pipe.acked) {
    console.log(`LOSS: ${pipe.acked - pipe.processed} acknowledged messages were not stored`);
    process.exitCode = 1;
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
