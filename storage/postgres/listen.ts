import pg from 'pg';
import type { Logger } from 'pino';
import { backoffDelay, sleep } from '../../core/util/index.js';

/**
 * Cache coherence between nodes through PostgreSQL's LISTEN/NOTIFY: a trigger notifies every
 * committed change of a registry row (schema.ts, migration 2), and each node keeps one connection of
 * its own listening, outside the pool. A notification arrives only after the commit, so a node that
 * re-reads the row on it sees the change.
 *
 * NOTIFY is not queued for a listener that is away: after the connection is lost, the node
 * reconnects with backoff and then asks for a full resync (`onResync`), which covers whatever
 * changed meanwhile.
 */

/** Payload `s:<id>` when the device's secret changed or it is gone, `d:<id>` otherwise. */
export const deviceChannel = 'anju_devices';
/** Payload: the account id. */
export const serviceAccountChannel = 'anju_service_accounts';
/** Every committed statement adding incident events (payload empty): read the log after what you have (schema.ts, migration 4). */
export const incidentEventsChannel = 'anju_incident_events';
/** The same for alarm events. */
export const alarmEventsChannel = 'anju_alarm_events';

export interface NotificationListener {
  /** Connects and listens; resolves once listening (rejects if the first connection fails). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

const RECONNECT = { baseMs: 200, maxMs: 10_000, floorMs: 100 } as const;

export function createNotificationListener(
  config: { url: string },
  deps: { logger: Logger; channels: readonly string[]; onNotify(channel: string, payload: string): void; onResync(): Promise<void> },
): NotificationListener {
  const log = deps.logger.child({ part: 'storage', store: 'postgres', listener: deps.channels.join(',') });
  const stopping = new AbortController();
  let client: pg.Client | undefined;
  let reconnecting: Promise<void> | undefined;

  async function connect(): Promise<void> {
    const c = new pg.Client({ connectionString: config.url, application_name: 'anju-listen' });
    c.on('notification', (n) => {
      if (n.payload !== undefined) deps.onNotify(n.channel, n.payload);
    });
    c.on('error', (err) => lost(c, err));
    c.on('end', () => lost(c, new Error('connection ended')));
    await c.connect();
    // Channel names are this module's constants, never input.
    for (const ch of deps.channels) await c.query(`LISTEN ${ch}`);
    client = c;
  }

  function lost(c: pg.Client, err: Error): void {
    if (client !== c || stopping.signal.aborted) return;
    client = undefined;
    log.warn({ err: { message: err.message } }, 'PostgreSQL listener lost its connection; reconnecting (changes on other nodes wait until then)');
    reconnecting ??= (async () => {
      for (let attempt = 0; !stopping.signal.aborted; attempt++) {
        if (!(await sleep(backoffDelay(attempt, RECONNECT), stopping.signal))) return;
        try {
          await connect();
          // What other nodes changed while this one was not listening.
          await deps.onResync();
          // Lost again while the resync ran: `lost()` found this loop still running and left the
          // reconnection to it. Returning now left the node deaf to other nodes for good.
          if (client === undefined) continue;
          log.info('PostgreSQL listener back; registry resynchronised');
          return;
        } catch (e) {
          const c = client as pg.Client | undefined;
          client = undefined;
          await c?.end().catch(() => undefined);
          log.debug({ err: { message: (e as Error).message }, attempt }, 'PostgreSQL listener still cannot connect');
        }
      }
    })().finally(() => {
      reconnecting = undefined;
    });
  }

  return {
    start: connect,
    async stop() {
      stopping.abort();
      await reconnecting;
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
