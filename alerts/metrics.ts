import { Counter, Gauge, type Registry } from 'prom-client';
import { getOrCreateMetric } from '../core/util/index.js';
import { severities, type Alarm } from './contracts.js';

export interface AlertMetrics {
  raised(alarm: Alarm): void;
  setActive(active: Iterable<Alarm>): void;
  ruleError(rule: string): void;
}

export function createAlertMetrics(reg: Registry): AlertMetrics {
  const raisedTotal = getOrCreateMetric(reg, 'anju_alarms_raised_total', () => new Counter({
    name: 'anju_alarms_raised_total', help: 'Alarms raised (new alarms, not repeats), by type and severity', labelNames: ['type', 'severity'], registers: [reg],
  }));
  const activeGauge = getOrCreateMetric(reg, 'anju_alarms_active', () => new Gauge({
    name: 'anju_alarms_active', help: 'Active alarms (acknowledged or not), by severity', labelNames: ['severity'], registers: [reg],
  }));
  const ruleErrors = getOrCreateMetric(reg, 'anju_alert_rule_errors_total', () => new Counter({
    name: 'anju_alert_rule_errors_total', help: 'Exceptions thrown by alert rules (the reading still reaches the other rules)', labelNames: ['rule'], registers: [reg],
  }));
  return {
    raised: (a) => raisedTotal.inc({ type: a.type, severity: a.severity }),
    setActive(active) {
      const counts = Object.fromEntries(severities.map((s) => [s, 0])) as Record<string, number>;
      for (const a of active) counts[a.severity] = (counts[a.severity] ?? 0) + 1;
      for (const s of severities) activeGauge.set({ severity: s }, counts[s] ?? 0);
    },
    ruleError: (rule) => ruleErrors.inc({ rule }),
  };
}
