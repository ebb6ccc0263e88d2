/**
 * `npm run bench:dashboards`: what the control room costs the API, beside baselines measured in the
 * same run on the same server (these machines are shared and noisy; compare ratios, not absolutes).
 *
 * One real Fastify app (createApp, listening on 127.0.0.1) over a fresh embedded DuckDB and a real
 * alert engine. A synthetic site of --devices devices (70 % smoke detectors, 20 % bins, 5 % water and
 * 5 % power meters over --buildings buildings) with one latest reading each and --alarms active fire
 * alarms; its meters get 8 days of 15-minute registers so "today vs the same day last week" reads
 * real rows. Then, for --seconds each, --concurrency closed-loop HTTP clients call:
 *   a. GET /health                         — baseline: the HTTP stack, no auth, no work;
 *   b. GET /api/session                    — baseline: the bearer-token check alone;
 *   c. GET /api/sites/{id}/overview        — what each alarm event makes every control room re-read
 *                                            (screens share one answer for up to 1 s between alarm events);
 *   c′. the same, every read a cache miss (a different `bins` each time): the cost of computing it;
 *   d. GET /api/sites/{id}/consumption     — the energy & water screen (each day's hours are cached
 *                                            for a minute, so under load this is the cached path);
 *   d′. the store queries (d) issues on a cache miss, timed directly by one client: what one miss costs.
 * Devices are written to the state store with one precomputed scrypt hash (the per-device scrypt
 * of the API would dominate set-up and is not what is measured).
 * Options: --devices N (10000), --buildings N (50), --alarms N (300), --seconds N (5), --concurrency N (10).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createAlertEngine, defaultAlertEngineConfig } from '../../alerts/index.js';
import { createIncidents, defaultIncidentsConfig } from '../../alerts/incidents/manager.js';
import { createApp } from '../../api/app.js';
import { ensureAdminToken } from '../../api/bootstrap.js';
import type { DeviceInput, Reading } from '../../core/index.js';
import { generateToken, hashSecret } from '../../core/secrets.js';
import { createRejectLog } from '../../ingest/rejects.js';
import { siteHourlyUse } from '../../reports/hourly.js';
import { addDays, localDate } from '../../reports/time.js';
import { createEmbeddedDatabase } from '../../storage/embedded/index.js';
import { createLatestCache } from '../../storage/latest-cache.js';
import { createDeviceDirectory } from '../../storage/state/directory.js';
import { Latencies, percentile } from '../common/stats.js';

const { values } = parseArgs({ options: {
  devices: { type: 'string', default: '10000' }, buildings: { type: 'string', default: '50' }, alarms: { type: 'string', default: '300' },
  seconds: { type: 'string', default: '5' }, concurrency: { type: 'string', default: '10' },
} });
const opt = Object.fromEntries(Object.entries(values).map(([k, v]) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${k} must be a positive integer`);
  return [k, n];
})) as Record<keyof typeof values, number>;

const SITE = 'bench';
const TZ = 'Asia/Shanghai';
const STEP = 15 * 60_000;
const logger = pino({ level: 'warn' });
const dir = await mkdtemp(join(tmpdir(), 'anju-bench-dash-'));
const db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '1GB', threads: 2 }, { logger });
const metrics = new Registry();
const now = Date.now();

// ---- the site
await db.state.upsertSite({ id: SITE, name: 'Bench community', timezone: TZ });
for (let b = 0; b < opt.buildings; b++) await db.state.upsertBuilding({ id: `b${b}`, site: SITE, name: `${b + 1}号楼` });
const hash = await hashSecret('bench-secret-not-used');
const kindOf = (i: number): DeviceInput => {
  const r = i % 20;
  const base = { id: `d${i}`, site: SITE, building: `b${i % opt.buildings}` };
  if (r < 14) return { ...base, kind: 'smoke_detector' };
  if (r < 18) return { ...base, kind: 'smart_bin', category: (['recyclable', 'kitchen', 'hazardous', 'residual'] as const)[r - 14] };
  if (r < 19) return { ...base, kind: 'water_meter', purpose: 'master' };
  return { ...base, kind: 'power_meter', purpose: 'common_lighting' };
};
let t = Date.now();
for (let i = 0; i < opt.devices; i++) await db.state.createDevice(kindOf(i), hash, now);
const directory = createDeviceDirectory({ state: db.state });
await directory.load();
const devices = directory.list();
console.log(`set-up: ${devices.length} devices in ${opt.buildings} buildings (${Date.now() - t} ms)`);

// ---- readings: one latest per device now; 8 days of registers for meters
t = Date.now();
const reading = (d: (typeof devices)[number], ts: number, fields: Reading['fields']): Reading =>
  ({ device: d.id, kind: d.kind, site: d.site, building: d.building, ...(d.category ? { category: d.category } : {}), ts, fields });
const latestReadings = devices.map((d, i) => reading(d, now - 60_000,
  d.kind === 'smoke_detector' ? { smoke: 0.02 } : d.kind === 'smart_bin' ? { fill: (i * 7) % 100 } : d.kind === 'water_meter' ? { volume: 100 } : { energy: 1000 }));
await db.telemetry.write(latestReadings);
const meters = devices.filter((d) => d.kind === 'water_meter' || d.kind === 'power_meter');
const start = new Date(`${addDays(localDate(now, TZ), -8)}T00:00:00+08:00`).getTime() - 3_600_000;
let batch: Reading[] = [];
let written = 0;
for (const m of meters) {
  for (let ts = start, i = 0; ts < now; ts += STEP, i++) {
    batch.push(reading(m, ts, m.kind === 'water_meter' ? { volume: 100 + i * 0.01 } : { energy: 1000 + i * 0.5 }));
    if (batch.length >= 50_000) { await db.telemetry.write(batch); written += batch.length; batch = []; }
  }
}
await db.telemetry.write(batch);
written += batch.length;
const latest = createLatestCache({ store: db.telemetry });
latest.accept(latestReadings);
console.log(`readings: ${written} meter registers for ${meters.length} meters over 8 days (${Date.now() - t} ms)`);

// ---- alarms: real fire alarms from the engine
const engine = createAlertEngine(defaultAlertEngineConfig, { store: db.alarms, devices: directory, logger, metrics, clock: Date.now });
await engine.start();
const incidents = createIncidents(defaultIncidentsConfig, { engine, store: db.incidents, logger, metrics, clock: Date.now });
await incidents.start();
const detectors = devices.filter((d) => d.kind === 'smoke_detector').slice(0, opt.alarms);
await engine.accept(detectors.map((d) => reading(d, now - 30_000, { smoke: 0.6, alarm: true })));
await engine.idle();
console.log(`alarms: ${engine.active().length} active`);

// ---- the API
const token = generateToken();
await ensureAdminToken(token, { state: db.state });
const app = await createApp({}, {
  logger, state: db.state, directory, telemetry: db.telemetry, latest, metrics,
  rejects: createRejectLog({ capacity: 100 }, { metrics }), health: async () => ({ status: 'ok', checks: {} }), alerts: { engine, incidents },
});
await app.listen({ host: '127.0.0.1', port: 0 });
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
const headers = { authorization: `Bearer ${token}` };

async function load(name: string, call: () => Promise<number>, clients = opt.concurrency) {
  const lat = new Latencies();
  let bytes = 0;
  const until = Date.now() + opt.seconds * 1000;
  const began = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => {
    while (Date.now() < until) {
      const s = performance.now();
      bytes = await call();
      lat.push(performance.now() - s);
    }
  }));
  const secs = (performance.now() - began) / 1000;
  const sorted = lat.sorted();
  console.log(`${name.padEnd(46)} ${(lat.count / secs).toFixed(0).padStart(7)} req/s   p50 ${percentile(sorted, 50).toFixed(1).padStart(7)} ms   p99 ${percentile(sorted, 99).toFixed(1).padStart(7)} ms   ${bytes} B`);
  return lat.count / secs;
}
const http = (path: string, auth = true) => async () => {
  const res = await fetch(base + path, auth ? { headers } : {});
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.arrayBuffer()).byteLength;
};

console.log(`\n${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${opt.concurrency} clients, ${opt.seconds} s each`);
const health = await load('a. GET /health (baseline)', http('/health', false));
const session = await load('b. GET /api/session (baseline, auth)', http('/api/session'));
const overview = await load('c. GET /api/sites/{id}/overview (shared)', http(`/api/sites/${SITE}/overview`));
let miss = 0;
const overviewMiss = await load('c′. the same, computed on every read', () => http(`/api/sites/${SITE}/overview?bins=${100 + (miss++ % 900)}`)());
const consumption = await load('d. GET /api/sites/{id}/consumption (cached)', http(`/api/sites/${SITE}/consumption`));
const today = localDate(Date.now(), TZ);
const storeOnly = await load('d′. its store queries on a miss (1 client)', async () => {
  await Promise.all([today, addDays(today, -7)].flatMap((date) => (['power_meter', 'water_meter'] as const).map((kind) =>
    siteHourlyUse(db.telemetry, devices, kind, { site: SITE, timezone: TZ, date, until: Date.now() }))));
  return 0;
}, 1);
console.log(`\noverview shared / session = ${(overview / session).toFixed(2)}; computed / session = ${(overviewMiss / session).toFixed(2)}; consumption (cached) / store queries = ${(consumption / storeOnly).toFixed(0)}×; session / health = ${(session / health).toFixed(2)}`);

await app.close();
await engine.close();
await incidents.close();
await db.close();
await rm(dir, { recursive: true, force: true });
