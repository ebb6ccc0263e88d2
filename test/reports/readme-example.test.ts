import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { chunduCommunity, type Device } from '../../core/index.js';
import { parseRetrofits, runBackfill } from '../../devices-sim/index.js';
import { createReports } from '../../reports/index.js';
import { renderHtml } from '../../reports/render/index.js';
import type { AlarmStore } from '../../storage/alarms/contract.js';
import { createEmbeddedDatabase } from '../../storage/index.js';
import { visibleText } from './english.js';

/**
 * The example the README used to give: a backfill with LED lighting and low-flow fixtures from
 * September 1, an August baseline and a September reporting period. It printed 节电 64.8 % ± 0.6 %
 * with ¥2,608 and 2.14 t CO₂, from an HDD model fitted on August (adjusted R² 0.014) projected onto
 * a cooler September, where the raw daily means imply about 9 %. Every September day is cooler than
 * any August day: there is no September day a model fitted on August can speak for, and a month is
 * no CalTRACK baseline. The report must say both, and present no number as a saving.
 */
const logger = pino({ level: 'silent' });

describe('the README example of old (a one-month August baseline, September reporting)', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('presents no extrapolated saving: nothing projected onto September, nothing claimed, and says why', async () => {
    dir = await mkdtemp(join(tmpdir(), 'anju-readme-'));
    const db = await createEmbeddedDatabase({ dataDir: dir, memoryLimit: '256MB', threads: 2 }, { logger });
    try {
      const c = chunduCommunity();
      const devices: Device[] = c.devices.filter((d) => d.kind === 'power_meter' || d.kind === 'water_meter' || d.kind === 'weather_station').map((d) => ({ ...d, name: d.name ?? d.id, createdAt: 0 }));
      const end = Date.UTC(2026, 9, 1, 16); // 2026-10-02 00:00 +08:00
      await runBackfill({ days: 63, end, seed: 7, retrofits: parseRetrofits('led:2026-09-01,lowflow:2026-09-01'), batchSize: 20_000 }, { store: db.telemetry, devices, logger });
      const reports = createReports({}, { store: db.telemetry, alarms: {} as AlarmStore, devices: { list: () => devices }, sites: { get: () => c.site },
        clock: () => end });
      const r = await reports.savings({ site: 'chundu', baselineFrom: '2026-08-01', baselineTo: '2026-09-01', from: '2026-09-01', to: '2026-10-01' });

      expect(r.sufficiency).toMatchObject({ status: 'insufficient', days: 31, reasons: ['too_short'] });
      expect(r.lines.length).toBeGreaterThan(10);
      for (const l of r.lines) {
        // August saw 26–29 °C daily means; every September day was cooler: none is projected.
        expect(l.temperatureRange?.outside, l.key).toBe(30);
        expect(l.claim, l.key).toEqual({ status: 'withheld', reasons: ['insufficient_baseline', 'temperature_out_of_range'] });
        expect(l.daily.every((d) => d.projected === null), l.key).toBe(true);
        expect(l.monthly, l.key).toEqual([]);
        expect(l.uncertainty.m, l.key).toBe(0);
        expect(l.avoided, l.key).toBe(0);
        // The days are there (complete data): it is the weather, not the meters, that stops the comparison.
        expect(l.completeness.reporting, l.key).toBeGreaterThan(0.95);
      }
      expect(r.totals).toMatchObject({ costAvoided: 0, co2AvoidedKg: 0 });
      const notes = r.warnings.filter((w) => w.code === 'temperature_out_of_range');
      expect(notes.length).toBe(r.lines.length);
      expect(notes[0]?.params).toMatchObject({ outside: 30, days: 30, variant: 'withheld' });

      const zh = visibleText(renderHtml(r));
      expect(zh).toContain('基准期数据不足：不认定任何节约量');
      expect(zh).toContain('不予认定：基准期不足；气温超出基准期范围');
      expect(zh).toContain('基准模型无法推断未曾出现过的气候条件');
      expect(zh).not.toMatch(/节电量\s+[\d,.]+\s*kWh/);
      const en = visibleText(renderHtml(r, { lang: 'en' }));
      expect(en).toContain('not claimed: insufficient baseline; temperatures outside the baseline range');
    } finally {
      await db.close();
    }
  }, 120_000);
});
