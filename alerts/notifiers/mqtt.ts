import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { NotificationEvent, Notifier } from './contract.js';
import { createNotifierMetrics } from './metrics.js';
import { incidentEventToJson } from './payload.js';

/**
 * Incident events on MQTT, `anju/alerts/{site}/incident/{hazard}` (under DESIGN §3's
 * `anju/alerts/`, so the service accounts allowed there get them), QoS 1, not retained: a service
 * account subscribed to `anju/alerts/#` (a BMS, a fire-panel gateway, a bridge) gets each event once
 * per session; retaining would replay a stale incident to every new subscriber.
 *
 * One message per change of an incident (opened, an alarm joining or changing, a level or severity
 * up, ack, assign, comment, escalation, clear) and its reminders, each carrying the incident with
 * its alarm ids and the alarm that caused the change — not one message per alarm: a kitchen fire
 * is one incident, whatever its three detectors repeat. A machine feed like SSE, so it carries
 * ack / assign / comment too, letting a subscriber keep its own view in step.
 *
 * The broker is not imported (alerts/ may import only core and storage): the composition root passes
 * a publish function shaped like Aedes' own, e.g. `(packet, done) => broker.publish(packet).then(() => done(null), done)`.
 */

export interface AlertPublishPacket {
  readonly cmd: 'publish';
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 1;
  readonly retain: false;
  readonly dup: false;
}

/** `event` is what the packet carries: in a cluster, a stored event and a reminder take different ways (cli/alerts.ts). */
export type AlertPublish = (packet: AlertPublishPacket, done: (error?: Error | null) => void, event: NotificationEvent) => void;

export interface MqttNotifierConfig {
  /** Default `anju/alerts`. */
  readonly topicPrefix?: string;
}

export interface MqttNotifierDeps {
  publish: AlertPublish;
  logger: Logger;
  metrics: Registry;
}

export function alertTopic(prefix: string, e: NotificationEvent): string {
  return `${prefix}/${e.incident.site}/incident/${e.incident.hazard}`;
}

export function createMqttNotifier(config: MqttNotifierConfig, deps: MqttNotifierDeps): Notifier {
  const prefix = config.topicPrefix ?? 'anju/alerts';
  const log = deps.logger.child({ notifier: 'mqtt' });
  const metrics = createNotifierMetrics(deps.metrics);
  const pending = new Set<Promise<void>>();
  let closed = false;

  return {
    name: 'mqtt',
    notify(e) {
      if (closed) {
        metrics.count('mqtt', 'dropped');
        return;
      }
      const packet: AlertPublishPacket = {
        cmd: 'publish', topic: alertTopic(prefix, e), payload: Buffer.from(JSON.stringify(incidentEventToJson(e))), qos: 1, retain: false, dup: false,
      };
      const done = new Promise<void>((resolve) => {
        try {
          deps.publish(packet, (err) => {
            if (err) {
              metrics.count('mqtt', 'failed');
              log.error({ err, topic: packet.topic, seq: e.seq }, 'alarm event could not be published on MQTT');
            } else {
              metrics.count('mqtt', 'sent');
            }
            resolve();
          }, e);
        } catch (err) {
          metrics.count('mqtt', 'failed');
          log.error({ err, topic: packet.topic, seq: e.seq }, 'alarm event could not be published on MQTT');
          resolve();
        }
      });
      pending.add(done);
      void done.then(() => pending.delete(done));
    },
    async idle() {
      await Promise.all([...pending]);
    },
    async close() {
      closed = true;
      await Promise.all([...pending]);
    },
  };
}
