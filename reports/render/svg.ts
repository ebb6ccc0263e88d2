/**
 * Charts as inline SVG, drawn by hand: no library, no script, no external request, so the HTML
 * report is one self-contained file that prints the same everywhere. One chart type covers what the
 * reports need: a category axis (months, or waste categories) with any mix of bar series (grouped
 * side by side) and line series (drawn over the bars), on one value axis that includes zero and
 * goes negative when a value does (cumulative savings can). Null values leave a gap.
 */

export interface ChartSeries {
  readonly name: string;
  readonly values: readonly (number | null)[];
  readonly type: 'bar' | 'line';
  readonly color: string;
}

export interface ChartSpec {
  /** Accessible title (SVG <title>) and caption. */
  readonly title: string;
  readonly labels: readonly string[];
  readonly series: readonly ChartSeries[];
  /** Axis unit shown at the top of the value axis, e.g. "kWh". */
  readonly unit: string;
  /** Formats a tick value (locale-aware, from the caller). */
  readonly format: (v: number) => string;
  readonly width?: number;
  readonly height?: number;
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** 1, 2, 2.5 or 5 × 10^k: the tick step that gives about `count` ticks over `span`. */
export function niceStep(span: number, count = 5): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const nice = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10;
  return nice * mag;
}

const r1 = (n: number) => Math.round(n * 10) / 10;

export function chartSvg(spec: ChartSpec): string {
  const width = spec.width ?? 680;
  const height = spec.height ?? 260;
  const m = { top: 28, right: 12, bottom: 44, left: 64 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const n = Math.max(1, spec.labels.length);

  const all = spec.series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  let lo = Math.min(0, ...all);
  let hi = Math.max(0, ...all);
  if (hi === lo) hi = lo + 1;
  const step = niceStep(hi - lo);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const y = (v: number) => m.top + plotH - ((v - lo) / (hi - lo)) * plotH;
  const band = plotW / n;
  const cx = (i: number) => m.left + band * (i + 0.5);

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(spec.title)}">`,
    `<title>${escapeXml(spec.title)}</title>`,
  );
  // Grid and value axis.
  for (let v = lo, k = 0; v <= hi + step / 2 && k < 50; v += step, k++) {
    const yy = r1(y(v));
    parts.push(
      `<line x1="${m.left}" x2="${m.left + plotW}" y1="${yy}" y2="${yy}" stroke="${Math.abs(v) < step / 1e6 ? '#555' : '#ddd'}" stroke-width="1"/>`,
      `<text x="${m.left - 6}" y="${yy + 4}" text-anchor="end" font-size="11" fill="#444">${escapeXml(spec.format(Math.abs(v) < step / 1e6 ? 0 : v))}</text>`,
    );
  }
  parts.push(`<text x="${m.left - 6}" y="${m.top - 12}" text-anchor="end" font-size="11" fill="#444">${escapeXml(spec.unit)}</text>`);
  // Category labels (thinned when crowded).
  const every = Math.ceil(n / 14);
  spec.labels.forEach((label, i) => {
    if (i % every !== 0) return;
    parts.push(`<text x="${r1(cx(i))}" y="${m.top + plotH + 16}" text-anchor="middle" font-size="11" fill="#444">${escapeXml(label)}</text>`);
  });
  // Bars, grouped.
  const bars = spec.series.filter((s) => s.type === 'bar');
  const barW = (band * 0.8) / Math.max(1, bars.length);
  bars.forEach((s, j) => {
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) return;
      const x = m.left + band * i + band * 0.1 + barW * j;
      const top = Math.min(y(v), y(0));
      const h = Math.abs(y(v) - y(0));
      parts.push(`<rect x="${r1(x)}" y="${r1(top)}" width="${r1(Math.max(1, barW - 1))}" height="${r1(h)}" fill="${s.color}"><title>${escapeXml(`${spec.labels[i] ?? ''} ${s.name}: ${spec.format(v)}`)}</title></rect>`);
    });
  });
  // Lines over the bars; a null breaks the line.
  for (const s of spec.series.filter((x) => x.type === 'line')) {
    let d = '';
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${r1(cx(i))},${r1(y(v))} `;
      pen = true;
    });
    if (d) parts.push(`<path d="${d.trim()}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) return;
      parts.push(`<circle cx="${r1(cx(i))}" cy="${r1(y(v))}" r="2.5" fill="${s.color}"><title>${escapeXml(`${spec.labels[i] ?? ''} ${s.name}: ${spec.format(v)}`)}</title></circle>`);
    });
  }
  // Legend.
  let lx = m.left;
  for (const s of spec.series) {
    const ly = height - 10;
    parts.push(
      s.type === 'bar'
        ? `<rect x="${lx}" y="${ly - 9}" width="12" height="10" fill="${s.color}"/>`
        : `<line x1="${lx}" x2="${lx + 12}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"/>`,
      `<text x="${lx + 16}" y="${ly}" font-size="11" fill="#222">${escapeXml(s.name)}</text>`,
    );
    lx += 28 + s.name.length * 9;
  }
  parts.push('</svg>');
  return parts.join('');
}
