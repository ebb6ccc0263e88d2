import { Counter, type Registry } from 'prom-client';
import { getOrCreateMetric } from '../../core/util/index.js';

export type NotificationOutcome = 'sent' | 'retried' | 'failed' | 'dropped';

export interface NotifierMetrics {
  count(notifier: string, outcome: NotificationOutcome): void;
}

/** `anju_notifications_total{notifier,outcome}`, shared by every notifier on a registry. */
export function createNotifierMetrics(reg: Registry): NotifierMetrics {
  const name = 'anju_notifications_total';
  const counter = getOrCreateMetric(reg, name, () => new Counter<'notifier' | 'outcome'>({
    name,
    help: 'Alarm notifications by notifier and outcome: sent, retried (one per extra attempt), failed (given up), dropped (queue full or shut down)',
    labelNames: ['notifier', 'outcome'],
    registers: [reg],
  }));
  return { count: (notifier, outcome) => counter.inc({ notifier, outcome }) };
}
