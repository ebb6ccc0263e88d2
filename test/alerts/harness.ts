import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { createAlertEngine, defaultAlertEngineConfig, type AlarmEvent, type AlarmStore, type AlertEngine, type RulesConfigInput } from '../../alerts/index.js';
import { parseRulesConfig } from '../../alerts/config.js';
import { createIncidents, defaultIncidentsConfig, type Incidents, type IncidentsConfig, type IncidentsDeps } from '../../alerts/incidents/manager.js';
import { builtinRules } from '../../alerts/rules/index.js';
import type { Device, FieldValue, PresenceCause, Reading } from '../../core/index.js';
import { createEmbeddedDatabase, type EmbeddedDatabase, type IncidentEvent, type IncidentStore } from '../../storage/index.js';

/** Scenario time 0: 2025-03-03 00:00 at +08:00 (a Monday, local midnight: the day boundary of the balance rule). */
export const T0 = Date.UTC(2025, 2, 2, 16, 0, 0);
export const fixturesRoot = new URL('../fixtures/alerts/', import.meta.url).pathname;

export interface ScenarioRegistry {
  description: string;
  /** Incident settle time for this scenario (default the platform's, 5 min). */
  settleS?: number;
  devices: Array<Omit<Device, 'name' | 'createdAt'> & { name?: string }>;
  rules?: RulesConfigInput;
  tickEveryS?: number;
  endT?: number;
  expectLog?: string[];
}
/**
 * A line of `readings.jsonl`: a reading received at scenario time `t` (its device clock `skewS`
 * off: `ts` = t + skewS, received at t), or a presence change with its cause (default: a Will, `lost`).
 */
export type ScenarioLine =
  | { t: number; device: string; fields: Record<string, FieldValue>; skewS?: number }
  | { t: number; device: string; presence: 'online' | 'offline'; cause?: PresenceCause };
export interface ExpectedEvent {
  t: number; event: string; type: string; severity: string; originator: string;
  count?: number; previousSeverity?: string; details?: Record<string, unknown>;
}
/** A line of `expected-incidents.jsonl` (optional per scenario): the incident events, seq order. */
export interface ExpectedIncidentEvent {
  t: number; event: string; hazard: string; level: string; building: string; severity?: string; status?: string;
  previousLevel?: string; alarms?: number; alarm?: string;
}
export interface Scenario { name: string; registry: ScenarioRegistry; lines: ScenarioLine[]; expected: ExpectedEvent[];
  expectedIncidents?: ExpectedIncidentEvent[] }

const jsonl = <T>(text: string): T[] => text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T);

export async function loadScenarios(): Promise<Scenario[]> {
  const names = (await readdir(fixturesRoot, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  return Promise.all(names.map(async (name) => {
    const dir = join(fixturesRoot, name);
    const incidents = await readFile(join(dir, 'expected-incidents.jsonl'), 'utf8').catch(() => undefined);
    return {
      name,
      registry: JSON.parse(await readFile(join(dir, 'registry.json'), 'utf8')) as ScenarioRegistry,
      lines: jsonl<ScenarioLine>(await readFile(join(dir, 'readings.jsonl'), 'utf8')),
      expected: jsonl<ExpectedEvent>(await readFile(join(dir, 'expected-events.jsonl'), 'utf8')),
      ...(incidents !== undefined ? { expectedIncidents: jsonl<ExpectedIncidentEvent>(incidents) } : {}),
    };
  }));
}

/** A logger that keeps its lines, so a test can check what was logged (the self-test). */
export function memoryLogger(): { logger: Logger; lines: Array<{ msg?: string } & Record<string, unknown>> } {
  const lines: Array<{ msg?: string } & Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as { msg?: string });
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

export function deviceMap(devices: ScenarioRegistry['devices']): Map<string, Device> {
  return new Map(devices.map((d) => [d.id, { ...d, name: d.name ?? d.id, createdAt: T0 } as Device]));
}

export function toReading(device: Device, t: number, fields: Record<string, FieldValue>, skewS = 0): Reading {
  return {
    device: device.id, kind: device.kind, site: device.site, building: device.building, ...(device.category ? { category: device.category } : {}),
    ts: T0 + (t + skewS) * 1000, receivedAt: T0 + t * 1000, fields,
  };
}

export interface Harness {
  dir: string;
  db: EmbeddedDatabase;
  engine: AlertEngine;
  incidents: Incidents;
  events: AlarmEvent[];
  incidentEvents: IncidentEvent[];
  /** The injected clock (ms); tests move it. */
  now: { ms: number };
  logLines: Array<{ msg?: string } & Record<string, unknown>>;
  metrics: Registry;
}

const dirs: string[] = [];
export async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'anju-alerts-'));
  dirs.push(d);
  return d;
}
export async function removeTempDirs(): Promise<void> {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
}

/** Opens the real DuckDB store in `dir` and an engine on it; events are collected into `events` (shared across restarts). */
export async function openHarness(opts: {
  dir: string; devices: Map<string, Device>; rules?: RulesConfigInput; events?: AlarmEvent[]; now?: { ms: number };
  incidentEvents?: IncidentEvent[]; incidentsConfig?: Partial<IncidentsConfig>;
  /** Wraps the DuckDB alarm store the engine is given (to observe or break its commits). */
  store?: (store: AlarmStore) => AlarmStore;
  /** Wraps the DuckDB incident store the incidents are given (to observe its reads). */
  incidentStore?: (store: IncidentStore) => IncidentStore;
  /** What the incidents propose (alerts/responses/), built on the database just opened. */
  propose?: (db: EmbeddedDatabase) => Promise<IncidentsDeps['propose']>;
  /** The engine's tick scope (cluster mode: the devices this node holds). */
  ticks?: (deviceId: string) => boolean;
}): Promise<Harness> {
  const { logger, lines } = memoryLogger();
  const db = await createEmbeddedDatabase({ dataDir: opts.dir, memoryLimit: '128MB', threads: 1 }, { logger: pino({ level: 'silent' }) });
  const now = opts.now ?? { ms: T0 };
  const events = opts.events ?? [];
  const metrics = new Registry();
  const engine = createAlertEngine(
    { ...defaultAlertEngineConfig, rules: parseRulesConfig(opts.rules ?? {}, builtinRules) },
    {
      store: opts.store ? opts.store(db.alarms) : db.alarms, logger, metrics, clock: () => now.ms,
      devices: { get: (id) => opts.devices.get(id), list: () => [...opts.devices.values()] },
      ...(opts.ticks ? { ticks: opts.ticks } : {}),
    },
  );
  engine.subscribe((e) => events.push(e));
  await engine.start();
  const incidentEvents = opts.incidentEvents ?? [];
  // No commit throttle: it paces real-time bursts (see IncidentsConfig.maxCommitPauseMs), while a scenario plays its clock as fast as it can.
  // One event per change: which changes share a commit depends on timing, and scenarios compare event lists.
  const propose = await opts.propose?.(db);
  const incidents = createIncidents({ ...defaultIncidentsConfig, maxCommitPauseMs: 0, coalesceQuietUpdates: false, ...opts.incidentsConfig },
    {
      engine, store: opts.incidentStore ? opts.incidentStore(db.incidents) : db.incidents, logger, metrics, clock: () => now.ms,
      ...(propose ? { propose } : {}),
    });
  incidents.subscribe((e) => incidentEvents.push(e));
  await incidents.start();
  return { dir: opts.dir, db, engine, incidents, events, incidentEvents, now, logLines: lines, metrics };
}

export async function closeHarness(h: Harness): Promise<void> {
  await h.engine.close();
  await h.incidents.close();
  await h.db.close();
}

/**
 * Plays a scenario with an injected clock: lines in time order, and a tick every `tickEveryS`
 * (default 60 s) of scenario time — after the lines of the same instant — up to `endT`.
 * With `restartAt`, the engine and the database are closed and reopened on the same directory
 * before the first line at or after that time.
 */
export async function playScenario(s: Scenario, opts: { restartAt?: number } = {}): Promise<{ events: AlarmEvent[]; incidentEvents: IncidentEvent[]; logLines: Harness['logLines'] }> {
  const devices = deviceMap(s.registry.devices);
  const dir = await tempDir();
  const events: AlarmEvent[] = [];
  const incidentEvents: IncidentEvent[] = [];
  const now = { ms: T0 };
  const open = () => openHarness({
    dir, devices, ...(s.registry.rules ? { rules: s.registry.rules } : {}), events, incidentEvents, now,
    ...(s.registry.settleS !== undefined ? { incidentsConfig: { settleMs: s.registry.settleS * 1000 } } : {}),
  });
  let h = await open();
  const logLines = [...h.logLines];
  const every = s.registry.tickEveryS ?? 60;
  const lines = [...s.lines].sort((a, b) => a.t - b.t);
  const end = s.registry.endT ?? (lines.at(-1)?.t ?? 0);
  let nextTick = 0;
  let restarted = opts.restartAt === undefined;
  const tickUntil = async (limit: number, inclusive: boolean) => {
    while (inclusive ? nextTick <= limit : nextTick < limit) {
      now.ms = T0 + nextTick * 1000;
      await h.engine.tick(now.ms);
      await h.incidents.tick(now.ms);
      nextTick += every;
    }
  };
  for (const line of lines) {
    await tickUntil(line.t, false);
    if (!restarted && line.t >= (opts.restartAt ?? Infinity)) {
      restarted = true;
      logLines.push(...h.logLines);
      await closeHarness(h);
      h = await open();
    }
    now.ms = T0 + line.t * 1000;
    const device = devices.get(line.device);
    if (!device) throw new Error(`${s.name}: line for unknown device ${line.device}`);
    if ('presence' in line) await h.engine.onPresence(device.id, line.presence, now.ms, line.cause ?? (line.presence === 'online' ? 'connected' : 'lost'));
    else await h.engine.accept([toReading(device, line.t, line.fields, line.skewS)]);
  }
  await tickUntil(end, true);
  await h.engine.idle();
  await h.incidents.idle();
  logLines.push(...h.logLines);
  await closeHarness(h);
  return { events, incidentEvents, logLines };
}

/** Incident events as `expected-incidents.jsonl` states them. */
export function projectIncidents(events: readonly IncidentEvent[]): Array<Record<string, unknown>> {
  return events.map((e) => ({
    t: (e.ts - T0) / 1000, event: e.type, hazard: e.incident.hazard, level: e.incident.level, building: e.incident.building,
    severity: e.incident.severity, status: e.incident.status, alarms: e.incident.members.length,
    ...(e.previousLevel ? { previousLevel: e.previousLevel } : {}), ...(e.alarm ? { alarm: `${e.alarm.type}:${e.alarm.originator.id}` } : {}),
  }));
}

/** An event as the golden files state it. Plain repeats (`updated` without a severity change) are left out: `count` on later lines checks them. */
export function project(events: readonly AlarmEvent[]): Array<Record<string, unknown>> {
  return events
    .filter((e) => e.type !== 'updated' || e.previousSeverity !== undefined)
    .map((e) => ({
      t: (e.ts - T0) / 1000, event: e.type, type: e.alarm.type, severity: e.alarm.severity,
      originator: `${e.alarm.originator.kind}:${e.alarm.originator.id}`, count: e.alarm.count,
      ...(e.previousSeverity ? { previousSeverity: e.previousSeverity } : {}), details: e.alarm.details,
    }));
}

/** Compares projected events with expected lines: every stated key must match; `details` by subset; `{approxT, tolS}` for times. */
export function mismatch(actual: Record<string, unknown> | undefined, expected: ExpectedEvent): string | undefined {
  if (!actual) return 'missing';
  for (const [k, v] of Object.entries(expected)) {
    if (k === 'details') {
      const details = actual.details as Record<string, unknown>;
      for (const [dk, dv] of Object.entries(v as Record<string, unknown>)) {
        const got = details[dk];
        if (dv !== null && typeof dv === 'object' && 'approxT' in dv) {
          const { approxT, tolS } = dv as { approxT: number; tolS: number };
          if (typeof got !== 'number' || Math.abs(got - (T0 + approxT * 1000)) > tolS * 1000) return `details.${dk}: ${String(got)} not within ${tolS}s of t=${approxT}`;
        } else if (JSON.stringify(got) !== JSON.stringify(dv)) return `details.${dk}: ${JSON.stringify(got)} ≠ ${JSON.stringify(dv)}`;
      }
    } else if (JSON.stringify(actual[k]) !== JSON.stringify(v)) return `${k}: ${JSON.stringify(actual[k])} ≠ ${JSON.stringify(v)}`;
  }
  return undefined;
}
