import { describe, expect, it } from 'vitest';
import { kinds, type Device, type KindPayload } from '../../core/index.js';
import { createPowerMeterProfile, createProfiles, createRng, createWaterMeterProfile, deviceRng, localTime } from '../../devices-sim/index.js';
import { asDevice, DAY, demoDevices, HOUR, localHour, MIN, START } from './helpers.js';

type Series = Map<string, KindPayload[]>;

/** Every demo device sampled every `step` over `days`, like a fleet would (all profiles linked). */
function simulate(seed: number, step: number, days: number, devices = demoDevices()): Series {
  const profiles = createProfiles(devices, { seed, start: START });
  const out: Series = new Map();
  for (let t = START; t <= START + days * DAY; t += step) {
    for (const [id, p] of profiles) {
      const list = out.get(id) ?? [];
      list.push(p.next(t));
      out.set(id, list);
    }
  }
  return out;
}

const num = (p: KindPayload, f: string) => p[f] as number;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('device profiles over a simulated week', () => {
  const devices = demoDevices();
  const week = simulate(42, 5 * MIN, 7, devices);

  it('covers every kind of the demo community', () => {
    expect(new Set(devices.map((d) => d.kind))).toEqual(new Set(Object.keys(kinds)));
  });

  it('every payload validates against its kind schema and carries ts and seq', () => {
    for (const d of devices) {
      const series = week.get(d.id) ?? [];
      expect(series.length).toBe(7 * 288 + 1);
      // Collect problems and assert once: an expect() per sample makes this test slow.
      const problems: string[] = [];
      series.forEach((p, i) => {
        const parsed = kinds[d.kind].payload.safeParse(p);
        if (!parsed.success) problems.push(`${JSON.stringify(p)}: ${parsed.error.message}`);
        if (p[kinds[d.kind].mainField] === undefined || p.seq !== i || p.ts !== START + i * 5 * MIN) problems.push(`envelope of ${JSON.stringify(p)}`);
      });
      expect(problems, d.id).toEqual([]);
    }
  });

  it('cumulative registers never decrease, and do increase', () => {
    for (const d of devices) {
      for (const field of kinds[d.kind].cumulative) {
        const values = (week.get(d.id) ?? []).map((p) => num(p, field));
        expect(values.every((v, i) => i === 0 || v >= (values[i - 1] as number)), `${d.id} ${field}`).toBe(true);
        expect(values.at(-1)).toBeGreaterThan(values[0] as number);
      }
    }
  });

  it('same seed gives an identical sequence, a different seed differs', () => {
    const again = simulate(42, 5 * MIN, 1);
    const other = simulate(43, 5 * MIN, 1);
    for (const d of devices) {
      const first = (week.get(d.id) ?? []).slice(0, 289);
      expect(again.get(d.id)).toEqual(first);
      expect(other.get(d.id)).not.toEqual(first);
    }
  });

  it("adding a device does not change the others' data", () => {
    const extra = asDevice({ id: 'chundu-b9-sd-u1', kind: 'smoke_detector', site: 'chundu', building: 'b9' });
    const more = simulate(42, 5 * MIN, 1, [extra, ...devices]);
    for (const d of devices) expect(more.get(d.id)).toEqual((week.get(d.id) ?? []).slice(0, 289));
  });

  it('bins fill and get emptied on their collection schedule', () => {
    for (const d of devices.filter((x) => x.kind === 'smart_bin')) {
      const series = week.get(d.id) ?? [];
      const drops = series.filter((p, i) => i > 0 && num(p, 'fill') < num(series[i - 1] as KindPayload, 'fill') - 10);
      const perWeek = { kitchen: 14, residual: 14, recyclable: 7, hazardous: 1 }[d.category ?? 'residual'];
      // A collection right after another can find a nearly empty bin; most must be visible.
      expect(drops.length, d.id).toBeGreaterThanOrEqual(Math.max(1, perWeek - 2));
      expect(drops.length, d.id).toBeLessThanOrEqual(perWeek);
      if (d.category === 'kitchen' || d.category === 'residual') {
        for (const p of drops) expect([7, 19]).toContain(localHour(p.ts as number));
      }
      // Weight follows fill.
      const fills = series.map((p) => num(p, 'fill'));
      const weights = series.map((p) => num(p, 'weight'));
      const mf = mean(fills);
      const mw = mean(weights);
      const cov = mean(fills.map((f, i) => (f - mf) * ((weights[i] as number) - mw)));
      expect(cov, d.id).toBeGreaterThan(0);
      expect(series.filter((p) => p.tilt === true).length / series.length).toBeLessThan(0.05);
    }
  });

  it('kitchen bins fill faster than hazardous ones', () => {
    const peak = (id: string) => Math.max(...(week.get(id) ?? []).map((p) => num(p, 'fill')));
    const risePerDay = (id: string) => {
      const s = week.get(id) ?? [];
      let rise = 0;
      for (let i = 1; i < s.length; i++) rise += Math.max(0, num(s[i] as KindPayload, 'fill') - num(s[i - 1] as KindPayload, 'fill') - 1);
      return rise / 7;
    };
    expect(risePerDay('chundu-bin1-kitchen')).toBeGreaterThan(3 * risePerDay('chundu-bin1-hazardous'));
    expect(peak('chundu-bin1-kitchen')).toBeLessThanOrEqual(100);
  });

  it('household water flow is near zero at night and the master meter sums its households', () => {
    const households = devices.filter((d) => d.kind === 'water_meter' && d.purpose === 'household');
    for (const d of households) {
      const series = week.get(d.id) ?? [];
      const night = series.filter((p) => [1, 2, 3, 4].includes(localHour(p.ts as number))).map((p) => num(p, 'flow'));
      const evening = series.filter((p) => [19, 20, 21, 22].includes(localHour(p.ts as number))).map((p) => num(p, 'flow'));
      expect(mean(night), d.id).toBeLessThan(0.2);
      expect(night.filter((f) => f === 0).length / night.length, d.id).toBeGreaterThan(0.95);
      expect(mean(evening), d.id).toBeGreaterThan(mean(night));
    }
    const increase = (id: string) => {
      const s = week.get(id) ?? [];
      return num(s.at(-1) as KindPayload, 'volume') - num(s[0] as KindPayload, 'volume');
    };
    const sum = households.reduce((a, d) => a + increase(d.id), 0);
    const master = increase('chundu-wm-master');
    expect(master).toBeGreaterThan(sum);
    expect(master).toBeLessThan(sum * 1.12);
  });

  it('smoke detectors stay quiet with sane values', () => {
    for (const d of devices.filter((x) => x.kind === 'smoke_detector')) {
      const series = week.get(d.id) ?? [];
      expect(series.some((p) => p.alarm !== false)).toBe(false);
      expect(Math.max(...series.map((p) => num(p, 'smoke')))).toBeLessThan(0.2);
      expect(Math.max(...series.map((p) => num(p, 'co')))).toBeLessThanOrEqual(3);
      const battery = (week.get(d.id) ?? []).map((p) => num(p, 'battery'));
      expect(battery.at(-1)).toBeLessThanOrEqual(battery[0] as number);
    }
  });

  it('power meters: lighting on at night, lifts busy by day, pump follows water demand, within rated current', () => {
    const byHour = (id: string, hours: number[]) => mean((week.get(id) ?? []).filter((p) => hours.includes(localHour(p.ts as number))).map((p) => num(p, 'power')));
    expect(byHour('chundu-b1-pm-light', [21, 22])).toBeGreaterThan(5 * byHour('chundu-b1-pm-light', [11, 12, 13]));
    expect(byHour('chundu-b1-pm-lift', [7, 8, 18])).toBeGreaterThan(1.5 * byHour('chundu-b1-pm-lift', [2, 3]));
    expect(byHour('chundu-pm-pump', [19, 20, 21])).toBeGreaterThan(1.5 * byHour('chundu-pm-pump', [2, 3]));
    for (const d of devices.filter((x) => x.kind === 'power_meter')) {
      const series = week.get(d.id) ?? [];
      const field = (f: string) => series.map((p) => num(p, f));
      expect(Math.max(...field('current'))).toBeLessThanOrEqual(0.7 * (d.rated_current ?? 32) + 1e-9);
      expect(Math.min(...field('voltage'))).toBeGreaterThan(205);
      expect(Math.max(...field('voltage'))).toBeLessThan(235);
      expect(Math.max(...field('residual_current'))).toBeLessThan(10);
      expect(series.every((p) => Math.abs(num(p, 'current') - num(p, 'power') / num(p, 'voltage')) < 0.01)).toBe(true);
    }
  });
});

describe('residential power curve', () => {
  const household: Device = asDevice({ id: 'h-1', kind: 'power_meter', site: 's', building: 'b', purpose: 'household', rated_current: 40 });

  it('peaks in the evening, is low at night, and energy integrates power', () => {
    const p = createPowerMeterProfile(household, deviceRng(5, household.id), START);
    const samples: KindPayload[] = [];
    for (let t = START; t <= START + 14 * DAY; t += 10 * MIN) samples.push(p.next(t));
    const at = (hours: number[]) => mean(samples.filter((s) => hours.includes(localHour(s.ts as number))).map((s) => num(s, 'power')));
    expect(at([19, 20, 21])).toBeGreaterThan(2 * at([2, 3, 4]));
    expect(at([7])).toBeGreaterThan(at([3]));
    const kwh = num(samples.at(-1) as KindPayload, 'energy') - num(samples[0] as KindPayload, 'energy');
    const avgW = mean(samples.map((s) => num(s, 'power')));
    expect(kwh).toBeGreaterThan(0.9 * avgW * 14 * 24 / 1000);
    expect(kwh).toBeLessThan(1.1 * avgW * 14 * 24 / 1000);
  });

  it('the energy register does not depend on how often it is read', () => {
    const a = createPowerMeterProfile(household, deviceRng(5, household.id), START);
    const b = createPowerMeterProfile(household, deviceRng(5, household.id), START);
    for (let t = START; t < START + DAY; t += 10_000) a.next(t);
    const end = START + DAY;
    expect(a.next(end).energy as number).toBeCloseTo(b.next(end).energy as number, 1);
  });

  it('weekends rise later than weekdays', () => {
    // 2026-01-06 is a Tuesday, 2026-01-10 a Saturday.
    expect(localTime(START).weekday).toBe(2);
    const p = createPowerMeterProfile(household, createRng(1), START);
    const morning = (day: number) => {
      const xs: number[] = [];
      for (let t = START + day * DAY + 6.5 * HOUR; t < START + day * DAY + 8 * HOUR; t += 5 * MIN) xs.push(num(p.next(t), 'power'));
      return mean(xs);
    };
    const weekday = morning(0);
    const saturday = morning(4);
    expect(weekday).toBeGreaterThan(saturday);
  });

  it('a master water meter without linked households simulates its own compound', () => {
    const master = asDevice({ id: 'm', kind: 'water_meter', site: 's', building: 'b', purpose: 'master' });
    const p = createWaterMeterProfile(master, createRng(9), START);
    const first = p.next(START);
    const last = p.next(START + DAY);
    // 24 homes at ~100–150 L per person a day: some m³ a day.
    expect((last.volume as number) - (first.volume as number)).toBeGreaterThan(2);
    expect((last.volume as number) - (first.volume as number)).toBeLessThan(40);
  });
});
