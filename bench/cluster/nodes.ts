/**
 * `npm run bench:cluster-nodes`: Anju end to end — authentication, ACL, ingest, durable spool,
 * InfluxDB, alarms — on one node without cluster mode, and on one, two and three cluster nodes
 * (ANJU_REDIS_URL + ANJU_POSTGRES_URL, telemetry in InfluxDB), in the same run on the same machine.
 *
 * Each node is its own `anju all` process (bundled once, as the e2e tests do), so the nodes can use
 * both cores. Real Debian redis-server, PostgreSQL 15 and influxd, each case on a fresh PostgreSQL
 * database and InfluxDB database. The same number of devices (MQTT.js, QoS 1, `window` in flight,
 * `messages` readings each, 1 ms apart so every one is distinct) is split evenly over the nodes, one
 * publisher process per node, connected straight to its node (a balancer would add its own cost).
 *
 * The publisher processes connect first and start together. msg/s = PUBACKs / (first publish → last
 * PUBACK) over all publishers (a node whose publishers finish early leaves a tail); stored = a raw
 * InfluxQL count(*) in the case's database once the spools have drained; CPU µs/msg = the Anju
 * processes' CPU (utime + stime from /proc) from the start to the end of the drain / PUBACKs —
 * redis-server's, PostgreSQL's and influxd's own CPU is not counted, and all of them, and the
 * publishers, share the same 2 cores.
 * Rounds after the first run the cases in reverse order, so a machine growing busier during the run
 * does not always favour the same case.
 * Options: --devices 60 --messages 1000 --window 10 --nodes 3 --rounds 1
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { apiClient, bundleAnju, startAnju, type AnjuProcess } from '../../test/helpers/anju-process.js';
import { startInfluxd, type Influxd } from '../../test/helpers/influxd.js';
import { startPostgres } from '../../test/helpers/postgres.js';
import { startRedis } from '../../test/helpers/redis.js';
import { killPublishers, runPublishers, type PublishersResult } from '../common/run-publishers.js';

const { values } = parseArgs({ options: {
  devices: { type: 'string', default: '60' }, messages: { type: 'string', default: '1000' },
  window: { type: 'string', default: '10' }, nodes: { type: 'string', default: '3' }, rounds: { type: 'string', default: '1' },
} });
const nDevices = Number(values.devices);
const messages = Number(values.messages);
const window = Number(values.window);
const maxNodes = Number(values.nodes);
const rounds = Number(values.rounds);
const ADMIN = `bench-${randomBytes(8).toString('hex')}`;
const CLK_TCK = 100;

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

async function emptyRedis(): Promise<string> {
  const client = new Redis(redis.url);
  try {
    await client.flushall();
  } finally {
    client.disconnect();
  }
  return redis.url;
}

async function count(influx: Influxd, db: string): Promise<number> {
  const answer = await influx.query('SELECT count("smoke") FROM "smoke_detector"', db);
  return Number(answer.results[0]?.series?.[0]?.values[0]?.[1] ?? 0);
}

interface Case { name: string; nodes: number; cluster: boolean }
interface Figures { msgPerS: number; cpuUsPerMsg: number; acked: number; stored: number; errors: number; drainS: number }

const [influx, postgres, redis, bundle] = await Promise.all([startInfluxd(), startPostgres(), startRedis(), bundleAnju()]);
const running: AnjuProcess[] = [];
const dirs: string[] = [];
const cleanup = async () => {
  killPublishers();
  await Promise.all(running.map((p) => p.stop().catch(() => undefined)));
  await Promise.all([influx.cleanup(), postgres.cleanup(), redis.cleanup(), bundle.remove()]);
  for (const d of dirs) await rm(d, { recursive: true, force: true });
};
process.on('SIGINT', () => { void cleanup().then(() => process.exit(130)); });

async function measure(c: Case, index: number): Promise<Figures> {
  const db = `bench_nodes_${index}`;
  await influx.createDatabase(db);
  const env: Record<string, string> = {
    ANJU_SIM: '0', ANJU_ADMIN_TOKEN: ADMIN, ANJU_DUCKDB_MEMORY: '256MB', ANJU_STORE: 'influxdb', ANJU_INFLUX_URL: influx.url, ANJU_INFLUX_DB: db,
    ANJU_CONNECT_RATE: '100000', ANJU_LOG_LEVEL: 'error',
    // Redis emptied for each case: nothing of the last case's sessions is carried over.
    ...(c.cluster ? { ANJU_POSTGRES_URL: (await postgres.createDatabase()).url, ANJU_REDIS_URL: await emptyRedis() } : {}),
  };
  const nodes: AnjuProcess[] = [];
  for (let i = 0; i < c.nodes; i++) {
    const dir = await mkdtemp(join(tmpdir(), 'anju-bench-nodes-'));
    dirs.push(dir);
    const node = await startAnju('all', { ...env, ANJU_DATA_DIR: dir }, 90_000, { entry: bundle.entry });
    nodes.push(node);
    running.push(node);
  }
  const api = apiClient(nodes[0]!.http, ADMIN);
  const devices: Array<{ id: string; secret: string }> = [];
  for (let i = 0; i < nDevices; i++) {
    const id = `bn${index}-${String(i).padStart(3, '0')}`;
    const r = await api<{ secret: string }>('POST', '/api/devices', { id, kind: 'smoke_detector', site: 's1', building: `b${i % 10}` });
    if (r.status !== 201) throw new Error(`provisioning ${id}: ${r.status}`);
    devices.push({ id, secret: r.body.secret });
  }
  // Provisioned on node 1, known on the others through PostgreSQL's NOTIFY.
  await new Promise((r) => setTimeout(r, 1_000));

  const pids = nodes.map((n) => n.child.pid!);
  const shares = nodes.map((_, k) => devices.filter((__, i) => i % nodes.length === k));
  // Every publisher process connects first; all start publishing together, and CPU is counted from then.
  let connected = 0;
  let cpu0 = 0;
  let go: () => void = () => undefined;
  const released = new Promise<void>((r) => { go = r; });
  const results: PublishersResult[] = await Promise.all(nodes.map((n, k) => runPublishers(
    { url: n.mqtt, devices: shares[k]!, seconds: 600, window, ratePerPublisher: 0, messages, waitForGo: true }, 60_000,
    () => {
      if (++connected < nodes.length) return;
      cpu0 = pids.reduce((s, p) => s + cpuSeconds(p), 0);
      go();
    },
    released,
  )));
  const acked = results.reduce((s, r) => s + r.acked, 0);
  const firstAt = Math.min(...results.map((r) => r.firstAt));
  const lastAckAt = Math.max(...results.map((r) => r.lastAckAt));

  // Until every acknowledged reading is counted, or nothing more arrives for 30 s.
  const drainStart = Date.now();
  let stored = 0;
  let movedAt = Date.now();
  while (stored < acked && Date.now() - movedAt < 30_000) {
    await new Promise((r) => setTimeout(r, 500));
    const now = await count(influx, db);
    if (now !== stored) movedAt = Date.now();
    stored = now;
  }
  // CPU up to here: the spools' writes to InfluxDB after the last PUBACK belong to these readings too.
  const cpu = pids.reduce((s, p) => s + cpuSeconds(p), 0) - cpu0;
  for (const n of nodes) {
    await n.stop();
    running.splice(running.indexOf(n), 1);
  }
  return {
    msgPerS: acked / ((lastAckAt - firstAt) / 1000), cpuUsPerMsg: (cpu * 1e6) / acked, acked, stored,
    errors: results.reduce((s, r) => s + r.errors, 0), drainS: (Date.now() - drainStart) / 1000,
  };
}

const cases: Case[] = [
  { name: 'single node (no cluster)', nodes: 1, cluster: false },
  ...Array.from({ length: maxNodes }, (_, k) => ({ name: `cluster, ${k + 1} node${k ? 's' : ''}`, nodes: k + 1, cluster: true })),
];
try {
  console.log(`bench/cluster-nodes: ${nDevices} devices × ${messages} QoS 1 readings, window ${window}, split over the nodes; load average ${loadavg()[0]?.toFixed(2)}`);
  console.log('| case | msg/s | vs single node | CPU µs/msg (Anju processes) | acknowledged | stored (count(*)) | drain after the last PUBACK | errors |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  let run = 0;
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? cases : [...cases].reverse();
    const figures = new Map<Case, Figures>();
    for (const c of order) figures.set(c, await measure(c, run++));
    const base = figures.get(cases[0]!)!;
    for (const c of cases) {
      const f = figures.get(c)!;
      console.log(`| ${c.name}${rounds > 1 ? `, round ${round}` : ''} | ${Math.round(f.msgPerS).toLocaleString('en')} | ${(f.msgPerS / base.msgPerS).toFixed(2)}× | `
        + `${f.cpuUsPerMsg.toFixed(0)} | ${f.acked.toLocaleString('en')} | ${f.stored.toLocaleString('en')} | ${f.drainS.toFixed(1)} s | ${f.errors} |`);
    }
  }
  console.log(`load average at the end ${loadavg()[0]?.toFixed(2)}`);
} finally {
  await cleanup();
}
