import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { createPostgres, type PostgresDatabase } from '../../storage/postgres/index.js';
import type { StoreHarness } from '../storage/contract-scaffold.js';
import { freePort } from './mosquitto.js';
import { run } from './servers.js';

/**
 * Debian's PostgreSQL 15 as a real server for tests: initdb into a temp dir, a free loopback port,
 * its unix socket in that dir, stopped and removed by `cleanup`. PostgreSQL refuses to run as root,
 * so under root (CI) initdb and the server run as Debian's `postgres` user (`runuser`) and the dir
 * is handed to it; as any other user they run as that user.
 *
 * FOR TESTS ONLY: fsync, synchronous_commit and full_page_writes are off, which makes a crash of
 * the machine lose or corrupt data; nothing else ever starts PostgreSQL like this.
 */

export const postgresBinDir = '/usr/lib/postgresql/15/bin';

/** `{ skip }` with a one-line reason when PostgreSQL 15 is missing (a failure under ANJU_REQUIRE_SERVERS=1). */
export function postgresAvailability(): { skip?: string } {
  const missing = ['postgres', 'initdb'].filter((b) => !existsSync(join(postgresBinDir, b)));
  const asRoot = process.getuid?.() === 0;
  const noUser = asRoot && spawnSync('id', ['-u', 'postgres']).status !== 0;
  if (missing.length === 0 && !noUser) return {};
  const reason = missing.length ? `${missing.join(' and ')} not found in ${postgresBinDir} (apt-get install postgresql)` : 'no postgres user to run PostgreSQL as (apt-get install postgresql)';
  if (process.env.ANJU_REQUIRE_SERVERS === '1') throw new Error(`ANJU_REQUIRE_SERVERS=1 but ${reason}`);
  return { skip: reason };
}

export interface Postgres {
  readonly port: number;
  readonly dir: string;
  /** A connection URL for `database` (no password: loopback trust, test servers only). */
  url(database?: string): string;
  /** Creates a new empty database and answers its URL. */
  createDatabase(): Promise<{ name: string; url: string }>;
  /** Drops it, disconnecting whoever is still on it. */
  dropDatabase(name: string): Promise<void>;
  /** Fast shutdown (SIGINT: clients are disconnected), waiting for the exit; the data dir and port stay. */
  stop(): Promise<void>;
  /** Starts it again on the same data dir and port; waits until it accepts connections. */
  start(): Promise<void>;
  /** Stops it and removes the dir. */
  cleanup(): Promise<void>;
  log(): string;
}

function runAs(): string[] {
  return process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
}

async function handToPostgres(path: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  await chown(path, uid, gid);
}

let databases = 0;

export async function startPostgres(): Promise<Postgres> {
  const { skip } = postgresAvailability();
  if (skip) throw new Error(skip);
  const dir = await mkdtemp(join(tmpdir(), 'anju-postgres-'));
  const data = join(dir, 'data');
  const socket = join(dir, 'sock');
  await mkdir(socket);
  await handToPostgres(dir);
  await handToPostgres(socket);
  const [cmd, ...prefix] = [...runAs(), join(postgresBinDir, 'initdb')];
  const init = await run(cmd as string, [...prefix, '-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync', '--no-instructions'], 60_000);
  if (init.status !== 0) throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout}`);

  const port = await freePort();
  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;
  let child: ChildProcess | undefined;
  let output = '';
  const append = (d: Buffer) => { output = (output + d.toString()).slice(-8_000); };
  const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;
  /** The postmaster's own pid (runuser stands between): the first line of postmaster.pid. */
  const postmasterPid = async () => Number((await readFile(join(data, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0]) || undefined;
  // A test that dies before cleanup must not leave a server running: an immediate shutdown (SIGQUIT).
  const postmaster: { pid?: number } = {};
  const onExit = () => {
    if (postmaster.pid !== undefined) try { process.kill(postmaster.pid, 'SIGQUIT'); } catch { /* already gone */ }
  };
  process.once('exit', onExit);
  let admin: pg.Client | undefined;

  async function start(): Promise<void> {
    if (child && !exited(child)) return;
    const [pcmd, ...pprefix] = [...runAs(), join(postgresBinDir, 'postgres')];
    const c = spawn(pcmd as string, [
      ...pprefix, '-D', data, '-p', String(port), '-k', socket, '-c', 'listen_addresses=127.0.0.1',
      // Tests only (see above): no fsync, no WAL flush wait, no full-page images.
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
      '-c', 'shared_buffers=32MB', '-c', 'max_connections=100',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    c.stdout?.on('data', append);
    c.stderr?.on('data', append);
    const started = Date.now();
    for (;;) {
      if (exited(c)) throw new Error(`postgres exited (${c.exitCode ?? c.signalCode}): ${output}`);
      const probe = new pg.Client({ connectionString: url() });
      const ok = await probe.connect().then(() => true, () => false);
      await probe.end().catch(() => undefined);
      if (ok) break;
      if (Date.now() - started > 30_000) {
        c.kill('SIGKILL');
        throw new Error(`postgres did not accept connections within 30 s: ${output}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    postmaster.pid = await postmasterPid();
    admin = new pg.Client({ connectionString: url() });
    await admin.connect();
    // The admin client outlives any one test; the server going away under it is not a test failure.
    admin.on('error', () => undefined);
  }

  async function stop(): Promise<void> {
    await admin?.end().catch(() => undefined);
    admin = undefined;
    const c = child;
    if (!c || exited(c)) return;
    const done = new Promise((r) => c.once('exit', r));
    // SIGINT to the postmaster is a fast shutdown (disconnects clients, no waiting for them).
    if (postmaster.pid !== undefined) process.kill(postmaster.pid, 'SIGINT');
    else c.kill('SIGINT');
    await done;
    postmaster.pid = undefined;
  }

  const adminClient = () => {
    if (!admin) throw new Error('PostgreSQL is stopped');
    return admin;
  };
  await start();

  const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
  return {
    port,
    dir,
    url,
    start,
    stop,
    async createDatabase() {
      const name = `anju_${process.pid}_${++databases}`;
      await adminClient().query(`CREATE DATABASE ${ident(name)}`);
      return { name, url: url(name) };
    },
    async dropDatabase(name) {
      await adminClient().query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
    },
    async cleanup() {
      await stop();
      process.removeListener('exit', onExit);
      await rm(dir, { recursive: true, force: true });
    },
    log: () => output,
  };
}

/**
 * Contract-suite harnesses on one PostgreSQL server per test file: call inside the describe that
 * runs the suite (it registers that describe's beforeAll / afterAll). Every `open()` is a new
 * database (fresh and empty), `reopen` closes the stores and connects again to the same database
 * (a restart of the node), `cleanup` closes and drops it.
 */
export function usePostgresStores(): <S>(pick: (db: PostgresDatabase) => S) => () => Promise<StoreHarness<S>> {
  let server: Postgres | undefined;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.cleanup();
  });
  const logger = pino({ level: 'silent' });
  return (pick) => async () => {
    if (!server) throw new Error('PostgreSQL is not running (usePostgresStores outside its describe?)');
    const s = server;
    const { name, url } = await s.createDatabase();
    const connect = () => createPostgres({ url, maxConnections: 8 }, { logger });
    let db = await connect();
    return {
      store: pick(db),
      async reopen() {
        await db.close();
        db = await connect();
        return pick(db);
      },
      async cleanup() {
        await db.close();
        await s.dropDatabase(name);
      },
    };
  };
}
