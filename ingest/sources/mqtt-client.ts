import mqtt from 'mqtt';
import type { Logger } from 'pino';
import { topics } from '../../core/index.js';
import type { IngestSource, MessageSink } from '../contracts.js';

export interface MqttClientSourceConfig {
  readonly url: string;
  readonly username: string;
  readonly password?: string;
  /** Stable, so the broker keeps our persistent session across restarts. */
  readonly clientId: string;
  /** Subscription filters: the topic mapper's `filters` (default `devices/+/telemetry`). */
  readonly topics?: readonly string[];
  /**
   * Shared-subscription group: several ingest processes subscribed as `$share/<group>/<filter>`
   * split the stream, each message going to one of them (MQTT 5 §4.8.2; Mosquitto ≥ 1.6 and EMQX
   * also honour `$share` from MQTT 3.1.1 clients). Each process needs its own client id.
   */
  readonly shareGroup?: string;
}

/** MQTT 5 §4.8.2: ShareName is at least one character and contains no `/`, `+` or `#`. */
export function isValidShareGroup(group: string): boolean {
  return group.length >= 1 && group.length <= 64 && !/[/+#]/.test(group) && !group.includes('\u0000');
}

/**
 * The same pipeline against an external broker (Mosquitto, EMQX, a separate `anju broker`).
 * A persistent session (`clean: false`) with QoS 1 subscriptions means the broker queues what
 * arrives while ingest restarts (MQTT 3.1.1 §3.1.2.4), and the PUBACK for each message is sent
 * only after the pipeline handled it (mqtt.js `handleMessage`), so nothing is acknowledged that
 * ingest has not taken. With a share group, the broker hands each message to one member of the
 * group; a member's unacknowledged messages go back to its session (Mosquitto redelivers them when
 * that member reconnects with the same client id).
 */
export function createMqttClientSource(config: MqttClientSourceConfig, deps: { logger: Logger; clock?: () => number }): IngestSource {
  if (config.shareGroup !== undefined && !isValidShareGroup(config.shareGroup)) {
    throw new Error(`shared-subscription group ${JSON.stringify(config.shareGroup)} must be 1–64 characters without / + #`);
  }
  const filters = (config.topics ?? [topics.allTelemetry]).map((f) => (config.shareGroup ? `$share/${config.shareGroup}/${f}` : f));
  const clock = deps.clock ?? Date.now;
  const name = `mqtt:${new URL(config.url).host}`;
  let client: mqtt.MqttClient | undefined;

  return {
    name,
    async start(sink: MessageSink) {
      const c = mqtt.connect(config.url, {
        protocolVersion: 4,
        clientId: config.clientId,
        username: config.username,
        password: config.password,
        clean: false,
        reconnectPeriod: 2_000,
        connectTimeout: 10_000,
        manualConnect: true,
      });
      c.handleMessage = (packet, done) => {
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        sink({ topic: packet.topic, payload, receivedAt: clock(), source: name }).then(
          () => done(),
          (err: Error) => {
            // Not taken (spool full): no PUBACK. MQTT 3.1.1 §4.4 redelivers unacknowledged QoS 1
            // messages of a persistent session only on reconnect, so drop the connection; mqtt.js
            // reconnects after reconnectPeriod and the broker sends the message again.
            deps.logger.warn({ err: err.message, topic: packet.topic }, 'ingest could not take a message; reconnecting so the broker redelivers it');
            c.stream?.destroy();
            done(err);
          },
        );
      };
      c.on('error', (err) => deps.logger.warn({ err: err.message, url: config.url }, 'ingest MQTT source error; reconnecting'));
      c.on('offline', () => deps.logger.warn({ url: config.url }, 'ingest MQTT source offline; reconnecting'));
      client = c;
      await new Promise<void>((resolve, reject) => {
        const onConnect = (connack: mqtt.IConnackPacket) => {
          c.off('error', onError);
          // A resumed session already holds our subscriptions; subscribing again is harmless.
          if (connack.sessionPresent) deps.logger.info({ url: config.url }, 'resumed persistent ingest session');
          c.subscribe(filters as string[], { qos: 1 }, (err, granted) => {
            if (err) return reject(err);
            const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
            if (refused.length > 0) return reject(new Error(`broker refused the ingest subscriptions ${refused.join(', ')}: check the service account's ACL`));
            resolve();
          });
        };
        const onError = (err: Error) => {
          c.off('connect', onConnect);
          c.end(true);
          reject(new Error(`cannot connect the ingest source to ${config.url}: ${err.message}`));
        };
        c.once('connect', onConnect);
        c.once('error', onError);
        c.connect();
      });
    },
    async stop() {
      const c = client;
      client = undefined;
      if (c) await c.endAsync();
    },
  };
}
