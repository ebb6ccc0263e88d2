import { buildingLabel, type TextNames } from '../../core/alarm-text.js';
import { hazardNames, incidentLevelNames, severityNames } from '../../core/labels.js';
import { formatTime } from '../notifiers/text-zh.js';
import type { PersonPage } from './contract.js';

/**
 * What a paged person reads, in Chinese (the people on duty read zh-CN): where, what, since when,
 * and how long they have before the next person is called. The mention itself is the channel's
 * (`<@userid>`, `@mobile`); these are the words around it.
 */
export interface PersonPageText {
  readonly title: string;
  /** One line each. */
  readonly lines: readonly string[];
  /** One short line for SMS (no markdown). */
  readonly short: string;
}

export function personPageText(p: PersonPage, opts: { timeZone: string; names?: TextNames }): PersonPageText {
  const i = p.incident;
  const text = { lang: 'zh-CN' as const, timeZone: opts.timeZone, ...(opts.names ? { names: opts.names } : {}) };
  const site = opts.names?.site?.(i.site) ?? i.site;
  const building = buildingLabel(i.site, i.building, text);
  const what = `${incidentLevelNames['zh-CN'][i.level]}·${severityNames['zh-CN'][i.severity]}`;
  const title = `【${what}】${site} ${building} ${hazardNames['zh-CN'][i.hazard]}`;
  const why = p.reason === 'assigned' ? '您是当前值班人员，请处理' : `上一位值班人员未确认，已转交给您（第 ${p.step + 1} 位），请处理`;
  const within = p.ackWithinMs !== undefined ? `请在 ${Math.round(p.ackWithinMs / 60_000)} 分钟内确认，否则转交下一位` : '请尽快确认';
  return {
    title,
    lines: [why, `发生时间：${formatTime(i.startTs, opts.timeZone)}`, within, `事件编号：${i.id}`],
    short: `【安居】${title}。${p.person.displayName}，${why}；${within}。事件 ${i.id}`,
  };
}
