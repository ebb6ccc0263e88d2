import { createServer } from 'node:http';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createMqttNotifier, createWebhookNotifier, webhookFormats } from '../../alerts/notifiers/index.js';
import { createBroker, serviceAccountFromPassword, staticServiceAccounts } from '../../broker/index.js';
import { notifierContract, type NotifierHarness } from './notifier.contract.js';

const logger = pino({ level: 'silent' });

notifierContract('mqtt (embedded broker, subscribed service account)', { label: 'mqtt', deliversEveryChange: true, receiver: 'never_refuses' }, async (): Promise<NotifierHarness> => {
  const account = await serviceAccountFromPassword('bms', 'bms-pw', { subscribe: ['anju/alerts/#'] });
  const broker = await createBroker(
    { host: '127.0.0.1', port: 0, wsPort: 0, maxFrameBytes: 64 * 1024, connectRatePerMinute: 1000, drainTimeoutMs: 5000, ingest: { via: 'interceptor', topics: [] } },
    { policy: { authenticateDevice: async () => false, serviceAccount: staticServiceAccounts([account]) }, logger, metrics: new Registry() },
  );
  await broker.open();
  const received: string[] = [];
  // A persistent session (clean: false), as a BMS gateway keeps one: the broker queues for it while it is away.
  const connect = async () => {
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.tcpPort}`, {
      protocolVersion: 4, reconnectPeriod: 0, username: 'bms', password: 'bms-pw', clientId: 'bms:contract', clean: false,
    });
    c.on('message', (_topic, payload) => {
      const m = JSON.parse(payload.toString()) as { seq: number; time: string; type: string; incident: { id: string } };
      received.push(m.type === 'reminder' ? `${m.incident.id}:reminder:${Date.parse(m.time)}` : `${m.incident.id}:${m.seq}`);
    });
    return c;
  };
  let client = await connect();
  await client.subscribeAsync('anju/alerts/#', { qos: 1 });
  const metrics = new Registry();
  const notifier = createMqttNotifier({}, { publish: (packet, done) => void broker.publish(packet).then(() => done(null), done), logger, metrics });
  return {
    notifier, metrics, received: () => received,
    async away() {
      await client.endAsync();
    },
    async back() {
      client = await connect();
    },
    async cleanup() {
      await notifier.close();
      await client.endAsync();
      await broker.close();
    },
  };
});

for (const format of webhookFormats) {
  notifierContract(`webhook, ${format} (local HTTP server)`, { label: 'webhook', deliversEveryChange: false, receiver: 'refuses' }, async (): Promise<NotifierHarness> => {
    const received: string[] = [];
    let refusing = 0;
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (refusing > 0) {
          refusing -= 1;
          res.writeHead(503).end('{}');
          return;
        }
        received.push(String(req.headers['idempotency-key']));
        // The robots answer 200 with errcode 0 when they take a message.
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"errcode":0,"errmsg":"ok"}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
    const metrics = new Registry();
    const notifier = createWebhookNotifier(
      { targets: [{ url, format, ...(format === 'dingtalk' ? { dingtalkSecret: 'SECtest' } : {}) }], maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 20 },
      { logger, metrics },
    );
    return {
      notifier, metrics, received: () => received,
      refuse: (n) => { refusing = n; },
      async cleanup() {
        await notifier.close();
        await new Promise((r) => server.close(r));
      },
    };
  });
}
