import mqtt from 'mqtt';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Alarm } from '../../alerts/contracts.js';
import type { Incident, IncidentEvent } from '../../storage/incidents/contract.js';
import { createMqttNotifier, type Notifier } from '../../alerts/notifiers/index.js';
import { createBroker, serviceAccountFromPassword, staticServiceAccounts, type AnjuBroker } from '../../broker/index.js';

/** The MQTT notifier through the real Aedes broker to a real subscribed service account. */

const T = Date.UTC(2025, 2, 3, 0, 0, 0);
const alarm: Alarm = {
  id: 'a-9', type: 'bin_fill', originator: { kind: 'device', id: 'bin-7' }, site: 'chundu', building: 'b1', severity: 'major',
  status: 'active_unack', startTs: T, lastUpdateTs: T, escalationLevel: 0, count: 1, details: { fill: 93 }, timeline: [],
};
const incident: Incident = {
  id: 'i-9', hazard: 'waste', site: 'chundu', building: 'b1', level: 'alarm', severity: 'major', status: 'active_unack', startTs: T, lastUpdateTs: T,
  escalationLevel: 0, timeline: [],
  members: [{ id: 'a-9', type: 'bin_fill', originator: alarm.originator, site: 'chundu', building: 'b1', severity: 'major', status: 'active_unack', startTs: T, details: { fill: 93 } }],
};

describe('mqtt notifier', () => {
  let broker: AnjuBroker;
  let notifier: Notifier;
  const metrics = new Registry();

  beforeAll(async () => {
    const account = await serviceAccountFromPassword('alerts-bms', 'bms-pw', { subscribe: ['anju/alerts/#'] });
    broker = await createBroker(
      // No telemetry here: a broker with no ingest topics is ready as soon as it is open.
      { host: '127.0.0.1', port: 0, wsPort: 0, maxFrameBytes: 64 * 1024, connectRatePerMinute: 1000, drainTimeoutMs: 5000, ingest: { via: 'interceptor', topics: [] } },
      { policy: { authenticateDevice: async () => false, serviceAccount: staticServiceAccounts([account]) }, logger: pino({ level: 'silent' }), metrics: new Registry() },
    );
    await broker.open();
    notifier = createMqttNotifier({}, { publish: (packet, done) => void broker.publish(packet).then(() => done(null), done), logger: pino({ level: 'silent' }), metrics });
  });
  afterAll(async () => {
    await notifier.close();
    await broker.close();
  });

  it('publishes one message per incident change on anju/alerts/{site}/incident/{hazard}, QoS 1, not retained', async () => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.tcpPort}`, {
      protocolVersion: 4, reconnectPeriod: 0, username: 'alerts-bms', password: 'bms-pw', clientId: 'alerts-bms:1',
    });
    try {
      const got: Array<{ topic: string; payload: Record<string, unknown>; qos: number; retain: boolean }> = [];
      client.on('message', (topic, payload, packet) => got.push({ topic, payload: JSON.parse(payload.toString()) as Record<string, unknown>, qos: packet.qos, retain: packet.retain }));
      const granted = await client.subscribeAsync('anju/alerts/#', { qos: 1 });
      expect(granted[0]?.qos).toBe(1);

      const ev = (seq: number, type: IncidentEvent['type']): IncidentEvent => ({ seq, ts: T + seq, type, incident, ...(type === 'raised' ? { alarm } : {}) });
      notifier.notify(ev(1, 'raised'));
      notifier.notify(ev(2, 'acked'));
      await notifier.idle();
      await vi.waitFor(() => expect(got).toHaveLength(2));

      expect(got.map((g) => [g.topic, g.payload.type, g.qos, g.retain])).toEqual([
        ['anju/alerts/chundu/incident/waste', 'raised', 1, false],
        ['anju/alerts/chundu/incident/waste', 'acked', 1, false],
      ]);
      expect(got[0]?.payload).toMatchObject({
        seq: 1, alarm: { id: 'a-9', details: { fill: 93 } }, incident: { id: 'i-9', hazard: 'waste', severity: 'major', alarmIds: ['a-9'] },
      });
      const sent = (await metrics.getSingleMetric('anju_notifications_total')?.get())?.values.find((v) => v.labels.notifier === 'mqtt' && v.labels.outcome === 'sent');
      expect(sent?.value).toBe(2);
    } finally {
      await client.endAsync();
    }
  });
});
