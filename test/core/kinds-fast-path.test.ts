import { describe, expect, it } from 'vitest';
import { kindNames, kinds, type FieldSpec, type KindName } from '../../core/index.js';
import { goldenCases } from '../helpers/fixtures.js';

/**
 * `kind.accepts` is the hot path's shortcut past zod (core/kinds/define.ts). It must never accept
 * what the schema refuses, must read every value as the schema would, and must not quietly stop
 * being used: for any JSON value without an ISO `ts` string (the one thing it leaves to zod to
 * convert), its verdict is the schema's.
 */

/** A small seeded PRNG (mulberry32), so a failure names a reproducible case. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** Values a JSON payload (or a codec's output) may put where a number, a state or a flag belongs. */
function valueFor(r: () => number, spec: FieldSpec): unknown {
  const odd = [null, 'x', '12', true, false, [], {}, [1], -0, 0.5, -1, 1e300, -1e300, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, NaN, Infinity, -Infinity];
  const u = r();
  if (u < 0.3) return pick(r, odd);
  if (spec.type === 'bool') return r() < 0.5;
  if (spec.codes) return u < 0.8 ? pick(r, Object.values(spec.codes)) : pick(r, [1.5, 7, 99, -2]);
  const min = spec.min ?? -1e6;
  const max = spec.max ?? 1e6;
  // Mostly within range, at its bounds, and just past them.
  if (u < 0.4) return pick(r, [min, max, min - 1e-9, max + 1e-9, min - 1, max + 1]);
  return min + r() * (max - min);
}

function countFor(r: () => number): unknown {
  return pick(r, [0, 1, 42, 1_700_000_000_000, Number.MAX_SAFE_INTEGER, 2 ** 53, -1, 1.5, -0, '5', null, NaN, Infinity, true]);
}

function payloadFor(r: () => number, kind: KindName): Record<string, unknown> {
  const p: Record<string, unknown> = {};
  if (r() < 0.7) p.ts = countFor(r);
  if (r() < 0.7) p.seq = countFor(r);
  for (const [name, spec] of Object.entries(kinds[kind].fields)) if (r() < 0.6) p[name] = valueFor(r, spec);
  if (r() < 0.2) p.firmware_extra = pick(r, [1, 'v2', { nested: true }]);
  if (r() < 0.1) p.kind = kind;
  return p;
}

describe('kind.accepts, the fast path of the payload schema', () => {
  for (const kind of kindNames) {
    it(`${kind}: same verdict and values as the schema over 20,000 generated payloads`, () => {
      const r = prng(kindNames.indexOf(kind) + 1);
      const spec = kinds[kind];
      let fast = 0;
      let valid = 0;
      for (let i = 0; i < 20_000; i += 1) {
        const p = payloadFor(r, kind);
        const accepted = spec.accepts(p);
        const parsed = spec.payload.safeParse(p);
        const label = JSON.stringify(p, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
        expect(accepted !== undefined, label).toBe(parsed.success);
        if (!accepted || !parsed.success) continue;
        fast += 1;
        for (const name of ['ts', 'seq', ...Object.keys(spec.fields)]) expect(accepted[name], `${name} of ${label}`).toBe(parsed.data[name]);
        valid += 1;
      }
      // Enough of both verdicts that the comparison means something.
      expect(valid).toBeGreaterThan(500);
      expect(fast).toBe(valid);
    });
  }

  it('leaves an ISO 8601 ts to the schema (which converts it) and anything but a plain object', () => {
    const smoke = kinds.smoke_detector;
    expect(smoke.accepts({ smoke: 0.01, ts: '2026-12-05T10:00:00+08:00' })).toBeUndefined();
    expect(smoke.payload.safeParse({ smoke: 0.01, ts: '2026-12-05T10:00:00+08:00' }).data?.ts).toBe(Date.parse('2026-12-05T02:00:00Z'));
    for (const v of [null, [], [{ smoke: 0.01 }], 'smoke', 3, undefined]) expect(smoke.accepts(v)).toBeUndefined();
  });

  it('agrees with every golden payload case (test/fixtures/payloads)', () => {
    const cases = goldenCases<{ kind: KindName; payload: unknown }, { ok: true; value: Record<string, unknown> } | { ok: false }>('payloads');
    let fast = 0;
    for (const { name, input, expected } of cases) {
      const accepted = kinds[input.kind].accepts(input.payload);
      if (!accepted) continue;
      fast += 1;
      expect(expected.ok, name).toBe(true);
      if (expected.ok) for (const [k, v] of Object.entries(expected.value)) expect(accepted[k], `${name}: ${k}`).toEqual(v);
    }
    expect(fast).toBeGreaterThan(0);
  });
});
