import { describe, expect, it } from 'vitest';
import type { AnyReport } from '../../reports/contracts.js';
import { csvDocument, csvField, renderCsv, renderHtml, renderJson, renderReport, reportLangs, reportTables, strings } from '../../reports/render/index.js';
import { chartSvg, niceStep } from '../../reports/render/svg.js';
import { englishWords, visibleText } from './english.js';
import { allReports, fireSafetyReport, insufficientSavingsReport, savingsReport, wasteReport } from './render-fixtures.js';

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

  it('states the method with its CalTRACK sections, which G14 criterion each line meets, and the CO₂ factor with its grid, year and source', () => {
    const en = renderHtml(savingsReport, { lang: 'en' });
    expect(en).toContain('IPMVP Option C');
    expect(en).toContain('CalTRACK 2.0 daily model (Section 3)');
    expect(en).toContain('(§3.2.2.2)');
    expect(en).toContain('CalTRACK 2.0 has no p-value screen');
    expect(en).toContain('ASHRAE Guideline 14-2014 whole-building criteria');
    expect(en).toContain('≤ 20%');
    expect(en).toContain('< 50%');
    expect(en).toContain('zero by construction, not a test');
    expect(en).toMatch(/class="pass">Met/);
    expect(en).toMatch(/class="fail">Not met/);
    expect(en).toContain('0.55 kgCO₂/kWh (East China grid, 2023; MEE and NBS (China), announcement of the 2023 electricity CO₂ emission factors)');
    const zh = renderHtml(savingsReport);
    expect(zh).toContain('<html lang="zh-CN">');
    expect(zh).toContain('0.55 kgCO₂/kWh（华东区域电网，2023 年；生态环境部、国家统计局《关于发布2023年电力二氧化碳排放因子的公告》）');
    expect(zh).toContain('未满足');
    expect(zh).toContain('第 3.2.2.2 条');
    // Without a region: the national factor, and the report says why.
    const national = { ...savingsReport, emissionFactor: { ...savingsReport.emissionFactor, key: 'national-2023', kgCO2PerKWh: 0.5306, scope: 'national' } };
    expect(renderHtml(national)).toContain('0.5306 kgCO₂/kWh（全国电力平均，2023 年');
    expect(renderHtml(national)).toContain('本小区未设置所属区域电网，采用全国平均因子。');
  });

  it('leads with what may be claimed: a sufficient baseline, significant savings with numbers, the rest labelled with why', () => {
    const zh = renderHtml(savingsReport);
    expect(zh).toContain('<section class="status">');
    expect(zh).toContain('基准期满足 CalTRACK 2.0 数据充分性要求');
    expect(zh).toContain('全小区 2 项中有 1 项满足 ASHRAE Guideline 14 整栋建筑判据');
    expect(zh).toContain('<span class="pass">显著</span>');
    expect(zh).toContain('不显著</span>（不确定度达到节约量的一半；基准模型 CV(RMSE) 超限）');
    expect(zh).toContain('超出全小区可支撑的节约量');
    expect(zh).toContain('仅计入统计显著的全小区节约量');
    // Building lines and meters by their registry names.
    expect(zh).toContain('水 · 3号楼');
    expect(zh).toContain('<td>1号楼公共照明</td>');
    expect(zh).not.toContain('<td>m-1</td>');
  });

  it('an insufficient baseline: a prominent status, every claim withheld, no money or CO₂ claimed, the estimates still shown', () => {
    const zh = renderHtml(insufficientSavingsReport);
    expect(zh).toContain('<section class="status insufficient" role="alert"><h2>基准期数据不足：不认定任何节约量</h2>');
    expect(zh).toContain('基准期共 61 天，可用数据占 100.0%；CalTRACK 2.0 要求 365 天且可用数据不低于 90.0%');
    expect(zh).not.toContain('<span class="pass">显著</span>');
    expect(zh).toContain('<span class="withheld">不予认定</span>（基准期不足）');
    expect(zh).toContain('不予认定：基准期不足');
    expect(zh).toContain('无可认定的节约量');
    expect(zh).toContain('<span class="withheld">不评定</span>');
    // The estimate itself (2,781.6 kWh) is still printed, labelled as above.
    expect(zh).toContain('<td class="n">2,782</td>');
    const en = renderHtml(insufficientSavingsReport, { lang: 'en' });
    expect(en).toContain('Insufficient baseline: no saving is claimed');
    expect(en).toContain('not claimed: insufficient baseline');
  });

  it('zh-CN has no English left but units and standard names — page, notes and JSON notes alike', () => {
    const data = [
      savingsReport.site.name, savingsReport.site.id, savingsReport.site.timezone, savingsReport.id as string, insufficientSavingsReport.id as string,
      ...savingsReport.meters.flatMap((m) => [m.name ?? '', m.device]), ...savingsReport.warnings.map((w) => String(w.params?.meter ?? '')),
    ];
    for (const r of [savingsReport, insufficientSavingsReport]) {
      expect(englishWords(visibleText(renderHtml(r)), data)).toEqual([]);
      const json = JSON.parse(renderJson(r, { lang: 'zh-CN' })) as { lang: string; warnings: { message: string }[] };
      expect(json.lang).toBe('zh-CN');
      expect(englishWords(json.warnings.map((w) => w.message).join('\n'), data)).toEqual([]);
    }
    // The English rendering is English (the same check finds plenty).
    expect(englishWords(visibleText(renderHtml(savingsReport, { lang: 'en' })), data).length).toBeGreaterThan(50);
  });

  it('notes in the report language: meters by name, instants in the site zone, fractions as percentages', () => {
    const zh = visibleText(renderHtml(savingsReport));
    expect(zh).toContain('2号楼 "住户" 电表：读数于 2025/04/02 11:00 从 99,999.5 变为 0.2，按计数器复位（换表或翻转）处理，不计入用量。');
    expect(zh).toContain('水 · 全小区：节约量未满足 ASHRAE Guideline 14 整栋建筑判据（68% 置信度下不确定度为节约量的 62.0%，限值 50%；基准模型 CV(RMSE) 为 38.0%，限值 20.0%）。');
    const en = visibleText(renderHtml(savingsReport, { lang: 'en' }));
    expect(en).toContain('Water · 3号楼: 12.5 m³ a day saved is more than the whole site supports (9.75 m³ a day at most');
  });

  it('formats numbers per language', () => {
    // 6954 kWh projected: grouped in both; Chinese currency sign and month names.
    expect(renderHtml(savingsReport, { lang: 'en' })).toContain('6,954');
    expect(renderHtml(savingsReport, { lang: 'en' })).toContain('CN¥1,716.25');
    const zh = renderHtml(savingsReport, { lang: 'zh-CN' });
    expect(zh).toContain('¥1,716.25');
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
    expect(meta.get('kgco2_per_kwh')).toBe('0.55');
    expect(meta.get('emission_factor_scope')).toBe('east');
    expect(meta.get('baseline_sufficiency')).toBe('sufficient');
    expect(meta.get('emission_factor_year')).toBe('2023');
    const warn = rows.find((r) => r[0] === 'data_gap');
    expect(warn?.[3]).toBe('no reads from 2025-03-11 02:00 to 09:00, "=cmd" 7 h');
    // In a language, notes are worded from their params; a text cell starting with = is guarded.
    const zhRows = parseCsv(renderCsv(savingsReport, { lang: 'zh-CN' }).slice(1));
    expect(zhRows.find((r) => r[0] === 'data_gap')?.[3]).toBe("'=cmd 表：2025/03/11 02:00 至 2025/03/11 09:00 无读数，其间用量 3.2 kWh 不分摊到各日。");
    const lineRow = rows.find((r) => r[0] === 'site:water');
    const lineHeader = rows.find((r) => r[0] === 'line') as string[];
    expect(lineRow?.[lineHeader.indexOf('claim')]).toBe('not_significant');
    expect(lineRow?.[lineHeader.indexOf('claim_reasons')]).toBe('fsu_too_high cvrmse_too_high');
    expect(lineRow?.[lineHeader.indexOf('g14_status')]).toBe('not_met');
    // Cumulative savings in the monthly table.
    const monthly = rows.filter((r) => r[0] === 'site:electricity' && r.length === 7);
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
    const j = JSON.parse(renderJson(savingsReport)) as Record<string, unknown>
      & { period: Record<string, unknown>; meters: { resets: { ts: unknown }[] }[]; lines: { daily: { date: unknown }[] }[] };
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
