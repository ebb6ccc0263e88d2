import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReportsApiDeps } from '../../api/app.js';
import { createReports, type AnyReport } from '../../reports/index.js';
import { fireSafetyReport, savingsReport, wasteReport } from '../reports/render-fixtures.js';
import { startHarness, type Harness } from './harness.js';

/**
 * /api/reports: bad requests against the real calculations (createReports over the embedded
 * stores: its checks run before any data is read), output formats against a stub returning the
 * hand-built fixture reports (the calculations have their own tests), stored reports against the
 * embedded report store.
 */

describe('report routes over the real calculations', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({}, (d) => d, async (db, deps) => {
      await db.state.upsertSite({ id: 'chundu', name: '春都社区', timezone: 'Asia/Shanghai' });
      const sites = new Map([['chundu', { id: 'chundu', name: '春都社区', timezone: 'Asia/Shanghai' }]]);
      const generate = createReports({ maxRangeDays: 400 }, { store: db.telemetry, alarms: db.alarms, devices: deps.directory,
        sites: { get: (id) => sites.get(id) } });
      return { deps: { ...deps, reports: { generate, store: db.reports } } };
    });
  });
  afterAll(async () => {
    await h.close();
  });

  const get = (url: string) => h.call('viewer', { method: 'GET', url });
  const error = (body: string) => (JSON.parse(body) as { error: { code: string; message: string } }).error;

  it('refuses a baseline overlapping the reporting period', async () => {
    const r = await get('/api/reports/savings?site=chundu&from=2025-03-01&to=2025-04-01&baselineFrom=2025-01-01&baselineTo=2025-03-15');
    expect(r.statusCode).toBe(400);
    expect(error(r.body).code).toBe('baseline_overlap');
    expect(error(r.body).message).toMatch(/overlaps/);
  });

  it('refuses an empty range', async () => {
    const r = await get('/api/reports/waste?site=chundu&from=2025-03-01&to=2025-03-01');
    expect(r.statusCode).toBe(400);
    expect(error(r.body).code).toBe('empty_range');
    const back = await get('/api/reports/fire-safety?site=chundu&from=2025-04-01&to=2025-03-01');
    expect(error(back.body).code).toBe('empty_range');
  });

  it('answers 404 unknown_site', async () => {
    const r = await get('/api/reports/fire-safety?site=nowhere&from=2025-03-01&to=2025-04-01');
    expect(r.statusCode).toBe(404);
    expect(error(r.body).code).toBe('unknown_site');
    expect(error(r.body).message).toContain('nowhere');
  });

  it('refuses ranges of years', async () => {
    const r = await get('/api/reports/waste?site=chundu&from=2020-01-01&to=2025-01-01');
    expect(r.statusCode).toBe(400);
    expect(error(r.body).code).toBe('range_too_long');
  });

  it('validates the query: missing and malformed parameters, format and lang', async () => {
    const cases: [string, string][] = [
      ['/api/reports/savings?site=chundu&from=2025-03-01&to=2025-04-01', 'baselineFrom'],
      ['/api/reports/waste?site=chundu&from=yesterday&to=2025-04-01', 'from'],
      ['/api/reports/waste?site=chundu&from=2025-03-01T00:00:00&to=2025-04-01', 'from'],
      ['/api/reports/waste?site=chundu&from=2025-03-01&to=2025-04-01&format=pdf', 'format'],
      ['/api/reports/waste?site=chundu&from=2025-03-01&to=2025-04-01&lang=fr', 'lang'],
      ['/api/reports/waste?from=2025-03-01&to=2025-04-01', 'site'],
    ];
    for (const [url, field] of cases) {
      const r = await get(url);
      expect(r.statusCode, url).toBe(400);
      const e = error(r.body);
      expect(e.code, url).toBe('validation_failed');
      expect(e.message, url).toContain(field);
    }
  });

  it('needs a token', async () => {
    const r = await h.call(null, { method: 'GET', url: '/api/reports' });
    expect(r.statusCode).toBe(401);
  });
});

describe('report routes: formats and stored reports', () => {
  let h: Harness;
  const asked: unknown[] = [];

  beforeAll(async () => {
    h = await startHarness({}, (d) => d, async (db, deps) => {
      const generate: ReportsApiDeps['generate'] = {
        savings: async (p) => { asked.push(p); return savingsReport; },
        waste: async (p) => { asked.push(p); return wasteReport; },
        fireSafety: async (p) => { asked.push(p); return fireSafetyReport; },
      };
      const save = (id: string, data: AnyReport, to: number) =>
        db.reports.save({ id, kind: data.type, site: 'site-1', from: data.period.from, to, createdAt: Date.UTC(2025, 4, 1, 2), origin: 'schedule', data });
      await save('monthly-savings-site-1-2025-04', savingsReport, savingsReport.period.to);
      await save('monthly-waste-site-1-2025-03', wasteReport, wasteReport.period.to - 30 * 86_400_000);
      await db.reports.save({ id: 'other-site', kind: 'fire_safety', site: 'site-2', from: 0, to: 1, createdAt: 2, origin: 'manual', data: fireSafetyReport });
      return { deps: { ...deps, reports: { generate, store: db.reports } } };
    });
  });
  afterAll(async () => {
    await h.close();
  });

  const get = (url: string) => h.call('viewer', { method: 'GET', url });

  it('JSON by default: the data model with ISO times; params passed through', async () => {
    const r = await get('/api/reports/savings?site=site-1&from=2025-03-01&to=1746028800000&baselineFrom=2024-03-01T00:00:00%2B08:00&baselineTo=2024-05-01&confidence=68');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = JSON.parse(r.body) as { type: string; lang: string; period: { from: string }; lines: unknown[];
      warnings: { code: string; message: string }[] };
    expect(body.type).toBe('savings');
    expect(body.period.from).toBe('2025-02-28T16:00:00.000Z');
    expect(body.lines).toHaveLength(4);
    // Notes in the asked language (zh-CN by default), English with lang=en.
    expect(body.lang).toBe('zh-CN');
    expect(body.warnings.find((w) => w.code === 'register_reset')?.message).toMatch(/^2号楼 "住户" 电表：读数于 /);
    expect(asked.at(-1)).toEqual({ site: 'site-1', from: '2025-03-01', to: 1746028800000, baselineFrom: Date.parse('2024-03-01T00:00:00+08:00'), baselineTo: '2024-05-01', confidence: 68 });
    const en = JSON.parse((await get('/api/reports/savings?site=site-1&from=2025-03-01&to=2025-04-01&baselineFrom=2024-03-01&baselineTo=2025-03-01&lang=en')).body) as typeof body;
    expect(en.warnings.find((w) => w.code === 'register_reset')?.message).toMatch(/: the register went from 99,999.5 to 0.2 at /);
  });

  it('takes uploaded daily temperatures as CSV or JSON for the savings report; bad CSV is a coded 400', async () => {
    const url = '/api/reports/savings?site=site-1&from=2025-03-01&to=2025-04-01&baselineFrom=2025-01-01&baselineTo=2025-03-01';
    const csv = await h.call('viewer', { method: 'POST', url, headers: { 'content-type': 'text/csv' }, payload: '\uFEFFdate,temperature\r\n2025-01-01,4.5\r\n2025-01-02,-1\r\n' });
    expect(csv.statusCode).toBe(200);
    expect((asked.at(-1) as { temperatures: unknown }).temperatures).toEqual([{ date: '2025-01-01', temperature: 4.5 }, { date: '2025-01-02', temperature: -1 }]);
    const json = await h.call('viewer', { method: 'POST', url, payload: { temperatures: [{ date: '2025-01-03', temperature: 7 }] } });
    expect(json.statusCode).toBe(200);
    expect((asked.at(-1) as { temperatures: unknown }).temperatures).toEqual([{ date: '2025-01-03', temperature: 7 }]);
    const bad = await h.call('viewer', { method: 'POST', url, headers: { 'content-type': 'text/csv' }, payload: 'date,temperature\n2025-01-01,warm\n' });
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ error: { code: 'invalid_csv' } });
    expect(JSON.parse(bad.body).error.message).toMatch(/line 2/);
  });

  it('CSV as a download with a BOM', async () => {
    const r = await get('/api/reports/waste?site=site-1&from=2025-03-01&to=2025-05-01&format=csv');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(r.headers['content-disposition']).toBe('attachment; filename="anju-waste-site-1-2025-03-01_2025-04-30.csv"');
    expect(r.rawPayload.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    expect(r.body).toContain('# categories\r\nperiod,category,bins');
  });

  it('HTML in Chinese by default, English on request', async () => {
    const zh = await get('/api/reports/fire-safety?site=site-1&from=2025-03-01&to=2025-05-01&format=html');
    expect(zh.statusCode).toBe(200);
    expect(zh.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(zh.body).toContain('<html lang="zh-CN">');
    expect(zh.body).toContain('消防安全报告');
    const en = await get('/api/reports/fire-safety?site=site-1&from=2025-03-01&to=2025-05-01&format=html&lang=en');
    expect(en.body).toContain('<html lang="en">');
    expect(en.body).toContain('Fire safety report');
  });

  it('lists stored reports, newest period first, filtered by site and kind', async () => {
    const all = await get('/api/reports');
    expect(all.statusCode).toBe(200);
    const body = JSON.parse(all.body) as { items: { id: string; from: string; origin: string; kind: string }[]; total: number };
    expect(body.total).toBe(3);
    expect(body.items.map((i) => i.id)).toEqual(['monthly-savings-site-1-2025-04', 'monthly-waste-site-1-2025-03', 'other-site']);
    expect(body.items[0]?.from).toBe('2025-02-28T16:00:00.000Z');
    const site1 = JSON.parse((await get('/api/reports?site=site-1&kind=waste')).body) as { total: number; items: { id: string }[] };
    expect(site1.items.map((i) => i.id)).toEqual(['monthly-waste-site-1-2025-03']);
    expect((await get('/api/reports?kind=bogus')).statusCode).toBe(400);
    expect((await get('/api/reports?limit=0')).statusCode).toBe(400);
  });

  it('renders a stored report in any format; 404 for an unknown id', async () => {
    const json = await get('/api/reports/monthly-savings-site-1-2025-04');
    expect(json.statusCode).toBe(200);
    expect((JSON.parse(json.body) as { id: string; generatedAt: string }).generatedAt).toBe('2025-05-01T02:03:04.000Z');
    const html = await get('/api/reports/monthly-savings-site-1-2025-04?format=html&lang=en');
    expect(html.body).toContain('Energy and water savings report');
    expect(html.body).toContain('0.55 kgCO₂/kWh (East China grid, 2023');
    const csv = await get('/api/reports/monthly-waste-site-1-2025-03?format=csv');
    expect(csv.body.startsWith('\uFEFF# report')).toBe(true);
    const missing = await get('/api/reports/nope');
    expect(missing.statusCode).toBe(404);
    expect((JSON.parse(missing.body) as { error: { code: string } }).error.code).toBe('not_found');
    expect((await get('/api/reports/bad%23id')).statusCode).toBe(400);
  });

  it('is not served without the reports dep', async () => {
    const plain = await startHarness();
    try {
      expect((await plain.call('admin', { method: 'GET', url: '/api/reports' })).statusCode).toBe(404);
    } finally {
      await plain.close();
    }
  });
});
