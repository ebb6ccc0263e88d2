#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../core/config.js';
import { createLogger } from './logger.js';
import { startPlatform, type Role } from './platform.js';
import { runSimCommand } from './sim.js';

const usage = `anju — smart-property telemetry

Usage:
  anju all            broker + ingest + alerts + API + web UI (+ demo fleet unless ANJU_SIM=0)
  anju broker         the MQTT broker only
  anju hub            ingest + API, consuming from ANJU_MQTT_URL
  anju sim [options]  run simulated devices against a broker
      --broker URL          broker to publish to (default mqtt://localhost:1883)
      --credentials FILE    JSON array of provisioned devices with their secrets
                            (the answers of POST /api/devices, collected in a list)
      --interval SECONDS    seconds between readings of a device (default 10)
      --qos 0|1             (default 1)
      --seed N              random seed (default 2026)
      --duration SECONDS    stop after this long (default: run until interrupted)
      --scenario SPEC       kind:target@+offset, repeatable, e.g. fire:b3@+2m (smoke
                            detectors of building b3 report a kitchen fire from 2 min on)

Configuration is read from ANJU_* environment variables; see README.md.`;

async function main(argv: string[]): Promise<number> {
  const [role, ...rest] = argv;
  if (!role || role === '--help' || role === '-h' || role === 'help') {
    console.log(usage);
    return role ? 0 : 1;
  }
  // The one place the environment is read (core/config validates it).
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel });

  if (role === 'sim') {
    const { values } = parseArgs({ args: rest, options: {
      broker: { type: 'string', default: 'mqtt://localhost:1883' }, credentials: { type: 'string' },
      interval: { type: 'string', default: '10' }, qos: { type: 'string', default: '1' },
      seed: { type: 'string', default: '2026' }, duration: { type: 'string' },
      scenario: { type: 'string', multiple: true, default: [] },
    } });
    if (!values.credentials) throw new ConfigError('anju sim needs --credentials FILE (see anju --help)');
    const credentials = JSON.parse(await readFile(values.credentials, 'utf8')) as unknown;
    return runSimCommand({ broker: values.broker, credentials, interval: values.interval, qos: values.qos, seed: values.seed, duration: values.duration, scenarios: values.scenario }, { logger });
  }
  if (role !== 'all' && role !== 'broker' && role !== 'hub') {
    console.error(`unknown role "${role}"\n\n${usage}`);
    return 1;
  }

  const platform = await startPlatform(config, role as Role, { logger });
  const lines = [`Anju is running (role: ${role}, store: ${config.store}, data: ${config.dataDir})`];
  if (platform.urls.http) lines.push(`  API            ${platform.urls.http}`, `  API docs       ${platform.urls.docs}`, `  health         ${platform.urls.http}/health`);
  if (platform.urls.mqtt) lines.push(`  MQTT           ${platform.urls.mqtt}`, `  MQTT/WebSocket ${platform.urls.ws}`);
  if (platform.generatedAdminToken) {
    lines.push('', '  A bootstrap admin API token was generated. It is shown this once; store it now:', `  ANJU_ADMIN_TOKEN=${platform.generatedAdminToken}`);
  }
  console.log(lines.join('\n'));

  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
      platform.stop().then(resolve, resolve);
    };
    process.once('SIGINT', () => onSignal('SIGINT'));
    process.once('SIGTERM', () => onSignal('SIGTERM'));
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof ConfigError ? err.message : `anju failed to start: ${(err as Error)?.stack ?? String(err)}`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  },
);
