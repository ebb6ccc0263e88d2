/**
 * Child process: N MQTT publishers at QoS 1, each keeping `window` messages in flight (closed
 * loop), for `seconds`. Running them in their own process keeps their CPU off the broker's event
 * loop, as real devices would. Reports acked counts to the parent over IPC.
 */
import mqtt from 'mqtt';

interface Job {
  url: string;
  devices: Array<{ id: string; secret: string }>;
  seconds: number;
  window: number;
  /** Optional per-publisher rate cap (msg/s); 0 = as fast as acks allow. */
  ratePerPublisher: number;
}


async function run(job: Job): Promise<void> {
  const clients = await Promise.all(job.devices.map((d) => mqtt.connectAsync(job.url, {
    protocolVersion: 4, clientId: d.id, username: d.id, password: d.secret, reconnectPeriod: 0, keepalive: 60,
  })));
  send({ type: 'connected' });
  const deadline = Date.now() + job.seconds * 1000;
  let acked = 0;
  let errors = 0;
  await Promise.all(clients.map(async (client, i) => {
    const id = job.devices[i]!.id;
    let seq = 0;
    let lastTs = 0;
    const topic = `devices/${id}/telemetry`;
    const interval = job.ratePerPublisher > 0 ? 1000 / job.ratePerPublisher : 0;
    const lane = async (): Promise<void> => {
      let next = Date.now();
      while (Date.now() < deadline) {
        if (interval > 0) {
          next += interval * job.window;
          const wait = next - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
        // Unique, monotonic ts per device (the store keys on device + ts), close to wall time; at
        // saturation it may run a little ahead, so latency is measured from `seq` instead, which
        // carries the send time: seq = send ms × 1000 + a counter (unique and increasing).
        const sent = Date.now();
        const ts = Math.max(sent, lastTs + 1);
        lastTs = ts;
        seq = Math.max(seq + 1, sent * 1000);
        try {
          await client.publishAsync(topic, JSON.stringify({ smoke: 0.01, temperature: 21.5, co: 1, battery: 90, seq, ts }), { qos: 1 });
          acked += 1;
        } catch {
          errors += 1;
        }
      }
    };
    await Promise.all(Array.from({ length: job.window }, lane));
  }));
  await Promise.all(clients.map((c) => c.endAsync()));
  send({ type: 'done', acked, errors, cpuMs: cpuMs() });
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

process.once('message', (job: Job) => {
  run(job).then(() => process.exit(0), (err: Error) => { send({ type: 'error', message: err.message }); process.exit(1); });
});
