/**
 * `npm run bench:alerts`: publish → alarm on SSE, p50 and p99, at 10 %, 50 % and 90 % of the
 * pipeline's sustained throughput, beside publish → stored latency measured in the same run (the
 * baseline: the same readings, the same process, the same moment).
 *
 * Each phase builds a fresh hub with `assembleBroker` and `assembleHub` (cli/assemble/), as
 * `cli/platform.ts` does — embedded broker (scrypt device
 * auth, ACL) → in-process ingest → durable spool (fsync on; PUBACK after the group commit) →
 * forwarder → DuckDB, with the latest cache and the alert engine (`startAlerts`: rules, DuckDB alarm
 * store, MQTT notifier, escalation) as the pipeline's other consumers, and the Fastify app from
 * `createApp` listening on port 0 — then:
 *   - an SSE client in its own process (the control room) holds `GET /api/alerts/stream` open;
 *   - N smoke detectors in another process publish at QoS 1; among ordinary readings some are fire
 *     readings (alarm flag, smoke 0.5 dB/m) — `--alarms` per second across the fleet (default 10), or
 *     one message in `--trigger-every` K per device — and the device's next reading clears the alarm
 *     again, so each fire reading raises exactly one new critical `smoke` alarm;
 *   - publish → stored: send time (carried in `seq`) → `TelemetryStore.write` resolved, per reading,
 *     and split in three: send → received by ingest (the reading's `receivedAt`), → its store write
 *     began (the spool's group commit and the forwarder's pause), → that write resolved;
 *   - publish → SSE alarm: send time of the fire reading → its `raised` event read by the SSE client,
 *     matched by (device, ts) — the alarm's start time is the reading's ts.
 *   Inside the hub the alarm path is split at two points: the fire reading handed to the alert
 *   engine (after the spool's group commit took it), and the `raised` event handed to its listeners
 *   (after the alarm store's commit).
 * Baseline at every load level, right after it: the same publishers, rate and mix against a bare
 * Aedes (no auth, nothing stored), whose publish → PUBACK is what the harness itself costs.
 * Baseline 0 (no MQTT, no load): the engine and its DuckDB alarm store alone, fire and clearing
 * readings handed to `accept()` one after the other — what one alarm costs, and the most alarms
 * per second that store sustains. Phase 1 runs the whole hub at saturation (as fast as PUBACKs
 * allow, ordinary readings: the spine's throughput with every consumer attached) for the 100 %
 * figure; the load levels offer a fixed rate, that share of it, with the fire readings.
 * Every alarm store commit (`record()` / the engine's group commit `recordMany()`, one DuckDB
 * transaction each) is timed as well, with the events it carried. Incidents are on (as in
 * production, `startAlerts`): each fire alarm joins its building's fire incident, and publish →
 * the incident event carrying that alarm (stored, handed to the notifiers) is measured too. The
 * event loop's delay over each phase (p99 and max, `monitorEventLoopDelay`) shows how long ready work
 * waited for the loop: the part of every latency above that no single stage owns.
 *
 * Latencies leave out the messages sent in each phase's first `--warmup` seconds (a fresh hub and
 * database: its first writes take several times a steady one's) and report those apart.
 * Options: --profile DIR (a V8 CPU profile of each load level after its warm-up, to DIR), --warmup S (1),
 * --publishers N (50), --window W in-flight per publisher (10), --seconds S per load level (10),
 * --saturation-seconds S (5), --alarms R per second (10) or --trigger-every K, --levels 10,50,90,
 * --saturation R (msg/s: the levels are shares of R instead of the rate measured first, so two builds
 * are offered the same rates; the saturation phase then still runs and is printed), --nice-publishers N
 * (0: the publishers' and the SSE client's processes at this nice value, 0–19: they share the server's
 * two cores here, where devices and the control room would not, and niced they yield a core to it),
 * --cpus SERVER:LOAD (Linux, 4 cores or more: this process — Anju, and the bare broker in its turn —
 * on the CPUs of SERVER, the publishers and the SSE client on those of LOAD, e.g. 0-1:2-3; the
 * machine columns then still count every CPU).
 */
import { benchConfig, givenSettings, printGivenSettings, provisionDetectors, storeThisMonthsReports, timedStore } from '../common/hub.js';
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { Registry } from 'prom-client';
import { startAlerts } from '../../cli/alerts.js';
import { assembleBroker, assembleHub } from '../../cli/assemble/index.js';
import { loadConfig } from '../../core/config.js';
import type { Reading } from '../../core/index.js';
import { createDeviceDirectory, createEmbeddedDatabase, embeddedDatabaseFile, type AlarmStore } from '../../storage/index.js';
import { startBareBroker } from '../common/bare-broker.js';
import { startCpuProfile, type Capture } from '../common/profile.js';
import { cpuSnapshot, cpuSplitSince, type CpuSnapshot, type CpuSplit } from '../common/cpu-split.js';
import { allowedCpus, pinBench } from '../common/cpu-affinity.js';
import { Latencies, percentile, rssSampler, SentLatencies, sentAt, waitUntil } from '../common/stats.js';
import { killPublishers, runPublishers } from '../common/run-publishers.js';
import type { SseRaised } from './sse-client.js';

const { values } = parseArgs({ options: {
  publishers: { type: 'string', default: '50' }, window: { type: 'string', default: '10' },
  seconds: { type: 'string', default: '10' }, 'saturation-seconds': { type: 'string', default: '5' },
  alarms: { type: 'string', default: '10' }, 'trigger-every': { type: 'string', default: '0' },
  levels: { type: 'string', default: '10,50,90' }, saturation: { type: 'string' }, warmup: { type: 'string', default: '1' },
  profile: { type: 'string' }, 'nice-publishers': { type: 'string', default: '0' }, cpus: { type: 'string' },
} });
const publishers = Number(values.publishers);
const window = Number(values.window);
const seconds = Number(values.seconds);
const satSeconds = Number(values['saturation-seconds']);
const alarmsPerS = Number(values.alarms);
const fixedTriggerEvery = Number(values['trigger-every']);
const levels = values.levels.split(',').map(Number);
const givenSaturation = values.saturation === undefined ? undefined : Number(values.saturation);
const warmupMs = Number(values.warmup) * 1000;
const nice = Number(values['nice-publishers']);
if (!(Number.isInteger(nice) && nice >= 0 && nice <= 19)) {
  console.error('bench/alerts: --nice-publishers must be an integer from 0 to 19');
  process.exit(2);
}
/** This process on the server's CPUs (the load's are the publishers' and the SSE client's). */
const cpuSets = pinBench('bench/alerts', values.cpus);
if (![publishers, window, seconds, satSeconds, alarmsPerS, ...levels, givenSaturation ?? 1].every((n) => Number.isFinite(n) && n > 0)
  || !(fixedTriggerEvery === 0 || fixedTriggerEvery >= 2) || !(warmupMs >= 0 && warmupMs < seconds * 1000)) {
  console.error('bench/alerts: --publishers, --window, --seconds, --saturation-seconds, --alarms, --levels, --saturation must be positive numbers, --trigger-every ≥ 2, --warmup ≥ 0 and shorter than --seconds');
  process.exit(2);
}
/** Messages per device between fire readings at `offered` msg/s (≥ 2: the next reading clears). */
const triggerEveryAt = (offered: number) => (fixedTriggerEvery > 0 ? fixedTriggerEvery : Math.max(2, Math.round(offered / alarmsPerS)));
const logger = pino({ level: 'warn' });
// The production configuration's defaults (DuckDB 512MB / 2 threads, 1 GiB spool quota, fsync on,
// escalation after 5 / 30 min), and the ANJU_* settings given to the bench (printed in its header).
const config = loadConfig(givenSettings());

// ------------------------------------------------------------------ cleanup (bounded, interrupts)

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

async function cleanup(): Promise<void> {
  killPublishers();
  for (const c of children) c.kill('SIGKILL');
  children.clear();
  await Promise.all([...tempDirs].map((d) => rm(d, { recursive: true, force: true })));
  tempDirs.clear();
}

let aborting = false;
async function abort(reason: string, code: number): Promise<void> {
  if (aborting) return;
  aborting = true;
  console.error(`bench/alerts: ${reason}; cleaning up`);
  await cleanup().catch(() => undefined);
  process.exit(code);
}

function forkChild(file: string): ChildProcess {
  const child = fork(fileURLToPath(new URL(file, import.meta.url)), [], { execArgv: ['--import', 'tsx'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

interface SseClient { raised: SseRaised[]; others: Map<string, number>; stop(): void }

/** Starts the SSE client process and resolves once its stream answered 200. */
function openSseClient(url: string, token: string): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const child = forkChild('./sse-client.ts');
    const client: SseClient = { raised: [], others: new Map(), stop: () => { child.kill('SIGTERM'); } };
    const timer = setTimeout(() => reject(new Error('SSE client did not connect within 30 s')), 30_000);
    child.on('message', (m: SseRaised | { type: 'ready' | 'ended' } | { type: 'other'; event: string } | { type: 'error'; message: string }) => {
      if (m.type === 'raised') client.raised.push(m);
      else if (m.type === 'other') client.others.set(m.event, (client.others.get(m.event) ?? 0) + 1);
      else if (m.type === 'ready') { clearTimeout(timer); resolve(client); }
      else if (m.type === 'error') { clearTimeout(timer); reject(new Error(m.message)); }
    });
    child.on('error', reject);
    // A child that ends before its stream answered (a failed pin, say) says so, rather than the 30 s timeout.
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`SSE client exited (${code}) before its stream answered`)); });
    // It pins and renices itself, every thread it has, before it connects, as the publishers do.
    child.send({ url, token, nice, cpus: cpuSets?.load });
  });
}

// ------------------------------------------------------------------ one phase

/** Polls the WAL's size every 50 ms and counts the times it shrank: DuckDB folded it into the file (a checkpoint). */
function walWatcher(file: string): { folds(): number; stop(): void } {
  let last = 0;
  let folds = 0;
  const t = setInterval(() => {
    try {
      const size = statSync(file).size;
      if (size < last) folds += 1;
      last = size;
    } catch {
      // No WAL (yet, or just folded and removed).
      if (last > 0) folds += 1;
      last = 0;
    }
  }, 50);
  return { folds: () => folds, stop: () => clearInterval(t) };
}

const p50p99 = (sorted: Float64Array): [number, number] => [percentile(sorted, 50), percentile(sorted, 99)];

interface PhaseResult {
  name: string;
  offered: number; // msg/s, 0 = saturation
  acked: number;
  stored: number;
  msgPerS: number;
  stored50: number; stored99: number;
  /** Publish → PUBACK in the publishers' process (the broker, ingest and the spool's fsynced append): where the stored latency is spent before the store. */
  ack50: number; ack99: number;
  /** The warm-up (messages sent in its first `--warmup` s, left out of every latency above and below): publish → stored and → PUBACK p99, → SSE max. */
  warmStored99: number; warmAck99: number; warmSseMax: number;
  sse50: number; sse99: number;
  /** Send → the `raised` event committed and handed to listeners, inside the hub (no HTTP). */
  event50: number; event99: number;
  /** Send → the fire reading handed to the alert engine (after the spool's group commit): the part of the alarm path before the engine. */
  engine50: number; engine99: number;
  /** Send → the incident event carrying the alarm (its building's fire incident) stored and handed to the notifiers. */
  incident50: number; incident99: number; incidents: number;
  /** Incident store commits that stored events: how many, and how long each took. */
  incidentCommits: number; incidentCommit50: number; incidentCommit99: number;
  triggers: number; matched: number; extraRaised: number; cleared: number; triggerEvery: number;
  records: number; recordEvents: number; record50: number; record99: number; recordMax: number;
  /** Times the WAL shrank during the phase: DuckDB's checkpoints, during which every other commit waits. */
  walFolds: number;
  /** Share of the phase the alarm store spent committing alarm events (its events connection is serial). */
  recordBusy: number;
  anjuCores: number; pubCores: number; elu: number; peakRssMiB: number; errors: number; load: number;
  /** Event-loop delay over the phase (ms): how long a ready callback — a PUBACK, a store write's next step — waited. */
  loopDelay99: number; loopDelayMax: number;
  /**
   * Publish → stored in three parts, per reading (steady samples): sent → received by ingest (`receivedAt`:
   * MQTT, the broker, the loop), received → its store write began (the spool's group commit, then
   * the forwarder's pause), and that write (DuckDB's commit); each p50 / p99 ms. And the writes:
   * how many, their mean readings; and the spool's group commits (one file write and fdatasync each): how many.
   */
  split: { toIngest: [number, number]; toWrite: [number, number]; write: [number, number]; writes: number; perWrite: number; commits: number };
  /** This process's CPU by thread over the phase, and the machine's (Linux only); the publishers' CPU per acknowledged message, µs. */
  cpuSplit: CpuSplit | undefined; pubUsPerMsg: number;
}

/** The alarm store with its event commits timed: `record()` and the engine's group commit `recordMany()` (one DuckDB transaction each). */
function timedAlarms(store: AlarmStore): { store: AlarmStore; lat: Latencies; events: { n: number } } {
  const lat = new Latencies();
  const events = { n: 0 };
  const timed: AlarmStore = {
    ...store,
    async record(alarm, ev) {
      const t = performance.now();
      const r = await store.record(alarm, ev);
      lat.push(performance.now() - t);
      events.n += 1;
      return r;
    },
    async recordMany(entries) {
      const t = performance.now();
      const r = await store.recordMany(entries);
      lat.push(performance.now() - t);
      events.n += entries.length;
      return r;
    },
  };
  return { store: timed, lat, events };
}

async function phase(name: string, offered: number, phaseSeconds: number, triggerEvery: number): Promise<PhaseResult> {
  const dir = await mkdtemp(join(tmpdir(), 'anju-bench-alerts-'));
  tempDirs.add(dir);
  // The composition of cli/platform.ts (hub + embedded broker), with the store writes and alarm commits timed.
  const metrics = new Registry();
  const token = randomBytes(24).toString('base64url');
  const phaseConfig = benchConfig(dir, { ANJU_ADMIN_TOKEN: token });
  const db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: config.duckdb.memoryLimit, threads: config.duckdb.threads,
    checkpointThreshold: config.duckdb.checkpointThreshold }, { logger });
  const directory = createDeviceDirectory({ state: db.state });
  await directory.load();
  const devices = await provisionDetectors(directory, publishers);
  await storeThisMonthsReports(db);
  const broker = await assembleBroker(phaseConfig, { directory, logger, metrics });

  const storedLat = new SentLatencies();
  /** `${device}|${ts}` of each stored fire reading → its send time. */
  const fireSentAt = new Map<string, number>();
  let lastStoredAt = 0;
  const toIngest = new SentLatencies();
  const toWrite = new SentLatencies();
  const inWrite = new SentLatencies();
  let writes = 0;
  const timed = timedStore(db.telemetry, (batch, now, startedAt) => {
    writes += 1;
    for (const r of batch) {
      const sent = sentAt(r.seq ?? 0);
      storedLat.push(sent, now - sent);
      const received = r.receivedAt ?? startedAt;
      toIngest.push(sent, received - sent);
      toWrite.push(sent, startedAt - received);
      inWrite.push(sent, now - startedAt);
      if (r.fields.alarm === true) fireSentAt.set(`${r.device}|${r.ts}`, sent);
    }
    lastStoredAt = now;
  });
  const alarmStore = timedAlarms(db.alarms);
  // Every incident commit timed too (the incidents' own connection, one transaction per call).
  const incidentCommits = new Latencies();
  const recordIncidents = db.incidents.recordMany.bind(db.incidents);
  db.incidents.recordMany = async (entries, alarmSeq) => {
    const t = performance.now();
    const r = await recordIncidents(entries, alarmSeq);
    if (entries.length > 0) incidentCommits.push(performance.now() - t);
    return r;
  };
  const hub = await assembleHub(phaseConfig, { db, directory, broker, telemetry: timed, alarms: alarmStore.store, logger, metrics });
  await broker.open();
  const { alerts, path, pipeline: pipe } = hub;
  // When each fire reading reached the engine (a reading consumer, called after the spool took it).
  const engineAt = new Map<string, number>();
  const accept = alerts.engine.accept.bind(alerts.engine);
  alerts.engine.accept = (readings) => {
    const now = Date.now();
    for (const r of readings) if (r.fields.alarm === true && !engineAt.has(`${r.device}|${r.ts}`)) engineAt.set(`${r.device}|${r.ts}`, now);
    return accept(readings);
  };
  // In-process split of the alarm path: when the engine hands the `raised` event to its listeners.
  const emittedAt = new Map<string, number>();
  const offEmitted = alerts.engine.subscribe((e) => {
    if (e.type === 'raised' && e.alarm.type === 'smoke') emittedAt.set(`${e.alarm.originator.id}|${e.alarm.startTs}`, Date.now());
  });
  // When each smoke alarm first reached the incidents (opening or joining its building's fire incident).
  const incidentAt = new Map<string, number>();
  const incidentIds = new Set<string>();
  const offIncidents = alerts.incidents.subscribe((e) => {
    incidentIds.add(e.incident.id);
    // By the members, not the event's `alarm`: alarms that join in one commit are one event, whose `alarm` is the last of them.
    const now = Date.now();
    for (const m of e.incident.members) {
      if (m.type !== 'smoke') continue;
      const key = `${m.originator.id}|${m.startTs}`;
      if (!incidentAt.has(key)) incidentAt.set(key, now);
    }
  });
  const sse = await openSseClient(`${hub.urls.http}/api/alerts/stream`, token);

  const wal = walWatcher(join(dir, `${embeddedDatabaseFile}.wal`));
  const rss = rssSampler();
  const cpu0 = process.cpuUsage();
  // From the moment every publisher is connected, as the bare broker's (bench/common/bare-broker.ts
  // `measure()`): the CONNECTs' scrypt verifications and the publishers' start-up are left out.
  let split0: CpuSnapshot | undefined;
  let commits0 = 0;
  const elu0 = performance.eventLoopUtilization();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const t0 = Date.now();
  // A CPU profile of a load level (not the saturation phase) from the warm-up's end to the last PUBACK.
  let profiler: Promise<Capture> | undefined;
  let profileTimer: NodeJS.Timeout | undefined;
  const pub = await runPublishers({
    url: `mqtt://127.0.0.1:${broker.tcpPort}`, devices, seconds: phaseSeconds, window, ratePerPublisher: offered / publishers, triggerEvery, warmupMs, nice,
    cpus: cpuSets?.load,
  }, undefined, () => {
    split0 = cpuSnapshot();
    commits0 = path.spool.stats().commitsTotal;
    if (values.profile && offered > 0) profileTimer = setTimeout(() => { profiler = startCpuProfile(); }, warmupMs);
  });
  clearTimeout(profileTimer);
  await (await profiler)?.stop(join(values.profile!, `alerts-${name.replace(/\W+/g, '')}-${Date.now()}.cpuprofile`));
  const steadyFrom = pub.firstAt + warmupMs;
  await path.forwarder.flush();
  await waitUntil(() => storedLat.count >= pub.acked, 20_000);
  await alerts.engine.idle();
  await alerts.incidents.idle();
  const matchedNow = () => sse.raised.filter((e) => e.alarmType === 'smoke' && fireSentAt.has(`${e.device}|${e.startMs}`)).length;
  await waitUntil(() => matchedNow() >= pub.triggersAcked, 20_000);
  await new Promise((r) => setTimeout(r, 200)); // any duplicate would arrive right behind
  const elu = performance.eventLoopUtilization(elu0).utilization;
  loopDelay.disable();
  const cpu = process.cpuUsage(cpu0);
  const cpuSplit = cpuSplitSince(split0);
  const commits = path.spool.stats().commitsTotal - commits0;
  const wallMs = Date.now() - t0;
  const peakRssMiB = rss.stop();
  wal.stop();

  offEmitted();
  offIncidents();
  const sseLat = new Latencies();
  const eventLat = new Latencies();
  const engineLat = new Latencies();
  const incidentLat = new Latencies();
  /** Publish → SSE of the fire readings sent in the warm-up. */
  const warmSseLat = new Latencies();
  let extraRaised = 0;
  const seen = new Set<string>();
  for (const e of sse.raised) {
    if (e.alarmType !== 'smoke') continue;
    const key = `${e.device}|${e.startMs}`;
    const sent = fireSentAt.get(key);
    if (sent === undefined || seen.has(key)) { extraRaised += 1; continue; }
    seen.add(key);
    if (sent < steadyFrom) {
      warmSseLat.push(e.receivedAt - sent);
      continue;
    }
    sseLat.push(e.receivedAt - sent);
    const emitted = emittedAt.get(key);
    const atEngine = engineAt.get(key);
    if (atEngine !== undefined) engineLat.push(atEngine - sent);
    if (emitted !== undefined) eventLat.push(emitted - sent);
    const inIncident = incidentAt.get(key);
    if (inIncident !== undefined) incidentLat.push(inIncident - sent);
  }
  const cleared = sse.others.get('cleared') ?? 0;

  // Stopped in the reverse of the start order, as startPlatform does.
  sse.stop();
  await broker.close();
  await hub.stop();
  await db.close();
  await rm(dir, { recursive: true, force: true });
  tempDirs.delete(dir);

  const elapsed = (Math.max(lastStoredAt, pub.connectedAt + 1) - pub.connectedAt) / 1000;
  const { steady: s, warm: warmStored } = storedLat.split(steadyFrom);
  const warmSse = warmSseLat.sorted();
  const a = sseLat.sorted();
  const rec = alarmStore.lat.sorted();
  const ev = eventLat.sorted();
  const eng = engineLat.sorted();
  const inc = incidentLat.sorted();
  const incCommits = incidentCommits.sorted();
  const stats = pipe.stats();
  return {
    name, offered, acked: pub.acked, stored: storedLat.count, msgPerS: storedLat.count / elapsed,
    stored50: percentile(s, 50), stored99: percentile(s, 99), ack50: pub.ack50, ack99: pub.ack99,
    warmStored99: percentile(warmStored, 99), warmAck99: pub.warmAck99, warmSseMax: warmSse.length > 0 ? warmSse[warmSse.length - 1]! : NaN,
    sse50: percentile(a, 50), sse99: percentile(a, 99), event50: percentile(ev, 50),
      event99: percentile(ev, 99), engine50: percentile(eng, 50), engine99: percentile(eng, 99),
    incident50: percentile(inc, 50), incident99: percentile(inc, 99), incidents: incidentIds.size,
    incidentCommits: incCommits.length, incidentCommit50: percentile(incCommits, 50), incidentCommit99: percentile(incCommits, 99),
    triggers: pub.triggersAcked, matched: sseLat.count, extraRaised, cleared, triggerEvery,
    records: rec.length, recordEvents: alarmStore.events.n, record50: percentile(rec, 50), record99: percentile(rec, 99),
    recordMax: rec.length > 0 ? rec[rec.length - 1]! : NaN, walFolds: wal.folds(),
      recordBusy: rec.reduce((x, y) => x + y, 0) / wallMs,
    anjuCores: (cpu.user + cpu.system) / 1000 / wallMs, pubCores: pub.publishCpuMs / (phaseSeconds * 1000), elu, peakRssMiB,
    loopDelay99: loopDelay.percentile(99) / 1e6, loopDelayMax: loopDelay.max / 1e6,
    errors: pub.errors + stats.rejected, load: loadavg()[0] ?? NaN,
    split: { toIngest: p50p99(toIngest.split(steadyFrom).steady), toWrite: p50p99(toWrite.split(steadyFrom).steady),
      write: p50p99(inWrite.split(steadyFrom).steady), writes, perWrite: storedLat.count / writes, commits },
    cpuSplit, pubUsPerMsg: (pub.publishCpuMs * 1000) / pub.acked,
  };
}

// ------------------------------------------------------------------ baseline: the engine alone

interface EngineAlone { pairs: number; pairsPerS: number; raise50: number; raise99: number; record50: number; record99: number }

/**
 * The engine and its DuckDB alarm store with nothing else running: fire reading → `accept()` resolved
 * (the alarm stored and handed to listeners), then a clearing reading, one device after another.
 */
async function engineAlone(pairs: number): Promise<EngineAlone> {
  const dir = await mkdtemp(join(tmpdir(), 'anju-bench-alerts-'));
  tempDirs.add(dir);
  const db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: config.duckdb.memoryLimit, threads: config.duckdb.threads,
    checkpointThreshold: config.duckdb.checkpointThreshold }, { logger });
  const directory = createDeviceDirectory({ state: db.state });
  await directory.load();
  for (let i = 0; i < 10; i++) await directory.create({ id: `solo-${i}`, kind: 'smoke_detector', site: 'bench', building: `b${i % 4}` });
  const alarmStore = timedAlarms(db.alarms);
  const alerts = await startAlerts(config, { store: alarmStore.store, incidents: db.incidents, directory, metrics: new Registry(), logger });
  const raise = new Latencies();
  const reading = (device: string, ts: number, fire: boolean): Reading => ({
    device, kind: 'smoke_detector', site: 'bench', building: 'b0', ts, seq: ts * 1000,
    fields: fire ? { smoke: 0.5, alarm: true, temperature: 21.5, co: 1, battery: 90 } : { smoke: 0.01, temperature: 21.5, co: 1, battery: 90 },
  });
  const started = performance.now();
  let ts = Date.now();
  for (let i = 0; i < pairs; i++) {
    const device = `solo-${i % 10}`;
    const t = performance.now();
    await alerts.engine.accept([reading(device, ++ts, true)]);
    raise.push(performance.now() - t);
    await alerts.engine.accept([reading(device, ++ts, false)]);
  }
  const elapsed = (performance.now() - started) / 1000;
  await alerts.stop();
  await db.close();
  await rm(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
  const r = raise.sorted();
  const rec = alarmStore.lat.sorted();
  return { pairs, pairsPerS: pairs / elapsed, raise50: percentile(r, 50), raise99: percentile(r, 99), record50: percentile(rec, 50),
    record99: percentile(rec, 99) };
}

// ------------------------------------------------------------------ baseline: the bare broker at the same rate

interface BareAtRate {
  offered: number; acked: number; ack50: number; ack99: number; brokerCores: number; pubCores: number; loopDelay99: number; errors: number;
  cpuSplit: CpuSplit | undefined; pubUsPerMsg: number;
}

/**
 * The same publishers, the same offered rate and mix, against a bare Aedes in this process (no auth,
 * nothing stored): publish → PUBACK there is what the harness itself costs — the publishers' process,
 * the machine, MQTT over loopback — and so the floor under Anju's PUBACK and stored latencies.
 */
async function bareAtRate(offered: number, phaseSeconds: number, triggerEvery: number): Promise<BareAtRate> {
  const broker = await startBareBroker();
  const devices = Array.from({ length: publishers }, (_, i) => ({ id: `bare-${i}`, secret: 'unused' }));
  const pub = await runPublishers({ url: broker.url, devices, seconds: phaseSeconds, window, ratePerPublisher: offered / publishers, triggerEvery, warmupMs,
    nice, cpus: cpuSets?.load }, undefined, () => broker.measure());
  const m = await broker.stop();
  return { offered, acked: pub.acked, ack50: pub.ack50, ack99: pub.ack99, brokerCores: m.cpuUs / 1000 / m.wallMs,
    pubCores: pub.publishCpuMs / (phaseSeconds * 1000), loopDelay99: m.loopDelay99, errors: pub.errors, cpuSplit: m.cpuSplit,
    pubUsPerMsg: (pub.publishCpuMs * 1000) / pub.acked };
}

// ------------------------------------------------------------------ main

/** CPU per message of a phase's `cores` over its window. */
const perMessage = (cores: number, x: CpuSplit, messages: number) => (cores * x.seconds * 1e6) / messages;

/**
 * Where the CPU went, by thread (bench/common/cpu-split.ts): what the event loop itself ran, what it
 * waited for a core, what the helper threads ran, the bare broker's loop at the same rate, and the
 * machine (someone else's work shows as "rest").
 */
function printCpuSplit(results: readonly PhaseResult[], bares: readonly BareAtRate[]): void {
  if (!results.some((r) => r.cpuSplit)) return;
  console.log('\nWhere the CPU went, per acknowledged message (Linux /proc: the event loop\'s own thread, the time it was ready but waited for a core, the other threads — libuv\'s pool with the spool\'s writes and DuckDB\'s statements, DuckDB\'s and V8\'s threads — and the machine):');
  console.log("\n| load level | Anju event loop µs/msg, waited for a core ms/s | Anju other threads µs/msg | bare Aedes event loop µs/msg, waited ms/s | publishers µs/msg, with Anju · with bare | machine busy cores of N (steal, counted as busy), of them neither this process nor the publishers' publishing (the SSE client, the bench's tooling, anyone else): during Anju's level · the bare broker's |");
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const x = r.cpuSplit;
    if (!x) continue;
    const b = bares.find((y) => y.offered === r.offered);
    const bx = b?.cpuSplit;
    // The publishers' CPU from their go to their end, spread over the split's window (which also holds the drain).
    const rest = (m: CpuSplit, pubUsPerMsg: number, acked: number) => {
      const others = m.machineCores - m.mainCores - m.otherCores - (pubUsPerMsg * acked) / 1e6 / m.seconds;
      return `${fmt(m.machineCores, 2)} of ${m.cpus} (${fmt(m.stealCores, 2)}), ${fmt(Math.max(0, others), 2)}`;
    };
    const bare = b && bx ? `${fmt(perMessage(bx.mainCores, bx, b.acked), 1)}, ${fmt(bx.mainWaitMsPerS)}` : '—';
    const pubs = `${fmt(r.pubUsPerMsg, 1)}${b ? ` · ${fmt(b.pubUsPerMsg, 1)}` : ''}`;
    const machine = `${rest(x, r.pubUsPerMsg, r.acked)}${b && bx ? ` · ${rest(bx, b.pubUsPerMsg, b.acked)}` : ''}`;
    console.log(`| ${r.name} | ${fmt(perMessage(x.mainCores, x, r.acked), 1)}, ${fmt(x.mainWaitMsPerS)} | ${fmt(perMessage(x.otherCores, x, r.acked), 1)} | ${bare} | ${pubs} | ${machine} |`);
  }
}

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '—');

async function main(): Promise<void> {
  const mix = fixedTriggerEvery > 0 ? `1 fire reading in ${fixedTriggerEvery} per device` : `${alarmsPerS} fire readings/s across the fleet`;
  console.log(`bench/alerts: ${publishers} publishers, QoS 1, window ${window}, ${mix}; saturation ${satSeconds} s, ${seconds} s per load level${nice > 0 ? `; publishers at nice ${nice} (they yield their core to the server's threads, as remote devices would)` : ''}${cpuSets ? `; server on CPUs ${allowedCpus() ?? cpuSets.server}, publishers and SSE client on ${cpuSets.load}` : ''}; node ${process.version}, ${new Date().toISOString()}`);
  printGivenSettings();
  const solo = await engineAlone(200);
  console.log(`  done: engine + DuckDB alarm store alone (load average ${(loadavg()[0] ?? NaN).toFixed(1)})`);
  const results: PhaseResult[] = [];
  const bares: BareAtRate[] = [];
  const sat = await phase('100 % (saturation, ordinary readings only)', 0, satSeconds, 0);
  results.push(sat);
  console.log(`  done: ${sat.name}: ${fmt(sat.msgPerS)} msg/s (load average ${sat.load.toFixed(1)})`);
  for (const level of levels) {
    const offered = Math.round(((givenSaturation ?? sat.msgPerS) * level) / 100);
    const r = await phase(`${level} %`, offered, seconds, triggerEveryAt(offered));
    results.push(r);
    console.log(`  done: ${r.name}: offered ${offered} msg/s (load average ${r.load.toFixed(1)})`);
    bares.push(await bareAtRate(offered, seconds, triggerEveryAt(offered)));
    console.log(`  done: ${r.name}, bare Aedes at the same rate`);
  }

  console.log('\nBaseline, no MQTT and no load: the alert engine and its DuckDB alarm store alone, fire reading → accept() resolved (stored, handed to listeners), then a clearing reading:');
  console.log(`  ${solo.pairs} raise + clear pairs, ${fmt(solo.pairsPerS)} pairs/s; raise p50 ${fmt(solo.raise50, 1)} ms, p99 ${fmt(solo.raise99, 1)} ms; alarm store commit p50 ${fmt(solo.record50, 1)} ms, p99 ${fmt(solo.record99, 1)} ms`);
  console.log('\n| load level | offered msg/s | fire reading every (msgs/device) | achieved msg/s | publish→stored p50 / p99 ms | of which publish→PUBACK p50 / p99 ms | publish→SSE alarm p50 / p99 ms | of which publish→event committed (in hub) p50 / p99 ms | of which publish→reading at the alert engine p50 / p99 ms | publish→incident event (in hub) p50 / p99 ms, incidents | incident store commit p50 / p99 ms, commits | alarms matched / expected | SSE p50 / stored p50 | alarm store commit p50 / p99 / max ms, busy, events/commit | WAL folds (checkpoints) | CPU cores anju / publishers | anju event loop busy | event loop delay p99 / max ms | peak RSS MiB | load avg | errors | warm-up: publish→stored p99 / →PUBACK p99 / →SSE max ms |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const extra = r.extraRaised > 0 ? ` (+${r.extraRaised} unmatched)` : '';
    console.log(`| ${r.name} | ${r.offered > 0 ? r.offered : '—'} | ${r.triggerEvery > 0 ? r.triggerEvery : '—'} | ${fmt(r.msgPerS)} | ${fmt(r.stored50, 1)} / ${fmt(r.stored99, 1)} | ${fmt(r.ack50, 1)} / ${fmt(r.ack99, 1)} | ${fmt(r.sse50, 1)} / ${fmt(r.sse99, 1)} | ${fmt(r.event50, 1)} / ${fmt(r.event99, 1)} | ${fmt(r.engine50, 1)} / ${fmt(r.engine99, 1)} | ${fmt(r.incident50, 1)} / ${fmt(r.incident99, 1)}, ${r.incidents} | ${fmt(r.incidentCommit50, 1)} / ${fmt(r.incidentCommit99, 1)}, ${r.incidentCommits} | ${r.matched} / ${r.triggers}${extra} | ${fmt(r.sse50 / r.stored50, 2)} | ${fmt(r.record50, 1)} / ${fmt(r.record99, 1)} / ${fmt(r.recordMax, 1)}, ${fmt(r.recordBusy * 100)} %, ${fmt(r.recordEvents / r.records, 2)} | ${r.walFolds} | ${fmt(r.anjuCores, 2)} / ${fmt(r.pubCores, 2)} | ${fmt(r.elu * 100)} % | ${fmt(r.loopDelay99, 1)} / ${fmt(r.loopDelayMax, 1)} | ${r.peakRssMiB} | ${fmt(r.load, 1)} | ${r.errors} | ${fmt(r.warmStored99, 1)} / ${fmt(r.warmAck99, 1)} / ${fmt(r.warmSseMax, 1)} |`);
  }
  console.log('\nBaseline at each load level, right after it: the same publishers and rate against a bare Aedes (no auth, no ACL, nothing stored, no subscriber) — the harness\'s own publish → PUBACK:');
  console.log('\n| load level | offered msg/s | bare publish→PUBACK p50 / p99 ms | Anju publish→PUBACK p50 / p99 ms | Anju publish→stored p50 / p99 ms | CPU cores bare / publishers | bare event loop delay p99 ms | errors |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const b of bares) {
    const r = results.find((x) => x.offered === b.offered);
    console.log(`| ${r?.name ?? '—'} | ${b.offered} | ${fmt(b.ack50, 1)} / ${fmt(b.ack99, 1)} | ${fmt(r?.ack50 ?? NaN, 1)} / ${fmt(r?.ack99 ?? NaN, 1)} | ${fmt(r?.stored50 ?? NaN, 1)} / ${fmt(r?.stored99 ?? NaN, 1)} | ${fmt(b.brokerCores, 2)} / ${fmt(b.pubCores, 2)} | ${fmt(b.loopDelay99, 1)} | ${b.errors} |`);
  }
  console.log('\nWhere publish → stored went, per reading: sent → received by ingest (MQTT, broker, event loop), received → its store write began (spool group commit, then the forwarder\'s pause), the write itself (DuckDB):');
  console.log('\n| load level | publish→stored p50 / p99 ms | sent→received p50 / p99 | received→write began p50 / p99 | write p50 / p99 | store writes, mean readings each | spool group commits, mean readings each |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const x = r.split;
    console.log(`| ${r.name} | ${fmt(r.stored50, 1)} / ${fmt(r.stored99, 1)} | ${fmt(x.toIngest[0], 1)} / ${fmt(x.toIngest[1], 1)} | ${fmt(x.toWrite[0], 1)} / ${fmt(x.toWrite[1], 1)} | ${fmt(x.write[0], 1)} / ${fmt(x.write[1], 1)} | ${x.writes}, ${fmt(x.perWrite)} | ${x.commits}, ${fmt(r.stored / x.commits, 1)} |`);
  }
  printCpuSplit(results, bares);
  console.log('\nachieved msg/s: readings whose store write resolved / (first publisher connected → last store write).');
  console.log(`latencies: of the messages sent after each phase's first ${values.warmup} s (the warm-up: a fresh hub's first writes and the JIT), which are reported apart.`);
  console.log('expected: fire readings acknowledged (PUBACK); matched: `raised` smoke events read on SSE for them, exactly one each.');
  for (const r of results) {
    if (r.stored < r.acked) {
      console.log(`LOSS: ${r.acked - r.stored} acknowledged messages were not stored (${r.name})`);
      process.exitCode = 1;
    }
    if (r.matched < r.triggers || r.extraRaised > 0) {
      console.log(`ALARMS: ${r.name}: ${r.matched} of ${r.triggers} fire readings raised an alarm seen on SSE, ${r.extraRaised} raised events unmatched or duplicated`);
      process.exitCode = 1;
    }
  }
  if (process.exitCode !== 1) console.log('every acknowledged reading stored; every fire reading raised exactly one alarm on SSE');
}

process.once('SIGINT', () => void abort('interrupted (SIGINT)', 130));
process.once('SIGTERM', () => void abort('terminated (SIGTERM)', 143));
// Bounded: per phase setup + publishers + drain waits + teardown.
const budgetMs = (2 + 2 * levels.length) * 150_000 + (satSeconds + 2 * levels.length * seconds) * 1000;
setTimeout(() => void abort(`did not finish within ${Math.round(budgetMs / 1000)} s`, 1), budgetMs).unref();

main().then(
  async () => { await cleanup(); process.exit(); },
  (err: Error) => { console.error(err); void abort('failed', 1); },
);
