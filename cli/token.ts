import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError, type AnjuConfig } from '../core/config.js';
import { generateToken, hashToken } from '../core/secrets.js';
import { createEmbeddedDatabase, createPostgres, roles, type Role } from '../storage/index.js';
import { UsageError, parseCommandArgs } from './args.js';

export const tokenUsage = `  anju token [--name NAME] [--role ROLE]
                      mint a new API token offline in ANJU_DATA_DIR (while Anju is stopped)
                      and print it once: the way back in when the admin token is lost
      --name NAME           what the token is for (default cli-admin-<date>)
      --role ROLE           admin (default), operator, maintenance or viewer`;

/**
 * `anju token`: writes a token straight into the state store, as the API's POST /api/tokens would.
 * Only its digest is stored, so a lost token cannot be shown again — a new one is minted instead.
 * The embedded database takes one process at a time: while Anju runs, use the API. In cluster mode
 * (ANJU_POSTGRES_URL) the token goes to PostgreSQL, where every node finds it, running or not.
 */
export async function runTokenCommand(
  argv: string[], config: AnjuConfig, usage: string,
  deps: { logger: Logger; stdout: { write(text: string): boolean } },
): Promise<number> {
  const { values } = parseCommandArgs(argv, { name: { type: 'string' }, role: { type: 'string', default: 'admin' } }, usage);
  const role = values.role as Role;
  if (!roles.includes(role)) throw new UsageError(`--role must be one of ${roles.join(', ')}`, usage);
  const name = values.name ?? `cli-admin-${new Date().toISOString().slice(0, 10)}`;
  if (name.length > 100) throw new UsageError('--name is at most 100 characters', usage);
  if (config.postgres) return mintInPostgres(config.postgres.url, { name, role }, deps);
  const dataDir = resolve(config.dataDir);
  let db;
  try {
    db = await createEmbeddedDatabase({ dataDir, memoryLimit: config.duckdb.memoryLimit, threads: 1 }, { logger: deps.logger });
  } catch (err) {
    throw new ConfigError(
      `cannot open the database in ${dataDir} (ANJU_DATA_DIR): ${(err as Error).message}\n` +
      '  While Anju runs it holds the database: stop it and run `anju token` again, or mint a token through the API (POST /api/tokens).',
    );
  }
  try {
    const token = generateToken();
    await db.state.createToken({ id: randomUUID(), name, role, createdAt: Date.now() }, hashToken(token));
    deps.stdout.write(
      `A new ${role} API token "${name}" was stored in ${dataDir} (as a digest only). It is shown this once:\n` +
      `ANJU_ADMIN_TOKEN=${token}\n`,
    );
    return 0;
  } finally {
    await db.close();
  }
}

async function mintInPostgres(
  url: string, t: { name: string; role: Role }, deps: { logger: Logger; stdout: { write(text: string): boolean } },
): Promise<number> {
  const db = await createPostgres({ url, maxConnections: 1 }, { logger: deps.logger });
  try {
    const token = generateToken();
    await db.state.createToken({ id: randomUUID(), name: t.name, role: t.role, createdAt: Date.now() }, hashToken(token));
    deps.stdout.write(
      `A new ${t.role} API token "${t.name}" was stored in PostgreSQL (ANJU_POSTGRES_URL, as a digest only). It is shown this once:\n` +
      `ANJU_ADMIN_TOKEN=${token}\n`,
    );
    return 0;
  } finally {
    await db.close();
  }
}
