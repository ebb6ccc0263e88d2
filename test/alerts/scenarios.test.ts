import { afterAll, describe, expect, it } from 'vitest';
import { loadScenarios, mismatch, playScenario, project, projectIncidents, removeTempDirs } from './harness.js';

/**
 * Golden scenarios: test/fixtures/alerts/<scenario>/{registry.json, readings.jsonl, expected-events.jsonl
 * [, expected-incidents.jsonl]}, played against the real DuckDB alarm and incident stores with an
 * injected clock and periodic ticks.
 */
const scenarios = await loadScenarios();

afterAll(removeTempDirs);

describe('alert scenarios', () => {
  it('has every scenario the alert rules are specified against', () => {
    expect(scenarios.map((s) => s.name)).toEqual(expect.arrayContaining([
      'kitchen-fire', 'smouldering-fire', 'cooking-nuisance', 'test-button', 'electrical-leakage', 'overloaded-circuit',
      'bin-overflow', 'bin-fire', 'night-leak', 'burst', 'compound-imbalance', 'detector-offline', 'low-battery',
      // How devices really report (sensor resolution, intervals, intermittent signals, clocks, connections):
      'alarm-only-detectors', 'manual-call-point', 'coarse-heat-resolution', 'cooking-above-threshold', 'clock-skew',
      'intermittent-leakage', 'slow-leak', 'burst-q3-share', 'infrequent-meter-reports', 'periodic-disconnect',
      'first-report-critical', 'bin-thermistor-noise', 'fast-reporting-heat-rise',
    ]));
  });

  for (const s of scenarios) {
    it(`${s.name}: ${s.registry.description}`, async () => {
      const { events, incidentEvents, logLines } = await playScenario(s);
      const got = project(events);
      const problems: string[] = [];
      const n = Math.max(got.length, s.expected.length);
      for (let i = 0; i < n; i++) {
        const e = s.expected[i];
        if (!e) problems.push(`#${i} unexpected ${JSON.stringify(got[i])}`);
        else {
          const m = mismatch(got[i], e);
          if (m) problems.push(`#${i} ${JSON.stringify(e)}: ${m}${got[i] ? ` (got ${JSON.stringify({ ...got[i], details: undefined })})` : ''}`);
        }
      }
      if (s.expectedIncidents) {
        // Every stated key must match, in order; an event not stated is a failure (one incident per fire, not per alarm).
        const gotIncidents = projectIncidents(incidentEvents);
        for (let i = 0; i < Math.max(gotIncidents.length, s.expectedIncidents.length); i++) {
          const want = s.expectedIncidents[i] as Record<string, unknown> | undefined;
          const got = gotIncidents[i];
          if (!want) problems.push(`incident #${i} unexpected ${JSON.stringify(got)}`);
          else if (!got) problems.push(`incident #${i} ${JSON.stringify(want)}: missing`);
          else for (const [k, v] of Object.entries(want)) if (JSON.stringify(got[k]) !== JSON.stringify(v)) problems.push(`incident #${i} ${k}: ${JSON.stringify(got[k])} ≠ ${JSON.stringify(v)} (got ${JSON.stringify(got)})`);
        }
      }
      expect(problems, problems.join('\n')).toEqual([]);
      // seq is gap-free and monotonic across the whole scenario.
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      for (const msg of s.registry.expectLog ?? []) expect(logLines.some((l) => l.msg === msg), `log line "${msg}"`).toBe(true);
    });
  }
});
