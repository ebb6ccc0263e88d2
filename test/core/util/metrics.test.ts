import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { getOrCreateMetric } from '../../../core/util/index.js';

describe('getOrCreateMetric', () => {
  const make = (reg: Registry, labelNames: string[] = ['reason']) => () =>
    new Counter({ name: 'anju_test_total', help: 'test', labelNames, registers: [reg] });

  it('registers the metric once and hands the same one back to a second part on the registry', async () => {
    const reg = new Registry();
    const first = getOrCreateMetric(reg, 'anju_test_total', make(reg));
    first.inc({ reason: 'a' });
    const second = getOrCreateMetric(reg, 'anju_test_total', make(reg));
    expect(second).toBe(first);
    second.inc({ reason: 'a' });
    expect((await reg.getSingleMetric('anju_test_total')?.get())?.values[0]?.value).toBe(2);
  });

  it('keeps registries apart', () => {
    const a = new Registry();
    const b = new Registry();
    expect(getOrCreateMetric(a, 'anju_test_total', make(a))).not.toBe(getOrCreateMetric(b, 'anju_test_total', make(b)));
  });

  it('refuses, at wiring time, a metric registered earlier without the labels this part needs', () => {
    const reg = new Registry();
    getOrCreateMetric(reg, 'anju_test_total', make(reg, ['store']));
    expect(() => getOrCreateMetric(reg, 'anju_test_total', make(reg, ['store', 'reason']), ['store', 'reason']))
      .toThrow(/already registered with labels \[store\].*needs \[store, reason\]/);
    expect(getOrCreateMetric(reg, 'anju_test_total', make(reg), ['store'])).toBeInstanceOf(Counter);
  });
});
