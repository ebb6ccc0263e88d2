import { afterAll, describe, expect, it } from 'vitest';
import { loadScenarios, playScenario, projectIncidents, removeTempDirs } from './harness.js';

/**
 * Restart mid-scenario: closing engine and database halfway and reopening them on the same data
 * dir must neither lose nor repeat an alarm — every event (repeats included) comes out the same,
 * with the same seq, as in an uninterrupted run, and so do the incidents they make. Rule state (hold
 * timers, CO dose, fill regression, quiet-hour clocks, balance snapshots) has to survive for that.
 */
const scenarios = await loadScenarios();
afterAll(removeTempDirs);

const comparable = (events: Awaited<ReturnType<typeof playScenario>>['events']) =>
  events.map((e) => ({ seq: e.seq, ts: e.ts, type: e.type, alarm: { ...e.alarm, id: undefined, timeline: e.alarm.timeline.length } }));

describe('restart mid-scenario', () => {
  for (const s of scenarios) {
    it(`${s.name}: same events with a restart halfway`, async () => {
      const times = s.lines.map((l) => l.t).sort((a, b) => a - b);
      // Restart inside the interesting part: halfway between the first and the last line.
      const restartAt = ((times[0] ?? 0) + (times.at(-1) ?? 0)) / 2;
      const straight = await playScenario(s);
      const restarted = await playScenario(s, { restartAt });
      expect(comparable(restarted.events)).toEqual(comparable(straight.events));
      expect(projectIncidents(restarted.incidentEvents)).toEqual(projectIncidents(straight.incidentEvents));
    });
  }

  it('restarts inside a hold window and inside the CO dose build-up', async () => {
    const byName = new Map(scenarios.map((s) => [s.name, s]));
    for (const [name, at] of [['electrical-leakage', 125], ['smouldering-fire', 1500], ['overloaded-circuit', 800], ['bin-overflow', 30000], ['detector-offline', 1000]] as const) {
      const s = byName.get(name);
      if (!s) throw new Error(`no scenario ${name}`);
      const straight = await playScenario(s);
      const restarted = await playScenario(s, { restartAt: at });
      expect(comparable(restarted.events), name).toEqual(comparable(straight.events));
    }
  }, 120_000); // ten plays of long scenarios on a real DuckDB: ~18 s alone, more under a full parallel run
});
