import type { TextNames } from '../../core/alarm-text.js';
import type { WebhookTarget } from '../notifiers/webhook.js';
import { dingtalkSignedUrl, robotOutcome } from '../notifiers/webhook-format.js';
import { pageKey, type Person, type PersonDelivery, type PersonNotifier, type PersonPage } from './contract.js';
import { postJson } from './http.js';
import { personPageText } from './text.js';

/**
 * The person on duty @mentioned through the group robots of their site (ANJU_ALERT_WEBHOOKS targets
 * of format `wecom` or `dingtalk` whose `sites` include the incident's, or that have none): the
 * group sees the incident as before, and the phone of the one person who must act rings.
 *
 * WeCom group robot (https://developer.work.weixin.qq.com/document/path/91770): a `markdown`
 * message mentions by user id with `<@userid>` in its content; a person known only by phone gets
 * a `text` message with `mentioned_mobile_list` (markdown cannot mention by phone).
 * DingTalk custom robot (https://open.dingtalk.com/document/robots/custom-robot-access): `at.atUserIds`
 * / `at.atMobiles`, and the text must carry `@<userId>` / `@<mobile>` for the mention to show.
 */

export interface RobotMentionConfig {
  readonly targets: readonly WebhookTarget[];
  /** For the times in messages. Default Asia/Shanghai. */
  readonly timeZone?: string;
  /** Attempts per page, first included. Default 5. */
  readonly attempts?: number;
  readonly baseDelayMs?: number;
  readonly timeoutMs?: number;
}

export interface RobotMentionDeps {
  names?: TextNames;
  fetch?: typeof fetch;
  clock?: () => number;
}

/** The robot's JSON body mentioning `person`, or undefined when this robot cannot reach them. */
export function mentionBody(format: 'wecom' | 'dingtalk', page: PersonPage, opts: { timeZone: string; names?: TextNames }): string | undefined {
  const { person } = page;
  const t = personPageText(page, opts);
  const phone = person.phone?.replace(/[\s-]/g, '');
  if (format === 'wecom') {
    if (person.wecomUserId) {
      const content = [`### ${t.title}`, `> <@${person.wecomUserId}> ${t.lines[0]}`, ...t.lines.slice(1).map((l) => `> ${l}`)].join('\n');
      return JSON.stringify({ msgtype: 'markdown', markdown: { content } });
    }
    if (!phone) return undefined;
    return JSON.stringify({ msgtype: 'text', text: { content: [t.title, ...t.lines].join('\n'), mentioned_list: [], mentioned_mobile_list: [phone] } });
  }
  const userIds = person.dingtalkUserId ? [person.dingtalkUserId] : [];
  const mobiles = !person.dingtalkUserId && phone ? [phone] : [];
  if (userIds.length === 0 && mobiles.length === 0) return undefined;
  const at = [...userIds, ...mobiles].map((x) => `@${x}`).join(' ');
  const text = [`### ${t.title}`, `> ${at} ${t.lines[0]}`, ...t.lines.slice(1).map((l) => `> ${l}`)].join('\n\n');
  return JSON.stringify({ msgtype: 'markdown', markdown: { title: t.title, text }, at: { atUserIds: userIds, atMobiles: mobiles, isAtAll: false } });
}

const reachable = (f: 'wecom' | 'dingtalk', p: Person) => Boolean(p.phone || (f === 'wecom' ? p.wecomUserId : p.dingtalkUserId));

export function createRobotMentionNotifier(config: RobotMentionConfig, deps: RobotMentionDeps = {}): PersonNotifier {
  const timeZone = config.timeZone ?? 'Asia/Shanghai';
  const clock = deps.clock ?? Date.now;
  const stop = new AbortController();
  const robots = config.targets.filter((t): t is WebhookTarget & { format: 'wecom' | 'dingtalk' } => t.format === 'wecom' || t.format === 'dingtalk');
  return {
    name: 'robots',
    async notify(page) {
      const mine = robots.filter((t) => (t.sites === undefined || t.sites.includes(page.incident.site)) && reachable(t.format, page.person));
      return Promise.all(mine.map(async (t): Promise<PersonDelivery> => {
        const target = t.name ?? new URL(t.url).host;
        const body = mentionBody(t.format, page, { timeZone, ...(deps.names ? { names: deps.names } : {}) }) as string;
        const signed = t.format === 'dingtalk' && t.dingtalkSecret ? t.dingtalkSecret : undefined;
        const r = await postJson(signed ? () => dingtalkSignedUrl(t.url, signed, clock()) : t.url, body, {
          attempts: config.attempts ?? 5, baseDelayMs: config.baseDelayMs ?? 1_000, timeoutMs: config.timeoutMs ?? 10_000, signal: stop.signal,
          headers: { 'idempotency-key': pageKey(page) }, judge: (text) => robotOutcome(t.format, text), ...(deps.fetch ? { fetch: deps.fetch } : {}),
        });
        return { channel: t.format, target, outcome: r.ok ? 'sent' : 'failed', ...(r.ok ? {} : { detail: r.detail }) };
      }));
    },
    async close() {
      stop.abort();
    },
  };
}
