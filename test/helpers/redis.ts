import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './mosquitto.js';
import { requireBinary } from './servers.js';

/**
 * Debian's redis-server 7 as a real server for tests: a free loopback port, a password (cluster mode
 * never runs on an open Redis), its dir a temp dir, no snapshots (FOR TESTS ONLY). `stop`/`start`
 * restart it on the same port, as an operator's restart would (its data is gone: no persistence).
 */

export function redisAvailability(): { skip?: string } {
  const { skip } = requireBinary('redis-server', 'redis-server');
  return skip ? { skip } : {};
}

export interface RedisServer {
  readonly port: number;
  /** `redis://:<password>@127.0.0.1:<port>/0` */
  readonly url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  cleanup(): Promise<void>;
  log(): string;
}

export async function startRedis(): Promise<RedisServer> {
  const { path: bin } = requireBinary('redis-server', 'redis-server');
  if (!bin) throw new Error('redis-server is needed (apt-get install redis-server)');
  const dir = await mkdtemp(join(tmpdir(), 'anju-redis-'));
  const port = await freePort();
  const password = `test-${Math.random().toString(36).slice(2)}`;
  let child: ChildProcess | undefined;
  let output = '';

  const start = async () => {
    const c = spawn(bin, [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
      '--requirepass', password, '--daemonize', 'no', '--protected-mode', 'yes', '--loglevel', 'warning',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    c.stdout?.on('data', (d: Buffer) => { output += d.toString(); });
    c.stderr?.on('data', (d: Buffer) => { output += d.toString(); });
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (c.exitCode !== null) throw new Error(`redis-server exited (${c.exitCode}): ${output}`);
      if (await accepts(port)) return;
      if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port} within 10 s: ${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    port,
    url: `redis://:${password}@127.0.0.1:${port}/0`,
    stop,
    start,
    async cleanup() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
    log: () => output,
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}
