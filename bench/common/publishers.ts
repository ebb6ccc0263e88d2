/**
 * Child process: N MQTT smoke detectors at QoS 1, each keeping `window` messages in flight (closed
 * loop), for `seconds`, at an optional fixed rate. Running them in their own process keeps their CPU
 * off the broker's event loop, as real devices would. Reports acked counts to the parent over IPC.
 *
 * With `triggerEvery` (bench/alerts), every `triggerEvery`-th message of a device is a fire reading
 * (smoke 0.5 dB/m and the detector's own `alarm: true`: the smoke rule raises a critical alarm); the
 * device's next reading is normal again (smoke 0.01 < the rule's clearBelow), which clears it, so
 * every trigger raises exactly one new alarm, matched back by (device, ts).
 */
import mqtt from 'mqtt';
import { pinProcess } from './cpu-affinity.js';
import { niceAll } from './nice.js';
import type { PublishersJob } from './run-publishers.js';
import { Latencies, percentile } from './stats.js';


async function run(job: PublishersJob): Promise<void> {
  // Before the clients start: threads started later inherit the affinity and the nice value.
  if (job.cpus) pinProcess(process.pid, job.cpus);
  if (job.nice) niceAll(job.nice, 'publishers');
  // Connected 50 at a time, with a long CONNACK timeout: each CONNECT costs the broker a scrypt
  // verification, and 500 at once would take longer than MQTT.js's default 30 s on a loaded machine.
  const clients: mqtt.MqttClient[] = [];
  for (let i = 0; i < job.devices.length; i += 50) {
    clients.push(...await Promise.all(job.devices.slice(i, i + 50).map((d) => mqtt.connectAsync(job.url, {
      protocolVersion: 4, clientId: d.id, username: d.id, password: d.secret, reconnectPeriod: 0, keepalive: 60, connectTimeout: 120_000,
    }))));
  }
  send({ type: 'connected' });
  if (job.waitForGo) await new Promise<void>((resolve) => process.on('message', (m: { type?: string }) => { if (m.type === 'go') resolve(); }));
  // Count mode (`messages`): each device sends exactly that many readings, no deadline.
  // CPU from here (every client connected, the go given) to the end: the publishing itself, without
  // the process's start-up and the CONNECTs.
  const cpuAtStart = cpuMs();
  const quota = job.messages ?? 0;
  const deadline = quota > 0 ? Infinity : Date.now() + job.seconds * 1000;
  const firstAt = Date.now();
  let lastAckAt = firstAt;
  const triggerEvery = job.triggerEvery ?? 0;
  let acked = 0;
  let triggersAcked = 0;
  let errors = 0;
  /** Send → PUBACK per message, ms: how long the broker took to acknowledge (the spool's fsynced append, for Anju). */
  const ackLat = new Latencies();
  /** The same for messages sent in the first `warmupMs` (a fresh server's first writes, the JIT): reported apart. */
  const warmAckLat = new Latencies();
  const steadyFrom = firstAt + (job.warmupMs ?? 0);
  await Promise.all(clients.map(async (client, i) => {
    const id = job.devices[i]!.id;
    // Offset per device, so the fire readings of the fleet are spread out, not in lockstep.
    let n = triggerEvery > 0 ? (i * 7) % triggerEvery : 0;
    let seq = 0;
    let lastTs = 0;
    const topic = `devices/${id}/telemetry`;
    const interval = job.ratePerPublisher > 0 ? 1000 / job.ratePerPublisher : 0;
    // Count mode: the device's readings are exactly 1 ms apart from one start, so each is distinct in the store (device, ts).
    const t0 = firstAt - (quota > 0 ? quota : 0);
    let issued = 0;
    // At a fixed rate, lane j of publisher i starts (j + i / N) intervals in: the fleet's sends are
    // spread evenly over each period, as independent devices' are, not fired by all lanes at once
    // (500 lanes in lockstep made a burst of 500 messages per period, and its queue the latency).
    const lane = async (j: number): Promise<void> => {
      let next = firstAt + (j + i / clients.length) * interval - interval * job.window;
      while (Date.now() < deadline && (quota === 0 || issued < quota)) {
        const k = (issued += 1);
        if (interval > 0) {
          next += interval * job.window;
          const wait = next - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
        // Unique, monotonic ts per device (the store keys on device + ts), close to wall time; at
        // saturation it may run a little ahead, so latency is measured from `seq` instead, which
        // carries the send time: seq = send ms × 1000 + a counter (unique and increasing).
        const sent = Date.now();
        const ts = quota > 0 ? t0 + k : Math.max(sent, lastTs + 1);
        lastTs = ts;
        seq = Math.max(seq + 1, sent * 1000);
        n += 1;
        const fire = triggerEvery > 0 && n % triggerEvery === 0;
        const payload = fire
          ? { smoke: 0.5, alarm: true, temperature: 21.5, co: 1, battery: 90, seq, ts }
          : { smoke: 0.01, temperature: 21.5, co: 1, battery: 90, seq, ts };
        try {
          await client.publishAsync(topic, JSON.stringify(payload), { qos: 1 });
          acked += 1;
          lastAckAt = Date.now();
          (sent >= steadyFrom ? ackLat : warmAckLat).push(lastAckAt - sent);
          if (fire) triggersAcked += 1;
        } catch {
          errors += 1;
        }
      }
    };
    await Promise.all(Array.from({ length: job.window }, (_, j) => lane(j)));
  }));
  await Promise.all(clients.map((c) => c.endAsync()));
  const acks = ackLat.sorted();
  send({ type: 'done', acked, triggersAcked, errors, cpuMs: cpuMs(), publishCpuMs: cpuMs() - cpuAtStart, firstAt, lastAckAt,
    ack50: percentile(acks, 50), ack99: percentile(acks, 99), warmAck99: percentile(warmAckLat.sorted(), 99) });
}

/** CPU time this process used (user + system), ms. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function send(message: unknown): void {
  process.send?.(message);
}

// The parent went away (it was killed or interrupted): stop publishing.
process.once('disconnect', () => process.exit(1));

process.once('message', (job: PublishersJob) => {
  run(job).then(() => process.exit(0), (err: Error) => { send({ type: 'error', message: err.message }); process.exit(1); });
});
