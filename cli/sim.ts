import { readFile } from 'node:fs/promises';
import type { ParseArgsConfig } from 'node:util';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ConfigError } from '../core/config.js';
import { deviceSchema, type Device, type DeviceInput } from '../core/index.js';
import { createCommunity, createFleet, parseRegistry, parseScenario, parseScenarioFile, type Scenario } from '../devices-sim/index.js';
import { parseCommandArgs } from './args.js';
import { provisionDevices } from './sim-provision.js';
import { barLine, fleetLine, peakRssMiB, startTicker, type ProgressStream } from './sim-progress.js';

export const simUsage = `  anju sim [options]  run simulated devices against a broker, one MQTT connection each
    Devices, one of:
      --credentials FILE    JSON array of provisioned devices with their secrets
                            (the answers of POST /api/devices, collected in a list)
      --registry FILE       JSON registry {"devices": [...]} or an array, without secrets (needs --api)
      --sites N [--buildings N] [--devices N]
                            a synthetic community (needs --api): the demo's composition
                            over N sites; --buildings per site (default 4, or derived from
                            --devices); --devices is the exact total, flats scale to it
      --api URL --token T   provision them through the REST API first (existing devices
                            get a new secret), then connect (token default: ANJU_ADMIN_TOKEN)
    Traffic:
      --broker URL          default mqtt://<host of --api>:1883, or mqtt://localhost:1883
      --rate R              readings per device per minute (default 6); total msg/s is
                            devices × R / 60. Or --interval SECONDS between readings
      --qos 0|1             (default 1)
      --seed N              random seed of the registry and the readings (default 2026)
      --duration SECONDS    stop after this long (default: until interrupted)
      --scenario SPEC       kind:target@+offset, repeatable, e.g. fire:b3@+2m
      --scenario-file FILE  several scenarios with offsets (see devices-sim/scenarios/file.ts)
      --keepalive SECONDS   MQTT keep alive (default 60)
      --connect-concurrency N  CONNECTs in flight (default 64)`;

const options = {
  broker: { type: 'string' }, credentials: { type: 'string' }, registry: { type: 'string' },
  sites: { type: 'string' }, buildings: { type: 'string' }, devices: { type: 'string' },
  api: { type: 'string' }, token: { type: 'string' }, 'provision-concurrency': { type: 'string', default: '16' },
  rate: { type: 'string' }, interval: { type: 'string' }, qos: { type: 'string', default: '1' },
  seed: { type: 'string', default: '2026' }, duration: { type: 'string' },
  scenario: { type: 'string', multiple: true, default: [] as string[] }, 'scenario-file': { type: 'string' },
  keepalive: { type: 'string', default: '60' }, 'connect-concurrency': { type: 'string', default: '64' },
} satisfies ParseArgsConfig['options'];

// The answers of POST /api/devices (createdAt there is ISO 8601; the simulator does not need it).
const credentialsSchema = z.array(deviceSchema.omit({ createdAt: true }).partial({ name: true }).extend({ secret: z.string().min(1) })).min(1);

function num(flag: string, value: string | undefined, check: (n: number) => boolean, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!check(n)) throw new ConfigError(`--${flag} must be ${what}`);
  return n;
}
const positiveInt = (n: number) => Number.isInteger(n) && n > 0;

export async function readText(flag: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`--${flag} ${file}: ${(err as Error).message}`);
  }
}

export interface SimDeps {
  logger: Logger;
  stderr: ProgressStream;
  /** ANJU_ADMIN_TOKEN, the default of --token. */
  adminToken?: string;
}

/** `anju sim`: a fleet against any broker, from credentials, a registry or a synthetic community. */
export async function runSimCommand(argv: string[], usage: string, deps: SimDeps): Promise<number> {
  const { values: v } = parseCommandArgs(argv, options, usage);
  const seed = num('seed', v.seed, Number.isInteger, 'an integer') as number;
  const qos = num('qos', v.qos, (n) => n === 0 || n === 1, '0 or 1') as 0 | 1;
  if (v.rate !== undefined && v.interval !== undefined) throw new ConfigError('give --rate or --interval, not both');
  const intervalS = v.interval !== undefined
    ? num('interval', v.interval, (n) => n > 0, 'a positive number of seconds') as number
    : 60 / (num('rate', v.rate ?? '6', (n) => n > 0 && n <= 60_000, 'a positive number of readings per device per minute') as number);
  const durationS = num('duration', v.duration, (n) => n > 0, 'a positive number of seconds');
  const keepaliveS = num('keepalive', v.keepalive, (n) => Number.isInteger(n) && n >= 0 && n <= 3600, 'an integer 0–3600') as number;
  const connectConcurrency = num('connect-concurrency', v['connect-concurrency'], positiveInt, 'a positive integer') as number;

  const synthetic = v.sites !== undefined || v.buildings !== undefined || v.devices !== undefined;
  const sources = [v.credentials !== undefined, v.registry !== undefined, synthetic].filter(Boolean).length;
  if (sources !== 1) throw new ConfigError('anju sim needs exactly one of --credentials FILE, --registry FILE or --sites/--buildings/--devices (see anju --help)');

  let devices: Array<{ device: Device; secret: string }>;
  if (v.credentials !== undefined) {
    if (v.api !== undefined) throw new ConfigError('--credentials already carries secrets: drop --api');
    let json: unknown;
    try { json = JSON.parse(await readText('credentials', v.credentials)); } catch (err) { throw new ConfigError(`--credentials: ${(err as Error).message}`); }
    const parsed = credentialsSchema.safeParse(json);
    if (!parsed.success) throw new ConfigError(`--credentials: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    devices = parsed.data.map(({ secret, ...d }) => ({ device: { name: d.id, createdAt: 0, ...d }, secret }));
  } else {
    let inputs: readonly DeviceInput[];
    if (v.registry !== undefined) {
      try { inputs = parseRegistry(await readText('registry', v.registry)).devices; } catch (err) { throw new ConfigError(`--registry: ${(err as Error).message}`); }
    } else {
      try {
        inputs = createCommunity({
          sites: num('sites', v.sites ?? '1', positiveInt, 'a positive integer') as number,
          buildings: num('buildings', v.buildings, positiveInt, 'a positive integer'),
          devices: num('devices', v.devices, positiveInt, 'a positive integer'),
          seed,
        }).devices;
      } catch (err) { throw new ConfigError(`synthetic community: ${(err as Error).message}`); }
    }
    const token = v.token ?? deps.adminToken;
    if (v.api === undefined || token === undefined) {
      throw new ConfigError('devices without secrets must be provisioned first: give --api URL and --token T (an admin token), or --credentials FILE');
    }
    const started = Date.now();
    let done = 0;
    const ticker = startTicker(deps.stderr, () => `provisioning ${barLine(done, inputs.length, started, Date.now(), 'devices')}`);
    const result = await provisionDevices(
      { api: v.api, token, concurrency: num('provision-concurrency', v['provision-concurrency'], positiveInt, 'a positive integer') },
      { devices: inputs, onProgress: (p) => { done = p.done; } },
    ).finally(() => ticker.stop());
    deps.stderr.write(`provisioned ${inputs.length} devices via ${v.api} in ${((Date.now() - started) / 1000).toFixed(1)} s (${result.created} created, ${result.rotated} existing with a new secret)\n`);
    devices = result.credentials;
  }

  const broker = v.broker ?? (v.api !== undefined ? `mqtt://${new URL(v.api).hostname}:1883` : 'mqtt://localhost:1883');
  const now = Date.now();
  let scenarios: Scenario[];
  try {
    scenarios = (v.scenario ?? []).map((spec) => parseScenario(spec, now));
  } catch (err) {
    throw new ConfigError(`--scenario: ${(err as Error).message}`);
  }
  if (v['scenario-file'] !== undefined) {
    // Offsets in the file count from the fleet's start, like --scenario's.
    try { scenarios.push(...parseScenarioFile(await readText('scenario-file', v['scenario-file']), now)); } catch (err) { throw new ConfigError(`--scenario-file: ${(err as Error).message}`); }
  }
  return runFleet({ broker, qos, intervalMs: intervalS * 1000, seed, durationS, keepaliveS, connectConcurrency, scenarios }, { ...deps, devices });
}

async function runFleet(
  c: { broker: string; qos: 0 | 1; intervalMs: number; seed: number; durationS?: number; keepaliveS: number; connectConcurrency: number;
    scenarios: Scenario[] },
  deps: SimDeps & { devices: Array<{ device: Device; secret: string }> },
): Promise<number> {
  const fleet = createFleet(
    { brokerUrl: c.broker, qos: c.qos, intervalMs: c.intervalMs, seed: c.seed, reconnectMinMs: 1_000, reconnectMaxMs: 30_000, keepaliveS: c.keepaliveS,
      maxPendingConnects: c.connectConcurrency, scenarios: c.scenarios },
    { devices: deps.devices, logger: deps.logger },
  );
  const started = Date.now();
  let peakConnected = 0;
  const ticker = startTicker(deps.stderr, () => fleetLine(fleet.stats()));
  const peak = setInterval(() => { peakConnected = Math.max(peakConnected, fleet.stats().connected); }, 250);
  // The duration bounds the whole run, connecting included: start() is not awaited before the timer.
  const starting = fleet.start();
  await new Promise<void>((resolve) => {
    if (c.durationS !== undefined) setTimeout(resolve, c.durationS * 1000);
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  clearInterval(peak);
  const last = fleet.stats();
  peakConnected = Math.max(peakConnected, last.connected);
  ticker.stop();
  await fleet.stop();
  await starting;
  const s = fleet.stats();
  deps.stderr.write(
    `sim finished after ${((Date.now() - started) / 1000).toFixed(1)} s: connected ${last.connected}/${last.devices} (peak ${peakConnected}), ` +
    `published ${s.published}, acked ${s.acked}, errors ${s.errors}, closed before CONNACK ${s.closedBeforeConnack}, suppressed ${s.suppressed}, skipped ${s.skipped}, reconnects ${s.reconnects}, ` +
    `peak RSS ${peakRssMiB().toFixed(1)} MiB\n`,
  );
  if (s.closedBeforeConnack > 0) {
    deps.stderr.write(
      `warning: the broker closed ${s.closedBeforeConnack} connection attempts without answering CONNACK. Anju's broker does that to an ` +
      'address that connects faster than ANJU_CONNECT_RATE allows (default 120 per minute per IP): for a large simulated fleet from ' +
      'one host, start the platform with ANJU_CONNECT_RATE raised (e.g. ANJU_CONNECT_RATE=100000), or lower --connect-concurrency.\n',
    );
  }
  return peakConnected > 0 || deps.devices.length === 0 ? 0 : 1;
}
