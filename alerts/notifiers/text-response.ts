import { hazardOf } from '../../core/alarms.js';
import type { Proposal } from '../../core/responses.js';
import type { NotificationEvent } from './contract.js';
import type { PlaceNames } from './text-zh.js';

/**
 * The response section of a WeCom / DingTalk page (core/responses.ts): what the site's policy
 * proposes for the incident and what it takes to confirm it — Chinese first, English second — and,
 * on the events that page for it, that it was carried out and what came of it.
 */

const commandZh = (p: Pick<Proposal, 'command'>, kind: 'valve' | 'switch'): string => {
  if (kind === 'valve') return p.command === 'close' ? '关闭阀门' : '打开阀门';
  return p.command === 'open' ? '断开断路器（断电）' : p.command === 'close' ? '合上断路器（送电）' : p.command === 'reset' ? '复位断路器' : p.command;
};
const commandEn = (p: Pick<Proposal, 'command'>, kind: 'valve' | 'switch'): string => {
  if (kind === 'valve') return p.command === 'close' ? 'close the valve' : 'open the valve';
  return p.command === 'open' ? 'open the breaker (power off)' : p.command === 'close' ? 'close the breaker (power on)' : `${p.command} the breaker`;
};
/** A water alarm's command goes to a valve, an electrical one's to a breaker (core/commands.ts kindCapabilities). */
const kindOf = (p: Proposal): 'valve' | 'switch' => (hazardOf(p.alarmType) === 'water' ? 'valve' : 'switch');

const outcomeZh: Record<string, string> = { succeeded: '已执行成功', failed: '执行失败', expired: '超时未送达' };

export function responseHeadline(e: NotificationEvent): string | undefined {
  if (e.type !== 'updated' || !e.response) return undefined;
  const p = e.incident.proposals?.find((x) => x.id === e.response!.proposalId);
  if (!p) return undefined;
  const what = commandZh(p, kindOf(p));
  switch (e.response.step) {
    case 'performed': return `无人确认，已自动${what}`;
    case 'confirmed': return `处置已确认：${what}`;
    case 'succeeded': case 'failed': case 'expired': return `处置${outcomeZh[e.response.step]}：${what}`;
    default: return undefined;
  }
}

/** `> ` lines for the page; none when nothing was proposed. */
export function responseLines(e: NotificationEvent, opts: { timeZone: string; names?: PlaceNames; formatTime(ms: number, tz: string): string }): string[] {
  const lines: string[] = [];
  for (const p of e.incident.proposals ?? []) {
    const d = opts.names?.device?.(p.device);
    const device = d?.name ? `${d.name}${d.location ? `（${d.location}）` : ''}` : p.device;
    const kind = kindOf(p);
    const zh = commandZh(p, kind);
    const en = commandEn(p, kind);
    if (p.status === 'proposed') {
      lines.push(`> 处置建议：${zh} — ${device}`);
      lines.push('> 确认方式：在控制室该事件下点“确认”（或“拒绝”），需具备下发指令的角色（默认 operator）');
      if (p.interlock) lines.push(`> ⚠ 联锁：此回路须保持供电，仅可人工确认，绝不自动执行（${p.interlock.standard}）`);
      else if (p.mode === 'auto_after' && p.autoAt !== undefined) lines.push(`> 若 ${opts.formatTime(p.autoAt, opts.timeZone)} 前无人确认或拒绝，将自动执行`);
      lines.push(`> Proposed: ${en} on ${p.device} — confirm or reject it on this incident in the control room (command role, default operator)`);
      if (p.interlock) lines.push(`> Interlock: never carried out automatically (${p.interlock.standard})`);
      else if (p.mode === 'auto_after' && p.autoAt !== undefined) lines.push(`> Carried out automatically at ${new Date(p.autoAt).toISOString()} unless confirmed or rejected before`);
    } else if (p.status === 'confirmed' || p.status === 'performed') {
      const by = p.status === 'performed' ? '系统自动执行' : `${p.decidedBy ?? ''} 确认`;
      const state = p.commandStatus ? (outcomeZh[p.commandStatus] ?? `指令${p.commandStatus}`) : '指令待发送';
      lines.push(`> 处置：${zh} — ${device}（${by}；${state}${p.commandMessage ? `：${p.commandMessage}` : ''}）`);
      lines.push(`> Response: ${en} on ${p.device} — ${p.status === 'performed' ? 'carried out automatically' : `confirmed by ${p.decidedBy ?? ''}`}; command ${p.commandStatus ?? 'pending'}`);
    } else if (p.status === 'rejected') {
      lines.push(`> 处置建议已被 ${p.decidedBy ?? ''} 拒绝：${zh} — ${device}${p.reason ? `（${p.reason}）` : ''}`);
    }
  }
  return lines;
}
