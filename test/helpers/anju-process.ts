import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface AnjuProcess {
  readonly child: ChildProcess;
  readonly http: string;
  readonly mqtt: string;
  readonly ws: string;
  readonly mqttPort: number;
  output(): string;
  alive(): boolean;
  /** SIGTERM and wait for a clean exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `anju <role>` as a real child process (through tsx, so no build step is needed) on
 * ephemeral ports, and reads the URLs it prints.
 */
export async function startAnju(role: string, env: Record<string, string>, timeoutMs = 45_000): Promise<AnjuProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', role], {
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
  while (!/API\s+(http\S+)/.test(out) || (role !== 'hub' && !/MQTT\/WebSocket\s+(\S+)/.test(out))) {
    if (exited) throw new Error(`anju ${role} exited during start-up:\n${out}`);
    if (Date.now() - started > timeoutMs) { child.kill('SIGKILL'); throw new Error(`anju ${role} did not start in ${timeoutMs} ms:\n${out}`); }
    await new Promise((r) => setTimeout(r, 50));
  }
  const http = /API\s+(http\S+)/.exec(out)?.[1] ?? '';
  const mqtt = /MQTT\s+(mqtt:\S+)/.exec(out)?.[1] ?? '';
  const ws = /MQTT\/WebSocket\s+(\S+)/.exec(out)?.[1] ?? '';
  return {
    child, http, mqtt, ws,
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

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
