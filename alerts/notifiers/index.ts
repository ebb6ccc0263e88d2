import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { IncidentEvent } from '../../storage/incidents/contract.js';
import type { Notifier, ReminderEvent } from './contract.js';
import { createMqttNotifier, type AlertPublish, type MqttNotifierConfig } from './mqtt.js';
import type { PlaceNames } from './text-zh.js';
import { createWebhookNotifier, type WebhookNotifierConfig } from './webhook.js';

export * from './contract.js';
export {
  alarmSummaryToJson, alarmToJson, eventToJson, incidentEventToJson, incidentSummaryToJson, incidentToJson, timelineToJson,
  type AlarmEventJson, type AlarmJson, type AlarmWithTimelineJson, type IncidentEventJson, type IncidentJson, type IncidentWithTimelineJson,
    type TimelineEntryJson,
} from './payload.js';
export { alarmTypeZh, formatTime, pageTextZh, severityZh, type PlaceNames } from './text-zh.js';
export { alertTopic, createMqttNotifier, type AlertPublish, type AlertPublishPacket, type MqttNotifierConfig } from './mqtt.js';
export { createWebhookNotifier, type WebhookNotifierConfig, type WebhookNotifierDeps, type WebhookTarget } from './webhook.js';
export { anjuSignature, dingtalkSignedUrl, webhookFormats, type WebhookFormat } from './webhook-format.js';

/** Everything a notifier factory may be given; each takes what it needs. */
export interface NotifierDeps {
  logger: Logger;
  metrics: Registry;
  /** For `mqtt`: publishes on the embedded broker. */
  publish?: AlertPublish;
  names?: PlaceNames;
  fetch?: typeof fetch;
}

/** Notifier name → factory (DESIGN §2: explicit name → factory maps). SSE lives in the API. */
export const notifierFactories = {
  mqtt: (config: MqttNotifierConfig, deps: NotifierDeps): Notifier => {
    if (!deps.publish) throw new Error('the mqtt notifier needs a publish function (the embedded broker)');
    return createMqttNotifier(config, { publish: deps.publish, logger: deps.logger, metrics: deps.metrics });
  },
  webhook: (config: WebhookNotifierConfig, deps: NotifierDeps): Notifier => createWebhookNotifier(config, deps),
} as const;

export type NotifierName = keyof typeof notifierFactories;

export interface Notifications {
  /** For the escalation scheduler: announce an incident again. */
  remind(event: ReminderEvent): void;
  idle(): Promise<void>;
  /** Unsubscribes from the engine and closes every notifier. */
  close(): Promise<void>;
}

/**
 * Connects notifiers to the incidents: every stored incident event goes to each of them (each
 * decides what it carries), synchronously in seq order, and a throwing notifier cannot stop the others.
 */
export function createNotifications(
  config: { notifiers: readonly Notifier[] },
  deps: { incidents: { subscribe(listener: (e: IncidentEvent) => void): () => void }; logger: Logger },
): Notifications {
  const fanOut = (e: IncidentEvent | ReminderEvent) => {
    for (const n of config.notifiers) {
      try {
        n.notify(e);
      } catch (err) {
        deps.logger.error({ err, notifier: n.name, seq: e.seq }, 'notifier failed to take an alarm event');
      }
    }
  };
  const unsubscribe = deps.incidents.subscribe(fanOut);
  return {
    remind: fanOut,
    async idle() {
      await Promise.all(config.notifiers.map((n) => n.idle()));
    },
    async close() {
      unsubscribe();
      await Promise.all(config.notifiers.map((n) => n.close()));
    },
  };
}
