import { alarmSummary, buildingLabel, incidentEvidence, incidentSummary, type TextNames, type TextOptions } from '../../core/alarm-text.js';
import { alarmTypeNames, hazardNames, incidentLevelNames, severityNames } from '../../core/labels.js';
import type { Severity } from '../contracts.js';
import type { NotificationEvent } from './contract.js';
import { responseHeadline, responseLines } from './text-response.js';

/**
 * The Chinese page a maintenance team reads in its WeCom / DingTalk group, one per incident change:
 * "【火警·紧急】3号楼 火灾", then what changed, where, which devices say so with their values and
 * units, and when — in the site's time zone (Asia/Shanghai by default: a page saying 00:12 UTC for
 * a fire at 08:12 would mislead the person reading it on a phone).
 */

export const severityZh: Readonly<Record<Severity, string>> = severityNames['zh-CN'];

/** The alarm types in Chinese (core/labels.ts is the table). */
export const alarmTypeZh: Readonly<Record<string, string>> = alarmTypeNames['zh-CN'];

/** Names to show instead of ids, when the composition root knows them (the registry). */
export type PlaceNames = TextNames;

export interface PageText {
  title: string;
  /** Markdown both robots render (headings, `>` quotes, bold). */
  markdown: string;
}

export function formatTime(ms: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(ms));
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

const levelZh = incidentLevelNames['zh-CN'];

function headline(e: NotificationEvent): string {
  const i = e.incident;
  switch (e.type) {
    case 'raised': return '新事件';
    case 'escalated': return `未确认，升级至第 ${i.escalationLevel} 级`;
    case 'reminder': return `未确认提醒（第 ${e.reminder} 次）`;
    case 'cleared': return '已恢复';
    case 'acked': return '已确认';
    case 'assigned': return '已指派';
    case 'commented': return '新备注';
    case 'updated':
      if (e.response) return responseHeadline(e) ?? '更新';
      if (e.previousLevel) return `升级：${levelZh[e.previousLevel]} → ${levelZh[i.level]}`;
      if (e.previousSeverity) return `升级：${severityZh[e.previousSeverity]} → ${severityZh[i.severity]}`;
      return '更新';
  }
}

/** At most this many evidence lines: a building-wide fire lists its first devices, then a count. */
const MAX_EVIDENCE = 6;

export function pageTextZh(e: NotificationEvent, opts: { timeZone: string; names?: PlaceNames }): PageText {
  const i = e.incident;
  const text: TextOptions = { lang: 'zh-CN', timeZone: opts.timeZone, ...(opts.names ? { names: opts.names } : {}) };
  const site = opts.names?.site?.(i.site) ?? i.site;
  const building = buildingLabel(i.site, i.building, text);
  const cleared = e.type === 'cleared';
  const title = `${cleared ? '【已恢复】' : `【${levelZh[i.level]}·${severityZh[i.severity]}】`}${building} ${hazardNames['zh-CN'][i.hazard]}`;
  const evidence = incidentEvidence(i, text);
  const trigger = e.type !== 'reminder' && e.alarm ? alarmSummary(e.alarm, text) : undefined;
  const lines = [
    `### ${title}`,
    `> 状态：**${headline(e)}**`,
    `> 级别：${levelZh[i.level]}（${severityZh[i.severity]}）`,
    `> 位置：${site} / ${building}`,
    `> 概况：${incidentSummary(i, text)}`,
    ...(trigger ? [`> 触发：${trigger}`] : []),
    '> 依据：',
    ...evidence.slice(0, MAX_EVIDENCE).map((l) => `> - ${l}`),
    ...(evidence.length > MAX_EVIDENCE ? [`> - ……另有 ${evidence.length - MAX_EVIDENCE} 条告警`] : []),
    `> 时间：${formatTime(cleared ? (i.clearTs ?? e.ts) : e.ts, opts.timeZone)}`,
    ...(i.level === 'fire' && !cleared ? ['> 火警需人工确认现场后复位（消除）'] : []),
    ...responseLines(e, { timeZone: opts.timeZone, ...(opts.names ? { names: opts.names } : {}), formatTime }),
    ...(i.assignee ? [`> 处理人：${i.assignee}`] : []),
    `> 编号：${i.id}`,
  ];
  return { title, markdown: lines.join('\n') };
}
