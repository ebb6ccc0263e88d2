import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { isPaging, type NotificationEvent, type Notifier } from './contract.js';
import { createNotifierMetrics } from './metrics.js';
import { eventToJson } from './payload.js';

/**
 * Alarm events on MQTT, `anju/alerts/{site}/{type}` (DESIGN §3), QoS 1, not retained: a service
 * account subscribed to `anju/alerts/#` (a BMS, a bridge to another platform) gets each event once
 * per session; retaining would replay a stale alarm to every new subscriber.
 *
 * Unlike the webhooks (which page people), this is a machine feed like SSE: besides the paging
 * events it carries ack, assign, comment and clear, so a subscriber can keep its own view of the
 * alarms in step. Repeats that change nothing (`updated` without a severity upgrade) are left out:
 * a chatty sensor would otherwise flood it.
 *
 * The broker is not imported (alerts/ may import only core and storage): the composition root passes
 * a publish function shaped like Aedes' own, e.g. `(packet, done) => broker.aedes.publish(packet, done)`.
 */

export interface AlertPublishPacket {
  readonly cmd: 'publish';
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 1;
  readonly retain: false;
  readonly dup: false;
}

export type AlertPublish = (packet: AlertPublishPacket, done: (error?: Error | null) => void) => void;

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
  return `${prefix}/${e.alarm.site}/${e.alarm.type}`;
}

const carried = (e: NotificationEvent) => isPaging(e) || e.type === 'acked' || e.type === 'assigned' || e.type === 'commented';

export function createMqttNotifier(config: MqttNotifierConfig, deps: MqttNotifierDeps): Notifier {
  const prefix = config.topicPrefix ?? 'anju/alerts';
  const log = deps.logger.child({ notifier: 'mqtt' });
  const metrics = createNotifierMetrics(deps.metrics);
  const pending = new Set<Promise<void>>();
  let closed = false;

  return {
    name: 'mqtt',
    notify(e) {
      if (!carried(e)) return;
      if (closed) {
        metrics.count('mqtt', 'dropped');
        return;
      }
      const packet: AlertPublishPacket = {
        cmd: 'publish', topic: alertTopic(prefix, e), payload: Buffer.from(JSON.stringify(eventToJson(e))), qos: 1, retain: false, dup: false,
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
          });
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
