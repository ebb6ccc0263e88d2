import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { AlarmEvent } from '../../alerts/index.js';
import type { Device } from '../../core/index.js';
import { scenarioReadings } from '../../devices-sim/index.js';
import { createPipeline, createRejectLog, defaultPipelineConfig } from '../../ingest/index.js';
import { closeHarness, deviceMap, fixturesRoot as alertFixtures, openHarness, T0, tempDir, type ScenarioRegistry } from '../alerts/harness.js';

/**
 * Plays a scenario file the way production would see it: the replayed messages (JSON bodies, or the
 * raw garbage) go through the real ingest pipeline (decode, kind schema, dedupe) into a real alerts
 * engine on a real DuckDB alarm store, with an engine tick every minute of scenario time.
 */
export const scenarioFixtures = new URL('../fixtures/scenarios/', import.meta.url).pathname;

export async function goldenDevices(name: string): Promise<Device[]> {
  const registry = JSON.parse(await readFile(join(alertFixtures, name, 'registry.json'), 'utf8')) as ScenarioRegistry;
  return [...deviceMap(registry.devices).values()];
}

export async function scenarioFile(name: string): Promise<string> {
  return readFile(join(scenarioFixtures, `${name}.json`), 'utf8');
}

export interface AlertsReplay {
  events: AlarmEvent[];
  /** Alarm types raised, sorted. */
  raised: string[];
  readings: number;
  accepted: number;
  rejected: number;
}

export async function replayThroughAlerts(file: string, devices: readonly Device[],
  opts: { durationMs: number; seed?: number; tickMs?: number }): Promise<AlertsReplay> {
  const messages = scenarioReadings(file, devices, { seed: opts.seed ?? 7, start: T0, durationMs: opts.durationMs });
  const map = new Map(devices.map((d) => [d.id, d]));
  const h = await openHarness({ dir: await tempDir(), devices: map });
  const metrics = new Registry();
  const pipeline = createPipeline(defaultPipelineConfig, {
    devices: { get: (id) => map.get(id) },
    // Durable, so that each message's alarms are decided before the next message or tick.
    consumers: [{ name: 'alerts', durable: true, accept: (r) => h.engine.accept(r) }],
    rejects: createRejectLog({ capacity: 1_000 }, { metrics }),
    logger: pino({ level: 'silent' }),
    metrics,
  });
  const tickMs = opts.tickMs ?? 60_000;
  let nextTick = T0;
  try {
    for (const m of messages) {
      while (nextTick < m.ts) {
        h.now.ms = nextTick;
        await h.engine.tick(nextTick);
        nextTick += tickMs;
      }
      h.now.ms = m.ts;
      const body = m.raw ?? JSON.stringify(m.payload);
      await pipeline.handle({ topic: `devices/${m.device}/telemetry`, payload: Buffer.from(body), receivedAt: m.ts, source: 'replay' });
    }
    for (; nextTick < T0 + opts.durationMs; nextTick += tickMs) await h.engine.tick(nextTick);
    await h.engine.idle();
  } finally {
    await closeHarness(h);
  }
  const stats = pipeline.stats();
  const raised = [...new Set(h.events.filter((e) => e.type === 'raised').map((e) => e.alarm.type))].sort();
  return { events: h.events, raised, readings: messages.length, accepted: stats.accepted, rejected: stats.rejected };
}
