import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createEscalation, defaultEscalationConfig } from '../alerts/escalation.js';
import { createAlertEngine, defaultAlertEngineConfig, type AlertEngine } from '../alerts/index.js';
import { createMqttNotifier, createNotifications, createWebhookNotifier, type Notifier } from '../alerts/notifiers/index.js';
import type { AnjuBroker } from '../broker/index.js';
import type { AnjuConfig } from '../core/config.js';
import type { AlarmStore, DeviceDirectory } from '../storage/index.js';

export interface RunningAlerts {
  readonly engine: AlertEngine;
  stop(): Promise<void>;
}

/** How often time-driven rules run (offline, hold durations, the daily water balance). */
const TICK_MS = 30_000;

/**
 * The alerts part of a hub: the rule engine fed by ingest (as a reading consumer) and by broker
 * presence, its clock tick, the notifiers (MQTT `anju/alerts/{site}/{type}` on the embedded broker,
 * webhooks from ANJU_ALERT_WEBHOOKS) and the escalation schedule.
 */
export async function startAlerts(
  config: AnjuConfig,
  deps: { store: AlarmStore; directory: DeviceDirectory; broker?: AnjuBroker; metrics: Registry; logger: Logger },
): Promise<RunningAlerts> {
  const logger = deps.logger.child({ part: 'alerts' });
  const engine = createAlertEngine(defaultAlertEngineConfig, { store: deps.store, devices: deps.directory, logger, metrics: deps.metrics, clock: Date.now });
  await engine.start();

  const notifiers: Notifier[] = [];
  if (deps.broker) {
    const aedes = deps.broker.aedes;
    notifiers.push(createMqttNotifier({}, { publish: (packet, done) => aedes.publish(packet, (err) => done(err ?? null)), logger, metrics: deps.metrics }));
  }
  if (config.alerts.webhooks.length > 0) {
    notifiers.push(createWebhookNotifier(
      { targets: config.alerts.webhooks },
      { logger, metrics: deps.metrics, names: { device: (id) => deps.directory.get(id)?.name } },
    ));
  }
  const notifications = createNotifications({ notifiers }, { engine, logger });
  const escalation = createEscalation(
    { ...defaultEscalationConfig, criticalAfterMs: config.alerts.escalateCriticalAfterMs, majorAfterMs: config.alerts.escalateMajorAfterMs },
    { engine, clock: Date.now, logger, remind: (e) => notifications.remind(e) },
  );
  escalation.start();

  const tick = setInterval(() => { engine.tick(Date.now()).catch((err: Error) => logger.error({ err }, 'alert tick failed')); }, TICK_MS);
  const offPresence = deps.broker?.onPresence((id, status, ts, cause) => {
    engine.onPresence(id, status, ts, cause).catch((err: Error) => logger.error({ err, device: id }, 'presence evaluation failed'));
  });

  return {
    engine,
    async stop() {
      offPresence?.();
      clearInterval(tick);
      await escalation.stop();
      await engine.close();
      await notifications.close();
    },
  };
}
