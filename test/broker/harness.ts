import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { hashSecret, verifySecret } from '../../core/secrets.js';
import { createBroker, serviceAccountFromPassword, staticServiceAccounts } from '../../broker/index.js';
import type { AnjuBroker, BrokerConfig, BrokerDeps, ServiceAccount } from '../../broker/index.js';

/** Device ids → secrets known to the in-test registry. */
export const DEVICE_SECRETS: Readonly<Record<string, string>> = { d1: 'secret-one', d2: 'secret-two', d3: 'secret-three', 'd1-x': 'secret-dash' };

export const INGEST = { username: 'ingest', password: 'ingest-pw' } as const;
export const OPS = { username: 'ops', password: 'ops-pw' } as const;
/** A building-management gateway: reads every device, commands them, but never reboots one and never sees d2. */
export const BMS = { username: 'bms', password: 'bms-pw' } as const;

let fixtures: Promise<{ hashes: Map<string, string>; accounts: ServiceAccount[] }> | undefined;

/** Hashes once per test file: scrypt costs ~30 ms a go. */
function loadFixtures() {
  fixtures ??= (async () => {
    const hashes = new Map<string, string>();
    for (const [id, secret] of Object.entries(DEVICE_SECRETS)) hashes.set(id, await hashSecret(secret));
    const accounts = [
      await serviceAccountFromPassword(INGEST.username, INGEST.password, {
        publish: ['anju/#'],
        subscribe: ['devices/+/telemetry', 'devices/+/status'],
      }),
      await serviceAccountFromPassword(OPS.username, OPS.password, { subscribe: ['$SYS/#', 'devices/#'] }),
      await serviceAccountFromPassword(BMS.username, BMS.password, {
        publish: ['devices/+/commands/#'],
        subscribe: ['devices/#'],
        deny: ['devices/+/commands/reboot', 'devices/d2/#'],
      }),
    ];
    return { hashes, accounts };
  })();
  return fixtures;
}

export interface TestBroker {
  broker: AnjuBroker;
  registry: Registry;
  url: string;
  wsUrl: string;
  /** Connects a real mqtt.js 3.1.1 client; rejects on a refused CONNACK or a closed socket. */
  connect(opts: IClientOptions, transport?: 'tcp' | 'ws'): Promise<MqttClient>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

/**
 * A broker on ephemeral ports, open. Unless `ingest: false`, a pass-through interceptor stands in
 * for ingest (every telemetry message taken at once), so tests about auth or the ACL see telemetry
 * acknowledged and forwarded as with a working ingest; tests about admission install their own.
 */
export async function startBroker(
  overrides: Partial<BrokerConfig> = {},
  options: {
    ingest?: boolean;
    backplane?: BrokerDeps['backplane'];
    /** Replaces the check of DEVICE_SECRETS (every well-formed id then counts as registered). */
    authenticateDevice?: (id: string, secret: string) => Promise<boolean>;
  } = {},
): Promise<TestBroker> {
  const { hashes, accounts } = await loadFixtures();
  const custom = options.authenticateDevice;
  const registry = new Registry();
  const broker = await createBroker(
    { host: '127.0.0.1', port: 0, wsPort: 0, maxFrameBytes: 64 * 1024, connectRatePerMinute: 1000, drainTimeoutMs: 5000, ...overrides },
    {
      policy: {
        async authenticateDevice(id, secret) {
          if (custom) return custom(id, secret);
          const hash = hashes.get(id);
          return hash !== undefined && verifySecret(secret, hash);
        },
        deviceRegistered: (id) => custom !== undefined || hashes.has(id),
        serviceAccount: staticServiceAccounts(accounts),
      },
      logger: pino({ level: 'silent' }),
      metrics: registry,
      ...(options.backplane ? { backplane: options.backplane } : {}),
    },
  );
  if (options.ingest !== false) broker.interceptPublish(['#'], async () => undefined);
  await broker.open();
  const url = `mqtt://127.0.0.1:${broker.tcpPort}`;
  const wsUrl = `ws://127.0.0.1:${broker.wsPort}`;
  const clients = new Set<MqttClient>();
  return {
    broker,
    registry,
    url,
    wsUrl,
    async connect(opts, transport = 'tcp') {
      const client = await mqtt.connectAsync(
        transport === 'tcp' ? url : wsUrl,
        { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 3000, ...opts },
        false,
      );
      clients.add(client);
      return client;
    },
    async metric(name, labels = {}) {
      const metric = await registry.getSingleMetric(name)?.get();
      const match = metric?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
      return match?.value ?? 0;
    },
    async close() {
      await Promise.all([...clients].map((c) => c.endAsync(true)));
      await broker.close();
    },
  };
}

export function device(id: string, extra: IClientOptions = {}): IClientOptions {
  return { clientId: id, username: id, password: DEVICE_SECRETS[id] ?? 'nope', ...extra };
}

/** Resolves with the next message on `topic` (matched exactly) received by `client`. */
export function nextMessage(client: MqttClient, topic: string, timeoutMs = 3000): Promise<{ payload: string; retain: boolean }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`no message on ${topic} within ${timeoutMs} ms`));
    }, timeoutMs);
    function onMessage(t: string, payload: Buffer, packet: { retain: boolean }) {
      if (t !== topic) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve({ payload: payload.toString(), retain: packet.retain });
    }
    client.on('message', onMessage);
  });
}

/** Resolves when the broker has closed `client`'s connection. */
export async function closedByBroker(client: MqttClient, timeoutMs = 3000): Promise<void> {
  if (!client.connected) return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Error code of a refused connection (CONNACK return code), or the message. */
export async function refusal(promise: Promise<unknown>): Promise<number | string> {
  try {
    await promise;
  } catch (err) {
    const e = err as { code?: number; message: string };
    return typeof e.code === 'number' ? e.code : e.message;
  }
  throw new Error('connection was accepted');
}

/** SUBACK return codes for `filters`, in order (mqtt.js rejects when any is 0x80). */
export async function granted(client: MqttClient, filters: string | string[], qos: 0 | 1 = 1): Promise<number[]> {
  try {
    return (await client.subscribeAsync(filters, { qos })).map((g) => g.qos);
  } catch (err) {
    const packet = (err as { packet?: { granted?: number[] } }).packet;
    if (packet?.granted) return packet.granted;
    throw err;
  }
}
