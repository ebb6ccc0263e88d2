import { describe, expect, it } from 'vitest';
import { chunduCommunity, deviceInputSchema, kindNames, kinds, type KindName } from '../../core/index.js';
import { goldenCases } from '../helpers/fixtures.js';

type Input = { kind: KindName; payload: unknown };
type Expected = { ok: true; value: Record<string, unknown> } | { ok: false; paths: string[] };

describe('kind payload schemas (golden cases in test/fixtures/payloads)', () => {
  const cases = goldenCases<Input, Expected>('payloads');

  it('has accepted and refused cases for every kind', () => {
    for (const kind of kindNames) {
      expect(cases.some((c) => c.input.kind === kind && c.expected.ok), `${kind} accepted`).toBe(true);
      expect(cases.some((c) => c.input.kind === kind && !c.expected.ok), `${kind} refused`).toBe(true);
    }
  });

  for (const { name, input, expected } of cases) {
    it(name, () => {
      const result = kinds[input.kind].payload.safeParse(input.payload);
      if (expected.ok) {
        expect(result.success, JSON.stringify(result.error?.issues)).toBe(true);
        expect(result.data).toEqual(expected.value);
      } else {
        expect(result.success).toBe(false);
        expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual(expected.paths);
      }
    });
  }
});

describe('kinds', () => {
  it('declare their main field, units and cumulative registers consistently', () => {
    for (const kind of Object.values(kinds)) {
      expect(kind.fields[kind.mainField]).toBeDefined();
      for (const field of kind.cumulative) expect(kind.fields[field]?.type).toBe('float');
      // A state code has no unit: its numbers are names (core/kinds/codes.ts).
      for (const spec of Object.values(kind.fields)) if (spec.type === 'float' && !spec.codes) expect(spec.unit).toBeTruthy();
    }
  });
});

describe('demo community', () => {
  const demo = chunduCommunity();

  it('is a valid registry: every device passes the provisioning schema, ids unique', () => {
    for (const d of demo.devices) expect(deviceInputSchema.safeParse(d).success, d.id).toBe(true);
    expect(new Set(demo.devices.map((d) => d.id)).size).toBe(demo.devices.length);
    const buildings = new Set(demo.buildings.map((b) => b.id));
    for (const d of demo.devices) expect(buildings.has(d.building), d.id).toBe(true);
  });

  it('has every kind, all four bin categories, a master water meter and pump/common meters', () => {
    for (const kind of kindNames) expect(demo.devices.some((d) => d.kind === kind), kind).toBe(true);
    const categories = new Set(demo.devices.filter((d) => d.kind === 'smart_bin').map((d) => d.category));
    expect([...categories].sort()).toEqual(['hazardous', 'kitchen', 'recyclable', 'residual']);
    const purposes = new Set(demo.devices.map((d) => d.purpose).filter(Boolean));
    for (const p of ['household', 'master', 'common_lighting', 'water_pump', 'elevator']) expect(purposes.has(p as never), p).toBe(true);
    const master = demo.devices.find((d) => d.purpose === 'master');
    expect(demo.devices.filter((d) => d.parent === master?.id).length).toBeGreaterThan(0);
  });
});
