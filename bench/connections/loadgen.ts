/**
 * Child process of bench/connections: holds the simulated devices' MQTT connections, so their CPU
 * and memory stay out of the broker under test. Each `add` opens one more fleet (devices-sim's
 * createFleet, the same client `anju sim` uses) whose devices only connect and keep alive: their
 * first reading is due a day later, so what the broker sees is CONNECTs, a retained `online` per
 * device, then PINGREQs. Talks to the parent over IPC.
 */
import pino from 'pino';
import type { Device } from '../../core/index.js';
import { createFleet, type Fleet } from '../../devices-sim/index.js';

export type LoadgenRequest =
  | { type: 'add'; url: string; keepaliveS: number; maxPendingConnects: number; devices: Array<{ device: Device; secret: string }> }
  | { type: 'stats' }
  | { type: 'stop' };

export type LoadgenReply =
  | { type: 'stats'; connected: number; devices: number; errors: number; reconnects: number; rssMiB: number }
  | { type: 'stopped' }
  | { type: 'error'; message: string };

const fleets: Fleet[] = [];
const logger = pino({ level: 'silent' });
const DAY = 86_400_000;
const send = (m: LoadgenReply) => process.send?.(m);

function stats(): LoadgenReply {
  const all = fleets.map((f) => f.stats());
  const sum = (k: 'connected' | 'devices' | 'errors' | 'reconnects') => all.reduce((s, x) => s + x[k], 0);
  return { type: 'stats', connected: sum('connected'), devices: sum('devices'), errors: sum('errors'), reconnects: sum('reconnects'), rssMiB: process.memoryUsage.rss() / 2 ** 20 };
}

process.on('message', (m: LoadgenRequest) => {
  if (m.type === 'add') {
    const fleet = createFleet(
      {
        brokerUrl: m.url, qos: 1, intervalMs: DAY, seed: 1, reconnectMinMs: 1_000, reconnectMaxMs: 10_000,
        // No artificial spread: the gate alone paces CONNECTs, so the connect rate is the broker's.
        connectSpreadMs: 0, maxPendingConnects: m.maxPendingConnects, connectTimeoutMs: 60_000, keepaliveS: m.keepaliveS, jitter: 0,
      },
      { devices: m.devices, logger },
    );
    fleets.push(fleet);
    fleet.start().catch((err: Error) => send({ type: 'error', message: err.message }));
  } else if (m.type === 'stats') {
    send(stats());
  } else if (m.type === 'stop') {
    void Promise.all(fleets.map((f) => f.stop())).then(() => send({ type: 'stopped' }));
  }
});

// The parent went away (killed or interrupted): do not linger holding thousands of sockets.
process.once('disconnect', () => process.exit(1));
