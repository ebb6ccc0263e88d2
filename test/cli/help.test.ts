import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleAnju } from '../helpers/anju-process.js';
import { anjuEnv, root, run } from './cli-helpers.js';

/**
 * `anju` as a user first meets it: help that never starts anything, the version, and mistakes on
 * the command line answered with the usage and exit 2, without a stack trace.
 */
describe('anju help, version and usage errors', () => {
  let entry: string;
  let remove: () => Promise<void>;
  // Ports that a started platform would take: help must not even try them.
  const env = anjuEnv({ ANJU_DATA_DIR: '/nonexistent/anju-help-must-not-create-this' });
  const anju = (...args: string[]) => run(process.execPath, [entry, ...args], env);

  beforeAll(async () => ({ entry, remove } = await bundleAnju()), 60_000);
  afterAll(async () => remove?.());

  it('prints the version from package.json', async () => {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V', 'version']) {
      const r = await anju(flag);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(`anju ${version}`);
    }
  });

  it.each([
    [['--help'], /anju all .*\n.*anju broker.*\n.*anju hub/s],
    [['all', '--help'], /^Usage: anju all/],
    [['broker', '--help'], /^Usage: anju broker/],
    [['hub', '-h'], /^Usage: anju hub[\s\S]*ANJU_MQTT_URL/],
    [['sim', '--help'], /anju sim \[options\][\s\S]*--credentials FILE/],
    [['sim', '--rate', '5', '--help'], /anju sim \[options\]/],
    [['sim', 'backfill', '--help'], /anju sim backfill \[options\][\s\S]*--days N/],
    [['token', '--help'], /anju token \[--name NAME\]/],
  ])('anju %j prints its usage and exits 0 without starting anything', async (args, usage) => {
    const r = await anju(...args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(usage);
    expect(r.stdout).not.toMatch(/is running|listening/);
    expect(r.stderr).toBe('');
  });

  it('help is given even when the environment is invalid', async () => {
    const r = await run(process.execPath, [entry, 'all', '--help'], { ...env, ANJU_HTTP_PORT: 'not-a-port' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: anju all/);
  });

  it.each([
    [['sim', '--bogus'], /Unknown option '--bogus'/, /anju sim \[options\]/],
    [['sim', '--rate'], /--rate/, /anju sim \[options\]/],
    [['sim', 'backfill', '--dayz', '3'], /Unknown option '--dayz'/, /anju sim backfill/],
    [['all', '--port', '80'], /Unknown option '--port'/, /^Usage: anju all/m],
    [['broker', 'extra'], /Unexpected argument 'extra'|positional/i, /^Usage: anju broker/m],
    [['frobnicate'], /unknown command "frobnicate"/, /anju all /],
    [['--frob'], /unknown option "--frob"/, /anju all /],
    [['token', '--role', 'root'], /--role must be one of admin, operator, maintenance, viewer/, /anju token/],
    [[], /no command given/, /anju all /],
  ])('anju %j is a usage error: message, usage, exit 2, no stack trace', async (args, message, usage) => {
    const r = await anju(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(usage);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });
});
