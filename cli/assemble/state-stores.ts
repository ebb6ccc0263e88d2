import type { Logger } from 'pino';
import type { AnjuConfig } from '../../core/config.js';
import { isValidTimezone } from '../../core/time.js';
import { defaultRollupTimezone } from '../../storage/rollups/contract.js';
import { createPostgres, type DeviceDirectory, type EmbeddedDatabase, type ServiceAccountDirectory } from '../../storage/index.js';
import { createNotificationListener, deviceChannel, serviceAccountChannel, type NotificationListener } from '../../storage/postgres/listen.js';

/**
 * Where the state stores live. Without ANJU_POSTGRES_URL: the embedded database, as it always was.
 * With it (cluster mode, in progress): registry, tokens, service accounts, accounts, alarms,
 * incidents, rule state, reports, commands, rosters, response policies and the audit trail in PostgreSQL, handed to the rest
 * of the composition as the same store contracts, on top of the embedded database (which keeps
 * what is still per node: the backup source and its own, unused, state tables).
 *
 * Site zones for the InfluxDB store's daily rollups come from PostgreSQL's sites (loaded at start,
 * kept current by this node's writes).
 */
export interface StateStores {
  /** The embedded database with its state stores replaced when PostgreSQL holds them. */
  readonly db: EmbeddedDatabase;
  /** What the operator must know at start-up (shown in the banner). */
  readonly warnings: readonly string[];
  /**
   * Keeps the directories coherent with changes other nodes make (LISTEN/NOTIFY); resolves once
   * listening. A no-op without PostgreSQL (one process: the directories see every change themselves).
   */
  watch(directories: { devices: DeviceDirectory; serviceAccounts: ServiceAccountDirectory }): Promise<void>;
  /** PostgreSQL's check for /health; undefined without it. */
  readonly health?: { ping(): Promise<{ ok: true; ms: number } | { ok: false; error: string }> };
  close(): Promise<void>;
}

export async function openStateStores(config: AnjuConfig, db: EmbeddedDatabase, deps: { logger: Logger }): Promise<StateStores> {
  if (!config.postgres) return { db, warnings: [], watch: async () => undefined, close: async () => undefined };
  const { url } = config.postgres;
  const zones = new Map<string, string>();
  let listener: NotificationListener | undefined;
  const pg = await createPostgres({ url }, { logger: deps.logger, onSite: (s) => zones.set(s.id, s.timezone) });
  try {
    for (let offset = 0; ; offset += 500) {
      const page = await pg.state.listSites({ limit: 500, offset });
      for (const s of page.items) zones.set(s.id, s.timezone);
      if (page.items.length < 500) break;
    }
  } catch (err) {
    await pg.close();
    throw err;
  }
  const siteTimezone = (site: string): string => {
    const tz = zones.get(site);
    return tz !== undefined && isValidTimezone(tz) ? tz : defaultRollupTimezone;
  };
  return {
    db: {
      ...db, siteTimezone, state: pg.state, alarms: pg.alarms, incidents: pg.incidents, serviceAccounts: pg.serviceAccounts, accounts: pg.accounts,
      audit: pg.audit, reports: pg.reports, commands: pg.commands, rosters: pg.rosters, responses: pg.responses,
    },
    warnings: [
      '集群模式（开发中）：状态数据在 PostgreSQL 中；本节点的备份只含嵌入式数据库，PostgreSQL 请用 pg_dump 备份。\n' +
      'Cluster mode (in progress): state lives in PostgreSQL; this node\'s backups hold its embedded database only —\n' +
      'back up PostgreSQL with pg_dump.',
    ],
    health: { ping: () => pg.ping() },
    async watch({ devices, serviceAccounts }) {
      const failed = (what: string) => (err: Error) => {
        deps.logger.warn({ err: { message: err.message }, id: what }, 'could not re-read what another node changed; it is re-read on the next resync');
      };
      const resync = async () => {
        await devices.load();
        await serviceAccounts.load();
      };
      listener = createNotificationListener({ url }, {
        logger: deps.logger, channels: [deviceChannel, serviceAccountChannel],
        onNotify: (channel, payload) => {
          if (channel === serviceAccountChannel) {
            serviceAccounts.refresh(payload).catch(failed(payload));
            return;
          }
          const id = payload.slice(2);
          devices.refresh(id, payload.startsWith('s:')).catch(failed(id));
        },
        onResync: resync,
      });
      await listener.start();
      // Listening from here on: a change committed before it is in this read, any later one is notified.
      await resync();
    },
    async close() {
      await listener?.stop();
      await pg.close();
    },
  };
}
