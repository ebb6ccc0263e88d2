import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../alerts/harness.js';
import { goldenDevices, replayThroughAlerts, scenarioFile } from './replay-alerts.js';

/**
 * Scenario shapes trigger the intended alarms when the alerts engine is present: each scenario file
 * in test/fixtures/scenarios/ is replayed on the registry of the matching alerts golden scenario
 * (test/fixtures/alerts/<name>/registry.json) through the real ingest pipeline into a real alerts
 * engine, and must raise exactly its intended alarm types — and the same registry without the
 * scenario raises nothing, so the alarms are the scenario's doing.
 */
afterAll(removeTempDirs);

const MIN = 60_000;
const cases: Array<{ file: string; registry: string; minutes: number; raised: string[] }> = [
  // A 5-minute flaming fire: smoke, both heat criteria, the building's fire risk; too short for the CO dose.
  { file: 'kitchen-fire', registry: 'kitchen-fire', minutes: 40, raised: ['fire_risk', 'heat', 'heat_rise', 'smoke'] },
  { file: 'smouldering-fire', registry: 'smouldering-fire', minutes: 90, raised: ['co', 'fire_risk', 'smoke'] },
  { file: 'cooking-nuisance', registry: 'cooking-nuisance', minutes: 30, raised: [] },
  { file: 'electrical-leakage', registry: 'electrical-leakage', minutes: 40, raised: ['residual_current'] },
  { file: 'overloaded-circuit', registry: 'overloaded-circuit', minutes: 100, raised: ['cable_temperature', 'overcurrent'] },
  { file: 'bin-overflow', registry: 'bin-overflow', minutes: 360, raised: ['bin_fill', 'bin_time_to_full'] },
  { file: 'bin-fire', registry: 'bin-fire', minutes: 90, raised: ['bin_fire'] },
  { file: 'night-leak', registry: 'night-leak', minutes: 30 * 60, raised: ['water_leak'] },
  { file: 'burst', registry: 'burst', minutes: 240, raised: ['water_burst'] },
  { file: 'detector-offline', registry: 'detector-offline', minutes: 90, raised: ['offline'] },
  { file: 'low-battery', registry: 'low-battery', minutes: 150, raised: ['battery'] },
  { file: 'garbage', registry: 'detector-offline', minutes: 120, raised: [] },
  // A call point confirms the fire on its own; two alarm-only detectors are two independent signals.
  { file: 'manual-call-point', registry: 'manual-call-point', minutes: 40, raised: ['fire_risk', 'manual_call'] },
  { file: 'alarm-only-detectors', registry: 'alarm-only-detectors', minutes: 40, raised: ['fire_risk', 'smoke'] },
];

describe('scenario shapes raise their intended alarms through ingest and the alerts engine', () => {
  for (const c of cases) {
    it(`${c.file}: ${c.raised.join(', ') || 'nothing'}`, async () => {
      const devices = await goldenDevices(c.registry);
      const run = await replayThroughAlerts(await scenarioFile(c.file), devices, { durationMs: c.minutes * MIN });
      expect(run.raised).toEqual(c.raised);
      if (c.file !== 'garbage') expect(run.rejected).toBe(0);
      const baseline = await replayThroughAlerts('[]', devices, { durationMs: c.minutes * MIN });
      expect(baseline.raised).toEqual([]);
    }, 60_000);
  }

  it('smouldering fire: CO alarms before smoke, and heat never does', async () => {
    const run = await replayThroughAlerts(await scenarioFile('smouldering-fire'), await goldenDevices('smouldering-fire'), { durationMs: 90 * MIN });
    const at = (type: string) => run.events.find((e) => e.type === 'raised' && e.alarm.type === type)?.ts ?? Infinity;
    expect(at('co')).toBeLessThan(at('smoke'));
  });

  it('electrical leakage goes from major (300 mA) to critical (500 mA) and clears after the repair', async () => {
    const run = await replayThroughAlerts(await scenarioFile('electrical-leakage'), await goldenDevices('electrical-leakage'), { durationMs: 40 * MIN });
    const rc = run.events.filter((e) => e.alarm.type === 'residual_current');
    expect(rc[0]).toMatchObject({ type: 'raised', alarm: { severity: 'major' } });
    expect(rc.some((e) => e.previousSeverity === 'major' && e.alarm.severity === 'critical')).toBe(true);
    expect(rc.at(-1)?.type).toBe('cleared');
  });

  it('low battery reaches the major level on the smoke detector and stays a warning on the water meter', async () => {
    const run = await replayThroughAlerts(await scenarioFile('low-battery'), await goldenDevices('low-battery'), { durationMs: 150 * MIN });
    const last = (id: string) => run.events.filter((e) => e.alarm.originator.id === id).at(-1)?.alarm.severity;
    expect(last('sd-2')).toBe('major');
    expect(last('wm-3')).toBe('warning');
  });

  it('a silent detector is called offline by the engine tick, and clears when it reports again', async () => {
    const run = await replayThroughAlerts(await scenarioFile('detector-offline'), await goldenDevices('detector-offline'), { durationMs: 90 * MIN });
    expect(run.events.map((e) => `${e.type}:${e.alarm.type}:${e.alarm.originator.id}:${e.alarm.severity}`)).toEqual([
      'raised:offline:sd-1:major', 'cleared:offline:sd-1:major',
    ]);
  });

  it('garbage is refused by ingest with nothing reaching the engine, while the good messages still do', async () => {
    const run = await replayThroughAlerts(await scenarioFile('garbage'), await goldenDevices('detector-offline'), { durationMs: 120 * MIN });
    expect(run.rejected).toBeGreaterThan(5);
    expect(run.accepted + run.rejected).toBe(run.readings);
    expect(run.events).toEqual([]);
  });
});
