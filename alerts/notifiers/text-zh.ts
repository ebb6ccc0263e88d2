import { severityNames } from '../../core/labels.js';
import type { Alarm, Severity } from '../contracts.js';
import type { NotificationEvent } from './contract.js';

/**
 * The Chinese page a maintenance team reads in its WeCom / DingTalk group: "【紧急】2号楼 烟感报警",
 * then where, what value, when (in the site's time zone, Asia/Shanghai by default: a page saying
 * 00:12 UTC for a fire at 08:12 would mislead the person reading it on a phone).
 */

export const severityZh: Readonly<Record<Severity, string>> = severityNames['zh-CN'];

/** One label per alarm type the built-in rules raise; an unknown type shows as itself. */
export const alarmTypeZh: Readonly<Record<string, string>> = {
  smoke: '烟感报警',
  heat: '温度过高',
  heat_rise: '温升过快',
  co: '一氧化碳超标',
  fire_risk: '火灾风险（多探测器确认）',
  residual_current: '剩余电流超限',
  overcurrent: '线路过载',
  cable_temperature: '线缆温度过高',
  bin_fill: '垃圾桶满溢',
  bin_time_to_full: '垃圾桶即将满溢',
  bin_fire: '垃圾桶起火',
  bin_tilt: '垃圾桶倾倒',
  bin_lid_open: '垃圾桶盖未关',
  water_leak: '疑似漏水',
  water_burst: '疑似爆管',
  water_balance: '管网疑似暗漏',
  offline: '设备离线',
  battery: '电池电量低',
};

const eventZh: Readonly<Record<NotificationEvent['type'], string>> = {
  raised: '新告警', updated: '告警升级', acked: '已确认', assigned: '已指派', commented: '新备注', cleared: '已恢复', escalated: '告警升级', reminder: '未确认提醒',
};

/** Detail keys the rules use, with their units (DESIGN §3 reading fields). */
const fieldZh: Readonly<Record<string, [string, string]>> = {
  smoke: ['烟雾浓度', 'dB/m'], temperature: ['温度', '°C'], co: ['一氧化碳', 'ppm'], fill: ['满溢度', '%'],
  residual_current: ['剩余电流', 'mA'], current: ['电流', 'A'], cable_temperature: ['线缆温度', '°C'], flow: ['流量', 'L/min'],
  battery: ['电量', '%'], power: ['功率', 'W'], threshold: ['阈值', ''], rate: ['变化率', ''],
};

/** Names to show instead of ids, when the composition root knows them (the registry). */
export interface PlaceNames {
  site?(id: string): string | undefined;
  building?(site: string, id: string): string | undefined;
  device?(id: string): string | undefined;
}

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

function values(details: Alarm['details']): string {
  const shown: string[] = [];
  for (const [k, v] of Object.entries(details)) {
    if (v === undefined || v === null || typeof v === 'object') continue;
    const [label, unit] = fieldZh[k] ?? [k, ''];
    shown.push(`${label} ${String(v)}${unit ? ` ${unit}` : ''}`);
    if (shown.length === 4) break;
  }
  return shown.join('，') || '—';
}

function headline(e: NotificationEvent): string {
  if (e.type === 'escalated') return `${eventZh.escalated}（第 ${e.alarm.escalationLevel} 级，未确认）`;
  if (e.type === 'updated' && e.previousSeverity) return `${eventZh.updated}（${severityZh[e.previousSeverity]} → ${severityZh[e.alarm.severity]}）`;
  if (e.type === 'reminder') return `${eventZh.reminder}（第 ${e.reminder} 次）`;
  return eventZh[e.type];
}

export function pageTextZh(e: NotificationEvent, opts: { timeZone: string; names?: PlaceNames }): PageText {
  const a = e.alarm;
  const n = opts.names;
  const site = n?.site?.(a.site) ?? a.site;
  const building = n?.building?.(a.site, a.building) ?? a.building;
  const origin = a.originator.kind === 'device' ? (n?.device?.(a.originator.id) ?? a.originator.id) : building;
  const type = alarmTypeZh[a.type] ?? a.type;
  const cleared = e.type === 'cleared';
  const title = `${cleared ? '【已恢复】' : `【${severityZh[a.severity]}】`}${building} ${type}`;
  const lines = [
    `### ${title}`,
    `> 状态：**${headline(e)}**`,
    `> 级别：${severityZh[a.severity]}`,
    `> 位置：${site} / ${building}${a.originator.kind === 'device' ? ` / ${origin}` : ''}`,
    `> 数值：${values(a.details)}`,
    `> 时间：${formatTime(cleared ? (a.clearTs ?? e.ts) : e.ts, opts.timeZone)}`,
    ...(a.count > 1 ? [`> 次数：${a.count}`] : []),
    ...(a.assignee ? [`> 处理人：${a.assignee}`] : []),
    `> 编号：${a.id}`,
  ];
  return { title, markdown: lines.join('\n') };
}
