import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary } from './servers.js';

/** The kernel's ephemeral range (what `listen(0)` and outgoing connections' source ports come from). */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low && high) return [low, high];
  } catch {
    // not Linux: the IANA dynamic range
  }
  return [49152, 65535];
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free loopback port for a server a test starts and may restart on the same port (mosquitto,
 * influxd, PostgreSQL, Redis, Anju itself). Chosen *below* the kernel's ephemeral range: a port from
 * that range, free now, can be taken before the server binds it — or between a stop and a restart —
 * by any socket the machine opens meanwhile (every `listen(0)`, and the source port of every outgoing
 * connection: the clients of Redis, PostgreSQL, InfluxDB in parallel tests), and the start fails with
 * "address in use". Below the range only another explicit choice can collide: random, then checked.
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralRange();
  const floor = 10_000;
  const span = Math.max(1_000, low - floor);
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = floor + Math.floor(Math.random() * span);
    if (port < low && (await bindable(port))) return port;
  }
  // A machine without room below its ephemeral range: let the kernel choose.
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface Mosquitto {
  readonly port: number;
  readonly url: string;
  /** What mosquitto logged so far (it says when it drops messages for a full session queue). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Debian's mosquitto as a real external broker on a free loopback port, with password
 * authentication (no anonymous access) for the given users, in a temp dir of its own.
 */
export async function startMosquitto(users: Record<string, string>): Promise<Mosquitto> {
  const bin = findBinary('mosquitto');
  const passwd = findBinary('mosquitto_passwd');
  if (!bin || !passwd) throw new Error('mosquitto and mosquitto_passwd are needed (apt-get install mosquitto)');
  const dir = await mkdtemp(join(tmpdir(), 'anju-mosquitto-'));
  const passwordFile = join(dir, 'passwd');
  await writeFile(passwordFile, '');
  for (const [user, password] of Object.entries(users)) {
    const r = spawnSync(passwd, ['-b', passwordFile, user, password], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr}`);
  }
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(conf, [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous false',
    `password_file ${passwordFile}`,
    'persistence false',
    'max_queued_messages 10000',
    // Started as root (CI), mosquitto drops to user "mosquitto", which cannot read our 0700 temp dir.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    '',
  ].join('\n'));
  const child: ChildProcess = spawn(bin, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => { log += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { log += d.toString(); });
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited: ${log}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() - started > 10_000) { child.kill('SIGKILL'); throw new Error(`mosquitto did not start: ${log}`); }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    log: () => log,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
