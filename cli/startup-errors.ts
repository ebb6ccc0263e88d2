import { constants } from 'node:fs';
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Start-up failures a user can fix, said in terms of the setting to change. main prints the
 * message alone (no stack trace) and exits 1; anything else is a bug and keeps its stack.
 */
export class StartupError extends Error {
  override name = 'StartupError';
}

type SystemError = Error & { code?: string; port?: number; address?: string; path?: string; syscall?: string };

/** A listener that could not open, explained with the variable that chose its port and address. */
export function listenError(err: unknown, what: string, variable: string, host: string, port: number): unknown {
  const e = err as SystemError;
  switch (e?.code) {
    case 'EADDRINUSE':
      return new StartupError(
        `${what}: port ${port} on ${host} is already in use (another Anju, or another program, listens there).\n` +
        `  Stop that program, or choose another port: ${variable}=<port> (0 picks a free one).`,
      );
    case 'EACCES':
      return new StartupError(
        `${what}: not allowed to listen on port ${port} (ports below 1024 need root or CAP_NET_BIND_SERVICE).\n` +
        `  Choose a port from 1024 up: ${variable}=<port>.`,
      );
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new StartupError(`${what}: cannot listen on address ${host}: no network interface of this machine has it.\n  Set ANJU_HOST to one of this machine's addresses, or 0.0.0.0 for all.`);
    default:
      return err;
  }
}

async function whyNotWritable(dir: string): Promise<SystemError | undefined> {
  for (let d = dir; ; d = dirname(d)) {
    try {
      await access(d, constants.F_OK);
    } catch {
      if (dirname(d) === d) return undefined;
      continue;
    }
    return access(d, constants.W_OK).then(() => undefined, (err: SystemError) => err);
  }
}

/**
 * The data directory exists (created if needed) and this process may write in it, checked before
 * anything opens a file there so that the error names ANJU_DATA_DIR instead of DuckDB's or the
 * spool's file.
 */
export async function prepareDataDir(dataDir: string): Promise<void> {
  const explain = (err: SystemError, doing: string) => {
    const why = err.code === 'EROFS' ? 'the file system is read-only'
      : err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied'
        : err.code === 'ENOTDIR' ? 'a part of the path is a file, not a directory'
          : err.code === 'ENOSPC' ? 'the disk is full'
            : err.message;
    return new StartupError(
      `cannot ${doing} the data directory ${dataDir}: ${why}${err.code ? ` (${err.code})` : ''}.\n` +
      '  Anju keeps its database, spool and reports there. Set ANJU_DATA_DIR to a writable directory ' +
      '(for a container, a mounted volume), or give this user write access to it.',
    );
  };
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (err) {
    // A recursive mkdir on a read-only file system reports ENOENT: the nearest existing parent says why.
    throw explain((await whyNotWritable(dirname(dataDir))) ?? (err as SystemError), 'create');
  }
  const probe = join(dataDir, `.anju-write-test-${process.pid}`);
  try {
    await access(dataDir, constants.W_OK);
    await writeFile(probe, '');
  } catch (err) {
    throw explain(err as SystemError, 'write in');
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
  }
}
