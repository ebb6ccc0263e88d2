/**
 * `npm run bench:storm`: a reconnect storm — every device connecting at once, as after a hub
 * restart — against the real broker (scrypt device authentication), with the credential checks
 * gated (broker/credential-gate.ts: a few at a time, a client gone meanwhile not checked) and, as the
 * baseline in the same run, ungated (every check handed to Node's thread pool on arrival, as before
 * the gate). The devices (MQTT.js, in a child process) give up on a CONNACK after --timeout-ms and
 * connect again 300 ms later, as real clients do (MQTT.js waits 30 s by default, ESP-IDF 10 s; a
 * short timeout with a few hundred devices stands for a long one with thousands).
 * The broker is the tests' (test/broker/harness.ts: the real createBroker, a pass-through ingest).
 * Printed per mode: devices connected and when the last did (or at --max-seconds), credential checks
 * started, CONNECTs skipped as abandoned, the broker's CPU.
 * Options: --devices N (300) --timeout-ms T (1500) --max-seconds S (40) --rounds R (1) --modes ungated,gated.
 */
import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { hashSecret, verifySecret } from '../../core/secrets.js';
import { startBroker } from '../../test/broker/harness.js';

const { values } = parseArgs({ options: {
  devices: { type: 'string', default: '300' }, 'timeout-ms': { type: 'string', default: '1500' }, 'max-seconds': { type: 'string', default: '40' },
  rounds: { type: 'string', default: '1' }, modes: { type: 'string', default: 'ungated,gated' }, child: { type: 'string' }, run: { type: 'string' },
} });
const devices = Number(values.devices);
const timeoutMs = Number(values['timeout-ms']);
const maxSeconds = Number(values['max-seconds']);
const SECRET = 'bench-storm-secret';

/** `lastConnectedS` null: not every device connected in time (IPC carries no NaN). */
interface ChildReport { connected: number; lastConnectedS: number | null; attempts: number }

/** The devices' process: connects them all at once to the URL given, reports when all are connected or time is up. */
async function child(url: string): Promise<void> {
  const started = Date.now();
  let connected = 0;
  let attempts = 0;
  let lastConnectedS = NaN;
  const clients = Array.from({ length: devices }, (_, i) => {
    const id = `storm-${i}`;
    const c = mqtt.connect(url, { clientId: id, username: id, password: SECRET, connectTimeout: timeoutMs, reconnectPeriod: 300, protocolVersion: 4 });
    c.on('error', () => undefined);
    c.on('close', () => undefined);
    c.on('reconnect', () => (attempts += 1));
    c.once('connect', () => {
      connected += 1;
      lastConnectedS = (Date.now() - started) / 1000;
    });
    return c;
  });
  attempts += devices;
  while (connected < devices && Date.now() - started < maxSeconds * 1000) await new Promise((r) => setTimeout(r, 100));
  for (const c of clients) c.end(true);
  process.send?.({ connected, lastConnectedS: connected === devices ? lastConnectedS : null, attempts } satisfies ChildReport);
}

async function run(mode: 'ungated' | 'gated', hash: string) {
  let checks = 0;
  const { url, metric, close } = await startBroker(
    { connectRatePerMinute: 0, ...(mode === 'ungated' ? { credentialConcurrency: Infinity } : {}) },
    { authenticateDevice: (_id, secret) => {
      checks += 1;
      return verifySecret(secret, hash);
    } },
  );
  const cpu0 = process.cpuUsage();
  const wall0 = Date.now();
  const proc = fork(fileURLToPath(import.meta.url), ['--child', url, '--devices', String(devices),
    '--timeout-ms', String(timeoutMs), '--max-seconds', String(maxSeconds)], { execArgv: ['--import', 'tsx'] });
  const report = await new Promise<ChildReport>((resolve, reject) => {
    proc.once('message', (m) => resolve(m as ChildReport));
    proc.once('exit', (code) => reject(new Error(`the devices' process exited (${code}) without a report`)));
  });
  const checksAtEnd = checks;
  const cpu = process.cpuUsage(cpu0);
  const wallS = (Date.now() - wall0) / 1000;
  const abandoned = await metric('anju_broker_connections_refused_total', { reason: 'abandoned' });
  await close();
  return { mode, ...report, checks: checksAtEnd, abandoned, cpuCores: (cpu.user + cpu.system) / 1e6 / wallS, load: loadavg()[0] ?? NaN };
}

/** One mode in a process of its own: the ungated run leaves thousands of checks queued in its thread pool. */
function runInProcess(mode: 'ungated' | 'gated'): Promise<Awaited<ReturnType<typeof run>>> {
  const proc = fork(fileURLToPath(import.meta.url), ['--run', mode, '--devices', String(devices), '--timeout-ms', String(timeoutMs),
    '--max-seconds', String(maxSeconds)], { execArgv: ['--import', 'tsx'] });
  return new Promise((resolve, reject) => {
    proc.once('message', (m) => {
      resolve(m as Awaited<ReturnType<typeof run>>);
      proc.kill('SIGKILL');
    });
    proc.once('exit', (code) => reject(new Error(`the ${mode} broker's process exited (${code}) without a report`)));
  });
}

if (values.child) {
  await child(values.child);
  process.exit(0);
} else if (values.run) {
  process.send?.(await run(values.run as 'ungated' | 'gated', await hashSecret(SECRET)));
} else {
  const modes = values.modes.split(',') as ('ungated' | 'gated')[];
  console.log(`bench/connections/storm: ${devices} devices at once, client CONNACK timeout ${timeoutMs} ms, retry after 300 ms, up to ${maxSeconds} s; ` +
    `node ${process.version}, ${new Date().toISOString()}`);
  const rows = [];
  for (let r = 0; r < Number(values.rounds); r += 1) {
    for (const mode of modes) {
      const row = await runInProcess(mode);
      console.error(`  ${mode}: ${row.connected} / ${devices} connected, ${row.checks} checks`);
      rows.push(row);
    }
  }
  console.log('\n| credential checks | devices connected | last connected at s | CONNECT attempts | checks started | skipped as abandoned | broker CPU cores | load avg |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const label = r.mode === 'gated' ? 'gated (a few at a time, abandoned skipped)' : 'ungated (all to the thread pool at once: the baseline)';
    console.log(`| ${label} | ${r.connected} / ${devices} | ${r.lastConnectedS === null ? `— (not all in ${maxSeconds} s)` : r.lastConnectedS.toFixed(1)} | ` +
      `${r.attempts} | ${r.checks} | ${r.abandoned} | ${r.cpuCores.toFixed(2)} | ${r.load.toFixed(1)} |`);
  }
  process.exit(0);
}
