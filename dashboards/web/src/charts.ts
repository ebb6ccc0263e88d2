/// <reference lib="dom" />
import { BarChart, LineChart } from 'echarts/charts';
import { AriaComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';

/**
 * ECharts, tree-shaken to what the views draw (line and bar charts, grid, tooltip, legend, aria
 * descriptions) on the canvas renderer. Charts are registered here so a view change disposes them
 * and a window resize resizes them.
 */
echarts.use([BarChart, LineChart, GridComponent, TooltipComponent, LegendComponent, AriaComponent, CanvasRenderer]);

const live = new Set<echarts.ECharts>();
let resizeHooked = false;

/** Control-room palette on a dark background; series colours differ in lightness as well as hue. */
export const palette = { text: '#d7dee8', muted: '#93a1b3', grid: '#2a3545', today: '#4db8ff', compare: '#c9a227', line: '#5ad19a' };

function init(el: HTMLElement): echarts.ECharts {
  if (!resizeHooked) {
    resizeHooked = true;
    window.addEventListener('resize', () => { for (const c of live) c.resize(); });
  }
  // A view that redraws (energy every 5 minutes) replaces its boxes: charts whose box left the page
  // are disposed here, so a wall screen left on one view for weeks does not pile up canvases.
  for (const c of live) {
    if (!c.getDom().isConnected) {
      c.dispose();
      live.delete(c);
    }
  }
  const chart = echarts.init(el, null, { renderer: 'canvas' });
  live.add(chart);
  return chart;
}

export function disposeCharts(): void {
  for (const c of live) c.dispose();
  live.clear();
}

const axisCommon = {
  axisLine: { lineStyle: { color: palette.grid } },
  axisLabel: { color: palette.muted },
  splitLine: { lineStyle: { color: palette.grid } },
};

/** One numeric series over time. */
export function timeLineChart(el: HTMLElement, opts: { name: string; unit: string;
  points: Array<[number, number | null]>; timeZone: string; lang: string }): void {
  const chart = init(el);
  const fmt = new Intl.DateTimeFormat(opts.lang, { hour: '2-digit', minute: '2-digit', hour12: false, timeZone: opts.timeZone });
  chart.setOption({
    aria: { enabled: true },
    animation: false,
    grid: { left: 56, right: 16, top: 24, bottom: 32 },
    tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => (typeof v === 'number' ? `${v.toFixed(2)} ${opts.unit}` : '—') },
    xAxis: { type: 'time', ...axisCommon, splitLine: { show: false }, axisLabel: { color: palette.muted, formatter: (v: number) => fmt.format(new Date(v)) } },
    yAxis: { type: 'value', name: opts.unit, nameTextStyle: { color: palette.muted }, scale: true, ...axisCommon },
    series: [{ type: 'line', name: opts.name, data: opts.points, showSymbol: false, connectNulls: false, lineStyle: { width: 2, color: palette.line }, itemStyle: { color: palette.line } }],
  });
}

/** Hourly bars of today against a line of the comparison day. */
export function compareChart(el: HTMLElement,
  opts: { hours: string[]; today: Array<number | null>; compare: Array<number | null>; unit: string; todayName: string; compareName: string }): void {
  const chart = init(el);
  chart.setOption({
    aria: { enabled: true },
    animation: false,
    grid: { left: 56, right: 16, top: 36, bottom: 32 },
    legend: { top: 0, textStyle: { color: palette.text } },
    tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => (typeof v === 'number' ? `${v.toFixed(2)} ${opts.unit}` : '—') },
    xAxis: { type: 'category', data: opts.hours, ...axisCommon, splitLine: { show: false } },
    yAxis: { type: 'value', name: opts.unit, nameTextStyle: { color: palette.muted }, ...axisCommon },
    series: [
      { type: 'bar', name: opts.todayName, data: opts.today, itemStyle: { color: palette.today } },
      { type: 'line', name: opts.compareName, data: opts.compare, symbol: 'diamond', symbolSize: 7, lineStyle: { width: 2, type: 'dashed', color: palette.compare }, itemStyle: { color: palette.compare } },
    ],
  });
}
