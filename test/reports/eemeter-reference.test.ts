import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { Device, Reading } from '../../core/index.js';
import { createReports, type SavingsLine } from '../../reports/index.js';
import type { AlarmStore } from '../../storage/alarms/contract.js';
import { createEmbeddedDatabase } from '../../storage/index.js';
import { fixturesDir } from '../helpers/fixtures.js';

/**
 * Anju against the reference CalTRACK 2.0 implementation (OpenEEmeter), on its published daily
 * sample: the sample's daily kWh become midnight register reads of a power meter, its hourly °F a
 * weather station in °C, written to a real store; the full savings report (rollups, daily values,
 * temperature means, the CalTRACK fit, the comparison) must reproduce the reference model and
 * counterfactual. Data, provenance, licence and the reference numbers: test/fixtures/eemeter-daily/.
 */
const logger = pino({ level: 'silent' });
const dir = join(fixturesDir, 'eemeter-daily');
const csv = (file: string) => gunzipSync(readFileSync(join(dir, file))).toString('utf8').trim().split('\n').slice(1).map((l) => l.split(','));
const fToC = (f: number) => ((f - 32) * 5) / 9;

const SITE = 'il-sample';
const meter: Device = { id: 'il-pm', kind: 'power_meter', site: SITE, building: 'house', name: 'il-pm', createdAt: 0, purpose: 'other' };
const station: Device = { id: 'il-wx', kind: 'weather_station', site: SITE, building: 'house', name: 'il-wx', createdAt: 0 };

function readings(): Reading[] {
  const out: Reading[] = [];
  // Daily use → a register read at the start of each day (the sample's days are UTC days).
  let register = 1000;
  for (const [start, value] of csv('il-electricity-cdd-hdd-daily.csv.gz')) {
    const day = Date.parse(`${(start as string).slice(0, 10)}T00:00:00Z`);
    out.push({ device: meter.id, kind: 'power_meter', site: SITE, building: 'house', ts: day, fields: { energy: register } });
    const v = Number(value);
    if (value === '' || !Number.isFinite(v)) break;
    register += v;
  }
  for (const [dt, tempF] of csv('il-tempF.csv.gz')) {
    if (tempF === '' || tempF === undefined) continue;
    out.push({ device: station.id, kind: 'weather_station', site: SITE, building: 'house', ts: Date.parse(dt as string), fields: { temperature: fToC(Number(tempF)) } });
  }
  return out;
}

describe('CalTRACK 2.0 against OpenEEmeter on its daily sample (il-electricity-cdd-hdd-daily)', () => {
  let tmp: string | undefined;
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('the same model, coefficients, adjusted R² and counterfactual as the reference implementation', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'anju-eemeter-'));
    const db = await createEmbeddedDatabase({ dataDir: tmp, memoryLimit: '256MB', threads: 2 }, { logger });
    try {
      await db.state.upsertSite({ id: SITE, name: 'OpenEEmeter sample', timezone: 'UTC' });
      await db.telemetry.write(readings());
      const reports = createReports({}, {
        store: db.telemetry, alarms: {} as AlarmStore, devices: { list: () => [meter, station] },
        sites: { get: (id) => (id === SITE ? { id, name: 'OpenEEmeter sample', timezone: 'UTC' } : undefined) }, clock: () => 0,
      });
      const r = await reports.savings({ site: SITE, baselineFrom: '2015-12-27', baselineTo: '2016-12-26', from: '2017-01-04', to: '2018-01-04', model: 'degree_day' });
      const l = r.lines.find((x) => x.key === 'site:electricity') as SavingsLine;
      expect(r.sufficiency?.status).toBe('sufficient');
      expect(l.fit.n).toBe(365);
      // The model: HDD+CDD at 53 °F / 68 °F; coefficients per °C·day are the reference's per °F·day × 9/5.
      const m = l.model as { type: string; intercept: number; betaHdd: number; betaCdd: number; hddBalance: number; cddBalance: number; adjR2: number };
      expect(m.type).toBe('hdd_cdd');
      expect(m.hddBalance).toBeCloseTo(fToC(53), 9);
      expect(m.cddBalance).toBeCloseTo(fToC(68), 9);
      expect(m.intercept).toBeCloseTo(13.472385591795213, 4);
      expect(m.betaHdd).toBeCloseTo(1.1122947857443488 * 1.8, 4);
      expect(m.betaCdd).toBeCloseTo(2.516255026490125 * 1.8, 4);
      expect(m.adjR2).toBeCloseTo(0.7684732992831353, 6);
      // The comparison: 5 reporting days lie outside the baseline's temperatures and are left out;
      // over the other 360 the counterfactual is the reference's to 0.01 %.
      expect(l.temperatureRange).toMatchObject({ days: 365, outside: 5 });
      expect(l.uncertainty.m).toBe(360);
      expect(Math.abs(l.projected - 9525.394213980546) / 9525.394213980546).toBeLessThan(1e-4);
      expect(l.actual).toBeCloseTo(8725.96, 2);
      expect(l.avoidedFraction).toBeCloseTo((9525.394213980546 - 8725.96) / 9525.394213980546, 3);
      // 5 of 365 days outside the range (1.4 %) does not withhold the claim; the G14 verdict is Anju's own.
      expect(l.claim?.reasons).not.toContain('temperature_out_of_range');
    } finally {
      await db.close();
    }
  }, 60_000);
});
