import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startExternalPresence } from '../../cli/external-presence.js';
import type { PresenceCause } from '../../core/index.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { requireBinary } from '../helpers/servers.js';

/**
 * Presence from an external broker (Debian's mosquitto): a device's Will on `devices/{id}/status`
 * reaches the alerts engine as a lost connection; a clean DISCONNECT publishes no Will, so nothing
 * comes; the retained status a device topic holds is read on subscribe.
 */
const bin = requireBinary('mosquitto', 'mosquitto');

describe.skipIf(bin.skip !== undefined)(`presence through an external broker${bin.skip ? ` (skipped: ${bin.skip})` : ''}`, () => {
  let broker: Mosquitto;
  beforeAll(async () => {
    broker = await startMosquitto({ 'anju-ingest': 'ingest-secret', 'dev-1': 'one', 'dev-2': 'two' });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  const device = (id: string, password: string) => mqtt.connectAsync(broker.url, {
    protocolVersion: 4, clientId: id, username: id, password, reconnectPeriod: 0, keepalive: 30,
    will: { topic: `devices/${id}/status`, payload: Buffer.from('offline'), qos: 1, retain: true },
  });

  /** The retained status a new subscriber to the device's topic gets now (undefined: none yet). */
  const retainedStatus = async (id: string): Promise<string | undefined> => {
    const reader = await mqtt.connectAsync(broker.url, {
      protocolVersion: 4, clientId: `reader-${Math.random().toString(36).slice(2, 8)}`, username: 'anju-ingest', password: 'ingest-secret', reconnectPeriod: 0,
    });
    try {
      const got = new Promise<string>((resolve) => reader.on('message', (_t, payload, packet) => { if (packet.retain) resolve(payload.toString()); }));
      await reader.subscribeAsync(`devices/${id}/status`, { qos: 1 });
      // A retained message is sent before the SUBACK's round trip ends; a second round trip bounds the wait.
      await reader.unsubscribeAsync(`devices/${id}/status`);
      return await Promise.race([got, Promise.resolve(undefined)]);
    } finally {
      await reader.endAsync();
    }
  };

  it('reads a retained status on subscribe, a Will as a lost connection, and nothing for a clean disconnect', async () => {
    // dev-2 dropped off before the hub started: its Will is retained.
    const d2 = await device('dev-2', 'two');
    await d2.publishAsync('devices/dev-2/status', 'online', { qos: 1, retain: true });
    d2.stream.destroy();
    await vi.waitFor(async () => expect(await retainedStatus('dev-2')).toBe('offline'));

    const seen: Array<[string, string, PresenceCause]> = [];
    const stop = await startExternalPresence(
      { url: broker.url, username: 'anju-ingest', password: 'ingest-secret', clientId: 'hub-presence-test' },
      { onPresence: async (id, status, _ts, cause) => { seen.push([id, status, cause]); }, logger: pino({ level: 'silent' }) },
    );
    try {
      await vi.waitFor(() => expect(seen).toContainEqual(['dev-2', 'offline', 'lost']));

      const d1 = await device('dev-1', 'one');
      await d1.publishAsync('devices/dev-1/status', 'online', { qos: 1, retain: true });
      await vi.waitFor(() => expect(seen).toContainEqual(['dev-1', 'online', 'connected']));
      await d1.endAsync(); // DISCONNECT: the broker discards the Will (MQTT 3.1.1 §3.14)
      const again = await device('dev-1', 'one');
      again.stream.destroy(); // dropped: the broker publishes the Will
      await vi.waitFor(() => expect(seen.filter(([id]) => id === 'dev-1')).toEqual([['dev-1', 'online', 'connected'], ['dev-1', 'offline', 'lost']]));
    } finally {
      await stop();
    }
  });
});
