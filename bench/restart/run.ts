/**
 * `npm run bench:restart`: how long devices wait after a crash. `anju all` (the built
 * `dist/cli/main.js`, as in production) is SIGKILLed and started again on the same data dir while
 * one device tries to connect every 10 ms and publish one QoS 1 reading; measured from the spawn:
 *   - first CONNACK 0 (a listener took the device in),
 *   - first PUBACK (the first reading accepted),
 *   - the API banner (the process reports itself started),
 * and, afterwards, whether that first acknowledged reading is in the store.
 *
 * Baseline in the same run: `--baseline <checkout>` (another working copy with its own
 * `npm run build`, e.g. a copy of main) is measured alternately with this one, on a data dir of
 * its own, so both see the same machine load. Options: --runs N (default 7), --baseline DIR.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { freePort } from '../../test/helpers/mosquitto.js';
import { median } from '../common/stats.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' }, baseline: { type: 'string' } } });
const runs = Number(values.runs);
const ADMIN = 'bench-restart-admin-token-0123456789';
const here = resolve(fileURLToPath(new URL('../../', import.meta.url)));

interface Target {
  readonly name: string;
  readonly root: string;
  readonly dataDir: string;
  readonly mqttPort: number;
  device?: { id: string; secret: string };
}

interface Sample { connackMs: number; pubackMs: number; bannerMs: number; stored: boolean }

function startProcess(t: Target): { child: ChildProcess; banner: Promise<string> } {
  const child = spawn(process.execPath, [join(t.root, 'dist/cli/main.js'), 'all'], {
    cwd: t.root,
    env: {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ANJU_HOST: '127.0.0.1', ANJU_MQTT_PORT: String(t.mqttPort),
      ANJU_WS_PORT: '0', ANJU_HTTP_PORT: '0', ANJU_DATA_DIR: t.dataDir, ANJU_SIM: '0', ANJU_ADMIN_TOKEN: ADMIN,
      ANJU_LOG_LEVEL: 'warn', ANJU_CONNECT_RATE: '1000000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const banner = new Promise<string>((resolveBanner, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /API\s+(http\S+)/.exec(out);
      if (m?.[1]) resolveBanner(m[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${t.name} exited (${code}) before its banner:\n${out.slice(-2000)}`)));
  });
  banner.catch(() => undefined);
  return { child, banner };
}

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

async function api<T>(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}${path}`, {
    method, headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** First start: provisions the bench device, then stops cleanly. */
async function prepare(t: Target): Promise<void> {
  const { child, banner } = startProcess(t);
  const base = await banner;
  const res = await api<{ secret: string }>(base, 'POST', '/api/devices', { id: 'bench-restart-1', kind: 'smoke_detector', site: 'bench', building: 'b1' });
  if (res.status !== 201) throw new Error(`${t.name}: provisioning answered ${res.status}`);
  t.device = { id: 'bench-restart-1', secret: res.body.secret };
  await kill(child, 'SIGTERM');
}

/** One restart: spawn, a device retrying every 10 ms, first PUBACK; then is that reading stored? Then SIGKILL. */
async function sample(t: Target, n: number): Promise<Sample> {
  const device = t.device as { id: string; secret: string };
  const ts = Date.now() - 1_000 + n; // unique per run, inside the accepted window
  const t0 = performance.now();
  const { child, banner } = startProcess(t);
  let connackMs = NaN;
  let bannerMs = NaN;
  void banner.then(() => { bannerMs = performance.now() - t0; }, () => undefined);
  const client = mqtt.connect(`mqtt://127.0.0.1:${t.mqttPort}`, {
    protocolVersion: 4, clientId: device.id, username: device.id, password: device.secret,
    reconnectPeriod: 10, connectTimeout: 2_000, reconnectOnConnackError: true,
  });
  client.on('error', () => undefined);
  client.once('connect', () => { connackMs = performance.now() - t0; });
  const pubackMs = await new Promise<number>((resolvePuback, reject) => {
    const timer = setTimeout(() => reject(new Error(`${t.name}: no PUBACK within 120 s`)), 120_000);
    client.publish(`devices/${device.id}/telemetry`, JSON.stringify({ smoke: 0.01, seq: n, ts }), { qos: 1 }, (err) => {
      if (err) return;
      clearTimeout(timer);
      resolvePuback(performance.now() - t0);
    });
  });
  await client.endAsync(true);
  const base = await banner;
  // Given a few seconds to travel spool → store; a reading acknowledged before ingest was there never arrives.
  let stored = false;
  for (const deadline = Date.now() + 5_000; !stored && Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    const r = await api<{ items: unknown[] }>(base, 'GET', `/api/devices/${device.id}/telemetry?from=${ts}&to=${ts + 1}`);
    stored = r.status === 200 && r.body.items.length === 1;
  }
  await kill(child, 'SIGKILL');
  return { connackMs, pubackMs, bannerMs, stored };
}


async function main(): Promise<void> {
  const targets: Target[] = [];
  const add = async (name: string, root: string) => {
    if (!existsSync(join(root, 'dist/cli/main.js'))) throw new Error(`${root}/dist/cli/main.js is missing: run npm run build there first`);
    targets.push({ name, root, dataDir: await mkdtemp(join(tmpdir(), 'anju-bench-restart-')), mqttPort: await freePort() });
  };
  await add('this checkout', here);
  if (values.baseline) await add(`baseline ${values.baseline}`, resolve(values.baseline));
  console.log(`bench/restart: ${runs} SIGKILL restarts per target, alternating; node ${process.version}, ${new Date().toISOString()}`);
  for (const t of targets) await prepare(t);
  const results = new Map<Target, Sample[]>(targets.map((t) => [t, []]));
  for (let i = 0; i < runs; i++) {
    for (const t of targets) {
      const s = await sample(t, i);
      results.get(t)?.push(s);
      console.log(`  ${t.name} run ${i + 1}: CONNACK ${s.connackMs.toFixed(0)} ms, PUBACK ${s.pubackMs.toFixed(0)} ms, banner ${s.bannerMs.toFixed(0)} ms, first reading ${s.stored ? 'stored' : 'LOST'}`);
    }
  }
  console.log('\n| target | first CONNACK ms (median) | first PUBACK ms (median, min–max) | API banner ms (median) | first acknowledged reading stored |');
  console.log('|---|---:|---:|---:|---:|');
  for (const t of targets) {
    const s = results.get(t) ?? [];
    const p = s.map((x) => x.pubackMs);
    console.log(`| ${t.name} | ${median(s.map((x) => x.connackMs)).toFixed(0)} | ${median(p).toFixed(0)} (${Math.min(...p).toFixed(0)}–${Math.max(...p).toFixed(0)}) | ${median(s.map((x) => x.bannerMs)).toFixed(0)} | ${s.filter((x) => x.stored).length} of ${s.length} |`);
  }
  if (targets.length === 2) {
    const [a, b] = targets.map((t) => median((results.get(t) ?? []).map((x) => x.pubackMs))) as [number, number];
    console.log(`\ntime to first PUBACK, this checkout / baseline: ${(a / b).toFixed(2)}`);
  }
  for (const t of targets) await rm(t.dataDir, { recursive: true, force: true });
}

main().catch((err) => { console.error(err); process.exit(1); });
