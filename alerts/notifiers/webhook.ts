import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { backoffDelay, sleep } from '../../core/util/index.js';
import { severityRank, type Severity } from '../contracts.js';
import { idempotencyKey, isPaging, type NotificationEvent, type Notifier } from './contract.js';
import { createNotifierMetrics } from './metrics.js';
import type { PlaceNames } from './text-zh.js';
import { anjuSignature, dingtalkSignedUrl, robotOutcome, webhookBody, type WebhookFormat } from './webhook-format.js';

/**
 * Webhooks: each target gets the paging incident events (contract.ts isPaging) that pass its filters, in
 * order, one at a time: a target's queue waits while its head is retried, so a receiver never sees
 * a `cleared` before the `raised` it clears. Targets do not wait for each other.
 *
 * Retries: network errors, timeouts, 408, 429 and 5xx (and the robots' rate-limit errcodes) are
 * retried with exponential backoff and jitter, honouring Retry-After, up to `maxAttempts`; then the
 * event is counted as failed and logged. Other 4xx are the target's configuration (a wrong key), so
 * they fail at once. A receiver may still see an event twice (a timeout after it processed it):
 * `Idempotency-Key: <incident id>:<seq>` lets it tell.
 *
 * The queue per target is bounded: when an endpoint is down long enough to fill it, the oldest
 * waiting event is dropped (counted): the newest alarms are the ones someone can still act on.
 */

export interface WebhookTarget {
  /** For logs; default: the URL's host. */
  readonly name?: string;
  readonly url: string;
  readonly format: WebhookFormat;
  /** HMAC key for `X-Anju-Signature`; without it the header is not sent (robots ignore it anyway). */
  readonly secret?: string;
  /** DingTalk 加签 secret (`SEC...`): `timestamp` and `sign` are appended to the URL. */
  readonly dingtalkSecret?: string;
  /** Only incidents at or above this severity. */
  readonly minSeverity?: Severity;
  /** Only incidents of these sites. */
  readonly sites?: readonly string[];
  /** Escalation targets: only incidents escalated at least this far (`escalationLevel >= n`). Default 0. */
  readonly minEscalationLevel?: number;
}

export interface WebhookNotifierConfig {
  readonly targets: readonly WebhookTarget[];
  /** Attempts per event, first one included. Default 8 (≈ 2 min of backoff at the defaults). */
  readonly maxAttempts?: number;
  /** First backoff; doubles per attempt. Default 1 s. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Per attempt. Default 10 s. */
  readonly timeoutMs?: number;
  /** Waiting events per target. Default 1,000. */
  readonly queueLimit?: number;
  /** For the times in robot messages. Default Asia/Shanghai. */
  readonly timeZone?: string;
}

export interface WebhookNotifierDeps {
  logger: Logger;
  metrics: Registry;
  names?: PlaceNames;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Default: Date.now (X-Anju-Timestamp, DingTalk timestamp). */
  clock?: () => number;
  /** Default: Math.random (jitter). */
  random?: () => number;
}

interface Job {
  readonly event: NotificationEvent;
  readonly body: string;
}

const retryableStatus = (s: number) => s === 408 || s === 429 || s >= 500;

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const s = Number(header);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

export function createWebhookNotifier(config: WebhookNotifierConfig, deps: WebhookNotifierDeps): Notifier {
  const maxAttempts = config.maxAttempts ?? 8;
  const baseDelay = config.baseDelayMs ?? 1_000;
  const maxDelay = config.maxDelayMs ?? 60_000;
  const timeoutMs = config.timeoutMs ?? 10_000;
  const queueLimit = config.queueLimit ?? 1_000;
  const timeZone = config.timeZone ?? 'Asia/Shanghai';
  const doFetch = deps.fetch ?? fetch;
  const clock = deps.clock ?? Date.now;
  const random = deps.random ?? Math.random;
  const metrics = createNotifierMetrics(deps.metrics);
  const stop = new AbortController();
  const workers = config.targets.map((t) => createWorker(t));

  function createWorker(target: WebhookTarget) {
    const name = target.name ?? new URL(target.url).host;
    const log = deps.logger.child({ notifier: 'webhook', target: name });
    const queue: Job[] = [];
    let running: Promise<void> | undefined;

    const wants = (e: NotificationEvent) =>
      (target.minSeverity === undefined || severityRank[e.incident.severity] >= severityRank[target.minSeverity]) &&
      (target.sites === undefined || target.sites.includes(e.incident.site)) &&
      e.incident.escalationLevel >= (target.minEscalationLevel ?? 0);

    /** One attempt: 'ok', or whether it is worth another, with the server's Retry-After. */
    async function attempt(job: Job): Promise<{ outcome: 'ok' | 'retry' | 'fail'; detail: string; waitMs?: number }> {
      const now = clock();
      const url = target.format === 'dingtalk' && target.dingtalkSecret ? dingtalkSignedUrl(target.url, target.dingtalkSecret, now) : target.url;
      const headers: Record<string, string> = {
        'content-type': 'application/json; charset=utf-8',
        'user-agent': 'anju-alerts',
        'x-anju-timestamp': String(now),
        'idempotency-key': idempotencyKey(job.event),
        'x-anju-event': job.event.type,
      };
      if (target.secret) headers['x-anju-signature'] = anjuSignature(target.secret, job.body);
      try {
        const res = await doFetch(url, { method: 'POST', headers, body: job.body, signal: AbortSignal.any([stop.signal, AbortSignal.timeout(timeoutMs)]) });
        const text = await res.text().catch(() => '');
        if (res.ok) {
          const robot = robotOutcome(target.format, text);
          return { outcome: robot, detail: robot === 'ok' ? 'ok' : `robot answered ${text.slice(0, 200)}` };
        }
        const waitMs = retryAfterMs(res.headers.get('retry-after'));
        return { outcome: retryableStatus(res.status) ? 'retry' : 'fail', detail: `HTTP ${res.status}`, ...(waitMs !== undefined ? { waitMs } : {}) };
      } catch (err) {
        return { outcome: 'retry', detail: (err as Error).message };
      }
    }

    async function deliver(job: Job): Promise<void> {
      for (let n = 1; ; n++) {
        const r = await attempt(job);
        if (r.outcome === 'ok') {
          metrics.count('webhook', 'sent');
          return;
        }
        if (stop.signal.aborted) {
          metrics.count('webhook', 'dropped');
          return;
        }
        if (r.outcome === 'fail' || n >= maxAttempts) {
          metrics.count('webhook', 'failed');
          log.error({ seq: job.event.seq, incident: job.event.incident.id, event: job.event.type, attempts: n, detail: r.detail }, 'webhook delivery given up');
          return;
        }
        // Equal jitter: half the exponential step fixed, half random, so many hubs retrying one
        // endpoint after an outage spread out instead of arriving together.
        const step = backoffDelay(n - 1, { baseMs: baseDelay, maxMs: maxDelay, jitter: 'equal' }, random);
        const wait = Math.min(maxDelay, Math.max(r.waitMs ?? 0, step));
        metrics.count('webhook', 'retried');
        log.warn({ seq: job.event.seq, attempt: n, detail: r.detail, retryInMs: Math.round(wait) }, 'webhook delivery failed; retrying');
        if (!(await sleep(wait, stop.signal))) {
          metrics.count('webhook', 'dropped');
          return;
        }
      }
    }

    async function drain(): Promise<void> {
      while (queue.length > 0 && !stop.signal.aborted) {
        await deliver(queue[0] as Job);
        queue.shift();
      }
      running = undefined;
    }

    return {
      push(e: NotificationEvent) {
        if (!wants(e)) return;
        if (stop.signal.aborted) {
          metrics.count('webhook', 'dropped');
          return;
        }
        if (queue.length >= queueLimit) {
          // Index 0 is in flight; drop the oldest one waiting behind it.
          const [gone] = queue.splice(1, 1);
          metrics.count('webhook', 'dropped');
          log.warn({ seq: gone?.event.seq, queued: queue.length }, 'webhook queue full: oldest waiting event dropped');
        }
        queue.push({ event: e, body: webhookBody(target.format, e, { timeZone, ...(deps.names ? { names: deps.names } : {}) }) });
        running ??= drain();
      },
      busy: () => running !== undefined,
      idle: () => running ?? Promise.resolve(),
      dropAll() {
        const n = Math.max(0, queue.length - (running ? 1 : 0));
        for (let i = 0; i < n; i++) metrics.count('webhook', 'dropped');
        queue.length = 0;
      },
    };
  }

  return {
    name: 'webhook',
    notify(e) {
      if (!isPaging(e)) return;
      for (const w of workers) w.push(e);
    },
    async idle() {
      // A worker may pick up more work while we wait: loop until all are idle at once.
      while (workers.some((w) => w.busy())) await Promise.all(workers.map((w) => w.idle()));
    },
    async close() {
      stop.abort();
      const waits = workers.map((w) => w.idle());
      for (const w of workers) w.dropAll();
      await Promise.all(waits);
    },
  };
}
