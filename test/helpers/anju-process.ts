import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface AnjuProcess {
  readonly child: ChildProcess;
  readonly http: string;
  readonly mqtt: string;
  readonly ws: string;
  /** TLS listeners, when ANJU_TLS_CERT/_KEY are set ('' otherwise). */
  readonly mqtts: string;
  readonly wss: string;
  readonly mqttPort: number;
  output(): string;
  alive(): boolean;
  /** SIGTERM and wait for a clean exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * `cli/main.ts` bundled by esbuild (its npm dependencies left external, resolved from this
 * repository's node_modules) into one file under `.anju-e2e/` (git-ignored). For tests that restart
 * Anju dozens of times: a start then loads one file instead of tsx compiling and resolving every
 * module, about half the start-up time. Same sources, no build step.
 */
export async function bundleAnju(): Promise<{ entry: string; remove(): Promise<void> }> {
  const dir = join(root, '.anju-e2e');
  await mkdir(dir, { recursive: true });
  const entry = join(dir, `main-${process.pid}-${Date.now()}.mjs`);
  await build({
    entryPoints: [join(root, 'cli/main.ts')], outfile: entry, bundle: true, platform: 'node', format: 'esm',
    packages: 'external', target: 'node20', logLevel: 'warning',
  });
  return { entry, remove: () => rm(entry, { force: true }) };
}

/**
 * Starts `anju <role>` as a real child process (through tsx, so no build step is needed; or from
 * a `bundleAnju()` entry) on ephemeral ports, and reads the URLs it prints.
 */
export async function startAnju(role: string, env: Record<string, string>, timeoutMs = 45_000, options: { entry?: string } = {}): Promise<AnjuProcess> {
  const args = options.entry ? [options.entry, role] : ['--import', 'tsx', 'cli/main.ts', role];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ANJU_HOST: '127.0.0.1', ANJU_MQTT_PORT: '0', ANJU_WS_PORT: '0', ANJU_HTTP_PORT: '0', ANJU_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  let exited = false;
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => { exited = true; resolve(code); }));

  const started = Date.now();
  while (!/API\s+(http\S+)/.test(out) || (role !== 'hub' && !/MQTT\/(?:WebSocket|WSS)\s+(\S+)/.test(out))) {
    if (exited) throw new Error(`anju ${role} exited during start-up:\n${out}`);
    if (Date.now() - started > timeoutMs) { child.kill('SIGKILL'); throw new Error(`anju ${role} did not start in ${timeoutMs} ms:\n${out}`); }
    await new Promise((r) => setTimeout(r, 50));
  }
  const http = /API\s+(http\S+)/.exec(out)?.[1] ?? '';
  const mqtt = /MQTT\s+(mqtt:\S+)/.exec(out)?.[1] ?? '';
  const ws = /MQTT\/WebSocket\s+(\S+)/.exec(out)?.[1] ?? '';
  const mqtts = /MQTT\/TLS\s+(\S+)/.exec(out)?.[1] ?? '';
  const wss = /MQTT\/WSS\s+(\S+)/.exec(out)?.[1] ?? '';
  return {
    child, http, mqtt, ws, mqtts, wss,
    mqttPort: Number(new URL(mqtt || 'mqtt://x:0').port),
    output: () => out,
    alive: () => !exited && child.exitCode === null,
    async stop() {
      if (!exited) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exit;
      clearTimeout(timer);
      return code;
    },
  };
}

/** fetch against the API with a bearer token; parses JSON answers. */
export function apiClient(base: string, token: string) {
  return async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let parsed: unknown = text;
    try { parsed = JSON.parse(text); } catch { /* not JSON, e.g. /metrics */ }
    return { status: res.status, body: parsed as T };
  };
}

export { waitFor } from './wait.js';
