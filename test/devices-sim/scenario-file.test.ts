import { describe, expect, it } from 'vitest';
import { kinds } from '../../core/index.js';
import { parseScenario, parseScenarioFile, scenarioFactories, scenarioReadings } from '../../devices-sim/index.js';
import { demoDevices, HOUR, MIN, START } from './helpers.js';
import { scenarioFile } from './replay-alerts.js';

describe('scenario files', () => {
  it('reads several scenarios with offsets, ISO instants, durations, filters and params', async () => {
    const scenarios = parseScenarioFile(await scenarioFile('bad-day'), START);
    expect(scenarios).toHaveLength(13);
    expect(new Set(scenarios.map((s) => s.name.split(':')[0]))).toEqual(new Set(Object.keys(scenarioFactories)));
    expect(scenarios[0]).toMatchObject({ name: 'fire:chundu-b3-sd-301', startAt: START + 2 * MIN, endAt: START + 7 * MIN });
    const [s] = parseScenarioFile('[{"kind":"household-leak","target":"b2","at":"2026-01-06T02:00:00+08:00","for":"1.5h","params":{"lpm":0.4}}]', START);
    expect(s).toMatchObject({ startAt: START + 2 * HOUR, endAt: START + 3.5 * HOUR });
    const [d] = parseScenarioFile('{"scenarios":[{"kind":"pipe-burst","target":"b1","at":"+1d"}]}', START);
    expect(d?.startAt).toBe(START + 24 * HOUR);
  });

  it('applies filters: overload of b2 common lighting only; kitchen bins of the whole site', () => {
    const devices = demoDevices();
    const [overload, bins] = parseScenarioFile(JSON.stringify([
      { kind: 'overloaded-circuit', target: 'b2', filter: { purpose: 'common_lighting' } },
      { kind: 'bin-overflow', target: 'chundu', filter: { category: 'kitchen' } },
    ]), START);
    expect(devices.filter((x) => overload?.appliesTo(x)).map((x) => x.id)).toEqual(['chundu-b2-pm-light']);
    expect(devices.filter((x) => bins?.appliesTo(x)).map((x) => x.id)).toEqual(['chundu-bin1-kitchen', 'chundu-bin2-kitchen']);
  });

  it.each([
    ['not json', '{', /not valid JSON/],
    ['unknown kind', '[{"kind":"flood","target":"b1"}]', /\[0\]\.kind: unknown scenario kind "flood"; known: fire, smouldering-fire/],
    ['bad offset', '[{"kind":"fire","target":"b1"},{"kind":"fire","target":"b1","at":"in 2 minutes"}]', /\[1\]\.at: .*\+2m/],
    ['bad target id', '[{"kind":"fire","target":"b 1"}]', /\[0\]\.target: ids are/],
    ['unknown key', '[{"kind":"fire","target":"b1","when":"+2m"}]', /\[0\]: .*when/],
    ['bad filter', '[{"kind":"pipe-burst","target":"b1","filter":{"purpose":"garden"}}]', /\[0\]\.filter\.purpose/],
    ['bad duration', '[{"kind":"fire","target":"b1","for":"forever"}]', /\[0\]\.for: a duration like 90s/],
    ['not a list', '{"fire":"b1"}', /expected a list of scenarios/],
  ])('refuses %s with a clear error', (_name, text, message) => {
    expect(() => parseScenarioFile(text, START)).toThrow(message);
  });

  it('the command line form knows every scenario and day offsets', () => {
    expect(parseScenario('pipe-burst:chundu-b1-wm-101@+1d', START)).toMatchObject({ name: 'pipe-burst:chundu-b1-wm-101', startAt: START + 24 * HOUR });
    expect(() => parseScenario('flood:b1', START)).toThrow(/known: .*garbage/);
  });
});

describe('scenario replay', () => {
  const run = async (seed: number) => scenarioReadings(await scenarioFile('bad-day'), demoDevices(), { seed, start: START, durationMs: 4 * HOUR });

  it('every reading validates against its kind schema, except the garbage, and registers never fall', async () => {
    const messages = await run(3);
    const garbage = messages.filter((m) => m.raw !== undefined);
    expect(garbage.length).toBeGreaterThan(3);
    expect(new Set(garbage.map((m) => m.device))).toEqual(new Set(['chundu-b3-wm-101']));
    const last = new Map<string, number>();
    for (const m of messages.filter((x) => x.raw === undefined)) {
      const parsed = kinds[m.kind].payload.safeParse(m.payload);
      expect(parsed.success, `${m.device} ${JSON.stringify(m.payload)}`).toBe(true);
      for (const field of kinds[m.kind].cumulative) {
        const v = m.payload[field] as number;
        expect(v, `${m.device} ${field}`).toBeGreaterThanOrEqual(last.get(m.device) ?? 0);
        last.set(m.device, v);
      }
    }
    for (const m of garbage) {
      let ok = false;
      try {
        ok = kinds[m.kind].payload.safeParse(JSON.parse(m.raw as string)).success;
      } catch { /* not JSON: refused */ }
      expect(ok, m.raw).toBe(false);
    }
  });

  it('is deterministic: same seed, same stream; the silent detector sends nothing after its start', async () => {
    const [a, b, c] = await Promise.all([run(3), run(3), run(4)]);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a.filter((m) => m.device === 'chundu-b1-sd-u2' && m.ts >= START + HOUR)).toEqual([]);
    // The fire's detector reports every 5 s while it burns.
    const fire = a.filter((m) => m.device === 'chundu-b3-sd-301' && m.ts >= START + 2 * MIN && m.ts < START + 7 * MIN);
    expect(fire.length).toBeGreaterThan(50);
  });

  it('a burst pipe adds its water to the register, and keeps it after the valve is closed', async () => {
    const [with_, without] = await Promise.all([run(5), scenarioReadings('[]', demoDevices(), { seed: 5, start: START, durationMs: 4 * HOUR })]);
    const vol = (ms: typeof with_, ts: number) => ms.find((m) => m.device === 'chundu-b1-wm-301' && m.ts >= ts)?.payload.volume as number;
    // 0.8 × Q3 (2.5 m³/h) for 1 h = 2 m³.
    expect(vol(with_, START + 3.75 * HOUR) - vol(without, START + 3.75 * HOUR)).toBeCloseTo(2, 1);
  });
});
