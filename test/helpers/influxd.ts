import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './mosquitto.js';
import { requireBinary } from './servers.js';

/**
 * Debian's influxd (1.6.7, v1 API) as a real server for tests: its own temp dir (meta, data, wal),
 * HTTP and the backup RPC service on free loopback ports, no auth, no usage reporting, no `_internal`
 * monitor database. The handle keeps its dir and ports across `stop()`/`kill()` and `start()`, so an
 * outage test can take the server away and bring it back on the same data.
 */
export interface Influxd {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Whether the process is up (it may still be paused). */
  readonly running: boolean;
  /** Starts it again on the same dir and ports (after stop or kill); waits for /ping 204. */
  start(): Promise<void>;
  /** SIGTERM and wait for the exit: a clean shutdown, data kept. */
  stop(): Promise<void>;
  /** SIGKILL and wait: a crash; what the WAL had is replayed on start. */
  kill(): Promise<void>;
  /**
   * SIGSTOP / SIGCONT: the server hangs without closing connections (timeouts, not refusals).
   * `pause` resolves once the kernel reports the process stopped: a signal is delivered
   * asynchronously, and on a busy machine a thread of influxd running on another core could still
   * answer a request sent right after kill().
   */
  pause(): Promise<void>;
  resume(): void;
  /** InfluxQL through POST /query (also for CREATE/DROP); throws on an HTTP or statement error. */
  query(q: string, db?: string): Promise<InfluxQueryAnswer>;
  createDatabase(name: string): Promise<void>;
  dropDatabase(name: string): Promise<void>;
  /** Stops the server and removes its dir. */
  cleanup(): Promise<void>;
  /** The server's recent output, for failure messages. */
  log(): string;
}

export interface InfluxQueryAnswer {
  results: { statement_id: number; error?: string; series?: { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[] }[];
}

/** `{ skip }` with a one-line reason when influxd is missing (a failure under ANJU_REQUIRE_SERVERS=1). */
export function influxdAvailability(): { path?: string; skip?: string } {
  return requireBinary('influxd', 'influxdb');
}

/** `data`: extra lines of the [data] section (e.g. a short `cache-snapshot-write-cold-duration` to measure TSM size). */
export async function startInfluxd(options: { database?: string; data?: readonly string[] } = {}): Promise<Influxd> {
  const { path: bin, skip } = influxdAvailability();
  if (!bin) throw new Error(skip);
  const dir = await mkdtemp(join(tmpdir(), 'anju-influxd-'));
  const port = await freePort();
  const rpcPort = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const conf = join(dir, 'influxdb.conf');
  await writeFile(conf, [
    'reporting-disabled = true',
    `bind-address = "127.0.0.1:${rpcPort}"`,
    '[meta]', `  dir = "${join(dir, 'meta')}"`,
    // wal-fsync-delay 0: every write is fsynced before the 204, as in production defaults.
    '[data]', `  dir = "${join(dir, 'data')}"`, `  wal-dir = "${join(dir, 'wal')}"`, '  query-log-enabled = false', '  wal-fsync-delay = "0s"',
    ...(options.data ?? []).map((l) => `  ${l}`),
    '[monitor]', '  store-enabled = false',
    '[http]', '  enabled = true', `  bind-address = "127.0.0.1:${port}"`, '  auth-enabled = false', '  log-enabled = false',
    '[logging]', '  level = "warn"',
    '[subscriber]', '  enabled = false',
    '',
  ].join('\n'));

  let child: ChildProcess | undefined;
  let output = '';
  const append = (d: Buffer) => { output = (output + d.toString()).slice(-8_000); };
  // A test that dies before cleanup must not leave a server running.
  const onExit = () => child?.kill('SIGKILL');
  process.once('exit', onExit);

  const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;

  async function start(): Promise<void> {
    if (child && !exited(child)) return;
    const c = spawn(bin as string, ['run', '-config', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    c.stdout?.on('data', append);
    c.stderr?.on('data', append);
    const started = Date.now();
    for (;;) {
      if (exited(c)) throw new Error(`influxd exited (${c.exitCode ?? c.signalCode}): ${output}`);
      const ok = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.status === 204, () => false);
      if (ok) return;
      if (Date.now() - started > 20_000) {
        c.kill('SIGKILL');
        throw new Error(`influxd did not answer /ping within 20 s: ${output}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function signalAndWait(signal: NodeJS.Signals): Promise<void> {
    const c = child;
    if (!c || exited(c)) return;
    const done = new Promise((r) => c.once('exit', r));
    if (signal === 'SIGTERM') c.kill('SIGCONT'); // a paused server cannot handle SIGTERM
    c.kill(signal);
    await done;
  }

  async function query(q: string, db?: string): Promise<InfluxQueryAnswer> {
    const body = new URLSearchParams({ q, epoch: 'ms', ...(db ? { db } : {}) });
    const res = await fetch(`${url}/query`, { method: 'POST', body });
    const text = await res.text();
    if (!res.ok) throw new Error(`influxd ${res.status}: ${text}`);
    const answer = JSON.parse(text) as InfluxQueryAnswer;
    const err = answer.results.find((r) => r.error);
    if (err) throw new Error(`influxd: ${err.error}`);
    return answer;
  }
  const ident = (name: string) => `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

  await start();
  if (options.database) await query(`CREATE DATABASE ${ident(options.database)}`);

  return {
    url,
    port,
    dir,
    get running() { return child !== undefined && !exited(child); },
    start,
    stop: () => signalAndWait('SIGTERM'),
    kill: () => signalAndWait('SIGKILL'),
    pause: async () => {
      const pid = child?.pid;
      if (pid === undefined) return;
      child?.kill('SIGSTOP');
      // /proc/<pid>/stat: "pid (comm) state …"; T = stopped by a signal.
      for (let i = 0; i < 500; i++) {
        const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
        if (/\) T /.test(stat)) return;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`influxd (pid ${pid}) did not stop within 5 s of SIGSTOP`);
    },
    resume: () => { child?.kill('SIGCONT'); },
    query,
    createDatabase: async (name) => { await query(`CREATE DATABASE ${ident(name)}`); },
    dropDatabase: async (name) => { await query(`DROP DATABASE ${ident(name)}`); },
    async cleanup() {
      await signalAndWait('SIGTERM');
      process.removeListener('exit', onExit);
      await rm(dir, { recursive: true, force: true });
    },
    log: () => output,
  };
}
