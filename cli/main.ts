#!/usr/bin/env node
import { ConfigError, loadConfig } from '../core/config.js';
import { backupUsage, runBackupCommand, runRestoreCommand } from './backup.js';
import { createLogger } from './logger.js';
import { startPlatform, type Role } from './platform.js';
import { backfillUsage, runBackfillCommand } from './sim-backfill.js';
import { runSimCommand, simUsage } from './sim.js';

const usage = `anju — smart-property telemetry

Usage:
  anju all            broker + ingest + alerts + API + web UI (+ demo fleet unless ANJU_SIM=0)
  anju broker         the MQTT broker only
  anju hub            ingest + API, consuming from ANJU_MQTT_URL
${simUsage}
${backfillUsage}
${backupUsage}

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

  if (role === 'backup') return runBackupCommand(rest, config, { stdout: process.stdout });
  if (role === 'restore') return runRestoreCommand(rest, config, { stdout: process.stdout });
  if (role === 'sim') {
    const deps = { logger, stderr: process.stderr, adminToken: config.adminToken };
    return rest[0] === 'backfill' ? runBackfillCommand(rest.slice(1), config, deps) : runSimCommand(rest, deps);
  }
  if (role !== 'all' && role !== 'broker' && role !== 'hub') {
    console.error(`unknown role "${role}"\n\n${usage}`);
    return 1;
  }

  const platform = await startPlatform(config, role as Role, { logger });
  const lines = [`Anju is running (role: ${role}, store: ${config.store}, data: ${config.dataDir})`];
  const web = platform.urls.http ?? platform.urls.https;
  if (web) lines.push(`  control room   ${web}/  (log in with an API token)`, `  API            ${web}`, `  API docs       ${platform.urls.docs}`, `  health         ${web}/health`);
  if (platform.urls.http && platform.urls.https) lines.push(`  HTTPS          ${platform.urls.https}`);
  if (platform.urls.mqtt) lines.push(`  MQTT           ${platform.urls.mqtt}`, `  MQTT/WebSocket ${platform.urls.ws}`);
  if (platform.urls.mqtts) lines.push(`  MQTT/TLS       ${platform.urls.mqtts}`, `  MQTT/WSS       ${platform.urls.wss}`);
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
