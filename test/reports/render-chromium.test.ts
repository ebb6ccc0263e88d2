import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml, reportLangs } from '../../reports/render/index.js';
import { requireBinary } from '../helpers/servers.js';
import { allReports } from './render-fixtures.js';

/**
 * The HTML reports in a real browser: Debian's chromium, driven by playwright-core (no bundled
 * browser download). Every report in both languages loads with no console error, no failed or
 * external request, lays its charts out, and prints to an A4 PDF.
 */

const bin = requireBinary('chromium', 'chromium');

describe.skipIf(bin.skip !== undefined)(`HTML reports in headless Chromium${bin.skip ? ` (skipped: ${bin.skip})` : ''}`, () => {
  let browser: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    profile = await mkdtemp(join(tmpdir(), 'anju-chromium-'));
    // A fresh profile dir (playwright passes it as --user-data-dir; it refuses the flag in `args`).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: bin.path ?? '/usr/bin/chromium',
      headless: true,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run',
        '--disable-component-update', '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  for (const report of allReports) {
    for (const lang of reportLangs) {
      it(`${report.type} in ${lang}: no console errors, charts laid out, prints to PDF`, async () => {
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`); });
        page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
        const requests: string[] = [];
        page.on('request', (r) => requests.push(r.url()));
        try {
          await page.setContent(renderHtml(report, { lang }), { waitUntil: 'load' });
          expect(await page.getAttribute('html', 'lang')).toBe(lang);
          const charts = await page.$$eval('svg.chart', (els) => els.map((e) => e.getBoundingClientRect().width));
          expect(charts.length).toBeGreaterThan(0);
          for (const w of charts) expect(w).toBeGreaterThan(100);
          const pdf = await page.pdf({ format: 'A4', printBackground: true });
          expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
          expect(pdf.length).toBeGreaterThan(5_000);
          expect(problems).toEqual([]);
          expect(requests.filter((u) => !u.startsWith('about:') && !u.startsWith('data:'))).toEqual([]);
        } finally {
          await page.close();
        }
      });
    }
  }
});
