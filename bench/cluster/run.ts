/**
 * `npm run bench:cluster`: what the Redis broker tier (cluster mode, broker/backplane.ts) costs per
 * message, against the same broker with Aedes's in-memory emitter and persistence, in the same run.
 *
 * Devices (MQTT.js, QoS 1, `window` in flight, in a child process) each send N readings to:
 *   - memory: one broker, in-memory emitter and persistence (a single node);
 *   - redis:  one broker on a real Debian redis-server (every publish goes through Redis pub/sub);
 *   - redis, 2 nodes: devices on node A, and on node B a subscriber to `devices/+/telemetry` (QoS 0):
 *     every reading crosses Redis to reach it; counted there.
 * Each broker has the broker's real authentication, ACL and admission, with a pass-through
 * interceptor in place of ingest (no store: this measures the broker tier only).
 * msg/s = PUBACKs / (first publish → last PUBACK); CPU µs/msg = this process's CPU (the brokers;
 * the publishers are another process) over the run / PUBACKs. Redis's own CPU is not included.
 * Options: --devices 50 --messages 1000 --window 10 --rounds 1
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createBroker, createRedisBackplane, serviceAccountFromPassword, staticServiceAccounts, type AnjuBroker, type BrokerBackplane } from '../../broker/index.js';
import { hashSecret, verifySecret } from '../../core/secrets.js';
import { startRedis } from '../../test/helpers/redis.js';
import { killPublishers, runPublishers } from '../common/run-publishers.js';

const { values } = parseArgs({ options: {
  devices: { type: 'string', default: '50' }, messages: { type: 'string', default: '1000' },
  window: { type: 'string', default: '10' }, rounds: { type: 'string', default: '1' },
} });
const nDevices = Number(values.devices);
const messages = Number(values.messages);
const window = Number(values.window);
const rounds = Number(values.rounds);
const logger = pino({ level: 'warn' });
const SUB = { username: 'bench-sub', password: randomBytes(12).toString('hex') };

const devices = Array.from({ length: nDevices }, (_, i) => ({ id: `cl-${i}`, secret: randomBytes(12).toString('hex') }));
const hashes = new Map<string, string>();
for (const d of devices) hashes.set(d.id, await hashSecret(d.secret));
const accounts = [await serviceAccountFromPassword(SUB.username, SUB.password, { subscribe: ['devices/+/telemetry'] })];

async function broker(backplane?: BrokerBackplane): Promise<AnjuBroker> {
  const b = await createBroker(
    { host: '127.0.0.1', port: 0, wsPort: 0, maxFrameBytes: 256 * 1024, connectRatePerMinute: 100_000, drainTimeoutMs: 30_000 },
    {
      policy: {
        authenticateDevice: async (id, secret) => { const h = hashes.get(id); return h !== undefined && verifySecret(secret, h); },
        deviceRegistered: (id) => hashes.has(id),
        serviceAccount: staticServiceAccounts(accounts),
      },
      logger, metrics: new Registry(), ...(backplane ? { backplane } : {}),
    },
  );
  b.interceptPublish(['devices/+/telemetry'], async () => undefined);
  await b.open();
  return b;
}

interface Figures { msgPerS: number; cpuUsPerMsg: number; acked: number; delivered?: number; errors: number }

async function measure(publishTo: AnjuBroker, subscribeOn?: AnjuBroker): Promise<Figures> {
  let delivered = 0;
  const sub = subscribeOn
    ? await mqtt.connectAsync(`mqtt://127.0.0.1:${subscribeOn.tcpPort}`, { protocolVersion: 4, clientId: `${SUB.username}:1`, ...SUB, reconnectPeriod: 0 })
    : undefined;
  if (sub) {
    sub.on('message', () => { delivered++; });
    await sub.subscribeAsync('devices/+/telemetry', { qos: 0 });
    await new Promise((r) => setTimeout(r, 300)); // the subscription reaches the other node
  }
  let cpu0 = process.cpuUsage();
  const r = await runPublishers({ url: `mqtt://127.0.0.1:${publishTo.tcpPort}`, devices, seconds: 600, window, ratePerPublisher: 0, messages }, 60_000,
    () => { cpu0 = process.cpuUsage(); });
  const cpu = process.cpuUsage(cpu0);
  if (sub) {
    const deadline = Date.now() + 10_000;
    while (delivered < r.acked && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    await sub.endAsync();
  }
  const seconds = (r.lastAckAt - r.firstAt) / 1000;
  return {
    msgPerS: r.acked / seconds, cpuUsPerMsg: (cpu.user + cpu.system) / r.acked, acked: r.acked, errors: r.errors,
    ...(sub ? { delivered } : {}),
  };
}

const print = (name: string, f: Figures, base?: Figures) => {
  const ratio = base ? ` (${(f.msgPerS / base.msgPerS).toFixed(2)}× memory)` : '';
  const extra = f.delivered !== undefined ? `, ${f.delivered.toLocaleString('en')} of ${f.acked.toLocaleString('en')} delivered on node B` : '';
  console.log(`  ${name.padEnd(16)} ${Math.round(f.msgPerS).toLocaleString('en').padStart(8)} msg/s${ratio}, ${f.cpuUsPerMsg.toFixed(0)} µs CPU/msg, ${f.errors} errors${extra}`);
};

const redis = await startRedis();
process.on('SIGINT', () => { killPublishers(); void redis.cleanup().then(() => process.exit(130)); });
try {
  console.log(`bench/cluster: ${nDevices} devices × ${messages} QoS 1 messages, window ${window}; load average ${loadavg()[0]?.toFixed(2)}`);
  for (let round = 1; round <= rounds; round++) {
    console.log(`round ${round}`);
    const mem = await broker();
    const memory = await measure(mem);
    await mem.close();
    print('memory', memory);

    const bp = await createRedisBackplane({ url: redis.url }, { logger });
    const one = await broker(bp);
    const single = await measure(one);
    await one.close();
    await bp.close();
    print('redis', single, memory);

    const bpA = await createRedisBackplane({ url: redis.url }, { logger });
    const bpB = await createRedisBackplane({ url: redis.url }, { logger });
    const a = await broker(bpA);
    const b = await broker(bpB);
    const cross = await measure(a, b);
    await a.close();
    await b.close();
    await bpA.close();
    await bpB.close();
    print('redis, 2 nodes', cross, memory);
  }
} finally {
  killPublishers();
  await redis.cleanup();
}
