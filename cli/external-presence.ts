import mqtt from 'mqtt';
import type { Logger } from 'pino';
import { parseDeviceTopic, topics, type PresenceCause } from '../core/index.js';

/**
 * Presence when ingest consumes from an external broker (the `hub` role): the devices' status
 * topic, `devices/{id}/status`. Such a broker says nothing about how a connection ended; what it
 * publishes there is the device's Will (`offline`, MQTT 3.1.1 §3.1.2.5: published only when the
 * connection ends without a DISCONNECT) and the device's own `online` — so `offline` is read as a
 * lost connection. Devices that publish `offline` themselves before a clean disconnect look lost
 * too: register them `periodic`, or have them leave that to their Will.
 *
 * Its own clean-session connection with the ingest account (which may subscribe to
 * `devices/+/status`): presence is state, and the retained message each device topic holds gives
 * the current one on every (re)subscribe. Never blocks start-up: it connects and retries on its own.
 */
export interface ExternalPresenceConfig {
  readonly url: string;
  readonly username: string;
  readonly password?: string;
  readonly clientId: string;
}

export type PresenceSink = (deviceId: string, status: 'online' | 'offline', ts: number, cause: PresenceCause) => Promise<void>;

export async function startExternalPresence(
  config: ExternalPresenceConfig,
  deps: { onPresence: PresenceSink; logger: Logger; clock?: () => number },
): Promise<() => Promise<void>> {
  const clock = deps.clock ?? Date.now;
  const log = deps.logger.child({ part: 'presence', url: config.url });
  const client = mqtt.connect(config.url, {
    protocolVersion: 4, clientId: config.clientId, username: config.username, password: config.password,
    clean: true, reconnectPeriod: 2_000, connectTimeout: 10_000,
  });
  client.on('connect', () => {
    client.subscribe(topics.allStatus, { qos: 1 }, (err, granted) => {
      if (err || granted?.some((g) => g.qos === 128)) log.warn({ err: err?.message }, `the broker refused ${topics.allStatus}: device connection losses will be seen only as missed reports`);
    });
  });
  client.on('error', (err) => log.warn({ err: err.message }, 'presence connection error; retrying'));
  client.on('message', (topic, payload) => {
    const parsed = parseDeviceTopic(topic);
    const said = payload.toString('utf8').trim().toLowerCase();
    if (parsed?.channel !== 'status' || (said !== 'online' && said !== 'offline')) return;
    deps.onPresence(parsed.device, said, clock(), said === 'online' ? 'connected' : 'lost')
      .catch((err: Error) => log.error({ err, device: parsed.device }, 'presence evaluation failed'));
  });
  return async () => {
    await client.endAsync(true);
  };
}
