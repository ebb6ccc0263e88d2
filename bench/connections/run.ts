/**
 * `npm run bench:connections`: how many simulated devices one `anju all` process holds connected,
 * with Debian's mosquitto measured in the same run as the reference broker (same client process,
 * same counts). For each cumulative step (default 1,000 → 5,000 → 10,000 connections):
 *   - connect rate: devices added / time until all are connected (at most --pending CONNECTs in
 *     flight, so the rate is the broker's: Anju verifies each device secret with scrypt);
 *   - RSS per connection: (broker VmRSS now − VmRSS before any client) / connections, from /proc;
 *   - CPU at idle heartbeat load: broker CPU time over --idle seconds in which the devices only
 *     keep alive (PINGREQ every --keepalive s), as % of one core.
 * The devices live in a separate load-generator process (./loadgen.ts). Anju's registry is seeded
 * straight into its DuckDB file beforehand (one scrypt hash shared by all devices: seeding is not
 * measured, the connects are). mosquitto runs with allow_anonymous on loopback, for this benchmark
 * only. Everything is bounded by --max-minutes; brokers, the load generator and temp dirs are
 * removed at the end, on error and on SIGINT/SIGTERM.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import type { Device } from '../../core/index.js';
import { hashSecret } from '../../core/secrets.js';
import { createCommunity } from '../../devices-sim/index.js';
import { createEmbeddedDatabase } from '../../storage/index.js';
import { freePort } from '../../test/helpers/mosquitto.js';
import { findBinary } from '../../test/helpers/servers.js';
import type { LoadgenReply, LoadgenRequest } from './loadgen.js';
import { cpuMs, rssMiB, sleep, spawnWithUlimit, waitForPort } from './proc.js';

const { values } = parseArgs({ options: {
  counts: { type: 'string', default: '1000,5000,10000' }, idle: { type: 'string', default: '20' },
  keepalive: { type: 'string', default: '60' }, pending: { type: 'string', default: '200' },
  'max-minutes': { type: 'string', default: '25' }, brokers: { type: 'string', default: 'anju,mosquitto' },
} });
const counts = values.counts.split(',').map(Number);
const idleS = Number(values.idle);
const keepaliveS = Number(values.keepalive);
const pending = Number(values.pending);
const max = Math.max(...counts);
if (counts.some((n, i) => !(n > 0) || (i > 0 && n <= (counts[i - 1] as number)))) throw new Error('--counts must be increasing positive numbers');
const root = fileURLToPath(new URL('../../', import.meta.url));
const SECRET = 'bench-connections-secret';
const cleanups: Array<() => Promise<void>> = [];

interface Row { broker: string; connections: number; connectS: number; rate: number; rssMiB: number; perConnKiB: number; idleCpuPct: number;
  loadgenMiB: number; errors: number; dropped: number }

const community = createCommunity({ sites: Math.max(1, Math.ceil(max / 5_000)), devices: Math.max(max, 60 * Math.ceil(max / 5_000)), seed: 1, prefix: 'bench' });
const devices: Array<{ device: Device; secret: string }> = community.devices.slice(0, max)
  .map((d) => ({ device: { ...d, name: d.name ?? d.id, createdAt: 0 }, secret: SECRET }));

async function startAnju(): Promise<{ url: string; pid: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'anju-bench-conn-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const db = await createEmbeddedDatabase({ dataDir, memoryLimit: '512MB', threads: 2 }, { logger: pino({ level: 'warn' }) });
  const hash = await hashSecret(SECRET);
  for (const s of community.sites) await db.state.upsertSite(s);
  for (const b of community.buildings) await db.state.upsertBuilding(b);
  for (let i = 0; i < devices.length; i += 200) {
    await Promise.all(devices.slice(i, i + 200).map(({ device }) => {
      const { createdAt: _c, ...input } = device;
      return db.state.createDevice(input, hash, Date.now());
    }));
  }
  await db.close();
  const env = {
    PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ANJU_DATA_DIR: dataDir, ANJU_SIM: '0', ANJU_HOST: '127.0.0.1',
    ANJU_MQTT_PORT: '0', ANJU_WS_PORT: '0', ANJU_HTTP_PORT: '0', ANJU_LOG_LEVEL: 'warn', ANJU_CONNECT_RATE: '10000000',
  };
  const child = spawnWithUlimit(`exec "${process.execPath}" --import tsx cli/main.ts all`, { cwd: root, env });
  cleanups.push(() => stopChild(child));
  let out = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const deadline = Date.now() + 60_000;
  while (!/MQTT\s+(mqtt:\S+)/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`anju all did not start:\n${out}`);
    await sleep(100);
  }
  return { url: /MQTT\s+(mqtt:\S+)/.exec(out)?.[1] as string, pid: child.pid as number };
}

async function startMosquitto(): Promise<{ url: string; pid: number }> {
  const bin = findBinary('mosquitto');
  if (!bin) throw new Error('mosquitto is needed (apt-get install mosquitto)');
  const dir = await mkdtemp(join(tmpdir(), 'anju-bench-mosq-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  // Loopback only and for this benchmark only: anonymous access, no connection cap.
  await writeFile(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'max_connections -1', 'persistence false', 'max_keepalive 3600', 'log_dest stderr', 'log_type error', 'log_type warning', ...(process.getuid?.() === 0 ? ['user root'] : []), ''].join('\n'));
  const child = spawnWithUlimit(`exec "${bin}" -c "${conf}"`, { cwd: dir, env: { PATH: process.env.PATH ?? '' } });
  cleanups.push(() => stopChild(child));
  // Drain its output: a full pipe would block the broker (it logs from its one thread).
  child.stdout?.resume();
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(`mosquitto: ${d.toString()}`));
  await waitForPort(port, 10_000);
  return { url: `mqtt://127.0.0.1:${port}`, pid: child.pid as number };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

function startLoadgen() {
  const child = spawnWithUlimit(`exec "${process.execPath}" --import tsx bench/connections/loadgen.ts`, { cwd: root, env: { PATH: process.env.PATH ?? '' }, ipc: true });
  const waiting: Array<(m: LoadgenReply) => void> = [];
  child.on('message', (m: LoadgenReply) => {
    if (m.type === 'error') console.error(`load generator: ${m.message}`);
    else waiting.shift()?.(m);
  });
  const request = (m: LoadgenRequest, reply = true) => new Promise<LoadgenReply>((resolve, reject) => {
    if (reply) waiting.push(resolve);
    child.send(m, (err) => { if (err) reject(err); else if (!reply) resolve({ type: 'stopped' }); });
  });
  return {
    child,
    add: (url: string, batch: typeof devices) => request({ type: 'add', url, keepaliveS, maxPendingConnects: pending, devices: batch }, false),
    stats: async () => (await request({ type: 'stats' })) as Extract<LoadgenReply, { type: 'stats' }>,
    stop: async () => { await Promise.race([request({ type: 'stop' }), sleep(60_000)]); await stopChild(child); },
  };
}

async function measure(name: string, broker: { url: string; pid: number }): Promise<Row[]> {
  await sleep(3_000); // let start-up allocations settle before the baseline
  const baseline = await rssMiB(broker.pid);
  const loadgen = startLoadgen();
  const rows: Row[] = [];
  try {
    await loadgen.stats(); // the load generator is up (its start-up is not part of the first step)
    let current = 0;
    for (const target of counts) {
      const started = Date.now();
      await loadgen.add(broker.url, devices.slice(current, target));
      const timeoutMs = Math.max(120_000, (target - current) * 50);
      let s = await loadgen.stats();
      while (s.connected < target) {
        if (Date.now() - started > timeoutMs) throw new Error(`${name}: only ${s.connected} of ${target} connected after ${timeoutMs / 1000} s`);
        await sleep(200);
        s = await loadgen.stats();
      }
      const connectS = (Date.now() - started) / 1000;
      await sleep(3_000);
      const rss = await rssMiB(broker.pid);
      const cpu0 = await cpuMs(broker.pid);
      const t0 = Date.now();
      await sleep(idleS * 1000);
      const idleCpuPct = ((await cpuMs(broker.pid)) - cpu0) / (Date.now() - t0) * 100;
      const after = await loadgen.stats();
      rows.push({
        broker: name, connections: target, connectS, rate: (target - current) / connectS, rssMiB: rss, perConnKiB: ((rss - baseline) * 1024) / target,
        idleCpuPct, loadgenMiB: after.rssMiB, errors: after.errors, dropped: target - after.connected,
      });
      console.error(`${name} ${target}: connected in ${connectS.toFixed(1)} s, RSS ${rss.toFixed(0)} MiB (baseline ${baseline.toFixed(0)}), idle CPU ${idleCpuPct.toFixed(1)} %`);
      current = target;
    }
  } finally {
    await loadgen.stop();
  }
  return rows;
}

async function cleanup(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const name of values.brokers.split(',')) {
    const broker = name === 'anju' ? await startAnju() : await startMosquitto();
    rows.push(...(await measure(name === 'anju' ? 'Anju all (auth: scrypt per device)' : 'mosquitto 2 (anonymous)', broker)));
    await cleanup();
  }
  console.log('\n| broker | connections | connect time s | connect rate conn/s | broker RSS MiB | RSS per connection KiB | idle CPU % of a core | load generator RSS MiB | errors | dropped |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.broker} | ${r.connections} | ${r.connectS.toFixed(1)} | ${r.rate.toFixed(0)} | ${r.rssMiB.toFixed(0)} | ${r.perConnKiB.toFixed(1)} | ${r.idleCpuPct.toFixed(1)} | ${r.loadgenMiB.toFixed(0)} | ${r.errors} | ${r.dropped} |`);
  }
}

const bound = setTimeout(() => {
  console.error(`bench:connections: still running after ${values['max-minutes']} min, giving up`);
  void cleanup().finally(() => process.exit(1));
}, Number(values['max-minutes']) * 60_000);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanup().finally(() => process.exit(130)));
main().then(
  async () => { clearTimeout(bound); await cleanup(); process.exit(0); },
  async (err: unknown) => { clearTimeout(bound); console.error(err); await cleanup(); process.exit(1); },
);
