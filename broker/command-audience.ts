import type { Aedes, Client, Subscription } from 'aedes';
import type { Logger } from 'pino';
import { parseDeviceTopic, topicMatches } from '../core/topics.js';
import type { SubscriptionLookup } from './admission.js';
import { clientIdAllowed } from './authenticate.js';
import { principalOf } from './principal.js';

/**
 * Who would receive a command, and when a device starts listening for them.
 *
 * Aedes drops a publish that matches no subscription without a word. A command published while its
 * device has neither a connection subscribed to its commands nor a persistent session (clean
 * session = 0, MQTT 3.1.1 §3.1.2.4) would be lost yet look `sent`; the dispatcher asks `reaches`
 * first and holds the command until `onCommandSubscribe` says the device listens.
 */

/** A device subscribed (granted) to filters that cover at least one of its command topics. */
export type CommandSubscribeListener = (subscribed: { deviceId: string; filters: readonly string[] }) => void;

export interface CommandAudience {
  /**
   * Whether a publish on `topic` (a device's command topic) now reaches its device: a live
   * connection of that device subscribed to it, or a persistent session of that device (its
   * client id is the device's, authenticate.ts) with a stored QoS ≥ 1 subscription, kept while it is
   * offline. A service account's subscription to the same topic (a gateway watching) does not count.
   */
  reaches(topic: string): Promise<boolean>;
  onCommandSubscribe(listener: CommandSubscribeListener): () => void;
}

export function createCommandAudience(deps: {
  aedes: Aedes;
  live: ReadonlySet<Client>;
  persistence: () => SubscriptionLookup;
  logger: Logger;
}): CommandAudience {
  const { aedes, live, logger } = deps;
  const listeners = new Set<CommandSubscribeListener>();

  aedes.on('subscribe', (subs: Subscription[], client: Client) => {
    const principal = principalOf(client);
    if (listeners.size === 0 || principal?.kind !== 'device') return;
    // Refused filters come back with qos 128 (SUBACK failure, §3.9.3); the ACL grants a device
    // nothing wider than its own `devices/{id}/commands/#`.
    const own = `devices/${principal.deviceId}/commands/`;
    const filters = subs.filter((s) => (s.qos as number) !== 128 && s.topic.startsWith(own)).map((s) => s.topic);
    if (filters.length === 0) return;
    for (const listener of listeners) {
      try {
        listener({ deviceId: principal.deviceId, filters });
      } catch (err) {
        logger.error({ err, device: principal.deviceId }, 'command subscribe listener failed');
      }
    }
  });

  return {
    async reaches(topic) {
      const device = parseDeviceTopic(topic)?.device;
      for (const client of live) {
        const principal = principalOf(client);
        if (principal?.kind !== 'device' || principal.deviceId !== device) continue;
        const filters = Object.keys((client as Client & { subscriptions?: Record<string, unknown> }).subscriptions ?? {});
        if (filters.some((filter) => topicMatches(filter, topic))) return true;
      }
      if (device === undefined) return false;
      const stored = await deps.persistence().subscriptionsByTopic(topic);
      return stored.some((s) => s.qos > 0 && clientIdAllowed(device, s.clientId));
    },
    onCommandSubscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
