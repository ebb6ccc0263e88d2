import { ConfigError } from '../core/config.js';
import type { Device, DeviceInput } from '../core/index.js';
import { backoffDelay, sleep } from '../core/util/index.js';

/**
 * Provisions simulated devices through the platform's own REST API, as an operator's script would:
 * `POST /api/devices` (201 → the secret, shown once), and for a device that already exists (409)
 * its current record (GET) and a fresh secret (`POST /api/devices/{id}/secret`). Secrets are
 * stored as scrypt hashes, so provisioning costs the platform ~30 ms of CPU per device: a bounded
 * number of requests in flight keeps its API and broker responsive meanwhile.
 */

export interface ProvisionConfig {
  /** Base URL of the API, e.g. http://localhost:8080. */
  api: string;
  /** An admin API token. */
  token: string;
  /** Requests in flight (default 16). */
  concurrency?: number;
  /** Attempts per request on a network error or a 5xx/429 answer (default 4). */
  attempts?: number;
}

export interface ProvisionProgress {
  done: number;
  total: number;
  created: number;
  rotated: number;
}

export interface ProvisionDeps {
  devices: readonly DeviceInput[];
  fetch?: typeof fetch;
  onProgress?: (p: ProvisionProgress) => void;
}

export interface Provisioned {
  credentials: Array<{ device: Device; secret: string }>;
  created: number;
  rotated: number;
}

interface Answer { status: number; body: unknown }

export async function provisionDevices(config: ProvisionConfig, deps: ProvisionDeps): Promise<Provisioned> {
  const doFetch = deps.fetch ?? fetch;
  const base = config.api.replace(/\/+$/, '');
  const attempts = config.attempts ?? 4;
  const authorization = `Bearer ${config.token}`;
  // Equal jitter: a retry never comes much sooner than the step (the platform answered 5xx/429 because
  // it is busy), and many provisioning scripts against one platform still spread out.
  const pause = (attempt: number) => sleep(backoffDelay(attempt - 1, { baseMs: 500, maxMs: 8_000, jitter: 'equal' }));

  async function call(method: string, path: string, body?: unknown): Promise<Answer> {
    // A content-type only with a body: Fastify refuses an empty body that claims to be JSON (the secret rotation has none).
    const headers: Record<string, string> = body === undefined ? { authorization } : { authorization, 'content-type': 'application/json' };
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await doFetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
        const text = await res.text();
        let parsed: unknown = text;
        try { parsed = JSON.parse(text); } catch { /* keep the text for the error message */ }
        if ((res.status >= 500 || res.status === 429) && attempt < attempts) {
          await pause(attempt);
          continue;
        }
        return { status: res.status, body: parsed };
      } catch (err) {
        if (attempt >= attempts) throw new Error(`${method} ${base}${path}: ${(err as Error).message}`);
        await pause(attempt);
      }
    }
  }

  const fail = (what: string, a: Answer): never => {
    const message = (a.body as { message?: string } | undefined)?.message ?? JSON.stringify(a.body).slice(0, 300);
    if (a.status === 401 || a.status === 403) throw new ConfigError(`provisioning needs an admin API token (--token): the API answered ${a.status} ${message}`);
    throw new Error(`${what}: HTTP ${a.status} ${message}`);
  };

  async function one(input: DeviceInput): Promise<{ device: Device; secret: string; created: boolean }> {
    const res = await call('POST', '/api/devices', input);
    if (res.status === 201) {
      const { secret, ...device } = res.body as Device & { secret: string };
      return { device: { ...device, name: device.name ?? device.id, createdAt: 0 }, secret, created: true };
    }
    if (res.status !== 409) return fail(`provisioning ${input.id}`, res);
    // It exists: simulate the device the platform knows (its kind and place win over ours).
    const current = await call('GET', `/api/devices/${encodeURIComponent(input.id)}`);
    if (current.status !== 200) return fail(`reading ${input.id}`, current);
    const rotated = await call('POST', `/api/devices/${encodeURIComponent(input.id)}/secret`);
    if (rotated.status !== 200) return fail(`rotating the secret of ${input.id}`, rotated);
    const device = current.body as Device;
    return { device: { ...device, name: device.name ?? device.id, createdAt: 0 }, secret: (rotated.body as { secret: string }).secret, created: false };
  }

  const total = deps.devices.length;
  const credentials = new Array<{ device: Device; secret: string }>(total);
  const progress: ProvisionProgress = { done: 0, total, created: 0, rotated: 0 };
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && next < total) {
      const i = next++;
      try {
        const r = await one(deps.devices[i] as DeviceInput);
        credentials[i] = { device: r.device, secret: r.secret };
        if (r.created) progress.created++;
        else progress.rotated++;
        progress.done++;
        deps.onProgress?.(progress);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(config.concurrency ?? 16, total)) }, worker));
  if (failed !== undefined) throw failed;
  return { credentials, created: progress.created, rotated: progress.rotated };
}
