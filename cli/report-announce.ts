import type { Logger } from 'pino';
import { anjuSignature, dingtalkSignedUrl } from '../alerts/notifiers/index.js';
import type { WebhookTargetConfig } from '../core/config.js';
import type { ScheduledReport } from '../reports/schedule.js';

const kindZh: Record<string, string> = { savings: '节能节水报告', waste: '垃圾分类报告', fire_safety: '消防安全报告' };

/**
 * Announces a stored monthly report on the alerts webhook channel (management reads the same
 * WeCom/DingTalk groups the alarms go to, so no second channel to configure): a short markdown note for WeCom/DingTalk groups, JSON for the rest,
 * with a link path to the stored report. One attempt per target: the report itself is stored, so a
 * lost announcement loses nothing but the ping — it is logged.
 */
export function createReportAnnouncer(targets: readonly WebhookTargetConfig[], deps: { logger: Logger; fetch?: typeof fetch }) {
  const doFetch = deps.fetch ?? fetch;
  return async (report: ScheduledReport): Promise<void> => {
    const month = new Date(report.from).toISOString().slice(0, 7);
    const path = `/api/reports/${encodeURIComponent(report.id)}?format=html`;
    const title = `【月报】${report.site} ${month} ${kindZh[report.kind] ?? report.kind}`;
    const text = `### ${title}\n> 已生成并存档，查看：\`${path}\``;
    for (const target of targets.filter((t) => !t.sites || t.sites.includes(report.site))) {
      let url = target.url;
      let body: string;
      if (target.format === 'wecom') body = JSON.stringify({ msgtype: 'markdown', markdown: { content: text } });
      else if (target.format === 'dingtalk') {
        body = JSON.stringify({ msgtype: 'markdown', markdown: { title, text } });
        if (target.dingtalkSecret) url = dingtalkSignedUrl(url, target.dingtalkSecret, Date.now());
      } else body = JSON.stringify({ type: 'report', id: report.id, kind: report.kind, site: report.site, from: new Date(report.from).toISOString(), to: new Date(report.to).toISOString(), path });
      const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': `report:${report.id}` };
      if (target.secret) headers['x-anju-signature'] = anjuSignature(target.secret, body);
      try {
        const res = await doFetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
        if (!res.ok) deps.logger.warn({ target: target.name ?? new URL(target.url).host, status: res.status, report: report.id }, 'report announcement refused');
      } catch (err) {
        deps.logger.warn({ target: target.name ?? new URL(target.url).host, err: (err as Error).message, report: report.id }, 'report announcement failed');
      }
    }
  };
}
