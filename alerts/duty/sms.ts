import type { TextNames } from '../../core/alarm-text.js';
import { pageKey, type PersonNotifier } from './contract.js';
import { postJson } from './http.js';
import { personPageText } from './text.js';

/**
 * SMS (or voice) through an HTTP gateway of the deployment's choosing (a carrier's, Aliyun or
 * Tencent Cloud SMS behind a small adapter, an on-premises GSM modem): one generic JSON POST per
 * page, `Authorization: Bearer <token>` when a token is set, `Idempotency-Key` so a page resent
 * after a restart is recognisable. Body:
 * `{channel, to, text, key, person: {id, name}, incident: {id, site, building, hazard, level, severity}}`.
 * `channel` is `voice` for critical incidents when `voiceForCritical` is on (a 火警 at 3 a.m.
 * should ring, not buzz), `sms` otherwise. Any 2xx is delivered; 408/429/5xx and network errors are
 * retried. People without a phone are not reached by it.
 */

export interface SmsGatewayConfig {
  readonly url: string;
  readonly token?: string;
  readonly voiceForCritical?: boolean;
  readonly timeZone?: string;
  /** Attempts per page, first included. Default 5. */
  readonly attempts?: number;
  readonly baseDelayMs?: number;
  readonly timeoutMs?: number;
}

export function createSmsGatewayNotifier(config: SmsGatewayConfig, deps: { names?: TextNames; fetch?: typeof fetch } = {}): PersonNotifier {
  const stop = new AbortController();
  const target = new URL(config.url).host;
  return {
    name: 'sms',
    async notify(page) {
      const to = page.person.phone?.replace(/[\s-]/g, '');
      if (!to) return [];
      const i = page.incident;
      const channel = config.voiceForCritical && i.severity === 'critical' ? 'voice' : 'sms';
      const text = personPageText(page, { timeZone: config.timeZone ?? 'Asia/Shanghai', ...(deps.names ? { names: deps.names } : {}) }).short;
      const body = JSON.stringify({
        channel, to, text, key: pageKey(page), person: { id: page.person.id, name: page.person.displayName },
        incident: { id: i.id, site: i.site, building: i.building, hazard: i.hazard, level: i.level, severity: i.severity },
      });
      const r = await postJson(config.url, body, {
        attempts: config.attempts ?? 5, baseDelayMs: config.baseDelayMs ?? 1_000, timeoutMs: config.timeoutMs ?? 10_000, signal: stop.signal,
        headers: { 'idempotency-key': pageKey(page), ...(config.token ? { authorization: `Bearer ${config.token}` } : {}) }, ...(deps.fetch ? { fetch: deps.fetch } : {}),
      });
      return [{ channel, target, outcome: r.ok ? 'sent' : 'failed', ...(r.ok ? {} : { detail: r.detail }) }];
    },
    async close() {
      stop.abort();
    },
  };
}
