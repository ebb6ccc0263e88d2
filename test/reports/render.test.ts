import { describe, expect, it } from 'vitest';
import type { AnyReport } from '../../reports/contracts.js';
import { csvDocument, csvField, renderCsv, renderHtml, renderJson, renderReport, reportLangs, reportTables, strings } from '../../reports/render/index.js';
import { chartSvg, niceStep } from '../../reports/render/svg.js';
import { allReports, fireSafetyReport, savingsReport, wasteReport } from './render-fixtures.js';

/** Minimal RFC 4180 reader (quoted fields, doubled quotes, CRLF), to check what the writer wrote. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (ch === '"') quoted = false; else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(field); field = ''; } else if (ch === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; } else field += ch;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}

describe('strings', () => {
  it('both languages have exactly the same keys, none empty', () => {
    const zh = Object.keys(strings['zh-CN']).sort();
    const en = Object.keys(strings.en).sort();
    expect(zh).toEqual(en);
    for (const lang of reportLangs) for (const [k, v] of Object.entries(strings[lang])) expect(v.trim(), `${lang} ${k}`).not.toBe('');
    // The same placeholders in both languages.
    const ph = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const k of en) expect(ph((strings['zh-CN'] as Record<string, string>)[k] ?? ''), k).toEqual(ph((strings.en as Record<string, string>)[k] ?? ''));
  });

  it.each(reportLangs)('every report in %s renders with no missing string and no unfilled placeholder', (lang) => {
    for (const r of allReports) {
      const html = renderHtml(r, { lang });
      expect(html, `${r.type} ${lang}`).not.toContain('⟦');
      expect(html.replace(/<style>[\s\S]*?<\/style>/, '')).not.toMatch(/\{[a-zA-Z]+\}/);
      expect(html).toContain(`<html lang="${lang}">`);
    }
  });
});

describe('HTML', () => {
  it('is self-contained: no script, no external URL besides the SVG namespace', () => {
    for (const r of allReports) {
      const html = renderHtml(r);
      expect(html).not.toMatch(/<script|<link|@import|url\(/i);
      const urls = [...html.matchAll(/https?:\/\/[^\s"'<)]+/g)].map((m) => m[0]);
      expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg']));
      expect(html).toContain('@page{size:A4');
    }
  });

  it('escapes data text and draws the charts as inline SVG', () => {
    const html = renderHtml(savingsReport, { lang: 'en' });
    expect(html).toContain('翠湖花园 &quot;East&quot;, A&amp;B &lt;1&gt;');
    expect(html).not.toContain('<1>');
    // Baseline vs actual by month and cumulative savings, for electricity and water.
    expect(html.match(/<svg /g)?.length).toBe(4);
    expect(html).toContain('Baseline projection vs actual, by month');
    expect(html).toContain('Cumulative savings');
    expect(renderHtml(wasteReport, { lang: 'en' })).toContain('Waste by sorting category (by weight)');
  });

  it('states the method, G14 metrics with limits and pass/fail, and the CO₂ factor with its year', () => {
    const en = renderHtml(savingsReport, { lang: 'en' });
    expect(en).toContain('IPMVP Option C');
    expect(en).toContain('ASHRAE Guideline 14-2014');
    expect(en).toContain('CV(RMSE)');
    expect(en).toContain('≤ 30%');
    expect(en).toContain('± 10%');
    expect(en).toMatch(/class="pass">Pass/);
    expect(en).toMatch(/class="fail">Fail/);
    expect(en).toContain('0.5306 kgCO₂/kWh (2023, MEE China national grid average)');
    const zh = renderHtml(savingsReport);
    expect(zh).toContain('<html lang="zh-CN">');
    expect(zh).toContain('0.5306 kgCO₂/kWh（2023 年');
    expect(zh).toContain('未通过');
  });

  it('formats numbers per language', () => {
    // 6954 kWh projected: grouped in both; Chinese currency sign and month names.
    expect(renderHtml(savingsReport, { lang: 'en' })).toContain('6,954');
    expect(renderHtml(savingsReport, { lang: 'en' })).toContain('CN¥4,003.75');
    const zh = renderHtml(savingsReport, { lang: 'zh-CN' });
    expect(zh).toContain('¥4,003.75');
    expect(zh).toContain('2025年3月');
    expect(renderHtml(savingsReport, { lang: 'en' })).toContain('Mar 2025');
  });

  it('renders fire-safety alarm types by name, unknown types by id', () => {
    const zh = renderHtml(fireSafetyReport);
    expect(zh).toContain('烟感报警');
    expect(zh).toContain('custom_type');
    expect(zh).toContain('需更换电池的探测器');
  });
});

describe('SVG charts', () => {
  it('picks round tick steps and handles negatives and gaps', () => {
    expect(niceStep(100)).toBe(20);
    expect(niceStep(7)).toBe(2);
    expect(niceStep(0)).toBe(1);
    const svg = chartSvg({
      title: 'a<b', labels: ['1', '2', '3'], unit: 'kWh', format: String,
      series: [{ name: 's', type: 'line', color: '#000', values: [-5, null, 12] }, { name: 'b', type: 'bar', color: '#111', values: [1, 2, -3] }],
    });
    expect(svg).toContain('<title>a&lt;b</title>');
    expect(svg.match(/<path d="M/g)?.length).toBe(1);
    expect(svg).toMatch(/d="M[\d.]+,[\d.]+ M[\d.]+,[\d.]+"/); // the null breaks the line into two pieces
    expect(svg.match(/<rect [^>]*fill="#111"><title>/g)?.length).toBe(3); // three bars (plus the legend swatch)
    expect(svg).not.toContain('NaN');
  });
});

describe('CSV', () => {
  it('escapes per RFC 4180 and guards formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\r\nlines')).toBe('"two\r\nlines"');
    expect(csvField('=SUM(A1)')).toBe("'=SUM(A1)");
    expect(csvField('-1+1')).toBe("'-1+1");
    expect(csvField(-12.5)).toBe('-12.5');
    expect(csvField(null)).toBe('');
    expect(csvField(Number.NaN)).toBe('');
    expect(csvField(true)).toBe('true');
  });

  it('one table per section, BOM first, CRLF, round-trips through a reader', () => {
    const text = renderCsv(savingsReport);
    expect(text.startsWith('\uFEFF')).toBe(true);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text.replace(/\r\n/g, '')).not.toMatch(/(?<!")\n/); // no bare LF outside quoted fields in this fixture
    const rows = parseCsv(text.slice(1));
    const sections = rows.filter((r) => r.length === 1 && r[0]?.startsWith('# ')).map((r) => r[0]);
    expect(sections).toEqual(['# report', '# lines', '# monthly', '# daily', '# meters', '# warnings']);
    const meta = new Map(rows.filter((r) => r.length === 2).map((r) => [r[0], r[1]]));
    expect(meta.get('site_name')).toBe('翠湖花园 "East", A&B <1>');
    expect(meta.get('period_from')).toBe('2025-02-28T16:00:00.000Z');
    expect(meta.get('kgco2_per_kwh')).toBe('0.5306');
    expect(meta.get('emission_factor_year')).toBe('2023');
    const warn = rows.find((r) => r[0] === 'data_gap');
    expect(warn?.[2]).toBe('no reads from 2025-03-11 02:00 to 09:00, "=cmd" 7 h');
    // Cumulative savings in the monthly table.
    const monthly = rows.filter((r) => r[0] === 'electricity/site' && r.length === 7);
    expect(monthly.map((r) => Number(r[6]))).toEqual([1413.6, 1413.6 + 1368]);
    // Every table's rows are as wide as its header.
    for (const t of reportTables(savingsReport)) for (const r of t.rows) expect(r.length, t.section).toBe(t.header.length);
  });

  it('has tables for waste and fire safety', () => {
    const names = (r: AnyReport) => reportTables(r).map((t) => t.section);
    expect(names(wasteReport)).toEqual(['report', 'categories', 'trend', 'bins', 'warnings']);
    expect(names(fireSafetyReport)).toEqual(['report', 'alarms', 'offline', 'battery_low', 'warnings']);
    for (const r of [wasteReport, fireSafetyReport]) for (const t of reportTables(r)) for (const row of t.rows) expect(row.length).toBe(t.header.length);
    expect(csvDocument([])).toBe('\uFEFF\r\n');
  });
});

describe('JSON', () => {
  it('is the data model with ISO instants', () => {
    const j = JSON.parse(renderJson(savingsReport)) as Record<string, unknown> & { period: Record<string, unknown>; meters: { resets: { ts: unknown }[] }[]; lines: { daily: { date: unknown }[] }[] };
    expect(j.generatedAt).toBe('2025-05-01T02:03:04.000Z');
    expect(j.period.from).toBe('2025-02-28T16:00:00.000Z');
    expect(j.period.firstDate).toBe('2025-03-01');
    expect(j.meters[1]?.resets[0]?.ts).toBe('2025-04-02T03:00:00.000Z');
    expect(j.lines[0]?.daily[0]?.date).toBe('2025-03-01');
    expect(j.type).toBe('savings');
  });

  it('renderReport names the file and content type per format', () => {
    expect(renderReport(fireSafetyReport, 'csv').filename).toBe('anju-fire-safety-site-1-2025-03-01_2025-04-30.csv');
    expect(renderReport(wasteReport, 'html', { lang: 'en' }).contentType).toBe('text/html; charset=utf-8');
  });
});
