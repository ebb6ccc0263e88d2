#!/usr/bin/env node
import { ConfigError, loadConfig } from '../core/config.js';
import { runBackupCommand, runRestoreCommand } from './backup.js';
import { HelpRequested, UsageError, isHelpFlag, parseCommandArgs } from './args.js';
import { banner } from './banner.js';
import { createLogger } from './logger.js';
import { packageVersion } from './package-info.js';
import { startPlatform, type Role } from './platform.js';
import { runBackfillCommand } from './sim-backfill.js';
import { runSimCommand } from './sim.js';
import { StartupError } from './startup-errors.js';
import { runTokenCommand } from './token.js';
import { backfillCommandUsage, backupCommandUsage, demoCommandUsage, mainUsage, roleUsage, simCommandUsage, tokenCommandUsage } from './usage.js';
import { runDemoCommand } from './demo-command.js';

const isRole = (command: string): command is Role => command === 'all' || command === 'broker' || command === 'hub';

/** The usage of the command the arguments name (`anju sim backfill` has its own). */
function usageOf(command: string, rest: string[]): string {
  if (isRole(command)) return roleUsage[command];
  if (command === 'sim') return rest[0] === 'backfill' ? backfillCommandUsage : simCommandUsage;
  if (command === 'token') return tokenCommandUsage;
  if (command === 'demo') return demoCommandUsage;
  if (command === 'backup' || command === 'restore') return backupCommandUsage;
  return mainUsage;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) throw new UsageError('no command given', mainUsage);
  if (isHelpFlag(command)) {
    console.log(mainUsage);
    return 0;
  }
  if (command === '--version' || command === '-V' || command === 'version') {
    console.log(`anju ${packageVersion()}`);
    return 0;
  }
  if (!isRole(command) && !['sim', 'token', 'demo', 'backup', 'restore'].includes(command)) {
    throw new UsageError(command.startsWith('-') ? `unknown option "${command}"` : `unknown command "${command}"`, mainUsage);
  }
  // Help never starts anything, and is given even when the environment is invalid.
  const usage = usageOf(command, rest);
  if (rest.some((a) => a === '--help' || a === '-h') || (command === 'sim' && rest[0] === 'help')) throw new HelpRequested(usage);
  // Roles take no options: their settings are environment variables.
  if (isRole(command)) parseCommandArgs(rest, {}, usage);

  // The one place the environment is read (core/config validates it, and what the role needs).
  const config = loadConfig(process.env, isRole(command) ? command : undefined);
  const logger = createLogger({ level: config.logLevel });

  if (command === 'backup' || command === 'restore') {
    const run = command === 'backup' ? runBackupCommand : runRestoreCommand;
    return run(rest, config, { stdout: process.stdout }).catch((err: unknown) => {
      // An unknown or malformed option is a usage mistake (exit 2 with the usage), not a crash.
      if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_')) throw new UsageError((err as Error).message, usage);
      throw err;
    });
  }
  if (command === 'sim') {
    const deps = { logger, stderr: process.stderr, adminToken: config.adminToken };
    return rest[0] === 'backfill' ? runBackfillCommand(rest.slice(1), config, usage, deps) : runSimCommand(rest, usage, deps);
  }
  if (command === 'token') return runTokenCommand(rest, config, usage, { logger, stdout: process.stdout });
  if (command === 'demo') return runDemoCommand(rest, usage, { httpPort: config.http.port, adminToken: config.adminToken, stdout: process.stdout });

  if (!isRole(command)) throw new UsageError(`unknown command "${command}"`, mainUsage);
  const version = packageVersion();
  const platform = await startPlatform(config, command, { logger, version });
  console.log(banner(platform, config, version));

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

/** Exit codes: 0 done, 1 could not start or failed, 2 a mistake on the command line or in the configuration. */
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof HelpRequested) {
      console.log(err.usage);
      process.exit(0);
    }
    if (err instanceof UsageError) {
      console.error(`anju: ${err.message}\n\n${err.usage}`);
      process.exit(2);
    }
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    if (err instanceof StartupError) {
      console.error(`anju could not start: ${err.message}`);
      process.exit(1);
    }
    console.error(`anju failed to start: ${(err as Error)?.stack ?? String(err)}`);
    process.exit(1);
  },
);
