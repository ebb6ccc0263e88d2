import type { Logger } from 'pino';
import { z } from 'zod';
import { ConfigError } from '../core/config.js';
import { deviceSchema } from '../core/index.js';
import { createFleet, parseScenario, type Scenario } from '../devices-sim/index.js';

// The answers of POST /api/devices (createdAt there is ISO 8601; the simulator does not need it).
const credentialsSchema = z.array(deviceSchema.omit({ createdAt: true }).partial({ name: true }).extend({ secret: z.string().min(1) })).min(1);

/** `anju sim`: the demo fleet against any broker, with devices provisioned there. */
export async function runSimCommand(
  args: { broker: string; credentials: unknown; interval: string; qos: string; seed: string; duration?: string; scenarios?: readonly string[] },
  deps: { logger: Logger },
): Promise<number> {
  const parsed = credentialsSchema.safeParse(args.credentials);
  if (!parsed.success) throw new ConfigError(`--credentials: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const interval = Number(args.interval);
  const qos = Number(args.qos);
  const seed = Number(args.seed);
  if (!(interval > 0)) throw new ConfigError('--interval must be a positive number of seconds');
  if (qos !== 0 && qos !== 1) throw new ConfigError('--qos must be 0 or 1');
  if (!Number.isInteger(seed)) throw new ConfigError('--seed must be an integer');

  let scenarios: Scenario[];
  try {
    scenarios = (args.scenarios ?? []).map((spec) => parseScenario(spec, Date.now()));
  } catch (err) {
    throw new ConfigError(`--scenario: ${(err as Error).message}`);
  }
  const devices = parsed.data.map(({ secret, ...d }) => ({ device: { name: d.id, createdAt: 0, ...d }, secret }));
  const fleet = createFleet(
    { brokerUrl: args.broker, qos, intervalMs: interval * 1000, seed, reconnectMinMs: 1_000, reconnectMaxMs: 30_000, scenarios },
    { devices, logger: deps.logger },
  );
  await fleet.start();
  const progress = setInterval(() => {
    const s = fleet.stats();
    process.stdout.write(`\rconnected ${s.connected}/${devices.length}  published ${s.published}  acked ${s.acked}  errors ${s.errors}  ${s.rate.toFixed(1)} msg/s   `);
  }, 1000);
  await new Promise<void>((resolve) => {
    if (args.duration) setTimeout(resolve, Number(args.duration) * 1000);
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  clearInterval(progress);
  await fleet.stop();
  process.stdout.write('\n');
  return 0;
}
