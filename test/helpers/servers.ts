import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Real server binaries (mosquitto, influxd, chromium) are looked up on PATH and in the sbin
 * folders Debian installs daemons to. Without one, a test skips with a one-line reason; with
 * ANJU_REQUIRE_SERVERS=1 (set by .ci/run) a missing binary fails the run instead.
 */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function requireBinary(name: string, debianPackage: string): { path?: string; skip?: string } {
  const path = findBinary(name);
  if (path) return { path };
  const reason = `${name} not found (apt-get install ${debianPackage})`;
  if (process.env.ANJU_REQUIRE_SERVERS === '1') throw new Error(`ANJU_REQUIRE_SERVERS=1 but ${reason}`);
  return { skip: reason };
}

export function runSync(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 15_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs a command without blocking this process: needed when the server it talks to (an embedded
 * broker) runs in the test process itself. `status` is null when it was killed at `timeoutMs`.
 */
export function run(cmd: string, args: string[], timeoutMs = 15_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string; killed?: boolean }) | null;
      resolve({ status: e ? (e.killed || typeof e.code !== 'number' ? null : e.code) : 0, stdout, stderr });
    });
  });
}
