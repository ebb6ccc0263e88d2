import { createHmac } from 'node:crypto';
import type { NotificationEvent } from './contract.js';
import { incidentEventToJson } from './payload.js';
import { pageTextZh, type PlaceNames } from './text-zh.js';

/**
 * Webhook bodies and signatures. Three formats: our plain JSON event (the same shape as SSE and
 * MQTT), and the group-robot markdown messages of WeCom (企业微信) and DingTalk (钉钉), which is how
 * maintenance teams in China are actually paged.
 */

export const webhookFormats = ['json', 'wecom', 'dingtalk'] as const;
export type WebhookFormat = (typeof webhookFormats)[number];

export interface FormatOptions {
  readonly timeZone: string;
  readonly names?: PlaceNames;
}

export function webhookBody(format: WebhookFormat, e: NotificationEvent, opts: FormatOptions): string {
  // The JSON carries the texts too (in Chinese): a receiver can show them without a registry of its own.
  if (format === 'json') return JSON.stringify(incidentEventToJson(e, { lang: 'zh-CN', timeZone: opts.timeZone, ...(opts.names ? { names: opts.names } : {}) }));
  const page = pageTextZh(e, opts);
  // WeCom group robot: https://developer.work.weixin.qq.com/document/path/91770 (markdown, ≤ 4096 bytes).
  if (format === 'wecom') return JSON.stringify({ msgtype: 'markdown', markdown: { content: page.markdown } });
  // DingTalk custom robot: https://open.dingtalk.com/document/robots/custom-robot-access (markdown: title + text).
  return JSON.stringify({ msgtype: 'markdown', markdown: { title: page.title, text: page.markdown } });
}

/** `X-Anju-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>` (GitHub's scheme), so a receiver can verify before parsing. */
export function anjuSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/**
 * DingTalk's optional "加签" security setting: `timestamp` (epoch ms, within an hour of DingTalk's
 * clock) and `sign` = base64(HMAC-SHA256(key = secret, message = `${timestamp}\n${secret}`)),
 * URL-encoded, appended to the robot's webhook URL.
 */
export function dingtalkSignedUrl(url: string, secret: string, timestamp: number): string {
  const sign = createHmac('sha256', secret).update(`${timestamp}\n${secret}`, 'utf8').digest('base64');
  const u = new URL(url);
  u.searchParams.set('timestamp', String(timestamp));
  u.searchParams.set('sign', sign);
  return u.toString();
}

/**
 * Both robots answer HTTP 200 with `{errcode, errmsg}`; errcode 0 is success. Their "sending too
 * fast" codes (WeCom 45009: 20 messages/min per robot; DingTalk 130101) are worth retrying, the
 * rest (bad key, bad body) are not.
 */
export function robotOutcome(format: WebhookFormat, text: string): 'ok' | 'retry' | 'fail' {
  if (format === 'json') return 'ok';
  let errcode: unknown;
  try {
    errcode = (JSON.parse(text) as { errcode?: unknown }).errcode;
  } catch {
    return 'ok';
  }
  if (errcode === undefined || errcode === 0) return 'ok';
  return errcode === 45009 || errcode === 130101 ? 'retry' : 'fail';
}
